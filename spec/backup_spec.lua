-- BackupAndRestore: a fit that crashes and is started again ends with the
-- weights of an uninterrupted fit, bit for bit (dropout, shuffling, momentum).
local dnn = require "dnn"
local check = require "support.check"
local L = dnn.layers

local function make_model(seed)
  dnn.manual_seed(seed)
  local m = dnn.Sequential {
    L.Dense { 16, activation = "relu", input_shape = { 6 } },
    L.Dropout { 0.3 },
    L.Dense { 1 },
  }
  m:compile { optimizer = dnn.optimizers.SGD { learning_rate = 0.05, momentum = 0.9 }, loss = "mse" }
  return m
end

local function data()
  dnn.manual_seed(123)
  local x = dnn.randn(96, 6)
  return x, x:sum(2, true) * 0.5
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

describe("BackupAndRestore", function()
  it("resumes a crashed fit exactly where it stopped", function()
    local x, y = data()
    -- the reference: 4 uninterrupted epochs
    local ref = make_model(7)
    dnn.manual_seed(99)
    ref:fit { x = x, y = y, epochs = 4, batch_size = 16, verbose = 0 }
    local want = ref:get_weights()

    local dir = tmpdir()
    -- the same run, crashing in the middle of epoch 3 (index 2)
    local a = make_model(7)
    dnn.manual_seed(99)
    local crash = {}
    function crash.on_epoch_begin(self, e) self.epoch = e end
    function crash.on_train_batch_end(self, batch)
      if self.epoch == 2 and batch == 3 then error("simulated crash") end
    end
    local ok, err = pcall(a.fit, a, { x = x, y = y, epochs = 4, batch_size = 16, verbose = 0,
      callbacks = { dnn.callbacks.BackupAndRestore { dir }, crash } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("simulated crash", 1, true))
    assert.truthy(io.open(dir .. "/backup.h5"), "no backup in " .. dir .. ": " .. tostring(err))

    -- a new process would build a fresh model: different weights, a fresh optimizer
    local b = make_model(12345)
    local epochs = {}
    b:fit { x = x, y = y, epochs = 4, batch_size = 16, verbose = 0,
      callbacks = { dnn.callbacks.BackupAndRestore { dir },
        { on_epoch_begin = function(_, e) epochs[#epochs + 1] = e end } } }
    assert.are.same({ 2, 3 }, epochs)
    local got = b:get_weights()
    for i = 1, #want do assert.is_true(got[i]:equal(want[i]), "weight " .. i .. " differs") end
    assert.is_nil(io.open(dir .. "/backup.h5")) -- a completed run deletes its backup
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("refuses a backup of another architecture and rejects bad arguments", function()
    local x, y = data()
    local dir = tmpdir()
    local a = make_model(1)
    a:fit { x = x, y = y, epochs = 1, verbose = 0,
      callbacks = { dnn.callbacks.BackupAndRestore { dir, delete_checkpoint = false } } }
    local other = dnn.Sequential { L.Dense { 3, input_shape = { 6 } }, L.Dense { 1 } }
    other:compile { optimizer = "sgd", loss = "mse" }
    check.fails_with(function()
      other:fit { x = x, y = y, epochs = 2, verbose = 0, callbacks = { dnn.callbacks.BackupAndRestore { dir } } }
    end, "BackupAndRestore", "does not fit this model")
    os.execute("rm -rf '" .. dir .. "'")
    check.fails_with(function() dnn.callbacks.BackupAndRestore {} end, "backup_dir")
    check.fails_with(function() dnn.callbacks.BackupAndRestore { "d", save_freq = "often" } end, "save_freq")
  end)
end)
