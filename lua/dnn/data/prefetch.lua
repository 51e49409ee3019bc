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

-- Drops queued jobs outside [from, from + depth - 1] and queues the missing ones.
function PrefetchSequence:_schedule(from, count)
  local n = self:len()
  local last = math.min(n, from + count - 1)
  for k, job in pairs(self._jobs) do
    if k < from or k > last then
      job:close()
      self._jobs[k] = nil
    end
  end
  for k = from, last do
    if not self._jobs[k] then self._jobs[k] = self:_submit(k) end
  end
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
  self:_schedule(i + 1, self.prefetch_depth)
  local ok, x, waited = pcall(job.wait, job)
  job:close()
  if not ok then error(x, 2) end
  self.wait_time = self.wait_time + waited
  self.batches_served = self.batches_served + 1
  return self:_finish(i, x)
end

function PrefetchSequence:on_epoch_end()
  self:_cancel_all()
  self.epoch = (self.epoch or 0) + 1
  self:_reorder()
  self:_schedule(1, self.prefetch_depth)
end

-- Exact resume (BackupAndRestore): the epoch fixes the order.
function PrefetchSequence:get_state() return { epoch = self.epoch or 0 } end

function PrefetchSequence:set_state(s)
  self:_cancel_all()
  self.epoch = s.epoch
  self:_reorder()
  self:_schedule(1, self.prefetch_depth)
end

-- Cancels queued work (the sequence stays usable: get() queues again).
function PrefetchSequence:close() self:_cancel_all() end

return M
