-- EarlyStopping (Keras): stop fit when the monitored value stops improving.
--
--   dnn.callbacks.EarlyStopping{monitor="val_loss", patience=2, restore_best_weights=true}
--
-- Keras's rule, each epoch end: skip when the value is missing (warning once)
-- or epoch < start_from_epoch; wait += 1; if value - min_delta < best (min;
-- value + min_delta > best for max) it is the new best (weights snapshot) and
-- wait restarts, unless a baseline is set and not beaten; otherwise when
-- wait >= patience and epoch > 0, model.stop_training = true.  At train end,
-- as Keras 3: "Epoch N: early stopping" (verbose > 0), and the best weights
-- are restored whenever restore_best_weights is set.
--
-- mode="auto" decides by name (EarlyStopping.auto_mode): "max" for names
-- ending in acc, accuracy or auc as Keras does, compared without case so
-- DSS's "Test ROC AUC" and "Test Accuracy" count; "max" too for metrics
-- where greater is better that Keras 3 knows by their direction and DSS
-- logs as "Test <name>" (precision, recall, F1, R2, EVS, cost matrix gain,
-- cumulative lift, average precision); an error for DSS's "Custom score",
-- whose direction only the user knows; "min" for everything else (losses,
-- errors), as Keras 2.
--
-- Unlike Keras, an unknown mode is an error (Keras warns and uses auto).
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"
local Progbar = require "dnn.utils.progbar"

local EarlyStopping = Callback:extend("EarlyStopping")

local GREATER_IS_BETTER = {
  precision = true, recall = true, f1 = true, f1_score = true, ["f1 score"] = true,
  r2 = true, r2_score = true, ["r2 score"] = true, evs = true, ["cost matrix gain"] = true,
  ["cumulative lift"] = true, ["average precision"] = true, average_precision = true,
}

-- "max" or "min" for a monitored name in mode auto; nil when it cannot tell.
function EarlyStopping.auto_mode(name)
  local l = name:lower()
  for _, suffix in ipairs({ "acc", "accuracy", "auc" }) do
    if l:sub(-#suffix) == suffix then return "max" end
  end
  l = l:gsub("^val_", ""):gsub("^test ", ""):gsub("_%d+$", "")
  if GREATER_IS_BETTER[l] then return "max" end
  if l == "custom score" then return nil end
  return "min"
end

local function check_mode(fname, mode, monitor)
  if mode ~= "auto" and mode ~= "min" and mode ~= "max" then
    error(("%s: unknown mode %s (expected \"auto\", \"min\" or \"max\")"):format(fname, Progbar.describe(mode)), 0)
  end
  if mode == "auto" then
    mode = EarlyStopping.auto_mode(monitor)
    if mode == nil then
      error(("%s: cannot tell whether '%s' should go up or down; pass mode=\"max\" or mode=\"min\"")
        :format(fname, monitor), 0)
    end
  end
  return mode
end
EarlyStopping._check_mode = check_mode

local function int_arg(fname, what, v, default)
  if v == nil then return default end
  local i = type(v) == "number" and math.tointeger(v) or nil
  if i == nil or i < 0 then
    error(("%s: %s must be an integer >= 0, got %s"):format(fname, what, Progbar.describe(v)), 0)
  end
  return i
end
EarlyStopping._int_arg = int_arg

local function number_arg(fname, what, v, default)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v then
    error(("%s: %s must be a number, got %s"):format(fname, what, Progbar.describe(v)), 0)
  end
  return v
end
EarlyStopping._number_arg = number_arg

local ARGS = { "monitor", "min_delta", "patience", "verbose", "mode", "baseline",
  "restore_best_weights", "start_from_epoch" }

function EarlyStopping:init(...)
  local fname = "EarlyStopping"
  local a = class.kwargs(fname, ARGS, { "out" }, ...)
  self.monitor = a.monitor == nil and "val_loss" or a.monitor
  if type(self.monitor) ~= "string" then
    error(("%s: monitor must be a string (a logs name such as \"val_loss\"), got %s")
      :format(fname, type(self.monitor)), 0)
  end
  self.patience = int_arg(fname, "patience", a.patience, 0)
  self.verbose = int_arg(fname, "verbose", a.verbose, 0)
  self.start_from_epoch = int_arg(fname, "start_from_epoch", a.start_from_epoch, 0)
  self.baseline = number_arg(fname, "baseline", a.baseline, nil)
  self.min_delta = math.abs(number_arg(fname, "min_delta", a.min_delta, 0))
  self.restore_best_weights = a.restore_best_weights or false
  if type(self.restore_best_weights) ~= "boolean" then
    error(("%s: restore_best_weights must be true or false, got %s")
      :format(fname, Progbar.describe(a.restore_best_weights)), 0)
  end
  self.mode = a.mode or "auto"
  self.direction = check_mode(fname, self.mode, self.monitor)
  if self.direction == "min" then self.min_delta = -self.min_delta end
  self._print = Progbar.writer(fname, a.out)
  self._warn = Progbar.writer(fname, a.out, "stderr")
  self:_reset()
end

function EarlyStopping:_reset()
  self.wait = 0
  self.stopped_epoch = 0
  self.best = self.direction == "min" and math.huge or -math.huge
  self.best_weights = nil
  self.best_epoch = 0
  self._warned = false
end

function EarlyStopping:_is_improvement(value, reference)
  if self.direction == "min" then return value - self.min_delta < reference end
  return value - self.min_delta > reference
end

-- The monitored value from logs, or nil with a warning (once per fit).
function EarlyStopping:get_monitor_value(logs)
  logs = logs or {}
  local v = logs[self.monitor]
  if v == nil and not self._warned then
    self._warned = true
    self._warn(("WARNING: Early stopping conditioned on metric `%s` which is not available. "
      .. "Available metrics are: %s\n"):format(self.monitor, table.concat(Progbar.ordered_keys(logs), ",")))
  end
  return v
end

local function model_of(self, what)
  local m = self.model
  if type(m) ~= "table" then
    error(("EarlyStopping: no model to %s (set_model was not called)"):format(what), 0)
  end
  return m
end

local function weights(self)
  local m = model_of(self, "take weights from")
  if type(m.get_weights) ~= "function" then
    error("EarlyStopping: restore_best_weights needs model:get_weights()", 0)
  end
  return m:get_weights()
end

function EarlyStopping:on_train_begin() self:_reset() end

function EarlyStopping:on_epoch_end(epoch, logs)
  local current = self:get_monitor_value(logs)
  if current == nil or epoch < self.start_from_epoch then return end
  if type(current) ~= "number" then
    error(("EarlyStopping: logs.%s must be a number, got %s"):format(self.monitor, type(current)), 0)
  end
  if self.restore_best_weights and self.best_weights == nil then
    -- never improved yet: the current weights are the best so far
    self.best_weights = weights(self)
    self.best_epoch = epoch
  end
  self.wait = self.wait + 1
  if self:_is_improvement(current, self.best) then
    self.best = current
    self.best_epoch = epoch
    if self.restore_best_weights then self.best_weights = weights(self) end
    -- restart the wait only when both the best and the baseline are beaten
    if self.baseline == nil or self:_is_improvement(current, self.baseline) then self.wait = 0 end
    return
  end
  if self.wait >= self.patience and epoch > 0 then
    self.stopped_epoch = epoch
    model_of(self, "stop").stop_training = true
  end
end

function EarlyStopping:on_train_end()
  if self.stopped_epoch > 0 and self.verbose > 0 then
    self._print(("Epoch %d: early stopping\n"):format(self.stopped_epoch + 1))
  end
  if self.restore_best_weights and self.best_weights ~= nil then
    if self.verbose > 0 then
      self._print(("Restoring model weights from the end of the best epoch: %d.\n"):format(self.best_epoch + 1))
    end
    local m = model_of(self, "restore")
    if type(m.set_weights) ~= "function" then
      error("EarlyStopping: restore_best_weights needs model:set_weights(list)", 0)
    end
    m:set_weights(self.best_weights)
  end
end

return EarlyStopping
