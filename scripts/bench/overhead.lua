-- dnnlua side of scripts/bench/overhead: prints "name seconds_per_op" lines.
local dnn = require "dnn"
local threads = tonumber(arg[1]) or 2
dnn.set_num_threads(threads)

local clock = os.clock
local function now()
  -- wall clock from /proc/uptime is too coarse; os.clock counts CPU time of all
  -- threads, so use a monotonic clock through the C library when possible
  return dnn.core.monotonic and dnn.core.monotonic() or clock()
end

local function bench(name, reps, fn)
  fn() -- warm-up
  fn()
  local best = math.huge
  for _ = 1, 5 do
    local t0 = now()
    for _ = 1, reps do fn() end
    local dt = (now() - t0) / reps
    if dt < best then best = dt end
  end
  print(("%s %.9f"):format(name, best))
end

local a, b = dnn.rand(4, 4), dnn.rand(4, 4)
bench("add_4x4", 200000, function() local c = a + b end)
bench("matmul_4x4", 200000, function() local c = a:matmul(b) end)
bench("relu_4x4", 200000, function() local c = a:relu() end)

for _, n in ipairs({ 1000000, 10000000 }) do
  local x, y = dnn.rand(n), dnn.rand(n)
  bench(("add_%d"):format(n), n >= 1e7 and 20 or 200, function() local c = x + y end)
  bench(("sum_%d"):format(n), n >= 1e7 and 20 or 200, function() local s = x:sum() end)
end
local m1, m2 = dnn.rand(1024, 1024), dnn.rand(1024, 1024)
bench("matmul_1024", 10, function() local c = m1:matmul(m2) end)
