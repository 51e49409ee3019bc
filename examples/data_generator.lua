-- "A detailed example of how to use data generators with Keras" in dnnlua:
-- a Sequence that loads one file per sample id, shuffles its indexes at the
-- end of every epoch, and feeds fit.  The samples are Fashion-MNIST images
-- that this script first writes to one IDX file each (the article's
-- data/<ID>.npy files), with the labels in a table keyed by id.
--
--   scripts/dnnlua examples/data_generator.lua            6000 train / 1000 validation ids, 3 epochs
--   scripts/dnnlua examples/data_generator.lua --short    1200 / 300 ids, 1 epoch (CI)
local dnn = require "dnn"
local short = arg and arg[1] == "--short"

dnn.manual_seed(1)

-- ---- the article's DataGenerator ----

local DataGenerator = dnn.data.Sequence:extend("DataGenerator")

-- DataGenerator(list_IDs, labels, {batch_size=32, dim={28, 28}, n_channels=1,
--               n_classes=10, shuffle=true, dir=})
function DataGenerator:init(list_IDs, labels, opts)
  opts = opts or {}
  self.list_IDs, self.labels = list_IDs, labels
  self.batch_size = opts.batch_size or 32
  self.dim = opts.dim or { 28, 28 }
  self.n_channels = opts.n_channels or 1
  self.n_classes = opts.n_classes or 10
  self.shuffle = opts.shuffle ~= false
  self.dir = opts.dir
  self:on_epoch_end()
end

-- Batches per epoch (the last partial batch is dropped, as in the article).
function DataGenerator:len()
  return #self.list_IDs // self.batch_size
end

-- Batch i (1-based): the ids at indexes[(i-1)*batch_size + 1 .. i*batch_size].
function DataGenerator:get(i)
  local ids = {}
  for k = (i - 1) * self.batch_size + 1, i * self.batch_size do
    ids[#ids + 1] = self.list_IDs[self.indexes[k]]
  end
  return self:_data_generation(ids)
end

function DataGenerator:on_epoch_end()
  self.indexes = {}
  for k = 1, #self.list_IDs do self.indexes[k] = k end
  if self.shuffle then
    local perm = dnn.randperm(#self.list_IDs):totable()
    for k = 1, #perm do self.indexes[k] = perm[k] end
  end
end

-- X: (batch_size, dim..., n_channels) float32; y: one-hot (batch_size, n_classes).
function DataGenerator:_data_generation(ids)
  local shape = { self.batch_size }
  for _, d in ipairs(self.dim) do shape[#shape + 1] = d end
  shape[#shape + 1] = self.n_channels
  local X = dnn.empty(shape)
  local y = {}
  for k, id in ipairs(ids) do
    local sample = dnn.io.read_idx(self.dir .. "/" .. id .. ".idx")
    X[k]:copy_(sample:float():view(table.unpack(shape, 2)) / 255)
    y[k] = self.labels[id]
  end
  return X, dnn.one_hot(dnn.tensor(y, { dtype = "int64" }), self.n_classes):float()
end

-- ---- the data: one file per id ----

local n_train, n_val = short and 1200 or 6000, short and 300 or 1000
local data = dnn.datasets.fashion_mnist { limit = n_train + n_val }
local dir = os.tmpname()
os.remove(dir)
assert(os.execute(("mkdir -p '%s'"):format(dir)))

local partition = { train = {}, validation = {} }
local labels = {}
for k = 1, n_train + n_val do
  local id = ("id-%d"):format(k)
  dnn.io.write_idx(dir .. "/" .. id .. ".idx", data.train.x[k]:contiguous())
  labels[id] = data.train.y[k]
  table.insert(k <= n_train and partition.train or partition.validation, id)
end
print(("wrote %d sample files to %s"):format(n_train + n_val, dir))

local params = { dim = { 28, 28 }, batch_size = 64, n_classes = 10, n_channels = 1, shuffle = true, dir = dir }
local training_generator = DataGenerator(partition.train, labels, params)
local validation_generator = DataGenerator(partition.validation, labels, params)

-- ---- the model, trained from the generators ----

local model = dnn.Sequential {
  dnn.layers.Conv2D { 16, 3, activation = "relu", input_shape = { 28, 28, 1 } },
  dnn.layers.MaxPooling2D { 2 },
  dnn.layers.Conv2D { 32, 3, activation = "relu" },
  dnn.layers.MaxPooling2D { 2 },
  dnn.layers.Flatten {},
  dnn.layers.Dense { 64, activation = "relu" },
  dnn.layers.Dense { 10, activation = "softmax" },
}
model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 1e-3 }, loss = "categorical_crossentropy",
  metrics = { "accuracy" } }
local history = model:fit { training_generator, validation_data = validation_generator, epochs = short and 1 or 3,
  verbose = 2 }
local res = model:evaluate { validation_generator, verbose = 0 }
print(("Validation accuracy: %.4f"):format(res.accuracy))

os.execute(("rm -rf '%s'"):format(dir))
return { accuracy = res.accuracy, history = history }
