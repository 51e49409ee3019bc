-- dnnlua side of scripts/bench/gpu: trains one model on a device with data
-- already there (batches by slicing, as the PyTorch side does) and prints
-- "name samples_per_s final_loss".
-- usage: gpu.lua mlp|cnn|resnet device steps
--   mlp, cnn: the Fashion-MNIST models of scripts/bench/fmnist (batch 64) on
--   random 28x28 images; resnet: a ResNet-style CNN on 32x32x3, batch 256.
-- Random inputs: the throughput does not depend on the pixels, and the GPU
-- machine need not carry the dataset for this.
local dnn = require "dnn"
local L = dnn.layers
local which, device, steps = arg[1], arg[2] or "cuda", tonumber(arg[3]) or 200
dnn.manual_seed(0)

local batch, in_shape = 64, { 784 }
local layers, forward
local function seq(ls)
  return function(x, training)
    for _, l in ipairs(ls) do x = l(x, { training = training }) end
    return x
  end
end
if which == "mlp" then
  layers = { L.Dense { 256, activation = "relu" }, L.Dense { 128, activation = "relu" }, L.Dense { 10 } }
  forward = seq(layers)
elseif which == "cnn" then
  in_shape = { 28, 28, 1 }
  layers = { L.Conv2D { 32, 3, activation = "relu" }, L.MaxPooling2D { 2 }, L.Conv2D { 64, 3, activation = "relu" },
    L.MaxPooling2D { 2 }, L.Flatten(), L.Dense { 128, activation = "relu" }, L.Dense { 10 } }
  forward = seq(layers)
elseif which == "resnet" then
  -- stem conv 3x3/32, three stages of two basic blocks (64, 128, 256
  -- channels; stride 2 entering stages 2 and 3, a 1x1 projection there),
  -- global average pooling, Dense 10: conv-BN-ReLU everywhere
  batch, in_shape = 256, { 32, 32, 3 }
  layers = {}
  local function add(l) layers[#layers + 1] = l return l end
  local function conv_bn(filters, k, stride)
    local c = add(L.Conv2D { filters, k, strides = stride, padding = "same", use_bias = false })
    local bn = add(L.BatchNormalization {})
    return function(x, training) return bn(c(x), { training = training }) end
  end
  local stem = conv_bn(32, 3, 1)
  local blocks = {}
  local cin = 32
  for _, cout in ipairs { 64, 128, 256 } do
    for b = 1, 2 do
      local stride = (b == 1 and cout ~= 64) and 2 or 1
      local a, c = conv_bn(cout, 3, stride), conv_bn(cout, 3, 1)
      local proj = (stride ~= 1 or cin ~= cout) and conv_bn(cout, 1, stride) or nil
      blocks[#blocks + 1] = function(x, training)
        local h = a(x, training):relu()
        h = c(h, training)
        local skip = proj and proj(x, training) or x
        return (h + skip):relu()
      end
      cin = cout
    end
  end
  local pool, head = add(L.GlobalAveragePooling2D()), add(L.Dense { 10 })
  forward = function(x, training)
    x = stem(x, training):relu()
    for _, blk in ipairs(blocks) do x = blk(x, training) end
    return head(pool(x))
  end
else
  error("gpu.lua: model must be mlp, cnn or resnet")
end

-- data on the device: 16 batches, cycled
local n = batch * 16
local xs = dnn.randn(n, table.unpack(in_shape)):to(device)
local ys = dnn.randint(0, 10, { n }):to(device)
forward(xs:narrow(1, 1, 2), false) -- builds the weights (on the CPU) ...
local weights = {}
for _, l in ipairs(layers) do
  l:to(device) -- ... and moves them
  for _, w in ipairs(l:trainable_weights()) do weights[#weights + 1] = w end
end
local opt = dnn.optimizers.Adam { learning_rate = 1e-3 }
local loss_fn = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }

local function step(i)
  local s = ((i - 1) % 16) * batch + 1
  local xb, yb = xs:narrow(1, s, batch), ys:narrow(1, s, batch)
  local tape = dnn.GradientTape()
  local loss = loss_fn(yb, forward(xb, true))
  opt:apply_gradients(tape:gradient(loss, weights), weights)
  return loss
end

local WARMUP = 20
for i = 1, WARMUP do step(i) end
if device ~= "cpu" then dnn.cuda.synchronize() end
local t0 = dnn.monotonic()
local loss
for i = 1, steps do loss = step(i) end
local last = loss:item() -- waits for the queued work
local sps = steps * batch / (dnn.monotonic() - t0)
print(("%s %.1f %.4f"):format(which, sps, last))
