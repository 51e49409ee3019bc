-- train_model's checkpoints: a run killed with SIGKILL at random moments
-- (some inside a checkpoint write) and restarted ends with the weights and
-- the logs of an uninterrupted run, bit for bit; damaged checkpoints, other
-- models, failing policies and early stops behave as documented.
local dnn = require "dnn"
local check = require "support.check"
local T = dnn.train
local L = dnn.layers

local ROOT = os.getenv("DNN_ROOT") or "/work/main"
local RUNNER = os.getenv("DNNLUA") or (ROOT .. "/build/dnnlua")
local CHILD = ROOT .. "/scripts/bench/train_soak.lua"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  return out
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function identical(a, b)
  if #a ~= #b then return false, ("%d weights vs %d"):format(#a, #b) end
  for i = 1, #a do
    if a[i]:size() ~= b[i]:size() then return false, "shapes differ at " .. i end
    local d = (a[i]:double() - b[i]:double()):abs():max():item()
    if d ~= 0 then return false, ("weight %d differs by %g"):format(i, d) end
  end
  return true
end

-- The CSV log without its wall_time column.
local function csv_scalars(dir)
  local rows = {}
  for line in io.lines(dir .. "/logs/scalars.csv") do rows[#rows + 1] = line:gsub("^[^,]*,", "") end
  return table.concat(rows, "\n")
end

describe("train_model resume after SIGKILL", function()
  for _, source in ipairs({ "ids", "coroutine", "function" }) do
    it(("ends bitwise where an uninterrupted run ends (%s source, 2 threads)"):format(source), function()
      local ref, dir = tmpdir(), tmpdir()
      local function child(d, env)
        return sh(("%s %s %s %s %s 6"):format(env or "", RUNNER, CHILD, d, source))
      end
      local out = child(ref)
      assert.truthy(out:find("DONE 6 72", 1, true), out)
      local log = {}
      -- killed inside a checkpoint write, and right after the rotation
      log[#log + 1] = child(dir, "TRAIN_SELFKILL=4:5")
      log[#log + 1] = child(dir, "TRAIN_SELFKILL=3:0")
      -- killed at random moments
      math.randomseed(os.time())
      for _ = 1, 3 do
        local delay = 0.1 + math.random() * 0.5
        local out_file = dir .. ".out"
        sh(("%s %s %s %s 6 > %s 2>&1 & pid=$!; sleep %.3f; kill -9 $pid 2>/dev/null; wait $pid")
          :format(RUNNER, CHILD, dir, source, out_file, delay))
        log[#log + 1] = read_file(out_file) or ""
        os.remove(out_file)
      end
      log[#log + 1] = child(dir)
      local all = table.concat(log, "\n")
      assert.truthy(all:find("DONE 6 72", 1, true), all)
      local _, resumes = all:gsub("resuming from", "")
      assert.is_true(resumes >= 2, all)
      local ok, why = identical(dnn.load(ref .. "/final.h5"), dnn.load(dir .. "/final.h5"))
      assert.is_true(ok, (why or "") .. "\n" .. all)
      assert.are.equal(csv_scalars(ref), csv_scalars(dir))
      os.execute(("rm -rf '%s' '%s'"):format(ref, dir))
    end)
  end
end)

-- ---------- in-process runs ----------

local function setup(o)
  o = o or {}
  dnn.manual_seed(7)
  local x = dnn.randn(96, 6)
  local y = x:sum(2, true):gt(0):long():view(-1)
  local net = dnn.Sequential {
    o.unbuilt and L.Dense { o.units or 16, activation = "relu" }
      or L.Dense { o.units or 16, activation = "relu", input_shape = { 6 } },
    L.Dropout { 0.25 },
    L.Dense { 2 },
  }
  local model = T.TrainModel { net, loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true },
    optimizer = o.optimizer or dnn.optimizers.Adam }
  local ids = {}
  for i = 1, 96 do ids[i] = i end
  local it = T.Infinite { T.load_by_random_id(function(i) return x[i] end, function(i) return y[i] end, { ids = ids }),
    batch_size = 8, batches_per_epoch = o.batches or 4 }
  return model, it, net
end

local function run(dir, n_epochs, o)
  o = o or {}
  local model, it, net = setup(o)
  local r = T.train_model { model, it, n_epochs = n_epochs, lr = T.Exponential { 1e-2, 0.8 },
    checkpoints_path = dir and (dir .. "/ck") or nil, log_path = dir and (dir .. "/logs") or nil, quiet = true,
    gradient_accumulation_steps = o.gas, policies = o.policies or {} }
  return net:get_weights(), r
end

describe("train_model checkpoints", function()
  it("continue a finished run with a larger n_epochs exactly, an unbuilt architecture too", function()
    for _, unbuilt in ipairs({ false, true }) do
      local want = run(nil, 3, { unbuilt = unbuilt })
      local dir = tmpdir()
      run(dir, 2, { unbuilt = unbuilt })
      local got, r = run(dir, 3, { unbuilt = unbuilt })
      assert.truthy(r.messages[1]:find("at epoch 3, iteration 0", 1, true), r.messages[1])
      assert.is_true(identical(want, got))
      local again, r2 = run(dir, 3, { unbuilt = unbuilt })
      assert.truthy(r2.messages[1]:find("is complete", 1, true), r2.messages[1])
      assert.is_true(identical(want, again)) -- the final state comes back
      os.execute("rm -rf '" .. dir .. "'")
    end
  end)

  it("keep accumulated gradients across a checkpoint", function()
    local want = run(nil, 4, { gas = 3 })
    local dir = tmpdir()
    run(dir, 2, { gas = 3 }) -- 8 steps: 2 accumulated when saved
    local got = run(dir, 4, { gas = 3 })
    assert.is_true(identical(want, got))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("keep the newest two, fall back from a damaged newest one and say so", function()
    local want = run(nil, 3)
    for _, damage in ipairs({ "truncate", "garble" }) do
      local dir = tmpdir()
      run(dir, 2)
      local latest = dir .. "/ck/checkpoint.h5"
      assert.truthy(read_file(dir .. "/ck/checkpoint.prev.h5"))
      local bytes = read_file(latest)
      local f = io.open(latest, "wb")
      if damage == "truncate" then
        f:write(bytes:sub(1, #bytes // 2))
      else
        f:write(bytes:sub(1, 200), string.rep("\0", 4000), bytes:sub(4201))
      end
      f:close()
      local got, r = run(dir, 3)
      local msg = table.concat(r.messages, "\n")
      assert.truthy(msg:find("the newest checkpoint " .. latest .. " cannot be read", 1, true), msg)
      assert.truthy(msg:find("resuming from the previous one", 1, true), msg)
      assert.is_true(identical(want, got))
      os.execute("rm -rf '" .. dir .. "'")
    end
  end)

  it("refuse to start over when no checkpoint reads back", function()
    local dir = tmpdir()
    run(dir, 2)
    for _, name in ipairs({ "checkpoint.h5", "checkpoint.prev.h5" }) do
      local f = io.open(dir .. "/ck/" .. name, "wb")
      f:write("not hdf5")
      f:close()
    end
    check.fails_with(function() run(dir, 3) end, "no checkpoint in " .. dir .. "/ck can be read")
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("of another architecture or optimizer: an error saying what differs, nothing overwritten", function()
    local dir = tmpdir()
    run(dir, 2)
    local before = { read_file(dir .. "/ck/checkpoint.h5"), read_file(dir .. "/ck/checkpoint.prev.h5"),
                     read_file(dir .. "/logs/scalars.csv") }
    check.fails_with(function() run(dir, 3, { units = 8 }) end, "cannot resume from " .. dir .. "/ck/checkpoint.h5",
      "architecture", "weight 1 is kernel [6, 16] float32 in the checkpoint, kernel [6, 8] float32 here")
    check.fails_with(function() run(dir, 3, { units = 8, unbuilt = true }) end, "cannot resume from",
      "kernel [6, 16] float32 in the checkpoint, kernel [6, 8] float32 here")
    check.fails_with(function() run(dir, 3, { optimizer = dnn.optimizers.SGD }) end,
      "optimizer: the checkpoint has Adam, this model SGD")
    check.fails_with(function() run(dir, 3, { optimizer = dnn.optimizers.Adam { beta_2 = 0.99 } }) end,
      "optimizer Adam: beta_2 is 0.999 in the checkpoint, 0.99 here")
    local after = { read_file(dir .. "/ck/checkpoint.h5"), read_file(dir .. "/ck/checkpoint.prev.h5"),
                    read_file(dir .. "/logs/scalars.csv") }
    for i = 1, 3 do assert.is_true(before[i] == after[i], "file " .. i .. " changed") end
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("stay intact when a policy fails, and the run resumes from them", function()
    local want = run(nil, 4)
    local dir = tmpdir()
    local fail = true -- not a field: fields are the policy's state, restored on resume
    local Flaky = T.Policy:extend("Flaky")
    function Flaky:epoch_started(e) if e == 2 and fail then error("disk on fire") end end
    check.fails_with(function() run(dir, 4, { policies = { Flaky() } }) end,
      "policy 'policies[1]' (Flaky) failed in epoch_started", "disk on fire")
    local st = dnn.load(dir .. "/ck/checkpoint.h5")
    assert.are.equal(2, st.epoch)
    assert.are.equal(0, st.iteration)
    fail = false
    local got, r = run(dir, 4, { policies = { Flaky() } })
    assert.truthy(r.messages[1]:find("at epoch 3, iteration 0", 1, true), r.messages[1])
    assert.is_true(identical(want, got))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("record an early stop: the rerun restores the final weights and trains no more", function()
    local dir = tmpdir()
    local Stop = T.Policy:extend("StopAt1")
    function Stop:epoch_finished(e) if e == 1 then error(T.EarlyStopping("enough")) end end
    local w1, r1 = run(dir, 10, { policies = { Stop() } })
    assert.is_true(r1.stopped)
    assert.are.equal(2, r1.epochs)
    local w2, r2 = run(dir, 10, { policies = { Stop() } })
    assert.is_true(r2.stopped)
    assert.are.equal(8, r2.steps)
    assert.truthy(r2.messages[1]:find("complete (stopped early after 2 epochs)", 1, true), r2.messages[1])
    assert.is_true(identical(w1, w2))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("need a model that saves its state", function()
    check.fails_with(function()
      T.train_model { { do_train_step = function() return 1 end }, function() return { { 1 } } end,
        n_epochs = 1, checkpoints_path = tmpdir() }
    end, "checkpoints_path needs a model with get_state() and set_state(state)")
  end)
end)
