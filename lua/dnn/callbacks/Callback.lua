-- The Callback base class (Keras's keras.callbacks.Callback).  fit/evaluate/
-- predict call these hooks; epochs and batches are 0-based as in Keras, and
-- `logs` is a table of numbers (running averages of the epoch so far during
-- an epoch, the epoch's results with val_ entries at on_epoch_end).
--
--   self.model    the model (set_model), whose stop_training flag ends fit
--   self.params   {epochs=, steps=, verbose=} (set_params)
local class = require "dnn.class"

local Callback = class.Object:extend("Callback")

function Callback:init() end
function Callback:set_model(model) self.model = model end
function Callback:set_params(params) self.params = params end

for _, hook in ipairs({ "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
  "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
  "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
  "on_predict_batch_begin", "on_predict_batch_end" }) do
  Callback[hook] = function() end
end
Callback.on_batch_begin = Callback.on_train_batch_begin
Callback.on_batch_end = Callback.on_train_batch_end

return Callback
