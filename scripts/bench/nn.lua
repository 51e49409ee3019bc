-- dnnlua side of scripts/bench/nn: prints "dnnlua <seconds per step>" (best of 7
-- runs of 200 steps after 50 warm-up steps).
local dnn = require "dnn"
local F = dnn.F
local threads = tonumber(arg[1]) or 2
dnn.set_num_threads(threads)
dnn.manual_seed(0)

local sizes, batch = { 784, 256, 128, 10 }, 64
local x = dnn.rand(batch, sizes[1])
local W, B = {}, {}
for i = 1, 3 do
  W[i] = dnn.randn(sizes[i], sizes[i + 1]) * (1 / math.sqrt(sizes[i]))
  B[i] = dnn.zeros(sizes[i + 1])
  W[i].requires_grad, B[i].requires_grad = true, true
end

local function step()
  local h = x
  for i = 1, 3 do
    h = F.linear(h, W[i], B[i], i < 3 and { activation = "relu" } or nil)
  end
  local loss = h:sum()
  for i = 1, 3 do W[i].grad, B[i].grad = nil, nil end
  loss:backward()
end

local now = dnn.core.monotonic
for _ = 1, 50 do step() end -- warm-up
local best, reps = math.huge, 200
for _ = 1, 7 do
  collectgarbage()
  local t0 = now()
  for _ = 1, reps do step() end
  best = math.min(best, (now() - t0) / reps)
end
print(("dnnlua %.9f"):format(best))
