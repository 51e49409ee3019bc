-- dnn.data.ImageDataGenerator: Keras's transforms against scipy.ndimage/PIL
-- references (spec/fixtures/augment, made by scripts/make_fixtures_augment.py),
-- random parameters, normalisation, flow and flow_from_directory.
local dnn = require "dnn"
local check = require "support.check"
local FX = require "fixtures.augment.apply_transform"

local IDG = dnn.data.ImageDataGenerator

-- Tolerance against scipy, by max|a-b| / max|b|: float64 1e-12 (the sampling
-- maps agree to ~1e-15; scipy's numpy matrix products and ours round
-- differently in the last bit), float32 1e-6, uint8 within 1 (a rounding tie).
local TOL = { float64 = 1e-12, float32 = 1e-6 }

local function image_of(c)
  return dnn.tensor(c.x, { dtype = c.dtype }):view(table.unpack(c.shape))
end

local function max_abs_diff(a, b)
  return (a:double() - b:double()):abs():max():item()
end

-- Quiet stderr while fn runs (Keras-style warnings), returning what was written.
local function capture_stderr(fn)
  local real = io.stderr
  local buf = {}
  io.stderr = { write = function(_, ...) for _, s in ipairs { ... } do buf[#buf + 1] = tostring(s) end end }
  local ok, err = pcall(fn)
  io.stderr = real
  if not ok then error(err, 0) end
  return table.concat(buf)
end

describe("ImageDataGenerator.apply_transform", function()
  it("matches scipy.ndimage.affine_transform (order=1) for every fill_mode and several combinations", function()
    local modes = {}
    for _, c in ipairs(FX) do
      local gen = IDG { fill_mode = c.fill_mode, cval = c.cval }
      local x = image_of(c)
      local y = gen:apply_transform(x, c.params)
      assert.equal(c.dtype, y.dtype, c.name)
      assert.same(x:size(), y:size(), c.name)
      local want = dnn.tensor(c.y, { dtype = "float64" }):view(table.unpack(c.shape))
      if c.dtype == "uint8" then
        assert(max_abs_diff(y, want) <= 1, c.name .. ": uint8 values differ by more than 1")
      else
        local e = check.rel_err(y:double(), want)
        assert(e <= TOL[c.dtype], ("%s: normalised error %g > %g"):format(c.name, e, TOL[c.dtype]))
      end
      modes[c.fill_mode] = (modes[c.fill_mode] or 0) + 1
    end
    for _, m in ipairs { "nearest", "constant", "reflect", "wrap" } do assert(modes[m] >= 10, m) end
  end)

  it("composes the sampling map as Keras does (rotation . shift . shear . zoom, centred)", function()
    for _, c in ipairs(FX) do
      local m, warps = dnn.core.image_transform_matrix(c.params, c.shape[1], c.shape[2])
      assert.equal(c.warp, warps, c.name)
      for k = 1, 6 do
        assert(math.abs(m[k] - c.matrix[k]) <= 1e-12 * math.max(1, math.abs(c.matrix[k])), c.name .. " entry " .. k)
      end
    end
  end)

  it("transforms a batch image by image, each with its own parameters", function()
    local cases = {}
    for _, c in ipairs(FX) do
      if c.fill_mode == "reflect" and c.dtype == "float32" then cases[#cases + 1] = c end
    end
    local parts, params = {}, {}
    for k, c in ipairs(cases) do
      parts[k] = image_of(c)
      params[k] = c.params
    end
    local gen = IDG { fill_mode = "reflect" }
    local y = gen:apply_transform(dnn.stack(parts, 1), params)
    for k, c in ipairs(cases) do
      local want = dnn.tensor(c.y, { dtype = "float64" }):view(table.unpack(c.shape))
      assert(check.rel_err(y[k]:double(), want) <= 1e-6, c.name)
    end
  end)

  it("moves rows with tx (height) and columns with ty (width), as the arguments are documented", function()
    -- 6x5 image whose value is 10*row + col (0-based)
    local rows = {}
    for r = 0, 5 do
      rows[r + 1] = {}
      for c = 0, 4 do rows[r + 1][c + 1] = { 10 * r + c } end
    end
    local x = dnn.tensor(rows, { dtype = "float64" })
    local gen = IDG { fill_mode = "nearest" }
    -- output pixel (r, c) reads input (r + tx, c + ty), clamped at the edges
    local y = gen:apply_transform(x, { tx = 2, ty = -1 })
    for r = 0, 5 do
      for c = 0, 4 do
        local rr, cc = math.min(r + 2, 5), math.max(c - 1, 0)
        assert.equal(10 * rr + cc, y[r + 1][c + 1][1])
      end
    end
    -- flips: horizontal reverses columns, vertical rows; no warp at all
    local f = gen:apply_transform(x, { flip_horizontal = true, flip_vertical = true })
    for r = 0, 5 do
      for c = 0, 4 do assert.equal(10 * (5 - r) + (4 - c), f[r + 1][c + 1][1]) end
    end
  end)

  it("takes channels-first images with data_format=\"channels_first\"", function()
    local c = FX[#FX - 5]
    local x = image_of(c)
    local last = IDG { fill_mode = c.fill_mode }:apply_transform(x, c.params)
    local first = IDG { fill_mode = c.fill_mode, data_format = "channels_first" }
        :apply_transform(x:permute(3, 1, 2):contiguous(), c.params)
    assert.equal(0, max_abs_diff(first:permute(2, 3, 1), last))
  end)

  it("rejects bad images and parameters with the argument named", function()
    local gen = IDG {}
    check.fails_with(function() gen:apply_transform(dnn.zeros(4, 4), {}) end, "apply_transform", "[4, 4]")
    check.fails_with(function() gen:apply_transform(dnn.zeros(4, 4, 1, { dtype = "int32" }), { theta = 3 }) end,
      "image_transform", "int32")
    check.fails_with(function() gen:apply_transform(dnn.zeros(4, 4, 1), { rotation = 3 }) end, "unknown key 'rotation'")
    check.fails_with(function() gen:apply_transform(dnn.zeros(4, 4, 1), { theta = "big" }) end, "params.theta", "number")
    check.fails_with(function() gen:apply_transform(dnn.zeros(4, 4, 1), { zx = 0 / 0 }) end, "params.zx", "finite")
    check.fails_with(function() gen:apply_transform(dnn.zeros(2, 4, 4, 1), { {} }) end, "1 parameter tables", "2 images")
    check.fails_with(function() gen:apply_transform(dnn.zeros(2, 4, 4, 1), { {}, { zx = true } }) end, "params[2].zx")
    check.fails_with(function() gen:apply_transform(dnn.zeros(4, 4, 2), { brightness = 0.5 }) end,
      "brightness", "1, 3 or 4 channels")
  end)
end)

describe("ImageDataGenerator arguments", function()
  it("reads zoom_range as Keras does: z -> [1-z, 1+z], a pair as given", function()
    assert.same({ 0.8, 1.2 }, IDG { zoom_range = 0.2 }.zoom_range)
    assert.same({ 0.5, 1.5 }, IDG { zoom_range = { 0.5, 1.5 } }.zoom_range)
    assert.same({ 1, 1 }, IDG {}.zoom_range)
  end)

  it("names the argument and the value of every bad argument", function()
    check.fails_with(function() IDG { rotation_range = "40" } end, "rotation_range", "number")
    check.fails_with(function() IDG { rotation_range = -5 } end, "rotation_range", ">= 0")
    check.fails_with(function() IDG { width_shift_range = {} } end, "width_shift_range", "empty")
    check.fails_with(function() IDG { height_shift_range = { 0.1, "a" } } end, "height_shift_range[2]")
    check.fails_with(function() IDG { zoom_range = { 1.2 } } end, "zoom_range", "two floats")
    check.fails_with(function() IDG { zoom_range = { 1.5, 0.5 } } end, "zoom_range", "low <= high")
    check.fails_with(function() IDG { brightness_range = 0.5 } end, "brightness_range", "two floats")
    check.fails_with(function() IDG { fill_mode = "mirror" } end, "fill_mode", "mirror")
    check.fails_with(function() IDG { cval = "0" } end, "cval")
    check.fails_with(function() IDG { horizontal_flip = 1 } end, "horizontal_flip", "boolean")
    check.fails_with(function() IDG { data_format = "NHWC" } end, "data_format", "NHWC")
    check.fails_with(function() IDG { validation_split = 1.5 } end, "validation_split", "1.5")
    check.fails_with(function() IDG { interpolation_order = 3 } end, "interpolation_order", "3")
    check.fails_with(function() IDG { zca_whitening = true } end, "zca_whitening", "not implemented")
    check.fails_with(function() IDG { rotation = 40 } end, "unknown argument 'rotation'")
  end)

  it("turns std normalisation on with centring, with Keras's warning", function()
    local gen
    local err = capture_stderr(function() gen = IDG { featurewise_std_normalization = true } end)
    assert.is_true(gen.featurewise_center)
    assert.truthy(err:find("overrides setting of `featurewise_center`", 1, true))
  end)
end)

describe("ImageDataGenerator random parameters", function()
  local gen = IDG { rotation_range = 40, width_shift_range = 0.2, height_shift_range = 0.1, shear_range = 15,
    zoom_range = { 0.7, 1.1 }, channel_shift_range = 20, brightness_range = { 0.5, 1.5 },
    horizontal_flip = true }

  it("stays inside the ranges (shifts as fractions of the image size)", function()
    local seen_flip, seen_noflip = false, false
    dnn.manual_seed(3)
    for _ = 1, 200 do
      local p = gen:get_random_transform({ 30, 50, 3 })
      assert(math.abs(p.theta) <= 40)
      assert(math.abs(p.tx) <= 0.1 * 30 and math.abs(p.ty) <= 0.2 * 50)
      assert(math.abs(p.shear) <= 15)
      assert(p.zx >= 0.7 and p.zx <= 1.1 and p.zy >= 0.7 and p.zy <= 1.1)
      assert(p.zx ~= p.zy) -- drawn independently
      assert(math.abs(p.channel_shift_intensity) <= 20)
      assert(p.brightness >= 0.5 and p.brightness <= 1.5)
      assert.is_false(p.flip_vertical)
      if p.flip_horizontal then seen_flip = true else seen_noflip = true end
    end
    assert.is_true(seen_flip and seen_noflip)
  end)

  it("takes integer shifts as whole pixels and lists as values to pick (with a random sign)", function()
    local g = IDG { width_shift_range = 3, height_shift_range = { 2, 5 } }
    local ty_seen, tx_seen = {}, {}
    dnn.manual_seed(11)
    for _ = 1, 300 do
      local p = g:get_random_transform({ 20, 20, 1 })
      assert.equal(math.floor(p.ty), p.ty)
      assert(math.abs(p.ty) <= 2)
      assert(math.abs(p.tx) == 2 or math.abs(p.tx) == 5)
      ty_seen[p.ty] = true
      tx_seen[p.tx] = true
    end
    for _, v in ipairs { -2, -1, 1, 2 } do assert.is_true(ty_seen[v], "ty " .. v) end
    for _, v in ipairs { -5, -2, 2, 5 } do assert.is_true(tx_seen[v], "tx " .. v) end
    -- a float >= 1 is pixels drawn uniformly
    local p = IDG { width_shift_range = 4.0 }:get_random_transform({ 10, 10, 1 }, 1)
    assert(math.abs(p.ty) <= 4 and p.ty ~= math.floor(p.ty))
  end)

  it("gives the same parameters and output for the same seed, and leaves the global generator alone", function()
    local before = dnn.get_rng_state():totable()
    local a = gen:get_random_transform({ 30, 50, 3 }, 42)
    local b = gen:get_random_transform({ 30, 50, 3 }, 42)
    assert.same(a, b)
    assert.are_not.same(a, gen:get_random_transform({ 30, 50, 3 }, 43))
    assert.same(before, dnn.get_rng_state():totable())
    local x = dnn.rand(30, 50, 3) * 255
    local y1, y2 = gen:random_transform(x, 7), gen:random_transform(x, 7)
    assert.equal(0, max_abs_diff(y1, y2))
    assert(max_abs_diff(y1, gen:random_transform(x, 8)) > 0)
    -- the seeded output is apply_transform of the seeded parameters
    assert.equal(0, max_abs_diff(y1, gen:apply_transform(x, gen:get_random_transform({ 30, 50, 3 }, 7))))
  end)

  it("leaves an image unchanged when nothing is enabled", function()
    local x = dnn.rand(9, 7, 3)
    assert.equal(0, max_abs_diff(IDG {}:random_transform(x), x))
  end)

  it("checks img_shape and seed", function()
    check.fails_with(function() gen:get_random_transform({ 3, 4 }) end, "img_shape", "3 integers")
    check.fails_with(function() gen:get_random_transform({ 3, 0, 1 }) end, "img_shape[2]")
    check.fails_with(function() gen:random_transform(dnn.zeros(4, 4, 1), 1.5) end, "seed", "integer")
  end)
end)

describe("ImageDataGenerator normalisation", function()
  -- plain-Lua per-channel mean and population std of (N, H, W, C)
  local function channel_stats(x)
    local t = x:double():totable()
    local c = #t[1][1][1]
    local sum, sq, n = {}, {}, 0
    for k = 1, c do sum[k], sq[k] = 0, 0 end
    for _, img in ipairs(t) do
      for _, row in ipairs(img) do
        for _, px in ipairs(row) do
          n = n + 1
          for k = 1, c do sum[k] = sum[k] + px[k] end
        end
      end
    end
    local mean = {}
    for k = 1, c do mean[k] = sum[k] / n end
    for _, img in ipairs(t) do
      for _, row in ipairs(img) do
        for _, px in ipairs(row) do
          for k = 1, c do sq[k] = sq[k] + (px[k] - mean[k]) ^ 2 end
        end
      end
    end
    local std = {}
    for k = 1, c do std[k] = math.sqrt(sq[k] / n) end
    return mean, std
  end

  it("fit computes the per-channel mean and std after rescale; standardize applies them", function()
    dnn.manual_seed(5)
    local x = dnn.rand(6, 5, 4, 3) * 255
    local gen = IDG { featurewise_center = true, featurewise_std_normalization = true, rescale = 1 / 255 }
    gen:fit(x)
    local mean, std = channel_stats(x:double() / 255)
    assert.same({ 1, 1, 3 }, gen.mean:size())
    assert(check.rel_err(gen.mean:view(-1), mean) <= 1e-5)
    assert(check.rel_err(gen.std:view(-1), std) <= 1e-5)
    local z = gen:standardize(x)
    local zm, zs = channel_stats(z)
    for k = 1, 3 do
      assert(math.abs(zm[k]) < 1e-5, "mean " .. zm[k])
      assert(math.abs(zs[k] - 1) < 1e-4, "std " .. zs[k])
    end
  end)

  it("samplewise centring and std normalisation work per image", function()
    local x = dnn.rand(3, 4, 4, 1) * 10 + dnn.arange(0, 3):view(3, 1, 1, 1) * 100
    local gen = IDG { samplewise_center = true, samplewise_std_normalization = true }
    local z = gen:standardize(x)
    for i = 1, 3 do
      local zi = z[i]:double()
      assert(math.abs(zi:mean():item()) < 1e-5)
      local sd = math.sqrt(((zi - zi:mean()) ^ 2):mean():item())
      assert(math.abs(sd - 1) < 1e-4)
    end
    -- a single image gives the same as its batch row
    assert(max_abs_diff(gen:standardize(x[2]), z[2]) < 1e-6)
  end)

  it("applies preprocessing_function first and checks what it returns", function()
    local gen = IDG { preprocessing_function = function(img) return img * 2 end, rescale = 0.5 }
    local x = dnn.rand(2, 3, 3, 1)
    assert(max_abs_diff(gen:standardize(x), x) < 1e-7)
    local bad = IDG { preprocessing_function = function(img) return img:narrow(1, 1, 2) end }
    check.fails_with(function() bad:standardize(x) end, "preprocessing_function", "[3, 3, 1]", "[2, 3, 1]")
  end)

  it("warns (once) when featurewise centring is asked for before fit", function()
    local gen = IDG { featurewise_center = true }
    local x = dnn.ones(1, 2, 2, 1)
    local err = capture_stderr(function()
      gen:standardize(x)
      gen:standardize(x)
    end)
    local _, count = err:gsub("hasn't been fit", "")
    assert.equal(1, count)
  end)

  it("fit checks its input", function()
    check.fails_with(function() IDG { featurewise_center = true }:fit(dnn.zeros(4, 4, 1)) end, "rank 4", "[4, 4, 1]")
    check.fails_with(function() IDG {}:fit(dnn.zeros(1, 4, 4, 1), { rounds = 0 }) end, "rounds")
  end)
end)

describe("ImageDataGenerator.flow", function()
  -- image k (0-based) is filled with the value k: labels can be traced
  local function traced(n)
    return dnn.arange(0, n):view(n, 1, 1, 1):expand(n, 4, 4, 1):contiguous(), dnn.arange(0, n, { dtype = "int64" })
  end

  it("is a Sequence of batches whose labels follow their images", function()
    local x, y = traced(10)
    local it = IDG {}:flow(x, y, { batch_size = 4, seed = 3 })
    assert.equal(3, it:len())
    local seen = {}
    for i = 1, 3 do
      local xb, yb = it:get(i)
      assert.equal("float32", xb.dtype)
      assert.equal(i < 3 and 4 or 2, xb:size(1))
      for k = 1, xb:size(1) do
        assert.equal(yb[k], xb[k][1][1][1])
        seen[yb[k]] = true
      end
    end
    for k = 0, 9 do assert.is_true(seen[k]) end
  end)

  it("shuffles each epoch, repeats with a seed, and keeps order with shuffle=false", function()
    local x, y = traced(12)
    local gen = IDG { rotation_range = 30 }
    local a = gen:flow(x, y, { batch_size = 12, seed = 9 })
    local b = gen:flow(x, y, { batch_size = 12, seed = 9 })
    local xa, ya = a:get(1)
    local xb, yb = b:get(1)
    assert.same(ya:totable(), yb:totable())
    assert.equal(0, max_abs_diff(xa, xb))
    a:on_epoch_end()
    local _, ya2 = a:get(1)
    assert.are_not.same(ya:totable(), ya2:totable())
    local plain = IDG {}:flow(x, y, { batch_size = 5, shuffle = false })
    local _, y1 = plain:get(1)
    assert.same({ 0, 1, 2, 3, 4 }, y1:totable())
  end)

  it("returns only x without y, and sample weights when given", function()
    local x, y = traced(5)
    local gen = IDG {}
    local xb, yb = gen:flow(x, nil, { batch_size = 2, shuffle = false }):get(1)
    assert.same({ 2, 4, 4, 1 }, xb:size())
    assert.is_nil(yb)
    local _, _, wb = gen:flow(x, y, { batch_size = 2, shuffle = false, sample_weight = dnn.arange(0, 5) * 2 }):get(3)
    assert.same({ 8 }, wb:totable())
  end)

  it("splits with validation_split and subset (validation first, as Keras)", function()
    local x = dnn.arange(0, 10):view(10, 1, 1, 1):expand(10, 2, 2, 1):contiguous()
    local y = dnn.tensor({ 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 })
    local gen = IDG { validation_split = 0.2 }
    local val = gen:flow(x, y, { batch_size = 10, shuffle = false, subset = "validation" })
    local train = gen:flow(x, y, { batch_size = 10, shuffle = false, subset = "training" })
    assert.equal(2, val:get(1):size(1))
    assert.equal(8, train:get(1):size(1))
    assert.equal(2, train:get(1)[1][1][1][1])
    check.fails_with(function()
      gen:flow(x, dnn.tensor({ 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 }), { subset = "training" })
    end, "different number of classes")
    check.fails_with(function() gen:flow(x, y, { subset = "test" }) end, "Invalid subset name", "test")
  end)

  it("is accepted by fit", function()
    dnn.manual_seed(1)
    local x = dnn.rand(16, 6, 6, 1)
    local y = dnn.randint(0, 2, { 16 })
    local model = dnn.Sequential { dnn.layers.Flatten { input_shape = { 6, 6, 1 } }, dnn.layers.Dense { 2, activation = "softmax" } }
    model:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
    local h = model:fit { IDG { rotation_range = 10, horizontal_flip = true }:flow(x, y, { batch_size = 8, seed = 1 }), epochs = 2, verbose = 0 }
    assert.equal(2, #h.history.loss)
    assert(h.history.loss[2] == h.history.loss[2] and h.history.loss[2] < 10)
  end)

  it("checks its arguments", function()
    local gen = IDG {}
    check.fails_with(function() gen:flow(dnn.zeros(4, 4, 1), nil) end, "rank 4", "[4, 4, 1]")
    check.fails_with(function() gen:flow(dnn.zeros(4, 2, 2, 1), dnn.zeros(3)) end, "same length", "[4, 2, 2, 1]", "[3]")
    check.fails_with(function() gen:flow(dnn.zeros(4, 2, 2, 1), dnn.zeros(4), { batch_size = 0 }) end, "batch_size")
    check.fails_with(function() gen:flow(dnn.zeros(4, 2, 2, 1), dnn.zeros(4), { seed = "x" }) end, "seed")
    check.fails_with(function() gen:flow(dnn.zeros(4, 2, 2, 1), dnn.zeros(4)):get(2) end, "out of range 1..1")
  end)
end)

describe("ImageDataGenerator.flow_from_directory", function()
  local root

  -- classes cat (3 images), dog (2 images + 1 in a sub-folder), a stray JPEG
  setup(function()
    root = os.tmpname()
    os.remove(root)
    assert(os.execute(("mkdir -p '%s/cat' '%s/dog/more'"):format(root, root)))
    local function img(v, h, w)
      return dnn.full({ h or 6, w or 8, 3 }, v, { dtype = "uint8" })
    end
    dnn.io.write_png(root .. "/cat/c1.png", img(10))
    dnn.io.write_png(root .. "/cat/c2.png", img(20))
    dnn.io.write_png(root .. "/cat/c3.png", img(30))
    dnn.io.write_png(root .. "/dog/d1.png", img(40, 12, 16))
    dnn.io.write_png(root .. "/dog/d2.png", img(50))
    dnn.io.write_png(root .. "/dog/more/d3.png", img(60))
    local f = assert(io.open(root .. "/cat/photo.jpg", "wb"))
    f:write("not read")
    f:close()
  end)

  teardown(function() os.execute(("rm -rf '%s'"):format(root)) end)

  -- Runs fn with io.stdout and io.stderr captured; returns fn's result and both texts.
  local function quiet(fn)
    local real = io.stdout
    local buf = {}
    io.stdout = { write = function(_, ...) for _, s in ipairs { ... } do buf[#buf + 1] = tostring(s) end end }
    local res
    local ok, err = pcall(capture_stderr, function() res = fn() end)
    io.stdout = real
    if not ok then error(err, 0) end
    return res, table.concat(buf), err
  end

  it("finds class folders in sorted order, files sorted by path, and labels them", function()
    local it, _, err = quiet(function()
      return IDG {}:flow_from_directory(root, { target_size = { 6, 8 }, batch_size = 6, shuffle = false })
    end)
    assert.truthy(err:find("skipped 1", 1, true))
    assert.same({ cat = 0, dog = 1 }, it.class_indices)
    assert.same({ "cat/c1.png", "cat/c2.png", "cat/c3.png", "dog/d1.png", "dog/d2.png", "dog/more/d3.png" }, it.filenames)
    assert.same({ 0, 0, 0, 1, 1, 1 }, it.classes)
    local xb, yb = it:get(1)
    assert.same({ 6, 6, 8, 3 }, xb:size())
    assert.equal("float32", xb.dtype)
    for k, v in ipairs { 10, 20, 30, 40, 50, 60 } do
      assert.equal(v, xb[k][3][4][2])
    end
    assert.same({ { 1, 0 }, { 1, 0 }, { 1, 0 }, { 0, 1 }, { 0, 1 }, { 0, 1 } }, yb:totable())
  end)

  it("prints Keras's summary line", function()
    local _, out = quiet(function() return IDG {}:flow_from_directory(root, { target_size = { 6, 8 } }) end)
    assert.equal("Found 6 images belonging to 2 classes.\n", out)
  end)

  it("gives binary, sparse, input and no labels; grayscale; resizing; rescale", function()
    quiet(function()
      local gen = IDG { rescale = 1 / 10 }
      local opts = { target_size = { 3, 4 }, batch_size = 6, shuffle = false }
      opts.class_mode = "binary"
      local xb, yb = gen:flow_from_directory(root, opts):get(1)
      assert.same({ 6, 3, 4, 3 }, xb:size())
      assert(math.abs(xb[4][1][1][1] - 4) < 1e-6)
      assert.same({ 0, 0, 0, 1, 1, 1 }, yb:totable())
      opts.class_mode = "sparse"
      local _, ys = gen:flow_from_directory(root, opts):get(1)
      assert.same({ 0, 0, 0, 1, 1, 1 }, ys:totable())
      opts.class_mode = "input"
      local xi, yi = gen:flow_from_directory(root, opts):get(1)
      assert.equal(0, max_abs_diff(xi, yi))
      opts.class_mode = false
      opts.color_mode = "grayscale"
      local xg, none = gen:flow_from_directory(root, opts):get(1)
      assert.same({ 6, 3, 4, 1 }, xg:size())
      assert.is_nil(none)
    end)
  end)

  it("takes classes in the order given, and splits each class with subset", function()
    quiet(function()
      local gen = IDG { validation_split = 0.34 }
      local it = gen:flow_from_directory(root, { target_size = { 6, 8 }, classes = { "dog", "cat" }, shuffle = false })
      assert.same({ dog = 0, cat = 1 }, it.class_indices)
      assert.same({ 0, 0, 0, 1, 1, 1 }, it.classes)
      local val = gen:flow_from_directory(root, { target_size = { 6, 8 }, subset = "validation", shuffle = false })
      local train = gen:flow_from_directory(root, { target_size = { 6, 8 }, subset = "training", shuffle = false })
      -- floor(0.34 * 3) = 1 file per class for validation
      assert.same({ "cat/c1.png", "dog/d1.png" }, val.filenames)
      assert.same({ "cat/c2.png", "cat/c3.png", "dog/d2.png", "dog/more/d3.png" }, train.filenames)
    end)
  end)

  it("names the bad argument or the missing folder", function()
    quiet(function()
      local gen = IDG {}
      check.fails_with(function() gen:flow_from_directory(root .. "/nope") end, "no such directory")
      check.fails_with(function() gen:flow_from_directory(root, { color_mode = "cmyk" }) end, "Invalid color mode", "cmyk")
      check.fails_with(function() gen:flow_from_directory(root, { class_mode = "multi" }) end, "Invalid class_mode", "multi")
      check.fails_with(function() gen:flow_from_directory(root, { target_size = { 0, 4 } }) end, "target_size")
      check.fails_with(function() gen:flow_from_directory(root, { subset = "test" }) end, "Invalid subset name")
      check.fails_with(function() gen:flow_from_directory(root, { classes = { "cat", 3 } }) end, "classes[2]")
      check.fails_with(function() gen:flow_from_directory(root, { interpolation = "lanczos" }) end, "interpolation")
    end)
  end)

  it("reports an unreadable image by its path", function()
    quiet(function()
      local bad = root .. "/bad"
      os.execute(("mkdir -p '%s/x'"):format(bad))
      local f = assert(io.open(bad .. "/x/broken.png", "wb"))
      f:write("\137PNG\r\n\26\n garbage")
      f:close()
      local it = IDG {}:flow_from_directory(bad, { target_size = { 4, 4 } })
      check.fails_with(function() it:get(1) end, "broken.png")
    end)
  end)
end)
