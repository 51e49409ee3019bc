-- The Keras "custom training loop" seed in dnnlua: an MLP trained on
-- Fashion-MNIST by a hand-written epoch/batch loop with GradientTape and
-- apply_gradients, logging the training loss every 200 steps.
--
--   scripts/dnnlua examples/custom_loop.lua            2 epochs (>= 85% test accuracy)
--   scripts/dnnlua examples/custom_loop.lua --short    a quick run (CI), ~1/3 epoch
local dnn = require "dnn"
local L = dnn.layers

local short = arg and arg[1] == "--short"
dnn.manual_seed(42)

local data = dnn.datasets.fashion_mnist()
local x_train = data.train.x:float():view(-1, 784) / 255
local x_test = data.test.x:float():view(-1, 784) / 255
local y_train, y_test = data.train.y, data.test.y

-- the model: three Dense layers, called in turn
local layers = {
  L.Dense { 256, activation = "relu" },
  L.Dense { 128, activation = "relu" },
  L.Dense { 10 }, -- logits
}
local function model(x, opts)
  for _, layer in ipairs(layers) do x = layer(x, opts) end
  return x
end
model(x_train:narrow(1, 1, 1)) -- build the layers
local weights = {}
for _, layer in ipairs(layers) do
  for _, w in ipairs(layer:trainable_weights()) do weights[#weights + 1] = w end
end

local optimizer = dnn.optimizers.Adam { learning_rate = 1e-3 }
local loss_fn = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }

local batch_size = 64
local train = dnn.data.from_tensors { x_train, y_train, batch_size = batch_size, shuffle = true, seed = 1 }
local epochs = short and 1 or 2
local max_steps = short and 300 or math.huge

local t0 = dnn.monotonic()
for epoch = 1, epochs do
  print(("Start of epoch %d"):format(epoch - 1))
  local step = 0
  for x_batch, y_batch in train:batches() do
    local tape = dnn.GradientTape()
    local logits = model(x_batch, { training = true })
    local loss_value = loss_fn(y_batch, logits)
    local grads = tape:gradient(loss_value, weights)
    optimizer:apply_gradients(grads, weights)
    if step % 200 == 0 then
      print(("Training loss (for one batch) at step %d: %.4f"):format(step, loss_value:item()))
      print(("Seen so far: %d samples"):format((step + 1) * batch_size))
    end
    step = step + 1
    if step >= max_steps then break end
  end
end
local seconds = dnn.monotonic() - t0

local correct = dnn.no_grad(function()
  return model(x_test):classes():eq(y_test):sum():item()
end)
local accuracy = correct / y_test:size(1)
print(("Test accuracy: %.4f (%.1f s of training)"):format(accuracy, seconds))
return { accuracy = accuracy, seconds = seconds }
