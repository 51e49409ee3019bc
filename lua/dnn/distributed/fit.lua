-- Model:fit across replicas.  fit asks strategy(model) once; with more than
-- one replica and a DistributedOptimizer it gets an object whose hooks keep
-- the replicas in step:
--   setup        shards the training data (and validation), leaves the
--                progress bar and the writing callbacks to rank 0
--   train_begin  checks the architecture, then copies rank 0's weights,
--                optimizer state, random generator, data order and resume
--                epoch (a BackupAndRestore that ran on rank 0) to all
--   logs         metrics of all replicas (from summed metric state)
--   stop         stop_training / Ctrl-C on any replica stops all of them
--   finish       undoes setup's changes to the callbacks
local dnn = require "dnn"
local class = require "dnn.class"
local sync = require "dnn.distributed.sync"
local shard = require "dnn.distributed.shard"
local core = dnn.core._dist

local M = {}

-- Callbacks that print or write files: rank 0 alone runs them.  A callback
-- of another class can say so itself with `rank0_only = true` (or keep
-- itself everywhere with `all_ranks = true`).
local RANK0_ONLY = { ProgbarLogger = true, CSVLogger = true, ModelCheckpoint = true, BackupAndRestore = true,
  TensorBoard = true, RemoteMonitor = true }

local Strategy = class.Object:extend("DistributedFit")

local warned = false

-- The strategy for fitting `model`, or nil for a plain fit.
function M.strategy(model)
  if not core.initialized() or core.size() == 1 then return nil end
  local opt = model.optimizer
  if not (type(opt) == "table" and rawget(opt, "_distributed")) then
    if not warned and core.rank() == 0 then
      warned = true
      io.stderr:write(("fit: %d replicas are running but the optimizer is not a DistributedOptimizer, so each "
        .. "replica trains on its own; wrap it: dnn.distributed.DistributedOptimizer(opt)\n"):format(core.size()))
    end
    return nil
  end
  return Strategy(model)
end

function Strategy:init(model)
  self.model = model
  self.rank, self.size = core.rank(), core.size()
  self.silenced = {}
end

local function keep_on_other_ranks(cb)
  if type(cb) ~= "table" then return true end
  if cb.all_ranks then return true end
  if cb.rank0_only then return false end
  local c = class.of(cb)
  return not (c and RANK0_ONLY[class.name(cb)])
end

-- Returns the sharded sequences, the verbosity and the callbacks to use.
function Strategy:setup(seq, val_seq, verbose, callbacks)
  local train = shard.shard(seq, { mode = "train" })
  local val = val_seq
  -- validation is split only when every replica gets a batch; otherwise
  -- each replica evaluates all of it (same numbers everywhere)
  if val_seq and val_seq:len() ~= math.huge and val_seq:len() >= self.size then
    val = shard.shard(val_seq, { mode = "eval" })
    self.val_sharded = true
  end
  if self.rank == 0 then return train, val, verbose, callbacks end
  local kept = {}
  for _, cb in ipairs(callbacks or {}) do
    if keep_on_other_ranks(cb) then
      kept[#kept + 1] = cb
      if type(cb) == "table" and type(rawget(cb, "verbose")) == "number" and cb.verbose > 0 then
        self.silenced[#self.silenced + 1] = { cb, cb.verbose }
        cb.verbose = 0
      end
    end
  end
  return train, val, 0, kept
end

-- After on_train_begin (a BackupAndRestore may have restored rank 0).
function Strategy:train_begin(seq)
  local m = self.model
  sync.check_model(m, "fit")
  local meta = { resume = m._resume_epoch or false,
                 seq = (seq and seq.get_state) and seq:get_state() or false }
  local s = core.allgather_string(self.rank == 0 and dnn.json.encode(meta) or "")
  meta = dnn.json.decode(s[1])
  local rng = dnn.get_rng_state()
  core.broadcast(m.weights, 0) -- on the GPU (NCCL) when the model is there
  core.broadcast({ rng }, 0)
  sync.broadcast_optimizer_state(m.optimizer, 0)
  if self.rank ~= 0 then
    dnn.set_rng_state(rng)
    m._resume_epoch = meta.resume or nil
    if meta.seq and seq and seq.set_state then seq:set_state(meta.seq) end
  end
end

-- per step: the layout is fixed by the compiled model (checked at the start)
function Strategy:logs(logs)
  return sync.reduce_metrics(self.model, logs, false)
end

function Strategy:val_logs(logs)
  if not self.val_sharded then return logs end
  return sync.reduce_metrics(self.model, logs)
end

-- Any replica's stop_training or Ctrl-C stops every replica at the same step.
function Strategy:stop(interrupted)
  local m = self.model
  local t = dnn.tensor({ m.stop_training and 1 or 0, interrupted and 1 or 0 }, { dtype = "int32" })
  core.allreduce({ t }, { op = "max", inplace = true, check = false })
  local v = t:totable()
  m.stop_training = v[1] > 0
  return v[2] > 0
end

function Strategy:finish()
  for _, e in ipairs(self.silenced) do e[1].verbose = e[2] end
  self.silenced = {}
end

return M
