-- LearningRateScheduler (Keras): at each epoch begin the optimizer's
-- learning rate becomes schedule(epoch, lr) (epoch 0-based, lr the current
-- rate); a schedule(epoch) that ignores lr works too.
--
--   dnn.callbacks.LearningRateScheduler(function(epoch, lr)
--     if epoch < 10 then return lr end
--     return lr * math.exp(-0.1)
--   end, {verbose=1})
--
-- At epoch end logs.learning_rate holds the rate (Keras 3's name; Keras 2
-- wrote "lr").  Unlike Keras, a schedule returning NaN, inf or a negative
-- rate is an error (Keras only checks that it is a float).
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"
local EarlyStopping = require "dnn.callbacks.EarlyStopping"
local Progbar = require "dnn.utils.progbar"

local LearningRateScheduler = Callback:extend("LearningRateScheduler")

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

function LearningRateScheduler:init(...)
  local fname = "LearningRateScheduler"
  local a = class.kwargs(fname, { "schedule", "verbose" }, { "out" }, ...)
  if not callable(a.schedule) then
    error(("%s: schedule must be a function (epoch, lr) -> lr, got %s"):format(fname, type(a.schedule)), 0)
  end
  self.schedule = a.schedule
  self.verbose = EarlyStopping._int_arg(fname, "verbose", a.verbose, 0)
  self._print = Progbar.writer(fname, a.out)
end

local function optimizer(self)
  local m = self.model
  local opt = type(m) == "table" and m.optimizer or nil
  if type(opt) ~= "table" then
    error("LearningRateScheduler: the model has no optimizer (compile it first)", 0)
  end
  if type(opt.learning_rate) ~= "number" then
    error("LearningRateScheduler: the optimizer's learning_rate is a schedule, so it cannot be set; "
      .. "create the optimizer with a number as learning_rate", 0)
  end
  return opt
end

function LearningRateScheduler:on_epoch_begin(epoch)
  local opt = optimizer(self)
  local lr = self.schedule(epoch, opt.learning_rate + 0.0)
  if type(lr) ~= "number" then
    error(("LearningRateScheduler: schedule(%d, %s) returned %s; it must return a number (the learning rate)")
      :format(epoch, Progbar.repr(opt.learning_rate + 0.0), type(lr)), 0)
  end
  if lr ~= lr or lr == math.huge or lr < 0 then
    error(("LearningRateScheduler: schedule(%d, %s) returned %s; the learning rate must be finite and >= 0")
      :format(epoch, Progbar.repr(opt.learning_rate + 0.0), Progbar.repr(lr)), 0)
  end
  lr = lr + 0.0
  opt.learning_rate = lr
  if self.verbose > 0 then
    self._print(("\nEpoch %d: LearningRateScheduler setting learning rate to %s.\n")
      :format(epoch + 1, Progbar.repr(lr)))
  end
end

function LearningRateScheduler:on_epoch_end(_, logs)
  if logs then logs.learning_rate = optimizer(self).learning_rate end
end

return LearningRateScheduler
