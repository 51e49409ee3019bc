-- Keras's built-in callbacks (dnn.callbacks), driven standalone: hooks called
-- in fit's order (REFERENCE.md "fit / compile") with made-up logs and a fake
-- model table, asserting Keras's rules (keras/callbacks.py): EarlyStopping's
-- wait/patience/baseline/start_from_epoch/restore, ReduceLROnPlateau's
-- cooldown and min_lr, CSVLogger's file, ProgbarLogger's text, messages.
local dnn = require "dnn"
require "dnn.callbacks"
local C = dnn.callbacks

-- ------------------------------------------------------------------ helpers

local function fake_model(lr)
  local m = { stop_training = false, optimizer = { learning_rate = lr or 0.1 }, w = -1, restored = nil }
  function m:get_weights() return { self.w } end
  function m:set_weights(list) self.w, self.restored = list[1], list[1] end
  return m
end

local function sink()
  local out = {}
  return out, function(s) out[#out + 1] = s end
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- fit's hook order: the model's weights become the epoch number during each
-- epoch, so a snapshot tells which epoch it came from.  Returns the number
-- of epochs run.
local function fit(callbacks, model, epoch_logs, opts)
  opts = opts or {}
  local steps = opts.steps or 2
  local list = C.CallbackList(callbacks, { model = model,
    params = { epochs = #epoch_logs, steps = steps, verbose = opts.verbose or 1 } })
  local run = 0
  list:call("on_train_begin", {})
  for e, logs in ipairs(epoch_logs) do
    list:call("on_epoch_begin", e - 1, {})
    for b = 0, steps - 1 do
      list:call("on_train_batch_begin", b, {})
      model.w = e - 1
      list:call("on_train_batch_end", b, { loss = logs.loss or 1.0 })
    end
    run = e
    list:call("on_epoch_end", e - 1, copy(logs))
    if model.stop_training then break end
  end
  list:call("on_train_end", {})
  return run
end

local function losses(values, name)
  local out = {}
  for i, v in ipairs(values) do out[i] = { [name or "val_loss"] = v, loss = 1.0 } end
  return out
end

local function err(f)
  local ok, e = pcall(f)
  assert.is_false(ok)
  return tostring(e)
end

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".csv"
end

local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("a")
  f:close()
  return s
end

-- ------------------------------------------------------------------ module

describe("dnn.callbacks", function()
  it("holds the Keras callbacks, all subclasses of Callback", function()
    for _, name in ipairs({ "History", "ProgbarLogger", "EarlyStopping", "ReduceLROnPlateau",
      "LearningRateScheduler", "TerminateOnNaN", "CSVLogger", "LambdaCallback" }) do
      assert.is_true(require("dnn.class").is_subclass(C[name], C.Callback), name)
    end
    assert.equal(C, require "dnn.callbacks")
  end)

  it("keeps entries another file put in dnn.callbacks before it loaded", function()
    package.loaded["dnn.callbacks"] = nil
    local keep = C
    dnn.callbacks = { base_callbacks = "from dss" }
    local M = require "dnn.callbacks"
    assert.equal("from dss", M.base_callbacks)
    assert.equal(M, dnn.callbacks)
    assert.is_not_nil(M.EarlyStopping)
    package.loaded["dnn.callbacks"], dnn.callbacks = keep, keep
  end)

  it("takes both call spellings", function()
    local a = C.EarlyStopping{ monitor = "loss", patience = 2, restore_best_weights = true }
    local b = C.EarlyStopping("loss", { patience = 2, restore_best_weights = true })
    local c = C.EarlyStopping{ "loss", 0, 2 } -- monitor, min_delta, patience by position
    for _, cb in ipairs({ a, b, c }) do
      assert.equal("loss", cb.monitor)
      assert.equal(2, cb.patience)
    end
    assert.is_true(b.restore_best_weights)
    local r = C.ReduceLROnPlateau("val_loss", { factor = 0.5 })
    assert.equal(0.5, r.factor)
    assert.equal("x.csv", C.CSVLogger{ "x.csv", append = true }.filename)
  end)
end)

-- ------------------------------------------------------------------ History

describe("History", function()
  it("records each epoch's logs per name and the epoch numbers; sets model.history", function()
    local h = C.History()
    assert.is_false(h.interrupted)
    local m = fake_model()
    fit({ h }, m, { { loss = 0.9, val_loss = 1.0 }, { loss = 0.7, val_loss = 0.8 }, { loss = 0.5, val_loss = 0.9 } })
    assert.same({ 0.9, 0.7, 0.5 }, h.history.loss)
    assert.same({ 1.0, 0.8, 0.9 }, h.history.val_loss)
    assert.same({ 0, 1, 2 }, h.epoch)
    assert.equal(h, m.history)
  end)

  it("restarts epoch at train begin but keeps history, as Keras", function()
    local h = C.History()
    local m = fake_model()
    fit({ h }, m, { { loss = 1 } })
    fit({ h }, m, { { loss = 2 } })
    assert.same({ 0 }, h.epoch)
    assert.same({ 1, 2 }, h.history.loss)
  end)
end)

-- ------------------------------------------------------------------ EarlyStopping

describe("EarlyStopping", function()
  it("stops when wait reaches patience without improvement", function()
    local out, w = sink()
    local es = C.EarlyStopping{ patience = 2, verbose = 1, out = w }
    local m = fake_model()
    -- 1.0 best, 0.9 best, 0.95 wait 1, 0.92 wait 2 -> stop at epoch 3
    assert.equal(4, fit({ es }, m, losses({ 1.0, 0.9, 0.95, 0.92, 0.93, 0.5 })))
    assert.is_true(m.stop_training)
    assert.equal(3, es.stopped_epoch)
    assert.equal(0.9, es.best)
    assert.equal(2, es.wait)
    assert.same({ "Epoch 4: early stopping\n" }, out)
  end)

  it("with patience 0 stops at the first epoch without improvement, never at epoch 0", function()
    local es = C.EarlyStopping{ monitor = "loss" }
    local m = fake_model()
    assert.equal(2, fit({ es }, m, { { loss = 1.0 }, { loss = 1.0 } }))
    assert.equal(1, es.stopped_epoch)
    -- a missing best (first epoch) is always an improvement: no stop at epoch 0
    local m2 = fake_model()
    assert.equal(1, fit({ C.EarlyStopping{ monitor = "loss" } }, m2, { { loss = 5 } }))
    assert.is_false(m2.stop_training)
  end)

  it("needs an improvement larger than min_delta", function()
    local es = C.EarlyStopping{ min_delta = -0.1, patience = 2 } -- the sign is ignored
    local m = fake_model()
    -- 1.0 best; 0.95 is not 0.1 better (wait 1); 0.85 is (best, wait 0); 0.84 not (wait 1)
    assert.equal(4, fit({ es }, m, losses({ 1.0, 0.95, 0.85, 0.84 })))
    assert.is_false(m.stop_training)
    assert.equal(0.85, es.best)
    assert.equal(1, es.wait)
  end)

  it("maximises names ending in acc/accuracy/auc in mode auto, or with mode max", function()
    local es = C.EarlyStopping{ monitor = "val_accuracy", patience = 1 }
    local m = fake_model()
    -- 0.5 best, 0.6 best, 0.6 is not greater: wait 1 -> stop at epoch 2
    assert.equal(3, fit({ es }, m, losses({ 0.5, 0.6, 0.6, 0.7 }, "val_accuracy")))
    assert.equal(0.6, es.best)
    local es2 = C.EarlyStopping{ monitor = "score", mode = "max", patience = 1 }
    assert.equal(2, fit({ es2 }, fake_model(), losses({ 3, 2, 4 }, "score")))
    local es3 = C.EarlyStopping{ monitor = "val_accuracy", mode = "min", patience = 1 }
    assert.equal(3, fit({ es3 }, fake_model(), losses({ 0.5, 0.4, 0.6 }, "val_accuracy")))
  end)

  it("decides auto's direction by name, DSS's Test names included", function()
    local mode = C.EarlyStopping.auto_mode
    for _, n in ipairs({ "acc", "val_acc", "accuracy", "val_sparse_categorical_accuracy", "auc", "val_auc",
      "Test ROC AUC", "Test Accuracy", "Test Precision", "Test Recall", "Test F1 Score", "Test R2 Score",
      "Test EVS", "Test Cost Matrix Gain", "Test Cumulative Lift", "Test Average Precision",
      "val_precision", "recall_1" }) do
      assert.equal("max", mode(n), n)
    end
    for _, n in ipairs({ "loss", "val_loss", "mae", "val_mse", "Test Log Loss", "Test MAE", "Test RMSLE",
      "Test MAPE", "lr" }) do
      assert.equal("min", mode(n), n)
    end
    assert.is_nil(mode("Test Custom Score"))
    assert.equal("max", C.EarlyStopping{ monitor = "Test ROC AUC" }.direction)
  end)

  it("restarts wait only when the baseline is beaten too", function()
    -- 0.8 is a new best but not under the baseline 0.5: wait stays 1; 0.9
    -- makes it 2 = patience -> stop at epoch 1
    local es = C.EarlyStopping{ baseline = 0.5, patience = 2 }
    local m = fake_model()
    assert.equal(2, fit({ es }, m, losses({ 0.8, 0.9, 0.1 })))
    assert.equal(1, es.stopped_epoch)
    -- the same values without a baseline run on
    assert.equal(3, fit({ C.EarlyStopping{ patience = 2 } }, fake_model(), losses({ 0.8, 0.9, 0.1 })))
    -- beating the baseline restarts wait: 0.4 (wait 0), 0.45 (1), 0.46 (2) -> stop at 2
    local es2 = C.EarlyStopping{ baseline = 0.5, patience = 2 }
    assert.equal(3, fit({ es2 }, fake_model(), losses({ 0.4, 0.45, 0.46, 0.47 })))
    assert.equal(2, es2.stopped_epoch)
  end)

  it("ignores the epochs before start_from_epoch", function()
    local es = C.EarlyStopping{ start_from_epoch = 2 }
    local m = fake_model()
    -- epochs 0 and 1 are ignored though worse; 3.0 is the first best; 4.0 stops
    assert.equal(4, fit({ es }, m, losses({ 1.0, 2.0, 3.0, 4.0, 5.0 })))
    assert.equal(3, es.stopped_epoch)
    assert.equal(3.0, es.best)
  end)

  it("restores the best epoch's weights at train end (stopped early or not)", function()
    local out, w = sink()
    local es = C.EarlyStopping{ patience = 2, restore_best_weights = true, verbose = 1, out = w }
    local m = fake_model()
    assert.equal(4, fit({ es }, m, losses({ 0.5, 0.3, 0.4, 0.45, 0.1 })))
    assert.equal(1, m.restored) -- weights of epoch 1 (val_loss 0.3)
    assert.equal(1, m.w)
    assert.same({ "Epoch 4: early stopping\n", "Restoring model weights from the end of the best epoch: 2.\n" }, out)
    -- not stopped: Keras 3 restores anyway
    local m2 = fake_model()
    local es2 = C.EarlyStopping{ patience = 5, restore_best_weights = true }
    assert.equal(3, fit({ es2 }, m2, losses({ 0.5, 0.4, 0.6 })))
    assert.equal(1, m2.restored)
    -- without restore_best_weights the last weights stay
    local m3 = fake_model()
    fit({ C.EarlyStopping{ patience = 5 } }, m3, losses({ 0.5, 0.4, 0.6 }))
    assert.is_nil(m3.restored)
    assert.equal(2, m3.w)
  end)

  it("resets its state at each train begin", function()
    local es = C.EarlyStopping{ patience = 0 }
    fit({ es }, fake_model(), losses({ 0.5, 0.6 }))
    assert.equal(1, es.stopped_epoch)
    local m = fake_model()
    assert.equal(2, fit({ es }, m, losses({ 0.9, 0.8 })))
    assert.equal(0, es.stopped_epoch)
    assert.equal(0.8, es.best)
  end)

  it("warns once when the monitored value is missing, listing the names there", function()
    local out, w = sink()
    local es = C.EarlyStopping{ monitor = "val_loss", out = w }
    local m = fake_model()
    assert.equal(3, fit({ es }, m, { { loss = 1, accuracy = 0.5 }, { loss = 2, accuracy = 0.5 }, { loss = 3, accuracy = 0.5 } }))
    assert.is_false(m.stop_training)
    assert.same({ "WARNING: Early stopping conditioned on metric `val_loss` which is not available. "
      .. "Available metrics are: loss,accuracy\n" }, out)
  end)
end)

-- ------------------------------------------------------------------ ReduceLROnPlateau

describe("ReduceLROnPlateau", function()
  it("multiplies the rate after patience bad epochs, then cools down, never below min_lr", function()
    local out, w = sink()
    local r = C.ReduceLROnPlateau{ factor = 0.5, patience = 2, cooldown = 1, min_lr = 0.02, verbose = 1, out = w }
    local m = fake_model(0.1)
    local h = C.History()
    fit({ r, h }, m, losses({ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }))
    -- epoch 0 best; 1 wait 1; 2 wait 2 -> 0.05, cooldown 1; 3 cooldown ends, wait 1;
    -- 4 -> 0.025; 5 wait 1; 6 -> max(0.0125, 0.02); 7 wait 1; 8 at min_lr: no change
    assert.same({ 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02 }, h.history.learning_rate)
    assert.equal(0.02, m.optimizer.learning_rate)
    assert.same({ "\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.05.\n",
      "\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.025.\n",
      "\nEpoch 7: ReduceLROnPlateau reducing learning rate to 0.02.\n" }, out)
  end)

  it("counts an epoch as better only when it beats best by min_delta", function()
    local r = C.ReduceLROnPlateau{ patience = 1, min_delta = 0.01 }
    local m = fake_model(1.0)
    fit({ r }, m, losses({ 1.0, 0.995 }))
    assert.equal(0.1, m.optimizer.learning_rate)
    assert.equal(1.0, r.best)
    local m2 = fake_model(1.0)
    fit({ C.ReduceLROnPlateau{ patience = 1, min_delta = 0.01 } }, m2, losses({ 1.0, 0.98 }))
    assert.equal(1.0, m2.optimizer.learning_rate)
  end)

  it("keeps wait at zero during cooldown", function()
    local r = C.ReduceLROnPlateau{ patience = 1, cooldown = 2, factor = 0.5 }
    local m = fake_model(1.0)
    local h = C.History()
    -- 0 best; 1 -> 0.5, cooldown 2; 2 and 3 in cooldown (wait 0, counter 1 then 0);
    -- 3: counter reaches 0 and wait 1 = patience -> 0.25
    fit({ r, h }, m, losses({ 1, 1, 1, 1, 1 }))
    assert.same({ 1.0, 1.0, 0.5, 0.5, 0.25 }, h.history.learning_rate)
  end)

  it("maximises names containing acc in mode auto", function()
    local r = C.ReduceLROnPlateau{ monitor = "val_acc_top5", patience = 1 }
    assert.equal("max", r.direction)
    local m = fake_model(1.0)
    fit({ r }, m, losses({ 0.5, 0.6, 0.7 }, "val_acc_top5"))
    assert.equal(1.0, m.optimizer.learning_rate)
  end)

  it("cannot set a schedule's learning rate", function()
    local m = fake_model()
    m.optimizer.learning_rate = { schedule = true }
    assert.matches("ReduceLROnPlateau: the optimizer's learning_rate is a schedule, so it cannot be set",
      err(function() fit({ C.ReduceLROnPlateau{ patience = 0 } }, m, losses({ 1, 1 })) end))
  end)
end)

-- ------------------------------------------------------------------ LearningRateScheduler

describe("LearningRateScheduler", function()
  it("sets schedule(epoch, lr) at each epoch begin and logs learning_rate", function()
    local out, w = sink()
    local seen = {}
    local s = C.LearningRateScheduler(function(epoch, lr)
      seen[#seen + 1] = { epoch, lr }
      if epoch < 1 then return lr end
      return lr * 0.5
    end, { verbose = 1, out = w })
    local m = fake_model(0.1)
    local h = C.History()
    fit({ s, h }, m, losses({ 1, 1, 1 }))
    assert.same({ { 0, 0.1 }, { 1, 0.1 }, { 2, 0.05 } }, seen)
    assert.same({ 0.1, 0.05, 0.025 }, h.history.learning_rate)
    assert.same({ "\nEpoch 1: LearningRateScheduler setting learning rate to 0.1.\n",
      "\nEpoch 2: LearningRateScheduler setting learning rate to 0.05.\n",
      "\nEpoch 3: LearningRateScheduler setting learning rate to 0.025.\n" }, out)
  end)

  it("accepts schedule(epoch) and integer results", function()
    local rates = { 1, 0.5, 0.25 }
    local m = fake_model(0.1)
    local h = C.History()
    fit({ C.LearningRateScheduler{ function(epoch) return rates[epoch + 1] end }, h }, m, losses({ 1, 1, 1 }))
    assert.same({ 1.0, 0.5, 0.25 }, h.history.learning_rate)
    assert.equal("float", math.type(h.history.learning_rate[1]))
  end)

  it("rejects a schedule result that is not a rate", function()
    local m = fake_model(0.1)
    assert.equal("LearningRateScheduler.on_epoch_begin: LearningRateScheduler: schedule(0, 0.1) returned string; "
      .. "it must return a number (the learning rate)",
      err(function() fit({ C.LearningRateScheduler(function() return "fast" end) }, m, losses({ 1 })) end))
    assert.equal("LearningRateScheduler.on_epoch_begin: LearningRateScheduler: schedule(0, 0.1) returned nan; "
      .. "the learning rate must be finite and >= 0",
      err(function() fit({ C.LearningRateScheduler(function() return 0 / 0 end) }, m, losses({ 1 })) end))
  end)
end)

-- ------------------------------------------------------------------ TerminateOnNaN

describe("TerminateOnNaN", function()
  it("stops after a batch whose loss is NaN or infinite, with Keras's message", function()
    for _, bad in ipairs({ 0 / 0, math.huge, -math.huge }) do
      local out, w = sink()
      local t = C.TerminateOnNaN{ out = w }
      local m = fake_model()
      t:set_model(m)
      t:on_train_batch_end(0, { loss = 0.5 })
      assert.is_false(m.stop_training)
      t:on_train_batch_end(7, { loss = bad })
      assert.is_true(m.stop_training)
      assert.same({ "Batch 7: Invalid loss, terminating training\n" }, out)
    end
  end)

  it("ignores logs without a loss", function()
    local t = C.TerminateOnNaN()
    local m = fake_model()
    t:set_model(m)
    t:on_train_batch_end(0, { accuracy = 0 / 0 })
    t:on_train_batch_end(1, nil)
    assert.is_false(m.stop_training)
  end)
end)

-- ------------------------------------------------------------------ CSVLogger

describe("CSVLogger", function()
  it("writes epoch then the sorted names, NA for missing values, Python's numbers", function()
    local path = tmpname()
    local c = C.CSVLogger(path)
    local m = fake_model()
    fit({ c }, m, { { loss = 0.5, accuracy = 0.25, val_loss = 0.75, val_accuracy = 0.1 },
      { loss = 0.1 * 0.1, accuracy = 1, val_loss = 1e-5 } })
    assert.equal("epoch,accuracy,loss,val_accuracy,val_loss\n"
      .. "0,0.25,0.5,0.1,0.75\n"
      .. "1,1,0.010000000000000002,NA,1e-05\n", read(path))
    os.remove(path)
  end)

  it("adds val_ columns when the first epoch had no validation", function()
    local path = tmpname()
    fit({ C.CSVLogger(path) }, fake_model(), { { loss = 2.0 }, { loss = 1.0, val_loss = 1.5 } })
    assert.equal("epoch,loss,val_loss\n0,2.0,NA\n1,1.0,1.5\n", read(path))
    os.remove(path)
  end)

  it("flushes each epoch", function()
    local path = tmpname()
    local c = C.CSVLogger(path)
    c:set_model(fake_model())
    c:on_train_begin({})
    c:on_epoch_end(0, { loss = 3.0 })
    assert.equal("epoch,loss,val_loss\n0,3.0,NA\n", read(path))
    c:on_train_end({})
    os.remove(path)
  end)

  it("appends without a second header, and writes one to an empty file", function()
    local path = tmpname()
    fit({ C.CSVLogger(path, { append = true }) }, fake_model(), { { loss = 1.0 } })
    fit({ C.CSVLogger(path, { append = true }) }, fake_model(), { { loss = 0.5 } })
    assert.equal("epoch,loss,val_loss\n0,1.0,NA\n0,0.5,NA\n", read(path))
    -- append=false truncates
    fit({ C.CSVLogger(path) }, fake_model(), { { loss = 0.25 } })
    assert.equal("epoch,loss,val_loss\n0,0.25,NA\n", read(path))
    local f = assert(io.open(path, "w"))
    f:close()
    fit({ C.CSVLogger(path, { append = true }) }, fake_model(), { { loss = 2.0 } })
    assert.equal("epoch,loss,val_loss\n0,2.0,NA\n", read(path))
    os.remove(path)
  end)

  it("uses the separator and quotes fields as Python's csv does", function()
    local path = tmpname()
    fit({ C.CSVLogger{ path, separator = " " } }, fake_model(),
      { { ["Test ROC AUC"] = 0.75, loss = 0.5, val_loss = 0.625 } })
    assert.equal('epoch "Test ROC AUC" loss val_loss\n0 0.75 0.5 0.625\n', read(path))
    os.remove(path)
  end)

  it("names the file it cannot open", function()
    local c = C.CSVLogger("/nonexistent-dir/x.csv")
    assert.matches("^CSVLogger: cannot open '/nonexistent%-dir/x%.csv' for writing: ",
      err(function() c:on_train_begin() end))
  end)
end)

-- ------------------------------------------------------------------ LambdaCallback

describe("LambdaCallback", function()
  it("calls the given functions with the hooks' arguments, without self", function()
    local calls = {}
    local cb = C.LambdaCallback{
      on_train_begin = function(logs) calls[#calls + 1] = "train_begin" .. type(logs) end,
      on_epoch_begin = function(epoch) calls[#calls + 1] = "epoch_begin " .. epoch end,
      on_batch_end = function(batch, logs) calls[#calls + 1] = ("batch_end %d %.1f"):format(batch, logs.loss) end,
      on_epoch_end = function(epoch, logs) calls[#calls + 1] = ("epoch_end %d %.1f"):format(epoch, logs.val_loss) end,
      on_train_end = function() calls[#calls + 1] = "train_end" end,
    }
    fit({ cb }, fake_model(), losses({ 0.5 }), { steps = 2 })
    assert.same({ "train_begintable", "epoch_begin 0", "batch_end 0 1.0", "batch_end 1 1.0", "epoch_end 0 0.5",
      "train_end" }, calls)
  end)

  it("takes Keras's other hook names too (its **kwargs)", function()
    local got
    local cb = C.LambdaCallback{ on_test_end = function(logs) got = logs.loss end }
    C.CallbackList({ cb }):call("on_test_end", { loss = 0.25 })
    assert.equal(0.25, got)
  end)
end)

-- ------------------------------------------------------------------ ProgbarLogger

describe("ProgbarLogger", function()
  local function logger(tty, verbose, epochs, steps)
    local out, w = sink()
    local clock = { t = 0.0 }
    local pl = C.ProgbarLogger{ out = w, clock = function() return clock.t end, tty = tty }
    pl:set_model(fake_model())
    pl:set_params{ epochs = epochs, steps = steps, verbose = verbose }
    return pl, out, clock
  end

  local function epoch(pl, clock, e, steps, val)
    pl:on_epoch_begin(e)
    for b = 0, steps - 1 do
      clock.t = clock.t + 0.5
      pl:on_train_batch_end(b, { loss = 1 / (b + 1), accuracy = 0.5 })
    end
    local logs = { loss = 0.25, accuracy = 0.75 }
    if val then logs.val_loss, logs.val_accuracy = 0.5, 0.625 end
    pl:on_epoch_end(e, logs)
  end

  it("verbose=1 on a terminal: Epoch N/M, the bar redrawn per batch, train+val at the end", function()
    local pl, out, clock = logger(true, 1, 2, 3)
    pl:on_train_begin()
    epoch(pl, clock, 0, 3, true)
    assert.same({
      "Epoch 1/2\n",
      -- running averages are shown as given, not averaged again
      "\r1/3 [=========>....................] - ETA: 1s - loss: 1.0000 - accuracy: 0.5000",
      "\r2/3 [===================>..........] - ETA: 0s - loss: 0.5000 - accuracy: 0.5000",
      -- the last batch's update is not the final one (Keras passes finalize=False)
      "\r3/3 [==============================] - ETA: 0s - loss: 0.3333 - accuracy: 0.5000",
      "\r3/3 [==============================] - 2s 500ms/step - loss: 0.2500 - accuracy: 0.7500"
        .. " - val_loss: 0.5000 - val_accuracy: 0.6250\n",
    }, out)
  end)

  it("verbose=1 on a pipe: one line per epoch", function()
    local pl, out, clock = logger(false, 1, 2, 3)
    pl:on_train_begin()
    epoch(pl, clock, 0, 3, true)
    epoch(pl, clock, 1, 3, true)
    assert.same({
      "Epoch 1/2\n",
      "3/3 [==============================] - 2s 500ms/step - loss: 0.2500 - accuracy: 0.7500"
        .. " - val_loss: 0.5000 - val_accuracy: 0.6250\n",
      "Epoch 2/2\n",
      "3/3 [==============================] - 2s 500ms/step - loss: 0.2500 - accuracy: 0.7500"
        .. " - val_loss: 0.5000 - val_accuracy: 0.6250\n",
    }, out)
  end)

  it("verbose=2: one line per epoch with time per epoch and per step; no Epoch line for one epoch", function()
    local pl, out, clock = logger(true, 2, 1, 4)
    pl:on_train_begin()
    epoch(pl, clock, 0, 4, false)
    assert.same({ "4/4 - 2s - loss: 0.2500 - accuracy: 0.7500 - 2s/epoch - 500ms/step\n" }, out)
  end)

  it("verbose=0 prints nothing", function()
    local pl, out, clock = logger(true, 0, 3, 2)
    pl:on_train_begin()
    epoch(pl, clock, 0, 2, true)
    assert.same({}, out)
  end)

  it("keeps fit's validation silent but shows a bare evaluate", function()
    local pl, out = logger(false, 1, 1, 2)
    pl:on_train_begin()
    pl:on_epoch_begin(0)
    pl:on_test_begin()
    pl:on_test_batch_end(0, { loss = 9 })
    pl:on_test_end({ loss = 9 })
    assert.same({}, out)
    pl:on_train_end()
    local ev, out2, clock2 = logger(false, 1, nil, 5)
    ev:on_test_begin()
    for b = 0, 4 do
      clock2.t = clock2.t + 0.002
      ev:on_test_batch_end(b, { loss = 0.35, accuracy = 0.875 })
    end
    ev:on_test_end({ loss = 0.35, accuracy = 0.875 })
    assert.same({ "5/5 [==============================] - 0s 2ms/step - loss: 0.3500 - accuracy: 0.8750\n" }, out2)
  end)

  it("takes the first epoch's step count as the target when steps is not given", function()
    local pl, out, clock = logger(false, 1, 2, nil)
    pl:on_train_begin()
    epoch(pl, clock, 0, 3, false)
    epoch(pl, clock, 1, 3, false)
    assert.equal("3/3 [==============================] - 2s 500ms/step - loss: 0.2500 - accuracy: 0.7500\n", out[2])
    assert.equal(out[2], out[4])
  end)
end)

-- ------------------------------------------------------------------ misuse

describe("callbacks misuse", function()
  it("rejects bad arguments with messages that name the callback and the argument", function()
    local cases = {
      { function() C.EarlyStopping{ mode = "maximum" } end,
        "EarlyStopping: unknown mode \"maximum\" (expected \"auto\", \"min\" or \"max\")" },
      { function() C.ReduceLROnPlateau{ mode = "up" } end,
        "ReduceLROnPlateau: unknown mode \"up\" (expected \"auto\", \"min\" or \"max\")" },
      { function() C.ReduceLROnPlateau{ factor = 1.0 } end,
        "ReduceLROnPlateau: a factor >= 1.0 is not supported (it multiplies the learning rate); got factor=1.0" },
      { function() C.ReduceLROnPlateau{ factor = 0 } end,
        "ReduceLROnPlateau: factor must be > 0 (it multiplies the learning rate); got factor=0" },
      { function() C.ReduceLROnPlateau{ min_lr = -1e-3 } end, "ReduceLROnPlateau: min_lr must be >= 0, got -0.001" },
      { function() C.ReduceLROnPlateau{ cooldown = 1.5 } end, "ReduceLROnPlateau: cooldown must be an integer >= 0, got 1.5" },
      { function() C.EarlyStopping{ patience = -1 } end, "EarlyStopping: patience must be an integer >= 0, got -1" },
      { function() C.EarlyStopping{ start_from_epoch = "2" } end,
        "EarlyStopping: start_from_epoch must be an integer >= 0, got \"2\"" },
      { function() C.EarlyStopping{ monitor = 3 } end,
        "EarlyStopping: monitor must be a string (a logs name such as \"val_loss\"), got number" },
      { function() C.EarlyStopping{ baseline = "low" } end, "EarlyStopping: baseline must be a number, got \"low\"" },
      { function() C.EarlyStopping{ restore_best_weights = 1 } end,
        "EarlyStopping: restore_best_weights must be true or false, got 1" },
      { function() C.EarlyStopping{ monitor = "Test Custom Score" } end,
        "EarlyStopping: cannot tell whether 'Test Custom Score' should go up or down; pass mode=\"max\" or mode=\"min\"" },
      { function() C.EarlyStopping{ patiense = 2 } end,
        "EarlyStopping: unknown argument 'patiense' (arguments: monitor, min_delta, patience, verbose, mode, "
          .. "baseline, restore_best_weights, start_from_epoch, out)" },
      { function() C.LearningRateScheduler(0.1) end,
        "LearningRateScheduler: schedule must be a function (epoch, lr) -> lr, got number" },
      { function() C.LearningRateScheduler() end,
        "LearningRateScheduler: schedule must be a function (epoch, lr) -> lr, got nil" },
      { function() C.CSVLogger() end, "CSVLogger: filename must be a non-empty string, got nil" },
      { function() C.CSVLogger("a.csv", { separator = ";;" }) end,
        "CSVLogger: separator must be one character other than a quote or a line break, got \";;\"" },
      { function() C.CSVLogger("a.csv", { append = "yes" }) end, "CSVLogger: append must be true or false, got \"yes\"" },
      { function() C.LambdaCallback{ on_epoch_end = 5 } end, "LambdaCallback: on_epoch_end must be a function, got number" },
      { function() C.LambdaCallback{ on_epoch_ends = print } end, "LambdaCallback: unknown argument 'on_epoch_ends'" },
      { function() C.LambdaCallback{ on_batch_end = print, on_train_batch_end = print } end,
        "LambdaCallback: on_batch_end and on_train_batch_end are the same hook; give one of them" },
      { function() C.ProgbarLogger{ count_mode = "batches" } end,
        "ProgbarLogger: unknown count_mode \"batches\" (expected \"steps\")" },
      { function() C.ProgbarLogger{ out = 42 } end, "ProgbarLogger: out must be a function(string) or a file, got number" },
      { function() C.TerminateOnNaN{ 1 } end, "TerminateOnNaN: too many positional arguments (1; it takes none)" },
      { function() C.History{ x = 1 } end, "History: unknown argument 'x'" },
    }
    for i, c in ipairs(cases) do
      local msg = err(c[1])
      assert.equal(c[2], msg:sub(1, #c[2]), "case " .. i)
    end
  end)

  it("names a missing model or optimizer instead of failing on nil", function()
    local es = C.EarlyStopping{ monitor = "loss", patience = 0 }
    es:on_train_begin()
    es:on_epoch_end(0, { loss = 1 })
    assert.equal("EarlyStopping: no model to stop (set_model was not called)",
      err(function() es:on_epoch_end(1, { loss = 2 }) end))
    local s = C.LearningRateScheduler(function(_, lr) return lr end)
    s:set_model({})
    assert.equal("LearningRateScheduler: the model has no optimizer (compile it first)",
      err(function() s:on_epoch_begin(0) end))
    local c = C.CSVLogger("x.csv")
    assert.equal("CSVLogger: on_epoch_end before on_train_begin (the file is not open)",
      err(function() c:on_epoch_end(0, {}) end))
    local es2 = C.EarlyStopping{ monitor = "loss", restore_best_weights = true }
    es2:set_model({ stop_training = false })
    assert.equal("EarlyStopping: restore_best_weights needs model:get_weights()",
      err(function() es2:on_epoch_end(0, { loss = 1 }) end))
  end)
end)
