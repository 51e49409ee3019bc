-- dnn.distributed: one replica in this process, and real replicas under
-- `mpirun -np 2` of the dnnlua being tested (collectives, 2 processes with
-- batch B == 1 process with batch 2B, rank 0 alone reports, resume, and the
-- failure modes: mismatched models, a replica that dies, hangs or fails).
local dnn = require "dnn"
local D = dnn.distributed

local mpi = require "support.mpi"
local q, run, DNNLUA, why_pending = mpi.q, mpi.run, mpi.dnnlua, mpi.why_pending

local scratch = mpi.scratch()
local path, write = scratch.path, scratch.write


-- Runs script (a file) on n replicas; returns output, exit code, seconds.
local function mpirun(n, script, args, env)
  local t0 = os.time()
  local out, code = mpi.mpirun(n, script, args, env)
  return out, code, os.time() - t0
end

local function max_rel_diff(a, b)
  assert.are.equal(#a, #b)
  local d, m = 0, 0
  for i = 1, #a do
    d = math.max(d, (a[i] - b[i]):abs():max():item())
    m = math.max(m, b[i]:abs():max():item())
  end
  return d / m
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

-- ---------------------------------------------------------------- scripts

-- fit on a small regression: weights and history of rank 0 to files.
local FIT = [[
local D = dnn.distributed
local out, optname, n = arg[1], arg[2], tonumber(arg[3])
local batch = tonumber(arg[4]) // D.size()
dnn.manual_seed(3)
local x = dnn.randn(n, 10)
local y = (x:narrow(2, 1, 1) * 2 - x:narrow(2, 2, 1)):sin()
local model = dnn.Sequential{dnn.layers.Dense{16, activation="tanh", input_shape={10}}, dnn.layers.Dense{1}}
local opt = optname == "adam" and dnn.optimizers.Adam{learning_rate=0.01}
  or dnn.optimizers.SGD{learning_rate=0.1, momentum=0.9}
model:compile{optimizer=D.DistributedOptimizer(opt), loss="mse", metrics={"mae"}}
local flagdir = arg[5]
local cbs = { dnn.callbacks.CSVLogger(flagdir .. "/log_" .. D.rank() .. ".csv") }
cbs[2] = { rank0_only = true, on_epoch_end = function() io.open(flagdir .. "/cb_" .. D.rank(), "w"):close() end }
local h = model:fit{x=x, y=y, batch_size=batch, epochs=2, steps_per_epoch=10, validation_split=0.2,
  verbose=2, callbacks=cbs}
if D.rank() == 0 then
  dnn.save(out, {weights=model:get_weights(), loss=h.history.loss, val_loss=h.history.val_loss, mae=h.history.mae})
end
print(("rank %d loss %.9f val_loss %.9f"):format(D.rank(), h.history.loss[2], h.history.val_loss[2]))
]]

-- a hand-written loop on a sharded Sequence (uneven last batches: 171 samples)
local LOOP = [[
local D = dnn.distributed
local out, per_replica = arg[1], tonumber(arg[2]) // D.size()
dnn.manual_seed(5)
local x = dnn.randn(171, 6)
local y = x:sum(2, true):tanh()
local model = dnn.Sequential{dnn.layers.Dense{8, activation="relu", input_shape={6}}, dnn.layers.Dense{1}}
dnn.manual_seed(100 + D.rank()) -- different initial weights: broadcast_parameters fixes them
model = dnn.Sequential{dnn.layers.Dense{8, activation="relu", input_shape={6}}, dnn.layers.Dense{1}}
D.broadcast_parameters(model)
local opt = D.DistributedOptimizer(dnn.optimizers.Adam{learning_rate=0.01})
local seq = D.shard(dnn.data.from_tensors{x, y, batch_size=per_replica, shuffle=true, seed=11})
local steps = 0
for epoch = 1, 10 do
  for i = 1, seq:len() do
    local xb, yb = seq:get(i)
    local tape = dnn.GradientTape()
    local loss = ((model(xb) - yb) ^ 2):mean()
    local vars = model.trainable_variables
    opt:apply_gradients(tape:gradient(loss, vars), vars)
    steps = steps + 1
    if steps == 20 then break end
  end
  if steps == 20 then break end
  seq:on_epoch_end()
end
if D.rank() == 0 then dnn.save(out, model:get_weights()) end
local s = D.stats()
print(("rank %d steps %d len %d reduce_calls %d buckets %d"):format(D.rank(), steps, seq:len(), s.reduce_calls, s.buckets))
]]

local COLLECTIVES = [[
local D = dnn.distributed
local r, n = D.rank(), D.size()
local function show(name, t)
  local v = {}
  for i, x in ipairs(t:reshape(-1):totable()) do v[i] = ("%g"):format(x) end
  print(("rank %d %s %s"):format(r, name, table.concat(v, ",")))
end
show("sum", D.allreduce(dnn.tensor({1.5, 2}, {dtype="float32"}) * (r + 1), "sum"))
show("avg", D.allreduce(dnn.tensor({1, 3}, {dtype="float64"}) * (r + 1), "average"))
show("max", D.allreduce(dnn.tensor({r, 10 - r}), "max"))
local a, b = dnn.ones(3) * r, dnn.ones(2, 2, {dtype="float64"}) * r
D.allreduce_({a, b}, "sum")
show("fused", dnn.cat({a, b:float():reshape(-1)}))
show("bcast", D.broadcast(dnn.tensor({r, r}), 1))
show("gather", D.allgather(dnn.ones(r + 1, 2) * r))
D.barrier()
print(("rank %d of %d local %d/%d backend %s"):format(r, n, D.local_rank(), D.local_size(), D.backend()))
local ok, err = pcall(D.allreduce, dnn.ones(r + 3), "sum")
print(("rank %d mismatch %s %s"):format(r, tostring(ok), err))
show("after", D.allreduce(dnn.ones(2), "sum"))
]]

local MISMATCH = [[
local D = dnn.distributed
local units = D.rank() == 0 and 16 or 17
local model = dnn.Sequential{dnn.layers.Dense{units, input_shape={4}}, dnn.layers.Dense{1}}
model:compile{optimizer=D.DistributedOptimizer("sgd"), loss="mse"}
model:fit{x=dnn.randn(32, 4), y=dnn.randn(32, 1), epochs=1, batch_size=8, verbose=0}
print("fit returned")
]]

-- fit(Sequence, shuffle=true) with different generators on the replicas
local SEQSHUF = [[
local D = dnn.distributed
local Seq = dnn.data.Sequence:extend("S")
local seen = {}
function Seq:len() return 6 end
function Seq:get(i)
  seen[#seen + 1] = i
  return dnn.full({ 2, 1 }, i + 0.0), dnn.full({ 2, 1 }, i + 0.0)
end
local m = dnn.Sequential{dnn.layers.Dense{1, input_shape={1}}}
m:compile{optimizer=D.DistributedOptimizer("sgd"), loss="mse"}
dnn.manual_seed(D.rank() == 0 and 1 or 99)
m:fit{x=Seq(), epochs=3, verbose=0, shuffle=true}
print(("rank %d: %s"):format(D.rank(), table.concat(seen, " ")))
]]

-- a hand loop whose replicas built different variables
local VARS = [[
local D = dnn.distributed
local units = D.rank() == 0 and 4 or 5
local m = dnn.Sequential{dnn.layers.Dense{units, input_shape={3}}, dnn.layers.Dense{1}}
local opt = D.DistributedOptimizer("sgd")
local tape = dnn.GradientTape()
local loss = m(dnn.randn(4, 3)):sum()
local vars = m.trainable_variables
local ok, err = pcall(opt.apply_gradients, opt, tape:gradient(loss, vars), vars)
print(("rank %d: %s"):format(D.rank(), err))
]]

-- replica 1 dies, hangs or fails in the middle of training
local FAILURE = [[
local D = dnn.distributed
local mode = arg[1]
local model = dnn.Sequential{dnn.layers.Dense{8, input_shape={4}}, dnn.layers.Dense{1}}
model:compile{optimizer=D.DistributedOptimizer("sgd"), loss="mse"}
local cb = { on_train_batch_end = function(_, batch)
  if D.rank() == 1 and batch == 3 then
    if mode == "die" then
      local pid = io.open("/proc/self/stat"):read("n")
      os.execute("kill -9 " .. pid)
    elseif mode == "hang" then
      os.execute("sleep 60")
    else
      error("replica 1 fails here")
    end
  end
end }
model:fit{x=dnn.randn(4000, 4), y=dnn.randn(4000, 1), epochs=100, batch_size=4, verbose=0, callbacks={cb}}
print("rank " .. D.rank() .. " finished")
]]

-- BackupAndRestore across replicas: crash at epoch 3, rerun resumes.
local RESUME = [[
local D = dnn.distributed
local dir, crash, out = arg[1], arg[2] == "crash", arg[3]
dnn.manual_seed(9)
local x = dnn.randn(96, 5)
local y = x:narrow(2, 1, 1):sin()
local model = dnn.Sequential{dnn.layers.Dense{8, activation="tanh", input_shape={5}}, dnn.layers.Dense{1}}
model:compile{optimizer=D.DistributedOptimizer(dnn.optimizers.Adam{learning_rate=0.01}), loss="mse"}
local cbs = { dnn.callbacks.BackupAndRestore(dir) }
if crash then
  cbs[2] = { on_epoch_begin = function(_, epoch) if epoch == 3 then error("simulated crash") end end }
end
model:fit{x=x, y=y, epochs=5, batch_size=8, verbose=0, callbacks=cbs}
if D.rank() == 0 then dnn.save(out, model:get_weights()) end
print("rank " .. D.rank() .. " done")
]]

-- ---------------------------------------------------------------- specs

describe("dnn.distributed as one replica (no mpirun)", function()
  it("is rank 0 of 1 and the collectives return their input", function()
    assert.are.equal(0, D.rank())
    assert.are.equal(1, D.size())
    assert.are.equal(0, D.local_rank())
    local t = dnn.tensor({ 1.5, -2 }, { dtype = "float32" })
    assert.are.same({ 1.5, -2 }, D.allreduce(t, "average"):totable())
    assert.are.same({ 1.5, -2 }, D.allreduce(t, "sum"):totable())
    assert.are.same({ 1.5, -2 }, D.broadcast(t, 0):totable())
    assert.are.same({ { 1.5, -2 } }, D.allgather(t:view(1, 2)):totable())
    assert.are.same({ { a = 1 } }, D.allgather_object({ a = 1 }))
    D.barrier()
    assert.has_error(function() D.broadcast(t, 1) end, "broadcast: root 1 is not a rank (ranks are 0..0)")
    assert.has_error(function() D.allreduce(t, "median") end,
      "allreduce: unknown op 'median' (ops: sum, average, min, max, prod)")
    assert.has_error(function() D.allreduce(dnn.tensor({ 1, 2 }), "average") end,
      "allreduce: op 'avg' needs floating-point tensors, tensor 1 is int64; use 'sum'")
  end)

  it("DistributedOptimizer trains exactly like the optimizer it wraps", function()
    local function train(wrap)
      dnn.manual_seed(1)
      local m = dnn.Sequential { dnn.layers.Dense { 4, activation = "relu", input_shape = { 3 } }, dnn.layers.Dense { 1 } }
      local opt = dnn.optimizers.Adam { learning_rate = 0.01 }
      if wrap then opt = D.DistributedOptimizer(opt) end
      m:compile { optimizer = opt, loss = "mse" }
      m:fit { x = dnn.randn(40, 3), y = dnn.randn(40, 1), epochs = 2, batch_size = 8, verbose = 0 }
      return m:get_weights(), opt
    end
    local a = train(false)
    local b, opt = train(true)
    assert.are.equal(0, max_rel_diff(a, b))
    assert.are.equal("Adam", require("dnn.class").name(opt))
    assert.are.equal(10, opt.iterations)
    assert.has_error(function() D.DistributedOptimizer(42) end,
      "DistributedOptimizer: expected an optimizer (dnn.optimizers.Adam{...}, \"adam\"), got number")
  end)

  it("shard splits each global batch of from_tensors into per-replica slices", function()
    local x = dnn.arange(1, 12):view(11, 1):float()
    local base = function() return dnn.data.from_tensors { x, x, batch_size = 2 } end
    local s0 = D.shard(base(), { rank = 0, size = 2 })
    local s1 = D.shard(base(), { rank = 1, size = 2 })
    -- global batches of 4 rows: 1-4, 5-8, then 9-11 split 2 + 1
    assert.are.equal(3, s0:len())
    assert.are.same({ { 1 }, { 2 } }, (s0:get(1)):totable())
    assert.are.same({ { 3 }, { 4 } }, (s1:get(1)):totable())
    assert.are.same({ { 7 }, { 8 } }, (s1:get(2)):totable())
    assert.are.same({ { 9 }, { 10 } }, (s0:get(3)):totable())
    assert.are.same({ { 11 } }, (s1:get(3)):totable())
    -- with a seed both replicas slice the same shuffled order, and together
    -- they see every sample of the epoch once
    local seen = {}
    for _, r in ipairs({ 0, 1 }) do
      local s = D.shard(dnn.data.from_tensors { x, x, batch_size = 2, shuffle = true, seed = 4 }, { rank = r, size = 2 })
      for i = 1, s:len() do
        for _, v in ipairs((s:get(i)):reshape(-1):totable()) do seen[#seen + 1] = v end
      end
    end
    table.sort(seen)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, seen)
    -- other Sequences: by batch, leftovers dropped
    local plain = { len = function() return 5 end, get = function(_, i) return dnn.tensor({ i }), dnn.tensor({ i }) end }
    local p1 = D.shard(plain, { rank = 1, size = 2 })
    assert.are.equal(2, p1:len())
    assert.are.same({ 4 }, (p1:get(2)):totable())
    assert.has_error(function() D.shard(plain, { rank = 0, size = 9 }) end,
      "shard: the Sequence has 5 batches, fewer than the 9 replicas")
  end)
end)

-- Run on a GPU machine (scripts/gpu_run; `busted --tags gpu`): one replica,
-- NCCL as a communicator of one.
describe("dnn.distributed on a GPU (NCCL) #gpu", function()
  local gpu = type(dnn.cuda) == "table" and type(dnn.cuda.is_available) == "function" and dnn.cuda.is_available()
  if not gpu or not D.nccl_built() then
    pending(not gpu and "no GPU here" or "this build has no NCCL (nccl.h not found at configure time)")
    return
  end

  it("the self-test reduces in device memory #gpu", function()
    local got, want = D.nccl_selftest(1 << 20)
    assert.are.equal(want, got)
  end)

  it("allreduce and broadcast of cuda tensors go through NCCL #gpu", function()
    local t = dnn.tensor({ 1.5, -2 }, { dtype = "float32" }):cuda()
    assert.are.same({ 1.5, -2 }, D.allreduce(t, "average"):cpu():totable())
    D.allreduce_(t, "sum")
    D.broadcast_(t, 0)
    assert.are.same({ 1.5, -2 }, t:cpu():totable())
  end)
end)

describe("dnn.distributed under mpirun -np 2", function()
  setup(scratch.setup)
  teardown(scratch.teardown)

  if why_pending then
    pending("skipped: " .. why_pending)
    return
  end

  it("runs the collectives across replicas", function()
    local out, code = mpirun(2, write("coll.lua", COLLECTIVES))
    assert.are.equal(0, code, out)
    for r = 0, 1 do
      local p = "rank " .. r .. " "
      assert.truthy(out:find(p .. "sum 4.5,6\n", 1, true), out)
      assert.truthy(out:find(p .. "avg 1.5,4.5\n", 1, true), out)
      assert.truthy(out:find(p .. "max 1,10\n", 1, true), out)
      assert.truthy(out:find(p .. "fused 1,1,1,1,1,1,1\n", 1, true), out)
      assert.truthy(out:find(p .. "bcast 1,1\n", 1, true), out)
      assert.truthy(out:find(p .. "gather 0,0,1,1,1,1\n", 1, true), out)
      assert.truthy(out:find(p .. "of 2 local " .. r .. "/2 backend mpi", 1, true), out)
      assert.truthy(out:find(p .. "mismatch false allreduce: the replicas passed different tensors (every replica "
        .. "must pass the same dtypes and shapes in the same order); rank 0: 1 tensor: float32 [3]; rank 1: 1 "
        .. "tensor: float32 [4]", 1, true), out)
      assert.truthy(out:find(p .. "after 2,2\n", 1, true), out)
    end
  end)

  it("2 replicas with batch B end with the weights of 1 process with batch 2B (fit, 20 steps)", function()
    local script = write("fit.lua", FIT)
    for _, optname in ipairs({ "sgd", "adam" }) do
      local one, two = path("one_" .. optname .. ".h5"), path("two_" .. optname .. ".h5")
      local out1, c1 = run(("%s %s %s %s 170 16 %s"):format(q(DNNLUA), q(script), q(one), optname, q(scratch.dir)))
      assert.are.equal(0, c1, out1)
      os.execute("rm -f " .. q(scratch.dir) .. "/log_* " .. q(scratch.dir) .. "/cb_*")
      local out2, c2 = mpirun(2, script, ("%s %s 170 16 %s"):format(q(two), optname, q(scratch.dir)))
      assert.are.equal(0, c2, out2)
      local a, b = dnn.load(one), dnn.load(two)
      assert.is_true(max_rel_diff(a.weights, b.weights) <= 1e-5, optname .. " " .. max_rel_diff(a.weights, b.weights))
      -- metrics and validation of all replicas: the single process's numbers
      for _, k in ipairs({ "loss", "val_loss", "mae" }) do
        for e = 1, 2 do
          assert.is_true(math.abs(a[k][e] - b[k][e]) <= 1e-5 * math.abs(a[k][e]), k .. e)
        end
      end
      -- both replicas report the same numbers; only rank 0 prints and writes
      local l0 = out2:match("rank 0 (loss %S+ val_loss %S+)")
      assert.are.equal(l0, out2:match("rank 1 (loss %S+ val_loss %S+)"))
      assert.are.equal(2, count(out2, "Epoch %d/2"), out2)
      assert.is_truthy(io.open(path("log_0.csv")), "rank 0 writes its CSV log")
      assert.is_falsy(io.open(path("log_1.csv")), "rank 1 must not write")
      assert.is_truthy(io.open(path("cb_0")))
      assert.is_falsy(io.open(path("cb_1")))
    end
  end)

  it("a hand-written loop on a sharded Sequence with uneven last batches matches one process", function()
    local script = write("loop.lua", LOOP)
    local one, two = path("loop1.h5"), path("loop2.h5")
    local out1, c1 = run(("%s %s %s 16"):format(q(DNNLUA), q(script), q(one)))
    assert.are.equal(0, c1, out1)
    local out2, c2 = mpirun(2, script, q(two) .. " 16")
    assert.are.equal(0, c2, out2)
    assert.is_true(max_rel_diff(dnn.load(one), dnn.load(two)) <= 1e-5)
    -- 171 samples: 10 global batches of 16 and one of 11 (6 + 5) per epoch
    assert.truthy(out2:find("rank 1 steps 20 len 11", 1, true), out2)
    -- one gradient message per step (the model fits one bucket), plus the count exchange
    assert.truthy(out2:find("reduce_calls 40 buckets 40", 1, true), out2)
  end)

  it("resumes a crashed run (BackupAndRestore on rank 0) with the same number of replicas", function()
    local script = write("resume.lua", RESUME)
    local ref, resumed = path("ref.h5"), path("resumed.h5")
    local out0, c0 = mpirun(2, script, ("%s plain %s"):format(q(path("bk_ref")), q(ref)))
    assert.are.equal(0, c0, out0)
    local out1, c1 = mpirun(2, script, ("%s crash %s"):format(q(path("bk")), q(resumed)))
    assert.are_not.equal(0, c1)
    assert.truthy(out1:find("simulated crash", 1, true), out1)
    assert.is_truthy(io.open(path("bk/backup.h5")), out1)
    local out2, c2 = mpirun(2, script, ("%s plain %s"):format(q(path("bk")), q(resumed)))
    assert.are.equal(0, c2, out2)
    assert.is_true(max_rel_diff(dnn.load(ref), dnn.load(resumed)) <= 1e-6)
  end)

  it("replicas whose models differ stop with an error on every rank naming the difference", function()
    local out, code, secs = mpirun(2, write("mismatch.lua", MISMATCH))
    assert.are_not.equal(0, code)
    assert.is_true(secs < 60, "took " .. secs .. " s")
    local msg = "fit: the replicas' models differ (every replica must build the same architecture): rank 0 has 4 "
      .. "weights (97 parameters), rank 1 has 4 weights (103 parameters); first difference: weight 1 (kernel) is "
      .. "float32[4, 16] on rank 0 and float32[4, 17] on rank 1"
    assert.are.equal(2, count(out, msg:gsub("%p", "%%%0")), out)
    assert.is_falsy(out:find("fit returned", 1, true))
  end)

  it("fit over a shuffled Sequence: each epoch the replicas split one shared batch order", function()
    local out, code = mpirun(2, write("seqshuf.lua", SEQSHUF))
    assert.are.equal(0, code, out)
    local a = {}
    for w in out:match("rank 0: ([%d ]+)"):gmatch("%d+") do a[#a + 1] = tonumber(w) end
    local b = {}
    for w in out:match("rank 1: ([%d ]+)"):gmatch("%d+") do b[#b + 1] = tonumber(w) end
    assert.are.equal(9, #a, out)
    assert.are.equal(9, #b, out)
    for e = 0, 2 do
      local all = {}
      for k = 1, 3 do all[#all + 1] = a[3 * e + k]; all[#all + 1] = b[3 * e + k] end
      table.sort(all)
      assert.are.same({ 1, 2, 3, 4, 5, 6 }, all)
    end
  end)

  it("DistributedOptimizer names variables that differ between replicas", function()
    local out, code = mpirun(2, write("vars.lua", VARS))
    assert.are.equal(0, code, out)
    local msg = "SGD.apply_gradients: the replicas' variables differ (every replica must build the same "
      .. "architecture): rank 0 has 4 weights (21 parameters), rank 1 has 4 weights (26 parameters); first "
      .. "difference: weight 1 (variable 1) is float32[3, 4] on rank 0 and float32[3, 5] on rank 1"
    assert.truthy(out:find("rank 0: " .. msg, 1, true), out)
    assert.truthy(out:find("rank 1: " .. msg, 1, true), out)
  end)

  for _, mode in ipairs({ "die", "hang", "fail" }) do
    it("a replica that " .. mode .. "s stops the others within a bounded time", function()
      local out, code, secs = mpirun(2, write("failure.lua", FAILURE), mode, "DNN_DIST_TIMEOUT=3")
      assert.are_not.equal(0, code, out)
      assert.is_true(secs < 40, "took " .. secs .. " s: " .. out)
      assert.is_falsy(out:find("finished", 1, true), out)
      if mode == "die" then
        assert.truthy(out:find("exited on signal 9", 1, true), out)
      elseif mode == "hang" then
        assert.truthy(out:find("no answer from the other replicas after", 1, true), out)
      else
        assert.truthy(out:find("replica 1 fails here", 1, true), out)
      end
    end)
  end
end)
