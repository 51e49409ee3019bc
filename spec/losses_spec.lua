-- dnn.losses: Keras's losses as functions and objects, against reference
-- numbers from scripts/make_fixtures_loss.py (numpy transcriptions of Keras's
-- formulas, torch autograd, and PyTorch's own losses where they agree), with
-- float64 gradchecks, reductions, sample weights, lookup and misuse.
local dnn = require "dnn"
local check = require "support.check"
local L = dnn.losses

local ROOT = os.getenv("DNN_ROOT") or "."
local XENT = dofile(ROOT .. "/spec/fixtures/loss/xent.lua")
local REGRESSION = dofile(ROOT .. "/spec/fixtures/loss/regression.lua")
local CASES = {}
for _, c in ipairs(XENT) do CASES[#CASES + 1] = c end
for _, c in ipairs(REGRESSION) do CASES[#CASES + 1] = c end

local CLASS = {
  binary_crossentropy = "BinaryCrossentropy", categorical_crossentropy = "CategoricalCrossentropy",
  sparse_categorical_crossentropy = "SparseCategoricalCrossentropy", mean_squared_error = "MeanSquaredError",
  mean_absolute_error = "MeanAbsoluteError", mean_absolute_percentage_error = "MeanAbsolutePercentageError",
  mean_squared_logarithmic_error = "MeanSquaredLogarithmicError", huber = "Huber", hinge = "Hinge",
  squared_hinge = "SquaredHinge", categorical_hinge = "CategoricalHinge", kl_divergence = "KLDivergence",
  poisson = "Poisson", cosine_similarity = "CosineSimilarity", log_cosh = "LogCosh",
}

local function is_sparse(c) return c.name == "sparse_categorical_crossentropy" end

local function inputs(c, dtype)
  local yt = dnn.tensor(c.y_true, { dtype = is_sparse(c) and "int64" or (dtype or "float32") })
  local yp = dnn.tensor(c.y_pred, { dtype = dtype or "float32" })
  return yt, yp
end

local function copy(t)
  local r = {}
  for k, v in pairs(t or {}) do r[k] = v end
  return r
end

-- The loss object for a fixture case (a LossFunctionWrapper when the Keras
-- class does not take one of the case's options, e.g. sparse with axis).
local function object_for(c, extra)
  local cls = L[CLASS[c.name]]
  local opts = copy(c.opts)
  for k, v in pairs(extra or {}) do opts[k] = v end
  local takes = { reduction = true, name = true }
  for _, p in ipairs(cls.params) do takes[p[1]] = true end
  for k in pairs(opts) do
    if not takes[k] then
      return L.LossFunctionWrapper(L[c.name], opts)
    end
  end
  return cls(opts)
end

local function f64(data, lo, hi, shape, seed)
  local t = dnn.tensor(data or check.random_table(shape, seed, lo, hi), { dtype = "float64" })
  t.requires_grad = true
  return t
end

describe("loss functions against the fixtures (float32)", function()
  for _, c in ipairs(CASES) do
    it(c.title .. ": values and gradients", function()
      local yt, yp = inputs(c)
      yp.requires_grad = true
      if c.grad_true then yt.requires_grad = true end
      local l = L[c.name](yt, yp, copy(c.opts))
      assert.equal(#check.flatten(c.loss), l:numel())
      check.close(l, c.loss, 1e-5)
      ;(l * dnn.tensor(c.upstream)):sum():backward()
      check.close(yp.grad, c.grad_pred, 1e-5)
      if c.grad_true then check.close(yt.grad, c.grad_true, 1e-5) end
    end)
  end

  it("take f{y_true, y_pred, key=v} and dnn.F.<name> as well", function()
    local c = XENT[4] -- binary logits, label_smoothing 0.1
    local yt, yp = inputs(c)
    local a = L.binary_crossentropy { yt, yp, from_logits = true, label_smoothing = 0.1 }
    local b = dnn.F.binary_crossentropy(yt, yp, { from_logits = true, label_smoothing = 0.1 })
    check.close(a, c.loss, 1e-5)
    check.close(b, c.loss, 1e-5)
    assert.equal(L.sparse_categorical_crossentropy, dnn.F.sparse_categorical_crossentropy)
  end)

  it("reproduce the numbers in Keras's documentation", function()
    local function val(t) return t:totable() end
    check.close(L.mean_squared_error(dnn.tensor { { 0., 1. }, { 0., 0. } }, dnn.tensor { { 1., 1. }, { 1., 0. } }),
      { 0.5, 0.5 }, 1e-6)
    check.close(L.binary_crossentropy(dnn.tensor { { 0, 1 }, { 0, 0 } }, dnn.tensor { { 0.6, 0.4 }, { 0.4, 0.6 } }),
      { 0.9162905, 0.71355796 }, 1e-6)
    check.close(L.categorical_crossentropy(dnn.tensor { { 0, 1, 0 }, { 0, 0, 1 } },
      dnn.tensor { { 0.05, 0.95, 0 }, { 0.1, 0.8, 0.1 } }), { 0.0513, 2.303 }, 1e-3)
    check.close(L.sparse_categorical_crossentropy(dnn.tensor { 1, 2 },
      dnn.tensor { { 0.05, 0.95, 0 }, { 0.1, 0.8, 0.1 } }), { 0.0513, 2.303 }, 1e-3)
    check.close(L.BinaryCrossentropy()(dnn.tensor { 0., 0., 1., 1. }, dnn.tensor { 1., 1., 1., 0. }), 11.522857, 1e-6)
    local h = L.Huber()
    local yt, yp = dnn.tensor { { 0, 1 }, { 0, 0 } }, dnn.tensor { { 0.6, 0.4 }, { 0.4, 0.6 } }
    check.close(h(yt, yp), 0.155, 1e-6)
    check.close(h(yt, yp, { 1, 0 }), 0.09, 1e-6)
    check.close(L.Huber { reduction = "none" }(yt, yp), { 0.18, 0.13 }, 1e-6)
    check.close(L.kl_divergence(yt, yp), { 0.916, -3.08e-06 }, 1e-3)
    check.close(L.cosine_similarity(dnn.tensor { { 0., 1. }, { 1., 1. }, { 1., 1. } },
      dnn.tensor { { 1., 0. }, { 1., 1. }, { -1., -1. } }, { axis = 2 }), { 0, -1, 1 }, 1e-6)
    -- ignore_class, from the docstring of sparse_categorical_crossentropy
    local l = L.sparse_categorical_crossentropy(dnn.tensor { { { 0, 2 }, { -1, -1 } }, { { 0, 2 }, { -1, -1 } } },
      dnn.tensor { { { { 1.0, 0.0, 0.0 }, { 0.0, 0.0, 1.0 } }, { { 0.2, 0.5, 0.3 }, { 0.0, 1.0, 0.0 } } },
        { { { 1.0, 0.0, 0.0 }, { 0.0, 0.5, 0.5 } }, { { 0.2, 0.5, 0.3 }, { 0.0, 1.0, 0.0 } } } }, { ignore_class = -1 })
    check.close(l, { { { 2.3841855e-07, 2.3841855e-07 }, { 0, 0 } }, { { 2.3841855e-07, 6.9314730e-01 }, { 0, 0 } } },
      1e-6)
    assert.is_table(val(l))
  end)

  it("agree between from_logits=true and the probabilities of the same logits", function()
    local x = dnn.tensor(check.random_table({ 5, 4 }, 7, -3, 3))
    local soft = x:exp() / x:exp():sum(2, true)
    local y = dnn.tensor { 0, 3, 1, 2, 3 }
    check.close(L.sparse_categorical_crossentropy(y, soft), L.sparse_categorical_crossentropy(y, x, { from_logits = true }),
      1e-5)
    local t = dnn.tensor(check.random_table({ 5, 4 }, 8, 0, 1))
    check.close(L.categorical_crossentropy(t, soft), L.categorical_crossentropy(t, x, { from_logits = true }), 1e-5)
    check.close(L.binary_crossentropy(t, x:sigmoid()), L.binary_crossentropy(t, x, { from_logits = true }), 1e-5)
  end)

  it("with an axis equal the loss over the same classes moved last", function()
    local x = dnn.tensor(check.random_table({ 2, 3, 4 }, 51, -2, 2))
    local t = dnn.tensor(check.random_table({ 2, 3, 4 }, 52, 0, 1))
    for _, logits in ipairs({ true, false }) do
      local p = logits and x or x:exp()
      local a = L.categorical_crossentropy(t, p, { from_logits = logits, axis = 2, label_smoothing = 0.1 })
      local b = L.categorical_crossentropy(t:permute(1, 3, 2), p:permute(1, 3, 2),
        { from_logits = logits, label_smoothing = 0.1 })
      check.close(a, b, 1e-6)
      check.close(L.binary_crossentropy(t, p:sigmoid(), { axis = 2 }),
        L.binary_crossentropy(t:permute(1, 3, 2), p:sigmoid():permute(1, 3, 2)), 1e-6)
    end
  end)

  it("accept labels as int32, uint8, float and [N,1] tensors alike", function()
    local c = XENT[11] -- sparse logits
    local _, yp = inputs(c)
    for _, dt in ipairs({ "int64", "int32", "uint8", "float32", "float64" }) do
      check.close(L.sparse_categorical_crossentropy(dnn.tensor(c.y_true, { dtype = dt }), yp, { from_logits = true }),
        c.loss, 1e-5)
    end
    local col = dnn.tensor(c.y_true):view(-1, 1)
    check.close(L.sparse_categorical_crossentropy(col, yp, { from_logits = true }), c.loss, 1e-5)
  end)

  it("reshape y_true [N] against y_pred [N,1] instead of broadcasting to [N,N]", function()
    local yt, yp = dnn.tensor { 0, 1, 1 }, dnn.tensor { { 0.2 }, { 0.7 }, { 0.9 } }
    local l = L.binary_crossentropy(yt, yp)
    assert.are.same({ 3 }, l:size())
    check.close(l, { -math.log(0.8), -math.log(0.7), -math.log(0.9) }, 1e-6)
    local m = L.mse(dnn.tensor { { 1 }, { 2 } }, dnn.tensor { 1.5, 2.5 }) -- [2,1] against [2]
    assert.are.same({}, m:size())
    check.close(m, 0.25, 1e-7)
    -- y_true may broadcast to y_pred's shape (a row of targets for every sample)
    check.close(L.mse(dnn.tensor { 1, 2 }, dnn.tensor { { 1., 2. }, { 3., 4. } }), { 0, 4 }, 1e-7)
    check.close(L.mse(0, dnn.tensor { { 1., 2. }, { 3., 4. } }), { 2.5, 12.5 }, 1e-7)
  end)

  it("keep float64 inputs in float64", function()
    local c = XENT[8]
    local yt, yp = inputs(c, "float64")
    local l = L.categorical_crossentropy(yt, yp, copy(c.opts))
    assert.equal("float64", l.dtype)
    check.close(l, c.loss, 1e-5)
    assert.equal("float64", L.huber(yt, yp).dtype)
  end)
end)

describe("loss objects: reductions and sample_weight", function()
  for _, c in ipairs(CASES) do
    it(c.title .. ": none, sum, sum_over_batch_size, auto", function()
      local yt, yp = inputs(c)
      local r = c.reductions
      local w = type(r.sample_weight) == "table" and dnn.tensor(r.sample_weight) or r.sample_weight
      check.close(object_for(c, { reduction = "none" })(yt, yp, w), r.none, 1e-5)
      check.close(object_for(c, { reduction = "sum" })(yt, yp, w), r.sum, 1e-5)
      check.close(object_for(c, { reduction = "sum_over_batch_size" })(yt, yp, w), r.sum_over_batch_size, 1e-5)
      check.close(object_for(c)(yt, yp, { sample_weight = w }), r.sum_over_batch_size, 1e-5)
      if c.opts.ignore_class == nil then
        check.close(object_for(c)(yt, yp), r.unweighted_mean, 1e-5)
      end
    end)
  end

  it("mean over the counted samples with ignore_class (Keras's valid mask)", function()
    local c = XENT[13]
    local yt, yp = inputs(c)
    local sum, valid = 0, 0
    local flat_loss, flat_y = check.flatten(c.loss), check.flatten(c.y_true)
    for i, v in ipairs(flat_loss) do
      sum = sum + v
      if flat_y[i] ~= -1 then valid = valid + 1 end
    end
    local obj = L.SparseCategoricalCrossentropy { from_logits = true, ignore_class = -1 }
    check.close(obj(yt, yp), sum / valid, 1e-5)
    check.close(L.SparseCategoricalCrossentropy { from_logits = true, ignore_class = -1, reduction = "sum" }(yt, yp),
      sum, 1e-5)
  end)

  it("broadcast a scalar, a [N,1] column, a table and per-sample weights over [N,T] losses", function()
    local yt = dnn.tensor(check.random_table({ 4, 3, 2 }, 11, -1, 1))
    local yp = dnn.tensor(check.random_table({ 4, 3, 2 }, 12, -1, 1))
    local per = L.mse(yt, yp) -- [4,3]
    local mse = L.MeanSquaredError()
    local n = per:numel()
    check.close(mse(yt, yp, 2.5), per:sum():item() * 2.5 / n, 1e-6)
    local w = { 1, 2, 3, 4 }
    local want = 0
    for i = 1, 4 do
      for j = 1, 3 do want = want + per[i][j] * w[i] end
    end
    check.close(mse(yt, yp, w), want / n, 1e-6)                                -- [4] -> [4,1]
    check.close(mse(yt, yp, dnn.tensor(w):view(4, 1)), want / n, 1e-6)         -- [4,1]
    check.close(mse { yt, yp, sample_weight = dnn.tensor(w) }, want / n, 1e-6) -- f{...} form
    local full = dnn.tensor(check.random_table({ 4, 3 }, 13, 0, 1))
    check.close(L.MeanSquaredError { reduction = "none" }(yt, yp, full), per * full, 1e-6)
    -- [N,1] weights against [N] losses are squeezed
    local y2, p2 = dnn.tensor { { 1, 2 }, { 3, 4 } }, dnn.tensor { { 1., 3. }, { 3., 5. } }
    check.close(L.MeanSquaredError { reduction = "none" }(y2, p2, dnn.tensor { { 2 }, { 3 } }), { 1, 1.5 }, 1e-7)
  end)

  it("send gradients through the reduction and into sample_weight", function()
    local yt, yp = f64(nil, -1, 1, { 3, 4 }, 21), f64(nil, -1, 1, { 3, 4 }, 22)
    yt.requires_grad = false
    local w = f64({ 0.5, 1.5, 2.0 })
    for _, red in ipairs({ "sum", "sum_over_batch_size", "none" }) do
      local obj = L.LogCosh { reduction = red }
      dnn.testing.gradcheck(function(p, ww) return obj(yt, p, ww) end, { yp, w })
    end
    local bce = L.BinaryCrossentropy { from_logits = true, label_smoothing = 0.1 }
    local z = dnn.tensor(check.random_table({ 3, 4 }, 23, 0, 1), { dtype = "float64" })
    dnn.testing.gradcheck(function(p, ww) return bce(z, p, ww) end, { yp, w })
  end)

  it("give 0 for an empty batch with sum_over_batch_size", function()
    local l = L.MeanSquaredError()(dnn.zeros(0, 3), dnn.zeros(0, 3))
    assert.equal(0, l:item())
  end)
end)

describe("gradcheck in float64", function()
  local function gc(fn, ...) assert.is_true(dnn.testing.gradcheck(fn, { ... })) end

  it("binary_crossentropy, both ways, with label smoothing and y_true gradients", function()
    local z = f64(nil, 0, 1, { 3, 4 }, 31)
    local p = f64(nil, 0.05, 0.95, { 3, 4 }, 32)
    local x = f64(nil, -4, 4, { 3, 4 }, 33)
    gc(function(t, q) return L.binary_crossentropy(t, q) end, z, p)
    gc(function(t, q) return L.binary_crossentropy(t, q, { label_smoothing = 0.2 }) end, z, p)
    gc(function(t, q) return L.binary_crossentropy(t, q, { from_logits = true, label_smoothing = 0.1 }) end, z, x)
    gc(function(q) return L.binary_crossentropy(z:detach(), q, { from_logits = true, axis = 1 }) end, x)
  end)

  it("categorical_crossentropy, both ways, axis and label smoothing", function()
    local t = f64(nil, 0, 1, { 3, 5 }, 34)
    local p = f64(nil, 0.05, 1, { 3, 5 }, 35) -- normalised inside, clip inactive
    local x = f64(nil, -3, 3, { 3, 5 }, 36)
    gc(function(a, b) return L.categorical_crossentropy(a, b) end, t, p)
    gc(function(a, b) return L.categorical_crossentropy(a, b, { label_smoothing = 0.1 }) end, t, p)
    gc(function(a, b) return L.categorical_crossentropy(a, b, { from_logits = true, label_smoothing = 0.2 }) end, t, x)
    local x3 = f64(nil, -2, 2, { 2, 3, 4 }, 37)
    local t3 = dnn.tensor(check.random_table({ 2, 3, 4 }, 38, 0, 1), { dtype = "float64" })
    gc(function(b) return L.categorical_crossentropy(t3, b, { from_logits = true, axis = 2 }) end, x3)
  end)

  it("sparse_categorical_crossentropy, both ways, axis and ignore_class", function()
    local y = dnn.tensor { 0, 4, 2 }
    local p = f64(nil, 0.05, 1, { 3, 5 }, 39)
    local x = f64(nil, -3, 3, { 3, 5 }, 40)
    gc(function(b) return L.sparse_categorical_crossentropy(y, b) end, p)
    gc(function(b) return L.sparse_categorical_crossentropy(y, b, { from_logits = true }) end, x)
    gc(function(b) return L.sparse_categorical_crossentropy(dnn.tensor { 0, -1, 2 }, b,
      { from_logits = true, ignore_class = -1 }) end, x)
    local x3 = f64(nil, -2, 2, { 2, 3, 4 }, 41)
    gc(function(b) return L.sparse_categorical_crossentropy(dnn.tensor { { 0, 1, 2, 0 }, { 2, 2, 1, 0 } }, b,
      { from_logits = true, axis = 2 }) end, x3)
  end)

  it("the regression losses, with y_true gradients where they exist", function()
    local t = f64(nil, -1, 1, { 3, 4 }, 42)
    local p = f64(nil, -1, 1, { 3, 4 }, 43)
    local tp, pp = f64(nil, 0.1, 2, { 3, 4 }, 44), f64(nil, 0.1, 2, { 3, 4 }, 45)
    for _, name in ipairs({ "mean_squared_error", "log_cosh", "cosine_similarity", "huber" }) do
      gc(function(a, b) return L[name](a, b) end, t, p)
    end
    gc(function(a, b) return L.huber(a, b * 3, { delta = 0.5 }) end, t, p)
    gc(function(a, b) return L.mean_absolute_error(a, b + 3) end, t, p) -- away from the kink
    gc(function(a, b) return L.mean_absolute_percentage_error(a + 2, b) end, t, p)
    gc(function(a, b) return L.mean_squared_logarithmic_error(a, b) end, tp, pp)
    gc(function(a, b) return L.poisson(a, b) end, tp, pp)
    gc(function(a, b) return L.kl_divergence(a / 2, b / 2) end, tp, pp)
    gc(function(b) return L.cosine_similarity(t:detach(), b, { axis = 1 }) end, p)
    local signs = dnn.tensor { { 1, -1, 1, -1 }, { -1, -1, 1, 1 }, { 1, 1, 1, -1 } }:double()
    gc(function(b) return L.hinge(signs, b * 0.9) end, p)
    gc(function(b) return L.squared_hinge(signs, b * 0.9) end, p)
    local onehot = dnn.tensor { { 0, 1, 0, 0 }, { 1, 0, 0, 0 }, { 0, 0, 0, 1 } }:double()
    gc(function(a, b) return L.categorical_hinge(onehot, b) end, t, p)
  end)
end)

describe("numerical stability and NaN", function()
  it("gives finite values and gradients for huge logits", function()
    local x = dnn.tensor { { 1e4, 0, -1e4 }, { -1e4, -1e4, 1e4 } }
    x.requires_grad = true
    local l = L.sparse_categorical_crossentropy(dnn.tensor { 0, 1 }, x, { from_logits = true })
    check.close(l, { 0, 2e4 }, 1e-6)
    l:sum():backward()
    check.close(x.grad, { { 0, 0, 0 }, { 0, -1, 1 } }, 1e-6)
    local c = L.categorical_crossentropy(dnn.tensor { { 0, 0, 1 }, { 0.5, 0.5, 0 } }, x, { from_logits = true })
    check.close(c, { 2e4, 2e4 }, 1e-6)
    local b = L.binary_crossentropy(dnn.tensor { { 1, 0, 1 } }, dnn.tensor { { 1e4, 1e4, -1e4 } }, { from_logits = true })
    check.close(b, { 2e4 / 3 }, 1e-6)
  end)

  it("clips probabilities of exactly 0 and 1 as Keras does", function()
    local b = L.binary_crossentropy(dnn.tensor { { 1, 0 } }, dnn.tensor { { 0., 0. } })
    local eps = 1e-7
    check.close(b, { -math.log(2 * eps) / 2 }, 1e-5)
    local s = L.sparse_categorical_crossentropy(dnn.tensor { 1 }, dnn.tensor { { 1., 0., 0. } })
    assert.is_true(s:item() > 15 and s:item() < 17)
    local p = dnn.tensor { { 1., 0., 0. } }
    p.requires_grad = true
    L.categorical_crossentropy(dnn.tensor { { 0, 1, 0 } }, p):sum():backward()
    for _, v in ipairs(check.flatten(p.grad:totable())) do assert.is_true(v == v and math.abs(v) < math.huge) end
  end)

  it("propagates NaN (the documented result) and check_finite turns it into an error", function()
    local l = L.sparse_categorical_crossentropy(dnn.tensor { 0 }, dnn.tensor { { 0 / 0, 1, 2 } }, { from_logits = true })
    assert.is_true(l[1] ~= l[1])
    local m = L.MeanSquaredError()(dnn.tensor { 1, 2 }, dnn.tensor { 1, 0 / 0 })
    assert.is_true(m:item() ~= m:item())
    check.fails_with(function() L.check_finite(m, "epoch 3 loss") end, "epoch 3 loss is not finite", "from_logits")
    local fine = dnn.tensor { 1.5 }
    assert.equal(fine, L.check_finite(fine))
    assert.equal(2.5, L.check_finite(2.5))
  end)
end)

describe("losses.get, configs and custom losses", function()
  it("resolves names, aliases, classes, configs, functions and objects as Keras does", function()
    assert.equal(L.sparse_categorical_crossentropy, L.get("sparse_categorical_crossentropy"))
    local obj = L.get("SparseCategoricalCrossentropy")
    assert.equal("sparse_categorical_crossentropy", obj.name)
    assert.equal("auto", obj.reduction)
    assert.is_false(obj.from_logits)
    for alias, target in pairs({ mse = "mean_squared_error", MSE = "mean_squared_error", mae = "mean_absolute_error",
      mape = "mean_absolute_percentage_error", msle = "mean_squared_logarithmic_error", kld = "kl_divergence",
      KLD = "kl_divergence", kullback_leibler_divergence = "kl_divergence", logcosh = "log_cosh", bce = "binary_crossentropy",
      huber_loss = "huber" }) do
      assert.equal(L[target], L.get(alias), alias)
      assert.equal(L[target], L[alias], alias)
    end
    local cfg = L.get { class_name = "CategoricalCrossentropy", config = { from_logits = true } }
    assert.is_true(cfg.from_logits)
    local f = function(a, b) return (a - b):abs() end
    assert.equal(f, L.get(f))
    local h = L.Huber { delta = 2 }
    assert.equal(h, L.get(h))
    assert.is_nil(L.get(nil))
    assert.equal("huber_loss", L.get(L.Huber).name)
  end)

  it("gives Keras's config dicts and builds objects back from them", function()
    local bce = L.BinaryCrossentropy { from_logits = true, label_smoothing = 0.1, reduction = "sum", name = "b" }
    assert.are.same({ name = "b", reduction = "sum", from_logits = true, label_smoothing = 0.1, axis = -1 },
      bce:get_config())
    local again = L.BinaryCrossentropy.from_config(bce:get_config())
    assert.are.same(bce:get_config(), again:get_config())
    assert.are.same({ name = "huber_loss", reduction = "auto", delta = 1.0 }, L.Huber():get_config())
    assert.are.same({ name = "cosine_similarity", reduction = "auto", axis = -1 }, L.CosineSimilarity():get_config())
    assert.are.same({ name = "sparse_categorical_crossentropy", reduction = "auto", from_logits = true, ignore_class = -1 },
      L.SparseCategoricalCrossentropy { from_logits = true, ignore_class = -1 }:get_config())
    local ser = L.serialize(bce)
    assert.equal("BinaryCrossentropy", ser.class_name)
    assert.are.same(bce:get_config(), L.deserialize(ser):get_config())
    assert.equal("mean_squared_error", L.serialize(L.mse))
    -- Keras's positional order: BinaryCrossentropy(from_logits, label_smoothing, axis, reduction, name)
    local pos = L.BinaryCrossentropy(true, 0.2)
    assert.is_true(pos.from_logits)
    assert.equal(0.2, pos.label_smoothing)
    assert.equal(0.5, L.Huber { 0.5 }.delta)
    assert.equal("dnn.losses.Huber", tostring(L.Huber))
    assert.truthy(tostring(L.Huber()):find("huber_loss", 1, true))
  end)

  it("registers custom losses for get() and deserialize()", function()
    local function twice_mse(y_true, y_pred) return L.mse(y_true, y_pred) * 2 end
    L.register("twice_mse", twice_mse)
    assert.equal(twice_mse, L.get("twice_mse"))
    assert.equal("twice_mse", L.serialize(twice_mse))
    local Scaled = L.Loss:extend("Scaled")
    Scaled.params = { { "scale", 1.0 } }
    function Scaled:call(y_true, y_pred) return L.mae(y_true, y_pred) * self.scale end
    L.register("Scaled", Scaled)
    local s = L.deserialize { class_name = "Scaled", config = { scale = 3, reduction = "sum" } }
    check.close(s(dnn.tensor { { 1, 2 } }, dnn.tensor { { 2., 4. } }), 4.5, 1e-7)
    assert.are.same({ name = "Scaled", reduction = "sum", scale = 3 }, s:get_config())
  end)

  it("trains a linear model with a custom loss, autograd and a manual SGD step", function()
    dnn.manual_seed(3)
    local x = dnn.rand(64, 3)
    local true_w = dnn.tensor { { 1.5 }, { -2.0 }, { 0.5 } }
    local y = x:matmul(true_w) + 0.3
    -- a custom loss: any Lua function of tensor ops (here a pseudo-Huber)
    local function pseudo_huber(y_true, y_pred)
      local d = y_pred - y_true
      return ((d * d + 1):sqrt() - 1):mean(-1)
    end
    local w = dnn.zeros(3, 1)
    local b = dnn.zeros(1)
    w.requires_grad, b.requires_grad = true, true
    local loss_fn = L.LossFunctionWrapper(pseudo_huber, { name = "pseudo_huber" })
    local first, last
    for step = 1, 200 do
      local loss = loss_fn(y, x:matmul(w) + b)
      if step == 1 then first = loss:item() end
      last = loss:item()
      w.grad, b.grad = nil, nil
      loss:backward()
      dnn.no_grad(function()
        w:sub_(w.grad * 0.5)
        b:sub_(b.grad * 0.5)
      end)
    end
    assert.is_true(last < first * 0.05, ("loss went from %g to %g"):format(first, last))
    assert.equal("pseudo_huber", loss_fn.name)
    -- a plain function works in compile-style lookups too
    assert.equal(pseudo_huber, L.get(pseudo_huber))
  end)
end)

describe("misuse gives clear errors", function()
  local p45 = dnn.rand(4, 5)

  it("shape mismatches name both shapes", function()
    check.fails_with(function() L.mse(dnn.rand(4), dnn.rand(4, 3)) end, "mean_squared_error", "[4]", "[4,3]")
    check.fails_with(function() L.binary_crossentropy(dnn.rand(2, 3), dnn.rand(3, 2)) end,
      "binary_crossentropy", "[2,3]", "[3,2]")
    check.fails_with(function() L.categorical_crossentropy(dnn.rand(4, 4), p45) end, "[4,4]", "[4,5]")
    check.fails_with(function() L.sparse_categorical_crossentropy(dnn.tensor { 1, 2, 3 }, p45) end,
      "sparse_categorical_crossentropy", "labels [3]", "[4,5]")
  end)

  it("labels out of range name the label and the class count", function()
    check.fails_with(function() L.sparse_categorical_crossentropy(dnn.tensor { 0, 1, 5, 2 }, p45) end,
      "label 5", "5 classes", "[0, 4]")
    check.fails_with(function() L.sparse_categorical_crossentropy(dnn.tensor { 0, -1, 2, 2 }, p45) end,
      "label -1", "5 classes")
    check.fails_with(function() L.sparse_categorical_crossentropy(dnn.tensor { 0, 1.5, 2, 2 }, p45) end,
      "label 1.5", "not a class id")
    check.fails_with(function() L.SparseCategoricalCrossentropy { ignore_class = 255 }(dnn.tensor { 0, 7, 255, 1 }, p45) end,
      "label 7", "ignore_class=255")
  end)

  it("integer y_pred and wrong argument types are refused", function()
    check.fails_with(function() L.mse(dnn.tensor { 1, 2 }, dnn.tensor { 1, 2 }) end,
      "y_pred must be float32 or float64, got int64")
    check.fails_with(function() L.categorical_crossentropy(p45, p45:long()) end, "got int64")
    check.fails_with(function() L.mse("abc", p45) end, "y_true must be a tensor, got string")
    check.fails_with(function() L.mse(p45, nil) end, "y_pred must be a tensor, got nil")
    check.fails_with(function() L.mse(p45, p45, 3) end, "options must be a table")
  end)

  it("unknown reductions and options are named", function()
    check.fails_with(function() L.MeanSquaredError { reduction = "mean" } end, "unknown reduction 'mean'",
      "sum_over_batch_size")
    check.fails_with(function() L.binary_crossentropy(p45, p45, { from_logit = true }) end,
      "unknown option 'from_logit'", "from_logits")
    check.fails_with(function() L.BinaryCrossentropy { from_logit = true } end, "BinaryCrossentropy",
      "unknown option 'from_logit'")
    check.fails_with(function() L.mse(p45, p45, { axis = 1 }) end, "mean_squared_error", "takes no options")
    check.fails_with(function() L.MeanSquaredError()(p45, p45, { weights = 1 }) end, "unknown option 'weights'")
    check.fails_with(function() L.Huber(1, "sum", "h", 4) end, "too many arguments")
  end)

  it("bad option values are refused", function()
    check.fails_with(function() L.binary_crossentropy(p45, p45, { label_smoothing = 1.5 }) end,
      "label_smoothing must be in [0, 1]")
    check.fails_with(function() L.CategoricalCrossentropy { label_smoothing = -0.1 } end, "label_smoothing must be in [0, 1]")
    check.fails_with(function() L.categorical_crossentropy(p45, p45, { axis = 0 }) end, "axis 0 is not valid")
    check.fails_with(function() L.categorical_crossentropy(p45, p45, { axis = 3 }) end, "axis 3 out of range", "[4,5]")
    check.fails_with(function() L.cosine_similarity(p45, p45, { axis = -3 }) end, "axis -3 out of range")
    check.fails_with(function() L.binary_crossentropy(p45, p45, { from_logits = "yes" }) end,
      "from_logits must be true or false")
    check.fails_with(function() L.sparse_categorical_crossentropy(dnn.tensor { 0, 1, 2, 3 }, p45, { ignore_class = 0.5 }) end,
      "ignore_class must be an integer")
    check.fails_with(function() L.SparseCategoricalCrossentropy { ignore_class = "void" } end, "ignore_class")
    check.fails_with(function() L.BinaryCrossentropy { axis = 1.5 } end, "axis must be a nonzero integer")
  end)

  it("degenerate shapes and weights are refused", function()
    check.fails_with(function() L.categorical_crossentropy(dnn.tensor(1.0), dnn.tensor(0.5)) end, "0-d")
    check.fails_with(function() L.sparse_categorical_crossentropy(dnn.zeros(4):long(), dnn.zeros(4, 0)) end,
      "no classes")
    check.fails_with(function() L.MeanSquaredError()(p45, p45, dnn.ones(3)) end, "sample_weight [3]",
      "per-sample losses [4]")
    check.fails_with(function() L.MeanSquaredError()(p45, p45, "w") end, "sample_weight must be a tensor")
  end)

  it("lookups and custom classes explain themselves", function()
    local err = check.fails_with(function() L.get("sparse_categorical_crossentopy") end,
      "unknown loss 'sparse_categorical_crossentopy'", "sparse_categorical_crossentropy", "MeanSquaredError")
    assert.truthy(err:find("known losses", 1, true))
    check.fails_with(function() L.get(42) end, "could not interpret loss identifier: 42")
    check.fails_with(function() L.deserialize { class_name = "Nope" } end, "unknown loss 'Nope'")
    local NoCall = L.Loss:extend("NoCall")
    check.fails_with(function() NoCall()(p45, p45) end, "implement call")
    check.fails_with(function() L.MeanSquaredError()(p45) end, "y_pred is missing")
    check.fails_with(function() L.register(1, print) end, "name must be a string")
  end)
end)
