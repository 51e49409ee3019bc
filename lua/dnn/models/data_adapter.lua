-- Turns fit/evaluate/predict arguments into a Sequence (len, get(i),
-- on_epoch_end), following Keras's data_adapter: tensors (or lists of
-- tensors for several inputs/outputs) are batched, Sequences are used as they
-- are, and generator functions are wrapped.
local dnn = require "dnn"
local class = require "dnn.class"

local A = {}

local function is_sequence(x)
  return type(x) == "table" and not dnn.is_tensor(x) and type(x.len) == "function" and type(x.get) == "function"
end
A.is_sequence = is_sequence

local function samples(v, what)
  if v == nil then return nil end
  if dnn.is_tensor(v) then
    if v:dim() == 0 then error(("%s is a 0-d tensor: it has no samples"):format(what), 0) end
    return v:size(1)
  end
  if type(v) == "table" then
    local n
    for i, t in ipairs(v) do
      local m = samples(t, ("%s[%d]"):format(what, i))
      if n and m ~= n then error(("%s[%d] has %d samples but %s[1] has %d"):format(what, i, m, what, n), 0) end
      n = m
    end
    if n == nil then error(("%s is an empty list"):format(what), 0) end
    return n
  end
  error(("%s must be a tensor or a list of tensors, got %s"):format(what, type(v)), 0)
end
A.samples = samples

-- Rows [first, first+count) of a tensor or list of tensors.
local function rows(v, first, count)
  if v == nil then return nil end
  if dnn.is_tensor(v) then return v:narrow(1, first, count) end
  local out = {}
  for i, t in ipairs(v) do out[i] = rows(t, first, count) end
  return out
end
A.rows = rows

-- Keras's validation_split: the last fraction, taken before any shuffling.
function A.split(x, y, sw, fraction)
  if type(fraction) ~= "number" or fraction <= 0 or fraction >= 1 then
    error(("validation_split must be a number in (0, 1), got %s"):format(tostring(fraction)), 0)
  end
  local n = samples(x, "x")
  local split_at = math.floor(n * (1 - fraction))
  if split_at < 1 or split_at >= n then
    error(("validation_split=%g leaves no training or no validation samples out of %d"):format(fraction, n), 0)
  end
  return { rows(x, 1, split_at), rows(y, 1, split_at), rows(sw, 1, split_at) },
    { rows(x, split_at + 1, n - split_at), rows(y, split_at + 1, n - split_at), rows(sw, split_at + 1, n - split_at) }
end

-- A Sequence over a generator function: each call returns x, y[, sw], or nil
-- at the end; `steps` bounds an epoch (required for endless generators).
local GeneratorSequence = dnn.data.Sequence:extend("GeneratorSequence")
function GeneratorSequence:init(fn, steps)
  self.fn, self.steps = fn, steps
end
function GeneratorSequence:len() return self.steps or math.huge end
function GeneratorSequence:get() return self.fn() end

-- Weighs each sample by class_weight[class] (class = argmax of y when its last
-- dim is > 1, else round(y)), times any sample_weight.
local function class_weights(y, sw, class_weight)
  if dnn.is_tensor(y) == false then error("class_weight needs a single output (y a tensor)", 0) end
  local cls
  if y:dim() > 1 and y:size(-1) > 1 then
    cls = y:argmax(-1) - 1
  else
    cls = y:reshape(-1):double():round():long()
  end
  cls = cls:reshape(-1)
  local maxc = -1
  for k in pairs(class_weight) do
    if math.type(k) ~= "integer" or k < 0 then
      error(("class_weight keys must be the 0-based class ids, got %s"):format(tostring(k)), 0)
    end
    maxc = math.max(maxc, k)
  end
  local ymax = cls:numel() > 0 and cls:max():item() or -1
  maxc = math.max(maxc, ymax)
  local table_w = {}
  for c = 0, maxc do table_w[c + 1] = class_weight[c] or 1.0 end
  local lut = dnn.tensor(table_w, { dtype = "float32" })
  if cls:numel() > 0 and cls:min():item() < 0 then error("class_weight: labels must be non-negative class ids", 0) end
  local w = lut:index_select(1, cls + 1)
  if sw ~= nil then w = w * sw:reshape(-1):float() end
  return w
end
A.class_weights = class_weights

local ClassWeighted = dnn.data.Sequence:extend("ClassWeightedSequence")
function ClassWeighted:init(inner, class_weight) self.inner, self.class_weight = inner, class_weight end
function ClassWeighted:len() return self.inner:len() end
function ClassWeighted:get(i)
  local x, y, sw = self.inner:get(i)
  return x, y, class_weights(y, sw, self.class_weight)
end
function ClassWeighted:on_epoch_end()
  if self.inner.on_epoch_end then self.inner:on_epoch_end() end
end
function ClassWeighted:get_state() return self.inner.get_state and self.inner:get_state() or nil end
function ClassWeighted:set_state(s) if self.inner.set_state then self.inner:set_state(s) end end

-- fit's shuffle=true over a Sequence: the batch order is shuffled every
-- epoch (Keras's KerasSequenceAdapter), drawn from the global generator at
-- the epoch's first get, so a seed fixes it and BackupAndRestore replays it.
local ShuffledOrder = dnn.data.Sequence:extend("ShuffledOrderSequence")
function ShuffledOrder:init(inner) self.inner = inner end
function ShuffledOrder:len() return self.inner:len() end
function ShuffledOrder:get(i)
  if not self.order then
    self.order = dnn.randperm(self.inner:len()):totable()
    -- a prefetching sequence starts loading in the order it will be asked
    if self.inner.prefetch_order then self.inner:prefetch_order(self.order) end
  end
  return self.inner:get(self.order[i] or i)
end
function ShuffledOrder:on_epoch_end()
  self.order = nil
  if self.inner.on_epoch_end then self.inner:on_epoch_end() end
end
function ShuffledOrder:get_state()
  return { order = self.order or false, inner = self.inner.get_state and self.inner:get_state() or false }
end
function ShuffledOrder:set_state(s)
  if type(s) ~= "table" then return end
  self.order = s.order or nil
  if s.inner and self.inner.set_state then self.inner:set_state(s.inner) end
end

-- adapt{x=, y=, sample_weight=, batch_size=, shuffle=, steps=, class_weight=, what=}
function A.adapt(a)
  local x = a.x
  local seq
  if is_sequence(x) then
    if a.y ~= nil then error(("%s: y must not be given when x is a Sequence (it yields both)"):format(a.what), 0) end
    if a.sample_weight ~= nil then
      error(("%s: sample_weight must not be given when x is a Sequence (get(i) returns it)"):format(a.what), 0)
    end
    -- plain tables get the batch checks Sequence subclasses have built in
    seq = getmetatable(x) and x or dnn.data.validated(x)
    local n = seq:len()
    -- datasets that shuffle themselves (image_dataset_from_directory, like a
    -- tf.data Dataset in Keras) keep their order: fit's shuffle ignores them
    if a.shuffle and math.type(n) == "integer" and n > 1 and not seq.keeps_batch_order then
      seq = ShuffledOrder(seq)
    end
  elseif type(x) == "function" then
    seq = GeneratorSequence(x, a.steps)
  else
    if x == nil then error(("%s: x is required"):format(a.what), 0) end
    local n = samples(x, "x")
    if a.y ~= nil then
      local m = samples(a.y, "y")
      if m ~= n then
        error(("%s: x has %d samples but y has %d"):format(a.what, n, m), 0)
      end
    end
    if a.sample_weight ~= nil then
      local m = samples(a.sample_weight, "sample_weight")
      if m ~= n then error(("%s: sample_weight has %d samples but x has %d"):format(a.what, m, n), 0) end
    end
    local bs = a.batch_size or 32
    if math.type(bs) ~= "integer" or bs < 1 then
      error(("%s: batch_size must be a positive integer, got %s"):format(a.what, tostring(bs)), 0)
    end
    seq = dnn.data.from_tensors { x, a.y, a.sample_weight, batch_size = bs, shuffle = a.shuffle and true or false }
  end
  if a.class_weight ~= nil then
    if type(a.class_weight) ~= "table" then error(("%s: class_weight must be a table {[class]=weight}"):format(a.what), 0) end
    seq = ClassWeighted(seq, a.class_weight)
  end
  return seq
end

-- Batch i of a Sequence as x, y, sw (get may return a table {x, y, sw}).
function A.batch(seq, i)
  local x, y, sw = seq:get(i)
  if y == nil and sw == nil and type(x) == "table" and not dnn.is_tensor(x) and x.x ~= nil then
    x, y, sw = x.x, x.y, x.sample_weight
  end
  return x, y, sw
end

return A
