-- ProgbarLogger (Keras): the progress bar fit, evaluate and predict print.
-- fit puts it first among the callbacks.
--
-- params.verbose: 0 silent, 1 a bar per epoch (one line per epoch when the
-- output is not a terminal), 2 one line per epoch
--     1875/1875 - 3s - loss: 0.4963 - accuracy: 0.8254 - 3s/epoch - 1ms/step
-- "Epoch 1/5" precedes each epoch when params.epochs > 1.  During an epoch
-- the bar shows the training logs; the epoch's last line shows the train and
-- val_ logs of on_epoch_end.  Inside fit the validation run is silent; a
-- bare evaluate or predict (on_test_* / on_predict_* without on_train_begin)
-- gets its own bar.  params.steps is the bar's target; without it the first
-- epoch's step count is used once the epoch ends (Keras's rule).
--
-- The logs fit passes are running averages of the epoch, so every value is
-- shown as given (Keras marks the model's metrics stateful to the same end).
--
-- Options beyond Keras's: out, clock, tty, passed to the Progbar
-- (lua/dnn/utils/progbar.lua).
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"
local Progbar = require "dnn.utils.progbar"

local ProgbarLogger = Callback:extend("ProgbarLogger")

function ProgbarLogger:init(...)
  local fname = "ProgbarLogger"
  local a = class.kwargs(fname, { "count_mode", "stateful_metrics" }, { "out", "clock", "tty" }, ...)
  local mode = a.count_mode == nil and "steps" or a.count_mode
  if mode == "samples" then
    error("ProgbarLogger: count_mode \"samples\" is not supported (dnnlua's loops count steps); use \"steps\"", 0)
  elseif mode ~= "steps" then
    error(("ProgbarLogger: unknown count_mode %s (expected \"steps\")"):format(Progbar.describe(mode)), 0)
  end
  self.use_steps = true
  if a.stateful_metrics ~= nil and type(a.stateful_metrics) ~= "table" then
    error(("ProgbarLogger: stateful_metrics must be a list of names, got %s"):format(type(a.stateful_metrics)), 0)
  end
  self.stateful_metrics = a.stateful_metrics or {}
  self._bar_opts = { out = a.out, clock = a.clock, tty = a.tty }
  self._print = Progbar.writer(fname, a.out)
  self.seen = 0
  self.progbar = nil
  self.target = nil
  self.verbose = 1
  self.epochs = 1
  self._called_in_fit = false
end

function ProgbarLogger:set_params(params)
  self.params = params or {}
  local verbose = self.params.verbose == nil and 1 or self.params.verbose
  if verbose == true then verbose = 1 elseif verbose == false then verbose = 0 end
  if type(verbose) ~= "number" or math.tointeger(verbose) == nil or verbose < 0 or verbose > 2 then
    error(("ProgbarLogger: params.verbose must be 0, 1 or 2, got %s"):format(Progbar.describe(verbose)), 0)
  end
  self.verbose = math.tointeger(verbose)
  local dist = package.loaded["dnn.distributed"] -- replicas under mpirun: rank 0 alone prints
  if dist and dist.rank() ~= 0 then self.verbose = 0 end
  self.epochs = self.params.epochs or 1
  local steps = self.params.steps
  self.target = (type(steps) == "number" and steps > 0) and steps or nil
end

function ProgbarLogger:_reset_progbar()
  self.seen = 0
  self.progbar = nil
end

function ProgbarLogger:_maybe_init_progbar()
  if self.progbar == nil then
    local o = self._bar_opts
    self.progbar = Progbar(self.target, {
      verbose = self.verbose, stateful_metrics = self.stateful_metrics, unit_name = "step",
      out = o.out, clock = o.clock, tty = o.tty,
    })
  end
end

-- Every logs name is a running average already: show it as given.
function ProgbarLogger:_stateful(logs)
  local names = {}
  for k in pairs(logs) do names[#names + 1] = k end
  self.progbar:_update_stateful_metrics(names)
end

function ProgbarLogger:_batch_update(batch, logs)
  if self.verbose == 0 then return end
  self:_maybe_init_progbar()
  self.seen = batch + 1 -- batches are 0-based
  if self.verbose == 1 then
    logs = logs or {}
    self:_stateful(logs)
    self.progbar:update(self.seen, logs, false)
  end
end

function ProgbarLogger:_finalize(logs)
  if self.verbose == 0 then return end
  self:_maybe_init_progbar()
  logs = logs or {}
  if self.target == nil then
    -- no step count given: this epoch's is the target from now on
    self.target = self.seen > 0 and self.seen or nil
    self.progbar.target = self.target
  end
  self:_stateful(logs)
  self.progbar:update(self.target or self.seen, logs, true)
end

function ProgbarLogger:on_train_begin() self._called_in_fit = true end
function ProgbarLogger:on_train_end() self._called_in_fit = false end

function ProgbarLogger:on_epoch_begin(epoch)
  self:_reset_progbar()
  if self.verbose == 0 then return end
  self:_maybe_init_progbar()
  if self.epochs > 1 then self._print(("Epoch %d/%d\n"):format(epoch + 1, self.epochs)) end
end

function ProgbarLogger:on_train_batch_end(batch, logs) self:_batch_update(batch, logs) end
ProgbarLogger.on_batch_end = ProgbarLogger.on_train_batch_end

function ProgbarLogger:on_epoch_end(_, logs) self:_finalize(logs) end

function ProgbarLogger:on_test_begin()
  if self._called_in_fit then return end
  self:_reset_progbar()
  if self.verbose ~= 0 then self:_maybe_init_progbar() end
end

function ProgbarLogger:on_test_batch_end(batch, logs)
  if not self._called_in_fit then self:_batch_update(batch, logs) end
end

function ProgbarLogger:on_test_end(logs)
  if not self._called_in_fit then self:_finalize(logs) end
end

function ProgbarLogger:on_predict_begin()
  self:_reset_progbar()
  if self.verbose ~= 0 then self:_maybe_init_progbar() end
end

-- predictions are not shown, only progress
function ProgbarLogger:on_predict_batch_end(batch) self:_batch_update(batch, nil) end
function ProgbarLogger:on_predict_end() self:_finalize(nil) end

return ProgbarLogger
