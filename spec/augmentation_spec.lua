-- dnn.data.DataAugmentationSequence: DSS's layout (copy-major, every copy
-- augmented, the other inputs and the targets tiled), named and positional
-- inputs, custom augmentators, seeds, errors, and training through fit.
local dnn = require "dnn"
local check = require "support.check"

local DAS = dnn.data.DataAugmentationSequence

-- An augmentator that negates a sample and counts its calls.
local function negator()
  local a = { calls = 0, seeds = {} }
  function a:random_transform(x, seed)
    self.calls = self.calls + 1
    self.seeds[#self.seeds + 1] = seed
    return -x
  end
  return a
end

-- batch of 3 rows: row k is filled with 10*batch + k
local function rows_seq(batch_size)
  local n = 6
  local x = dnn.zeros(n, 2, 2, 1)
  for k = 1, n do x[k]:fill_(k) end
  return dnn.data.from_tensors { { image = x, meta = dnn.arange(1, n + 1) * 100 }, dnn.arange(1, n + 1, { dtype = "int64" }),
    dnn.arange(1, n + 1) / 10, batch_size = batch_size }
end

describe("DataAugmentationSequence", function()
  it("lays batches out as DSS does: batch_size * n_augmentation rows, the original then augmented copies", function()
    local aug = negator()
    local seq = DAS(rows_seq(3), "image", aug, 3)
    assert.equal(2, seq:len())
    local x, y, w = seq:get(2)
    assert.same({ 9, 2, 2, 1 }, x.image:size())
    assert.equal(6, aug.calls)
    -- copy 1 holds rows 4, 5, 6 as they are; copies 2 and 3 augmented (negated)
    for k = 1, 9 do
      local row = 4 + (k - 1) % 3
      assert.equal(k <= 3 and row or -row, x.image[k][1][1][1])
      assert.equal(row * 100, x.meta[k]) -- other inputs tiled
      assert.equal(row, y[k])            -- targets tiled
      assert(math.abs(w[k] - row / 10) < 1e-6) -- sample weights tiled
    end
  end)

  it("augments every copy with include_original=false (what DSS's sequences.py does)", function()
    local seq = DAS(rows_seq(3), "image", negator(), 2, { include_original = false })
    local x = seq:get(1)
    local got = {}
    for k = 1, 6 do got[k] = x.image[k][1][1][1] end
    assert.same({ -1, -2, -3, -1, -2, -3 }, got)
  end)

  it("takes a single tensor x (input_name nil) and positional inputs (input_name an index)", function()
    local x = dnn.arange(1, 5):view(4, 1)
    local single = DAS(dnn.data.from_tensors { x, dnn.arange(0, 4), batch_size = 2 }, nil, negator(), 2)
    local xb, yb = single:get(1)
    assert.same({ { 1 }, { 2 }, { -1 }, { -2 } }, xb:totable())
    assert.same({ 0, 1, 0, 1 }, yb:totable())
    local pos = DAS(dnn.data.from_tensors { { x, x * 10 }, dnn.arange(0, 4), batch_size = 2 }, 2, negator(), 2)
    local xp = pos:get(2)
    assert.same({ { 3 }, { 4 }, { 3 }, { 4 } }, xp[1]:totable())
    assert.same({ { 30 }, { 40 }, { -30 }, { -40 } }, xp[2]:totable())
  end)

  it("forwards on_epoch_end to the wrapped sequence", function()
    local inner = rows_seq(3)
    local seen = 0
    local real = inner.on_epoch_end
    inner.on_epoch_end = function(self)
      seen = seen + 1
      real(self)
    end
    local seq = DAS(inner, "image", negator(), 2)
    for _ in seq:batches() do end
    assert.equal(1, seen)
  end)

  it("with an ImageDataGenerator: one threaded call per copy, the same as row by row", function()
    local gen = dnn.data.ImageDataGenerator { rotation_range = 40, width_shift_range = 0.2, height_shift_range = 0.2,
      zoom_range = 0.2, horizontal_flip = true }
    dnn.manual_seed(1)
    local x = dnn.rand(4, 8, 8, 1)
    local base = dnn.data.from_tensors { { image = x }, dnn.arange(0, 4), batch_size = 2 }
    local fast = DAS(base, "image", gen, 3, { seed = 5 })
    -- a plain object calling the generator sample by sample takes the general path
    local wrapper = { random_transform = function(_, r, s) return gen:random_transform(r, s) end }
    local slow = DAS(base, "image", wrapper, 3, { seed = 5 })
    local a, b = fast:get(2).image, slow:get(2).image
    assert.same({ 6, 8, 8, 1 }, a:size())
    assert.equal(0, (a - b):abs():max():item())
    -- the copies differ, and a second run with the seed repeats them
    assert((a[1] - a[3]):abs():max():item() > 0)
    assert.equal(0, (a - DAS(base, "image", gen, 3, { seed = 5 }):get(2).image):abs():max():item())
    -- unseeded: the global generator, so dnn.manual_seed repeats a run
    dnn.manual_seed(9)
    local u1 = DAS(base, "image", gen, 2):get(1).image
    dnn.manual_seed(9)
    local u2 = DAS(base, "image", gen, 2):get(1).image
    assert.equal(0, (u1 - u2):abs():max():item())
  end)

  it("gives each sample of each copy its own seed when seeded (DSS passes one seed to all)", function()
    local aug = negator()
    DAS(rows_seq(3), "image", aug, 2, { seed = 1, include_original = false }):get(1)
    local distinct = {}
    for _, s in ipairs(aug.seeds) do
      assert.equal("integer", math.type(s))
      distinct[s] = true
    end
    local count = 0
    for _ in pairs(distinct) do count = count + 1 end
    assert.equal(6, count)
    local unseeded = negator()
    DAS(rows_seq(3), "image", unseeded, 2, { include_original = false }):get(1)
    assert.same({}, unseeded.seeds)
  end)

  it("reports an augmentator that changes the shape or dtype, naming batch, copy and row", function()
    local shrink = { random_transform = function(_, x) return x:narrow(1, 1, 1) end }
    check.fails_with(function() DAS(rows_seq(3), "image", shrink, 2, { include_original = false }):get(2) end,
      "changed the shape", "[2, 2, 1]", "[1, 2, 1]", "batch 2, copy 1, row 1")
    local retype = { random_transform = function(_, x) return x:double() end }
    check.fails_with(function() DAS(rows_seq(3), "image", retype, 2, { include_original = false }):get(1) end, "changed the dtype", "float32", "float64")
    local nothing = { random_transform = function() return nil end }
    check.fails_with(function() DAS(rows_seq(3), "image", nothing, 1, { include_original = false }):get(1) end, "returned a nil", "batch 1, copy 1, row 1")
  end)

  it("checks its arguments", function()
    local s = rows_seq(3)
    check.fails_with(function() DAS(5, "image", negator(), 2) end, "original_sequence", "Sequence")
    check.fails_with(function() DAS(s, "image", {}, 2) end, "augmentator", "random_transform")
    check.fails_with(function() DAS(s, "image", negator(), 0) end, "n_augmentation", "0")
    check.fails_with(function() DAS(s, "image", negator(), 1.5) end, "n_augmentation")
    check.fails_with(function() DAS(s, { "image" }, negator(), 2) end, "input_name")
    check.fails_with(function() DAS(s, "picture", negator(), 2):get(1) end, "no input picture", "image, meta")
    check.fails_with(function()
      DAS(dnn.data.from_tensors { dnn.zeros(4, 2), dnn.zeros(4) }, "image", negator(), 2):get(1)
    end, "single tensor", "input_name")
    check.fails_with(function() DAS(s, "image", negator(), 2, { seed = 0.5 }) end, "seed")
  end)

  it("trains a model through fit with batches of batch_size * n_augmentation", function()
    dnn.manual_seed(2)
    local x = dnn.rand(16, 8, 8, 1)
    local y = (x:mean({ 2, 3, 4 }) * 2):floor():long():clamp(0, 1)
    local meta = dnn.rand(16, 2)
    local build = dnn.data.sequence_builder { { image = x, meta = meta }, y, shuffle = true, seed = 1 }
    local gen = dnn.data.ImageDataGenerator { rotation_range = 20, horizontal_flip = true }
    local seq = DAS(build(4), "image", gen, 3)
    -- a functional model takes its inputs by the names of its Input layers
    local image = dnn.Input { shape = { 8, 8, 1 }, name = "image" }
    local info = dnn.Input { shape = { 2 }, name = "meta" }
    local joined = dnn.layers.Concatenate {} { dnn.layers.Flatten {}(image), info }
    local out = dnn.layers.Dense { 2, activation = "softmax" }(joined)
    local model = dnn.Model { inputs = { image, info }, outputs = out }
    model:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
    local sizes = {}
    local cb = dnn.callbacks.LambdaCallback { on_train_batch_begin = function(step)
      sizes[#sizes + 1] = step
    end }
    local h = model:fit { seq, epochs = 2, verbose = 0, callbacks = { cb } }
    assert.equal(8, #sizes) -- 4 batches of 4 * 3 per epoch
    assert.equal(2, #h.history.loss)
    assert(h.history.loss[2] == h.history.loss[2])
    assert.same({ 12, 8, 8, 1 }, seq:get(1).image:size())
  end)
end)

describe("examples/augmentation.lua", function()
  local ROOT = os.getenv("DNN_ROOT") or "."
  local RUNNER = os.getenv("DNNLUA") or "lua5.4"
  local function q(v) return "'" .. v:gsub("'", "'\\''") .. "'" end

  it("trains briefly and writes the grid of originals and augmented copies", function()
    local png = os.tmpname() .. ".png"
    local p = assert(io.popen(("cd %s && %s examples/augmentation.lua --short --out %s 2>&1"):format(q(ROOT), q(RUNNER), q(png))))
    local out = p:read("a")
    local _, _, code = p:close()
    assert.equal(0, code, out)
    local acc = tonumber(out:match("Test accuracy: (%S+)"))
    assert(acc and acc > 0.2, out)
    -- 3 rows (the originals, then 2 augmented copies: n_augmentation = 3) x 8 columns of
    -- 28x28 images, 2-pixel white lines
    local grid = dnn.io.read_png(png)
    os.remove(png)
    assert.same({ 3 * 28 + 4 * 2, 8 * 28 + 9 * 2, 1 }, grid:size())
    assert.equal(255, grid[1][1][1])
  end)
end)
