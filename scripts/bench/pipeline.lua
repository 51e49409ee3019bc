-- dnnlua side of scripts/bench/pipeline: the Fashion-MNIST CNN trained from a
-- folder of PNG files, decoded, resized and flipped at random on background C
-- threads (dnn.data.image_dataset_from_directory with augment=), and the share
-- of each training step spent waiting for data.
-- usage: pipeline.lua threads epochs limit workers dir
--   limit: training images written (and read) per epoch; dir: where the PNG
--   tree goes (kept and reused when it already holds `limit` images)
local dnn = require "dnn"
local L = dnn.layers
local threads = tonumber(arg[1]) or 2
local epochs = tonumber(arg[2]) or 1
local limit = math.tointeger(tonumber(arg[3]) or 60000)
local workers = math.tointeger(tonumber(arg[4]) or 1)
local dir = arg[5] or (os.getenv("TMPDIR") or "/tmp") .. "/dnnlua-pipeline-fmnist"
dnn.set_num_threads(threads)
dnn.manual_seed(0)

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- ---- the PNG tree: dir/<label>/<index>.png, written once ----
local marker = ("%s/.complete-%d"):format(dir, limit)
local f = io.open(marker, "r")
if f then
  f:close()
else
  assert(os.execute("rm -rf " .. q(dir) .. " && mkdir -p " .. q(dir)))
  local data = dnn.datasets.fashion_mnist { limit = limit }
  local x, y = data.train.x, data.train.y
  for c = 0, 9 do assert(os.execute("mkdir -p " .. q(dir .. "/" .. c))) end
  local t0 = dnn.monotonic()
  for i = 1, x:size(1) do
    dnn.io.write_png(("%s/%d/%05d.png"):format(dir, y[i], i), x[i])
  end
  io.stderr:write(("wrote %d PNGs in %.1f s\n"):format(x:size(1), dnn.monotonic() - t0))
  io.open(marker, "w"):close()
end

-- ---- the dataset and the CNN of scripts/bench/fmnist.lua ----
local train = dnn.data.image_dataset_from_directory(dir, {
  image_size = { 28, 28 }, color_mode = "grayscale", batch_size = 64, seed = 1,
  augment = { horizontal_flip = true }, workers = workers, verbose = false,
})
local layers = { L.Conv2D { 32, 3, activation = "relu" }, L.MaxPooling2D { 2 }, L.Conv2D { 64, 3, activation = "relu" },
  L.MaxPooling2D { 2 }, L.Flatten(), L.Dense { 128, activation = "relu" }, L.Dense { 10 } }
local function model(x)
  for _, l in ipairs(layers) do x = l(x) end
  return x
end
model(dnn.zeros(1, 28, 28, 1))
local weights = {}
for _, l in ipairs(layers) do
  for _, w in ipairs(l:trainable_weights()) do weights[#weights + 1] = w end
end
local opt = dnn.optimizers.Adam { learning_rate = 1e-3 }
local loss_fn = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }

-- ---- training: time per step, and the part of it spent in get() waiting ----
local WARMUP = 20
local steps, step_time, wait_time, samples = 0, 0, 0, 0
local last_loss
for _ = 1, epochs do
  for i = 1, train:len() do
    local t0, w0 = dnn.monotonic(), train.wait_time
    local xb, yb = train:get(i)
    xb = xb / 255 -- the Rescaling(1/255) a Keras model would start with
    local tape = dnn.GradientTape()
    local loss = loss_fn(yb, model(xb))
    opt:apply_gradients(tape:gradient(loss, weights), weights)
    last_loss = loss:item()
    local dt = dnn.monotonic() - t0
    steps = steps + 1
    if steps > WARMUP then
      step_time = step_time + dt
      wait_time = wait_time + (train.wait_time - w0)
      samples = samples + xb:size(1)
    end
  end
  train:on_epoch_end()
end
local timed = steps - WARMUP
print(("pipeline %d %.6f %.6f %.1f %.4f %d"):format(timed, step_time / timed, wait_time / timed,
  samples / step_time, last_loss, train.prefetch_hits))
