-- TerminateOnNaN (Keras): after a training batch whose logs.loss is NaN or
-- infinite, print "Batch N: Invalid loss, terminating training" (N the
-- 0-based batch, as Keras prints it) and set model.stop_training, so fit
-- ends after that batch.
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"
local Progbar = require "dnn.utils.progbar"

local TerminateOnNaN = Callback:extend("TerminateOnNaN")

function TerminateOnNaN:init(...)
  local a = class.kwargs("TerminateOnNaN", {}, { "out" }, ...)
  self._print = Progbar.writer("TerminateOnNaN", a.out)
end

function TerminateOnNaN:on_train_batch_end(batch, logs)
  local loss = logs and logs.loss
  if type(loss) == "number" and (loss ~= loss or loss == math.huge or loss == -math.huge) then
    self._print(("Batch %d: Invalid loss, terminating training\n"):format(batch))
    if type(self.model) ~= "table" then
      error("TerminateOnNaN: no model to stop (set_model was not called)", 0)
    end
    self.model.stop_training = true
  end
end
TerminateOnNaN.on_batch_end = TerminateOnNaN.on_train_batch_end

return TerminateOnNaN
