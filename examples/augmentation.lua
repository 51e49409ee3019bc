-- DSS's advanced-mode data augmentation on Fashion-MNIST: the training
-- sequence (build_train_sequence_with_batch_size) wrapped in a
-- DataAugmentationSequence with Keras's ImageDataGenerator as augmentator,
-- the generator settings of DSS's documentation, n_augmentation = 3 (so each
-- step trains on 8 * 3 images), a short fit, and a PNG grid of originals and
-- their augmented copies to look at.
--
--   scripts/dnnlua examples/augmentation.lua                 4000 images, 2 epochs
--   scripts/dnnlua examples/augmentation.lua --short         800 images, 1 epoch (CI)
--   scripts/dnnlua examples/augmentation.lua --out grid.png  where the grid goes
--                                                            (default augmentation_grid.png)
local dnn = require "dnn"

local short, out_path = false, "augmentation_grid.png"
for k = 1, arg and #arg or 0 do
  if arg[k] == "--short" then short = true end
  if arg[k] == "--out" then out_path = assert(arg[k + 1], "--out needs a file name") end
end

dnn.manual_seed(7)
local n_train, n_test = short and 800 or 4000, short and 400 or 2000
local data = dnn.datasets.fashion_mnist { limit = math.max(n_train, n_test) }
local x_train = data.train.x:narrow(1, 1, n_train):float():view(-1, 28, 28, 1) / 255
local y_train = data.train.y:narrow(1, 1, n_train)
local x_test = data.test.x:narrow(1, 1, n_test):float():view(-1, 28, 28, 1) / 255
local y_test = data.test.y:narrow(1, 1, n_test)

-- DSS hands these two to build_sequences; over tensors they are:
local build_train_sequence_with_batch_size = dnn.data.sequence_builder { x_train, y_train, shuffle = true, seed = 1 }
local build_validation_sequence_with_batch_size = dnn.data.sequence_builder { x_test, y_test }

-- The actual batch size of the train sequence will be batch_size * n_augmentation
local batch_size, n_augmentation = 8, 3
local train_sequence = build_train_sequence_with_batch_size(batch_size)
local validation_sequence = build_validation_sequence_with_batch_size(batch_size)
local augmentator = dnn.data.ImageDataGenerator {
  zoom_range = 0.2,
  shear_range = 0.5,
  rotation_range = 20,
  width_shift_range = 0.2,
  height_shift_range = 0.2,
  horizontal_flip = true,
}
-- x is one tensor here, so there is no input name (nil); with named inputs
-- ({image=..., ...}) it names the one to augment, as in DSS
local augmented_sequence = dnn.data.DataAugmentationSequence(train_sequence, nil, augmentator, n_augmentation,
  { seed = 3 })

-- ---- a look at what the model will see ----

local originals = train_sequence:get(1)     -- (8, 28, 28, 1)
local augmented = augmented_sequence:get(1) -- (24, 28, 28, 1): the 8 originals, then 2 augmented copies
assert(augmented:narrow(1, 1, batch_size):equal(originals), "copy 1 is the original batch")
local pad, side = 2, 28
local rows, cols = n_augmentation, batch_size
local grid = dnn.full({ rows * side + (rows + 1) * pad, cols * side + (cols + 1) * pad, 1 }, 255, { dtype = "uint8" })
local function to_bytes(img) return (img * 255 + 0.5):floor():clamp(0, 255):to("uint8") end
for r = 1, rows do
  for c = 1, cols do
    local img = augmented[(r - 1) * batch_size + c]
    grid:narrow(1, pad + (r - 1) * (side + pad) + 1, side):narrow(2, pad + (c - 1) * (side + pad) + 1, side)
        :copy_(to_bytes(img))
  end
end
dnn.io.write_png(out_path, grid)
print(("wrote %s: row 1 the originals, rows 2-%d augmented copies"):format(out_path, rows))

-- ---- training ----

local model = dnn.Sequential {
  dnn.layers.Conv2D { 16, 3, activation = "relu", input_shape = { 28, 28, 1 } },
  dnn.layers.MaxPooling2D { 2 },
  dnn.layers.Conv2D { 32, 3, activation = "relu" },
  dnn.layers.MaxPooling2D { 2 },
  dnn.layers.Flatten {},
  dnn.layers.Dense { 64, activation = "relu" },
  dnn.layers.Dense { 10, activation = "softmax" },
}
model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 1e-3 }, loss = "sparse_categorical_crossentropy",
  metrics = { "accuracy" } }
local history = model:fit { augmented_sequence, validation_data = validation_sequence, epochs = short and 1 or 2,
  verbose = 2 }
local res = model:evaluate { validation_sequence, verbose = 0 }
print(("Test accuracy: %.4f"):format(res.accuracy))
return { accuracy = res.accuracy, history = history, grid = out_path }
