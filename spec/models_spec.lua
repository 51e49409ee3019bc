-- Keras-style models: Sequential, functional and subclassed models, summary,
-- weights, compile/fit/evaluate/predict with Keras's semantics.
local dnn = require "dnn"
local check = require "support.check"
local L = dnn.layers

local function quiet(t)
  t.verbose = 0
  return t
end

-- A learnable regression problem.
local function regression(n, seed)
  dnn.manual_seed(seed or 0)
  local x = dnn.randn(n, 4)
  local y = x:matmul(dnn.tensor { { 1.0 }, { -2.0 }, { 0.5 }, { 3.0 } }) + 0.5
  return x, y
end

describe("models", function()
  before_each(function() L.reset_names() end)

  it("Sequential builds from input_shape, chains layers, and summarises like Keras", function()
    local m = dnn.Sequential {
      L.Dense { 256, activation = "relu", input_shape = { 784 } },
      L.Dropout { 0.2 },
      L.Dense { 10, activation = "softmax" },
    }
    assert.is_true(m.built)
    assert.equal(3, #m.layers)
    assert.equal(203530, m:count_params())
    local text = m:summary { return_string = true }
    for _, want in ipairs({ 'Model: "sequential"', "Layer (type)", "Output Shape", "Param #",
      "dense (Dense)", "(None, 256)", "200960", "dropout (Dropout)", "(None, 10)", "2570",
      "Total params: 203530", "Trainable params: 203530", "Non-trainable params: 0" }) do
      assert.truthy(text:find(want, 1, true), want .. " missing in\n" .. text)
    end
    local y = m(dnn.rand(3, 784))
    check.close(y:sum(2), dnn.ones(3), 1e-5)
    local m2 = dnn.Sequential()
    m2:add(L.Dense { 2 })
    assert.equal(1, #m2.layers)
  end)

  it("the functional API with several inputs and outputs", function()
    local a, b = dnn.Input { shape = { 4 } }, dnn.Input { shape = { 3 } }
    local merged = L.Concatenate()({ L.Dense { 2, name = "da" }(a), b })
    local out1 = L.Dense { 1, name = "o1" }(merged)
    local out2 = L.Dense { 2, name = "o2" }(merged)
    local m = dnn.Model { inputs = { a, b }, outputs = { out1, out2 } }
    local r = m({ dnn.rand(5, 4), dnn.rand(5, 3) })
    assert.are.same({ 5, 1 }, r[1]:size())
    assert.are.same({ 5, 2 }, r[2]:size())
    assert.equal("da", m:get_layer("da").name)
    assert.are.same({ "o1", "o2" }, m.output_names)
    check.fails_with(function() m(dnn.rand(5, 4)) end, "2 inputs")
    check.fails_with(function() m({ dnn.rand(5, 5), dnn.rand(5, 3) }) end, "input 1", "[5,5]", "(None, 4)")
    check.fails_with(function() m:get_layer("nope") end, "no layer named 'nope'")
  end)

  it("subclassed models track their layers", function()
    local My = dnn.Model:extend("MyModel")
    function My:init(opts)
      dnn.Model.init(self, opts)
      self.d1 = L.Dense { 8, activation = "relu" }
      self.d2 = L.Dense { 2 }
    end
    function My:call(x) return self.d2(self.d1(x)) end
    local m = My {}
    assert.equal("my_model", m.name)
    assert.are.same({ 3, 2 }, m(dnn.rand(3, 5)):size())
    assert.equal(2, #m.layers)
    assert.equal(4, #m.trainable_variables)
    assert.equal(4, #m:trainable_variables())
  end)

  it("calling a model records gradients like any op", function()
    local m = dnn.Sequential { L.Dense { 3, input_shape = { 2 } } }
    local loss = m(dnn.rand(4, 2), { training = true }):sum()
    loss:backward()
    assert.are.same({ 2, 3 }, m.layers[1].kernel.grad:size())
  end)

  it("get_weights / set_weights move a model's weights", function()
    local m1 = dnn.Sequential { L.Dense { 3, input_shape = { 2 } }, L.Dense { 1 } }
    local m2 = dnn.Sequential { L.Dense { 3, input_shape = { 2 } }, L.Dense { 1 } }
    m2:set_weights(m1:get_weights())
    local x = dnn.rand(5, 2)
    assert.is_true(m1(x):equal(m2(x)))
    check.fails_with(function() m2:set_weights({}) end, "set_weights", "0 weights")
  end)

  it("fit trains and returns a History; evaluate and predict follow", function()
    local x, y = regression(512)
    local m = dnn.Sequential { L.Dense { 16, activation = "relu", input_shape = { 4 } }, L.Dense { 1 } }
    m:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.01 }, loss = "mse", metrics = { "mae" } }
    local h = m:fit(quiet { x = x, y = y, epochs = 20, batch_size = 32, validation_split = 0.25 })
    assert.equal(20, #h.history.loss)
    assert.equal(20, #h.history.val_loss)
    assert.equal(20, #h.history.mae)
    assert.is_true(h.history.loss[20] < h.history.loss[1] / 5)
    local r = m:evaluate(quiet { x = x, y = y })
    assert.is_number(r.loss)
    assert.equal(r.loss, r[1])
    assert.equal(r.mae, r[2])
    assert.are.same({ 512, 1 }, m:predict(quiet { x = x, batch_size = 100 }):size())
    assert.are.same({ 3, 1 }, m:predict_on_batch(x:narrow(1, 1, 3)):size())
    local tb = m:train_on_batch(x:narrow(1, 1, 32), y:narrow(1, 1, 32))
    assert.is_number(tb.loss)
    assert.is_number(m:test_on_batch(x:narrow(1, 1, 32), y:narrow(1, 1, 32)).loss)
  end)

  it("resolves 'accuracy' by the loss, as Keras does", function()
    local x = dnn.rand(64, 4)
    local labels = x:argmax(2) - 1
    local m = dnn.Sequential { L.Dense { 4, activation = "softmax", input_shape = { 4 } } }
    m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
    local r = m:evaluate(quiet { x = x, y = labels })
    assert.is_number(r.accuracy)
    assert.are.same({ "loss", "accuracy" }, m.metrics_names)
    local b = dnn.Sequential { L.Dense { 1, activation = "sigmoid", input_shape = { 4 } } }
    b:compile { optimizer = "adam", loss = "binary_crossentropy", metrics = { "acc" } }
    assert.is_number(b:evaluate(quiet { x = x, y = labels:gt(1):float():view(-1, 1) }).acc)
  end)

  it("validation_split takes the last fraction before shuffling", function()
    local x = dnn.arange(100):float():view(100, 1)
    local y = x * 2
    local seen = {}
    local m = dnn.Sequential { L.Dense { 1, input_shape = { 1 } } }
    m:compile { optimizer = "sgd", loss = "mse" }
    local spy = { on_epoch_end = function(cb) seen.val = cb.model.validation_data end }
    m:fit(quiet { x = x, y = y, epochs = 1, validation_split = 0.2, callbacks = { spy } })
    assert.are.same({ 20, 1 }, seen.val.x:size())
    assert.equal(80, seen.val.x[1][1])
    assert.equal(99, seen.val.x[20][1])
  end)

  it("calls callbacks in Keras's order with 0-based epochs and batches", function()
    local x, y = regression(40)
    local m = dnn.Sequential { L.Dense { 1, input_shape = { 4 } } }
    m:compile { optimizer = "sgd", loss = "mse" }
    local events = {}
    local cb = {}
    for _, hook in ipairs({ "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
      "on_test_begin", "on_test_end", "on_epoch_end", "on_train_end" }) do
      cb[hook] = function(_, a, logs)
        local tag = hook
        if type(a) == "number" then tag = tag .. " " .. a end
        events[#events + 1] = tag
        if hook == "on_epoch_end" then events.last_logs = logs end
      end
    end
    m:fit(quiet { x = x, y = y, epochs = 2, batch_size = 20, initial_epoch = 0, callbacks = { cb },
      validation_data = { x, y } })
    assert.are.same({ "on_train_begin", "on_epoch_begin 0", "on_train_batch_begin 0", "on_train_batch_end 0",
      "on_train_batch_begin 1", "on_train_batch_end 1", "on_epoch_end 0", "on_epoch_begin 1",
      "on_train_batch_begin 0", "on_train_batch_end 0", "on_train_batch_begin 1", "on_train_batch_end 1",
      "on_epoch_end 1", "on_train_end" }, { table.unpack(events) })
    assert.is_number(events.last_logs.loss)
    assert.is_number(events.last_logs.val_loss)
  end)

  it("initial_epoch, steps_per_epoch and validation_freq", function()
    local x, y = regression(100)
    local m = dnn.Sequential { L.Dense { 1, input_shape = { 4 } } }
    m:compile { optimizer = "sgd", loss = "mse" }
    local epochs, batches = {}, 0
    local cb = { on_epoch_begin = function(_, e) epochs[#epochs + 1] = e end,
      on_train_batch_end = function() batches = batches + 1 end }
    local h = m:fit(quiet { x = x, y = y, epochs = 4, initial_epoch = 2, steps_per_epoch = 3, batch_size = 10,
      callbacks = { cb }, validation_data = { x, y }, validation_freq = 2 })
    assert.are.same({ 2, 3 }, epochs)
    assert.equal(6, batches)
    assert.are.same({ 2, 3 }, h.epoch)
    assert.equal(1, #h.history.val_loss) -- only epoch index 3 (the 4th) validates
  end)

  it("class_weight and sample_weight weigh the loss", function()
    local x = dnn.randn(8, 2)
    local y = dnn.tensor { 0, 1, 0, 1, 0, 1, 0, 1 }
    local m = dnn.Sequential { L.Dense { 2, input_shape = { 2 } } }
    m:compile { optimizer = "sgd", loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true } }
    local base = m:test_on_batch(x, y).loss
    local per = dnn.losses.sparse_categorical_crossentropy(y, m(x), { from_logits = true })
    local w = dnn.tensor { 1.0, 3.0, 1.0, 3.0, 1.0, 3.0, 1.0, 3.0 }
    check.close({ m:test_on_batch(x, y, w).loss }, { (per * w):sum():item() / 8 }, 1e-5)
    check.close({ base }, { per:mean():item() }, 1e-5)
    local before = m:get_weights()
    m:train_on_batch { x, y, class_weight = { [0] = 1.0, [1] = 0.0 } }
    assert.is_false(m:get_weights()[1]:equal(before[1]))
  end)

  it("compute_class_weight('balanced') follows scikit-learn", function()
    check.close(dnn.utils.compute_class_weight("balanced", { 0, 1 }, dnn.tensor { 1, 1, 1, 1, 0, 0 }), { 1.5, 0.75 }, 1e-12)
  end)

  it("a subclass's train_step drives fit (the custom train_step seed)", function()
    local CustomModel = dnn.Model:extend("CustomModel")
    local calls = 0
    function CustomModel:train_step(data)
      calls = calls + 1
      local x, y = data[1], data[2]
      local tape = dnn.GradientTape()
      local y_pred = self(x, { training = true })
      local loss = self:compute_loss(x, y, y_pred)
      local grads = tape:gradient(loss, self.trainable_variables)
      self.optimizer:apply_gradients(grads, self.trainable_variables)
      self.compiled_metrics:update_state(y, y_pred)
      return self:metrics_result()
    end
    local x, y = regression(100)
    local inputs = dnn.Input { shape = { 4 } }
    local outputs = L.Dense { 1 }(L.Dense { 32, activation = "relu" }(inputs))
    local model = CustomModel { inputs = inputs, outputs = outputs }
    model:compile { optimizer = "adam", loss = "mse", metrics = { "mae" } }
    local h = model:fit(quiet { x = x, y = y, epochs = 5, batch_size = 50 })
    assert.equal(10, calls)
    assert.equal(5, #h.history.mae)
    assert.is_true(h.history.loss[5] < h.history.loss[1])
  end)

  it("fit, evaluate and predict take Sequences", function()
    local x, y = regression(96)
    local seq = dnn.data.from_tensors { x, y, batch_size = 16, shuffle = true, seed = 1 }
    local m = dnn.Sequential { L.Dense { 1, input_shape = { 4 } } }
    m:compile { optimizer = dnn.optimizers.SGD { learning_rate = 0.05 }, loss = "mse" }
    local h = m:fit(quiet { x = seq, epochs = 3, validation_data = seq })
    assert.equal(3, #h.history.val_loss)
    assert.is_true(h.history.loss[3] < h.history.loss[1])
    assert.is_number(m:evaluate(quiet { x = seq }).loss)
    local Xonly = dnn.data.Sequence:extend("Xonly")
    function Xonly:len() return 2 end
    function Xonly:get(i) return x:narrow(1, (i - 1) * 10 + 1, 10) end
    assert.are.same({ 20, 1 }, m:predict(quiet { x = Xonly() }):size())
    check.fails_with(function() m:fit(quiet { x = seq, y = y }) end, "y must not be given")
  end)

  it("multi-output models with loss_weights and per-output metrics", function()
    local x, y = regression(64)
    local inp = dnn.Input { shape = { 4 } }
    local h = L.Dense { 8, activation = "relu" }(inp)
    local a = L.Dense { 1, name = "a" }(h)
    local b = L.Dense { 1, name = "b" }(h)
    local m = dnn.Model { inputs = inp, outputs = { a, b } }
    m:compile { optimizer = "adam", loss = { "mse", "mae" }, loss_weights = { 1.0, 0.5 }, metrics = { "mae" } }
    local hist = m:fit(quiet { x = x, y = { y, y * 2 }, epochs = 2, batch_size = 16 })
    for _, k in ipairs({ "loss", "a_loss", "b_loss", "a_mae", "b_mae" }) do
      assert.equal(2, #hist.history[k], k)
    end
    local r = m:evaluate(quiet { x = x, y = { y, y * 2 } })
    check.close({ r.loss }, { r.a_loss + 0.5 * r.b_loss }, 1e-5)
  end)

  it("rejects misuse clearly", function()
    local m = dnn.Sequential { L.Dense { 1, input_shape = { 4 } } }
    check.fails_with(function() m:fit { x = dnn.zeros(4, 4), y = dnn.zeros(4, 1) } end, "compiled first")
    m:compile { optimizer = "sgd", loss = "mse" }
    check.fails_with(function() m:fit(quiet { x = dnn.zeros(4, 4), y = dnn.zeros(5, 1) }) end, "4 samples", "5")
    check.fails_with(function() m:compile { optimizer = "nope", loss = "mse" } end, "nope")
    check.fails_with(function() m:compile { optimizer = "sgd", loss = "nope" } end, "unknown loss 'nope'")
    check.fails_with(function() m:fit(quiet { x = dnn.zeros(4, 4), y = dnn.zeros(4, 1), epochs = 0 }) end, "epochs")
    check.fails_with(function() m:fit(quiet { x = dnn.zeros(4, 4), y = dnn.zeros(4, 1), validation_split = 2 }) end,
      "validation_split")
    check.fails_with(function() m:fit(quiet { x = dnn.zeros(4, 4), y = dnn.zeros(4, 1), bogus = 1 }) end,
      "unknown argument 'bogus'")
    check.fails_with(function() dnn.Model { inputs = dnn.zeros(2) , outputs = dnn.zeros(2) } end, "symbolic tensor")
  end)
end)
