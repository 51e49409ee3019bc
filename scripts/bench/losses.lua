-- dnnlua side of scripts/bench/losses: prints "name seconds_per_step" lines.
-- A step is the loss forward (mean over the batch) and its backward to the logits.
local dnn = require "dnn"
local threads = tonumber(arg[1]) or 2
dnn.set_num_threads(threads)
local now = dnn.core.monotonic or os.clock

local function bench(name, reps, fn)
  for _ = 1, 3 do fn() end -- warm-up
  local best = math.huge
  for _ = 1, 5 do
    local t0 = now()
    for _ = 1, reps do fn() end
    best = math.min(best, (now() - t0) / reps)
  end
  print(("%s %.9f"):format(name, best))
end

local sce = dnn.losses.sparse_categorical_crossentropy
for _, case in ipairs({ { 64, 10, 20000 }, { 256, 1000, 300 } }) do
  local n, c, reps = case[1], case[2], case[3]
  dnn.manual_seed(0)
  local x = dnn.randn(n, c)
  x.requires_grad = true
  local y = dnn.randint(0, c, { n })
  local opts = { from_logits = true }
  bench(("sparse_xent_%dx%d"):format(n, c), reps, function()
    local loss = sce(y, x, opts):mean()
    loss:backward()
    x.grad = nil
  end)
  local obj = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }
  bench(("sparse_xent_object_%dx%d"):format(n, c), reps, function()
    obj(y, x):backward()
    x.grad = nil
  end)
end
