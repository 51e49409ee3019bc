-- Seeds for the load_model fuzz target, written into a folder (normally
-- spec/fixtures/fuzz/load_model/):
--   scripts/bench/fuzz/run --seeds load_model   (or: dnnlua this-file DIR)
-- Valid files of every kind the target reads, few and small (they are in
-- git, and mutations of small files are cheap): a Sequential saved with
-- model:save (compiled, with Adam state), an uncompiled functional model,
-- save_weights output, dnn.save value files; then truncated and bit-flipped
-- variants, the damage a file suffers in transit.  The h5py-written fixtures
-- (tf.keras / Keras 3 layouts, spec/fixtures/h5model/ and spec/fixtures/h5/)
-- are seeds too: the run script passes those folders to the fuzzer as they
-- are, rather than copying them here.
local dnn = require "dnn"
require "dnn.models"
local L = dnn.layers

local out = assert(arg and arg[1], "usage: make_seeds_load_model.lua DIR")
local root = os.getenv("DNN_ROOT") or "."

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(name, bytes)
  local f = assert(io.open(out .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local target = dofile(root .. "/scripts/bench/fuzz/load_model.lua")
dnn.manual_seed(1)

-- the target's fixed model, compiled and trained a step: optimizer state too
local m = target.model()
m:compile { optimizer = "adam", loss = "mse" }
local x, y = dnn.randn(8, 4), dnn.randn(8, 2)
m:fit(x, y, { epochs = 1, batch_size = 8, verbose = 0 })
m:save(out .. "/seed-model-adam.h5")
m:save_weights(out .. "/seed-weights.h5")

-- functional (the other model class), uncompiled: no training_config
local inp = dnn.Input { shape = { 3 }, name = "in" }
local h = L.Dense { 2, activation = "tanh", name = "h" }(inp)
local o = L.Add { name = "add" } { h, L.Dense { 2, name = "skip" }(inp) }
local fm = dnn.Model { inputs = inp, outputs = o, name = "functional" }
fm:save(out .. "/seed-model-functional.h5")

dnn.save(out .. "/seed-value.h5", {
  w = dnn.tensor { { 1.5, -2 }, { 0, 3 } },
  n = 7, f = 0.25, s = "text", b = true,
  list = { 1, "two", { three = dnn.tensor({ 1, 2, 3 }, { dtype = "int64" }) } },
  mask = dnn.tensor { true, false },
})
dnn.save(out .. "/seed-value-box.h5", dnn.tensor({ 1, 2 }, { dtype = "uint8" }))

-- Damage: a file cut short at several points, and single bit flips spread
-- through it (a fixed stride, so the seeds are the same every run).
local function damage(name, bytes, cuts, flips, keep)
  for _, frac in ipairs(cuts) do
    write(("seed-%s-trunc-%02d.h5"):format(name, math.floor(frac * 100)), bytes:sub(1, math.floor(#bytes * frac)))
  end
  local stride = #bytes // flips
  for k = 1, keep or flips do -- the first `keep` of `flips` evenly spread flips
    local pos = 1 + (k - 1) * stride + (k * 37) % stride
    local b = bytes:byte(pos) ~ (1 << (k % 8))
    write(("seed-%s-flip-%05d.h5"):format(name, pos), bytes:sub(1, pos - 1) .. string.char(b) .. bytes:sub(pos + 1))
  end
end
damage("model", read(out .. "/seed-model-adam.h5"), { 0.25, 0.5 }, 4, 2)
damage("weights", read(out .. "/seed-weights.h5"), { 0.6 }, 4)
write("seed-not-hdf5.h5", "{\"class_name\": \"Sequential\", \"config\": {}}\n")

-- Crafted: a weights file whose layer_names holds a name with a NUL inside
-- (fixed-length strings keep it; HDF5 names cannot hold it).  The fuzzer
-- found this in tf.keras files; loading once raised an error without the
-- file's name.
do
  local f = dnn.core.h5.create(out .. "/crafted-nul-in-layer-name.h5", "seeds")
  f:set_attr("/", "layer_names", { "dense", "de\0nse" })
  f:set_attr("/", "backend", "tensorflow")
  f:set_attr("/", "keras_version", "2.15.0")
  f:create_group("/dense")
  f:set_attr("/dense", "weight_names", {}, "float64")
  f:commit()
end
