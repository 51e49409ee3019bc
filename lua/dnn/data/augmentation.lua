-- dnn.data.DataAugmentationSequence: DSS's data-augmentation helper
-- (dataiku.doctor.deep_learning.sequences.DataAugmentationSequence).
--
--   local build_train = dnn.data.sequence_builder{x_train, y_train, shuffle=true}
--   local augmentator = dnn.data.ImageDataGenerator{zoom_range=0.2, shear_range=0.5,
--     rotation_range=20, width_shift_range=0.2, height_shift_range=0.2, horizontal_flip=true}
--   local seq = dnn.data.DataAugmentationSequence(build_train(8), "image", augmentator, 3)
--   model:fit{seq, epochs=10}      -- batches of 8 * 3 samples
--
-- Batch i of the wrapped sequence, with batch_size rows, becomes
-- batch_size * n_augmentation rows laid out as DSS lays them out: copy 1 of
-- every row, then copy 2 of every row, ...; in each copy the input
-- `input_name` is augmentator:random_transform(row, seed) row by row, and
-- every other input, y and sample_weight are repeated block-wise (np.tile).
-- Copy 1 is the untouched batch and copies 2..n_augmentation are augmented
-- ("the original plus augmented copies", as DSS documents it);
-- include_original=false augments every copy, as DSS's sequences.py code
-- does.
--
-- input_name names the input to augment when x is a table of named inputs
-- ({image=, meta=}) or gives its position in a list of inputs; when x is a
-- single tensor it may be nil (or 1).  The augmentator is any object with
-- random_transform(x, seed) returning a tensor of x's shape and dtype.
--
-- Seeds: DSS hands the same seed to every random_transform call (so with a
-- seed all copies come out the same).  Here seed=nil draws from the global
-- generator; a seed gives row r of copy k in batch i of epoch e a seed of its
-- own, so runs repeat and copies still differ.
local dnn = require "dnn"
local class = require "dnn.class"
local data = require "dnn.data"

local DAS = data.Sequence:extend("DataAugmentationSequence")
data.DataAugmentationSequence = DAS

local F = "DataAugmentationSequence"

local function fail(msg, ...) error((F .. ": " .. msg):format(...), 0) end

function DAS:init(...)
  local a = class.kwargs(F, { "original_sequence", "input_name", "augmentator", "n_augmentation" },
    { "seed", "include_original" }, ...)
  local seq = a.original_sequence
  if type(seq) ~= "table" or type(seq.len) ~= "function" or type(seq.get) ~= "function" then
    fail("original_sequence must be a Sequence (len and get), got %s", type(seq))
  end
  local name = a.input_name
  if name ~= nil and type(name) ~= "string" and math.type(name) ~= "integer" then
    fail("input_name must be an input's name (a string), its position (an integer) or nil, got %s", type(name))
  end
  local aug = a.augmentator
  if (type(aug) ~= "table" and type(aug) ~= "userdata") or type(aug.random_transform) ~= "function" then
    fail("augmentator must be an object with a random_transform(x, seed) method (an ImageDataGenerator or your own), got %s",
      type(aug))
  end
  local n = a.n_augmentation
  if math.type(n) ~= "integer" or n < 1 then
    fail("n_augmentation must be a positive integer, got %s", tostring(n))
  end
  if a.seed ~= nil and math.type(a.seed) ~= "integer" then fail("seed must be an integer, got %s", tostring(a.seed)) end
  if a.include_original ~= nil and type(a.include_original) ~= "boolean" then
    fail("include_original must be a boolean, got %s", type(a.include_original))
  end
  self.original_sequence, self.input_name, self.augmentator = seq, name, aug
  self.n_augmentation, self.seed = n, a.seed
  self.include_original = a.include_original ~= false
  self.epoch = 0
end

function DAS:len() return self.original_sequence:len() end

-- np.tile(v, n) along the first dim, for a tensor or a table of tensors.
local function tile(v, n)
  if v == nil then return nil end
  if dnn.is_tensor(v) then
    if n == 1 then return v end
    local parts = {}
    for k = 1, n do parts[k] = v end
    return dnn.cat(parts, 1)
  end
  local out = {}
  for k, t in pairs(v) do out[k] = tile(t, n) end
  return out
end

local function shape_str(t) return tostring(t:size()) end

-- Seed of row r (1-based) of copy k in batch i, or nil.
function DAS:_row_seed(i, k, r)
  if self.seed == nil then return nil end
  return ((self.seed * 1000003 + self.epoch) * 1000003 + i) * 1000003 + k * 65537 + r
end

-- n copies of the batch xb (B, ...) augmented row by row: (n * B, ...).
function DAS:_augment(xb, i)
  local aug, n = self.augmentator, self.n_augmentation
  local b = xb:size(1)
  local first = 1
  local copies = {}
  if self.include_original then
    copies[1] = xb
    first = 2
  end
  -- ImageDataGenerator transforms a whole batch in one threaded C call, with
  -- the same draws it would make row by row
  if class.isinstance(aug, data.ImageDataGenerator) and xb:dim() == 4 then
    for k = first, n do
      local params = {}
      for r = 1, b do
        local rs = self:_row_seed(i, k, r)
        local h, w = xb:size(aug.row_axis + 1), xb:size(aug.col_axis + 1)
        params[r] = aug._with_seed(F, rs, function() return aug:_draw(1, h, w)[1] end)
      end
      copies[#copies + 1] = aug:apply_transform(xb, params)
    end
    return dnn.cat(copies, 1)
  end
  for k = first, n do
    local rows = {}
    for r = 1, b do
      local row = xb[r]
      local out = aug:random_transform(row, self:_row_seed(i, k, r))
      if not dnn.is_tensor(out) then
        fail("augmentator.random_transform returned a %s, not a tensor (batch %d, copy %d, row %d)", type(out), i, k, r)
      end
      if shape_str(out) ~= shape_str(row) then
        fail("augmentator.random_transform changed the shape of a sample from %s to %s (batch %d, copy %d, row %d); it must keep the shape",
          shape_str(row), shape_str(out), i, k, r)
      end
      if out.dtype ~= row.dtype then
        fail("augmentator.random_transform changed the dtype of a sample from %s to %s (batch %d, copy %d, row %d)",
          row.dtype, out.dtype, i, k, r)
      end
      rows[r] = out
    end
    copies[#copies + 1] = dnn.stack(rows, 1)
  end
  return dnn.cat(copies, 1)
end

function DAS:get(i)
  local x, y, sw = self.original_sequence:get(i)
  if y == nil and sw == nil and type(x) == "table" and not dnn.is_tensor(x) and x.x ~= nil then
    x, y, sw = x.x, x.y, x.sample_weight
  end
  if x == nil then fail("the original sequence returned no x for batch %s", tostring(i)) end
  local name, n = self.input_name, self.n_augmentation
  local out_x
  if dnn.is_tensor(x) then
    if name ~= nil and name ~= 1 then
      fail("batch %d: x is a single tensor, so input_name must be nil (or 1), got %s", i, tostring(name))
    end
    if x:dim() < 1 then fail("batch %d: x is a 0-d tensor", i) end
    out_x = self:_augment(x, i)
  elseif type(x) == "table" then
    local target = name ~= nil and x[name] or nil
    if not dnn.is_tensor(target) then
      local keys = {}
      for k in pairs(x) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      fail("batch %d: x has no input %s to augment (inputs: %s)", i, tostring(name), table.concat(keys, ", "))
    end
    out_x = {}
    for k, t in pairs(x) do
      if k == name then out_x[k] = self:_augment(t, i) else out_x[k] = tile(t, n) end
    end
  else
    fail("batch %d: x must be a tensor or a table of inputs, got %s", i, type(x))
  end
  local out_y, out_sw = tile(y, n), tile(sw, n)
  if out_sw ~= nil then return out_x, out_y, out_sw end
  return out_x, out_y
end

function DAS:on_epoch_end()
  self.epoch = self.epoch + 1
  if self.original_sequence.on_epoch_end then self.original_sequence:on_epoch_end() end
end

function DAS:get_state()
  local inner = self.original_sequence.get_state and self.original_sequence:get_state() or nil
  return { epoch = self.epoch, inner = inner }
end

function DAS:set_state(s)
  self.epoch = s.epoch
  if s.inner ~= nil and self.original_sequence.set_state then self.original_sequence:set_state(s.inner) end
end

return DAS
