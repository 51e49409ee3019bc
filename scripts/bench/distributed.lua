-- dnnlua side of scripts/bench/distributed: trains the Fashion-MNIST CNN of
-- scripts/bench/fmnist.lua data-parallel (one process per replica, each on its
-- shard, gradients averaged by DistributedOptimizer) and prints, on rank 0:
--   "replicas samples_per_s comm_ms_per_step step_ms loss pure_allreduce_ms"
-- usage: [mpirun -np N] dnnlua distributed.lua [batch_per_replica=64] [steps=200] [threads=1]
local dnn = require "dnn"
local D = dnn.distributed
local L = dnn.layers
local batch, steps, threads = tonumber(arg[1]) or 64, tonumber(arg[2]) or 200, tonumber(arg[3]) or 1
dnn.set_num_threads(threads)
dnn.manual_seed(0)

local data = dnn.datasets.fashion_mnist()
local x_train = data.train.x:float():div_(255):view(-1, 28, 28, 1)
local y_train = data.train.y
data = nil
collectgarbage()

local layers = { L.Conv2D { 32, 3, activation = "relu" }, L.MaxPooling2D { 2 }, L.Conv2D { 64, 3, activation = "relu" },
  L.MaxPooling2D { 2 }, L.Flatten(), L.Dense { 128, activation = "relu" }, L.Dense { 10 } }
local function model(x)
  for _, l in ipairs(layers) do x = l(x) end
  return x
end
model(x_train:narrow(1, 1, 1))
local weights = {}
for _, l in ipairs(layers) do
  for _, w in ipairs(l:trainable_weights()) do weights[#weights + 1] = w end
end
D.broadcast_variables(weights, 0)
local opt = D.DistributedOptimizer(dnn.optimizers.Adam { learning_rate = 1e-3 })
local loss_fn = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }
local train = D.shard(dnn.data.from_tensors { x_train, y_train, batch_size = batch, shuffle = true, seed = 1 })

-- time spent in the collectives (the optimizer looks them up at each call)
local core = dnn.core._dist
local raw_allreduce, comm = core.allreduce, 0
core.allreduce = function(...)
  local t = dnn.monotonic()
  local r = raw_allreduce(...)
  comm = comm + dnn.monotonic() - t
  return r
end

local WARMUP = 20
local done, i, t0, comm0, last = 0, 0, nil, 0, 0
while done < WARMUP + steps do
  i = i + 1
  if i > train:len() then
    train:on_epoch_end()
    i = 1
  end
  if done == WARMUP then
    D.barrier()
    t0, comm0 = dnn.monotonic(), comm
  end
  local xb, yb = train:get(i)
  local tape = dnn.GradientTape()
  local loss = loss_fn(yb, model(xb))
  opt:apply_gradients(tape:gradient(loss, weights), weights)
  last = loss:item()
  done = done + 1
end
D.barrier()
local secs = dnn.monotonic() - t0
local sps = steps * batch * D.size() / secs
-- the communication alone: the fused gradient allreduce, replicas in step
local grads = {}
for k, w in ipairs(weights) do grads[k] = dnn.randn(w:size()) end
D.barrier()
local tp = dnn.monotonic()
for _ = 1, 50 do raw_allreduce(grads, { op = "sum", divide_by = D.size() }) end
local pure = (dnn.monotonic() - tp) / 50
if D.rank() == 0 then
  print(("%d %.1f %.3f %.3f %.4f %.3f"):format(D.size(), sps, (comm - comm0) / steps * 1e3, secs / steps * 1e3, last,
    pure * 1e3))
end
