-- Architectures as data (lua/dnn/models/config.lua, lua/dnn/layers/*.lua
-- get_config / from_config, lua/dnn/layers/serialization.lua):
-- layer:get_config() / Layer.from_config, model:get_config() /
-- dnn.Sequential.from_config / dnn.Model.from_config, model:to_json() /
-- dnn.models.model_from_json, dnn.models.clone_model, custom layers and
-- models registered with dnn.layers.register.
--
-- Reference: spec/fixtures/config/, written by scripts/make_fixtures_config.py
-- exactly as tf.keras 2.15 writes these configs (TensorFlow is not needed to
-- run it), and spec/fixtures/h5model/ (a whole tf.keras model file).
local dnn = require "dnn"
require "dnn.models"
local json = require "dnn.json"
local class = require "dnn.class"
local check = require "support.check"
local L = dnn.layers
local I = dnn.initializers
local R = dnn.regularizers

local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = ROOT .. "/spec/fixtures/config/"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local LAYER_FIX = json.decode(read(FIX .. "layers.json"))
local FUNCTIONAL_FIX = json.decode(read(FIX .. "functional.json"))
local SEQUENTIAL_FIX = json.decode(read(FIX .. "sequential.json"))

-- Configs compare as canonical JSON (sorted keys; 1 and 1.0 differ).
local function canon(v) return json.encode(v) end

local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(err)
end

local function assert_error(frags, f, ...)
  local err = error_of(f, ...)
  for _, frag in ipairs(frags) do
    assert(err:find(frag, 1, true), ("error %q lacks %q"):format(err, frag))
  end
  -- configs are at fault, not code: no Lua positions in the message
  assert(not err:find("%.lua:%d+:"), ("error %q carries a Lua position"):format(err))
  return err
end

local function cname(cls) return rawget(cls, "__name") end

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return setmetatable(out, getmetatable(v))
end

-- A deterministic input of the given shape (ids for Embedding).
local function input_for(shape, id)
  dnn.manual_seed(7)
  if type(shape[1]) == "table" then
    local list = {}
    for i, s in ipairs(shape) do list[i] = dnn.randn(s) end
    return list
  end
  if id and id:match("^embedding") then
    local n = 1
    for _, d in ipairs(shape) do n = n * d end
    local ids = {}
    for i = 1, n do ids[i] = (i * 7) % 10 end
    return dnn.tensor(ids, { dtype = "int64" }):view(shape)
  end
  return dnn.randn(shape)
end

-- ==================================================================== layers

-- The Lua construction of each fixture case (the tf.keras call it mirrors is
-- in scripts/make_fixtures_config.py); built = configured after a first call.
local CASES = {
  dense = { function() return L.Dense { 4, name = "dense" } end },
  dense_full = { function()
    return L.Dense { 3, activation = "tanh", use_bias = false, kernel_initializer = I.HeNormal { seed = 7 },
      kernel_regularizer = R.L2(0.01), bias_regularizer = R.L1L2 { l1 = 0.001, l2 = 0.002 }, input_shape = { 5 },
      name = "dense_full" }
  end },
  dense_initializers = { function()
    return L.Dense { 2, activation = "sigmoid",
      kernel_initializer = I.VarianceScaling { scale = 2.0, mode = "fan_out", distribution = "uniform", seed = 3 },
      bias_initializer = I.Constant { value = 0.5 }, name = "dense_initializers" }
  end },
  dense_random = { function()
    return L.Dense { 2, kernel_initializer = I.RandomNormal { mean = 0.0, stddev = 0.02, seed = 1 },
      bias_initializer = I.RandomUniform { minval = -0.1, maxval = 0.1, seed = 2 }, kernel_regularizer = R.L1(0.05),
      name = "dense_random" }
  end },
  conv2d = { function() return L.Conv2D { 2, 3, name = "conv2d" } end },
  conv2d_full = { function()
    return L.Conv2D { 4, { 3, 2 }, strides = { 2, 1 }, padding = "same", activation = "relu",
      kernel_initializer = I.TruncatedNormal { mean = 0.0, stddev = 0.1, seed = 5 }, kernel_regularizer = R.L2(0.0005),
      input_shape = { 6, 5, 2 }, name = "conv2d_full" }
  end },
  conv2d_dilated = { function()
    return L.Conv2D { 2, 2, dilation_rate = 2, groups = 2, kernel_initializer = I.HeUniform { seed = 11 },
      name = "conv2d_dilated" }
  end },
  batch_norm = { function() return L.BatchNormalization { name = "batch_norm" } end },
  batch_norm_built = { function() return L.BatchNormalization { name = "batch_norm_built" } end, built = true },
  batch_norm_args = { function()
    return L.BatchNormalization { axis = 2, momentum = 0.9, epsilon = 1e-5, center = false,
      gamma_initializer = I.RandomNormal { mean = 1.0, stddev = 0.05, seed = 4 }, gamma_regularizer = R.L2(0.001),
      name = "batch_norm_args" }
  end },
  dropout = { function() return L.Dropout { 0.25, seed = 3, name = "dropout" } end },
  flatten = { function() return L.Flatten { name = "flatten" } end },
  reshape = { function() return L.Reshape { { 2, -1 }, name = "reshape" } end },
  activation = { function() return L.Activation { "softmax", name = "activation" } end },
  activation_gelu = { function() return L.Activation { "gelu", name = "activation_gelu" } end },
  relu = { function() return L.ReLU { name = "relu" } end },
  relu_args = { function()
    return L.ReLU { max_value = 6.0, negative_slope = 0.1, threshold = 0.5, name = "relu_args" }
  end },
  leaky_relu = { function() return L.LeakyReLU { name = "leaky_relu" } end },
  leaky_relu_args = { function() return L.LeakyReLU { alpha = 0.2, name = "leaky_relu_args" } end },
  softmax = { function() return L.Softmax { name = "softmax" } end },
  softmax_axis1 = { function() return L.Softmax { axis = 2, name = "softmax_axis1" } end },
  embedding = { function() return L.Embedding { 10, 4, name = "embedding" } end },
  embedding_length = { function() return L.Embedding { 12, 3, input_length = 5, name = "embedding_length" } end },
  layer_norm = { function() return L.LayerNormalization { name = "layer_norm" } end },
  layer_norm_built = { function()
    return L.LayerNormalization { axis = { 2, 3 }, epsilon = 1e-6, name = "layer_norm_built" }
  end, built = true },
  max_pool = { function() return L.MaxPooling2D { name = "max_pool" } end },
  max_pool_same = { function()
    return L.MaxPooling2D { { 3, 3 }, strides = { 1, 1 }, padding = "same", name = "max_pool_same" }
  end },
  avg_pool = { function() return L.AveragePooling2D { pool_size = 2, strides = 1, name = "avg_pool" } end },
  gap = { function() return L.GlobalAveragePooling2D { name = "gap" } end },
  gmp_keepdims = { function() return L.GlobalMaxPooling2D { keepdims = true, name = "gmp_keepdims" } end },
  concatenate = { function() return L.Concatenate { name = "concatenate" } end },
  concatenate_axis1 = { function() return L.Concatenate { axis = 2, name = "concatenate_axis1" } end },
  add = { function() return L.Add { name = "add" } end },
  subtract = { function() return L.Subtract { name = "subtract" } end },
  multiply = { function() return L.Multiply { name = "multiply" } end },
  average = { function() return L.Average { name = "average" } end },
  maximum = { function() return L.Maximum { name = "maximum" } end },
  minimum = { function() return L.Minimum { name = "minimum" } end },
  input_layer = { function() return L.InputLayer { input_shape = { 3 }, name = "input_layer" } end },
}

describe("layer get_config / from_config against tf.keras 2.15", function()
  for _, fx in ipairs(LAYER_FIX) do
    local case = CASES[fx.id]
    it(fx.id .. " (" .. fx.class_name .. "): get_config equals Keras's, from_config round-trips and computes the same",
      function()
        assert(case, "no Lua construction for fixture case " .. fx.id)
        local x = input_for(fx.input_shape, fx.id)
        local layer = case[1]()
        assert.are.equal(fx.class_name, class.name(layer))
        if case.built then layer(x) end
        assert.are.equal(canon(fx.config), canon(layer:get_config()))
        -- the Keras config builds the layer (Keras's cls.from_config)
        local cls = L.get(fx.class_name)
        local loaded = cls.from_config(copy(fx.config))
        assert.are.equal(fx.class_name, class.name(loaded))
        assert.are.equal(fx.config.name, loaded.name)
        if case.built then loaded(x) end
        assert.are.equal(canon(fx.config), canon(loaded:get_config()))
        -- same weights -> the same output, bit for bit
        local y = layer(x)
        loaded(x)
        loaded:set_weights(layer:get_weights())
        local y2 = loaded(x)
        assert.is_true(dnn.is_tensor(y2))
        assert.are.same(y:size(), y2:size())
        assert.is_true(y:equal(y2))
        -- and the config of a used layer still reads back
        assert.are.equal(canon(layer:get_config()), canon(cls.from_config(layer:get_config()):get_config()))
      end)
  end

  it("every layer class dnn.layers registers is covered (a fixture, PyramidPooling, Lambda, or a model)", function()
    local covered = { PyramidPooling = true, Lambda = true, Layer = true, Model = true, Sequential = true }
    for _, fx in ipairs(LAYER_FIX) do covered[fx.class_name] = true end
    local missing = {}
    for name, v in pairs(L) do
      if type(v) == "table" and class.is_class(v) and class.is_subclass(v, L.Layer) then
        local ok, registered = pcall(L.get, name)
        if ok and registered == v and not covered[name] then missing[#missing + 1] = name end
      end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)

  it("PyramidPooling (dnnlua's own) round-trips its levels, pooling and data_format", function()
    local p = L.PyramidPooling { "avg", levels = { 1, 2 }, name = "pp" }
    local cfg = p:get_config()
    assert.are.equal(canon({ name = "pp", trainable = true, dtype = "float32", levels = { 1, 2 }, pooling = "avg",
      data_format = "channels_last" }), canon(cfg))
    local q = L.PyramidPooling.from_config(json.decode(json.encode(cfg)))
    assert.are.equal(canon(cfg), canon(q:get_config()))
    local x = input_for({ 2, 4, 4, 3 })
    assert.is_true(p(x):equal(q(x)))
    assert_error({ "PyramidPooling.from_config: layer 'pp'", "'pooling'" }, L.PyramidPooling.from_config,
      { name = "pp", pooling = "os.execute('x')" })
    assert_error({ "'levels'" }, L.PyramidPooling.from_config, { name = "pp", levels = { 0 } })
  end)

  it("from_config is bound to every class: Dense.from_config(c), Dense:from_config(c), Layer.from_config(Dense, c)",
    function()
      local c = L.Dense { 3, activation = "relu", name = "bound" }:get_config()
      for _, l in ipairs({ L.Dense.from_config(c), L.Dense:from_config(c), L.Layer.from_config(L.Dense, c) }) do
        assert.are.equal("Dense", class.name(l))
        assert.are.equal(canon(c), canon(l:get_config()))
      end
      -- the config given is not modified
      local before = canon(c)
      L.Dense.from_config(c)
      assert.are.equal(before, canon(c))
    end)

  it("keeps Keras's 0-based axes and dnnlua's 1-based ones consistent", function()
    local function from(id)
      for _, fx in ipairs(LAYER_FIX) do
        if fx.id == id then return L.get(fx.class_name).from_config(copy(fx.config)) end
      end
    end
    assert.are.equal(2, from("softmax_axis1").axis)           -- Keras axis 1
    assert.are.equal(-1, from("softmax").axis)                -- negative axes are equal
    assert.are.equal(2, from("concatenate_axis1").axis)
    assert.are.equal(2, from("batch_norm_args").axis)
    assert.are.same({ 2, 3 }, from("layer_norm_built").axis)  -- Keras [1, 2]
    local bn = from("batch_norm_built")                       -- Keras [3] on rank 4
    assert.are.equal(4, bn.axis)
    -- and back: dnnlua axis 3 is Keras's 2
    assert.are.equal(2, L.Softmax { axis = 3 }:get_config().axis)
    assert.are.equal(2, L.Concatenate { axis = 3 }:get_config().axis)
    assert.are.equal(-2, L.Concatenate { axis = -2 }:get_config().axis)
    local ln = L.LayerNormalization { axis = -1 }
    ln(dnn.randn(2, 3, 4))
    assert.are.same({ 2 }, ln:get_config().axis) -- resolved at build, as Keras does
  end)
end)

describe("Lambda layers", function()
  it("write a marker, never code, and refuse to load without the function (clear error), never running anything",
    function()
      local lam = L.Lambda { function(x) return x * 2 end, name = "double" }
      local cfg = lam:get_config()
      assert.are.equal("double", cfg["function"])
      assert.are.equal("lua", cfg.function_type)
      local text = json.encode(cfg)
      assert.is_nil(text:find("return", 1, true))
      assert_error({ "Lambda.from_config: layer 'double'", "function is code", "custom_objects", "'double'" },
        L.Lambda.from_config, json.decode(text))
      -- tf.keras's own lambda config (marshalled Python bytecode) is refused the same way
      assert_error({ "Lambda.from_config: layer 'lambda'", "function_type lambda", "custom_objects" },
        L.Lambda.from_config, { name = "lambda", ["function"] = { "4wEAAAAAAAAA", json.null, json.null },
          function_type = "lambda", module = "__main__", output_shape = json.null, output_shape_type = "raw",
          arguments = {} })
      -- given the function, it loads and computes
      local back = L.Lambda.from_config(json.decode(text), { double = function(x) return x * 2 end })
      local x = dnn.randn(2, 3)
      assert.is_true(back(x):equal(x * 2))
    end)

  it("inside a model: model_from_json says which function custom_objects must supply", function()
    local m = dnn.Sequential { L.Dense { 3, input_shape = { 2 }, name = "d" },
      L.Lambda { function(x) return x + 1 end, name = "plus_one" } }
    local text = m:to_json()
    assert_error({ "model_from_json", "layers[3]", "plus_one", "custom_objects" }, dnn.models.model_from_json, text)
    local back = dnn.models.model_from_json(text, { custom_objects = { plus_one = function(x) return x + 1 end } })
    back:set_weights(m:get_weights())
    local x = dnn.randn(4, 2)
    assert.is_true(m:predict(x, { verbose = 0 }):equal(back:predict(x, { verbose = 0 })))
  end)
end)

-- ==================================================================== models

local function summary_of(m) return m:summary { return_string = true } end

local function names_of(m)
  local out = {}
  for i, l in ipairs(m.layers) do out[i] = l.name .. ":" .. class.name(l) end
  return out
end

local function assert_same_model(a, b, x)
  assert.are.equal(a.name, b.name)
  assert.are.same(names_of(a), names_of(b))
  assert.are.equal(summary_of(a), summary_of(b))
  assert.are.equal(canon(a:get_config()), canon(b:get_config()))
  b:set_weights(a:get_weights())
  local ya, yb = a:predict(x, { verbose = 0 }), b:predict(x, { verbose = 0 })
  if dnn.is_tensor(ya) then
    assert.is_true(ya:equal(yb))
  else
    assert.are.equal(#ya, #yb)
    for i = 1, #ya do assert.is_true(ya[i]:equal(yb[i]), "output " .. i) end
  end
end

local function sequential_model()
  return dnn.Sequential {
    L.Conv2D { 3, 3, activation = "relu", input_shape = { 6, 6, 2 }, name = "conv" },
    L.BatchNormalization { name = "bn" },
    L.MaxPooling2D { name = "pool" },
    L.Flatten { name = "flat" },
    L.Dropout { 0.3, name = "drop" },
    L.Dense { 4, activation = "softmax", kernel_regularizer = R.L2(0.01), name = "out" },
    name = "seq",
  }
end

-- The fixture's functional model (scripts/make_fixtures_config.py).
local function two_heads()
  local a = dnn.Input { shape = { 4 }, name = "a" }
  local b = dnn.Input { shape = { 4 }, name = "b" }
  local shared = L.Dense { 5, activation = "tanh", name = "shared" }
  local ha, hb = shared(a), shared(b)
  local inner = dnn.Sequential { L.Dense { 5, activation = "relu", input_shape = { 5 }, name = "inner_dense" },
    name = "inner" }
  local s = L.Add { name = "add" } { ha, inner(hb) }
  local c = L.Concatenate { name = "cat" } { ha, hb }
  local o1 = L.Dense { 2, name = "o1" }(s)
  local o2 = L.Dense { 3, activation = "softmax", name = "o2" }(c)
  return dnn.Model { inputs = { a, b }, outputs = { o1, o2 }, name = "two_heads" }
end

local function two_inputs()
  dnn.manual_seed(3)
  return { dnn.randn(5, 4), dnn.randn(5, 4) }
end

describe("model get_config / from_config", function()
  it("Sequential: same layers, names, summary and bit-exact predictions", function()
    dnn.manual_seed(1)
    local m = sequential_model()
    local cfg = m:get_config()
    assert.are.equal("seq", cfg.name)
    assert.are.equal("InputLayer", cfg.layers[1].class_name)
    local back = dnn.Sequential.from_config(json.decode(json.encode(cfg)))
    assert.are.equal("Sequential", class.name(back))
    assert_same_model(m, back, dnn.randn(3, 6, 6, 2))
  end)

  it("functional: two inputs, two outputs, a shared layer called twice, a nested Sequential, Add, Concatenate",
    function()
      dnn.manual_seed(2)
      local m = two_heads()
      local back = dnn.Model.from_config(json.decode(json.encode(m:get_config())))
      assert.are.equal("Model", class.name(back))
      assert_same_model(m, back, two_inputs())
      -- the rebuilt graph shares the layer and nests the model as the original does
      local shared = back:get_layer("shared")
      assert.are.equal(25, shared:count_params()) -- one kernel (4x5) + bias (5), not two
      assert.are.equal("Sequential", class.name(back:get_layer("inner")))
    end)

  it("to_json / model_from_json, and to_json{indent=2}", function()
    dnn.manual_seed(3)
    local m = two_heads()
    local text = m:to_json()
    local doc = json.decode(text)
    assert.are.equal("Functional", doc.class_name)
    assert.are.equal("2.15.0", doc.keras_version)
    assert.are.equal(canon(m:get_config()), canon(doc.config))
    assert_same_model(m, dnn.models.model_from_json(text), two_inputs())
    local pretty = m:to_json { indent = 2 }
    assert.is_truthy(pretty:find('\n  "class_name": "Functional",\n', 1, true))
    assert.is_truthy(pretty:find('\n    "input_layers": [\n      [\n        "a",', 1, true))
    assert.are.equal(canon(doc), canon(json.decode(pretty)))
    assert_same_model(m, dnn.models.model_from_json(pretty), two_inputs())
    local seq = sequential_model()
    assert_same_model(seq, dnn.models.model_from_json(seq:to_json { indent = 2 }), dnn.randn(2, 6, 6, 2))
  end)

  it("clone_model: the same architecture with fresh weights", function()
    dnn.manual_seed(4)
    for _, m in ipairs({ sequential_model(), two_heads() }) do
      local c = dnn.models.clone_model(m)
      assert.are.equal(class.name(m), class.name(c))
      assert.are.same(names_of(m), names_of(c))
      assert.are.equal(summary_of(m), summary_of(c))
      assert.are.equal(canon(m:get_config()), canon(c:get_config()))
      local wa, wb = m:get_weights(), c:get_weights()
      assert.are.equal(#wa, #wb)
      local differ = 0
      for i = 1, #wa do
        assert.are.same(wa[i]:size(), wb[i]:size())
        if not wa[i]:equal(wb[i]) then differ = differ + 1 end
      end
      assert.is_true(differ > 0, "the clone shares its initial weights")
      -- weights are the clone's own: changing them leaves the original alone
      local before = m:get_weights()
      c:set_weights(m:get_weights())
      c:get_weights()[1]:fill_(0)
      for i = 1, #before do assert.is_true(before[i]:equal(m:get_weights()[i])) end
    end
    assert_error({ "clone_model", "expected a model" }, dnn.models.clone_model, L.Dense { 2 })
  end)

  it("a Sequential without an input shape round-trips and builds on its first call", function()
    local m = dnn.Sequential { L.Dense { 3, name = "d1" }, L.Dense { 1, name = "d2" }, name = "deferred" }
    local cfg = m:get_config()
    assert.are.equal("Dense", cfg.layers[1].class_name) -- no InputLayer to write
    local back = dnn.models.model_from_json(m:to_json())
    local x = dnn.randn(2, 5)
    m(x)
    back(x)
    back:set_weights(m:get_weights())
    assert.is_true(m(x):equal(back(x)))
  end)
end)

describe("configs written by tf.keras 2.15", function()
  it("our Sequential writes the config of the h5model fixture exactly (scripts/make_fixtures_h5model.py MODEL_CONFIG)",
    function()
      local m = dnn.Sequential {
        L.Conv2D { 3, 3, activation = "relu", input_shape = { 4, 4, 2 }, name = "conv2d" },
        L.BatchNormalization { name = "batch_normalization" },
        L.Flatten { name = "flatten" },
        L.Dense { 2, name = "dense" },
        name = "sequential",
      }
      local doc = json.decode(SEQUENTIAL_FIX.to_json)
      assert.are.equal(canon(doc.config), canon(m:get_config()))
    end)

  it("the Sequential config loads with model_from_json; its summary shows Keras's shapes", function()
    local m = dnn.models.model_from_json(SEQUENTIAL_FIX.to_json)
    assert.are.equal("Sequential", class.name(m))
    assert.are.equal("sequential", m.name)
    local s = summary_of(m)
    for _, frag in ipairs({ 'Model: "sequential"', "conv2d (Conv2D)             (None, 2, 2, 3)           57",
      "(None, 2, 2, 3)           12", "flatten (Flatten)           (None, 12)                0",
      "dense (Dense)               (None, 2)                 26", "Total params: 95" }) do
      assert(s:find(frag, 1, true), ("summary lacks %q:\n%s"):format(frag, s))
    end
  end)

  it("a functional config as tf.keras writes it (nested Sequential's calls numbered from 1) loads and computes", function()
    local doc = json.decode(FUNCTIONAL_FIX.to_json)
    local m = dnn.models.model_from_json(FUNCTIONAL_FIX.to_json)
    assert.are.equal("two_heads", m.name)
    local s = summary_of(m)
    for _, frag in ipairs({ "a (InputLayer)", "shared (Dense)              (None, 5)                 25",
      "inner (Sequential)          (None, 5)                 30", "add (Add)                   (None, 5)",
      "cat (Concatenate)           (None, 10)", "o1 (Dense)                  (None, 2)                 12",
      "o2 (Dense)                  (None, 3)                 33", "Total params: 100" }) do
      assert(s:find(frag, 1, true), ("summary lacks %q:\n%s"):format(frag, s))
    end
    -- it computes what the same model built in Lua computes
    dnn.manual_seed(5)
    local ref = two_heads()
    m:set_weights(ref:get_weights())
    local x = two_inputs()
    local ya, yb = ref:predict(x, { verbose = 0 }), m:predict(x, { verbose = 0 })
    assert.is_true(ya[1]:equal(yb[1]))
    assert.is_true(ya[2]:equal(yb[2]))
    -- and our get_config of that model writes every layer entry as tf.keras does
    local ours, theirs = {}, {}
    for _, e in ipairs(ref:get_config().layers) do ours[e.name] = canon(e) end
    for _, e in ipairs(doc.config.layers) do theirs[e.name] = canon(e) end
    assert.are.same(theirs, ours)
    local cfg = ref:get_config()
    assert.are.equal(canon(doc.config.input_layers), canon(cfg.input_layers))
    assert.are.equal(canon(doc.config.output_layers), canon(cfg.output_layers))
    assert.are.equal(doc.config.name, cfg.name)
    assert.are.equal(doc.config.trainable, cfg.trainable)
    -- model.layers and the config's layer list in Keras's order (by depth, then traversal)
    local names, cfg_names, loaded = {}, {}, {}
    for i, l in ipairs(ref.layers) do names[i] = l.name end
    for i, e in ipairs(cfg.layers) do cfg_names[i] = e.name end
    for i, l in ipairs(m.layers) do loaded[i] = l.name end
    assert.are.same(FUNCTIONAL_FIX.keras_layer_order, names)
    assert.are.same(FUNCTIONAL_FIX.keras_layer_order, cfg_names)
    assert.are.same(FUNCTIONAL_FIX.keras_layer_order, loaded)
  end)

  it("a whole tf.keras .h5 file: architecture, weights, compile (MeanMetricWrapper mae), Adam state", function()
    local H5FIX = ROOT .. "/spec/fixtures/h5model/"
    local expected = json.decode(read(H5FIX .. "expected.json"))
    local m = dnn.models.load_model(H5FIX .. "tfkeras_model.h5")
    assert.are.equal("Sequential", class.name(m))
    local y = m:predict(dnn.tensor(expected.input, { dtype = "float32" }), { verbose = 0 })
    assert.is_true(check.close(y, expected.output, 1e-5))
    -- compiled as saved: loss mse, the metric named "mae", Adam at step 7 with its slots
    local opt = m.optimizer
    assert.are.equal("Adam", class.name(opt))
    assert.are.equal(7, opt.iterations)
    assert.is_true(math.abs(opt.learning_rate - 0.001) < 1e-9)
    -- the slots wait for the variables' first update (Keras's m and v: momentum, velocity)
    local pending = rawget(opt, "_pending")
    local m1 = expected.optimizer_slots["Adam/m/conv2d/kernel:0"]
    local v6 = expected.optimizer_slots["Adam/v/dense/bias:0"]
    assert.is_true(pending[1].momentum:equal(dnn.tensor(m1, { dtype = "float32" })))
    assert.is_true(pending[6].velocity:equal(dnn.tensor(v6, { dtype = "float32" })))
    local res = m:evaluate { x = dnn.tensor(expected.input, { dtype = "float32" }),
      y = dnn.tensor(expected.output, { dtype = "float32" }), verbose = 0 }
    assert.is_true(res.loss < 1e-10)
    assert.is_true(res.mae ~= nil and res.mae < 1e-5)
  end)
end)

-- ==================================================================== custom classes

describe("custom layers and models", function()
  -- A custom layer with a constructor argument and a weight.
  local Scale = L.Layer:extend("ConfigSpecScale")
  function Scale:init(opts)
    opts = opts or {}
    local factor = opts.factor
    opts.factor = nil
    L.Layer.init(self, opts)
    self.factor = factor or 2
  end
  function Scale:build(s) self.w = self:add_weight { name = "w", shape = { s[#s] }, initializer = "ones" } end
  function Scale:call(x) return x * self.w * self.factor end
  function Scale:get_config()
    local c = L.Layer.get_config(self)
    c.factor = self.factor
    return c
  end

  local function with_scale()
    return dnn.Sequential { L.Dense { 3, input_shape = { 2 }, name = "d" }, Scale { factor = 3, name = "scale" },
      name = "custom" }
  end

  it("an unregistered class: the error names it and points to register / custom_objects", function()
    local text = with_scale():to_json()
    assert_error({ "model_from_json", "layers[3]", "unknown layer class 'ConfigSpecScale'", "dnn.layers.register",
      "custom_objects" }, dnn.models.model_from_json, text)
  end)

  it("custom_objects supplies it (both spellings); registering makes it loadable by name", function()
    local m = with_scale()
    local text = m:to_json()
    local x = dnn.randn(4, 2)
    for _, co in ipairs({ { custom_objects = { ConfigSpecScale = Scale } }, { ConfigSpecScale = Scale } }) do
      local back = dnn.models.model_from_json(text, co)
      assert.are.equal(3, back:get_layer("scale").factor)
      assert_same_model(m, back, x)
    end
    L.register("ConfigSpecScale", Scale)
    local back = dnn.models.model_from_json(text)
    assert.are.equal("ConfigSpecScale", class.name(back:get_layer("scale")))
    assert_same_model(m, back, x)
    local entry = json.decode(text).config.layers[3]
    assert.are.equal("ConfigSpecScale", entry.class_name)
    assert.are.equal(3, entry.config.factor)
    -- and Layer.from_config of the layer alone
    local s = Scale.from_config(entry.config)
    assert.are.equal(3, s.factor)
    assert.are.equal("scale", s.name)
  end)

  -- A subclassed model: layers made in init, its own call.
  local Net = dnn.Model:extend("ConfigSpecNet")
  function Net:init(opts)
    opts = opts or {}
    local units = opts.units
    opts.units = nil
    dnn.Model.init(self, opts)
    self.units = units or 4
    self.hidden = L.Dense { self.units, activation = "relu" }
    self.out = L.Dense { 1 }
  end
  function Net:call(x) return self.out(self.hidden(x)) end

  it("a subclassed model without get_config cannot be saved as architecture: a clear error", function()
    local n = Net { units = 5, name = "net" }
    n(dnn.randn(2, 3))
    assert_error({ "get_config", "net is a subclassed model", "ConfigSpecNet:get_config()", "dnn.layers.register" },
      n.get_config, n)
    assert_error({ "to_json", "subclassed model", "save_weights" }, n.to_json, n)
    assert_error({ "clone_model", "subclassed model" }, dnn.models.clone_model, n)
  end)

  it("a subclassed model with get_config and register round-trips", function()
    local Net2 = Net:extend("ConfigSpecNet2")
    function Net2:get_config() return { name = self.name, units = self.units } end
    local n = Net2 { units = 6, name = "net2" }
    local x = dnn.randn(3, 3)
    n(x)
    local text = n:to_json()
    assert.are.equal("ConfigSpecNet2", json.decode(text).class_name)
    assert_error({ "unknown layer class 'ConfigSpecNet2'" }, dnn.models.model_from_json, text)
    L.register("ConfigSpecNet2", Net2)
    local back = dnn.models.model_from_json(text)
    assert.are.equal("ConfigSpecNet2", class.name(back))
    assert.are.equal(6, back.units)
    back(x)
    back:set_weights(n:get_weights())
    assert.is_true(n(x):equal(back(x)))
    local c = dnn.models.clone_model(n)
    assert.are.equal(6, c.units)
  end)

  it("a registered functional subclass keeps its class through a config", function()
    local Custom = dnn.Model:extend("ConfigSpecFunctional")
    function Custom:train_step(data) return dnn.Model.train_step(self, data) end
    L.register("ConfigSpecFunctional", Custom)
    local inp = dnn.Input { shape = { 3 }, name = "x" }
    local m = Custom { inputs = inp, outputs = L.Dense { 2, name = "d" }(inp), name = "cf" }
    local text = m:to_json()
    assert.are.equal("ConfigSpecFunctional", json.decode(text).class_name)
    local back = dnn.models.model_from_json(text)
    assert.are.equal("ConfigSpecFunctional", class.name(back))
    assert_same_model(m, back, dnn.randn(2, 3))
  end)
end)

-- ==================================================================== bad input

describe("bad configs: clear errors, nothing run", function()
  local marker = os.tmpname()
  os.remove(marker)
  local code = "os.execute('touch " .. marker .. "')"
  after_each(function()
    assert.is_nil(io.open(marker, "r"), "a config string was run as code")
  end)

  it("code-like strings stay strings or are unknown names; nothing is executed", function()
    -- as a name: just a name
    local d = L.Dense.from_config { units = 2, name = code }
    assert.are.equal(code, d.name)
    local chunk = "return (function() " .. code .. " end)()"
    for _, c in ipairs({
      { L.Dense, { units = 2, activation = code }, "'activation'" },
      { L.Dense, { units = 2, activation = chunk }, "'activation'" },
      { L.Activation, { activation = "load(\"" .. code .. "\")()" }, "'activation'" },
      { L.Dense, { units = 2, kernel_initializer = code }, "'kernel_initializer'" },
      { L.Dense, { units = 2, kernel_initializer = { class_name = code, config = {} } }, "'kernel_initializer'" },
      { L.Dense, { units = 2, kernel_regularizer = { class_name = "os", config = { l2 = 0.1 } } },
        "'kernel_regularizer'" },
      { L.Dense, { units = 2, padding = code }, "'padding'" },
      { L.Conv2D, { filters = 2, kernel_size = 3, padding = code }, "'padding'" },
      { L.Dense, { units = 2, dtype = code }, "'dtype'" },
    }) do
      assert_error({ cname(c[1]) .. ".from_config", c[3] }, c[1].from_config, c[2])
    end
    for _, cname in ipairs({ "os", "os.execute", "_G", "load", "require", "io", code, "Layer" }) do
      assert_error({ "unknown layer class" }, dnn.models.model_from_config, { class_name = cname, config = {} })
      assert_error({ "layers[1]", "unknown layer class" }, dnn.models.model_from_config,
        { class_name = "Sequential", config = { name = "s", layers = { { class_name = cname, config = {} } } } })
    end
    -- a whole JSON document full of code
    local text = json.encode({ class_name = "Sequential", config = { name = code, layers = {
      { class_name = "InputLayer", config = { batch_input_shape = { json.null, 3 }, name = code .. "_in" } },
      { class_name = "Dense", config = { units = 2, name = chunk } } } } })
    local m = dnn.models.model_from_json(text)
    assert.are.equal(code, m.name)
    assert.are.equal(chunk, m.layers[1].name)
    assert_error({ "model_from_json", "unknown layer class" }, dnn.models.model_from_json,
      '{"class_name": "os.execute", "config": {"command": "' .. code:gsub('"', '\\"') .. '"}}')
  end)

  -- A value of a wrong type for a key: what the fixture holds, changed.
  local function wrong_value(v)
    if v == json.null then return "ten" end
    if type(v) == "string" then return 42 end
    if type(v) == "number" then return "ten" end
    if type(v) == "boolean" then return "yes" end
    if type(v) == "table" and v[1] ~= nil then return "ten" end
    if type(v) == "table" and json.is_array(v) then return "ten" end
    return 42 -- an object (initializer, regularizer, ...)
  end
  -- null is the default for every key but these
  local REQUIRED = { units = true, filters = true, kernel_size = true, rate = true, target_shape = true,
    activation = true, input_dim = true, output_dim = true }

  for _, fx in ipairs(LAYER_FIX) do
    it(fx.id .. ": a wrong type in any key, a missing key or an unknown key names the layer and the key", function()
      local cls = L.get(fx.class_name)
      local who = fx.class_name .. ".from_config"
      local keys = {}
      for k in pairs(fx.config) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do
        local cfg = copy(fx.config)
        cfg[k] = wrong_value(fx.config[k])
        local frags = { who, "'" .. k .. "'" }
        if k ~= "name" then frags[#frags + 1] = "layer '" .. fx.config.name .. "'" end
        assert_error(frags, cls.from_config, cfg)
        if REQUIRED[k] and not (fx.class_name == "Dense" and k == "activation")
            and not (fx.class_name == "Conv2D" and k == "activation") then
          local cfg = copy(fx.config)
          cfg[k] = nil
          assert_error({ who, "has no '" .. k .. "'" }, cls.from_config, cfg)
          cfg[k] = json.null
          assert_error({ who, "has no '" .. k .. "'" }, cls.from_config, cfg)
        end
      end
      local cfg = copy(fx.config)
      cfg.some_new_key = 1
      assert_error({ who, "'some_new_key'" }, cls.from_config, cfg)
      -- not a table at all
      assert_error({ who, "must be a table" }, cls.from_config, "units=3")
    end)
  end

  it("nested wrong values: nulls in lists, fractional axes, empty kernel sizes, bad initializer arguments", function()
    for _, c in ipairs({
      { L.Dense, { units = 2, batch_input_shape = { json.null, "x" } }, "'batch_input_shape' entry 2" },
      { L.Dense, { units = 2, batch_input_shape = {} }, "'batch_input_shape'" },
      { L.Conv2D, { filters = 2, kernel_size = {} }, "'kernel_size'" },
      { L.Conv2D, { filters = 2, kernel_size = { json.null, 3 } }, "'kernel_size'" },
      { L.Conv2D, { filters = 2, kernel_size = { 3, 3, 3 } }, "'kernel_size'" },
      { L.Conv2D, { filters = 2, kernel_size = 3, strides = { 0, 1 } }, "'strides'" },
      { L.Softmax, { axis = 1.5 }, "'axis'" },
      { L.BatchNormalization, { axis = { 1.5 } }, "'axis'" },
      { L.BatchNormalization, { axis = { 1, 2 } }, "axis" },
      { L.Reshape, { target_shape = { 2, json.null } }, "'target_shape' entry 2" },
      { L.Reshape, { target_shape = { -1, -1 } }, "'target_shape'" },
      { L.Dense, { units = 2, kernel_initializer = { class_name = "RandomNormal", config = { stddev = "big" } } },
        "'stddev'" },
      { L.Dense, { units = 2, kernel_initializer = { class_name = "VarianceScaling", config = { mode = "fan_x" } } },
        "'mode'" },
      { L.Dense, { units = 2, kernel_initializer = { class_name = "Orthogonal", config = {} } },
        "unknown initializer 'Orthogonal'" },
      { L.Dense, { units = 2, kernel_initializer = { class_name = "HeNormal", config = { seed = 1.5 } } }, "'seed'" },
      { L.Dense, { units = 2, kernel_initializer = { class_name = "HeNormal", config = 3 } }, "'config'" },
      { L.Dense, { units = 2, kernel_regularizer = { class_name = "L2", config = { l2 = -1 } } }, "'l2'" },
      { L.Dense, { units = 2, kernel_constraint = { class_name = "MaxNorm", config = {} } }, "'kernel_constraint'" },
      { L.Dense, { units = 2, dtype = "float16" }, "'dtype'" },
      { L.Dense, { units = 2, dtype = { class_name = "Policy", config = { name = "mixed_float16" } } }, "mixed_float16" },
      { L.Dropout, { rate = 1.5 }, "'rate'" },
      { L.Embedding, { input_dim = 0, output_dim = 2 }, "'input_dim'" },
      { L.Dense, { units = 0 }, "'units'" },
      { L.BatchNormalization, { renorm = true }, "'renorm'" },
      { L.Flatten, { data_format = "channels_first" }, "data_format" },
      { L.Dense, { units = 2, activation = { class_name = "function", config = "my_act", module = "__main__",
        registered_name = "my_act" } }, "'activation'" },
    }) do
      assert_error({ cname(c[1]) .. ".from_config", c[3] }, c[1].from_config, c[2])
    end
    -- a custom activation from custom_objects is fine
    local d = L.Dense.from_config({ units = 2, activation = { class_name = "function", config = "my_act",
      module = "__main__", registered_name = "my_act" } }, { my_act = dnn.F.relu })
    local x = dnn.randn(3, 4)
    assert.is_true((d(x)):equal(dnn.F.relu(x:matmul(d.kernel) + d.bias)))
  end)

  local function functional(layers, ins, outs)
    return { class_name = "Functional", config = { name = "m", layers = layers, input_layers = ins or { { "x", 0, 0 } },
      output_layers = outs or { { "d", 0, 0 } } } }
  end
  local function input(name) return { class_name = "InputLayer", name = name,
      config = { batch_input_shape = { json.null, 3 }, name = name }, inbound_nodes = {} } end
  local function dense(name, nodes)
    return { class_name = "Dense", name = name, config = { name = name, units = 3 }, inbound_nodes = nodes }
  end

  it("functional graphs: missing layers, cycles, bad indices and bad nodes name the layer and the key", function()
    local ok = dnn.models.model_from_config(functional({ input("x"), dense("d", { { { "x", 0, 0, {} } } }) }))
    assert.are.equal("m", ok.name)
    for _, c in ipairs({
      { { input("x"), dense("d", { { { "nope", 0, 0, {} } } }) }, { "layers[2] ('d').inbound_nodes[1]",
        "no layer named 'nope'" } },
      { { input("x"), dense("d", { { { "e", 0, 0, {} } } }), dense("e", { { { "d", 0, 0, {} } } }) },
        { "layer 'd' waits on a tensor nothing produces", "['e', 0, 0]", "cycle" } },
      { { input("x"), dense("d", { { { "d", 0, 0, {} } } }) }, { "layer 'd' waits", "cycle" } },
      { { input("x"), dense("d", { { { "x", 3, 0, {} } } }) }, { "layer 'd' waits", "['x', 3, 0]" } },
      { { input("x"), dense("d", { { { "x", 0, 2, {} } } }) }, { "layer 'x' node 0 has no output 2" } },
      { { input("x"), dense("d", { { { "x", -1, 0, {} } } }) }, { "inbound tensor 1", "indices from 0" } },
      { { input("x"), dense("d", { { { "x", 0.5, 0, {} } } }) }, { "inbound tensor 1" } },
      { { input("x"), dense("d", { { { 1, 0, 0, {} } } }) }, { "inbound tensor 1" } },
      { { input("x"), dense("d", { "x" }) }, { "('d').inbound_nodes[1]", "must be a list" } },
      { { input("x"), dense("d", { {} }) }, { "('d').inbound_nodes[1]", "reads no tensor" } },
      { { input("x"), dense("d", "x") }, { "('d')", "'inbound_nodes' must be a list" } },
      { { input("x"), dense("d", { { { "x", 0, 0, { mask = "m" } } } }) }, { "keyword argument 'mask'" } },
      { { input("x"), dense("d", { { { "x", 0, 0, { scale = 2 } } } }) }, { "keyword argument 'scale'" } },
      { { input("x"), dense("d", { { { "x", 0, 0, { training = "yes" } } } }) }, { "keyword argument 'training'" } },
      { { input("x"), dense("d", json.null) }, { "output_layers[1]", "layer 'd' has no node 0" } },
      { { input("x"), input("x") }, { "two layers are named 'x'" } },
      { { input("x"), { class_name = "Dense", config = { units = 3 }, inbound_nodes = {} } }, { "layers[2]",
        "has no name" } },
      { { input("x"), json.null }, { "layers[2]", "must be a table, got null" } },
      { { input("x"), dense("d", { { { "x", 0, 0, {} } } }) }, { "output_layers[1]", "no layer named 'zz'" },
        nil, { { "zz", 0, 0 } } },
      { { input("x"), dense("d", { { { "x", 0, 0, {} } } }) }, { "input_layers[1] must name an InputLayer" },
        { { "d", 0, 0 } } },
      { { input("x"), dense("d", { { { "x", 0, 0, {} } } }) }, { "'output_layers' is empty" }, nil, json.array() },
    }) do
      assert_error(c[2], dnn.models.model_from_config, functional(c[1], c[3], c[4]))
    end
    local bad = functional({ input("x") })
    bad.config.input_layers = json.null
    assert_error({ "no 'input_layers' list" }, dnn.models.model_from_config, bad)
    bad = functional({ input("x") })
    bad.config.layers = "x"
    assert_error({ "no 'layers' list" }, dnn.models.model_from_config, bad)
    -- a layer that fails on its input names the layer
    local mismatch = functional({ input("x"), { class_name = "Conv2D", name = "d",
      config = { name = "d", filters = 2, kernel_size = 3 }, inbound_nodes = { { { "x", 0, 0, {} } } } } })
    assert_error({ "('d').inbound_nodes[1]", "calling layer 'd' failed" }, dnn.models.model_from_config, mismatch)
  end)

  it("Sequential and model_from_json: nulls, wrong shapes and wrong documents", function()
    local function seq(layers) return { class_name = "Sequential", config = { name = "s", layers = layers } } end
    for _, c in ipairs({
      { seq(json.null), { "Sequential.from_config", "no 'layers' list" } },
      { seq({ json.null }), { "layers[1]", "got null" } },
      { seq({ { class_name = "Dense", config = json.null } }), { "layers[1] (Dense)", "'config' must be a table" } },
      { seq({ { class_name = "Dense", config = { units = json.null } } }), { "layers[1]", "has no 'units'" } },
      { seq({ { class_name = json.null, config = {} } }), { "layers[1]", "'class_name' must be a string" } },
      { seq({ { class_name = "Dense", config = { units = 2 } },
        { class_name = "InputLayer", config = { batch_input_shape = { json.null, 2 } } } }),
        { "layers[2]", "an InputLayer may only come first" } },
      { seq({ { class_name = "InputLayer", config = { batch_input_shape = { json.null, -3 } } } }),
        { "layers[1] (InputLayer)", "'batch_input_shape' entry 2" } },
      { seq({ { class_name = "InputLayer", config = { batch_input_shape = { json.null, 4 }, dtype = "complex64" } } }),
        { "layers[1] (InputLayer)", "'dtype'" } },
      { seq({ { class_name = "InputLayer", config = { batch_input_shape = { json.null, 4 } } },
        { class_name = "Conv2D", config = { filters = 2, kernel_size = 3 } } }), { "layers[2]", "Conv2D" } },
      { { class_name = "Sequential", config = "x" }, { "model_from_config", "expected {class_name=, config=}" } },
      { { class_name = "Dense", config = { units = 2 } }, { "model_from_config" } },
    }) do
      local ok, err = pcall(dnn.models.model_from_config, c[1])
      if c[2][1] == "model_from_config" and #c[2] == 1 then
        -- a layer config is not a model: loading it is allowed (Keras loads any layer) or refused, never a crash
        assert.is_true(ok or type(err) == "string")
      else
        assert.is_false(ok)
        for _, frag in ipairs(c[2]) do
          assert(tostring(err):find(frag, 1, true), ("error %q lacks %q"):format(tostring(err), frag))
        end
      end
    end
    for _, c in ipairs({
      { "", "json.decode" }, { "[1, 2]", "expected {class_name=, config=}" }, { "null", "expected {class_name=" },
      { '{"class_name": "Sequential"}', "expected {class_name=, config=}" },
      { '{"class_name": "Sequential", "config": {"layers": [}', "line 1, column 52" },
      { ("["):rep(5000), "nesting deeper than 1000" },
    }) do
      assert_error({ "model_from_json", c[2] }, dnn.models.model_from_json, c[1])
    end
    assert_error({ "model_from_json", "expected a JSON string" }, dnn.models.model_from_json, { 1 })
    assert_error({ "custom_objects must be a table" }, dnn.models.model_from_json, "{}", 3)
  end)
end)
