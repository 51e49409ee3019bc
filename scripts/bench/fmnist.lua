-- dnnlua side of scripts/bench/fmnist: trains one model on Fashion-MNIST and
-- prints "name samples_per_s test_accuracy peak_rss_mb" (or "tiny us_per_step").
-- usage: fmnist.lua mlp|cnn|tiny threads epochs
local dnn = require "dnn"
local L = dnn.layers
local which, threads, epochs = arg[1], tonumber(arg[2]) or 2, tonumber(arg[3]) or 1
dnn.set_num_threads(threads)
dnn.manual_seed(0)

local function peak_rss_mb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

if which == "tiny" then
  local lin = L.Dense { 4 }
  local x, y = dnn.randn(4, 4), dnn.randn(4, 4)
  lin(x)
  local w = lin:trainable_weights()
  local opt = dnn.optimizers.SGD { learning_rate = 0.01 }
  local mse = dnn.losses.MeanSquaredError()
  local function step()
    local tape = dnn.GradientTape()
    local loss = mse(y, lin(x))
    opt:apply_gradients(tape:gradient(loss, w), w)
  end
  for _ = 1, 2000 do step() end
  local best = math.huge
  for _ = 1, 5 do
    local t0 = dnn.monotonic()
    for _ = 1, 20000 do step() end
    best = math.min(best, (dnn.monotonic() - t0) / 20000)
  end
  print(("tiny %.3f"):format(best * 1e6))
  return
end

local data = dnn.datasets.fashion_mnist()
local shape = which == "cnn" and { -1, 28, 28, 1 } or { -1, 784 }
-- converted in place and the uint8 originals dropped, as the PyTorch side does
local x_train = data.train.x:float():div_(255):view(shape)
local x_test = data.test.x:float():div_(255):view(shape)
local y_train, y_test = data.train.y, data.test.y
data = nil
collectgarbage()

local layers
if which == "mlp" then
  layers = { L.Dense { 256, activation = "relu" }, L.Dense { 128, activation = "relu" }, L.Dense { 10 } }
else
  layers = { L.Conv2D { 32, 3, activation = "relu" }, L.MaxPooling2D { 2 }, L.Conv2D { 64, 3, activation = "relu" },
    L.MaxPooling2D { 2 }, L.Flatten(), L.Dense { 128, activation = "relu" }, L.Dense { 10 } }
end
local function model(x)
  for _, l in ipairs(layers) do x = l(x) end
  return x
end
model(x_train:narrow(1, 1, 1))
local weights = {}
for _, l in ipairs(layers) do
  for _, w in ipairs(l:trainable_weights()) do weights[#weights + 1] = w end
end
local opt = dnn.optimizers.Adam { learning_rate = 1e-3 }
local loss_fn = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }
local train = dnn.data.from_tensors { x_train, y_train, batch_size = 64, shuffle = true }

local WARMUP = 20
local timed_samples, t0 = 0, nil
for _ = 1, epochs do
  local step = 0
  for xb, yb in train:batches() do
    if step == WARMUP and not t0 then t0 = dnn.monotonic() end
    local tape = dnn.GradientTape()
    local loss = loss_fn(yb, model(xb))
    opt:apply_gradients(tape:gradient(loss, weights), weights)
    if t0 then timed_samples = timed_samples + xb:size(1) end
    step = step + 1
  end
end
local sps = timed_samples / (dnn.monotonic() - t0)
local correct = 0
dnn.no_grad(function()
  for xb, yb in dnn.data.from_tensors { x_test, y_test, batch_size = 1000 }:batches() do
    correct = correct + model(xb):classes():eq(yb):sum():item()
  end
end)
print(("%s %.1f %.4f %.1f"):format(which, sps, correct / y_test:size(1), peak_rss_mb()))
