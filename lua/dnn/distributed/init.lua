-- dnn.distributed: data-parallel training across processes (Horovod's
-- model): `mpirun -np N dnnlua train.lua` runs N replicas of the script;
-- each trains on its shard of the data and the gradients are averaged
-- across replicas before every update, so the replicas stay identical.
--
--   local D = dnn.distributed
--   D.init()                        -- automatic under mpirun; one replica otherwise
--   D.rank(), D.size(), D.local_rank(), D.local_size(), D.barrier()
--   D.allreduce(t, "sum")           -- new tensor; ops: sum, average, min, max, prod
--   D.allreduce_(t, "average")      -- in place (a list of tensors is fused)
--   D.broadcast(t, root), D.broadcast_(t, root), D.allgather(t)
--   local opt = D.DistributedOptimizer(dnn.optimizers.Adam{learning_rate=1e-3})
--   model:compile{optimizer=opt, ...}; model:fit{...}   -- fit shards, syncs, reports on rank 0
--
-- Ranks are 0-based ids, as in MPI and Horovod (rank 0 is the one that
-- prints and writes).  Without MPI, or not launched by mpirun, this is one
-- replica: rank 0 of 1, and every collective returns its input.
-- The design note is docs/distributed.md.
local dnn = require "dnn"
local class = require "dnn.class"
local core = dnn.core._dist

local M = {}

-- ---- the replica set ----

-- init{timeout=seconds}: starts MPI when launched by mpirun (idempotent).
-- timeout bounds every wait for the other replicas (default 300 s or
-- $DNN_DIST_TIMEOUT; <= 0 waits forever).
function M.init(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("distributed.init: expected an options table {timeout=}, got %s"):format(type(opts)), 2)
  end
  if opts and opts.timeout ~= nil then M.set_timeout(opts.timeout) end
  local ok, err = pcall(core.init)
  if not ok then error(err, 2) end
  return M
end

function M.set_timeout(seconds)
  if type(seconds) ~= "number" then
    error(("distributed: timeout must be a number of seconds, got %s"):format(type(seconds)), 2)
  end
  core.set_timeout(seconds)
end
M.timeout = core.timeout

M.is_initialized = core.initialized
M.mpi_built = core.mpi_compiled   -- this build has MPI
M.nccl_built = core.nccl_compiled -- this build has the NCCL path (GPU collectives)
M.launched = core.launched        -- started by an MPI launcher
M.backend = core.backend          -- "mpi" or "none"
M.processor_name = core.processor_name
M.stats = core.stats              -- {collectives=, reduce_calls=, buckets=, bytes=}

function M.rank() return core.rank() end
function M.size() return core.size() end
function M.local_rank() return core.local_rank() end
function M.local_size() return core.local_size() end
function M.is_main_process() return core.rank() == 0 end

local function ensure(fname)
  if not core.initialized() then
    local ok, err = pcall(core.init)
    if not ok then error(fname .. ": " .. tostring(err), 3) end
  end
end

function M.barrier()
  ensure("barrier")
  local ok, err = pcall(core.barrier)
  if not ok then error(err, 2) end
end

-- ---- tensor collectives ----

local function as_list(fname, t)
  if dnn.is_tensor(t) then return { t }, true end
  if type(t) ~= "table" or getmetatable(t) ~= nil and getmetatable(t).__name ~= "dnn.WeightList" then
    error(("%s: expected a tensor or a list of tensors, got %s"):format(fname, class.name(t)), 3)
  end
  local list = {}
  for i, v in ipairs(t) do
    if not dnn.is_tensor(v) then
      error(("%s: entry %d of the list is a %s, not a tensor"):format(fname, i, class.name(v)), 3)
    end
    list[i] = v
  end
  return list, false
end

local function call(fname, fn, ...)
  local ok, a = pcall(fn, ...)
  if not ok then error(a, 3) end
  return a
end

local function reduce(fname, t, op, opts, inplace)
  ensure(fname)
  local list, single = as_list(fname, t)
  if op ~= nil and type(op) ~= "string" then
    error(("%s: op must be a string (sum, average, min, max, prod), got %s"):format(fname, type(op)), 3)
  end
  opts = opts or {}
  local o = { op = op or "sum", inplace = inplace, bucket_bytes = opts.bucket_bytes,
              prescale = opts.prescale, divide_by = opts.divide_by }
  local out = call(fname, core.allreduce, list, o)
  if inplace then return t end
  if single then return out[1] end
  return out
end

-- allreduce(t, op="sum"[, {bucket_bytes=}]): the reduction over replicas
-- as a new tensor (a list of tensors gives a list, fused into few messages).
function M.allreduce(t, op, opts) return reduce("allreduce", t, op, opts, false) end
-- allreduce_(t, op="sum"): the same, written into t.
function M.allreduce_(t, op, opts) return reduce("allreduce_", t, op, opts, true) end

local function bcast(fname, t, root, opts)
  ensure(fname)
  local list, single = as_list(fname, t)
  root = root or 0
  if math.type(root) ~= "integer" then
    error(("%s: root must be a rank (an integer 0..%d), got %s"):format(fname, core.size() - 1, tostring(root)), 3)
  end
  call(fname, core.broadcast, list, root, opts and opts.bucket_bytes or 0)
  return single and list[1] or list
end

-- broadcast_(t, root=0): overwrites t (or each tensor of a list) with root's values.
function M.broadcast_(t, root, opts) return bcast("broadcast_", t, root, opts) end

-- broadcast(t, root=0): root's value as a new tensor (t is the template elsewhere).
function M.broadcast(t, root, opts)
  local list, single = as_list("broadcast", t)
  local copies = {}
  for i, v in ipairs(list) do copies[i] = v:detach():clone() end
  bcast("broadcast", copies, root, opts)
  return single and copies[1] or copies
end

-- allgather(t): every replica's t concatenated along dim 1 in rank order
-- (the first dims may differ; a 0-d tensor counts as one row).
function M.allgather(t)
  ensure("allgather")
  if not dnn.is_tensor(t) then error(("allgather: expected a tensor, got %s"):format(class.name(t)), 2) end
  return call("allgather", core.allgather, t)
end

-- Lua values (strings, numbers, booleans, plain tables of them) by JSON.
function M.allgather_object(v)
  ensure("allgather_object")
  local strings = call("allgather_object", core.allgather_string, dnn.json.encode(v))
  local out = {}
  for r, s in ipairs(strings) do out[r] = dnn.json.decode(s) end
  return out
end

function M.broadcast_object(v, root)
  ensure("broadcast_object")
  root = root or 0
  if math.type(root) ~= "integer" or root < 0 or root >= core.size() then
    error(("broadcast_object: root must be a rank 0..%d, got %s"):format(core.size() - 1, tostring(root)), 2)
  end
  local s = core.rank() == root and dnn.json.encode(v) or ""
  local strings = call("broadcast_object", core.allgather_string, s)
  return dnn.json.decode(strings[root + 1])
end

-- Ends every replica at once (after an error that leaves them out of step).
function M.abort(code)
  if core.initialized() and core.backend() == "mpi" then core.abort(code or 1) end
  os.exit(code or 1)
end

-- Reduces 1..size in GPU memory through NCCL: got, want (needs a GPU).
function M.nccl_selftest(count)
  ensure("nccl_selftest")
  local ok, got, want = pcall(core.nccl_selftest, count)
  if not ok then error(got, 2) end
  return got, want
end

-- ---- models and optimizers ----

local sync = require "dnn.distributed.sync"
M.check_model = sync.check_model
M.broadcast_variables = sync.broadcast_variables
M.broadcast_parameters = sync.broadcast_parameters
M.broadcast_optimizer_state = sync.broadcast_optimizer_state
M.reduce_metrics = sync.reduce_metrics

M.DistributedOptimizer = require "dnn.distributed.DistributedOptimizer"
local shard = require "dnn.distributed.shard"
M.shard = shard.shard
M.ShardedSequence = shard.ShardedSequence
M.fit_strategy = require("dnn.distributed.fit").strategy

dnn.distributed = M

-- Under mpirun every replica joins at startup (MPI_Init is collective).
if core.launched() and not core.initialized() then
  local ok, err = pcall(core.init)
  if not ok then error("dnn.distributed: " .. tostring(err), 0) end
end

return M
