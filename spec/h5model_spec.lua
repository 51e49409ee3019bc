-- Keras .h5 model and weights files (lua/dnn/models/h5.lua): model:save,
-- dnn.models.load_model, model:save_weights, model:load_weights.
-- Reference data: spec/fixtures/h5model/, written with h5py by
-- scripts/make_fixtures_h5model.py exactly as tf.keras 2.15 and Keras 3 write
-- these files, with expected.json holding their weight values and the output
-- numpy computes for an input batch.  When /usr/bin/python3 has h5py, the
-- files we write are also listed by h5py.
--
-- Continuing training after a load follows the same trajectory as an
-- uninterrupted run when the data order and the random stream match: these
-- specs use shuffle=false and models without Dropout, and one case with
-- shuffle=true saves dnn.get_rng_state() beside the model and restores it
-- after the load (the file holds the model, not the process's generator).
local dnn = require "dnn"
require "dnn.models"
local h5 = require "dnn.models.h5"
local cjson = require "cjson"
local check = require "support.check"
local class = require "dnn.class"
local core = dnn.core
local L = dnn.layers

local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = ROOT .. "/spec/fixtures/h5model/"

-- ---- helpers ----

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function make_tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

local function read_bytes(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_bytes(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function listdir(d)
  local names = {}
  local p = assert(io.popen("ls -A " .. q(d)))
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, but the call succeeded")
  return tostring(err)
end

-- The error must contain every fragment.
local function assert_error(frags, f, ...)
  local msg = error_of(f, ...)
  for _, frag in ipairs(type(frags) == "table" and frags or { frags }) do
    if not msg:find(frag, 1, true) then
      error(("error message\n  %s\ndoes not contain\n  %s"):format(msg, frag), 2)
    end
  end
  return msg
end

-- Warnings the h5 module gives while fn runs.
local function warnings_of(fn)
  local got, old = {}, h5.warn
  h5.warn = function(m) got[#got + 1] = m end
  local ok, err = pcall(fn)
  h5.warn = old
  if not ok then error(err, 0) end
  return got
end

local function weights_equal(a, b)
  local wa, wb = a:get_weights(), b:get_weights()
  assert.equal(#wa, #wb)
  for i = 1, #wa do
    if not (wa[i].dtype == wb[i].dtype and tostring(wa[i]:size()) == tostring(wb[i]:size()) and wa[i]:equal(wb[i])) then
      return false, i
    end
  end
  return true
end

local function assert_same_weights(a, b)
  local ok, i = weights_equal(a, b)
  assert(ok, ("weight %s differs"):format(tostring(i)))
end

local function snapshot(m)
  local out = {}
  for i, w in ipairs(m:get_weights()) do out[i] = w end
  return out
end

local function assert_unchanged(m, snap)
  local now = m:get_weights()
  assert.equal(#snap, #now)
  for i = 1, #now do assert.is_true(now[i]:equal(snap[i]), "weight " .. i .. " changed") end
end

local function have_h5py()
  return os.execute("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == true
end

-- Runs a Python script with the file as argv[1]; returns its stdout.
local function python(script, file, d)
  write_bytes(d .. "/check.py", script)
  local p = assert(io.popen("/usr/bin/python3 " .. q(d .. "/check.py") .. " " .. q(file) .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  assert(ok, "python failed:\n" .. out)
  return out
end

-- The dnnlua executable of the build under test (for child processes).
local function dnnlua_exe()
  for d in package.cpath:gmatch("([^;]+)/lua/%?%.so") do
    local exe = d .. "/dnnlua"
    local f = io.open(exe, "rb")
    if f then
      f:close()
      return exe
    end
  end
end

-- Copies an HDF5 file through our own reader and writer.  edit(path, kind)
-- may return "skip" for an object; edit(path, "attr", name, value) may
-- return "skip" or a replacement value for an attribute.
local function copy_file(src, dst, edit)
  edit = edit or function() end
  local r <close> = core.h5.open(src)
  local w = core.h5.create(dst)
  local function copy_attrs(p)
    for _, a in ipairs(r:attrs(p)) do
      local v = r:get_attr(p, a)
      local e = edit(p, "attr", a, v)
      if e ~= "skip" then w:set_attr(p, a, e == nil and v or e) end
    end
  end
  local function walk(p)
    copy_attrs(p)
    for _, n in ipairs(r:members(p)) do
      local c = (p == "/" and "" or p) .. "/" .. n
      local kind = r:kind(c)
      if edit(c, kind) ~= "skip" then
        if kind == "group" then
          w:create_group(c)
          walk(c)
        else
          w:write_tensor(c, r:read_tensor(c))
          copy_attrs(c)
        end
      end
    end
  end
  walk("/")
  w:commit()
end

local EXPECTED = cjson.decode(read_bytes(FIX .. "expected.json"))

-- The fixtures' architecture (names as Keras gives them in a fresh session).
local function conv_model()
  return dnn.Sequential {
    L.Conv2D { 3, 3, activation = "relu", input_shape = { 4, 4, 2 }, name = "conv2d" },
    L.BatchNormalization { name = "batch_normalization" },
    L.Flatten { name = "flatten" },
    L.Dense { 2, name = "dense" },
  }
end

local function functional_model()
  local inp = dnn.Input { shape = { 6 }, name = "features" }
  local h = L.Dense { 5, activation = "tanh", name = "hidden" }(inp)
  local a = L.Dense { 3, name = "head_a" }(h)
  local b = L.Dense { 3, activation = "relu", name = "head_b" }(h)
  local out = L.Dense { 2, name = "out" }(L.Add { name = "add" } { a, b })
  return dnn.Model { inputs = inp, outputs = out, name = "functional_net" }
end

-- A custom layer with a trainable and a non-trainable weight, registered by name.
local ScaleShift = L.Layer:extend("ScaleShift")
function ScaleShift:init(opts)
  opts = opts or {}
  L.Layer.init(self, opts)
  self.offset = opts.offset or 0.5
end
function ScaleShift:build(s)
  self.scale = self:add_weight { name = "scale", shape = { s[#s] }, initializer = "random_normal" }
  self.calls = self:add_weight { name = "calls", shape = {}, initializer = "zeros", trainable = false }
end
function ScaleShift:call(x) return x * self.scale + self.offset end
function ScaleShift:get_config()
  local c = L.Layer.get_config(self)
  c.offset = self.offset
  return c
end
L.register("ScaleShift", ScaleShift)

local function custom_model()
  return dnn.Sequential {
    L.Dense { 4, activation = "relu", input_shape = { 3 }, name = "d1" },
    ScaleShift { offset = 0.25, name = "scale_shift" },
    L.Dense { 1, name = "d2" },
  }
end

local function fixture_input() return dnn.tensor(EXPECTED.input, { dtype = "float32" }) end

local function assert_fixture_weights(m)
  -- get_weights: the trainable weights, then the others (as Keras's model.get_weights)
  local expected = {
    EXPECTED.weights["conv2d/kernel"], EXPECTED.weights["conv2d/bias"],
    EXPECTED.weights["batch_normalization/gamma"], EXPECTED.weights["batch_normalization/beta"],
    EXPECTED.weights["dense/kernel"], EXPECTED.weights["dense/bias"],
    EXPECTED.weights["batch_normalization/moving_mean"], EXPECTED.weights["batch_normalization/moving_variance"],
  }
  local got = m:get_weights()
  assert.equal(#expected, #got)
  for i, w in ipairs(got) do
    -- multiples of 1/16 and 1/8: exact in float32
    assert.is_true(w:equal(dnn.tensor(expected[i], { dtype = "float32" })), "weight " .. i)
  end
  local y = m:predict(fixture_input(), { verbose = 0 })
  assert.is_true(check.close(y, EXPECTED.output, 1e-5)) -- max|a-b| / max|b| (DESIGN.md)
end

local dir
before_each(function() dir = make_tmpdir() end)
after_each(function() os.execute("rm -rf " .. q(dir)) end)

-- A small regression problem (fixed data, no generator involved).
local function data(n, din, dout, seed)
  dnn.manual_seed(seed or 5)
  return dnn.randn(n, din), dnn.randn(n, dout)
end

-- ==================================================================== weights files

describe("save_weights / load_weights", function()
  it("round-trip a Conv2D/BatchNormalization/Dense model bit for bit", function()
    dnn.manual_seed(1)
    local a = conv_model()
    a:compile { optimizer = "adam", loss = "mse" }
    local x, y = dnn.randn(16, 4, 4, 2), dnn.randn(16, 2)
    a:fit { x = x, y = y, epochs = 1, batch_size = 8, verbose = 0 } -- moving statistics move too
    a:save_weights(dir .. "/w.h5")
    local b = conv_model()
    assert.is_false((weights_equal(a, b)))
    b:load_weights(dir .. "/w.h5")
    assert_same_weights(a, b)
    assert.is_true(a:predict(x, { verbose = 0 }):equal(b:predict(x, { verbose = 0 })))
  end)

  it("write Keras's layout: layer_names, weight_names (trainable first), nested <layer>/<weight>:0 datasets", function()
    local m = conv_model()
    m.layers[2].trainable = false -- a frozen layer saves its weights as non-trainable, same order here
    m:save_weights(dir .. "/w.h5")
    local f <close> = core.h5.open(dir .. "/w.h5")
    assert.same({ "conv2d", "batch_normalization", "flatten", "dense" }, f:get_attr("/", "layer_names"))
    assert.equal("2.15.0", f:get_attr("/", "keras_version"))
    assert.equal("dnnlua", f:get_attr("/", "backend"))
    -- groups created in name order, as Keras sorts them
    assert.same({ "batch_normalization", "conv2d", "dense", "flatten", "top_level_model_weights" }, f:members("/"))
    assert.same({ "batch_normalization/gamma:0", "batch_normalization/beta:0", "batch_normalization/moving_mean:0",
      "batch_normalization/moving_variance:0" }, f:get_attr("/batch_normalization", "weight_names"))
    assert.same({ "dense/kernel:0", "dense/bias:0" }, f:get_attr("/dense", "weight_names"))
    assert.same({}, f:get_attr("/flatten", "weight_names")) -- numpy's empty float64 array
    assert.same({ 3, 3, 2, 3 }, (f:info("/conv2d/conv2d/kernel:0")))
    assert.same({ 12, 2 }, (f:info("/dense/dense/kernel:0")))
    assert.is_true(f:read_tensor("/dense/dense/kernel:0"):equal(m.layers[4].kernel))
  end)

  it("round-trip a functional model and a custom layer", function()
    dnn.manual_seed(2)
    local a, b = functional_model(), functional_model()
    a:save_weights(dir .. "/f.h5")
    b:load_weights(dir .. "/f.h5")
    assert_same_weights(a, b)
    local x = dnn.randn(4, 6)
    assert.is_true(a:predict(x, { verbose = 0 }):equal(b:predict(x, { verbose = 0 })))
    local c, d = custom_model(), custom_model()
    c:save_weights(dir .. "/c.h5")
    d:load_weights(dir .. "/c.h5")
    assert_same_weights(c, d)
    local f <close> = core.h5.open(dir .. "/c.h5")
    assert.same({ "scale_shift/scale:0", "scale_shift/calls:0" }, f:get_attr("/scale_shift", "weight_names"))
    assert.same({}, (f:info("/scale_shift/scale_shift/calls:0"))) -- a 0-d weight is a scalar dataset
  end)

  it("by order: layer and weight counts must match, errors name the layers and counts", function()
    local a = conv_model()
    a:save_weights(dir .. "/w.h5")
    local fewer = dnn.Sequential { L.Dense { 2, input_shape = { 12 }, name = "dense" } }
    local snap = snapshot(fewer)
    assert_error({ "load_weights: " .. dir .. "/w.h5", "layer count mismatch",
      "the model has 1 layers with weights (dense)", "the file has 3 (conv2d, batch_normalization, dense)" },
      fewer.load_weights, fewer, dir .. "/w.h5")
    assert_unchanged(fewer, snap)
    local other = dnn.Sequential {
      L.Conv2D { 3, 3, use_bias = false, input_shape = { 4, 4, 2 }, name = "c" },
      L.BatchNormalization { name = "bn" }, L.Flatten(), L.Dense { 2, name = "d" } }
    snap = snapshot(other)
    assert_error({ "/conv2d", "weight count mismatch for layer #1 (named c in the model, conv2d in the file)",
      "the layer has 1 weight(s), the file has 2" }, other.load_weights, other, dir .. "/w.h5")
    assert_unchanged(other, snap)
  end)

  it("by order: a shape mismatch names the layer, the weight and both shapes, and changes nothing", function()
    local a = conv_model()
    a:save_weights(dir .. "/w.h5")
    local b = dnn.Sequential {
      L.Conv2D { 3, 3, activation = "relu", input_shape = { 4, 4, 2 }, name = "conv2d" },
      L.BatchNormalization { name = "batch_normalization" }, L.Flatten { name = "flatten" },
      L.Dense { 5, name = "dense" } }
    local snap = snapshot(b)
    assert_error({ "/dense/dense/kernel:0", "shape mismatch in layer #3 (named dense) for weight kernel",
      "the model has [12,5], the file has [12,2]" }, b.load_weights, b, dir .. "/w.h5")
    -- conv2d and batch_normalization matched, yet nothing was assigned
    assert_unchanged(b, snap)
  end)

  it("by_name: matches saved layers to model layers by name; unmatched layers are ignored", function()
    dnn.manual_seed(3)
    local a = functional_model()
    a:save_weights(dir .. "/f.h5")
    -- another architecture sharing two layer names (hidden, out), in another order
    local inp = dnn.Input { shape = { 6 } }
    local extra = L.Dense { 2, name = "extra" }
    local h = L.Dense { 5, name = "hidden" }(inp)
    local out = L.Dense { 2, name = "out" }(L.Concatenate { name = "cat" } { extra(h), L.Dense { 1, name = "other" }(h) })
    local b = dnn.Model { inputs = inp, outputs = out }
    local before_extra = extra.kernel:clone()
    b:load_weights(dir .. "/f.h5", { by_name = true })
    assert.is_true(b:get_layer("hidden").kernel:equal(a:get_layer("hidden").kernel))
    assert.is_true(b:get_layer("hidden").bias:equal(a:get_layer("hidden").bias))
    assert.is_true(b:get_layer("out").kernel:equal(a:get_layer("out").kernel))
    assert.is_true(extra.kernel:equal(before_extra))
    -- the by-order rule pairs head_a with extra and refuses the file
    assert_error("shape mismatch in layer #2 (named extra) for weight kernel", b.load_weights, b, dir .. "/f.h5")
  end)

  it("by_name with skip_mismatch skips layers whose weight count or shape differs, with a warning", function()
    dnn.manual_seed(4)
    local a = conv_model()
    a:save_weights(dir .. "/w.h5")
    local b = dnn.Sequential {
      L.Conv2D { 3, 3, use_bias = false, input_shape = { 4, 4, 2 }, name = "conv2d" }, -- 1 weight, not 2
      L.BatchNormalization { name = "batch_normalization" },
      L.Flatten { name = "flatten" },
      L.Dense { 7, name = "dense" } } -- kernel [12,7], not [12,2]
    local conv_before, dense_before = b.layers[1].kernel:clone(), b.layers[4].kernel:clone()
    local snap = snapshot(b)
    assert_error({ "/conv2d", "weight count mismatch for layer #1 (named conv2d)", "the layer has 1 weight(s), the file has 2" },
      b.load_weights, b, dir .. "/w.h5", { by_name = true })
    assert_unchanged(b, snap)
    local warned = warnings_of(function() b:load_weights(dir .. "/w.h5", { by_name = true, skip_mismatch = true }) end)
    assert.equal(2, #warned)
    table.sort(warned)
    assert.truthy(warned[1]:find("skipping layer conv2d: weight count mismatch", 1, true), warned[1])
    assert.truthy(warned[2]:find("skipping layer dense: shape mismatch in layer #4 (named dense) for weight kernel: "
      .. "the model has [12,7], the file has [12,2]", 1, true), warned[2])
    assert.is_true(b.layers[1].kernel:equal(conv_before))
    assert.is_true(b.layers[4].kernel:equal(dense_before))
    for i, w in ipairs({ "gamma", "beta", "moving_mean", "moving_variance" }) do
      assert.is_true(b.layers[2][w]:equal(a.layers[2][w]), w .. " " .. i)
    end
  end)

  it("skip_mismatch needs by_name", function()
    local m = conv_model()
    m:save_weights(dir .. "/w.h5")
    assert_error("skip_mismatch=true needs by_name=true", m.load_weights, m, dir .. "/w.h5", { skip_mismatch = true })
  end)

  it("take both spellings and keep an existing file when overwrite=false", function()
    local m = conv_model()
    m:save_weights { dir .. "/w.h5" }
    local before = read_bytes(dir .. "/w.h5")
    assert_error({ "save_weights: " .. dir .. "/w.h5 exists and overwrite=false" },
      m.save_weights, m, dir .. "/w.h5", { overwrite = false })
    assert.equal(before, read_bytes(dir .. "/w.h5"))
    m:load_weights { dir .. "/w.h5", by_name = true }
  end)

  it("reject two layers of one name (the file could not tell them apart)", function()
    local m = dnn.Sequential { L.Dense { 2, input_shape = { 3 }, name = "same" }, L.Dense { 2, name = "same" } }
    assert_error("layers 1 and 2 are both named 'same'", m.save_weights, m, dir .. "/w.h5")
    assert.same({}, listdir(dir))
  end)

  it("split long name lists into layer_names0, layer_names1, ... as Keras does, and read them back", function()
    local m = conv_model()
    local old = h5.HEADER_LIMIT
    h5.HEADER_LIMIT = 40 -- 4 names of 19 bytes: 76 > 40, so 2 chunks of 2
    local ok, err = pcall(m.save_weights, m, dir .. "/w.h5")
    h5.HEADER_LIMIT = old
    assert(ok, err)
    local f <close> = core.h5.open(dir .. "/w.h5")
    assert.is_nil(f:get_attr("/", "layer_names"))
    assert.same({ "conv2d", "batch_normalization" }, f:get_attr("/", "layer_names0"))
    assert.same({ "flatten", "dense" }, f:get_attr("/", "layer_names1"))
    local b = conv_model()
    b:load_weights(dir .. "/w.h5")
    assert_same_weights(m, b)
  end)
end)

-- ==================================================================== Keras-written files

describe("files written as tf.keras 2.15 and Keras 3 write them", function()
  for _, name in ipairs { "tfkeras_weights", "keras3_weights", "vlen_weights", "chunked_weights" } do
    it(name .. ".h5 loads by order with the known values and predicts as numpy does", function()
      local m = conv_model()
      m:load_weights(FIX .. name .. ".h5")
      assert_fixture_weights(m)
    end)
  end

  it("tf.keras and Keras 3 files load by name into differently ordered models", function()
    for _, name in ipairs { "tfkeras_weights", "keras3_weights" } do
      local m = dnn.Sequential {
        L.Dense { 2, input_shape = { 12 }, name = "dense" },
        L.Dense { 9, name = "unrelated" } }
      m:load_weights(FIX .. name .. ".h5", { by_name = true })
      assert.is_true(m.layers[1].kernel:equal(dnn.tensor(EXPECTED.weights["dense/kernel"], { dtype = "float32" })))
      assert.is_true(m.layers[1].bias:equal(dnn.tensor(EXPECTED.weights["dense/bias"], { dtype = "float32" })))
    end
  end)

  it("load_weights reads the model_weights group of a tf.keras whole-model file", function()
    local m = conv_model()
    m:load_weights(FIX .. "tfkeras_model.h5")
    assert_fixture_weights(m)
  end)
end)

-- ==================================================================== whole models

local function fit_quiet(m, x, y, epochs, extra)
  local args = { x = x, y = y, epochs = epochs, batch_size = 16, shuffle = false, verbose = 0 }
  for k, v in pairs(extra or {}) do args[k] = v end
  return m:fit(args)
end

describe("model:save / dnn.models.load_model", function()
  it("round-trip a Sequential: same class, layers, bit-exact predictions, compile restored", function()
    dnn.manual_seed(11)
    local a = conv_model()
    a:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.01 }, loss = "mse", metrics = { "mae" } }
    local x, y = dnn.randn(32, 4, 4, 2), dnn.randn(32, 2)
    fit_quiet(a, x, y, 2)
    a:save(dir .. "/m.h5")
    local b = dnn.models.load_model(dir .. "/m.h5")
    assert.equal("Sequential", class.name(b))
    assert.equal(#a.layers, #b.layers)
    for i, l in ipairs(a.layers) do
      assert.equal(l.name, b.layers[i].name)
      assert.equal(class.name(l), class.name(b.layers[i]))
    end
    assert_same_weights(a, b)
    assert.is_true(a:predict(x, { verbose = 0 }):equal(b:predict(x, { verbose = 0 })))
    assert.is_true(b.compiled)
    assert.equal("Adam", class.name(b.optimizer))
    assert.equal(0.01, b.optimizer.learning_rate)
    assert.equal(a.optimizer.iterations, b.optimizer.iterations)
    local ra = a:evaluate { x = x, y = y, verbose = 0 }
    local rb = b:evaluate { x = x, y = y, verbose = 0 }
    assert.same(a.metrics_names, b.metrics_names)
    assert.same({ "loss", "mae" }, b.metrics_names)
    assert.equal(ra.loss, rb.loss)
    assert.equal(ra.mae, rb.mae)
  end)

  it("train 2 epochs, save, load, train 1 more == train 3 epochs (weights bit for bit)", function()
    local x, y = data(64, 4, 4, 2, 3)
    x = x:view(-1, 4, 4, 2)
    local function fresh()
      dnn.manual_seed(21)
      local m = conv_model()
      m:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.003 }, loss = "mse", metrics = { "mae" } }
      return m
    end
    local x2 = dnn.randn(64, 4, 4, 2)
    local y2 = dnn.randn(64, 2)
    local straight = fresh()
    fit_quiet(straight, x2, y2, 3)
    local first = fresh()
    fit_quiet(first, x2, y2, 2)
    first:save(dir .. "/m.h5")
    local resumed = dnn.models.load_model(dir .. "/m.h5")
    fit_quiet(resumed, x2, y2, 1)
    assert_same_weights(straight, resumed)
    assert.equal(straight.optimizer.iterations, resumed.optimizer.iterations)
    assert.is_true(straight:predict(x2, { verbose = 0 }):equal(resumed:predict(x2, { verbose = 0 })))
  end)

  it("with shuffle=true, restoring the RNG state saved beside the file gives the same trajectory", function()
    local x, y = dnn.randn(48, 6), dnn.randn(48, 2)
    local function fresh()
      dnn.manual_seed(31)
      local m = functional_model()
      m:compile { optimizer = dnn.optimizers.SGD { learning_rate = 0.05, momentum = 0.9 }, loss = "mse" }
      return m
    end
    local function fit3(m, epochs) m:fit { x = x, y = y, epochs = epochs, batch_size = 16, verbose = 0 } end
    local straight = fresh()
    fit3(straight, 3)
    local first = fresh()
    fit3(first, 2)
    local rng = dnn.get_rng_state()
    first:save(dir .. "/m.h5")
    local resumed = dnn.models.load_model(dir .. "/m.h5") -- may draw numbers (layer initializers)
    dnn.set_rng_state(rng)
    fit3(resumed, 1)
    assert_same_weights(straight, resumed)
  end)

  it("round-trip a functional model and a registered custom layer", function()
    dnn.manual_seed(41)
    local a = functional_model()
    a:save(dir .. "/f.h5")
    local b = dnn.models.load_model(dir .. "/f.h5", { compile = false })
    assert_same_weights(a, b)
    local x = dnn.randn(5, 6)
    assert.is_true(a:predict(x, { verbose = 0 }):equal(b:predict(x, { verbose = 0 })))
    assert.is_false(b.compiled == true)

    local c = custom_model()
    c:compile { optimizer = "rmsprop", loss = "mae" }
    local cx, cy = dnn.randn(20, 3), dnn.randn(20, 1)
    fit_quiet(c, cx, cy, 1)
    c:save(dir .. "/c.h5")
    local d = dnn.models.load_model(dir .. "/c.h5")
    assert.equal("ScaleShift", class.name(d.layers[2]))
    assert.equal(0.25, d.layers[2].offset)
    assert_same_weights(c, d)
    assert.is_true(c:predict(cx, { verbose = 0 }):equal(d:predict(cx, { verbose = 0 })))
    fit_quiet(c, cx, cy, 1)
    fit_quiet(d, cx, cy, 1)
    assert_same_weights(c, d)
  end)

  it("compile=false loads weights only; a file without training_config loads uncompiled with a warning", function()
    dnn.manual_seed(51)
    local a = conv_model()
    a:compile { optimizer = "adam", loss = "mse" }
    a:save(dir .. "/m.h5")
    local b = dnn.models.load_model(dir .. "/m.h5", { compile = false })
    assert.is_false(b.compiled == true)
    assert_same_weights(a, b)
    local c = conv_model()
    c:save(dir .. "/u.h5")
    local warned = warnings_of(function() dnn.models.load_model(dir .. "/u.h5") end)
    assert.equal(1, #warned)
    assert.truthy(warned[1]:find("not* compiled", 1, true), warned[1])
    local f <close> = core.h5.open(dir .. "/u.h5")
    assert.is_nil(f:get_attr("/", "training_config"))
    assert.equal(nil, f:kind("/optimizer_weights"))
  end)

  it("restores the optimizer state by position, the iteration count first", function()
    dnn.manual_seed(61)
    local a = conv_model()
    a:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.002 }, loss = "mse" }
    fit_quiet(a, dnn.randn(32, 4, 4, 2), dnn.randn(32, 2), 1)
    a:save(dir .. "/m.h5")
    local f <close> = core.h5.open(dir .. "/m.h5")
    local names = f:get_attr("/optimizer_weights", "weight_names")
    local slots = a.optimizer:slot_names()
    assert.equal(1 + 6 * #slots, #names) -- conv2d kernel/bias, gamma, beta, dense kernel/bias
    assert.equal("iteration:0", names[1])
    assert.equal(a.optimizer.iterations, f:read_tensor("/optimizer_weights/iteration:0"):item())
    assert.equal(("%s/%s/conv2d/kernel:0"):format(a.optimizer.name, slots[1]), names[2])
    local tv = a.trainable_variables
    assert.is_true(f:read_tensor("/optimizer_weights/" .. names[2]):equal(a.optimizer:get_slot(tv[1], slots[1])))
    local last = names[#names]
    assert.is_true(f:read_tensor("/optimizer_weights/" .. last):equal(a.optimizer:get_slot(tv[#tv], slots[#slots])))
  end)

  it("writes model_config, training_config and versions as Keras does", function()
    local a = conv_model()
    a:compile { optimizer = dnn.optimizers.Adam { learning_rate = 0.001 }, loss = "mse", metrics = { "mae" } }
    a:save(dir .. "/m.h5")
    local f <close> = core.h5.open(dir .. "/m.h5")
    assert.equal("2.15.0", f:get_attr("/", "keras_version"))
    assert.equal("dnnlua", f:get_attr("/", "backend"))
    local mc = cjson.decode(f:get_attr("/", "model_config"))
    assert.equal("Sequential", mc.class_name)
    assert.equal("table", type(mc.config))
    local tc = cjson.decode(f:get_attr("/", "training_config"))
    assert.equal("mse", tc.loss)
    assert.same({ "mae" }, tc.metrics)
    assert.equal(cjson.null, tc.weighted_metrics)
    assert.equal(cjson.null, tc.loss_weights)
    assert.equal("Adam", tc.optimizer_config.class_name)
    assert.equal(0.001, tc.optimizer_config.config.learning_rate)
    assert.same({ "conv2d", "batch_normalization", "flatten", "dense" }, f:get_attr("/model_weights", "layer_names"))
  end)

  it("loss and metric objects come back with their names and settings", function()
    dnn.manual_seed(71)
    local a = custom_model()
    a:compile { optimizer = dnn.optimizers.SGD { learning_rate = 0.01 },
      loss = dnn.losses.Huber { delta = 0.5 }, metrics = { "mae", dnn.metrics.RootMeanSquaredError { name = "rmse" } } }
    local x, y = dnn.randn(16, 3), dnn.randn(16, 1)
    fit_quiet(a, x, y, 1)
    a:save(dir .. "/m.h5")
    local b = dnn.models.load_model(dir .. "/m.h5")
    local ra, rb = a:evaluate { x = x, y = y, verbose = 0 }, b:evaluate { x = x, y = y, verbose = 0 }
    assert.same(a.metrics_names, b.metrics_names)
    assert.same({ "loss", "mae", "rmse" }, b.metrics_names)
    assert.equal(ra.loss, rb.loss)
    assert.equal(ra.rmse, rb.rmse)
  end)

  it("custom_objects supplies classes the registry does not know", function()
    local Doubler = L.Layer:extend("UnregisteredDoubler")
    function Doubler:call(x) return x * 2 end
    local a = dnn.Sequential { L.Dense { 2, input_shape = { 3 }, name = "d" }, Doubler { name = "dbl" } }
    a:save(dir .. "/m.h5")
    assert_error({ "load_model: " .. dir .. "/m.h5", "model_config", "UnregisteredDoubler" },
      dnn.models.load_model, dir .. "/m.h5")
    local b = dnn.models.load_model(dir .. "/m.h5", { custom_objects = { UnregisteredDoubler = Doubler }, compile = false })
    local x = dnn.randn(2, 3)
    assert.is_true(a:predict(x, { verbose = 0 }):equal(b:predict(x, { verbose = 0 })))
  end)

  it("an optimizer state that does not fit leaves a fresh optimizer with a warning (as Keras)", function()
    dnn.manual_seed(81)
    local a = custom_model()
    a:compile { optimizer = "adam", loss = "mse" }
    fit_quiet(a, dnn.randn(16, 3), dnn.randn(16, 1), 1)
    a:save(dir .. "/m.h5")
    -- the same file listing one optimizer weight fewer
    copy_file(dir .. "/m.h5", dir .. "/cut.h5", function(path, what, name, v)
      if path == "/optimizer_weights" and what == "attr" and name == "weight_names" then
        table.remove(v)
        return v
      end
    end)
    local b
    local warned = warnings_of(function() b = dnn.models.load_model(dir .. "/cut.h5") end)
    assert.equal(1, #warned)
    assert.truthy(warned[1]:find("load_model: " .. dir .. "/cut.h5: the saved optimizer state does not fit this Adam "
      .. "(the file has 10 optimizer weights; it needs 1 (iteration) + 2 slots x 5 trainable variables); "
      .. "the optimizer starts fresh", 1, true), warned[1])
    assert.equal(0, b.optimizer.iterations)
    assert_same_weights(a, b)
  end)
end)

-- ==================================================================== safety

-- Writers for hand-made files (our own low-level writer; the defects are
-- what a damaged or foreign file could hold).
local function dense_file(path, o)
  o = o or {}
  local f = core.h5.create(path, "spec")
  local root = o.root or "/"
  local p = root == "/" and "" or root
  if root ~= "/" then f:create_group(root) end
  if o.model_config ~= false then
    if o.model_config then f:set_attr("/", "model_config", o.model_config) end
  end
  if o.training_config then f:set_attr("/", "training_config", o.training_config) end
  if o.layer_names ~= false then f:set_attr(root, "layer_names", o.layer_names or { "dense" }) end
  if o.group ~= false then
    f:create_group(p .. "/dense")
    if o.weight_names ~= false then
      f:set_attr(p .. "/dense", "weight_names", o.weight_names or { "dense/kernel:0", "dense/bias:0" })
    end
    f:create_group(p .. "/dense/dense")
    if o.kernel ~= false then f:write_tensor(p .. "/dense/dense/kernel:0", o.kernel or dnn.ones(4, 3)) end
    if o.bias ~= false then f:write_tensor(p .. "/dense/dense/bias:0", o.bias or dnn.zeros(3)) end
  end
  if o.extra then o.extra(f) end
  f:commit()
  return path
end

local function dense_model()
  return dnn.Sequential { L.Dense { 3, input_shape = { 4 }, name = "dense" } }
end

describe("bad files", function()
  -- {what, file maker, fragments expected after "load_weights: <path>: "}
  local cases = {
    { "not HDF5", function(p) write_bytes(p, "this is a text file, not HDF5\n") end, { "not an HDF5 file" } },
    { "an empty file", function(p) write_bytes(p, "") end, { "the file is empty" } },
    { "a truncated file", function(p)
      dense_file(p)
      local s = read_bytes(p)
      write_bytes(p, s:sub(1, #s // 2))
    end, { "truncated or damaged" } },
    { "a missing file", function() end, { "no such file" } },
    { "no layer_names and no model_weights", function(p) dense_file(p, { layer_names = false }) end,
      { "not a Keras weights file", "no layer_names attribute" } },
    { "a missing layer group", function(p) dense_file(p, { layer_names = { "dense", "dense_9" } }) end,
      { "/: layer 'dense_9' (entry 2 of layer_names) has no group in the file" } },
    { "a missing weight_names attribute", function(p) dense_file(p, { weight_names = false }) end,
      { "/dense: attribute weight_names is missing" } },
    { "a listed weight that is not in the file", function(p) dense_file(p, { bias = false }) end,
      { "/dense: weight 'dense/bias:0' (entry 2 of weight_names) is missing" } },
    { "weight_names holding numbers", function(p) dense_file(p, { weight_names = { 1, 2 } }) end,
      { "/dense: attribute weight_names should hold names (strings), got a integer" } },
    { "layer_names that is a number", function(p) dense_file(p, { layer_names = 7 }) end,
      { "attribute layer_names should hold names (strings), got a integer" } },
    { "a weight of the wrong shape", function(p) dense_file(p, { kernel = dnn.ones(5, 3) }) end,
      { "/dense/dense/kernel:0: shape mismatch in layer #1 (named dense) for weight kernel",
        "the model has [4,3], the file has [5,3]" } },
    { "a weight that is a group", function(p)
      dense_file(p, { weight_names = { "dense/kernel:0", "dense" } })
    end, { "weight 'dense' (entry 2 of weight_names) is a group, not a dataset" } },
    { "a string dataset as a weight", function(p)
      dense_file(p, { bias = false, extra = function(f) f:write_scalar("/dense/dense/bias:0", "oops") end })
    end, { "/dense/dense/bias:0" } },
    { "too many weights for the layer", function(p)
      dense_file(p, { weight_names = { "dense/kernel:0", "dense/bias:0", "dense/kernel:0" } })
    end, { "weight count mismatch for layer #1 (named dense in the model, dense in the file)",
      "the layer has 2 weight(s), the file has 3" } },
  }
  for _, c in ipairs(cases) do
    it("load_weights: " .. c[1] .. " is a clear error naming the file, and the model is unchanged", function()
      local p = dir .. "/bad.h5"
      c[2](p)
      local m = dense_model()
      local snap = snapshot(m)
      local frags = { "load_weights: " .. p .. ": " }
      for _, fr in ipairs(c[3]) do frags[#frags + 1] = fr end
      assert_error(frags, m.load_weights, m, p)
      assert_unchanged(m, snap)
    end)
  end

  local model_cases = {
    { "a weights file (no model_config)", function(p) dense_file(p) end,
      { "no model_config attribute on the root group", "call model:load_weights" } },
    { "bad JSON in model_config", function(p) dense_file(p, { root = "/model_weights",
      model_config = '{"class_name": "Sequential", "config": {"layers": [}' }) end,
      { "/: attribute model_config is not valid JSON: json.decode: unexpected" } },
    { "model_config that is not {class_name, config}", function(p)
      dense_file(p, { root = "/model_weights", model_config = '["Sequential"]' })
    end, { 'attribute model_config should be JSON {"class_name": ..., "config": {...}}' } },
    { "model_config as a number", function(p)
      dense_file(p, { root = "/model_weights", extra = function(f) f:set_attr("/", "model_config", 3.5) end })
    end, { "attribute model_config should be a JSON string, got a float" } },
    { "an unknown layer class", function(p)
      dense_file(p, { root = "/model_weights", model_config = '{"class_name": "Sequential", "config": {"name": "s", '
        .. '"layers": [{"class_name": "NoSuchLayer", "config": {"name": "x"}}]}}' })
    end, { "/: attribute model_config: ", "NoSuchLayer" } },
    { "an unknown model class", function(p)
      dense_file(p, { root = "/model_weights", model_config = '{"class_name": "os.execute", "config": {}}' })
    end, { "/: attribute model_config: ", "os.execute" } },
    { "a missing model_weights group", function(p)
      dense_model():save(p .. ".src")
      copy_file(p .. ".src", p, function(path) if path == "/model_weights" then return "skip" end end)
    end, { "/model_weights: the group is missing" } },
    { "a model_weights group that does not fit the architecture", function(p)
      local m = dense_model()
      m:save(p)
      local src <close> = core.h5.open(p)
      local mc = src:get_attr("/", "model_config")
      dense_file(p, { root = "/model_weights", model_config = mc, kernel = dnn.ones(4, 4) })
    end, { "shape mismatch in layer #1 (named dense) for weight kernel", "the model has [4,3], the file has [4,4]" } },
    { "bad JSON in training_config", function(p)
      local m = dense_model()
      m:save(p)
      local src <close> = core.h5.open(p)
      local mc = src:get_attr("/", "model_config")
      dense_file(p, { root = "/model_weights", model_config = mc, training_config = '{"loss": "mse",' })
    end, { "/: attribute training_config is not valid JSON" } },
    { "an unknown optimizer in training_config", function(p)
      local m = dense_model()
      m:save(p)
      local src <close> = core.h5.open(p)
      local mc = src:get_attr("/", "model_config")
      dense_file(p, { root = "/model_weights", model_config = mc,
        training_config = '{"loss": "mse", "optimizer_config": {"class_name": "Pickle", "config": {}}}' })
    end, { "/: attribute training_config: ", "Pickle" } },
  }
  for _, c in ipairs(model_cases) do
    it("load_model: " .. c[1] .. " is a clear error naming the file", function()
      local p = dir .. "/bad.h5"
      c[2](p)
      local frags = { "load_model: " .. p .. ": " }
      for _, fr in ipairs(c[3]) do frags[#frags + 1] = fr end
      assert_error(frags, dnn.models.load_model, p)
    end)
  end

  it("damaged bytes inside a file give errors, never a crash", function()
    local m = conv_model()
    m:compile { optimizer = "adam", loss = "mse" }
    m:save(dir .. "/m.h5")
    local s = read_bytes(dir .. "/m.h5")
    local failures = 0
    for _, at in ipairs { 200, 800, 1500, 3000, #s // 2, #s - 600 } do
      local bad = s:sub(1, at - 1) .. string.rep("\255", 64) .. s:sub(at + 64)
      write_bytes(dir .. "/bad.h5", bad)
      local ok, err = pcall(dnn.models.load_model, dir .. "/bad.h5")
      if not ok then
        failures = failures + 1
        assert.truthy(tostring(err):find("^load_model: " .. dir:gsub("%p", "%%%0") .. "/bad%.h5"), err)
      end
      local ok2, err2 = pcall(m.load_weights, m, dir .. "/bad.h5")
      if not ok2 then assert.truthy(tostring(err2):find("^load_weights: "), err2) end
    end
    assert.is_true(failures >= 1)
  end)
end)

-- ==================================================================== atomic writes

describe("saving is atomic", function()
  it("an error midway leaves the old file valid and no temporary file behind", function()
    dnn.manual_seed(91)
    local old_model = conv_model()
    old_model:save(dir .. "/m.h5")
    local before = read_bytes(dir .. "/m.h5")
    -- a writer whose third dataset write fails (the disk filling up, say)
    local real_create = core.h5.create
    core.h5.create = function(...)
      local f = real_create(...)
      local n = 0
      return setmetatable({}, { __index = function(_, k)
        local v = f[k]
        if type(v) ~= "function" then return v end
        return function(_, ...)
          if k == "write_tensor" then
            n = n + 1
            if n == 3 then error("simulated write failure", 0) end
          end
          return v(f, ...)
        end
      end })
    end
    local other = conv_model()
    local ok, err = pcall(other.save, other, dir .. "/m.h5")
    local ok2, err2 = pcall(other.save_weights, other, dir .. "/m.h5")
    core.h5.create = real_create
    assert.is_false(ok)
    assert.truthy(err:find("save: " .. dir .. "/m.h5: simulated write failure", 1, true), err)
    assert.is_false(ok2)
    assert.truthy(err2:find("save_weights: " .. dir .. "/m.h5: simulated write failure", 1, true), err2)
    assert.equal(before, read_bytes(dir .. "/m.h5"))
    assert.same({ "m.h5" }, listdir(dir))
    local again = dnn.models.load_model(dir .. "/m.h5", { compile = false })
    assert_same_weights(old_model, again)
  end)

  it("a process killed mid-save leaves the old file valid", function()
    local exe = dnnlua_exe()
    if not exe then
      pending("no dnnlua executable next to the module")
      return
    end
    dnn.manual_seed(92)
    local old_model = conv_model()
    old_model:save(dir .. "/m.h5")
    local before = read_bytes(dir .. "/m.h5")
    write_bytes(dir .. "/crash.lua", ([[
      require "dnn.models"
      require "dnn.models.h5"
      local core = dnn.core
      local real = core.h5.create
      core.h5.create = function(...)
        local f = real(...)
        local n = 0
        return setmetatable({}, { __index = function(_, k)
          local v = f[k]
          if type(v) ~= "function" then return v end
          return function(_, ...)
            if k == "write_tensor" then
              n = n + 1
              if n == 4 then os.exit(3, false) end -- no cleanup, as a crash
            end
            return v(f, ...)
          end
        end })
      end
      local m = dnn.Sequential { dnn.layers.Dense { 8, input_shape = { 4 } }, dnn.layers.Dense { 2 },
        dnn.layers.Dense { 1 } }
      m:save(%q)
    ]]):format(dir .. "/m.h5"))
    local ok, how, code = os.execute(q(exe) .. " " .. q(dir .. "/crash.lua") .. " 2>/dev/null")
    assert.is_nil(ok)
    assert.equal("exit", how)
    assert.equal(3, code)
    assert.equal(before, read_bytes(dir .. "/m.h5"))
    assert_same_weights(old_model, dnn.models.load_model(dir .. "/m.h5", { compile = false }))
  end)
end)

-- ==================================================================== h5py

describe("h5py reads what we write", function()
  it("lists the groups, attributes and JSON Keras expects", function()
    if not have_h5py() then
      pending("/usr/bin/python3 has no h5py")
      return
    end
    dnn.manual_seed(101)
    local m = conv_model()
    m:compile { optimizer = "adam", loss = "mse", metrics = { "mae" } }
    fit_quiet(m, dnn.randn(16, 4, 4, 2), dnn.randn(16, 2), 1)
    m:save(dir .. "/m.h5")
    local out = python([==[
import json, sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
print("root", sorted(f.attrs.keys()))
print("version", f.attrs["keras_version"], f.attrs["backend"])
mc = json.loads(f.attrs["model_config"].decode("utf8"))
print("model", mc["class_name"], type(mc["config"]).__name__)
tc = json.loads(f.attrs["training_config"].decode("utf8"))
print("training", tc["loss"], tc["metrics"], tc["optimizer_config"]["class_name"])
mw = f["model_weights"]
print("layers", [n.decode() for n in mw.attrs["layer_names"]], mw.attrs["layer_names"].dtype.kind)
print("groups", list(mw.keys()))
for name in [n.decode() for n in mw.attrs["layer_names"]]:
    g = mw[name]
    wn = [n.decode() for n in g.attrs["weight_names"]] if len(g.attrs["weight_names"]) else []
    print(name, [(w, g[w].shape, str(g[w].dtype)) for w in wn])
ow = f["optimizer_weights"]
names = [n.decode() for n in ow.attrs["weight_names"]]
print("optimizer", len(names), names[0], int(ow[names[0]][()]), ow[names[0]].dtype)
]==], dir .. "/m.h5", dir)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal("root ['backend', 'keras_version', 'model_config', 'training_config']", lines[1])
    assert.equal("version 2.15.0 dnnlua", lines[2]) -- str attributes, as h5py stores a Python str
    assert.equal("model Sequential dict", lines[3])
    assert.equal("training mse ['mae'] Adam", lines[4])
    assert.equal("layers ['conv2d', 'batch_normalization', 'flatten', 'dense'] S", lines[5])
    assert.equal("groups ['batch_normalization', 'conv2d', 'dense', 'flatten', 'top_level_model_weights']", lines[6])
    assert.equal("conv2d [('conv2d/kernel:0', (3, 3, 2, 3), 'float32'), ('conv2d/bias:0', (3,), 'float32')]", lines[7])
    assert.equal("batch_normalization [('batch_normalization/gamma:0', (3,), 'float32'), "
      .. "('batch_normalization/beta:0', (3,), 'float32'), ('batch_normalization/moving_mean:0', (3,), 'float32'), "
      .. "('batch_normalization/moving_variance:0', (3,), 'float32')]", lines[8])
    assert.equal("flatten []", lines[9])
    assert.equal("dense [('dense/kernel:0', (12, 2), 'float32'), ('dense/bias:0', (2,), 'float32')]", lines[10])
    assert.equal(("optimizer %d iteration:0 %d int64"):format(1 + 6 * #m.optimizer:slot_names(), m.optimizer.iterations),
      lines[11])
  end)
end)
