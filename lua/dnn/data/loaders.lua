-- Loaders that build datasets from files, and where the data helpers live:
--
--   dnn.data.image_dataset_from_directory(dir, {...})   (also dnn.utils.)
--   dnn.data.resize_images(images, {h, w}, {interpolation=, crop_to_aspect_ratio=})
--   dnn.data.train_test_split / StandardScaler / MinMaxScaler / to_categorical
--   dnn.utils.to_categorical
--
-- image_dataset_from_directory follows Keras 2.15 (keras.utils.
-- image_dataset_from_directory):
--   directory/
--     class_a/  a_1.png  a_2.png ...
--     class_b/  b_1.png  sub/b_2.png ...
-- gives labels 0 for class_a and 1 for class_b: class folders sorted
-- alphabetically (hidden ones skipped), the files of each found
-- recursively, in sorted order.  The file list is shuffled once with numpy's
-- RandomState(seed) -- the same files end up in training and validation as
-- in Keras for the same seed -- and validation_split keeps the last
-- int(validation_split * n) files for "validation" and the others for
-- "training" ("both" returns both).  Options and defaults as Keras:
--   labels="inferred" (or false: no labels; or a list of integer labels in
--   the sorted file order), label_mode="int" ("categorical", "binary",
--   false), class_names=, color_mode="rgb" ("grayscale", "rgba"),
--   batch_size=32, image_size={256, 256}, shuffle=true, seed=,
--   validation_split=, subset=, interpolation="bilinear" ("nearest"),
--   follow_links=false, crop_to_aspect_ratio=false.
-- The result is a Sequence for fit/evaluate/predict: batches of float32
-- images (N, H, W, C) with values 0..255 (as Keras yields them) and labels:
-- int64 class ids for "int" (the dtype the sparse losses take), float32
-- one-hot rows for "categorical", float32 (N, 1) for "binary".  It also has
-- .class_names and .file_paths (after the split, before per-epoch shuffles).
--
-- Differences from Keras, by necessity or on purpose:
--   * only PNG files are read (a .jpg/.jpeg/.bmp/.gif file is an error that
--     names it, rather than being skipped silently);
--   * per-epoch reshuffling (shuffle=true) is a full permutation drawn from
--     (seed, epoch) -- Keras uses tf.data's shuffle buffer of 8 batches;
--   * decoding and resizing run on background C threads, `prefetch` batches
--     ahead (default 4) on `workers` threads (default: half the threads);
--   * augment={horizontal_flip=true, vertical_flip=true} flips images at
--     random on those threads (each flip with probability 1/2, drawn from
--     (seed, epoch, position): the same for the same seed);
--   * verbose=false silences the "Found N files ..." lines.
local dnn = require "dnn"
local class = require "dnn.class"
local mt19937 = require "dnn.data.mt19937"
local prefetch = require "dnn.data.prefetch"
local pre = require "dnn.data.preprocessing"
local core = dnn.core

local data = dnn.data
local OP = "image_dataset_from_directory"

-- ---------------------------------------------------------------- files

local OTHER_IMAGES = { [".jpg"] = true, [".jpeg"] = true, [".bmp"] = true, [".gif"] = true }

local function join(dir, name)
  if dir == "" then return name end
  if dir:sub(-1) == "/" then return dir .. name end
  return dir .. "/" .. name
end

-- os.walk(top): {root, {files}} for top and every folder below (symbolic
-- links to folders followed only with follow_links), as Keras lists them.
local function walk(top, follow_links, out, depth)
  out = out or {}
  depth = depth or 0
  if depth > 64 then error(("%s: %s: folders nested more than 64 deep (a link loop?)"):format(OP, top), 0) end
  local names, is_dir, is_link = core.listdir(OP, top)
  local files, dirs = {}, {}
  for k, name in ipairs(names) do
    if is_dir[k] then
      if follow_links or not is_link[k] then dirs[#dirs + 1] = name end
    else
      files[#files + 1] = name
    end
  end
  out[#out + 1] = { root = top, files = files }
  for _, d in ipairs(dirs) do walk(join(top, d), follow_links, out, depth + 1) end
  return out
end

local function ext(name)
  return (name:match("(%.[^./]*)$") or ""):lower()
end

-- Keras's index_subdirectory: relative paths below `directory` of the PNG
-- files under `dir`, in (root, name) order.
local function index_subdirectory(directory, subdir, follow_links)
  local top = join(directory, subdir)
  local entries = walk(top, follow_links)
  table.sort(entries, function(a, b) return a.root < b.root end)
  local files = {}
  for _, e in ipairs(entries) do
    table.sort(e.files)
    for _, f in ipairs(e.files) do
      local x = ext(f)
      if x == ".png" then
        files[#files + 1] = join(e.root, f)
      elseif OTHER_IMAGES[x] then
        error(("%s: %s: only PNG images can be read (this is a %s file); convert the images to PNG or move them out of %s")
          :format(OP, join(e.root, f), x, directory), 0)
      end
    end
  end
  return files
end

-- ---------------------------------------------------------------- arguments

local COLOR = { rgb = 3, rgba = 4, grayscale = 1 }
local LABEL_MODES = { int = true, categorical = true, binary = true }

local function fmt_list(t)
  local parts = {}
  for i, v in ipairs(t) do parts[i] = "'" .. tostring(v) .. "'" end
  return "[" .. table.concat(parts, ", ") .. "]"
end

local function check_args(a)
  if type(a.directory) ~= "string" then
    error(("%s: directory must be a string, got %s"):format(OP, type(a.directory)), 0)
  end
  if a.labels ~= "inferred" and a.labels ~= false and type(a.labels) ~= "table" then
    error(('%s: `labels` argument should be a list of integer labels, of the same size as the number of image files in the target directory. If you wish to infer the labels from the subdirectory names in the target directory, pass `labels="inferred"`. If you wish to get a dataset that only contains images (no labels), pass `labels=false`. Received: labels=%s')
      :format(OP, tostring(a.labels)), 0)
  end
  if a.class_names ~= nil and a.labels ~= "inferred" then
    error(('%s: you can only pass `class_names` if `labels="inferred"`. Received: labels=%s, and class_names=%s')
      :format(OP, tostring(a.labels), type(a.class_names) == "table" and fmt_list(a.class_names) or tostring(a.class_names)), 0)
  end
  if a.label_mode ~= false and not LABEL_MODES[a.label_mode] then
    error(('%s: `label_mode` argument must be one of "int", "categorical", "binary", or false. Received: label_mode=%s')
      :format(OP, tostring(a.label_mode)), 0)
  end
  if not COLOR[a.color_mode] then
    error(('%s: `color_mode` must be one of {"rgb", "rgba", "grayscale"}. Received: color_mode=%s')
      :format(OP, tostring(a.color_mode)), 0)
  end
  local s = a.image_size
  if type(s) ~= "table" or math.type(s[1]) ~= "integer" or math.type(s[2]) ~= "integer" or s[1] < 1 or s[2] < 1 then
    error(("%s: image_size must be {height, width}, two positive integers; got %s"):format(OP,
      type(s) == "table" and fmt_list(s) or tostring(s)), 0)
  end
  if math.type(a.batch_size) ~= "integer" or a.batch_size < 1 then
    error(("%s: batch_size must be a positive integer, got %s"):format(OP, tostring(a.batch_size)), 0)
  end
  if a.interpolation ~= "bilinear" and a.interpolation ~= "nearest" then
    error(('%s: interpolation must be "bilinear" or "nearest" (the two computed here), got %s')
      :format(OP, tostring(a.interpolation)), 0)
  end
  -- Keras's check_validation_split_arg
  local vs = a.validation_split
  if vs ~= nil and (type(vs) ~= "number" or not (vs > 0 and vs < 1)) then
    error(("%s: `validation_split` must be between 0 and 1, received: %s"):format(OP, tostring(vs)), 0)
  end
  if (vs ~= nil) ~= (a.subset ~= nil) then
    error(("%s: if `subset` is set, `validation_split` must be set, and inversely."):format(OP), 0)
  end
  if a.subset ~= nil and a.subset ~= "training" and a.subset ~= "validation" and a.subset ~= "both" then
    error(('%s: `subset` must be either "training", "validation" or "both", received: %s'):format(OP, tostring(a.subset)), 0)
  end
  if vs ~= nil and a.shuffle and a.seed == nil then
    error(("%s: if using `validation_split` and shuffling the data, you must provide a `seed` argument, to make sure that there is no overlap between the training and validation subset."):format(OP), 0)
  end
  if a.seed ~= nil and (math.type(a.seed) ~= "integer" or a.seed < 0 or a.seed > 0xffffffff) then
    error(("%s: seed must be an integer in 0..2^32-1, got %s"):format(OP, tostring(a.seed)), 0)
  end
  local aug = a.augment
  if aug ~= nil then
    if type(aug) ~= "table" then error(("%s: augment must be a table {horizontal_flip=, vertical_flip=}"):format(OP), 0) end
    for k in pairs(aug) do
      if k ~= "horizontal_flip" and k ~= "vertical_flip" then
        error(("%s: augment: unknown option '%s' (the C workers do horizontal_flip and vertical_flip)"):format(OP, tostring(k)), 0)
      end
    end
  end
end

-- Keras's index_directory: full paths, labels (0-based, nil without labels), class names.
local function index_directory(a, seed)
  local directory = a.directory
  local subdirs, class_names
  if a.labels ~= "inferred" then
    subdirs = { "" }
  else
    subdirs = {}
    local names, is_dir = core.listdir(OP, directory)
    for k, name in ipairs(names) do
      if is_dir[k] and name:sub(1, 1) ~= "." then subdirs[#subdirs + 1] = name end
    end
    table.sort(subdirs)
    class_names = subdirs
    if a.class_names ~= nil then
      if type(a.class_names) ~= "table" then
        error(("%s: class_names must be a list of folder names"):format(OP), 0)
      end
      local want, have = {}, {}
      for _, c in ipairs(a.class_names) do want[c] = true end
      for _, c in ipairs(subdirs) do have[c] = true end
      local same = #a.class_names == #subdirs
      for c in pairs(want) do if not have[c] then same = false end end
      for c in pairs(have) do if not want[c] then same = false end end
      if not same then
        error(("%s: the `class_names` passed did not match the names of the subdirectories of the target directory. Expected: %s, but received: %s")
          :format(OP, fmt_list(subdirs), fmt_list(a.class_names)), 0)
      end
      class_names = a.class_names
    end
  end
  local class_index = {}
  for i, c in ipairs(class_names or {}) do class_index[c] = i - 1 end
  local paths, labels = {}, {}
  for _, sub in ipairs(subdirs) do
    for _, p in ipairs(index_subdirectory(directory, sub, a.follow_links)) do
      paths[#paths + 1] = p
      labels[#labels + 1] = class_index[sub] or 0
    end
  end
  if type(a.labels) == "table" then
    if #a.labels ~= #paths then
      error(("%s: expected the lengths of `labels` to match the number of files in the target directory. len(labels) is %d while we found %d files in directory %s.")
        :format(OP, #a.labels, #paths, directory), 0)
    end
    local set, uniq = {}, {}
    for i, l in ipairs(a.labels) do
      if math.type(l) ~= "integer" or l < 0 then
        error(("%s: labels[%d] = %s: labels must be 0-based integer class ids"):format(OP, i, tostring(l)), 0)
      end
      labels[i] = l
      if not set[l] then set[l] = true; uniq[#uniq + 1] = l end
    end
    table.sort(uniq)
    class_names = {}
    for i, l in ipairs(uniq) do class_names[i] = tostring(l) end
  elseif a.labels == false then
    labels = nil
  end
  if a.verbose then
    if labels == nil then
      print(("Found %d files."):format(#paths))
    else
      print(("Found %d files belonging to %d classes."):format(#paths, #class_names))
    end
  end
  if a.shuffle then
    mt19937.RandomState(seed):shuffle(paths)
    if labels then mt19937.RandomState(seed):shuffle(labels) end
  end
  return paths, labels, class_names
end

-- Keras's get_training_or_validation_split (a split of 0 files keeps all).
local function split(a, paths, labels, subset)
  if not a.validation_split then return paths, labels end
  local n = #paths
  local n_val = math.floor(a.validation_split * n)
  local first, last
  if subset == "training" then
    if a.verbose then print(("Using %d files for training."):format(n - n_val)) end
    first, last = 1, n - n_val
  else
    if a.verbose then print(("Using %d files for validation."):format(n_val)) end
    first, last = n - n_val + 1, n
  end
  local p, l = {}, labels and {} or nil
  for i = first, last do
    p[#p + 1] = paths[i]
    if l then l[#l + 1] = labels[i] end
  end
  return p, l
end

-- ---------------------------------------------------------------- the Sequence

local ImageFolderSequence = prefetch.PrefetchSequence:extend("ImageFolderSequence")
data.ImageFolderSequence = ImageFolderSequence
-- A tf.data dataset in Keras: it shuffles its own files each epoch, and
-- fit's shuffle= does not reorder its batches.
ImageFolderSequence.keeps_batch_order = true

function ImageFolderSequence:init(spec)
  for k, v in pairs(spec) do self[k] = v end
  self.n = #self.file_paths
  self.epoch = 0
  if self.labels then
    self._labels = dnn.tensor(#self.labels > 0 and self.labels or { 0 }, { dtype = "int64" })
    if #self.labels == 0 then self._labels = self._labels:narrow(1, 1, 0) end
  end
  self._pool = prefetch.pool(self.workers)
  self:_prefetch_init(self.prefetch)
  self:_reorder()
  self:_schedule(1, self.prefetch_depth)
end

function ImageFolderSequence:len()
  return (self.n + self.batch_size - 1) // self.batch_size
end

-- The order of this epoch (1-based file positions): a permutation drawn
-- from (seed, epoch) on a private stream, so the global generator is untouched.
function ImageFolderSequence:_reorder()
  local order = {}
  if self.shuffle and self.n > 1 then
    local saved = dnn.get_rng_state()
    dnn.manual_seed(self.seed * 1000003 + self.epoch)
    order = dnn.randperm(self.n):totable()
    dnn.set_rng_state(saved)
  else
    for i = 1, self.n do order[i] = i end
  end
  self._order = order
end

function ImageFolderSequence:_range(i)
  local first = (i - 1) * self.batch_size + 1
  return first, math.min(self.batch_size, self.n - first + 1)
end

function ImageFolderSequence:_submit(i)
  local first, count = self:_range(i)
  local paths = {}
  for k = 1, count do paths[k] = self.file_paths[self._order[first + k - 1]] end
  local aug = self.augment or {}
  return self._pool:submit_images(OP, paths, self.channels, self.image_size[1], self.image_size[2],
    self.interpolation, self.crop_to_aspect_ratio, aug.horizontal_flip, aug.vertical_flip,
    self.seed, self.epoch * self.n + first - 1)
end

function ImageFolderSequence:_finish(i, x)
  if not self._labels then return x end
  local first, count = self:_range(i)
  local idx = {}
  for k = 1, count do idx[k] = self._order[first + k - 1] end
  local y = self._labels:index_select(1, dnn.tensor(idx, { dtype = "int64" }))
  if self.label_mode == "categorical" then
    y = dnn.one_hot(y, #self.class_names):float()
  elseif self.label_mode == "binary" then
    y = y:float():view(-1, 1)
  end
  return x, y
end

function ImageFolderSequence:__tostring()
  return ("ImageFolderSequence(%d files, %d classes, %d batches of %d, image_size %dx%d, %d channels)"):format(
    self.n, self.class_names and #self.class_names or 0, self:len(), self.batch_size, self.image_size[1],
    self.image_size[2], self.channels)
end

function data.image_dataset_from_directory(...)
  local a = class.kwargs(OP, { "directory" }, { "labels", "label_mode", "class_names", "color_mode", "batch_size",
    "image_size", "shuffle", "seed", "validation_split", "subset", "interpolation", "follow_links",
    "crop_to_aspect_ratio", "augment", "workers", "prefetch", "verbose" }, ...)
  if a.labels == nil then a.labels = "inferred" end
  if a.label_mode == nil then a.label_mode = "int" end
  a.color_mode = a.color_mode or "rgb"
  a.batch_size = a.batch_size or 32
  a.image_size = a.image_size or { 256, 256 }
  if a.shuffle == nil then a.shuffle = true end
  a.interpolation = a.interpolation or "bilinear"
  a.follow_links = a.follow_links and true or false
  if a.verbose == nil then a.verbose = true end
  check_args(a)
  if a.labels == false or a.label_mode == false then a.labels, a.label_mode = false, false end
  local seed = a.seed
  if seed == nil then seed = dnn.randint(0, 1000000, { 1 })[1] end
  local directory = a.directory
  if #directory > 1 then directory = directory:gsub("/+$", "") end
  a.directory = directory
  local paths, labels, class_names = index_directory(a, seed)
  if a.label_mode == "binary" and #class_names ~= 2 then
    error(('%s: when passing `label_mode="binary"`, there must be exactly 2 class_names. Received: class_names=%s')
      :format(OP, fmt_list(class_names)), 2)
  end
  local function make(subset, shuffle)
    local p, l = split(a, paths, labels, subset)
    if #p == 0 then
      error(("%s: no images found in directory %s. Allowed formats: .png"):format(OP, directory), 3)
    end
    return ImageFolderSequence {
      file_paths = p, labels = l, class_names = class_names, label_mode = a.label_mode,
      batch_size = a.batch_size, image_size = { a.image_size[1], a.image_size[2] },
      channels = COLOR[a.color_mode], interpolation = a.interpolation,
      crop_to_aspect_ratio = a.crop_to_aspect_ratio and true or false, shuffle = shuffle, seed = seed,
      augment = subset ~= "validation" and a.augment or nil, workers = a.workers, prefetch = a.prefetch or 4,
      directory = directory,
    }
  end
  if a.subset == "both" then
    return make("training", a.shuffle), make("validation", false)
  end
  return make(a.subset, a.shuffle)
end

-- ---------------------------------------------------------------- resize

-- dnn.data.resize_images(images, {h, w}, {interpolation="bilinear", crop_to_aspect_ratio=false})
-- (N, H, W, C) or (H, W, C) of any real dtype -> float32, as tf.image.resize.
function data.resize_images(...)
  local a = class.kwargs("resize_images", { "images", "size" }, { "interpolation", "crop_to_aspect_ratio" }, ...)
  if not dnn.is_tensor(a.images) then
    error(("resize_images: images must be a tensor, got %s"):format(type(a.images)), 2)
  end
  local s = a.size
  if type(s) ~= "table" or math.type(s[1]) ~= "integer" or math.type(s[2]) ~= "integer" then
    error("resize_images: size must be {height, width}, two integers", 2)
  end
  return core.resize_images(a.images, s[1], s[2], a.interpolation or "bilinear", a.crop_to_aspect_ratio)
end

-- ---------------------------------------------------------------- wiring

data.train_test_split = pre.train_test_split
data.StandardScaler = pre.StandardScaler
data.MinMaxScaler = pre.MinMaxScaler
data.to_categorical = pre.to_categorical
data.prefetch = prefetch

dnn.utils = dnn.utils or {}
dnn.utils.to_categorical = pre.to_categorical
dnn.utils.image_dataset_from_directory = data.image_dataset_from_directory

return data
