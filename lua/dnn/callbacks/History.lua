-- History (Keras): records each epoch's logs; fit returns it.
--
--   local h = model:fit{...}
--   h.history.loss[3], h.history.val_loss   -- one entry per epoch (1-based lists)
--   h.epoch                                  -- the 0-based epoch numbers run
--   h.interrupted                            -- fit sets it when stopped by Ctrl-C
--
-- As in Keras, history keeps growing over several fits with the same object
-- while epoch restarts at each on_train_begin, and a name that appears only
-- in some epochs (validation_freq > 1) has a shorter list.
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"

local History = Callback:extend("History")

function History:init(...)
  class.kwargs("History", {}, {}, ...)
  self.history = {}
  self.epoch = {}
  self.interrupted = false
end

function History:on_train_begin()
  self.epoch = {}
  self.interrupted = false
end

function History:on_epoch_end(epoch, logs)
  self.epoch[#self.epoch + 1] = epoch
  for k, v in pairs(logs or {}) do
    local list = self.history[k]
    if list == nil then
      list = {}
      self.history[k] = list
    end
    list[#list + 1] = v
  end
  -- the model's latest history, as Keras sets model.history
  if type(self.model) == "table" then self.model.history = self end
end

return History
