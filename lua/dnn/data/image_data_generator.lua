-- dnn.data.ImageDataGenerator: Keras's real-time image augmentation
-- (keras.preprocessing.image.ImageDataGenerator, tf.keras 2.15 semantics).
--
--   local gen = dnn.data.ImageDataGenerator{rotation_range=40, width_shift_range=0.2,
--     height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, horizontal_flip=true,
--     fill_mode="nearest", rescale=1/255}
--   gen:fit(x_train)                                  -- featurewise statistics
--   model:fit{gen:flow(x_train, y_train, {batch_size=32, seed=1}), epochs=5}
--   model:fit{gen:flow_from_directory("data/train", {target_size={64, 64}}), epochs=5}
--
-- Images are channels-last (H, W, C) -- (C, H, W) with data_format=
-- "channels_first" -- and batches (N, H, W, C).
--
--   gen:get_random_transform(img_shape, seed) -> params (Keras's dictionary:
--       theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical,
--       channel_shift_intensity, brightness)
--   gen:apply_transform(x, params)  one image and one params table, or a batch
--       and a list of params: the affine warp (bilinear, fill_mode, cval), channel
--       shift, flips and brightness, in C, one pass per image, threaded over the batch
--   gen:random_transform(x, seed)   both at once (x an image or a batch);
--       the same seed gives the same output.  This is the method
--       DataAugmentationSequence calls, and all a custom augmentator needs.
--   gen:standardize(x)              preprocessing_function, rescale, sample- and
--       featurewise centring and std normalisation
--   gen:fit(x, {augment=false, rounds=1, seed=})
--   gen:flow(x, y, {batch_size=32, shuffle=true, sample_weight=, seed=, subset=})
--   gen:flow_from_directory(dir, {target_size={256, 256}, color_mode="rgb",
--       classes=, class_mode="categorical", batch_size=32, shuffle=true, seed=,
--       subset=, interpolation="nearest", follow_links=false, keep_aspect_ratio=false})
--
-- Where dnnlua differs from tf.keras:
--  * height_shift_range moves rows and width_shift_range columns, as documented
--    (tf.keras >= 2.9 swaps them, tf-keras#310).
--  * Random draws come from dnnlua's generator, not NumPy's: a seed makes
--    results repeatable, not equal to Keras's numbers.  flow/flow_from_directory
--    with a seed draw batch i of epoch e from a stream of its own, so a batch is
--    the same whatever order batches are asked for.
--  * The output keeps the input's dtype (a uint8 image stays uint8, rounded as
--    scipy rounds); flow converts to float32 first, as Keras does.
--  * interpolation_order is 1 (bilinear) only; zca_whitening is not implemented;
--    flow_from_directory reads PNG files only.
local dnn = require "dnn"
local class = require "dnn.class"
local data = require "dnn.data"
local core = dnn.core

local IDG = class.Object:extend("ImageDataGenerator")
data.ImageDataGenerator = IDG

local ARGS = { "featurewise_center", "samplewise_center", "featurewise_std_normalization",
  "samplewise_std_normalization", "zca_whitening", "zca_epsilon", "rotation_range", "width_shift_range",
  "height_shift_range", "brightness_range", "shear_range", "zoom_range", "channel_shift_range", "fill_mode",
  "cval", "horizontal_flip", "vertical_flip", "rescale", "preprocessing_function", "data_format",
  "validation_split", "interpolation_order", "dtype" }

local function warn(msg) io.stderr:write("warning: ", msg, "\n") end

local function fail(fname, msg, ...) error(("%s: " .. msg):format(fname, ...), 0) end

local function is_num(v) return type(v) == "number" and v == v end

local function check_bool(fname, name, v)
  if v == nil then return false end
  if type(v) ~= "boolean" then fail(fname, "%s must be a boolean, got %s", name, type(v)) end
  return v
end

local function check_range(fname, name, v)
  if v == nil then return 0 end
  if not is_num(v) then fail(fname, "%s must be a number, got %s", name, tostring(v)) end
  if v < 0 then fail(fname, "%s must be >= 0, got %s", name, tostring(v)) end
  return v
end

-- width/height_shift_range: a float (fraction below 1, pixels from 1 up), an
-- integer n (whole pixels drawn from -(n-1)..n-1) or a list of values to pick from.
local function check_shift(fname, name, v)
  if v == nil then return 0 end
  if type(v) == "table" and not dnn.is_tensor(v) then
    if #v == 0 then fail(fname, "%s must not be an empty list", name) end
    for i, e in ipairs(v) do
      if not is_num(e) then fail(fname, "%s[%d] must be a number, got %s", name, i, tostring(e)) end
    end
    return v
  end
  return check_range(fname, name, v)
end

local function check_pair(fname, name, v)
  if type(v) ~= "table" or dnn.is_tensor(v) or #v ~= 2 or not is_num(v[1]) or not is_num(v[2]) then
    return false
  end
  return true
end

function IDG:init(...)
  local f = "ImageDataGenerator"
  local a = class.kwargs(f, ARGS, {}, ...)
  self.featurewise_center = check_bool(f, "featurewise_center", a.featurewise_center)
  self.samplewise_center = check_bool(f, "samplewise_center", a.samplewise_center)
  self.featurewise_std_normalization = check_bool(f, "featurewise_std_normalization", a.featurewise_std_normalization)
  self.samplewise_std_normalization = check_bool(f, "samplewise_std_normalization", a.samplewise_std_normalization)
  if check_bool(f, "zca_whitening", a.zca_whitening) then
    fail(f, "zca_whitening is not implemented in dnnlua")
  end
  self.rotation_range = check_range(f, "rotation_range", a.rotation_range)
  self.width_shift_range = check_shift(f, "width_shift_range", a.width_shift_range)
  self.height_shift_range = check_shift(f, "height_shift_range", a.height_shift_range)
  self.shear_range = check_range(f, "shear_range", a.shear_range)
  self.channel_shift_range = check_range(f, "channel_shift_range", a.channel_shift_range)
  local z = a.zoom_range
  if z == nil then z = 0 end
  if is_num(z) then
    if z < 0 then fail(f, "zoom_range must be >= 0, got %s", tostring(z)) end
    self.zoom_range = { 1 - z, 1 + z }
  elseif check_pair(f, "zoom_range", z) then
    if z[1] < 0 or z[2] < z[1] then
      fail(f, "zoom_range {%s, %s} must be {low, high} with 0 <= low <= high", tostring(z[1]), tostring(z[2]))
    end
    self.zoom_range = { z[1], z[2] }
  else
    fail(f, "zoom_range should be a float or a list of two floats, got %s", tostring(z))
  end
  if a.brightness_range ~= nil then
    local b = a.brightness_range
    if not check_pair(f, "brightness_range", b) then
      fail(f, "brightness_range should be a list of two floats, got %s", tostring(b))
    end
    if b[1] < 0 or b[2] < b[1] then
      fail(f, "brightness_range {%s, %s} must be {low, high} with 0 <= low <= high", tostring(b[1]), tostring(b[2]))
    end
    self.brightness_range = { b[1], b[2] }
  end
  local fm = a.fill_mode or "nearest"
  if fm ~= "nearest" and fm ~= "constant" and fm ~= "reflect" and fm ~= "wrap" then
    fail(f, 'fill_mode must be one of "constant", "nearest", "reflect" or "wrap", got %s', tostring(fm))
  end
  self.fill_mode = fm
  if a.cval ~= nil and not is_num(a.cval) then fail(f, "cval must be a number, got %s", tostring(a.cval)) end
  self.cval = a.cval or 0
  self.horizontal_flip = check_bool(f, "horizontal_flip", a.horizontal_flip)
  self.vertical_flip = check_bool(f, "vertical_flip", a.vertical_flip)
  if a.rescale ~= nil and not is_num(a.rescale) then fail(f, "rescale must be a number or nil, got %s", tostring(a.rescale)) end
  self.rescale = a.rescale
  if a.preprocessing_function ~= nil and type(a.preprocessing_function) ~= "function" then
    fail(f, "preprocessing_function must be a function, got %s", type(a.preprocessing_function))
  end
  self.preprocessing_function = a.preprocessing_function
  local df = a.data_format or "channels_last"
  if df ~= "channels_last" and df ~= "channels_first" then
    fail(f, '`data_format` should be "channels_last" (channel after row and column) or "channels_first" (channel before row and column), got %s', tostring(df))
  end
  self.data_format = df
  if df == "channels_first" then
    self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
  else
    self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
  end
  local vs = a.validation_split or 0
  if not is_num(vs) or vs < 0 or vs >= 1 then
    fail(f, "validation_split must be a number in [0, 1), got %s", tostring(a.validation_split))
  end
  self.validation_split = vs
  local order = a.interpolation_order or 1
  if order ~= 1 then fail(f, "interpolation_order must be 1 (bilinear, the only one implemented), got %s", tostring(order)) end
  self.interpolation_order = 1
  local dt = a.dtype or "float32"
  if dt ~= "float32" and dt ~= "float64" then fail(f, 'dtype must be "float32" or "float64", got %s', tostring(dt)) end
  self.dtype = dt
  self.zca_epsilon = a.zca_epsilon or 1e-6
  self.mean, self.std = nil, nil
  self._warned = {}
  -- Keras: std normalisation implies centring
  if self.featurewise_std_normalization and not self.featurewise_center then
    self.featurewise_center = true
    warn("This ImageDataGenerator specifies `featurewise_std_normalization`, which overrides setting of `featurewise_center`.")
  end
  if self.samplewise_std_normalization and not self.samplewise_center then
    self.samplewise_center = true
    warn("This ImageDataGenerator specifies `samplewise_std_normalization`, which overrides setting of `samplewise_center`.")
  end
end

-- ---- random parameters ----

-- Runs fn with the global generator seeded by `seed` (then restored), or
-- with the global generator as it is when seed is nil.
local function with_seed(fname, seed, fn)
  if seed == nil then return fn() end
  if math.type(seed) ~= "integer" then fail(fname, "seed must be an integer, got %s", tostring(seed)) end
  local saved = dnn.get_rng_state()
  dnn.manual_seed(seed)
  local ok, res = pcall(fn)
  dnn.set_rng_state(saved)
  if not ok then error(res, 0) end
  return res
end
IDG._with_seed = with_seed

local SLOTS = 12 -- uniforms drawn per image, whatever is enabled: a fixed stride keeps streams aligned

local function max_of(r)
  if type(r) == "table" then
    local m = -math.huge
    for _, v in ipairs(r) do m = math.max(m, v) end
    return m
  end
  return r
end

local function truthy(r)
  if type(r) == "table" then return #r > 0 end
  return r ~= 0
end

-- Keras's shift draw: a list or an integer picks a value (times a random
-- sign); a float draws uniformly in (-r, r); below 1 it is a fraction of size.
local function draw_shift(r, u_pick, u_sign, size)
  local v
  if type(r) == "table" then
    v = r[math.min(#r, math.floor(u_pick * #r) + 1)] * (u_sign < 0.5 and -1 or 1)
  elseif math.type(r) == "integer" then
    v = math.min(r - 1, math.floor(u_pick * r)) * (u_sign < 0.5 and -1 or 1)
  else
    v = -r + 2 * r * u_pick
  end
  if max_of(r) < 1 then v = v * size end
  return v
end

-- Parameters for n images of h x w from n * SLOTS uniforms u (a flat Lua list).
function IDG:_params_from(u, n, h, w)
  local out = {}
  for i = 1, n do
    local b = (i - 1) * SLOTS
    local p = { theta = 0, tx = 0, ty = 0, shear = 0, zx = 1, zy = 1 }
    if self.rotation_range ~= 0 then p.theta = -self.rotation_range + 2 * self.rotation_range * u[b + 1] end
    if truthy(self.height_shift_range) then p.tx = draw_shift(self.height_shift_range, u[b + 2], u[b + 3], h) end
    if truthy(self.width_shift_range) then p.ty = draw_shift(self.width_shift_range, u[b + 4], u[b + 5], w) end
    if self.shear_range ~= 0 then p.shear = -self.shear_range + 2 * self.shear_range * u[b + 6] end
    local z = self.zoom_range
    if not (z[1] == 1 and z[2] == 1) then
      p.zx = z[1] + (z[2] - z[1]) * u[b + 7]
      p.zy = z[1] + (z[2] - z[1]) * u[b + 8]
    end
    p.flip_horizontal = self.horizontal_flip and u[b + 9] < 0.5
    p.flip_vertical = self.vertical_flip and u[b + 10] < 0.5
    if self.channel_shift_range ~= 0 then
      p.channel_shift_intensity = -self.channel_shift_range + 2 * self.channel_shift_range * u[b + 11]
    end
    if self.brightness_range then
      local br = self.brightness_range
      p.brightness = br[1] + (br[2] - br[1]) * u[b + 12]
    end
    out[i] = p
  end
  return out
end

-- n parameter sets from the global generator as it stands.
function IDG:_draw(n, h, w)
  if n == 0 then return {} end
  local u = dnn.rand({ n, SLOTS }, { dtype = "float64" }):view(-1):totable()
  return self:_params_from(u, n, h, w)
end

local function shape_list(fname, s)
  if dnn.is_tensor(s) then fail(fname, "img_shape must be a list {rows, cols, channels}, not a tensor") end
  if type(s) ~= "table" or #s ~= 3 then
    fail(fname, "img_shape must be a list of 3 integers (an image's shape), got %s", tostring(s))
  end
  for i = 1, 3 do
    if math.type(s[i]) ~= "integer" or s[i] < 1 then
      fail(fname, "img_shape[%d] must be a positive integer, got %s", i, tostring(s[i]))
    end
  end
  return s
end

function IDG:get_random_transform(img_shape, seed)
  local s = shape_list("get_random_transform", img_shape)
  return with_seed("get_random_transform", seed, function()
    return self:_draw(1, s[self.row_axis], s[self.col_axis])[1]
  end)
end

-- ---- applying ----

local function shape_str(t) return tostring(t:size()) end

local function check_images(fname, x)
  if not dnn.is_tensor(x) then fail(fname, "x must be a tensor, got %s", type(x)) end
  if x:dim() ~= 3 and x:dim() ~= 4 then
    fail(fname, "x must be an image (3 dims) or a batch of images (4 dims), got shape %s", shape_str(x))
  end
end

-- Moves channels last for the C kernel (and back).
function IDG:_to_last(x)
  if self.data_format == "channels_last" then return x end
  if x:dim() == 3 then return x:permute(2, 3, 1) end
  return x:permute(1, 3, 4, 2)
end

function IDG:_from_last(x)
  if self.data_format == "channels_last" then return x end
  if x:dim() == 3 then return x:permute(3, 1, 2):contiguous() end
  return x:permute(1, 4, 2, 3):contiguous()
end

function IDG:apply_transform(x, params)
  check_images("apply_transform", x)
  if type(params) ~= "table" then fail("apply_transform", "params must be a table, got %s", type(params)) end
  local y = core.image_transform(self:_to_last(x), params, { fill_mode = self.fill_mode, cval = self.cval })
  return self:_from_last(y)
end

-- x: an image or a batch; each image gets its own parameters.
function IDG:random_transform(x, seed)
  check_images("random_transform", x)
  local h, w = x:size(x:dim() - 3 + self.row_axis), x:size(x:dim() - 3 + self.col_axis)
  local params = with_seed("random_transform", seed, function()
    return self:_draw(x:dim() == 4 and x:size(1) or 1, h, w)
  end)
  return self:apply_transform(x, x:dim() == 4 and params or params[1])
end

-- ---- normalisation ----

local function float_copy(self, x)
  return x:to(self.dtype):clone()
end

function IDG:_warn_once(key, msg)
  if not self._warned[key] then
    self._warned[key] = true
    warn(msg)
  end
end

-- One image or a batch (statistics per image, as Keras computes them on the
-- single images its iterators pass).  Returns a new float tensor.
function IDG:standardize(x)
  check_images("standardize", x)
  if self.preprocessing_function then
    if x:dim() == 4 then
      local parts = {}
      for i = 1, x:size(1) do
        local xi = x[i]
        local r = self.preprocessing_function(xi)
        if not dnn.is_tensor(r) or tostring(r:size()) ~= tostring(xi:size()) then
          fail("standardize", "preprocessing_function must return a tensor of the image's shape %s, got %s",
            shape_str(xi), dnn.is_tensor(r) and shape_str(r) or type(r))
        end
        parts[i] = r:to(self.dtype)
      end
      x = dnn.stack(parts, 1)
    else
      local r = self.preprocessing_function(x)
      if not dnn.is_tensor(r) or tostring(r:size()) ~= tostring(x:size()) then
        fail("standardize", "preprocessing_function must return a tensor of the image's shape %s, got %s",
          shape_str(x), dnn.is_tensor(r) and shape_str(r) or type(r))
      end
      x = r
    end
  end
  x = float_copy(self, x)
  if self.rescale and self.rescale ~= 0 then x = x * self.rescale end
  local dims = x:dim() == 4 and { 2, 3, 4 } or { 1, 2, 3 }
  if self.samplewise_center then
    x = x - x:mean(dims, true)
  end
  if self.samplewise_std_normalization then
    local sd = ((x - x:mean(dims, true)) ^ 2):mean(dims, true):sqrt()
    x = x / (sd + 1e-6)
  end
  if self.featurewise_center then
    if self.mean then
      x = x - self.mean
    else
      self:_warn_once("center", "This ImageDataGenerator specifies `featurewise_center`, but it hasn't been fit on any training data. Fit it first by calling `.fit(numpy_data)`.")
    end
  end
  if self.featurewise_std_normalization then
    if self.std then
      x = x / (self.std + 1e-6)
    else
      self:_warn_once("std", "This ImageDataGenerator specifies `featurewise_std_normalization`, but it hasn't been fit on any training data. Fit it first by calling `.fit(numpy_data)`.")
    end
  end
  return x
end

-- Featurewise mean and std (per channel) of x (N, H, W, C), after rescale
-- and, with augment=true, over `rounds` randomly transformed copies.
function IDG:fit(...)
  local a = class.kwargs("fit", { "x", "augment", "rounds", "seed" }, {}, ...)
  local x = a.x
  if not dnn.is_tensor(x) then fail("fit", "x must be a tensor, got %s", type(x)) end
  if x:dim() ~= 4 then fail("fit", "Input to `.fit()` should have rank 4. Got array with shape: %s", shape_str(x)) end
  local ch = x:size(self.channel_axis + 1)
  if ch ~= 1 and ch ~= 3 and ch ~= 4 then
    warn(("Expected input to be images following the data format convention \"%s\" (channels on axis %d), i.e. expected either 1, 3 or 4 channels on axis %d. However, it was passed an array with shape %s (%d channels)."):format(
      self.data_format, self.channel_axis + 1, self.channel_axis + 1, shape_str(x), ch))
  end
  local rounds = a.rounds or 1
  if math.type(rounds) ~= "integer" or rounds < 1 then fail("fit", "rounds must be a positive integer, got %s", tostring(rounds)) end
  x = float_copy(self, x)
  if self.rescale and self.rescale ~= 0 then x = x * self.rescale end
  if a.augment then
    x = with_seed("fit", a.seed, function()
      local copies = {}
      for r = 1, rounds do copies[r] = self:random_transform(x) end
      return dnn.cat(copies, 1)
    end)
  end
  local dims = { 1, self.row_axis + 1, self.col_axis + 1 }
  local shape = { 1, 1, 1 }
  shape[self.channel_axis] = ch
  if self.featurewise_center then
    self.mean = x:mean(dims):reshape(shape)
    x = x - self.mean
  end
  if self.featurewise_std_normalization then
    local centred = x - x:mean(dims, true)
    self.std = (centred ^ 2):mean(dims):sqrt():reshape(shape)
  end
end

-- ---- iterators ----

local function check_batch_size(fname, bs)
  bs = bs or 32
  if math.type(bs) ~= "integer" or bs < 1 then fail(fname, "batch_size must be a positive integer, got %s", tostring(bs)) end
  return bs
end

local function check_seed(fname, seed)
  if seed ~= nil and math.type(seed) ~= "integer" then fail(fname, "seed must be an integer, got %s", tostring(seed)) end
  return seed
end

-- The stream of batch i in epoch e of a seeded iterator: its own, so a batch
-- does not depend on which batches were asked for before.
local function batch_seed(seed, epoch, i)
  return (seed * 1000003 + epoch) * 1000003 + i
end

-- Shared base of flow's and flow_from_directory's Sequences: epoch order,
-- per-batch transform parameters, exact-resume state.
local Iterator = data.Sequence:extend("ImageIterator")
IDG.Iterator = Iterator

function Iterator:len() return (self.n + self.batch_size - 1) // self.batch_size end

function Iterator:_indices(i)
  local len = self:len()
  if math.type(i) ~= "integer" or i < 1 or i > len then
    error(("get: batch %s is out of range 1..%d"):format(tostring(i), len), 3)
  end
  local first = (i - 1) * self.batch_size + 1
  local count = math.min(self.batch_size, self.n - first + 1)
  if self.shuffle and not self.order then
    -- drawn at the epoch's first get, like from_tensors (BackupAndRestore
    -- restores the generator state of an epoch's start)
    if self.seed ~= nil then
      self.order = with_seed(self.fname, self.seed * 1000003 + self.epoch, function() return dnn.randperm(self.n) end)
    else
      self.order = dnn.randperm(self.n)
    end
  end
  if self.order then return self.order:narrow(1, first, count) end
  return dnn.arange(first, first + count, { dtype = "int64" })
end

-- Augments and standardises a float batch in the generator's data format.
function Iterator:_augment(xb, i)
  local gen = self.image_data_generator
  local nb = xb:size(1)
  local h, w = xb:size(gen.row_axis + 1), xb:size(gen.col_axis + 1)
  local params
  if self.seed ~= nil then
    params = with_seed(self.fname, batch_seed(self.seed, self.epoch, i), function() return gen:_draw(nb, h, w) end)
  else
    params = gen:_draw(nb, h, w)
  end
  return gen:standardize(gen:apply_transform(xb, params))
end

function Iterator:on_epoch_end()
  self.epoch = self.epoch + 1
  self.order = nil
end

function Iterator:get_state() return { epoch = self.epoch } end

function Iterator:set_state(s)
  self.epoch = s.epoch
  self.order = nil
end

-- flow(x, y): batches of x (N, H, W, C) with labels y and sample weights.
local NumpyArrayIterator = Iterator:extend("NumpyArrayIterator")
IDG.NumpyArrayIterator = NumpyArrayIterator

local function same_values(a, b)
  local ua, ub = a:reshape(-1):unique(), b:reshape(-1):unique()
  if ua:numel() ~= ub:numel() then return false end
  return ua:numel() == 0 or (ua:double() - ub:double()):abs():max():item() == 0
end

function NumpyArrayIterator:init(gen, a)
  local f = "flow"
  self.fname = f
  self.image_data_generator = gen
  local x, y, sw = a.x, a.y, a.sample_weight
  if not dnn.is_tensor(x) then fail(f, "x must be a tensor of images, got %s", type(x)) end
  if x:dim() ~= 4 then
    fail(f, "Input data in `NumpyArrayIterator` should have rank 4. You passed an array with shape %s", shape_str(x))
  end
  local n = x:size(1)
  if y ~= nil then
    if not dnn.is_tensor(y) then fail(f, "y must be a tensor or nil, got %s", type(y)) end
    if y:dim() == 0 or y:size(1) ~= n then
      fail(f, "`x` (images tensor) and `y` (labels) should have the same length. Found: x.shape = %s, y.shape = %s",
        shape_str(x), shape_str(y))
    end
  end
  if sw ~= nil then
    if not dnn.is_tensor(sw) then fail(f, "sample_weight must be a tensor or nil, got %s", type(sw)) end
    if sw:dim() == 0 or sw:size(1) ~= n then
      fail(f, "`x` (images tensor) and `sample_weight` should have the same length. Found: x.shape = %s, sample_weight.shape = %s",
        shape_str(x), shape_str(sw))
    end
  end
  local ch = x:size(gen.channel_axis + 1)
  if ch ~= 1 and ch ~= 3 and ch ~= 4 then
    warn(("NumpyArrayIterator is set to use the data format convention \"%s\" (channels on axis %d), i.e. expected either 1, 3, or 4 channels on axis %d. However, it was passed an array with shape %s (%d channels)."):format(
      gen.data_format, gen.channel_axis + 1, gen.channel_axis + 1, shape_str(x), ch))
  end
  if a.subset ~= nil then
    if a.subset ~= "training" and a.subset ~= "validation" then
      fail(f, 'Invalid subset name: %s; expected "training" or "validation"', tostring(a.subset))
    end
    local split = math.floor(n * gen.validation_split)
    if y ~= nil and not a.ignore_class_split and split > 0 and split < n
        and not same_values(y:narrow(1, 1, split), y:narrow(1, split + 1, n - split)) then
      fail(f, "Training and validation subsets have different number of classes after the split. If your numpy arrays are sorted by the label, you might want to shuffle them.")
    end
    local first, count = split + 1, n - split
    if a.subset == "validation" then first, count = 1, split end
    if count == 0 then
      fail(f, "subset=\"%s\" is empty: validation_split=%s of %d samples", a.subset, tostring(gen.validation_split), n)
    end
    x = x:narrow(1, first, count)
    if y ~= nil then y = y:narrow(1, first, count) end
    if sw ~= nil then sw = sw:narrow(1, first, count) end
    n = count
  end
  self.x, self.y, self.sample_weight = x, y, sw
  self.n = n
  self.batch_size = check_batch_size(f, a.batch_size)
  self.shuffle = a.shuffle ~= false
  self.seed = check_seed(f, a.seed)
  self.epoch = 0
  self.order = nil
end

function NumpyArrayIterator:get(i)
  local idx = self:_indices(i)
  local xb = self.x:index_select(1, idx):to(self.image_data_generator.dtype)
  xb = self:_augment(xb, i)
  if self.y == nil then return xb end
  local yb = self.y:index_select(1, idx)
  if self.sample_weight ~= nil then return xb, yb, self.sample_weight:index_select(1, idx) end
  return xb, yb
end

-- flow_from_directory(dir): one sub-folder per class, PNG files inside
-- (sub-folders of a class folder included), sorted by path as Keras walks them.
local DirectoryIterator = Iterator:extend("DirectoryIterator")
IDG.DirectoryIterator = DirectoryIterator

local OTHER_FORMATS = { jpg = true, jpeg = true, bmp = true, ppm = true, tif = true, tiff = true }

-- Files under root (relative paths from root's parent `rel`), in the order
-- of Keras's sorted os.walk: directories by path, files sorted within each.
local function walk(op, root, rel, follow_links, dirs)
  local names, is_dir, is_link = core.listdir(op, root)
  local files, subs = {}, {}
  for k, name in ipairs(names) do
    if is_dir[k] then
      if follow_links or not is_link[k] then subs[#subs + 1] = name end
    else
      files[#files + 1] = name
    end
  end
  table.sort(files)
  dirs[#dirs + 1] = { path = rel, files = files }
  for _, s in ipairs(subs) do walk(op, root .. "/" .. s, rel .. "/" .. s, follow_links, dirs) end
  return dirs
end

local function class_files(op, directory, cls, follow_links, stats)
  local dirs = walk(op, directory .. "/" .. cls, cls, follow_links, {})
  table.sort(dirs, function(p, q) return p.path < q.path end)
  local out = {}
  for _, d in ipairs(dirs) do
    for _, name in ipairs(d.files) do
      local ext = (name:match("%.([^.]+)$") or ""):lower()
      if ext == "png" then
        out[#out + 1] = d.path .. "/" .. name
      elseif OTHER_FORMATS[ext] then
        stats.skipped = stats.skipped + 1
      end
    end
  end
  return out
end

local COLOR_CHANNELS = { grayscale = 1, rgb = 3, rgba = 4 }
local CLASS_MODES = { categorical = true, binary = true, sparse = true, input = true, none = true }

function DirectoryIterator:init(gen, a)
  local f = "flow_from_directory"
  self.fname = f
  self.image_data_generator = gen
  local dir = a.directory
  if type(dir) ~= "string" then fail(f, "directory must be a string, got %s", type(dir)) end
  dir = dir:gsub("/+$", "")
  if dir == "" then dir = "/" end
  self.directory = dir
  local ts = a.target_size or { 256, 256 }
  if type(ts) ~= "table" or #ts ~= 2 or math.type(ts[1]) ~= "integer" or math.type(ts[2]) ~= "integer"
      or ts[1] < 1 or ts[2] < 1 then
    fail(f, "target_size must be {height, width} (two positive integers), got %s", tostring(ts))
  end
  self.target_size = { ts[1], ts[2] }
  local cm = a.color_mode or "rgb"
  if not COLOR_CHANNELS[cm] then
    fail(f, 'Invalid color mode: %s; expected "rgb", "rgba", or "grayscale".', tostring(cm))
  end
  self.color_mode, self.channels = cm, COLOR_CHANNELS[cm]
  local mode = a.class_mode
  if mode == nil then mode = "categorical" end
  if mode == false then mode = "none" end
  if not CLASS_MODES[mode] then
    fail(f, 'Invalid class_mode: %s; expected one of "categorical", "binary", "sparse", "input" or false (no labels).',
      tostring(mode))
  end
  self.class_mode = mode
  local interp = a.interpolation or "nearest"
  if interp ~= "nearest" and interp ~= "bilinear" then
    fail(f, 'interpolation must be "nearest" or "bilinear", got %s', tostring(interp))
  end
  self.interpolation = interp
  self.keep_aspect_ratio = a.keep_aspect_ratio and true or false
  local split
  if a.subset ~= nil then
    if a.subset == "validation" then
      split = { 0, gen.validation_split }
    elseif a.subset == "training" then
      split = { gen.validation_split, 1 }
    else
      fail(f, 'Invalid subset name: %s; expected "training" or "validation"', tostring(a.subset))
    end
  end
  self.subset = a.subset
  -- classes: the given names in order, else the sub-folders sorted
  local classes = a.classes
  if classes == nil then
    classes = {}
    local names, is_dir = core.listdir(f, dir)
    for k, name in ipairs(names) do
      if is_dir[k] then classes[#classes + 1] = name end
    end
    table.sort(classes)
  else
    if type(classes) ~= "table" then fail(f, "classes must be a list of sub-folder names, got %s", type(classes)) end
    for k, c in ipairs(classes) do
      if type(c) ~= "string" then fail(f, "classes[%d] must be a string, got %s", k, type(c)) end
    end
  end
  self.class_indices = {}
  for k, c in ipairs(classes) do self.class_indices[c] = k - 1 end
  self.num_classes = #classes
  self.class_names = classes
  local stats = { skipped = 0 }
  local filenames, labels = {}, {}
  for k, c in ipairs(classes) do
    local files = class_files(f, dir, c, a.follow_links, stats)
    if split then
      local nf = #files
      local first, stop = math.floor(split[1] * nf), math.floor(split[2] * nf)
      local kept = {}
      for j = first + 1, stop do kept[#kept + 1] = files[j] end
      files = kept
    end
    for _, name in ipairs(files) do
      filenames[#filenames + 1] = name
      labels[#labels + 1] = k - 1
    end
  end
  if stats.skipped > 0 then
    warn(("flow_from_directory: skipped %d JPEG/BMP/PPM/TIFF files under %s (only PNG files are read)"):format(stats.skipped, dir))
  end
  io.stdout:write(("Found %d images belonging to %d classes.\n"):format(#filenames, #classes))
  self.filenames = filenames
  self.filepaths = {}
  for k, name in ipairs(filenames) do self.filepaths[k] = dir .. "/" .. name end
  self.classes = labels
  self.labels = #labels > 0 and dnn.tensor(labels, { dtype = "int64" }) or dnn.zeros(0, { dtype = "int64" })
  self.samples = #filenames
  self.n = #filenames
  self.batch_size = check_batch_size(f, a.batch_size)
  self.shuffle = a.shuffle ~= false
  self.seed = check_seed(f, a.seed)
  self.epoch = 0
  self.order = nil
end

-- Decoding and resizing run on the worker pool's threads (one task per file).
local pool
local function image_pool()
  if not pool then pool = core.image_pool(math.max(1, dnn.get_num_threads())) end
  return pool
end

function DirectoryIterator:get(i)
  local idx = self:_indices(i)
  local gen = self.image_data_generator
  local paths = {}
  local ids = idx:totable()
  for k, j in ipairs(ids) do paths[k] = self.filepaths[j] end
  local job = image_pool():submit_images(self.fname, paths, self.channels, self.target_size[1], self.target_size[2],
    self.interpolation, self.keep_aspect_ratio, false, false)
  local xb = job:wait()
  job:close()
  xb = gen:_from_last(xb:to(gen.dtype))
  xb = self:_augment(xb, i)
  local mode = self.class_mode
  if mode == "none" then return xb end
  if mode == "input" then return xb, xb:clone() end
  local ids_t = self.labels:index_select(1, idx)
  if mode == "categorical" then return xb, dnn.one_hot(ids_t, self.num_classes):to(gen.dtype) end
  if mode == "binary" then return xb, ids_t:to(gen.dtype) end
  return xb, ids_t -- sparse: the 0-based class ids
end

function IDG:flow(...)
  local a = class.kwargs("flow", { "x", "y", "batch_size", "shuffle", "sample_weight", "seed" },
    { "subset", "ignore_class_split", "save_to_dir", "save_prefix", "save_format" }, ...)
  if a.save_to_dir ~= nil then fail("flow", "save_to_dir is not implemented; write images with dnn.io.write_png") end
  return NumpyArrayIterator(self, a)
end

function IDG:flow_from_directory(...)
  local a = class.kwargs("flow_from_directory", { "directory", "target_size", "color_mode", "classes", "class_mode",
    "batch_size", "shuffle", "seed" }, { "subset", "interpolation", "follow_links", "keep_aspect_ratio",
    "save_to_dir", "save_prefix", "save_format" }, ...)
  if a.save_to_dir ~= nil then fail("flow_from_directory", "save_to_dir is not implemented; write images with dnn.io.write_png") end
  return DirectoryIterator(self, a)
end

return IDG
