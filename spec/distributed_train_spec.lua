-- dnn.train.train_model across replicas: `mpirun -np 2` of the dnnlua under
-- test against one process (2 replicas with batch B == 1 process with batch
-- 2B), rank 0 alone writing logs and checkpoints, resume after a crash with
-- the same number of replicas, validation averaged, stops agreed, models
-- that differ named on every replica.
local dnn = require "dnn"
local D = dnn.distributed

local mpi = require "support.mpi"
local q, run, DNNLUA, why_pending = mpi.q, mpi.run, mpi.dnnlua, mpi.why_pending


local mpirun = mpi.mpirun

local function single(script, args, env)
  return run(("%s timeout 120 %s %s %s"):format(env or "", q(DNNLUA), q(script), args or ""))
end

local scratch = mpi.scratch()
local path, write = scratch.path, scratch.write
local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

local function max_rel_diff(a, b)
  assert.are.equal(#a, #b)
  local d, m = 0, 0
  for i = 1, #a do
    d = math.max(d, (a[i]:double() - b[i]:double()):abs():max():item())
    m = math.max(m, b[i]:abs():max():item())
  end
  return d / m
end

-- step -> value of a tag in a scalars.csv
local function scalars(file, tag)
  local out = {}
  for line in io.lines(file) do
    local t, step, v = line:match("^[^,]*,([^,]*),(%d+),(%S+)$")
    if t == tag then out[tonumber(step)] = tonumber(v) end
  end
  return out
end

-- arguments: out.h5 dir global_batch options (k=v,k=v: opt=sgd|adam,
-- src=ids|coro|list, unbuilt=1, epochs=, every=, crash=<epoch>:<iteration>)
local TM = [[
local D = dnn.distributed
local T = dnn.train
local out, dir, global = arg[1], arg[2], tonumber(arg[3])
local o = {}
for k, v in (arg[4] or ""):gmatch("(%w+)=([^,]*)") do o[k] = v end
local batch = global // D.size()
dnn.manual_seed(3)
local X = dnn.randn(200, 6)
local Y = (X:narrow(2, 1, 1) * 2 - X:narrow(2, 2, 1)):sin()
local ids = {}
for i = 1, 200 do ids[i] = i end
local source
if o.src == "coro" then
  source = coroutine.create(function() while true do for i = 1, 200 do coroutine.yield(X[i], Y[i]) end end end)
elseif o.src == "list" then
  source = {}
  for i = 1, 150 do source[i] = {X[i], Y[i]} end
else
  source = T.load_by_random_id(function(i) return X[i] end, function(i) return Y[i] end, {ids=ids, random_state=7})
end
local arch = dnn.Sequential{dnn.layers.Dense{16, activation="tanh", input_shape=o.unbuilt ~= "1" and {6} or nil},
  dnn.layers.Dense{1}}
local opt = o.opt == "adam" and dnn.optimizers.Adam{learning_rate=0.01}
  or dnn.optimizers.SGD{learning_rate=0.1, momentum=0.9}
local model = T.TrainModel{arch, loss="mse", optimizer=opt}
local it = T.Infinite{source, batch_size=batch, batches_per_epoch=10}
local policies = {}
if o.crash and os.getenv("CRASH") then
  local ce, ci = o.crash:match("(%d+):(%d+)")
  policies[1] = { train_step_started = function(_, e, i)
    if e == tonumber(ce) and i == tonumber(ci) then error("simulated crash at " .. e .. ":" .. i) end
  end }
end
local r = T.train_model{model, it, n_epochs=tonumber(o.epochs or 2), lr=o.opt == "adam" and 0.01 or 0.1,
  distributed=true, log_path=dir .. "/logs_" .. D.rank(), checkpoints_path=dir .. "/ck_" .. D.rank(),
  checkpoint_every=tonumber(o.every), policies=policies,
  validate=function() return {rank=D.rank(), two=2} end}
if D.rank() == 0 then dnn.save(out, {weights=arch:get_weights()}) end
print(("rank %d epochs %d steps %d resumed %s"):format(D.rank(), r.epochs, r.steps, tostring(r.resumed_from)))
]]

-- The checkpoints and logs directories are named after the rank here, so
-- that a replica writing what it must not leaves a trace (in real runs every
-- replica passes the same paths).
local LEVELS = [[
local D = dnn.distributed
local T = dnn.train
local what = arg[1]
dnn.manual_seed(1)
local arch
if what == "mismatch" then
  arch = dnn.Sequential{dnn.layers.Dense{D.rank() == 0 and 4 or 5, input_shape={3}}, dnn.layers.Dense{1}}
else
  arch = dnn.Sequential{dnn.layers.Dense{4, input_shape={3}}, dnn.layers.Dense{1}}
end
local model = T.TrainModel{arch, loss="mse", optimizer=D.DistributedOptimizer(dnn.optimizers.SGD{learning_rate=0.01})}
local got = {}
local step = model.do_train_step
model.do_train_step = function(self, x, y, kw)
  got[#got + 1] = ("%g"):format(x[1][1])
  return step(self, x, y, kw)
end
local function batches()
  local list = {}
  for k = 1, 5 do list[k] = {dnn.full({2, 3}, k + 0.0), dnn.full({2, 1}, k + 0.0)} end
  return list
end
local policies = {}
if what == "stop" then
  policies[1] = { epoch_finished = function(_, e)
    if D.rank() == 1 and e == 1 then error(T.EarlyStopping("rank 1 says stop"), 0) end
  end }
end
local r = T.train_model{model, function()
    return coroutine.wrap(function() for _, b in ipairs(batches()) do coroutine.yield(b[1], b[2]) end end)
  end, n_epochs=4, policies=policies}
print(("rank %d epochs %d steps %d stopped %s trained %s"):format(D.rank(), r.epochs, r.steps, tostring(r.stopped),
  table.concat(got, " ")))
for _, m in ipairs(r.messages) do print(("rank %d message %s"):format(D.rank(), m)) end
]]

describe("train_model under mpirun -np 2", function()
  setup(scratch.setup)
  teardown(scratch.teardown)

  if why_pending then
    pending("skipped: " .. why_pending)
    return
  end

  local function compare(tag, opts)
    local script = write("tm.lua", TM)
    local d1, d2 = path(tag .. "_1"), path(tag .. "_2")
    os.execute("mkdir -p " .. q(d1) .. " " .. q(d2))
    local out1, c1 = single(script, ("%s %s 16 %s"):format(q(d1 .. "/w.h5"), q(d1), opts))
    assert.are.equal(0, c1, out1)
    local out2, c2 = mpirun(2, script, ("%s %s 16 %s"):format(q(d2 .. "/w.h5"), q(d2), opts))
    assert.are.equal(0, c2, out2)
    assert.truthy(out2:find("rank 1 epochs 2 steps 20", 1, true), out2)
    local a, b = dnn.load(d1 .. "/w.h5").weights, dnn.load(d2 .. "/w.h5").weights
    local rel = max_rel_diff(a, b)
    assert.is_true(rel <= 1e-5, ("%s: max|a-b|/max|b| = %g"):format(opts, rel))
    return d1, d2, out2
  end

  it("2 replicas with batch B end with the weights of 1 process with batch 2B (20 steps, load_by_random_id)", function()
    for _, o in ipairs({ "opt=sgd", "opt=adam" }) do
      local d1, d2 = compare(o:gsub("=", "_"), o)
      -- the logged losses are the global batch's
      local l1 = scalars(d1 .. "/logs_0/scalars.csv", "train/loss_step")
      local l2 = scalars(d2 .. "/logs_0/scalars.csv", "train/loss_step")
      for s = 0, 19 do
        assert.is_true(math.abs(l1[s] - l2[s]) <= 1e-5 * math.abs(l1[s]), ("step %d: %g vs %g"):format(s, l1[s], l2[s]))
      end
      -- validation averaged over the replicas (rank 0 says 0, rank 1 says 1)
      local v = scalars(d2 .. "/logs_0/scalars.csv", "val/metrics/rank")
      assert.are.same({ [0] = 0.5, [1] = 0.5 }, v)
      -- rank 0 alone writes logs and checkpoints
      assert.is_true(exists(d2 .. "/ck_0/checkpoint.h5"))
      assert.is_true(exists(d2 .. "/logs_0/scalars.csv"))
      assert.is_false(exists(d2 .. "/ck_1"), "rank 1 must not write checkpoints")
      assert.is_false(exists(d2 .. "/logs_1"), "rank 1 must not write logs")
    end
  end)

  it("shards a coroutine source, a list source and an architecture built by the first batch the same way", function()
    compare("coro", "opt=adam,src=coro")
    compare("unbuilt", "opt=sgd,unbuilt=1")
    -- 150 items, 16 per global batch: 9 full batches and one of 6 (3 + 3)
    -- in the first epoch; the list is spent after that
    local script = write("tm.lua", TM)
    local d1, d2 = path("list_1"), path("list_2")
    os.execute("mkdir -p " .. q(d1) .. " " .. q(d2))
    local out1, c1 = single(script, ("%s %s 16 opt=sgd,src=list"):format(q(d1 .. "/w.h5"), q(d1)))
    assert.are.equal(0, c1, out1)
    local out2, c2 = mpirun(2, script, ("%s %s 16 opt=sgd,src=list"):format(q(d2 .. "/w.h5"), q(d2)))
    assert.are.equal(0, c2, out2)
    assert.truthy(out1:find("rank 0 epochs 2 steps 10", 1, true), out1)
    assert.truthy(out2:find("rank 1 epochs 2 steps 10", 1, true), out2)
    local rel = max_rel_diff(dnn.load(d1 .. "/w.h5").weights, dnn.load(d2 .. "/w.h5").weights)
    assert.is_true(rel <= 1e-5, "list: " .. rel)
  end)

  it("resumes a crashed run from rank 0's checkpoint and ends where an uninterrupted run ends", function()
    local script = write("tm.lua", TM)
    for _, src in ipairs({ "ids", "coro" }) do
      local ref, run_dir = path("ref_" .. src), path("crash_" .. src)
      os.execute("mkdir -p " .. q(ref) .. " " .. q(run_dir))
      local opts = "opt=adam,epochs=3,every=3,crash=1:5,src=" .. src
      local o0, c0 = mpirun(2, script, ("%s %s 16 %s"):format(q(ref .. "/w.h5"), q(ref), opts))
      assert.are.equal(0, c0, o0)
      local o1, c1 = mpirun(2, script, ("%s %s 16 %s"):format(q(run_dir .. "/w.h5"), q(run_dir), opts), "CRASH=1")
      assert.are_not.equal(0, c1, o1)
      assert.truthy(o1:find("simulated crash at 1:5", 1, true), o1)
      local o2, c2 = mpirun(2, script, ("%s %s 16 %s"):format(q(run_dir .. "/w.h5"), q(run_dir), opts))
      assert.are.equal(0, c2, o2)
      -- the checkpoint of iteration 3 of epoch 2 (1-based), on both replicas
      assert.truthy(o2:find("resuming from " .. run_dir .. "/ck_0/checkpoint.h5 at epoch 2, iteration 3", 1, true), o2)
      assert.truthy(o2:find("rank 1 epochs 3 steps 30 resumed " .. run_dir .. "/ck_0/checkpoint.h5", 1, true), o2)
      local a, b = dnn.load(ref .. "/w.h5").weights, dnn.load(run_dir .. "/w.h5").weights
      assert.are.equal(0, max_rel_diff(a, b), src)
      -- the resumed log holds each step once, with the uninterrupted run's values
      local la = scalars(ref .. "/logs_0/scalars.csv", "train/loss_step")
      local lb = scalars(run_dir .. "/logs_0/scalars.csv", "train/loss_step")
      for s = 0, 29 do assert.are.equal(la[s], lb[s], src .. " step " .. s) end
    end
    -- another number of replicas is told that the data is split differently
    local o3, c3 = mpirun(3, script, ("%s %s 16 opt=adam,epochs=3"):format(q(path("w3.h5")), q(path("ref_ids"))))
    assert.are.equal(0, c3, o3)
    assert.truthy(o3:find("checkpoint.h5 was written by a run of 2 replicas, this one has 3", 1, true), o3)
    assert.truthy(o3:find("is complete (finished after 3 epochs); nothing to do", 1, true), o3)
  end)

  it("splits any other batch_iter by batch: round after round, replica r takes the (r+1)-th", function()
    local out, code = mpirun(2, write("levels.lua", LEVELS), "plain")
    assert.are.equal(0, code, out)
    -- 5 batches per epoch: rank 0 gets 1 and 3, rank 1 gets 2 and 4, 5 is dropped
    assert.truthy(out:find("rank 0 epochs 4 steps 8 stopped false trained 1 3 1 3 1 3 1 3\n", 1, true), out)
    assert.truthy(out:find("rank 1 epochs 4 steps 8 stopped false trained 2 4 2 4 2 4 2 4\n", 1, true), out)
  end)

  it("a policy that stops training on one replica stops every replica after the same epoch", function()
    local out, code = mpirun(2, write("levels.lua", LEVELS), "stop")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("rank 0 epochs 2 steps 4 stopped true", 1, true), out)
    assert.truthy(out:find("rank 1 epochs 2 steps 4 stopped true", 1, true), out)
    assert.truthy(out:find("rank 0 message train_model: early stopping after epoch 2: rank 1's policies stopped: "
      .. "rank 1 says stop", 1, true), out)
    assert.truthy(out:find("rank 1 message train_model: early stopping after epoch 2: rank 1 says stop", 1, true), out)
  end)

  it("replicas whose architectures differ stop with an error on every rank naming the difference", function()
    local out, code = mpirun(2, write("levels.lua", LEVELS), "mismatch")
    assert.are_not.equal(0, code)
    local msg = "train_model: the replicas' models differ (every replica must build the same architecture): rank 0 "
      .. "has 4 weights (21 parameters), rank 1 has 4 weights (26 parameters); first difference: weight 1 (kernel) "
      .. "is float32[3, 4] on rank 0 and float32[3, 5] on rank 1"
    local n = 0
    for _ in out:gmatch(msg:gsub("%p", "%%%0")) do n = n + 1 end
    assert.are.equal(2, n, out)
  end)
end)

describe("train_model with distributed=true as one process", function()
  it("is the plain train_model (no mpirun: one replica)", function()
    local T = dnn.train
    local function train(distributed)
      dnn.manual_seed(2)
      local arch = dnn.Sequential { dnn.layers.Dense { 3, input_shape = { 2 } } }
      local m = T.TrainModel { arch, loss = "mse", optimizer = dnn.optimizers.SGD { learning_rate = 0.1 } }
      local x, y = dnn.randn(8, 2), dnn.randn(8, 3)
      local r = T.train_model { m, function() return { { x, y }, { x, y } } end, n_epochs = 2, distributed = distributed }
      return arch:get_weights(), r
    end
    local a = train(nil)
    local b, r = train(true)
    assert.are.equal(0, max_rel_diff(a, b))
    assert.are.equal(4, r.steps)
    assert.has_error(function()
      T.train_model { T.TrainModel { dnn.layers.Dense { 1 }, loss = "mse", optimizer = "sgd" }, function() return {} end,
        n_epochs = 1, distributed = "yes" }
    end, "train_model: distributed must be true or false, got string")
  end)
end)
