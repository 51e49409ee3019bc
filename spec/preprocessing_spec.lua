-- train_test_split, StandardScaler, MinMaxScaler, to_categorical, and the
-- numpy RandomState port behind the first.
-- Reference: spec/fixtures/io/sklearn.lua (scikit-learn 1.2's own output) and
-- numpy.lua (RandomState permutations), by scripts/make_fixtures_io.py;
-- to_categorical against plain Lua loops.
local dnn = require "dnn"
local check = require "support.check"
local mt19937 = require "dnn.data.mt19937"

local ROOT = os.getenv("DNN_ROOT") or "."
local SK = dofile(ROOT .. "/spec/fixtures/io/sklearn.lua")
local NP = dofile(ROOT .. "/spec/fixtures/io/numpy.lua")

local function shape(t)
  local s, out = t:size(), {}
  for i = 1, t:dim() do out[i] = s[i] end
  return out
end

describe("numpy RandomState port", function()
  it("draws numpy's permutations bit for bit", function()
    for _, c in ipairs(NP.permutations) do
      assert.are.same(c.perm, mt19937.RandomState(c.seed):permutation(c.n))
    end
  end)
  it("rejects seeds numpy rejects", function()
    check.fails_with(function() mt19937.RandomState(-1) end, "0..2^32-1")
    check.fails_with(function() mt19937.RandomState(2 ^ 32) end, "0..2^32-1")
  end)
end)

describe("dnn.data.train_test_split", function()
  local n = 23
  local x = dnn.arange(n):long()
  local y = dnn.tensor(SK.split_y, { dtype = "int64" })

  for k, case in ipairs(SK.split) do
    local a = case.args
    local desc = {}
    for key, v in pairs(a) do desc[#desc + 1] = key .. "=" .. tostring(v) end
    table.sort(desc)
    it("picks sklearn's rows for " .. table.concat(desc, ", "), function()
      local opts = { test_size = a.test_size, train_size = a.train_size, random_state = a.random_state,
        shuffle = a.shuffle, stratify = a.stratify and y or nil }
      local tr, te = dnn.data.train_test_split(x, opts)
      assert.are.same(case.train, tr:totable())
      assert.are.same(case.test, te:totable())
    end)
    if k == 1 then
      it("splits every array the same way, tensors and lists", function()
        local list = {}
        for i = 1, n do list[i] = "s" .. (i - 1) end
        local xtr, xte, ltr, lte, ytr = dnn.data.train_test_split(x, list, y, { test_size = a.test_size,
          random_state = a.random_state })
        for i, v in ipairs(xtr:totable()) do assert.are.equal("s" .. v, ltr[i]) end
        for i, v in ipairs(xte:totable()) do assert.are.equal("s" .. v, lte[i]) end
        assert.are.same(y:index_select(1, xtr + 1):totable(), ytr:totable())
        -- the table spelling
        local t2 = dnn.data.train_test_split { x, test_size = a.test_size, random_state = a.random_state }
        assert.are.same(case.train, t2:totable())
      end)
    end
  end

  it("keeps class proportions with stratify (y split along with x)", function()
    local case
    for _, c in ipairs(SK.split) do
      if c.args.stratify and c.args.random_state == 1 then case = c end
    end
    local _, _, ytr, yte = dnn.data.train_test_split(x, y, { test_size = 0.3, random_state = 1, stratify = y })
    local function counts(ids)
      local c = { 0, 0, 0 }
      for _, i in ipairs(ids) do c[SK.split_y[i + 1] + 1] = c[SK.split_y[i + 1] + 1] + 1 end
      return c
    end
    local function hist(t)
      local c = { 0, 0, 0 }
      for _, v in ipairs(t:totable()) do c[v + 1] = c[v + 1] + 1 end
      return c
    end
    assert.are.same(counts(case.train), hist(ytr))
    assert.are.same(counts(case.test), hist(yte))
    -- 10/8/5 samples, 30% test: each class keeps about 70% in training
    local h = hist(ytr)
    assert.is_true(h[1] == 7 and h[2] >= 5 and h[2] <= 6 and h[3] >= 3 and h[3] <= 4)
  end)

  it("splits rows of 2-D tensors and draws a seed when random_state is nil", function()
    local m = dnn.randn(10, 3)
    local a, b = dnn.data.train_test_split(m, { test_size = 3 })
    assert.are.same({ 7, 3 }, shape(a))
    assert.are.same({ 3, 3 }, shape(b))
    assert.is_true(math.abs(m:sum():item() - (a:sum():item() + b:sum():item())) < 1e-4)
  end)

  it("raises sklearn's errors", function()
    check.fails_with(function() dnn.data.train_test_split(x, { test_size = 1.5 }) end,
      "test_size=1.5 should be either positive and smaller than the number of samples 23")
    check.fails_with(function() dnn.data.train_test_split(x, { test_size = 23 }) end, "test_size=23")
    check.fails_with(function() dnn.data.train_test_split(x, { train_size = 0.8, test_size = 0.5 }) end,
      "the sum of test_size and train_size")
    check.fails_with(function() dnn.data.train_test_split(x, { train_size = 20, test_size = 5 }) end,
      "the sum of train_size and test_size = 25, should be smaller than the number of samples 23")
    check.fails_with(function() dnn.data.train_test_split(x, dnn.arange(5)) end,
      "inconsistent numbers of samples: [23, 5]")
    check.fails_with(function() dnn.data.train_test_split(x, { shuffle = false, stratify = y }) end,
      "not implemented for shuffle=false")
    check.fails_with(function() dnn.data.train_test_split(x, { stratify = dnn.arange(23) }) end,
      "only 1 member")
    check.fails_with(function() dnn.data.train_test_split(x, { test_size = 2, stratify = y }) end,
      "test_size = 2 should be greater or equal to the number of classes = 3")
    check.fails_with(function() dnn.data.train_test_split(x, { random_state = -3 }) end, "random_state")
    check.fails_with(function() dnn.data.train_test_split(x, { tset_size = 0.2 }) end, "unknown argument 'tset_size'")
    check.fails_with(function() dnn.data.train_test_split() end, "at least one array")
  end)
end)

describe("dnn.data.StandardScaler", function()
  local x = dnn.tensor(SK.x, { dtype = "float64" })
  local xn = dnn.tensor(SK.x_new, { dtype = "float64" })
  for _, case in ipairs(SK.standard) do
    local name = next(case.args) and (next(case.args) .. "=false") or "defaults"
    it("matches sklearn with " .. name, function()
      local s = dnn.data.StandardScaler(case.args)
      assert.are.equal(s, s:fit(x))
      check.close(s:transform(xn), case.transform, 1e-12)
      check.close(s:inverse_transform(xn), case.inverse, 1e-12)
      check.close(dnn.data.StandardScaler(case.args):fit_transform(x), case.fit_transform, 1e-12)
      if case.mean then check.close(s.mean_, case.mean, 1e-12) else assert.is_nil(s.mean_) end
      if case.var then check.close(s.var_, case.var, 1e-12) else assert.is_nil(s.var_) end
      if case.scale then check.close(s.scale_, case.scale, 1e-12) else assert.is_nil(s.scale_) end
      assert.are.equal(12, s.n_samples_seen_)
      assert.are.equal(4, s.n_features_in_)
    end)
  end

  it("keeps float32 input float32 (within float32 precision of sklearn)", function()
    local s = dnn.data.StandardScaler()
    local out = s:fit(x:float()):transform(xn:float())
    assert.are.equal("float32", out.dtype)
    check.close(out, SK.standard[1].transform, 1e-5)
  end)

  it("raises on unfitted use, 1-D input and a feature mismatch", function()
    check.fails_with(function() dnn.data.StandardScaler():transform(x) end, "not fitted yet")
    check.fails_with(function() dnn.data.StandardScaler():fit(dnn.randn(5)) end, "expected a 2-D tensor", "view(-1, 1)")
    local s = dnn.data.StandardScaler():fit(x)
    check.fails_with(function() s:transform(dnn.randn(2, 3)) end,
      "x has 3 features, but StandardScaler is expecting 4 features as input")
  end)
end)

describe("dnn.data.MinMaxScaler", function()
  local x = dnn.tensor(SK.x, { dtype = "float64" })
  local xn = dnn.tensor(SK.x_new, { dtype = "float64" })
  for i, case in ipairs(SK.minmax) do
    it("matches sklearn, case " .. i, function()
      local s = dnn.data.MinMaxScaler(case.args):fit(x)
      check.close(s:transform(xn * 3), case.transform, 1e-12)
      check.close(s:inverse_transform(xn), case.inverse, 1e-12)
      check.close(dnn.data.MinMaxScaler(case.args):fit_transform(x), case.fit_transform, 1e-12)
      check.close(s.data_min_, case.data_min, 1e-12)
      check.close(s.data_max_, case.data_max, 1e-12)
      check.close(s.scale_, case.scale, 1e-12)
      check.close(s.min_, case.min, 1e-12)
    end)
  end

  it("checks feature_range", function()
    check.fails_with(function() dnn.data.MinMaxScaler { feature_range = { 1, 0 } } end,
      "minimum of desired feature range must be smaller than maximum. Got (1, 0).")
    check.fails_with(function() dnn.data.MinMaxScaler { feature_range = 3 } end, "pair of numbers")
  end)
end)

describe("dnn.utils.to_categorical", function()
  it("one-hot encodes 0-based ids as float32, num_classes from the data", function()
    local ids = { 2, 0, 1, 2 }
    local t = dnn.utils.to_categorical(ids)
    assert.are.equal("float32", t.dtype)
    local expect = {}
    for i, c in ipairs(ids) do
      expect[i] = {}
      for k = 0, 2 do expect[i][k + 1] = (k == c) and 1 or 0 end
    end
    assert.are.same(expect, t:totable())
  end)

  it("drops a trailing size-1 dim, keeps others, takes num_classes and dtype", function()
    local y = dnn.tensor({ { 1 }, { 3 } }, { dtype = "int64" })
    local t = dnn.utils.to_categorical(y, 5)
    assert.are.same({ 2, 5 }, shape(t))
    assert.are.same({ 0, 1, 0, 0, 0 }, t[1]:totable())
    local m = dnn.utils.to_categorical(dnn.tensor({ { 0, 1 }, { 1, 0 } }), { num_classes = 2, dtype = "int64" })
    assert.are.same({ 2, 2, 2 }, shape(m))
    assert.are.equal("int64", m.dtype)
    assert.are.same({ { { 1, 0 }, { 0, 1 } }, { { 0, 1 }, { 1, 0 } } }, m:totable())
    assert.are.same(shape(dnn.data.to_categorical { { 0, 1 }, num_classes = 3 }), { 2, 3 })
  end)

  it("rejects ids outside 0..num_classes-1 and fractions", function()
    check.fails_with(function() dnn.utils.to_categorical({ 0, 3 }, 3) end, "class ids must lie in 0..2", "got 3")
    check.fails_with(function() dnn.utils.to_categorical({ -1, 1 }) end, "got -1")
    check.fails_with(function() dnn.utils.to_categorical(dnn.tensor { 0.5 }) end, "whole numbers")
  end)
end)
