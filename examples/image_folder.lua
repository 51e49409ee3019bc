-- Training from a folder of images, as Keras's
-- image_dataset_from_directory tutorial does: the example first writes a
-- small class-folder tree of PNG files from Fashion-MNIST,
--   <dir>/train/<class name>/<n>.png   and   <dir>/test/<class name>/<n>.png
-- then trains a small CNN from it with an 80/20 training/validation split of
-- the training folder, random horizontal flips done by the loader's C
-- threads, and reports the test accuracy.
--   scripts/dnnlua examples/image_folder.lua [dir]            3000 images, 4 epochs
--   scripts/dnnlua examples/image_folder.lua --short [dir]    1000 images, 1 epoch (CI)
local dnn = require "dnn"
local short = arg and arg[1] == "--short"
local dir = arg and arg[short and 2 or 1]
dnn.manual_seed(42)

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local own_dir = dir == nil
if own_dir then
  dir = os.tmpname()
  os.remove(dir)
end

-- ---- the image folders ----
local n_train, n_test = short and 1000 or 3000, short and 300 or 1000
local data = dnn.datasets.fashion_mnist { limit = math.max(n_train, n_test) }
-- folder names: the class names made file-system safe ("T-shirt/top" -> "T-shirt_top"),
-- prefixed with the label so that sorting them keeps the dataset's label order
local folders = {}
for i, name in ipairs(data.class_names) do folders[i] = ("%d_%s"):format(i - 1, name:gsub("[^%w%-]", "_")) end
for _, split in ipairs({ "train", "test" }) do
  local x, y, n = data[split].x, data[split].y, split == "train" and n_train or n_test
  for _, f in ipairs(folders) do assert(os.execute("mkdir -p " .. q(dir .. "/" .. split .. "/" .. f))) end
  for i = 1, n do
    dnn.io.write_png(("%s/%s/%s/%05d.png"):format(dir, split, folders[y[i] + 1], i), x[i])
  end
end
print(("Wrote %d training and %d test PNG files under %s"):format(n_train, n_test, dir))

-- ---- datasets: Keras's call, plus flips on the loader threads ----
local train, val = dnn.data.image_dataset_from_directory(dir .. "/train", {
  validation_split = 0.2, subset = "both", seed = 123,
  image_size = { 28, 28 }, color_mode = "grayscale", batch_size = 32,
  augment = { horizontal_flip = true },
})
local test = dnn.data.image_dataset_from_directory(dir .. "/test", {
  image_size = { 28, 28 }, color_mode = "grayscale", batch_size = 100, shuffle = false,
})
print("Classes: " .. table.concat(train.class_names, ", "))

-- ---- the model: pixel values arrive as 0..255 floats, as in Keras ----
local model = dnn.Sequential {
  dnn.layers.Lambda { function(x) return x / 255 end, input_shape = { 28, 28, 1 } },
  dnn.layers.Conv2D { 16, 3, activation = "relu" },
  dnn.layers.MaxPooling2D { 2 },
  dnn.layers.Conv2D { 32, 3, activation = "relu" },
  dnn.layers.MaxPooling2D { 2 },
  dnn.layers.Flatten(),
  dnn.layers.Dense { 64, activation = "relu" },
  dnn.layers.Dense { #train.class_names, activation = "softmax" },
}
model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 1e-3 },
  loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
-- shuffle=false: the dataset shuffles its own files each epoch (Keras ignores
-- fit's shuffle for datasets), and its batches are prefetched in order
local history = model:fit { x = train, validation_data = val, epochs = short and 1 or 4, verbose = 2,
  shuffle = false }
local res = model:evaluate { x = test, verbose = 0 }
print(("Test accuracy: %.4f (loss %.4f)"):format(res.accuracy, res.loss))
print(("Data wait: %.3f s over %d training batches (%d of them prefetched by the C workers)"):format(
  train.wait_time, train.batches_served, train.prefetch_hits))

if own_dir then os.execute("rm -rf " .. q(dir)) end
return { accuracy = res.accuracy, history = history }
