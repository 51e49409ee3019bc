-- Helpers the layers' get_config/from_config share: Keras 2.15 (tf.keras)
-- spellings of initializers, regularizers, activations, shapes and axes.
--
-- Keras configs count axes from 0 (-1 the last); dnnlua counts from 1 (-1
-- the last), so positive axes shift by one on the way in and out and
-- negative ones stay.  Values Keras casts to float32 before writing
-- (regularizer factors, ReLU/LeakyReLU parameters) are rounded the same way
-- here, so configs compare equal to Keras's (l2=0.01 is written as
-- 0.009999999776482582, as tf.keras writes it).
local dnn = require "dnn"
local class = require "dnn.class"
local json = require "dnn.json"

local S = {}
local null = json.null
S.null = null

function S.is_null(v) return v == nil or v == null end

-- nil -> null, for optional values in configs
function S.opt(v)
  if v == nil then return null end
  return v
end

-- x rounded to float32 (returned as a Lua float), as Keras's cast_to_floatx.
function S.f32(x)
  if type(x) ~= "number" then return x end
  return (string.unpack("f", string.pack("f", x)))
end

-- A deep copy of plain data (array marks kept), so a config never aliases
-- a layer's own tables.
function S.copy(v)
  if type(v) ~= "table" or dnn.is_tensor(v) then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = S.copy(x) end
  if json.is_array(v) then json.array(out) end
  return out
end

-- A copy of cfg without its null (or nil) values: null means "the default".
function S.strip_nulls(cfg)
  local out = {}
  for k, v in pairs(cfg) do
    if v ~= null then out[k] = v end
  end
  return out
end

-- {784} -> {null, 784}
function S.batch_shape(shape)
  local b = { null }
  for i = 1, #shape do b[i + 1] = shape[i] == nil and null or shape[i] end
  return b
end

-- {null, 784} -> {784}; nil when a size past the batch dim is unknown (the
-- layer then builds on its first call).
function S.shape_from_batch(b, who, key)
  if type(b) ~= "table" or dnn.is_tensor(b) or class.of(b) or #b < 1 then
    error(("%s: '%s' must be a list of sizes with the batch size first (null), got %s"):format(who, key, S.describe(b)), 0)
  end
  local s, known = {}, true
  for i = 2, #b do
    local d = b[i]
    if d == null then
      known = false
    elseif math.type(d) ~= "integer" or d < 0 then
      error(("%s: '%s' entry %d must be a non-negative integer or null, got %s"):format(who, key, i, S.describe(d)), 0)
    end
    s[#s + 1] = d
  end
  if not known then return nil end
  return s
end

-- dnnlua axis (1-based) <-> Keras axis (0-based); negative axes are equal.
function S.axis_to_keras(a)
  if math.type(a) ~= "integer" then return a end
  return a < 0 and a or a - 1
end

function S.axis_from_keras(k, who)
  if math.type(k) ~= "integer" then
    error(("%s: axis must be an integer, got %s"):format(who, tostring(k)), 0)
  end
  return k < 0 and k or k + 1
end

-- The positive 0-based axis Keras keeps after build (validate_axis).
function S.axis_to_keras_built(a, rank)
  local p = a < 0 and rank + 1 + a or a
  return p - 1
end

-- A value as error messages show it: null, a table, number 1.5, string "ten".
local function describe(v)
  if v == null then return "null" end
  if v == nil then return "nothing" end
  if dnn.is_tensor(v) then return "a tensor" end
  if type(v) == "table" then
    if json.is_array(v) or (v[1] ~= nil and next(v, #v > 0 and #v or nil) == nil) then return "a list" end
    return class.name(v) == "table" and "a table" or class.name(v)
  end
  if type(v) == "string" then
    local shown = #v > 60 and (v:sub(1, 57) .. "...") or v
    return "string " .. ("%q"):format(shown):gsub("\\\n", "\\n")
  end
  return type(v) .. " " .. tostring(v)
end
S.describe = describe

-- Errors from constructors carry "file.lua:12: " positions and the class's
-- own prefix; configs errors read better without them.
function S.clean_error(err)
  return (tostring(err):gsub("^[^%s:]+%.lua:%d+: ", ""))
end

-- ---- types of config values ----

-- What each kind accepts, and how a message says it.
local KINDS = {
  bool = { "a boolean (true or false)", function(v) return type(v) == "boolean" end },
  int = { "an integer", function(v) return math.type(v) == "integer" end },
  posint = { "a positive integer", function(v) return math.type(v) == "integer" and v >= 1 end },
  nonneg_int = { "a non-negative integer", function(v) return math.type(v) == "integer" and v >= 0 end },
  number = { "a number", function(v) return type(v) == "number" and v == v end },
  positive = { "a positive number", function(v) return type(v) == "number" and v > 0 end },
  nonneg = { "a non-negative number", function(v) return type(v) == "number" and v >= 0 end },
  rate = { "a number in [0, 1)", function(v) return type(v) == "number" and v >= 0 and v < 1 end },
  string = { "a string", function(v) return type(v) == "string" end },
  axis = { "an integer axis", function(v) return math.type(v) == "integer" end },
}

local function is_int_list(v, n, min)
  if type(v) ~= "table" or dnn.is_tensor(v) or class.of(v) then return false end
  local len = #v
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > len then return false end
  end
  if n and len ~= n then return false end
  for i = 1, len do
    if math.type(v[i]) ~= "integer" or (min and v[i] < min) then return false end
  end
  return true
end
S.is_int_list = is_int_list

-- Checks the values of a config (nulls already stripped: a missing key is
-- the default).  spec maps keys to a kind above, to a list of allowed
-- strings, or to "pair" (a positive integer or a list of two), "axes" (an
-- integer or a list of integers), "shape" (a list of integers).  Keys are
-- checked in sorted order so the first error is always the same one.
function S.check(c, who, spec)
  local keys = {}
  for k in pairs(spec) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v, kind = c[k], spec[k]
    if v ~= nil then
      local ok, want
      if type(kind) == "table" then
        ok = type(v) == "string" and false
        for _, allowed in ipairs(kind) do if v == allowed then ok = true end end
        local q = {}
        for i, a in ipairs(kind) do q[i] = ("%q"):format(a) end
        want = "one of " .. table.concat(q, ", ")
      elseif kind == "pair" then
        ok = (math.type(v) == "integer" and v >= 1) or is_int_list(v, 2, 1)
        want = "a positive integer or a list of two"
      elseif kind == "axes" then
        ok = math.type(v) == "integer" or (is_int_list(v) and #v >= 1)
        want = "an integer axis or a list of them"
      elseif kind == "shape" then
        ok = is_int_list(v)
        want = "a list of integers"
      else
        local k_ = KINDS[kind]
        ok, want = k_[2](v), k_[1]
      end
      if not ok then error(("%s: '%s' must be %s, got %s"):format(who, k, want, describe(v)), 0) end
    end
  end
end

-- The dtypes a layer may compute in; an InputLayer may also carry integer
-- and boolean inputs.
local LAYER_DTYPES = { float32 = true, float64 = true }
local INPUT_DTYPES = { float32 = true, float64 = true, int32 = true, int64 = true, uint8 = true, bool = true }

function S.check_dtype(dtype, who, for_input)
  local ok = (for_input and INPUT_DTYPES or LAYER_DTYPES)[dtype]
  if not ok then
    error(("%s: 'dtype' %s is not supported (dnnlua %s: %s)"):format(who, describe(dtype),
      for_input and "inputs are" or "layers compute in",
      for_input and "float32, float64, int32, int64, uint8, bool" or "float32 or float64"), 0)
  end
end

-- ---- activations ----

local ACTIVATIONS = { "relu", "sigmoid", "softmax", "tanh", "linear", "elu", "selu", "gelu", "softplus", "softsign",
  "swish", "silu", "hard_sigmoid", "exponential", "leaky_relu", "log_softmax" }

-- The Keras name of an activation (nil is "linear", as Keras writes it).
function S.serialize_activation(a, who)
  if a == nil then return "linear" end
  if type(a) == "string" then return a end
  if type(a) == "function" then
    for _, name in ipairs(ACTIVATIONS) do
      local ok, fn = pcall(dnn.F.get_activation, name)
      if ok and fn == a then return name end
    end
  end
  error(("%s: its activation is a Lua function, which a config cannot hold; give the activation by name "
    .. "(\"relu\", \"softmax\", ...) to save the architecture"):format(who), 0)
end

-- An activation from a config: a Keras name, or (for custom activations)
-- tf.keras's {"class_name": "function", "config": name, ...} looked up in
-- custom_objects.  nil is "linear".  Names are checked here, so a config
-- never reaches the layer with something unknown (nothing is evaluated).
function S.deserialize_activation(v, who, custom_objects, key)
  key = key or "activation"
  if v == nil or v == null or v == "linear" then return nil end
  if type(v) == "table" and not dnn.is_tensor(v) and (v.class_name == "function" or type(v.config) == "string") then
    local name = type(v.registered_name) == "string" and v.registered_name or v.config
    if custom_objects and type(name) == "string" and custom_objects[name] ~= nil then return custom_objects[name] end
    if type(v.config) == "string" and custom_objects and custom_objects[v.config] ~= nil then return custom_objects[v.config] end
    v = type(v.config) == "string" and v.config or v
  end
  if type(v) == "string" then
    if custom_objects and custom_objects[v] ~= nil then return custom_objects[v] end
    if pcall(dnn.F.get_activation, v) then return v ~= "linear" and v or nil end
    local names = {}
    for i, n in ipairs(ACTIVATIONS) do names[i] = n end
    table.sort(names)
    error(("%s: '%s' %s is not a known activation (known: %s; custom ones go in custom_objects)")
      :format(who, key, describe(v), table.concat(names, ", ")), 0)
  end
  error(("%s: '%s' must be an activation name such as \"relu\", got %s"):format(who, key, describe(v)), 0)
end

-- ---- initializers ----

local function initializer_module() return dnn.initializers end

-- {module="keras.initializers", class_name=, config=, registered_name=null}
-- as tf.keras 2.15 nests it in layer configs.
function S.serialize_initializer(x, who, key)
  if x == nil then return null end
  local I = initializer_module()
  local ok, init = pcall(I.get, x)
  if not ok then error(("%s: %s: %s"):format(who, key, init), 0) end
  if type(init) == "function" or not class.isinstance(init, I.Initializer) then
    error(("%s: %s is a Lua function, which a config cannot hold; use a Keras initializer (a name such as "
      .. "\"he_normal\", or dnn.initializers.HeNormal{seed=1})"):format(who, key), 0)
  end
  return { module = "keras.initializers", class_name = class.name(init), config = init:get_config(),
    registered_name = null }
end

-- A Keras initializer config (or name) back to an initializer; config nulls
-- are defaults; custom_objects may name custom initializer classes.
-- The kinds of the built-in initializers' arguments (checked before the
-- initializer is made, so a bad value names the key at load time).
local INIT_ARGS = {
  seed = "int", mean = "number", stddev = "nonneg", minval = "number", maxval = "number", gain = "number",
  value = "number", scale = "positive", mode = { "fan_in", "fan_out", "fan_avg" },
  distribution = { "truncated_normal", "untruncated_normal", "uniform", "normal" },
}

function S.deserialize_initializer(v, who, key, custom_objects)
  if v == nil or v == null then return nil end
  if type(v) == "string" then
    if custom_objects and custom_objects[v] ~= nil then return custom_objects[v] end
    local ok, err = pcall(initializer_module().get, v)
    if not ok then error(("%s: '%s': %s"):format(who, key, S.clean_error(err):gsub("^initializers%.get: ", "")), 0) end
    return v
  end
  if type(v) ~= "table" or type(v.class_name) ~= "string" then
    error(("%s: '%s' must be an initializer name or {class_name=, config=}, got %s"):format(who, key, describe(v)), 0)
  end
  local cfg = v.config
  if cfg == nil or cfg == null then cfg = {} end
  if type(cfg) ~= "table" then
    error(("%s: '%s': 'config' must be a table, got %s"):format(who, key, describe(cfg)), 0)
  end
  cfg = S.strip_nulls(cfg)
  local custom = custom_objects and custom_objects[v.class_name]
  if not custom then S.check(cfg, ("%s: '%s' (%s)"):format(who, key, v.class_name), INIT_ARGS) end
  local ok, init = pcall(function()
    if custom then return custom(cfg) end
    return initializer_module().get({ class_name = v.class_name, config = cfg })
  end)
  if not ok then
    error(("%s: '%s': %s"):format(who, key, S.clean_error(init):gsub("^.-initializers%.get: ", "")), 0)
  end
  return init
end

-- ---- regularizers ----

function S.serialize_regularizer(x, who, key)
  if x == nil then return null end
  local R = dnn.regularizers
  local ok, reg = pcall(R.get, x)
  if not ok then error(("%s: %s: %s"):format(who, key, reg), 0) end
  if type(reg) == "function" or not class.isinstance(reg, R.Regularizer) then
    error(("%s: %s is a Lua function, which a config cannot hold; use dnn.regularizers.L1/L2/L1L2"):format(who, key), 0)
  end
  return { module = "keras.regularizers", class_name = class.name(reg), config = reg:get_config(),
    registered_name = null }
end

local REGULARIZERS = { L1 = "L1", L2 = "L2", L1L2 = "L1L2", l1 = "L1", l2 = "L2", l1_l2 = "L1L2" }

function S.deserialize_regularizer(v, who, key, custom_objects)
  if v == nil or v == null then return nil end
  local R = dnn.regularizers
  if type(v) == "string" then
    if not REGULARIZERS[v] then
      error(("%s: '%s': unknown regularizer %s (known: L1, L2, L1L2)"):format(who, key, describe(v)), 0)
    end
    return R[REGULARIZERS[v]]()
  end
  if type(v) ~= "table" or type(v.class_name) ~= "string" then
    error(("%s: '%s' must be a regularizer name or {class_name=, config=}, got %s"):format(who, key, describe(v)), 0)
  end
  local cfg = v.config
  if cfg == nil or cfg == null then cfg = {} end
  if type(cfg) ~= "table" then
    error(("%s: '%s': 'config' must be a table, got %s"):format(who, key, describe(cfg)), 0)
  end
  cfg = S.strip_nulls(cfg)
  local custom = custom_objects and custom_objects[v.class_name]
  local cls = custom or R[REGULARIZERS[v.class_name] or ""]
  if not cls then
    error(("%s: '%s': unknown regularizer class '%s' (known: L1, L2, L1L2; custom ones go in custom_objects)")
      :format(who, key, v.class_name), 0)
  end
  if not custom then S.check(cfg, ("%s: '%s' (%s)"):format(who, key, v.class_name), { l1 = "nonneg", l2 = "nonneg" }) end
  local ok, reg = pcall(cls, cfg)
  if not ok then error(("%s: '%s': %s"):format(who, key, S.clean_error(reg)), 0) end
  return reg
end

-- ---- checks on incoming configs ----

-- Keys dnnlua has no counterpart for: null (their default) is fine, anything
-- else would silently change the model, so it is refused.
function S.refuse(c, keys, who)
  for _, k in ipairs(keys) do
    local v = c[k]
    if v ~= nil and v ~= null and v ~= false then
      local shown = type(v) == "table" and type(v.class_name) == "string" and v.class_name or describe(v)
      error(("%s: '%s' (%s) is not supported by dnnlua; the layer cannot be rebuilt faithfully"):format(who, k, shown), 0)
    end
    c[k] = nil
  end
end

function S.require_keys(c, keys, who)
  for _, k in ipairs(keys) do
    if c[k] == nil or c[k] == null then
      error(("%s: the config has no '%s' (needed: %s)"):format(who, k, table.concat(keys, ", ")), 0)
    end
  end
end

-- A list of integers (kernel sizes, strides, shapes) from a config.
function S.int_list(v, who, key, n)
  if math.type(v) == "integer" then
    if n then
      local out = {}
      for i = 1, n do out[i] = v end
      return out
    end
    return { v }
  end
  if type(v) ~= "table" then error(("%s: '%s' must be a list of integers, got %s"):format(who, key, describe(v)), 0) end
  local out = {}
  for i, d in ipairs(v) do
    if math.type(d) ~= "integer" then
      error(("%s: '%s' entry %d must be an integer, got %s"):format(who, key, i, describe(d)), 0)
    end
    out[i] = d
  end
  if n and #out ~= n then
    error(("%s: '%s' must have %d entries, got %d"):format(who, key, n, #out), 0)
  end
  return out
end

-- The name a layer class is registered under (dnn.layers.register), which
-- is what configs write as class_name; the class's own name otherwise.
function S.registered_name(x)
  local cls = class.of(x) or x
  local layers = dnn.layers
  local function is(name)
    local ok, c = pcall(layers.get, name)
    return ok and c == cls
  end
  local n = rawget(cls, "__name")
  if n and is(n) then return n end
  for k, v in pairs(layers) do
    if v == cls and type(k) == "string" and is(k) then return k end
  end
  return n or class.name(x)
end

return S
