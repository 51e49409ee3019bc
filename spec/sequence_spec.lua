-- The Sequence protocol: the dnn.data.Sequence base class, named and
-- positional inputs, DSS's sequence builders, checked batches, and Sequences
-- through fit / evaluate / predict.
local dnn = require "dnn"
local check = require "support.check"

-- Keras's DataGenerator pattern: samples by id, shuffled indexes per epoch.
local function id_generator(samples, labels, batch_size, shuffle)
  local Gen = dnn.data.Sequence:extend("IdGenerator")
  function Gen:init()
    self.ids, self.epochs = {}, 0
    for k = 1, #samples do self.ids[k] = k end
  end
  function Gen:len() return #self.ids // batch_size end
  function Gen:get(i)
    local xs, ys = {}, {}
    for k = (i - 1) * batch_size + 1, i * batch_size do
      xs[#xs + 1] = samples[self.ids[k]]
      ys[#ys + 1] = labels[self.ids[k]]
    end
    return dnn.stack(xs, 1), dnn.tensor(ys, { dtype = "int64" })
  end
  function Gen:on_epoch_end()
    self.epochs = self.epochs + 1
    if shuffle then
      local p = dnn.randperm(#self.ids):totable()
      local new = {}
      for k, j in ipairs(p) do new[k] = self.ids[j] end
      self.ids = new
    end
  end
  return Gen()
end

describe("dnn.data.Sequence", function()
  it("iterates one epoch with batches() and then calls on_epoch_end", function()
    local samples, labels = {}, {}
    for k = 1, 6 do
      samples[k] = dnn.full({ 2 }, k)
      labels[k] = k % 2
    end
    local g = id_generator(samples, labels, 2, false)
    assert.equal(3, #g)
    local firsts = {}
    for xb, yb in g:batches() do
      firsts[#firsts + 1] = xb[1][1]
      assert.equal(2, yb:size(1))
    end
    assert.same({ 1, 3, 5 }, firsts)
    assert.equal(1, g.epochs)
  end)

  it("names the subclass that forgot len or get", function()
    local Half = dnn.data.Sequence:extend("HalfDone")
    check.fails_with(function() Half():len() end, "HalfDone", "len()")
    check.fails_with(function() Half():get(1) end, "HalfDone", "get(i)")
  end)
end)

describe("dnn.data.from_tensors with several inputs", function()
  it("batches a table of named inputs, shuffling all of them with the same order", function()
    local n = 10
    local img = dnn.arange(0, n):view(n, 1, 1):expand(n, 2, 2):contiguous()
    local meta = dnn.arange(0, n) * 10
    local y = dnn.arange(0, n, { dtype = "int64" })
    local seq = dnn.data.from_tensors { { image = img, meta = meta }, y, batch_size = 4, shuffle = true, seed = 2 }
    assert.equal(3, seq:len())
    for i = 1, 3 do
      local xb, yb = seq:get(i)
      assert.same({ "image", "meta" }, (function()
        local ks = {}
        for k in pairs(xb) do ks[#ks + 1] = k end
        table.sort(ks)
        return ks
      end)())
      for k = 1, yb:size(1) do
        assert.equal(yb[k], xb.image[k][1][1])
        assert.equal(yb[k] * 10, xb.meta[k])
      end
    end
  end)

  it("names the input whose sample count differs", function()
    check.fails_with(function()
      dnn.data.from_tensors { { image = dnn.zeros(4, 2), meta = dnn.zeros(3) }, dnn.zeros(4) }
    end, "x.meta", "3 samples")
    check.fails_with(function() dnn.data.from_tensors { { dnn.zeros(4), a = dnn.zeros(4) } } end, "mixes positional and named")
    check.fails_with(function() dnn.data.from_tensors { {}, dnn.zeros(4) } end, "x holds no tensors")
  end)
end)

describe("dnn.data.sequence_builder (DSS's build_*_sequence_with_batch_size)", function()
  it("returns a function of the batch size giving Sequences over the tensors", function()
    local x, y = dnn.rand(10, 3), dnn.arange(0, 10)
    local build = dnn.data.sequence_builder { x, y, shuffle = true, seed = 4 }
    local s8, s3 = build(8), build(3)
    assert.equal(2, s8:len())
    assert.equal(4, s3:len())
    local xb = s8:get(1)
    assert.same({ 8, 3 }, xb:size())
    -- same seed, same order in every sequence it builds
    local _, ya = build(5):get(1)
    local _, yb = build(5):get(1)
    assert.same(ya:totable(), yb:totable())
    check.fails_with(function() build(0) end, "batch_size")
    check.fails_with(function() dnn.data.sequence_builder { x, dnn.zeros(9) } end, "9 samples")
  end)
end)

describe("checked batches", function()
  -- A Sequence subclass whose batch k is made by make(k)
  local function seq_of(n, make)
    local S = dnn.data.Sequence:extend("Made")
    function S:len() return n end
    function S:get(i) return make(i) end
    return S()
  end

  -- A plain object with len and get (no class): checked only through validated()
  local function plain(n, make)
    return { len = function() return n end, get = function(_, i) return make(i) end }
  end

  it("passes consistent batches through (the last may be smaller)", function()
    local s = seq_of(3, function(i)
      local b = i == 3 and 1 or 4
      return { image = dnn.zeros(b, 5, 5, 1), meta = dnn.zeros(b, 2) }, dnn.zeros(b), dnn.ones(b)
    end)
    for i = 1, 3 do
      local x, y, w = s:get(i)
      assert.equal(i == 3 and 1 or 4, x.image:size(1))
      assert.is_not_nil(y)
      assert.is_not_nil(w)
    end
  end)

  it("names the class, the batch, the input and both shapes when a batch's shape changes", function()
    local s = seq_of(3, function(i)
      return { image = dnn.zeros(4, 5, i == 2 and 6 or 5, 1) }, dnn.zeros(4)
    end)
    s:get(1)
    check.fails_with(function() s:get(2) end, "Made batch 2", "x.image", "[4, 5, 6, 1]", "batch 1", "[4, 5, 5, 1]")
    -- through fit, the same message instead of a layer's
    local bad = seq_of(3, function(i) return dnn.rand(4, i == 2 and 5 or 4), dnn.zeros(4, 1) end)
    local model = dnn.Sequential { dnn.layers.Dense { 1, input_shape = { 4 } } }
    model:compile { optimizer = "sgd", loss = "mse" }
    check.fails_with(function() model:fit { bad, epochs = 1, verbose = 0 } end, "Made batch 2", "[4, 5]", "[4, 4]")
  end)

  it("lets shapes vary with variable_shapes = true, and compares within an epoch only", function()
    local s = seq_of(2, function(i) return dnn.zeros(2, i + 3), dnn.zeros(2) end)
    s.variable_shapes = true
    s:get(1)
    s:get(2)
    local epoch = 0
    local grow = seq_of(2, function() return dnn.zeros(2, 3 + epoch), dnn.zeros(2) end)
    grow:get(1)
    grow:get(2)
    grow:on_epoch_end() -- the base on_epoch_end starts a new reference
    epoch = 1
    grow:get(1)
    grow:get(2)
    -- but a different dtype is still an error, variable_shapes or not
    local t = seq_of(2, function(i) return dnn.zeros(2, 3, { dtype = i == 1 and "float32" or "float64" }) end)
    t.variable_shapes = true
    t:get(1)
    check.fails_with(function() t:get(2) end, "Made batch 2", "float64", "float32")
  end)

  it("checks plain objects through dnn.data.validated", function()
    local s = dnn.data.validated(plain(2, function(i)
      return dnn.zeros(4, 3, { dtype = i == 1 and "float32" or "float64" }), dnn.zeros(4)
    end))
    s:get(1)
    check.fails_with(function() s:get(2) end, "Sequence batch 2", "float64", "float32")
    local m = dnn.data.validated(plain(2, function(i)
      if i == 1 then return { a = dnn.zeros(2, 1), b = dnn.zeros(2, 1) }, dnn.zeros(2) end
      return { a = dnn.zeros(2, 1) }, dnn.zeros(2)
    end))
    m:get(1)
    check.fails_with(function() m:get(2) end, "Sequence batch 2", "1 tensors", "batch 1 had 2")
    local yb = dnn.data.validated(plain(1, function() return dnn.zeros(4, 3), dnn.zeros(3) end))
    check.fails_with(function() yb:get(1) end, "Sequence batch 1", "y has 3 samples", "x has 4")
    local nt = dnn.data.validated(plain(1, function() return { dnn.zeros(2), "text" } end))
    check.fails_with(function() nt:get(1) end, "Sequence batch 1", "x[2] is a string")
    check.fails_with(function() dnn.data.validated(5) end, "validated", "Sequence")
  end)
end)

describe("Sequences through fit / evaluate / predict", function()
  it("train a Sequential model from a Sequence subclass", function()
    dnn.manual_seed(7)
    local samples, labels = {}, {}
    for k = 1, 32 do
      local c = k % 2
      samples[k] = dnn.randn(4) + (c == 1 and 2 or -2)
      labels[k] = c
    end
    local g = id_generator(samples, labels, 8, true)
    local model = dnn.Sequential { dnn.layers.Dense { 2, activation = "softmax", input_shape = { 4 } } }
    model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.05 }, loss = "sparse_categorical_crossentropy",
      metrics = { "accuracy" } }
    local h = model:fit { g, epochs = 5, verbose = 0 }
    assert.equal(5, g.epochs) -- on_epoch_end after every epoch
    assert(h.history.loss[5] < h.history.loss[1])
    local res = model:evaluate { g, verbose = 0 }
    assert(res.accuracy >= 0.9, res.accuracy)
    local p = model:predict(g, { verbose = 0 })
    assert.same({ 32, 2 }, p:size())
  end)

  it("feed a two-input functional model by input name or by position", function()
    dnn.manual_seed(3)
    local a_in = dnn.Input { shape = { 3 }, name = "image" }
    local b_in = dnn.Input { shape = { 2 }, name = "meta" }
    local h = dnn.layers.Concatenate {} { a_in, b_in }
    local out = dnn.layers.Dense { 1 }(h)
    local model = dnn.Model { inputs = { a_in, b_in }, outputs = out }
    model:compile { optimizer = "sgd", loss = "mse" }
    local xa, xb = dnn.rand(12, 3), dnn.rand(12, 2)
    local y = xa:sum(2, true) - xb:sum(2, true)
    local named = dnn.data.from_tensors { { image = xa, meta = xb }, y, batch_size = 4 }
    local positional = dnn.data.from_tensors { { xa, xb }, y, batch_size = 4 }
    local w0 = model:get_weights()
    dnn.manual_seed(7) -- fit shuffles a Sequence's batch order (shuffle=true): the same order twice
    local h1 = model:fit { named, epochs = 2, verbose = 0 }
    model:set_weights(w0)
    dnn.manual_seed(7)
    local h2 = model:fit { positional, epochs = 2, verbose = 0 }
    assert.same(h1.history.loss, h2.history.loss)
    local pn = model:predict(dnn.data.from_tensors { { image = xa, meta = xb }, batch_size = 5 }, { verbose = 0 })
    local pp = model:predict({ xa, xb }, { verbose = 0 })
    assert(check.rel_err(pn, pp) < 1e-6)
  end)
end)

describe("examples/data_generator.lua", function()
  local ROOT = os.getenv("DNN_ROOT") or "."
  local RUNNER = os.getenv("DNNLUA") or "lua5.4"
  local function q(v) return "'" .. v:gsub("'", "'\\''") .. "'" end

  it("writes one file per id and trains from the Keras-article DataGenerator", function()
    local p = assert(io.popen(("cd %s && %s examples/data_generator.lua --short 2>&1"):format(q(ROOT), q(RUNNER))))
    local out = p:read("a")
    local _, _, code = p:close()
    assert.equal(0, code, out)
    assert.truthy(out:find("wrote 1500 sample files", 1, true), out)
    local acc = tonumber(out:match("Validation accuracy: (%S+)"))
    assert(acc and acc > 0.2, out)
  end)
end)

describe("fit's shuffle over a Sequence", function()
  local Recorder = dnn.data.Sequence:extend("Recorder")
  function Recorder:init() self.seen = {} end
  function Recorder:len() return 6 end
  function Recorder:get(i)
    self.seen[#self.seen + 1] = i
    return dnn.full({ 2, 1 }, i, { dtype = "float32" }), dnn.zeros(2, 1)
  end

  local function model()
    local m = dnn.Sequential { dnn.layers.Dense { 1, input_shape = { 1 } } }
    m:compile { optimizer = "sgd", loss = "mse" }
    return m
  end

  it("shuffles the batch order every epoch (Keras), each batch once; shuffle=false keeps it", function()
    dnn.manual_seed(1)
    local seq = Recorder()
    model():fit { seq, epochs = 2, verbose = 0 }
    local e1, e2 = { table.unpack(seq.seen, 1, 6) }, { table.unpack(seq.seen, 7, 12) }
    table.sort(e1)
    table.sort(e2)
    assert.same({ 1, 2, 3, 4, 5, 6 }, e1)
    assert.same({ 1, 2, 3, 4, 5, 6 }, e2)
    assert.are_not.same({ table.unpack(seq.seen, 1, 6) }, { table.unpack(seq.seen, 7, 12) })
    local plain = Recorder()
    model():fit { plain, epochs = 2, verbose = 0, shuffle = false }
    assert.same({ 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6 }, plain.seen)
  end)

  it("plain-table Sequences get the batch checks too", function()
    local bad = { len = function() return 2 end,
      get = function(_, i) return dnn.zeros(2, i), dnn.zeros(2, 1) end }
    local m = dnn.Sequential { dnn.layers.Dense { 1 } }
    m:compile { optimizer = "sgd", loss = "mse" }
    local ok, err = pcall(m.fit, m, { bad, epochs = 1, verbose = 0, shuffle = false })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("batch 2", 1, true), err)
  end)
end)
