-- dnn.initializers: Keras's weight initializers.  Each is a class whose
-- instances are callable: init(shape, dtype) -> tensor.  Names resolve as in
-- Keras: dnn.initializers.get("glorot_uniform") or get("GlorotUniform").
local dnn = require "dnn"
local class = require "dnn.class"

local I = {}

-- Keras's fans: dense (in, out); conv (kh, kw, in, out) times the receptive field.
local function fans(shape)
  local n = #shape
  if n == 0 then return 1, 1 end
  if n == 1 then return shape[1], shape[1] end
  if n == 2 then return shape[1], shape[2] end
  local rf = 1
  for i = 1, n - 2 do rf = rf * shape[i] end
  return shape[n - 1] * rf, shape[n] * rf
end
I.compute_fans = fans

-- Runs fn with the global generator seeded from `seed`, restoring it after,
-- so a seeded initializer neither depends on nor disturbs the global stream.
local function with_seed(seed, fn)
  if seed == nil then return fn() end
  local saved = dnn.get_rng_state()
  dnn.manual_seed(seed)
  local ok, r = pcall(fn)
  dnn.set_rng_state(saved)
  if not ok then error(r, 0) end
  return r
end

-- Normal values redrawn until all lie within two standard deviations.
local function truncated_normal(shape, dtype, mean, stddev)
  local t = dnn.randn(shape, { dtype = dtype })
  local bad = t:abs():gt(2)
  local tries = 0
  while bad:any():item() do
    tries = tries + 1
    if tries > 100 then break end
    t[bad] = dnn.randn(bad:sum():item(), { dtype = dtype })
    bad = t:abs():gt(2)
  end
  return t * stddev + mean
end
I.truncated_normal = truncated_normal

local Initializer = class.Object:extend("Initializer")
I.Initializer = Initializer
function Initializer:__call(shape, dtype)
  dtype = dtype or "float32"
  local sh = dnn.is_tensor(shape) and shape:totable() or shape
  return with_seed(self.seed, function() return self:sample(sh, dtype) end)
end
-- Configs as Keras 2.15 writes them: every argument present (null when
-- unset), real-valued ones as floats (scale 1.0, mean 0.0).
local function json_null() return require("dnn.json").null end
function Initializer:get_config() return { seed = self.seed == nil and json_null() or self.seed } end

local FLOAT_PARAMS = { scale = true, mean = true, stddev = true, minval = true, maxval = true, gain = true }

local function define(name, params, sample)
  local cls = Initializer:extend(name)
  function cls:init(...)
    local a = class.kwargs(name, params.names, nil, ...)
    for k, def in pairs(params.defaults) do self[k] = def end
    for k, v in pairs(a) do self[k] = v end
  end
  cls.sample = sample
  function cls:get_config()
    local c = {}
    for _, k in ipairs(params.names) do
      local v = self[k]
      if v == nil then
        v = json_null()
      elseif FLOAT_PARAMS[k] and type(v) == "number" then
        v = v + 0.0
      end
      c[k] = v
    end
    return c
  end
  I[name] = cls
  return cls
end

local function variance_scaling(scale, mode, distribution)
  return function(self, shape, dtype)
    local fan_in, fan_out = fans(shape)
    local n = mode == "fan_in" and fan_in or mode == "fan_out" and fan_out or (fan_in + fan_out) / 2
    local s = (self.scale or scale) / math.max(1, n)
    if distribution == "uniform" then
      local limit = math.sqrt(3 * s)
      return dnn.rand(shape, { dtype = dtype }) * (2 * limit) - limit
    end
    -- truncated normal, corrected so the stddev after truncation is sqrt(s)
    return truncated_normal(shape, dtype, 0, math.sqrt(s) / 0.87962566103423978)
  end
end

define("GlorotUniform", { names = { "seed" }, defaults = {} }, variance_scaling(1, "fan_avg", "uniform"))
define("GlorotNormal", { names = { "seed" }, defaults = {} }, variance_scaling(1, "fan_avg", "normal"))
define("HeUniform", { names = { "seed" }, defaults = {} }, variance_scaling(2, "fan_in", "uniform"))
define("HeNormal", { names = { "seed" }, defaults = {} }, variance_scaling(2, "fan_in", "normal"))
define("LecunUniform", { names = { "seed" }, defaults = {} }, variance_scaling(1, "fan_in", "uniform"))
define("LecunNormal", { names = { "seed" }, defaults = {} }, variance_scaling(1, "fan_in", "normal"))
define("VarianceScaling", { names = { "scale", "mode", "distribution", "seed" },
  defaults = { scale = 1, mode = "fan_in", distribution = "truncated_normal" } },
  function(self, shape, dtype)
    local dist = self.distribution == "uniform" and "uniform" or "normal"
    return variance_scaling(self.scale, self.mode, dist)(self, shape, dtype)
  end)
define("Zeros", { names = {}, defaults = {} }, function(_, shape, dtype) return dnn.zeros(shape, { dtype = dtype }) end)
define("Ones", { names = {}, defaults = {} }, function(_, shape, dtype) return dnn.ones(shape, { dtype = dtype }) end)
define("Constant", { names = { "value" }, defaults = { value = 0 } },
  function(self, shape, dtype) return dnn.full(shape, self.value + 0.0, { dtype = dtype }) end)
define("RandomNormal", { names = { "mean", "stddev", "seed" }, defaults = { mean = 0, stddev = 0.05 } },
  function(self, shape, dtype) return dnn.randn(shape, { dtype = dtype }) * self.stddev + self.mean end)
define("RandomUniform", { names = { "minval", "maxval", "seed" }, defaults = { minval = -0.05, maxval = 0.05 } },
  function(self, shape, dtype)
    return dnn.rand(shape, { dtype = dtype }) * (self.maxval - self.minval) + self.minval
  end)
define("TruncatedNormal", { names = { "mean", "stddev", "seed" }, defaults = { mean = 0, stddev = 0.05 } },
  function(self, shape, dtype) return truncated_normal(shape, dtype, self.mean, self.stddev) end)
define("Identity", { names = { "gain" }, defaults = { gain = 1 } }, function(self, shape, dtype)
  if #shape ~= 2 then error("Identity: needs a 2-d shape, got " .. #shape .. " dims", 0) end
  return dnn.eye(shape[1], shape[2], { dtype = dtype }) * self.gain
end)

local aliases = {
  glorot_uniform = "GlorotUniform", glorot_normal = "GlorotNormal", he_uniform = "HeUniform",
  he_normal = "HeNormal", lecun_uniform = "LecunUniform", lecun_normal = "LecunNormal",
  zeros = "Zeros", zero = "Zeros", ones = "Ones", one = "Ones", constant = "Constant",
  random_normal = "RandomNormal", random_uniform = "RandomUniform", truncated_normal = "TruncatedNormal",
  identity = "Identity", variance_scaling = "VarianceScaling",
  xavier_uniform = "GlorotUniform", xavier_normal = "GlorotNormal", kaiming_normal = "HeNormal",
  kaiming_uniform = "HeUniform",
}

-- get(name | class | instance | function(shape, dtype) | config table)
function I.get(x)
  if x == nil then return nil end
  if type(x) == "string" then
    local cls = I[aliases[x] or x]
    if type(cls) ~= "table" or not class.is_subclass(cls, Initializer) then
      local names = {}
      for k in pairs(aliases) do names[#names + 1] = k end
      table.sort(names)
      error(("initializers.get: unknown initializer '%s' (known: %s)"):format(x, table.concat(names, ", ")), 2)
    end
    return cls()
  end
  if type(x) == "function" then return x end
  if class.is_class(x) then return x() end
  if type(x) == "table" and x.class_name then -- a Keras config {class_name=, config=}
    local cls = I[aliases[x.class_name] or x.class_name]
    if type(cls) ~= "table" or not class.is_subclass(cls, Initializer) then return I.get(x.class_name) end
    return cls(x.config or {})
  end
  if type(x) == "table" then return x end
  error(("initializers.get: expected a name, an initializer or a function, got %s"):format(type(x)), 2)
end

dnn.initializers = I
return I
