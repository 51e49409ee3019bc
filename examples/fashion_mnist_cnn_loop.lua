-- A small CNN on Fashion-MNIST trained by a hand-written loop (GradientTape +
-- apply_gradients), images channels-last (N, 28, 28, 1) as in Keras.
--
--   scripts/dnnlua examples/fashion_mnist_cnn_loop.lua          2 epochs (>= 89% test accuracy)
--   scripts/dnnlua examples/fashion_mnist_cnn_loop.lua --short  a quick run (CI)
local dnn = require "dnn"
local L = dnn.layers

local short = arg and arg[1] == "--short"
dnn.manual_seed(42)

local data = dnn.datasets.fashion_mnist()
local x_train = data.train.x:float():view(-1, 28, 28, 1) / 255
local x_test = data.test.x:float():view(-1, 28, 28, 1) / 255
local y_train, y_test = data.train.y, data.test.y

local layers = {
  L.Conv2D { 32, 3, activation = "relu" },
  L.MaxPooling2D { 2 },
  L.Conv2D { 64, 3, activation = "relu" },
  L.MaxPooling2D { 2 },
  L.Flatten(),
  L.Dense { 128, activation = "relu" },
  L.Dense { 10 }, -- logits
}
local function model(x, opts)
  for _, layer in ipairs(layers) do x = layer(x, opts) end
  return x
end
model(x_train:narrow(1, 1, 1))
local weights = {}
for _, layer in ipairs(layers) do
  for _, w in ipairs(layer:trainable_weights()) do weights[#weights + 1] = w end
end

local optimizer = dnn.optimizers.Adam { learning_rate = 1e-3 }
local loss_fn = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }
local train = dnn.data.from_tensors { x_train, y_train, batch_size = 32, shuffle = true, seed = 1 }
local epochs = short and 1 or 2
local max_steps = short and 150 or math.huge

local t0 = dnn.monotonic()
for epoch = 1, epochs do
  print(("Start of epoch %d"):format(epoch - 1))
  local step = 0
  for x_batch, y_batch in train:batches() do
    local tape = dnn.GradientTape()
    local loss_value = loss_fn(y_batch, model(x_batch, { training = true }))
    optimizer:apply_gradients(tape:gradient(loss_value, weights), weights)
    if step % 200 == 0 then
      print(("Training loss (for one batch) at step %d: %.4f"):format(step, loss_value:item()))
    end
    step = step + 1
    if step >= max_steps then break end
  end
end
local seconds = dnn.monotonic() - t0

-- evaluate in batches (the whole test set at once would need a large im2col buffer)
local correct = 0
dnn.no_grad(function()
  for xb, yb in dnn.data.from_tensors { x_test, y_test, batch_size = 1000 }:batches() do
    correct = correct + model(xb):classes():eq(yb):sum():item()
  end
end)
local accuracy = correct / y_test:size(1)
print(("Test accuracy: %.4f (%.1f s of training)"):format(accuracy, seconds))
return { accuracy = accuracy, seconds = seconds }
