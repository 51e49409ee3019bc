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
--
-- x (and y) may be a tensor, a list of tensors (inputs by position) or a
-- table of tensors keyed by input name ({image=, meta=}: a functional model
-- takes its inputs by position or by the names of its Input layers).
--
--   dnn.data.Sequence                  base class: len, get, on_epoch_end, batches
--   dnn.data.from_tensors{x, y, ...}   batches of tensors (below)
--   dnn.data.sequence_builder{x, y, shuffle=, seed=}
--                                      DSS's build_train_sequence_with_batch_size:
--                                      a function(batch_size) -> Sequence
--   dnn.data.validated(seq)            the same batches, checked: every batch has
--                                      the structure, dtypes and per-sample shapes
--                                      of the first one, and x, y, sample_weight
--                                      agree on the batch size (errors name the batch)
--   dnn.data.DataAugmentationSequence  DSS's augmenting wrapper (augmentation.lua)
--   dnn.data.ImageDataGenerator        Keras's (image_data_generator.lua)
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
    if t:dim() == 0 then error("from_tensors: a 0-d tensor has no samples to batch", 0) end
    return t:size(1)
  end
  return nil
end

-- Calls fn(key, tensor) for a tensor (key nil), a list of tensors (keys
-- 1..n) or a table keyed by input names (keys sorted, so errors and
-- iteration are deterministic).  Anything else is an error naming `what`.
local function each_tensor(what, v, fn)
  if dnn.is_tensor(v) then return fn(nil, v) end
  if type(v) ~= "table" then
    error(("%s must be a tensor, a list of tensors or a table of named tensors, got %s"):format(what, type(v)), 0)
  end
  local keys, has_int, has_str = {}, false, false
  for k in pairs(v) do
    keys[#keys + 1] = k
    if math.type(k) == "integer" then has_int = true else has_str = true end
  end
  if has_int and has_str then
    error(("%s mixes positional and named entries; use one or the other"):format(what), 0)
  end
  if has_int then
    for i = 1, #keys do
      if v[i] == nil then error(("%s is a list with a hole at %d"):format(what, i), 0) end
    end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  if has_int then table.sort(keys) end
  for _, k in ipairs(keys) do fn(k, v[k]) end
end
data.each_tensor = each_tensor

local function key_str(what, k)
  if k == nil then return what end
  if math.type(k) == "integer" then return ("%s[%d]"):format(what, k) end
  return ("%s.%s"):format(what, tostring(k))
end
data.key_str = key_str

-- x and y may be tensors, lists of tensors (several inputs / outputs) or
-- tables of tensors keyed by name.
local function count_samples(name, v, n)
  if v == nil then return n end
  each_tensor("from_tensors: " .. name, v, function(k, t)
    if not dnn.is_tensor(t) then
      error(("from_tensors: %s is a %s, not a tensor"):format(key_str(name, k), type(t)), 0)
    end
    local r = rows(t)
    if n and r ~= n then
      error(("from_tensors: %s has %d samples (shape %s) but earlier inputs have %d"):format(
        key_str(name, k), r, tostring(t:size()), n), 0)
    end
    n = r
  end)
  return n
end

function TensorSequence:init(...)
  local a = class.kwargs("from_tensors", { "x", "y", "sample_weight" },
    { "batch_size", "shuffle", "seed", "drop_remainder" }, ...)
  if a.x == nil then error("from_tensors: x is required", 3) end
  local n = count_samples("x", a.x, nil)
  if n == nil then error("from_tensors: x holds no tensors", 3) end
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
  for k, t in pairs(v) do out[k] = take(t, first, count, idx) end
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

-- ---- DSS's sequence builders ----

-- dnn.data.sequence_builder{x, y, sample_weight=, shuffle=false, seed=} ->
-- function(batch_size) -> Sequence.  DSS's advanced mode hands user code
-- build_train_sequence_with_batch_size / build_validation_sequence_with_batch_size;
-- these are the same over tensors:
--   local build_train = dnn.data.sequence_builder{x_train, y_train, shuffle=true}
--   local train_sequence = build_train(8)
function data.sequence_builder(...)
  local a = class.kwargs("sequence_builder", { "x", "y", "sample_weight" }, { "shuffle", "seed", "drop_remainder" }, ...)
  if a.x == nil then error("sequence_builder: x is required", 2) end
  -- fail now, not at the first call
  TensorSequence { a.x, a.y, a.sample_weight, batch_size = 1 }
  return function(batch_size)
    return TensorSequence { a.x, a.y, a.sample_weight, batch_size = batch_size, shuffle = a.shuffle,
      seed = a.seed, drop_remainder = a.drop_remainder }
  end
end

-- ---- checked batches ----
--
-- Every get(i) defined on a subclass of dnn.data.Sequence is checked: within
-- an epoch each batch must have the structure (inputs by position or name),
-- the dtypes and the per-sample shapes of the epoch's first batch, and x, y
-- and sample_weight must agree on the batch size -- so a generator that
-- drifts fails with the batch's index and both shapes instead of deep inside
-- a layer.  A Sequence whose samples legitimately change shape from batch to
-- batch (per-batch padding) sets `variable_shapes = true`; then only the
-- structure, dtypes and batch sizes are checked.  dnn.data.validated(seq)
-- applies the same checks to any object with len and get.

local function shape_tail(t)
  local s = t:size()
  local out = {}
  for d = 2, #s do out[#out + 1] = s[d] end
  return table.concat(out, ",")
end

-- One batch's layout: per part (x, y, sample_weight) the entries with their
-- dtypes and per-sample shapes.  Errors name the batch.
local function layout(label, i, x, y, sw)
  local parts, batch = {}, nil
  for _, part in ipairs { { "x", x }, { "y", y }, { "sample_weight", sw } } do
    local name, v = part[1], part[2]
    local entries = {}
    if v ~= nil then
      each_tensor(("%s batch %d: %s"):format(label, i, name), v, function(k, t)
        local where = key_str(name, k)
        if not dnn.is_tensor(t) then
          error(("%s batch %d: %s is a %s, not a tensor"):format(label, i, where, type(t)), 0)
        end
        if t:dim() == 0 then
          error(("%s batch %d: %s is a 0-d tensor (a batch needs a first dim)"):format(label, i, where), 0)
        end
        if batch and t:size(1) ~= batch.n then
          error(("%s batch %d: %s has %d samples (shape %s) but %s has %d"):format(label, i, where, t:size(1),
            tostring(t:size()), batch.where, batch.n), 0)
        end
        batch = batch or { n = t:size(1), where = where }
        entries[#entries + 1] = { where = where, dtype = t.dtype, tail = shape_tail(t), shape = tostring(t:size()) }
      end)
    end
    parts[name] = entries
  end
  return parts
end

-- Checks batch i against the first batch recorded in state (a table).
local function check_batch(state, label, i, x, y, sw, shapes)
  local cur = layout(label, i, x, y, sw)
  local ref = state.first
  if ref == nil then
    state.first = { i = i, parts = cur }
    return
  end
  for _, name in ipairs { "x", "y", "sample_weight" } do
    local a, b = ref.parts[name], cur[name]
    if #a ~= #b then
      error(("%s batch %d: %s has %d tensors but batch %d had %d"):format(label, i, name, #b, ref.i, #a), 0)
    end
    for k = 1, #a do
      local ea, eb = a[k], b[k]
      if ea.where ~= eb.where then
        error(("%s batch %d: %s holds %s where batch %d held %s"):format(label, i, name, eb.where, ref.i, ea.where), 0)
      end
      if ea.dtype ~= eb.dtype then
        error(("%s batch %d: %s is %s but batch %d gave %s"):format(label, i, eb.where, eb.dtype, ref.i, ea.dtype), 0)
      end
      if shapes and ea.tail ~= eb.tail then
        error(("%s batch %d: %s has shape %s but batch %d had %s (batches may differ only in their first dim, the batch size; a Sequence with variable_shapes = true may vary the others)"):format(
          label, i, eb.where, eb.shape, ref.i, ea.shape), 0)
      end
    end
  end
end

-- get(i)'s results as x, y, sw (get may return one table {x=, y=, sample_weight=}).
local function unpack_batch(x, y, sw)
  if y == nil and sw == nil and type(x) == "table" and not dnn.is_tensor(x) and x.x ~= nil then
    return x.x, x.y, x.sample_weight
  end
  return x, y, sw
end

local function checked_get(get)
  return function(self, i)
    local r = table.pack(get(self, i))
    local x, y, sw = unpack_batch(r[1], r[2], r[3])
    if x ~= nil and type(self) == "table" then -- nil: a generator ran dry
      local state = rawget(self, "_batch_check")
      if state == nil then
        state = {}
        rawset(self, "_batch_check", state)
      end
      check_batch(state, class.name(self), i, x, y, sw, not self.variable_shapes)
    end
    return table.unpack(r, 1, r.n)
  end
end

local function checked_epoch_end(fn)
  return function(self, ...)
    if type(self) == "table" then rawset(self, "_batch_check", nil) end
    return fn(self, ...)
  end
end

-- Subclasses get their get and on_epoch_end wrapped as they are defined.
function Sequence:extend(name)
  local cls = class.Object.extend(self, name)
  local mt = getmetatable(cls)
  mt.__newindex = function(t, k, v)
    if type(v) == "function" then
      if k == "get" then v = checked_get(v) elseif k == "on_epoch_end" then v = checked_epoch_end(v) end
    end
    rawset(t, k, v)
  end
  return cls
end

-- The base on_epoch_end starts a new reference batch (subclasses' own
-- on_epoch_end are wrapped to do the same).
function Sequence:on_epoch_end()
  rawset(self, "_batch_check", nil)
end

local ValidatedSequence = Sequence:extend("ValidatedSequence")
data.ValidatedSequence = ValidatedSequence

function ValidatedSequence:init(inner)
  self.inner = inner
  self.variable_shapes = inner.variable_shapes
  local name = class.name(inner)
  self.label = name ~= "table" and name or "Sequence"
end

function ValidatedSequence:len() return self.inner:len() end

-- (rawset: this get does its own checking, named after the inner sequence)
rawset(ValidatedSequence, "get", function(self, i)
  local r = table.pack(self.inner:get(i))
  local x, y, sw = unpack_batch(r[1], r[2], r[3])
  if x ~= nil then
    self.state = self.state or {}
    check_batch(self.state, self.label, i, x, y, sw, not self.variable_shapes)
  end
  return table.unpack(r, 1, r.n)
end)

rawset(ValidatedSequence, "on_epoch_end", function(self)
  self.state = nil
  if self.inner.on_epoch_end then self.inner:on_epoch_end() end
end)

function ValidatedSequence:get_state()
  return self.inner.get_state and self.inner:get_state() or nil
end

function ValidatedSequence:set_state(s)
  if self.inner.set_state then self.inner:set_state(s) end
end

-- dnn.data.validated(seq): seq's batches, each checked against the epoch's first.
function data.validated(seq)
  if type(seq) ~= "table" or type(seq.len) ~= "function" or type(seq.get) ~= "function" then
    error(("validated: expected a Sequence (len and get), got %s"):format(type(seq)), 2)
  end
  if class.isinstance(seq, ValidatedSequence) then return seq end
  return ValidatedSequence(seq)
end

dnn.data = data
package.loaded["dnn.data"] = data
require "dnn.data.augmentation"
require "dnn.data.image_data_generator"
require "dnn.data.loaders" -- image folders, resizing, splits, scalers (lua/dnn/data/loaders.lua)
return data
