-- dnnlua side of scripts/bench/conv: forward+backward of the Fashion-MNIST
-- CNN's convolution and pooling layers (batch 64, 28x28x1 images, channels
-- last: Conv 32 3x3 + bias, max pool 2, Conv 64 3x3 + bias, max pool 2), then
-- each layer alone.  Warm-up excluded, best of 7 repetitions.
-- Usage: dnnlua scripts/bench/conv.lua [threads]   prints "name seconds" lines
local dnn = require "dnn"
local F = dnn.F
dnn.set_num_threads(tonumber(arg and arg[1]) or 2)
dnn.manual_seed(0)

local function bench(name, reps, fn)
  for _ = 1, 3 do fn() end
  local best = math.huge
  for _ = 1, 7 do
    local t0 = dnn.monotonic()
    for _ = 1, reps do fn() end
    best = math.min(best, (dnn.monotonic() - t0) / reps)
  end
  print(("%s %.9f"):format(name, best))
end

local x = dnn.rand(64, 28, 28, 1)                  -- the input needs no gradient
local w1, b1 = dnn.randn(3, 3, 1, 32) * 0.3, dnn.zeros(32)
local w2, b2 = dnn.randn(3, 3, 32, 64) * 0.1, dnn.zeros(64)
local params = { w1, b1, w2, b2 }
for _, t in ipairs(params) do t.requires_grad = true end
local function zero_grads() for _, t in ipairs(params) do t.grad = nil end end

bench("layers_fwd_bwd", 30, function()
  zero_grads()
  local h = F.max_pool2d(F.conv2d(x, w1, b1))
  h = F.max_pool2d(F.conv2d(h, w2, b2))
  h:sum():backward()
end)

-- the pieces: inputs of the later layers as leaves that require grad
local h1 = dnn.no_grad(function() return F.conv2d(x, w1, b1) end):detach()
local p1 = dnn.no_grad(function() return F.max_pool2d(h1) end):detach()
local h2 = dnn.no_grad(function() return F.conv2d(p1, w2, b2) end):detach()
for _, t in ipairs({ h1, p1, h2 }) do t.requires_grad = true end
local function no_grad(fn) return function() dnn.no_grad(fn) end end

bench("conv1_fwd", 30, no_grad(function() return F.conv2d(x, w1, b1) end))
bench("conv1_fwd_bwd", 30, function() zero_grads(); F.conv2d(x, w1, b1):sum():backward() end)
bench("pool1_fwd_bwd", 30, function() h1.grad = nil; F.max_pool2d(h1):sum():backward() end)
bench("conv2_fwd", 30, no_grad(function() return F.conv2d(p1, w2, b2) end))
bench("conv2_fwd_bwd", 30, function() zero_grads(); p1.grad = nil; F.conv2d(p1, w2, b2):sum():backward() end)
bench("pool2_fwd_bwd", 30, function() h2.grad = nil; F.max_pool2d(h2):sum():backward() end)
