-- dnn.datasets: standard datasets read from their Debian packages.
--
-- dnn.datasets.fashion_mnist()                  from /usr/share/datasets/fashion-mnist
-- dnn.datasets.fashion_mnist("dir")             from another directory
-- dnn.datasets.fashion_mnist{path="dir", limit=1000}   (or ("dir", {limit=1000}))
--
-- returns {
--   train = {x = uint8 [60000, 28, 28], y = int64 [60000]},
--   test  = {x = uint8 [10000, 28, 28], y = int64 [10000]},
--   class_names = {"T-shirt/top", "Trouser", ...},  -- class_names[label + 1]
-- }
--
-- Images stay uint8 (0..255) as stored, a quarter of the memory of float32:
-- convert with x:float() / 255.  Labels are the 0-based class ids the files
-- carry, widened from the file's uint8 to int64, the dtype that indexing ops
-- (gather, one_hot, index_select) and the sparse losses take, so they go into
-- a loss without a conversion.
--
-- limit=n keeps the first n examples of each split (quick experiments); the
-- rest is dropped at once, not kept alive behind a view.
--
-- The directory holds the four files of the Fashion-MNIST release, gzipped
-- (as the Debian package ships them) or not.
local dnn = require "dnn"

local datasets = {}

local FMNIST_DIR = "/usr/share/datasets/fashion-mnist"

local FMNIST_CLASSES = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

local FMNIST_FILES = {
  train = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
  test = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- (dir) / {path=, limit=} / {dir, limit=} / (dir, {limit=}) -> dir, opts
local function parse_args(name, a, b)
  local opts = {}
  if type(a) == "table" then
    opts = a
    a = a.path or a[1]
  elseif type(b) == "table" then
    opts = b
  end
  if a ~= nil and type(a) ~= "string" then
    error(("%s: path must be a directory name (a string), got %s"):format(name, type(a)), 3)
  end
  local limit = opts.limit
  if limit ~= nil and (math.type(limit) ~= "integer" or limit < 1) then
    error(("%s: limit must be a positive integer, got %s"):format(name, tostring(limit)), 3)
  end
  return a, limit
end

-- The file's path, gzipped or not; an error that says what to install.
local function find_file(dir, base, default_dir)
  for _, name in ipairs({base .. ".gz", base}) do
    local p = dir .. "/" .. name
    if exists(p) then return p end
  end
  local hint = dir == default_dir
      and " (install the Debian package dataset-fashion-mnist: apt-get install dataset-fashion-mnist)"
      or (" (the Debian package dataset-fashion-mnist installs the files in %s)"):format(default_dir)
  if not exists(dir) then
    error(("fashion_mnist: directory %s not found%s"):format(dir, hint), 0)
  end
  error(("fashion_mnist: %s/%s.gz is missing%s"):format(dir, base, hint), 0)
end

local function load_split(dir, files, limit)
  local x = dnn.io.read_idx(find_file(dir, files[1], FMNIST_DIR))
  local y = dnn.io.read_idx(find_file(dir, files[2], FMNIST_DIR))
  local xs, ys = x:size(), y:size()
  if #xs ~= 3 or xs[2] ~= 28 or xs[3] ~= 28 or x.dtype ~= "uint8" then
    error(("fashion_mnist: %s/%s holds %s %s, not uint8 [N, 28, 28] images")
      :format(dir, files[1], x.dtype, tostring(xs)), 0)
  end
  if #ys ~= 1 or ys[1] ~= xs[1] then
    error(("fashion_mnist: %s/%s holds labels of shape %s for %d images")
      :format(dir, files[2], tostring(ys), xs[1]), 0)
  end
  if limit and limit < xs[1] then
    x = x:narrow(1, 1, limit):clone()
    y = y:narrow(1, 1, limit)
  end
  return {x = x, y = y:long()}
end

function datasets.fashion_mnist(a, b)
  local dir, limit = parse_args("fashion_mnist", a, b)
  dir = (dir or FMNIST_DIR):gsub("/+$", "")
  local names = {}
  for i, n in ipairs(FMNIST_CLASSES) do names[i] = n end
  return {
    train = load_split(dir, FMNIST_FILES.train, limit),
    test = load_split(dir, FMNIST_FILES.test, limit),
    class_names = names,
  }
end

return datasets
