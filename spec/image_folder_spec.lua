-- dnn.data.image_dataset_from_directory and dnn.data.resize_images.
-- Reference: spec/fixtures/io/folder.lua -- Keras 2.15's index_directory and
-- validation split (transcribed, with numpy's RandomState shuffles) run by
-- scripts/make_fixtures_io.py on the same tree this spec builds -- and
-- resize.lua, PyTorch's interpolate (= tf.image.resize) on fixed images.
local dnn = require "dnn"
local check = require "support.check"

local ROOT = os.getenv("DNN_ROOT") or "."
local FOLDER = dofile(ROOT .. "/spec/fixtures/io/folder.lua")
local RESIZE = dofile(ROOT .. "/spec/fixtures/io/resize.lua")

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

local function shape(t)
  local s, out = t:size(), {}
  for i = 1, t:dim() do out[i] = s[i] end
  return out
end

local function rel(dir, paths)
  local out = {}
  for i, p in ipairs(paths) do out[i] = p:sub(#dir + 2) end
  return out
end

-- The fixture's tree; every PNG is 3x4 RGB whose red value is its file number
-- (position in FOLDER.tree), green 7, blue a left-right ramp (to see flips).
local function build_tree()
  local dir = tmpdir()
  for k, p in ipairs(FOLDER.tree) do
    local full = dir .. "/" .. p
    if p:sub(-1) == "/" then
      assert(os.execute("mkdir -p " .. q(full)))
    else
      assert(os.execute("mkdir -p " .. q(full:match("^(.*)/[^/]*$"))))
      if p:lower():match("%.png$") then
        local img = dnn.zeros(3, 4, 3):byte()
        img[{ {}, {}, 1 }] = k
        img[{ {}, {}, 2 }] = 7
        for x = 1, 4 do img[{ {}, x, 3 }] = x * 10 end
        dnn.io.write_png(full, img)
      else
        local f = assert(io.open(full, "w"))
        f:write("not an image\n")
        f:close()
      end
    end
  end
  return dir
end

local function file_number(path)
  for k, p in ipairs(FOLDER.tree) do
    if p == path then return k end
  end
end

describe("dnn.data.image_dataset_from_directory", function()
  local dir
  setup(function() dir = build_tree() end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  for k, case in ipairs(FOLDER.cases) do
    it("lists, labels and splits files as Keras does (case " .. k .. ")", function()
      local opts = { image_size = { 3, 4 }, batch_size = 5, verbose = false }
      for key, v in pairs(case.args) do opts[key] = v end
      local seq = dnn.data.image_dataset_from_directory(dir, opts)
      assert.are.same(case.files, rel(dir, seq.file_paths))
      if case.class_names then
        assert.are.same(case.class_names, seq.class_names)
      end
      -- every batch: images are the listed files, labels theirs
      local seen = {}
      for i = 1, seq:len() do
        local x, y = seq:get(i)
        assert.are.equal("float32", x.dtype)
        if case.args.labels == false then
          assert.is_nil(y)
        else
          assert.are.equal("int64", y.dtype)
        end
        for b = 1, x:size(1) do
          local num = math.tointeger(x[{ b, 1, 1, 1 }])
          local path = FOLDER.tree[num]
          local pos
          for j, f in ipairs(case.files) do if f == path then pos = j end end
          assert.is_not_nil(pos, "batch holds a file outside the subset: " .. tostring(path))
          if y then assert.are.equal(case.labels[pos], y[b]) end
          seen[#seen + 1] = pos
        end
      end
      assert.are.equal(#case.files, #seen)
      if not case.args.shuffle then
        for j = 1, #seen do assert.are.equal(j, seen[j]) end
      end
    end)
  end

  it("prints what Keras prints", function()
    local lines = {}
    local saved = _G.print
    _G.print = function(s) lines[#lines + 1] = s end
    local ok, err = pcall(dnn.data.image_dataset_from_directory, dir,
      { image_size = { 3, 4 }, seed = 1, validation_split = 0.25, subset = "both" })
    _G.print = saved
    assert(ok, err)
    assert.are.same({ "Found 16 files belonging to 3 classes.", "Using 12 files for training.",
      "Using 4 files for validation." }, lines)
  end)

  it("returns training and validation sequences for subset='both'", function()
    local tr, va = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, seed = 7,
      validation_split = 0.25, subset = "both", verbose = false })
    assert.are.same(FOLDER.cases[2].files, rel(dir, tr.file_paths))
    assert.are.same(FOLDER.cases[3].files, rel(dir, va.file_paths))
    assert.is_true(tr.shuffle)
    assert.is_false(va.shuffle)
  end)

  it("gives categorical, binary and grayscale/rgba variants", function()
    local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, batch_size = 16, shuffle = false,
      label_mode = "categorical", color_mode = "grayscale", verbose = false })
    local x, y = seq:get(1)
    assert.are.same({ 16, 3, 4, 1 }, shape(x))
    assert.are.same({ 16, 3 }, shape(y))
    assert.are.equal("float32", y.dtype)
    assert.are.same({ 1, 0, 0 }, y[1]:totable())
    assert.are.same({ 0, 1, 0 }, y[16]:totable())
    -- gray = luma of the RGB pixel, as read_png computes it
    local first = dnn.io.read_png(seq.file_paths[1], { channels = 1 })
    assert.are.equal(first[{ 1, 1, 1 }], x[{ 1, 1, 1, 1 }])
    local rgba = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, color_mode = "rgba", seed = 2,
      verbose = false })
    assert.are.same({ 4, 255 }, { rgba:get(1):size(4), rgba:get(1)[{ 1, 1, 1, 4 }] })
    check.fails_with(function()
      dnn.data.image_dataset_from_directory(dir, { label_mode = "binary", verbose = false })
    end, 'there must be exactly 2 class_names', "'cats', 'dogs', 'empty_class'")
  end)

  it("takes explicit labels in the sorted file order", function()
    local n = 18
    local labels = {}
    for i = 1, n do labels[i] = (i - 1) % 2 end
    local seq = dnn.data.image_dataset_from_directory(dir, { labels = labels, shuffle = false, image_size = { 3, 4 },
      batch_size = n, verbose = false, label_mode = "binary" })
    assert.are.same({ "0", "1" }, seq.class_names)
    local x, y = seq:get(1)
    assert.are.same({ n, 1 }, shape(y))
    assert.are.equal(1, y[{ 2, 1 }])
    assert.are.equal(n, x:size(1))
    check.fails_with(function()
      dnn.data.image_dataset_from_directory(dir, { labels = { 0, 1 }, verbose = false })
    end, "len(labels) is 2 while we found 18 files")
  end)

  it("resizes in C exactly as resize_images does (bilinear and nearest)", function()
    for _, interp in ipairs({ "bilinear", "nearest" }) do
      local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 5, 7 }, shuffle = false,
        interpolation = interp, batch_size = 3, verbose = false })
      local x = seq:get(1)
      for b = 1, 3 do
        local img = dnn.io.read_png(seq.file_paths[b])
        local want = dnn.data.resize_images(img, { 5, 7 }, { interpolation = interp })
        check.close(x[b], want, 1e-6)
      end
    end
  end)

  it("reshuffles each epoch from the seed, the same for the same seed", function()
    local function epochs(seed)
      local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, batch_size = 16, seed = seed,
        verbose = false })
      local out = {}
      for e = 1, 3 do
        local x = seq:get(1)
        local ids = {}
        for b = 1, x:size(1) do ids[b] = math.tointeger(x[{ b, 1, 1, 1 }]) end
        out[e] = ids
        seq:on_epoch_end()
      end
      return out
    end
    local a, b = epochs(11), epochs(11)
    assert.are.same(a, b)
    assert.are_not.same(a[1], a[2])
    local s1, s2 = {}, {}
    for _, v in ipairs(a[1]) do s1[v] = true end
    for _, v in ipairs(a[2]) do s2[v] = true end
    assert.are.same(s1, s2)
  end)

  it("flips at random on the worker threads when asked (augment)", function()
    local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, batch_size = 16, seed = 3,
      augment = { horizontal_flip = true }, verbose = false })
    local x = seq:get(1)
    local flipped, kept = 0, 0
    for b = 1, 16 do
      local left, right = x[{ b, 1, 1, 3 }], x[{ b, 1, 4, 3 }]
      if left == 40 and right == 10 then flipped = flipped + 1 elseif left == 10 and right == 40 then kept = kept + 1 end
    end
    assert.are.equal(16, flipped + kept)
    assert.is_true(flipped > 0 and kept > 0)
    local again = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, batch_size = 16, seed = 3,
      augment = { horizontal_flip = true }, verbose = false })
    assert.is_true(again:get(1):eq(x):all():item())
  end)

  it("trains a model with fit", function()
    dnn.manual_seed(0)
    local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 3, 4 }, batch_size = 4, seed = 1,
      verbose = false })
    local model = dnn.Sequential {
      dnn.layers.Flatten { input_shape = { 3, 4, 3 } },
      dnn.layers.Dense { 3, activation = "softmax" },
    }
    model:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
    local h = model:fit { x = seq, epochs = 2, verbose = 0 }
    assert.are.equal(2, #h.history.loss)
    assert.is_true(h.history.loss[1] == h.history.loss[1])
    assert.are.equal(seq:len() * 2, seq.batches_served)
  end)

  it("names the file of a corrupt PNG when its batch is read", function()
    local d = tmpdir()
    os.execute("mkdir -p " .. q(d .. "/a") .. " " .. q(d .. "/b"))
    dnn.io.write_png(d .. "/a/ok.png", dnn.zeros(2, 2, 3):byte())
    local f = assert(io.open(d .. "/b/broken.png", "wb"))
    f:write("\137PNG\r\n\26\nnot really")
    f:close()
    local seq = dnn.data.image_dataset_from_directory(d, { image_size = { 2, 2 }, shuffle = false, verbose = false })
    check.fails_with(function() seq:get(1) end, "image_dataset_from_directory: ", d .. "/b/broken.png",
      "corrupt or truncated PNG")
    os.execute("rm -rf " .. q(d))
  end)

  it("raises Keras's argument errors", function()
    local function call(opts)
      opts.verbose = false
      return function() dnn.data.image_dataset_from_directory(dir, opts) end
    end
    check.fails_with(call { validation_split = 0.2, subset = "training" }, "you must provide a `seed` argument")
    check.fails_with(call { validation_split = 0.2 }, "if `subset` is set, `validation_split` must be set")
    check.fails_with(call { validation_split = 1.5, subset = "training", seed = 1 }, "must be between 0 and 1")
    check.fails_with(call { validation_split = 0.2, subset = "testing", seed = 1 }, '"training", "validation" or "both"')
    check.fails_with(call { color_mode = "cmyk" }, "`color_mode` must be one of")
    check.fails_with(call { label_mode = "sparse" }, "`label_mode` argument must be one of")
    check.fails_with(call { labels = "folders" }, "`labels` argument should be a list")
    check.fails_with(call { labels = false, class_names = { "a" } }, "you can only pass `class_names`")
    check.fails_with(call { class_names = { "cats", "dogs" } }, "did not match the names of the subdirectories",
      "Expected: ['cats', 'dogs', 'empty_class']")
    check.fails_with(call { image_size = { 0, 3 } }, "image_size must be {height, width}")
    check.fails_with(call { batch_size = 0 }, "batch_size must be a positive integer")
    check.fails_with(call { interpolation = "bicubic" }, 'interpolation must be "bilinear" or "nearest"')
    check.fails_with(call { augment = { rotation = 3 } }, "augment: unknown option 'rotation'")
    check.fails_with(call { bogus = 1 }, "unknown argument 'bogus'")
    check.fails_with(function() dnn.data.image_dataset_from_directory(dir .. "/nope") end,
      "image_dataset_from_directory: ", "/nope: no such directory")
    check.fails_with(function() dnn.data.image_dataset_from_directory(dir .. "/birds.png") end, "not a directory")
    check.fails_with(function()
      dnn.data.image_dataset_from_directory(dir .. "/empty_class", { verbose = false })
    end, "no images found in directory")
  end)

  it("names a JPEG it cannot read instead of skipping it", function()
    local d = tmpdir()
    os.execute("mkdir -p " .. q(d .. "/a"))
    local f = assert(io.open(d .. "/a/photo.JPG", "wb"))
    f:write("\255\216\255")
    f:close()
    check.fails_with(function() dnn.data.image_dataset_from_directory(d, { verbose = false }) end,
      d .. "/a/photo.JPG: only PNG images can be read")
    os.execute("rm -rf " .. q(d))
  end)

  it("is available as dnn.utils.image_dataset_from_directory", function()
    assert.are.equal(dnn.data.image_dataset_from_directory, dnn.utils.image_dataset_from_directory)
  end)
end)

describe("dnn.data.resize_images", function()
  for k, case in ipairs(RESIZE.cases) do
    local s = case.input_shape
    local input = dnn.tensor(case.input, { dtype = "uint8" }):view(s)
    for _, mode in ipairs({ "bilinear", "nearest" }) do
      it(("matches tf.image.resize / torch %s: %s -> %dx%d"):format(mode, table.concat(s, "x"), case.size[1],
        case.size[2]), function()
        local out = dnn.data.resize_images(input, case.size, { interpolation = mode })
        assert.are.equal("float32", out.dtype)
        assert.are.same({ s[1], case.size[1], case.size[2], s[4] }, shape(out))
        check.close(out, case[mode], 1e-6)
      end)
    end
    if case.crop_bilinear then
      it("crops to the aspect ratio as Keras's smart_resize, case " .. k, function()
        local out = dnn.data.resize_images(input, case.size, { crop_to_aspect_ratio = true })
        check.close(out, case.crop_bilinear, 1e-6)
      end)
    end
  end

  it("takes one (H, W, C) image and float input", function()
    local img = dnn.tensor(RESIZE.cases[1].input, { dtype = "uint8" }):view(RESIZE.cases[1].input_shape)[1]
    local a = dnn.data.resize_images(img, { 5, 4 })
    assert.are.same({ 5, 4, 3 }, shape(a))
    local b = dnn.data.resize_images(img:float() / 255, { 5, 4 })
    check.close(b * 255, a, 1e-6)
    local first = {}
    for i = 1, 60 do first[i] = RESIZE.cases[1].bilinear[i] end
    check.close(a:view(-1), first, 1e-6)
  end)

  it("checks its arguments", function()
    check.fails_with(function() dnn.data.resize_images(dnn.zeros(3, 3), { 2, 2 }) end,
      "resize: expected images (N, H, W, C) or one image (H, W, C), got [3,3]")
    check.fails_with(function() dnn.data.resize_images(dnn.zeros(2, 3, 3, 1), { 0, 2 }) end, "1..1000000")
    check.fails_with(function() dnn.data.resize_images(dnn.zeros(2, 3, 3, 1), { 2, 2 }, { interpolation = "area" }) end,
      'interpolation must be "bilinear" or "nearest"')
    check.fails_with(function() dnn.data.resize_images(dnn.zeros(2, 3, 3, 1), 2) end, "size must be {height, width}")
  end)
end)
