-- ModelCheckpoint writes the files Keras's ModelCheckpoint writes: whole
-- models or weights, named by the filepath template, only improvements with
-- save_best_only, every save_freq batches when asked; the files load back.
local dnn = require "dnn"
local L = dnn.layers
local core = require "dnn.core"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. q(d)))
  return d
end

local function ls(dir)
  local p = assert(io.popen("ls -1 " .. q(dir)))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function make_model(seed)
  dnn.manual_seed(seed)
  local m = dnn.Sequential {
    L.Dense { 8, activation = "relu", input_shape = { 4 }, name = "hidden" },
    L.Dense { 1, name = "out" },
  }
  m:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.01 }, loss = "mse", metrics = { "mae" } }
  return m
end

local function data()
  dnn.manual_seed(3)
  local x = dnn.randn(64, 4)
  return x, x:sum(2, true) * 0.25
end

-- val_loss values chosen by a callback placed before the checkpoint, so the
-- improvements are known in advance
local function forced_val_loss(values)
  return { on_epoch_end = function(_, epoch, logs) logs.val_loss = values[epoch + 1] end }
end

local dir
before_each(function() dir = tmpdir() end)
after_each(function() os.execute("rm -rf " .. q(dir)) end)

describe("ModelCheckpoint", function()
  it("formats the filepath with the 1-based epoch and the logs, one whole-model file per epoch", function()
    local x, y = data()
    local m = make_model(1)
    m:fit { x = x, y = y, epochs = 3, batch_size = 16, verbose = 0, validation_split = 0.25,
      callbacks = { dnn.callbacks.ModelCheckpoint { dir .. "/ckpt-{epoch:02d}-{val_loss:.2f}.h5" } } }
    local files = ls(dir)
    assert.equal(3, #files)
    for i, f in ipairs(files) do
      assert.truthy(f:match(("^ckpt%%-0%d%%-%%d+%%.%%d%%d%%.h5$"):format(i)), f)
    end
    -- the last checkpoint is the final model, whole: architecture, weights, optimizer
    local last = dnn.models.load_model(dir .. "/" .. files[3])
    assert.is_true(last:predict(x, { verbose = 0 }):equal(m:predict(x, { verbose = 0 })))
    assert.equal(m.optimizer.iterations, last.optimizer.iterations)
    local rm, rl = m:evaluate { x = x, y = y, verbose = 0 }, last:evaluate { x = x, y = y, verbose = 0 }
    assert.same({ "loss", "mae" }, last.metrics_names)
    assert.equal(rm.loss, rl.loss)
    assert.equal(rm.mae, rl.mae)
  end)

  it("save_best_only saves only strict improvements of the monitored value (mode min)", function()
    local x, y = data()
    local m = make_model(2)
    local saved = {}
    m:fit { x = x, y = y, epochs = 5, batch_size = 16, verbose = 0,
      callbacks = { forced_val_loss { 0.9, 0.5, 0.7, 0.5, 0.2 },
        { on_epoch_end = function() end },
        dnn.callbacks.ModelCheckpoint { dir .. "/best-{epoch}.h5", monitor = "val_loss", save_best_only = true },
        { on_epoch_end = function(_, e) saved[e + 1] = #ls(dir) end } } }
    assert.same({ 1, 2, 2, 2, 3 }, saved)
    assert.same({ "best-1.h5", "best-2.h5", "best-5.h5" }, ls(dir))
  end)

  it("mode max, and auto picks max for accuracy-like names", function()
    local x, y = data()
    local m = make_model(3)
    local cb_max = dnn.callbacks.ModelCheckpoint { dir .. "/a-{epoch}.h5", monitor = "val_acc", save_best_only = true,
      mode = "max" }
    local cb_auto = dnn.callbacks.ModelCheckpoint { dir .. "/b-{epoch}.h5", monitor = "val_accuracy",
      save_best_only = true }
    assert.equal("max", cb_auto.mode)
    m:fit { x = x, y = y, epochs = 3, batch_size = 32, verbose = 0,
      callbacks = { { on_epoch_end = function(_, e, logs)
        logs.val_acc = ({ 0.5, 0.4, 0.6 })[e + 1]
        logs.val_accuracy = logs.val_acc
      end }, cb_max, cb_auto } }
    assert.same({ "a-1.h5", "a-3.h5", "b-1.h5", "b-3.h5" }, ls(dir))
  end)

  it("save_weights_only writes a weights file that load_weights reads and load_model refuses", function()
    local x, y = data()
    local m = make_model(4)
    m:fit { x = x, y = y, epochs = 2, batch_size = 16, verbose = 0,
      callbacks = { dnn.callbacks.ModelCheckpoint { dir .. "/w.h5", save_weights_only = true } } }
    local f <close> = core.h5.open(dir .. "/w.h5")
    assert.is_nil(f:get_attr("/", "model_config"))
    assert.same({ "hidden", "out" }, f:get_attr("/", "layer_names"))
    local fresh = make_model(99)
    fresh:load_weights(dir .. "/w.h5")
    assert.is_true(fresh:predict(x, { verbose = 0 }):equal(m:predict(x, { verbose = 0 })))
    local ok, err = pcall(dnn.models.load_model, dir .. "/w.h5")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("model:load_weights", 1, true), err)
  end)

  it("save_freq=N saves every N batches, counting across epochs", function()
    local x, y = data()
    local m = make_model(5)
    local n_files = {}
    m:fit { x = x, y = y, epochs = 2, batch_size = 16, verbose = 0, -- 4 batches per epoch
      callbacks = { dnn.callbacks.ModelCheckpoint { dir .. "/s-{epoch}-{batch}.h5", save_freq = 3,
        save_weights_only = true },
        { on_train_batch_end = function() n_files[#n_files + 1] = #ls(dir) end } } }
    assert.same({ 0, 0, 1, 1, 1, 2, 2, 2 }, n_files)
    assert.same({ "s-1-3.h5", "s-2-2.h5" }, ls(dir)) -- {batch}: within the epoch, as Keras
  end)

  it("a later save replaces the file atomically (no temporary left, the old file valid until then)", function()
    local x, y = data()
    local m = make_model(6)
    m:fit { x = x, y = y, epochs = 3, batch_size = 16, verbose = 0,
      callbacks = { dnn.callbacks.ModelCheckpoint { dir .. "/latest.h5" } } }
    assert.same({ "latest.h5" }, ls(dir))
    local again = dnn.models.load_model(dir .. "/latest.h5")
    assert.is_true(again:predict(x, { verbose = 0 }):equal(m:predict(x, { verbose = 0 })))
  end)

  it("warns once when the monitored value is missing, and bad arguments are clear errors", function()
    local x, y = data()
    local m = make_model(7)
    local cb = dnn.callbacks.ModelCheckpoint { dir .. "/m.h5", monitor = "val_nothing", save_best_only = true }
    local tmp = os.tmpname()
    local saved_stderr = io.stderr
    local f = assert(io.open(tmp, "w"))
    io.stderr = f
    local ok, err = pcall(m.fit, m, { x = x, y = y, epochs = 3, batch_size = 32, verbose = 0, callbacks = { cb } })
    io.stderr = saved_stderr
    f:close()
    assert.is_true(ok, err)
    local text = io.open(tmp):read("a")
    os.remove(tmp)
    local _, count = text:gsub("can save best model only with val_nothing available", "")
    assert.equal(1, count, text)
    assert.is_false(exists(dir .. "/m.h5"))

    local bad = { { { 42 }, "filepath must be a string" },
      { { dir .. "/m.h5", mode = "up" }, 'mode must be "auto", "min" or "max"' },
      { { dir .. "/m.h5", save_freq = 0 }, 'save_freq must be "epoch" or a positive number of batches' } }
    for _, c in ipairs(bad) do
      local ok2, e2 = pcall(dnn.callbacks.ModelCheckpoint, c[1])
      assert.is_false(ok2)
      assert.truthy(tostring(e2):find(c[2], 1, true), e2)
    end
    local m2 = make_model(8)
    local ok3, e3 = pcall(m2.fit, m2, { x = x, y = y, epochs = 1, batch_size = 32, verbose = 0,
      callbacks = { dnn.callbacks.ModelCheckpoint { dir .. "/c-{val_los:.2f}.h5" } } })
    assert.is_false(ok3)
    assert.truthy(tostring(e3):find("filepath field {val_los} is not in the logs", 1, true), e3)
  end)
end)
