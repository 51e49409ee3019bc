-- TrainModel (deep_pipe's TorchModel) and train_model's arguments, batches,
-- validation and logs.  Reference values: plain computations beside the
-- code under test (the loss by hand from the logits, an SGD step by hand).
local dnn = require "dnn"
local check = require "support.check"
local T = dnn.train
local L = dnn.layers

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function data(n)
  dnn.manual_seed(3)
  local x = dnn.randn(n or 64, 5)
  local y = x:narrow(2, 1, 3):argmax(-1) - 1 -- 3 classes, 0-based
  return x, y
end

local function net(units)
  return dnn.Sequential { L.Dense { units or 16, activation = "relu", input_shape = { 5 } }, L.Dense { 3 } }
end

local function ids(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

describe("TrainModel", function()
  it("trains: do_train_step returns the loss as a number and it goes down", function()
    local x, y = data()
    local m = T.TrainModel { net(), activation = L.Softmax(),
      loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }, optimizer = dnn.optimizers.Adam }
    local first = m:do_train_step(x, y, { lr = 1e-2 })
    assert.are.equal("number", math.type(first) and "number" or type(first))
    local last
    for _ = 1, 60 do last = m:do_train_step(x, y, { lr = 1e-2 }) end
    assert.is_true(last < first * 0.5, ("%g -> %g"):format(first, last))
    assert.are.equal(1e-2, m.optimizer.learning_rate)
  end)

  it("do_inf_step applies the activation to the network's output, without gradients", function()
    local x = data()
    local arch = net()
    local m = T.TrainModel { arch, L.Softmax(), "sparse_categorical_crossentropy", "adam" }
    local p = m:do_inf_step(x)
    assert.are.equal("[64, 3]", tostring(p:size()))
    assert.is_false(p.requires_grad)
    check.close(p:sum(-1), dnn.ones(64))
    local logits = arch(x)
    check.close(p, dnn.F.softmax(logits))
  end)

  it("gives the loss the logits, or the activation's output when the loss wants probabilities", function()
    local x, y = data(8)
    local arch = net()
    local logits = arch(x)
    -- the crossentropy by hand: mean of logsumexp(z) - z[y]
    local want = 0
    for i = 1, 8 do
      local z = logits[i]
      local mx = z:max():item()
      local lse = mx + math.log((z - mx):exp():sum():item())
      want = want + lse - z[y[i] + 1]
    end
    want = want / 8
    local a = T.TrainModel { arch, activation = L.Softmax(),
      loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }, optimizer = dnn.optimizers.SGD }
    local b = T.TrainModel { arch, activation = L.Softmax(),
      loss = dnn.losses.SparseCategoricalCrossentropy(), optimizer = dnn.optimizers.SGD }
    assert.is_true(math.abs(a:compute_loss(logits, y):item() - want) < 1e-5)
    assert.is_true(math.abs(b:compute_loss(logits, y):item() - want) < 1e-5)
  end)

  it("an SGD step is w - lr * grad", function()
    local x, y = data(16)
    local arch = dnn.Sequential { L.Dense { 3, input_shape = { 5 } } }
    local m = T.TrainModel { arch, loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true },
      optimizer = dnn.optimizers.SGD }
    local w0 = arch:get_weights()
    -- the gradient by hand: dL/dz = (softmax(z) - onehot(y)) / n
    local z = x:matmul(w0[1]) + w0[2]
    local g = dnn.F.softmax(z)
    for i = 1, 16 do g[i][y[i] + 1] = g[i][y[i] + 1] - 1 end
    g = g / 16
    m:do_train_step(x, y, { lr = 0.5 })
    local w1 = arch:get_weights()
    check.close(w1[1], w0[1] - x:t():matmul(g) * 0.5)
    check.close(w1[2], w0[2] - g:sum(1) * 0.5)
  end)

  it("accumulates gradients of loss / steps until a step without accumulate", function()
    local x, y = data(16)
    local function make()
      dnn.manual_seed(9)
      local arch = dnn.Sequential { L.Dense { 3, input_shape = { 5 } } }
      return T.TrainModel { arch, loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true },
        optimizer = dnn.optimizers.SGD }, arch
    end
    local one, a1 = make()
    one:do_train_step(x, y, { lr = 0.3 })
    local acc, a2 = make()
    local h1, h2 = x:narrow(1, 1, 8), x:narrow(1, 9, 8)
    local w0 = a2:get_weights()[1]
    local l1 = acc:do_train_step(h1, y:narrow(1, 1, 8), { lr = 0.3, accumulate = true, gradient_accumulation_steps = 2 })
    assert.are.equal(0, check.rel_err(a2:get_weights()[1], w0)) -- nothing applied yet
    acc:do_train_step(h2, y:narrow(1, 9, 8), { lr = 0.3, accumulate = false, gradient_accumulation_steps = 2 })
    assert.are.equal("number", type(l1))
    check.close(a2:get_weights()[1], a1:get_weights()[1])
    check.close(a2:get_weights()[2], a1:get_weights()[2])
  end)

  it("sets optimizer hyperparameters by name and refuses unknown names", function()
    local x, y = data(8)
    local m = T.TrainModel { net(), loss = "sparse_categorical_crossentropy", optimizer = dnn.optimizers.Adam }
    m:do_train_step(x, y, { lr = 1e-3, beta_1 = 0.5 })
    assert.are.equal(0.5, m.optimizer.beta_1)
    check.fails_with(function() m:do_train_step(x, y, { lr = 1e-3, weights = 3 }) end,
      "unknown argument 'weights'", "beta_1", "override do_train_step")
    check.fails_with(function() m:do_train_step(x, { lr = 1 }) end, "expected the inputs and then the target, got 1 value")
  end)

  it("checks its arguments", function()
    check.fails_with(function() T.TrainModel { 3, loss = "mse", optimizer = "sgd" } end, "architecture must be a layer")
    check.fails_with(function() T.TrainModel { net(), optimizer = "sgd" } end, "give the loss")
    check.fails_with(function() T.TrainModel { net(), loss = "mse" } end, "give the optimizer")
    check.fails_with(function() T.TrainModel { net(), activation = 4, loss = "mse", optimizer = "sgd" } end,
      "activation must be a layer or function")
  end)

  it("a subclass receives value policies (the seed's WeightedModel)", function()
    local x, y = data()
    local seen = {}
    local WeightedModel = T.TrainModel:extend("WeightedModel")
    function WeightedModel:do_train_step(bx, by, o)
      seen[#seen + 1] = ("I received these weights: %.1f"):format(o.weights)
      return T.TrainModel.do_train_step(self, bx, by, { lr = o.lr })
    end
    local m = WeightedModel { net(), L.Softmax(), dnn.losses.SparseCategoricalCrossentropy { from_logits = true },
      dnn.optimizers.Adam }
    local it = T.Infinite { T.load_by_random_id(function(i) return x[i] end, function(i) return y[i] end, { ids = ids(64) }),
      batch_size = 16, batches_per_epoch = 2 }
    T.train_model(m, it, { n_epochs = 3, lr = 1e-3, weights = T.Exponential { initial = 10, multiplier = 0.5 } })
    assert.are.same({ "I received these weights: 10.0", "I received these weights: 10.0",
      "I received these weights: 5.0", "I received these weights: 5.0",
      "I received these weights: 2.5", "I received these weights: 2.5" }, seen)
  end)
end)

describe("train_model", function()
  local function counting_model()
    local m = { batches = {} }
    function m:do_train_step(...)
      local n = select("#", ...)
      self.batches[#self.batches + 1] = table.pack(...)
      self.batches[#self.batches].n = n - 1 -- without the options
      return #self.batches
    end
    return m
  end

  it("takes batches from a function returning an iterator, a coroutine or a list, each epoch", function()
    local m = counting_model()
    local calls = 0
    T.train_model { m, function()
      calls = calls + 1
      local k = 0
      return function() k = k + 1; if k <= 2 then return k, -k end end
    end, n_epochs = 3 }
    assert.are.equal(3, calls)
    assert.are.equal(6, #m.batches)
    assert.are.same({ 2, -2 }, { m.batches[2][1], m.batches[2][2] })
    local m2 = counting_model()
    T.train_model { m2, function() return coroutine.create(function() coroutine.yield("a", "b") end) end, n_epochs = 2 }
    assert.are.equal(2, #m2.batches)
    assert.are.equal("b", m2.batches[1][2])
    local m3 = counting_model()
    T.train_model { m3, function() return { { 1, 2 }, { 3, 4 }, { 5, 6 } } end, n_epochs = 1 }
    assert.are.same({ 5, 6 }, { m3.batches[3][1], m3.batches[3][2] })
  end)

  it("calls validate after each epoch and hands its metrics to the policies", function()
    local got = {}
    local p = { epoch_finished = function(_, e, info) got[#got + 1] = info.metrics.acc end }
    local k = 0
    T.train_model { counting_model(), function() return { { 1 } } end, n_epochs = 3, policies = { p },
      validate = function() k = k + 1; return { acc = k / 10, other = dnn.tensor(2) } end }
    assert.are.same({ 0.1, 0.2, 0.3 }, got)
    check.fails_with(function()
      T.train_model { counting_model(), function() return { { 1 } } end, n_epochs = 1, validate = function() return 3 end }
    end, "validate must return a table of metrics, got number")
    check.fails_with(function()
      T.train_model { counting_model(), function() return { { 1 } } end, n_epochs = 1,
        validate = function() return { acc = "high" } end }
    end, "metric 'acc' is a string, expected a number")
  end)

  it("gradient_accumulation_steps passes accumulate on all but every k-th step", function()
    local m = counting_model()
    T.train_model { m, function() return { { 1 }, { 2 }, { 3 }, { 4 }, { 5 } } end, n_epochs = 1,
      gradient_accumulation_steps = 2 }
    local flags = {}
    for i, b in ipairs(m.batches) do
      flags[i] = b[2].accumulate
      assert.are.equal(2, b[2].gradient_accumulation_steps)
    end
    assert.are.same({ true, false, true, false, true }, flags)
  end)

  it("checks its arguments", function()
    local bi = function() return { { 1 } } end
    check.fails_with(function() T.train_model { {}, bi } end, "model must have a do_train_step method")
    check.fails_with(function() T.train_model { counting_model(), 3 } end, "batch_iter must be callable")
    check.fails_with(function() T.train_model { counting_model(), bi, n_epochs = -1 } end, "n_epochs must be an integer >= 0")
    check.fails_with(function() T.train_model { counting_model(), bi, n_epochs = 1, gradient_accumulation_steps = 0 } end,
      "gradient_accumulation_steps must be an integer >= 1")
    check.fails_with(function() T.train_model { counting_model(), bi, n_epochs = 1, checkpoint_every = 1.5 } end,
      "checkpoint_every must be a positive integer")
    check.fails_with(function() T.train_model { counting_model(), function() return 5 end, n_epochs = 1 } end,
      "batch_iter() returned a number")
    local bad = { do_train_step = function() return "lots" end }
    check.fails_with(function() T.train_model { bad, bi, n_epochs = 1 } end,
      "the loss do_train_step returned is a string, expected a number")
  end)

  it("trains a real model end to end with logs and checkpoints (the README's fragment)", function()
    local x, y = data(120)
    dnn.manual_seed(1)
    local model = T.TrainModel { net(), activation = L.Softmax(),
      loss = dnn.losses.SparseCategoricalCrossentropy(), optimizer = dnn.optimizers.Adam }
    local it = T.Infinite { T.load_by_random_id(function(i) return x[i] end, function(i) return y[i] end, { ids = ids(120) }),
      batch_size = 20, n_iters_per_epoch = 12 }
    local dir = tmpdir()
    local function accuracy()
      return (model:do_inf_step(x):argmax(-1) - 1):eq(y):float():mean():item()
    end
    local before = accuracy()
    local r = T.train_model { model, it, n_epochs = 6, lr = 1e-2, log_path = dir .. "/logs",
      checkpoints_path = dir .. "/checkpoints", policies = { T.TrainLossStop() },
      validate = function() return { accuracy = accuracy() } end }
    assert.are.equal(6, r.epochs)
    assert.are.equal(72, r.steps)
    assert.is_true(accuracy() > math.max(before, 0.8), ("%g -> %g"):format(before, accuracy()))
    assert.truthy(io.open(dir .. "/checkpoints/checkpoint.h5"))
    assert.truthy(io.open(dir .. "/checkpoints/checkpoint.prev.h5"))
    local st = dnn.load(dir .. "/checkpoints/checkpoint.h5")
    assert.are.equal(6, st.epoch)
    assert.is_true(st.finished)
    assert.are.equal("Adam", st.model.optimizer_class)
    local n = 0
    for line in io.lines(dir .. "/logs/scalars.csv") do if line:find(",train/loss_step,", 1, true) then n = n + 1 end end
    assert.are.equal(72, n)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
