-- The training run that spec/train_resume_spec.lua and scripts/bench/train_soak
-- kill and restart: dropout, weighted random sampling with noise drawn in
-- the loader, an lr value policy, a hyperparameter policy, 2 threads,
-- checkpoints every epoch and every 5 iterations, logs.  Rerunning it with
-- the same directory resumes; when it completes it writes the final weights
-- to <dir>/final.h5 and prints "DONE <epochs> <steps>".
--
--   dnnlua scripts/bench/train_soak.lua <dir> [source] [n_epochs]
--     source: "ids" (load_by_random_id: exact state), "coroutine" (an
--     Infinite over a coroutine: replayed) or "function" (a plain batch_iter
--     function per epoch: replayed from the epoch's start)
--   TRAIN_SELFKILL=<save>:<write>: SIGKILL this process at the <write>-th
--     HDF5 write of its <save>-th checkpoint (0: right after the rotation,
--     before the new file has anything) -- a kill in the middle of a save.
local dnn = require "dnn"
local T = dnn.train
local L = dnn.layers

local dir, source, n_epochs = arg[1], arg[2] or "ids", tonumber(arg[3] or "4")
assert(dir, "usage: train_soak.lua <dir> [ids|coroutine|function] [n_epochs]")
n_epochs = math.tointeger(n_epochs)

dnn.set_num_threads(2)
dnn.manual_seed(1234)

-- ---- a kill inside a checkpoint write, on request ----
local selfkill = os.getenv("TRAIN_SELFKILL")
if selfkill then
  local want_save, want_write = selfkill:match("^(%d+):(%d+)$")
  want_save, want_write = tonumber(want_save), tonumber(want_write)
  local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
  local function die() io.stdout:flush(); os.execute("kill -9 " .. pid); while true do end end
  local saves = 0
  local orig_save = T.Checkpoints.save
  T.Checkpoints.save = function(self, st)
    saves = saves + 1
    if saves == want_save and want_write == 0 then
      if self.latest_ok then os.rename(self.latest, self.prev) end
      die()
    end
    return orig_save(self, st)
  end
  local create = dnn.core.h5.create
  dnn.core.h5.create = function(...)
    local f = create(...)
    if saves ~= want_save then return f end
    local writes = 0
    return setmetatable({}, { __index = function(_, k)
      return function(_, ...)
        if k == "write_tensor" or k == "write_scalar" then
          writes = writes + 1
          if writes == want_write then die() end
        end
        return f[k](f, ...)
      end
    end })
  end
end

-- ---- data: 3 classes in 12 dimensions ----
local N = 240
local x = dnn.randn(N, 12)
local y = x:matmul(dnn.randn(12, 3)):argmax(-1) - 1
local ids, weights = {}, {}
for i = 1, N do ids[i], weights[i] = i, (i % 3) + 1 end

local function load_x(i) return x[i] + dnn.randn(12) * 0.1 end -- noise: the data stream
local function load_y(i) return y[i] end

local batch_iter
if source == "ids" then
  batch_iter = T.Infinite { T.load_by_random_id(load_x, load_y, { ids = ids, weights = weights }),
    batch_size = 16, batches_per_epoch = 12 }
elseif source == "coroutine" then
  local co = coroutine.create(function()
    while true do
      local i = dnn.randint(1, N + 1, { 1 })[1]
      coroutine.yield(load_x(i), load_y(i))
    end
  end)
  batch_iter = T.Infinite { co, batch_size = 16, n_iters_per_epoch = 12 }
elseif source == "function" then
  batch_iter = function()
    local perm = dnn.randperm(N)
    local k = 0
    return function()
      if k >= 12 then return nil end
      local idx = perm:narrow(1, k * 16 + 1, 16)
      k = k + 1
      return x:index_select(1, idx) + dnn.randn(16, 12) * 0.1, y:index_select(1, idx)
    end
  end
else
  error("unknown source " .. source)
end

local net = dnn.Sequential {
  L.Dense { 32, activation = "relu", input_shape = { 12 } },
  L.Dropout { 0.3 },
  L.Dense { 3 },
}
local model = T.TrainModel { net, activation = L.Softmax(),
  loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }, optimizer = dnn.optimizers.Adam }

local r = T.train_model { model, batch_iter, n_epochs = n_epochs,
  lr = T.Exponential { initial = 1e-2, multiplier = 0.7 },
  beta_1 = T.Switch { 0.9, { [2] = 0.8 } },
  log_path = dir .. "/logs", checkpoints_path = dir .. "/checkpoints", checkpoint_every = 5,
  validate = function() return { accuracy = (model:do_inf_step(x):argmax(-1) - 1):eq(y):float():mean():item() } end,
  policies = { T.DecreasingOnPlateau { initial = 1, multiplier = 0.5, patience = 0, rtol = 0, atol = 0 } },
}
dnn.save(dir .. "/final.h5", net:get_weights())
print(("DONE %d %d"):format(r.epochs, r.steps))
