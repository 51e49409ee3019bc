-- Keras's "customizing what happens in fit" seed: a Model subclass overrides
-- train_step; fit, callbacks and the progress bar use it unchanged.
--   scripts/dnnlua examples/custom_train_step.lua
local dnn = require "dnn"
dnn.manual_seed(0)

local CustomModel = dnn.Model:extend("CustomModel")
function CustomModel:train_step(data)
  local x, y = data[1], data[2]
  local tape = dnn.GradientTape()
  local y_pred = self(x, {training=true})
  local loss = self:compute_loss(x, y, y_pred)
  local grads = tape:gradient(loss, self.trainable_variables)
  self.optimizer:apply_gradients(grads, self.trainable_variables)
  self.compiled_metrics:update_state(y, y_pred)
  return self:metrics_result()
end

-- a learnable target: y = x . w + noise
local x = dnn.randn(1000, 10)
local w = dnn.randn(10, 1)
local y = x:matmul(w) + dnn.randn(1000, 1) * 0.1

local inputs = dnn.Input{shape={10}}
local outputs = dnn.layers.Dense{1}(dnn.layers.Dense{32, activation="relu"}(inputs))
local model = CustomModel{inputs=inputs, outputs=outputs}   -- a class is called to construct
model:compile{optimizer="adam", loss="mse", metrics={"mae"}}
local history = model:fit{x=x, y=y, epochs=5, batch_size=50}                -- fit calls our train_step

local first, last = history.history.loss[1], history.history.loss[#history.history.loss]
print(("loss went from %.4f to %.4f; final mae %.4f"):format(first, last, history.history.mae[#history.history.mae]))
return { first_loss = first, last_loss = last }
