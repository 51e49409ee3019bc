-- DistributedOptimizer reducing gradient buckets during the backward pass
-- (the autograd engine's grad hook + src/dist/dist_overlap.c), under
-- `mpirun -np 2` and `-np 3` of the dnnlua under test: the same weights, bit
-- for bit, as reducing after the backward pass (DNN_DIST_OVERLAP=0), through
-- a hand loop, fit and train_model; tape:gradient returns averaged
-- gradients; a variable with a gradient on one replica only; gradient
-- accumulation.
local dnn = require "dnn"
local D = dnn.distributed

local mpi = require "support.mpi"
local q, why_pending = mpi.q, mpi.why_pending


local function mpirun(n, script, args, overlap)
  return mpi.mpirun(n, script, args, "DNN_DIST_OVERLAP=" .. (overlap and 1 or 0), "-x DNN_DIST_OVERLAP")
end

local scratch = mpi.scratch()
local path, write = scratch.path, scratch.write

local function max_diff(a, b)
  assert.are.equal(#a, #b)
  local d, m = 0, 0
  for i = 1, #a do
    d = math.max(d, (a[i]:double() - b[i]:double()):abs():max():item())
    m = math.max(m, b[i]:abs():max():item())
  end
  return d, d / m
end

-- arguments: out.h5 mode (loop | fit | train | partial | accumulate)
local SCRIPT = [[
local D = dnn.distributed
local T = dnn.train
local out, mode = arg[1], arg[2]
dnn.manual_seed(5)
local x = dnn.randn(384, 20)
local y = x:narrow(2, 1, 3):sum(2, true):tanh()
local model = dnn.Sequential{dnn.layers.Dense{64, activation="relu", input_shape={20}},
  dnn.layers.Dense{64, activation="tanh"}, dnn.layers.Dense{32, activation="relu"}, dnn.layers.Dense{1}}
-- small buckets: several per step, the first sent while the pass goes on
local opt = D.DistributedOptimizer(dnn.optimizers.Adam{learning_rate=0.01}, {bucket_cap_mb=0.01, first_bucket_mb=0.005})
local extra = dnn.zeros(4, 1):requires_grad_() -- "partial": a gradient on rank 0 only
local steps, same_grads = 0, true
if mode == "fit" then
  model:compile{optimizer=opt, loss="mse"}
  model:fit{x=x, y=y, batch_size=16, epochs=2, verbose=0}
  steps = opt.iterations
elseif mode == "train" then
  local tm = T.TrainModel{model, loss="mse", optimizer=opt}
  local ids = {}
  for i = 1, 384 do ids[i] = i end
  local r = T.train_model{tm, T.Infinite{T.load_by_random_id(function(i) return x[i] end, function(i) return y[i] end,
    {ids=ids, random_state=3}), batch_size=16, batches_per_epoch=12}, n_epochs=2}
  steps = r.steps
else
  local seq = D.shard(dnn.data.from_tensors{x, y, batch_size=16, shuffle=true, seed=11})
  local vars = model.trainable_variables
  if mode == "partial" then vars[#vars + 1] = extra end
  for epoch = 1, 2 do
    for i = 1, seq:len() do
      local xb, yb = seq:get(i)
      local tape = dnn.GradientTape()
      local loss = ((model(xb) - yb) ^ 2):mean()
      if mode == "partial" and D.rank() == 0 then loss = loss + (xb:narrow(2, 1, 4):matmul(extra)):mean() end
      local grads = tape:gradient(loss, vars)
      if mode == "accumulate" then -- two passes per update
        local tape2 = dnn.GradientTape()
        local loss2 = ((model(xb * 0.5) - yb) ^ 2):mean()
        local g2 = tape2:gradient(loss2, vars)
        for k = 1, #vars do grads[k] = grads[k] + g2[k] end
      end
      -- the gradients tape:gradient returned are the same on every replica when averaged in the pass
      if steps > 0 then -- the first update makes the reducer
        local all = D.allgather(grads[1]:reshape(1, -1))
        same_grads = same_grads and (all[1] - all[D.size()]):abs():max():item() == 0
      end
      opt:apply_gradients(grads, vars)
      steps = steps + 1
    end
    seq:on_epoch_end()
  end
end
local w = model:get_weights()
if mode == "partial" then w[#w + 1] = extra:detach():clone() end
if D.rank() == 0 then dnn.save(out, w) end
local cfg = rawget(opt, "_distributed")
print(("rank %d steps %d overlapped %d same_grads %s"):format(D.rank(), steps, cfg.overlapped_steps or 0,
  tostring(same_grads)))
]]

describe("DistributedOptimizer overlapping the backward pass", function()
  setup(scratch.setup)
  teardown(scratch.teardown)

  if why_pending then
    pending("skipped: " .. why_pending)
    return
  end

  local function both(n, mode)
    local script = write("overlap.lua", SCRIPT)
    local on, off = path(("on_%s_%d.h5"):format(mode, n)), path(("off_%s_%d.h5"):format(mode, n))
    local o1, c1 = mpirun(n, script, q(on) .. " " .. mode, true)
    assert.are.equal(0, c1, o1)
    local o2, c2 = mpirun(n, script, q(off) .. " " .. mode, false)
    assert.are.equal(0, c2, o2)
    return dnn.load(on), dnn.load(off), o1, o2
  end

  for _, n in ipairs({ 2, 3 }) do
    it(("gives the weights of the reduction after the pass, bit for bit (hand loop, %d replicas)"):format(n), function()
      local a, b, o1, o2 = both(n, "loop")
      assert.are.equal(0, (max_diff(a, b)))
      local steps = n == 2 and 24 or 16 -- 384 samples, global batches of 16n
      -- every step but the first (which makes the reducer) overlapped; the
      -- pass returned gradients already averaged
      assert.truthy(o1:find(("rank %d steps %d overlapped %d same_grads true"):format(n - 1, steps, steps - 1), 1, true), o1)
      assert.truthy(o2:find(("rank 0 steps %d overlapped 0 same_grads false"):format(steps), 1, true), o2)
    end)
  end

  it("gives the same bits through fit and through train_model", function()
    for _, mode in ipairs({ "fit", "train" }) do
      local a, b, o1 = both(2, mode)
      assert.are.equal(0, (max_diff(a, b)), mode)
      assert.truthy(o1:find("rank 1 steps 24 overlapped 23", 1, true), mode .. ": " .. o1)
    end
  end)

  it("counts a gradient that one replica does not have as zero there, as after the pass", function()
    local a, b, o1 = both(2, "partial")
    assert.are.equal(0, (max_diff(a, b)))
    assert.truthy(o1:find("rank 1 steps 24 overlapped 23", 1, true), o1)
    assert.are_not.equal(0, a[#a]:abs():max():item()) -- rank 0's gradient reached rank 1
  end)

  it("stops overlapping when two passes come before an update (gradient accumulation)", function()
    local a, b, o1 = both(2, "accumulate")
    local _, rel = max_diff(a, b)
    assert.is_true(rel <= 1e-5, "max rel diff " .. rel)
    assert.truthy(o1:find("rank 0 steps 24 overlapped 0", 1, true), o1)
  end)
end)
