-- ReduceLROnPlateau (Keras): multiply the learning rate by `factor` when the
-- monitored value has not improved for `patience` epochs.
--
--   dnn.callbacks.ReduceLROnPlateau{monitor="val_loss", factor=0.2, patience=5, min_lr=1e-5}
--
-- Keras's rule, each epoch end (logs.learning_rate is set to the current rate
-- first, as Keras 3 does, so History and CSVLogger after it record it): in
-- cooldown, count it down and clear wait; improved (value < best - min_delta
-- for min, value > best + min_delta for max) -> best = value, wait = 0;
-- otherwise, out of cooldown, wait += 1 and once wait >= patience, if lr >
-- min_lr (both as float32, like Keras's variable) lr = max(lr*factor, min_lr),
-- print "Epoch N: ReduceLROnPlateau reducing learning rate to X." (verbose),
-- cooldown starts and wait = 0.
--
-- mode="auto": "max" when the name contains "acc" (Keras's rule here) or
-- when EarlyStopping.auto_mode says so (auc, DSS's "Test ..." names), else
-- "min".  Unlike Keras, an unknown mode is an error, and so are factor <= 0
-- and a negative min_lr.
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"
local EarlyStopping = require "dnn.callbacks.EarlyStopping"
local Progbar = require "dnn.utils.progbar"

local ReduceLROnPlateau = Callback:extend("ReduceLROnPlateau")

local function float32(x) return (string.unpack("f", string.pack("f", x))) end

local ARGS = { "monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr" }

function ReduceLROnPlateau:init(...)
  local fname = "ReduceLROnPlateau"
  local a = class.kwargs(fname, ARGS, { "out" }, ...)
  local int_arg, number_arg = EarlyStopping._int_arg, EarlyStopping._number_arg
  self.monitor = a.monitor == nil and "val_loss" or a.monitor
  if type(self.monitor) ~= "string" then
    error(("%s: monitor must be a string (a logs name such as \"val_loss\"), got %s")
      :format(fname, type(self.monitor)), 0)
  end
  self.factor = number_arg(fname, "factor", a.factor, 0.1)
  if self.factor >= 1.0 then
    error(("%s: a factor >= 1.0 is not supported (it multiplies the learning rate); got factor=%s")
      :format(fname, Progbar.repr(self.factor)), 0)
  elseif self.factor <= 0 then
    error(("%s: factor must be > 0 (it multiplies the learning rate); got factor=%s")
      :format(fname, Progbar.repr(self.factor)), 0)
  end
  self.patience = int_arg(fname, "patience", a.patience, 10)
  self.verbose = int_arg(fname, "verbose", a.verbose, 0)
  self.cooldown = int_arg(fname, "cooldown", a.cooldown, 0)
  self.min_delta = number_arg(fname, "min_delta", a.min_delta, 1e-4)
  self.min_lr = number_arg(fname, "min_lr", a.min_lr, 0.0)
  if self.min_lr < 0 then
    error(("%s: min_lr must be >= 0, got %s"):format(fname, Progbar.repr(self.min_lr)), 0)
  end
  self.mode = a.mode or "auto"
  if self.mode == "auto" and self.monitor:find("acc", 1, true) then
    self.direction = "max"
  else
    self.direction = EarlyStopping._check_mode(fname, self.mode, self.monitor)
  end
  self._print = Progbar.writer(fname, a.out)
  self._warn = Progbar.writer(fname, a.out, "stderr")
  self:_reset()
end

function ReduceLROnPlateau:_reset()
  self.best = self.direction == "min" and math.huge or -math.huge
  self.cooldown_counter = 0
  self.wait = 0
  self._warned = false
end

function ReduceLROnPlateau:in_cooldown() return self.cooldown_counter > 0 end

function ReduceLROnPlateau:_improved(value)
  if self.direction == "min" then return value < self.best - self.min_delta end
  return value > self.best + self.min_delta
end

-- The optimizer, and its current learning rate (a schedule's value now).
local function optimizer(self)
  local m = self.model
  local opt = type(m) == "table" and m.optimizer or nil
  if type(opt) ~= "table" then
    error("ReduceLROnPlateau: the model has no optimizer (compile it first)", 0)
  end
  local lr = opt.learning_rate
  if type(lr) ~= "number" and type(opt.current_learning_rate) == "function" then
    lr = opt:current_learning_rate()
  end
  return opt, lr
end

function ReduceLROnPlateau:on_train_begin() self:_reset() end

function ReduceLROnPlateau:on_epoch_end(epoch, logs)
  logs = logs or {}
  local opt, lr = optimizer(self)
  if type(lr) == "number" then logs.learning_rate = lr end
  local current = logs[self.monitor]
  if current == nil then
    if not self._warned then
      self._warned = true
      self._warn(("WARNING: Learning rate reduction is conditioned on metric `%s` which is not available. "
        .. "Available metrics are: %s.\n"):format(self.monitor, table.concat(Progbar.ordered_keys(logs), ",")))
    end
    return
  end
  if type(current) ~= "number" then
    error(("ReduceLROnPlateau: logs.%s must be a number, got %s"):format(self.monitor, type(current)), 0)
  end
  if self:in_cooldown() then
    self.cooldown_counter = self.cooldown_counter - 1
    self.wait = 0
  end
  if self:_improved(current) then
    self.best = current
    self.wait = 0
  elseif not self:in_cooldown() then
    self.wait = self.wait + 1
    if self.wait >= self.patience then
      if type(opt.learning_rate) ~= "number" then
        error("ReduceLROnPlateau: the optimizer's learning_rate is a schedule, so it cannot be set; "
          .. "create the optimizer with a number as learning_rate", 0)
      end
      -- Keras compares float32 values: a rate at min_lr is not reduced again
      if float32(lr) > float32(self.min_lr) then
        local new_lr = math.max(lr * self.factor, self.min_lr)
        opt.learning_rate = new_lr
        if self.verbose > 0 then
          self._print(("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %s.\n")
            :format(epoch + 1, Progbar.repr(new_lr)))
        end
        self.cooldown_counter = self.cooldown
        self.wait = 0
      end
    end
  end
end

return ReduceLROnPlateau
