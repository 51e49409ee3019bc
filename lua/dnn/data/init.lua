-- dnn.data: the Sequence protocol and batching over tensors.
--
-- A Sequence is any object with len() and get(i) for i = 1..len() returning
-- x, y[, sample_weight] for batch i, and optionally on_epoch_end().  fit,
-- evaluate, predict and train_model accept one; so does a hand-written loop:
--
--   local seq = dnn.data.from_tensors{x, y, batch_size=64, shuffle=true, seed=1}
--   for epoch = 1, 5 do
--     for xb, yb in seq:batches() do ... end   -- reshuffles after each epoch
--   end
local dnn = require "dnn"
local class = require "dnn.class"

local data = {}

local Sequence = class.Object:extend("Sequence")
data.Sequence = Sequence

function Sequence:len()
  error(("%s: a Sequence must define len()"):format(class.name(self)), 2)
end

function Sequence:get(i)
  error(("%s: a Sequence must define get(i) returning x, y[, sample_weight]"):format(class.name(self)), 2)
end

function Sequence:on_epoch_end() end

-- Sequence sizes read as #seq too.
function Sequence:__len() return self:len() end

-- Iterates one epoch: for xb, yb[, wb] in seq:batches() do ... end, then calls
-- on_epoch_end (so a shuffling sequence reshuffles for the next epoch).
function Sequence:batches()
  return data.batches(self)
end

-- The same iteration for any object following the protocol (plain tables too).
function data.batches(seq)
  local n, i = seq:len(), 0
  return function()
    i = i + 1
    if i > n then
      if i == n + 1 and seq.on_epoch_end then seq:on_epoch_end() end
      return nil
    end
    return seq:get(i)
  end
end

-- ---- from_tensors ----

local TensorSequence = Sequence:extend("TensorSequence")
data.TensorSequence = TensorSequence

local function rows(t)
  if dnn.is_tensor(t) then
    if t:dim() == 0 then error("from_tensors: a 0-d tensor has no samples to batch", 4) end
    return t:size(1)
  end
  return nil
end

-- x and y may be tensors or lists of tensors (several inputs / outputs).
local function count_samples(name, v, n)
  if v == nil then return n end
  local list = dnn.is_tensor(v) and { v } or v
  if type(list) ~= "table" then
    error(("from_tensors: %s must be a tensor or a list of tensors, got %s"):format(name, type(v)), 4)
  end
  for k, t in ipairs(list) do
    if not dnn.is_tensor(t) then
      error(("from_tensors: %s[%d] is a %s, not a tensor"):format(name, k, type(t)), 4)
    end
    local r = rows(t)
    if n and r ~= n then
      error(("from_tensors: %s has %d samples (shape %s) but earlier inputs have %d"):format(
        name, r, tostring(t:size()), n), 4)
    end
    n = r
  end
  return n
end

function TensorSequence:init(...)
  local a = class.kwargs("from_tensors", { "x", "y", "sample_weight" },
    { "batch_size", "shuffle", "seed", "drop_remainder" }, ...)
  if a.x == nil then error("from_tensors: x is required", 3) end
  local n = count_samples("x", a.x, nil)
  n = count_samples("y", a.y, n)
  n = count_samples("sample_weight", a.sample_weight, n)
  local bs = a.batch_size or 32
  if math.type(bs) ~= "integer" or bs < 1 then
    error(("from_tensors: batch_size must be a positive integer, got %s"):format(tostring(bs)), 3)
  end
  self.x, self.y, self.sample_weight = a.x, a.y, a.sample_weight
  self.n, self.batch_size = n, bs
  self.shuffle = a.shuffle and true or false
  self.seed = a.seed
  self.drop_remainder = a.drop_remainder and true or false
  self.epoch = 0
  self:_reorder()
end

-- The sample order of the current epoch, drawn at the epoch's first get().
-- With a seed the permutation depends only on (seed, epoch), drawn from a
-- private stream so the global generator is untouched; without one it comes
-- from the global generator at that moment -- so a run restored to the
-- generator state of an epoch's start (BackupAndRestore) draws the same order.
function TensorSequence:_reorder()
  self.order = nil
end

function TensorSequence:_ensure_order()
  if not self.shuffle or self.order then return end
  if self.seed ~= nil then
    local saved = dnn.get_rng_state()
    dnn.manual_seed(self.seed * 1000003 + self.epoch)
    self.order = dnn.randperm(self.n)
    dnn.set_rng_state(saved)
  else
    self.order = dnn.randperm(self.n)
  end
end

function TensorSequence:len()
  if self.drop_remainder then return self.n // self.batch_size end
  return (self.n + self.batch_size - 1) // self.batch_size
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

function TensorSequence:get(i)
  local n = self:len()
  if math.type(i) ~= "integer" or i < 1 or i > n then
    error(("get: batch %s is out of range 1..%d"):format(tostring(i), n), 2)
  end
  self:_ensure_order()
  local first = (i - 1) * self.batch_size + 1
  local count = math.min(self.batch_size, self.n - first + 1)
  local idx = self.order and self.order:narrow(1, first, count) or nil
  local x, y, w = take(self.x, first, count, idx), take(self.y, first, count, idx),
    take(self.sample_weight, first, count, idx)
  if w ~= nil then return x, y, w end
  return x, y
end

function TensorSequence:on_epoch_end()
  self.epoch = self.epoch + 1
  self:_reorder()
end

-- State for exact resume (which epoch, hence which permutation).
function TensorSequence:get_state() return { epoch = self.epoch } end

function TensorSequence:set_state(s)
  self.epoch = s.epoch
  self:_reorder()
end

-- dnn.data.from_tensors{x, y, batch_size=32, shuffle=false, seed=, drop_remainder=false}
function data.from_tensors(...)
  return TensorSequence(...)
end

dnn.data = data
require "dnn.data.loaders" -- image folders, resizing, splits, scalers (lua/dnn/data/loaders.lua)
return data
