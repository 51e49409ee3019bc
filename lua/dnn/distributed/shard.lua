-- Each replica reads its own shard of the data.
--
-- shard(seq[, {rank=, size=, mode="train"|"eval"}]) -> a Sequence:
--   * over dnn.data.from_tensors (fit's x, y): global batch i is the same
--     rows a single process with batch_size * size would take (the epoch's
--     order is shared: drawn from the sequence's seed, or on rank 0 and
--     broadcast), and replica r takes its r-th slice.  So N replicas with
--     batch B follow one process with batch N*B sample for sample.  Every
--     replica gets the same number of steps; a last global batch smaller than
--     the number of replicas is dropped.
--   * over any other Sequence: replica r takes batches r+1, r+1+size, ...
--     (len() // size steps each, the leftover batches are dropped).
--   * mode="eval" (validation): batches r+1, r+1+size, ... of the sequence as
--     it is, every batch once; replicas may get different counts (the
--     metrics are summed at the end, not per step).
-- The replica's sample count of the last batch it handed out is what
-- DistributedOptimizer weighs its gradient by (exact global means on uneven
-- last batches).
local dnn = require "dnn"
local class = require "dnn.class"
local core = dnn.core._dist

local M = {}

local ShardedSequence = dnn.data.Sequence:extend("ShardedSequence")
M.ShardedSequence = ShardedSequence

-- Samples the training loop handed out last on this replica (nil: unknown).
M.last_count = nil

local function is_tensor_sequence(seq)
  return class.isinstance(seq, dnn.data.TensorSequence)
end

function ShardedSequence:init(inner, opts)
  opts = opts or {}
  if type(inner) ~= "table" or type(inner.len) ~= "function" or type(inner.get) ~= "function" then
    error(("shard: expected a Sequence (len(), get(i)), got %s"):format(class.name(inner)), 3)
  end
  self.inner = inner
  self.rank = opts.rank or core.rank()
  self.size = opts.size or core.size()
  self.mode = opts.mode or "train"
  if self.mode ~= "train" and self.mode ~= "eval" then
    error(("shard: mode must be \"train\" or \"eval\", got %s"):format(tostring(self.mode)), 3)
  end
  if math.type(self.rank) ~= "integer" or math.type(self.size) ~= "integer" or self.size < 1
      or self.rank < 0 or self.rank >= self.size then
    error(("shard: rank %s is not in 0..%s"):format(tostring(self.rank), tostring(self.size - 1)), 3)
  end
  self.samples = self.mode == "train" and is_tensor_sequence(inner)
  if self.mode == "train" and self:len() < 1 then
    if self.samples then
      error(("shard: %d samples make no batch of %d per replica for %d replicas"):format(inner.n,
        inner.batch_size, self.size), 3)
    end
    error(("shard: the Sequence has %d batches, fewer than the %d replicas"):format(inner:len(), self.size), 3)
  end
end

function ShardedSequence:len()
  local inner, R = self.inner, self.size
  if self.mode == "eval" then
    local n = inner:len()
    if n == math.huge then return n end
    return n > self.rank and (n - self.rank + R - 1) // R or 0
  end
  if not self.samples then
    local n = inner:len()
    if n == math.huge then return n end
    return n // R
  end
  local G = inner.batch_size * R
  local full, rest = inner.n // G, inner.n % G
  if not inner.drop_remainder and rest >= R then full = full + 1 end
  return full
end

-- The epoch's sample order, the same on every replica.
function ShardedSequence:_order()
  local inner = self.inner
  if not inner.shuffle then return nil end
  if inner.order == nil then
    if inner.seed ~= nil or self.size == 1 then
      inner:_ensure_order()
    else
      -- drawn from rank 0's generator (as one process would draw it), then shared
      if self.rank == 0 then inner:_ensure_order() else inner.order = dnn.zeros(inner.n, { dtype = "int64" }) end
      core.broadcast({ inner.order }, 0)
    end
  end
  return inner.order
end

-- fit's shuffle=true over a Sequence (data_adapter's ShuffledOrderSequence)
-- draws a batch order from each process's generator; replicas must agree on
-- it, so rank 0 draws it (as one process would) and shares it.
function ShardedSequence:_share_batch_order()
  local inner = self.inner
  if self.size == 1 or class.name(inner) ~= "ShuffledOrderSequence" or inner.order ~= nil then return end
  local n = inner:len()
  local t = self.rank == 0 and dnn.randperm(n) or dnn.zeros(n, { dtype = "int64" })
  core.broadcast({ t }, 0)
  inner.order = t:totable()
end

local function take(v, first, count, idx)
  if v == nil then return nil end
  if dnn.is_tensor(v) then
    if idx then return v:index_select(1, idx) end
    return v:narrow(1, first, count)
  end
  local out = {}
  for k, t in ipairs(v) do out[k] = take(t, first, count, idx) end
  return out
end

local function rows_of(x)
  if dnn.is_tensor(x) then return x:dim() > 0 and x:size(1) or 1 end
  if type(x) == "table" and not dnn.is_tensor(x) then
    if x.x ~= nil then return rows_of(x.x) end
    if x[1] ~= nil then return rows_of(x[1]) end
  end
  return nil
end

function ShardedSequence:get(i)
  local n = self:len()
  if math.type(i) ~= "integer" or i < 1 or i > n then
    error(("get: batch %s is out of range 1..%d"):format(tostring(i), n), 2)
  end
  local inner, R, r = self.inner, self.size, self.rank
  if self.mode == "eval" then return inner:get((i - 1) * R + r + 1) end
  if not self.samples then
    self:_share_batch_order()
    local x, y, w = inner:get((i - 1) * R + r + 1)
    M.last_count = rows_of(x)
    if w ~= nil then return x, y, w end
    return x, y
  end
  local order = self:_order()
  local B = inner.batch_size
  local start = (i - 1) * B * R                 -- 0-based position of the global batch
  local m = math.min(B * R, inner.n - start)     -- its size
  local base, extra = m // R, m % R
  local count = base + (r < extra and 1 or 0)
  local first = start + r * base + math.min(r, extra) + 1
  local idx = order and order:narrow(1, first, count) or nil
  M.last_count = count
  local x, y, w = take(inner.x, first, count, idx), take(inner.y, first, count, idx),
    take(inner.sample_weight, first, count, idx)
  if w ~= nil then return x, y, w end
  return x, y
end

function ShardedSequence:on_epoch_end()
  if self.inner.on_epoch_end then self.inner:on_epoch_end() end
end

function ShardedSequence:get_state()
  return self.inner.get_state and self.inner:get_state() or nil
end

function ShardedSequence:set_state(s)
  if self.inner.set_state then self.inner:set_state(s) end
end

-- shard(seq[, opts]): see the top of this file.
function M.shard(seq, opts)
  return ShardedSequence(seq, opts)
end

return M
