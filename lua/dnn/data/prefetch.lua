-- Background batches: the Lua side of the C worker pool (src/io/prefetch.c).
--
-- A PrefetchSequence is a Sequence whose batches are produced by C jobs
-- (decode, resize, augment) on worker threads.  When batch i is asked for,
-- batches i+1 .. i+depth are already queued, so while the model trains on
-- batch i the workers prepare the next ones; get(i) only waits when they are
-- behind (and then helps with batch i itself).  Nothing of Lua runs off the
-- main thread: workers fill preallocated tensors, and labels, callbacks and
-- the Sequence protocol stay here.
--
-- Subclasses define:
--   _submit(i)     -> a job (core pool:submit_*) producing batch i's x
--   _finish(i, x)  -> x, y[, sample_weight] for batch i
--   _reorder()     the sample order of self.epoch (called on epoch change)
-- and call self:_prefetch_init(depth) once their fields are set.
--
-- Batches are queued ahead in the order 1, 2, 3, ... unless the caller says
-- which order it will ask for them in: seq:prefetch_order({5, 2, 9, ...})
-- (fit's batch shuffling can pass its permutation) holds for the current
-- epoch.  seq.keeps_batch_order (true for image_dataset_from_directory, which
-- shuffles its files itself, as tf.data datasets do in Keras) tells fit not
-- to reorder the batches at all.
--
-- seq.wait_time (seconds spent in get() waiting for data), seq.batches_served
-- and seq.prefetch_hits (batches that were queued before they were asked for)
-- say how well the overlap works; seq:reset_stats() zeroes them.
local dnn = require "dnn"
local core = dnn.core

local M = {}

-- One pool per worker count, shared by every sequence (threads are cheap to
-- keep and costly to start per dataset).
local pools = {}

function M.default_workers()
  return math.max(1, math.min(8, dnn.get_num_threads() // 2))
end

function M.pool(workers)
  workers = workers or M.default_workers()
  if math.type(workers) ~= "integer" or workers < 1 or workers > 64 then
    error(("prefetch: workers must be an integer in 1..64, got %s"):format(tostring(workers)), 3)
  end
  local p = pools[workers]
  if not p then
    p = core.image_pool(workers)
    pools[workers] = p
  end
  return p
end

local PrefetchSequence = dnn.data.Sequence:extend("PrefetchSequence")
M.PrefetchSequence = PrefetchSequence

function PrefetchSequence:_prefetch_init(depth)
  if math.type(depth) ~= "integer" or depth < 0 then
    error(("prefetch: the depth must be a non-negative integer, got %s"):format(tostring(depth)), 3)
  end
  self._jobs = {}
  self.prefetch_depth = depth
  self:reset_stats()
end

function PrefetchSequence:reset_stats()
  self.wait_time, self.batches_served, self.prefetch_hits = 0, 0, 0
end

-- The batches expected after position `pos` of this epoch's order: the
-- hint given to prefetch_order, or pos + 1, pos + 2, ...
function PrefetchSequence:_upcoming(pos, count)
  local out, n, hint = {}, self:len(), self._hint
  for k = pos + 1, pos + count do
    local b = hint and hint[k] or (not hint and k or nil)
    if b == nil or b > n then break end
    out[#out + 1] = b
  end
  return out
end

-- Keeps exactly the given batches queued (in that order), dropping others.
function PrefetchSequence:_keep(list)
  local want = {}
  for _, b in ipairs(list) do want[b] = true end
  for k, job in pairs(self._jobs) do
    if not want[k] then
      job:close()
      self._jobs[k] = nil
    end
  end
  for _, b in ipairs(list) do
    if not self._jobs[b] then self._jobs[b] = self:_submit(b) end
  end
end

-- Queues the first `count` batches of the epoch (after epoch changes).
function PrefetchSequence:_schedule(from, count)
  self._pos = from - 1
  self:_keep(self:_upcoming(from - 1, count))
end

-- The order in which this epoch's batches will be asked for (a list of
-- 1-based batch indices); on_epoch_end forgets it.
function PrefetchSequence:prefetch_order(order)
  if order ~= nil and type(order) ~= "table" then
    error(("prefetch_order: expected a list of batch indices, got %s"):format(type(order)), 2)
  end
  self._hint = order
  self._pos = 0
  self:_keep(self:_upcoming(0, self.prefetch_depth))
end

function PrefetchSequence:_cancel_all()
  for k, job in pairs(self._jobs) do
    job:close()
    self._jobs[k] = nil
  end
end

function PrefetchSequence:get(i)
  local n = self:len()
  if math.type(i) ~= "integer" or i < 1 or i > n then
    error(("get: batch %s is out of range 1..%d"):format(tostring(i), n), 2)
  end
  local job = self._jobs[i]
  self._jobs[i] = nil
  if job then
    self.prefetch_hits = self.prefetch_hits + 1
  else
    job = self:_submit(i)
  end
  -- where we are in the epoch's order: the hint's next entry, or i itself
  local hint, pos = self._hint, (self._pos or 0) + 1
  if hint then
    if hint[pos] ~= i then
      pos = nil
      for k, b in ipairs(hint) do if b == i then pos = k break end end
    end
  else
    pos = i
  end
  self._pos = pos or i
  if pos then
    self:_keep(self:_upcoming(pos, self.prefetch_depth))
  else
    self:_keep({})
  end
  local ok, x, waited = pcall(job.wait, job)
  job:close()
  if not ok then error(x, 2) end
  self.wait_time = self.wait_time + waited
  self.batches_served = self.batches_served + 1
  return self:_finish(i, x)
end

function PrefetchSequence:on_epoch_end()
  self:_cancel_all()
  self._hint = nil
  self.epoch = (self.epoch or 0) + 1
  self:_reorder()
  self:_schedule(1, self.prefetch_depth)
end

-- Exact resume (BackupAndRestore): the epoch fixes the order.
function PrefetchSequence:get_state() return { epoch = self.epoch or 0 } end

function PrefetchSequence:set_state(s)
  self:_cancel_all()
  self._hint = nil
  self.epoch = s.epoch
  self:_reorder()
  self:_schedule(1, self.prefetch_depth)
end

-- Cancels queued work (the sequence stays usable: get() queues again).
function PrefetchSequence:close() self:_cancel_all() end

return M
