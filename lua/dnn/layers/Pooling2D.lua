-- The 2-d pooling layers: MaxPooling2D / AveragePooling2D{pool_size=2, strides=pool_size,
-- padding="valid", data_format="channels_last"}, GlobalAveragePooling2D /
-- GlobalMaxPooling2D{data_format=, keepdims=false}, PyramidPooling{levels=, pooling="max"}.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"
local F = dnn.F

local P = {}

local function pair_of(v)
  if type(v) == "table" then return { v[1], v[2] } end
  return { v, v }
end

local function windowed(name, fn)
  local cls = Layer:extend(name)
  function cls:init(...)
    local a = Layer.parse_args(cls, { "pool_size", "strides", "padding" }, { "data_format" }, ...)
    Layer.init(self, a)
    self.pool_size = a.pool_size or 2
    self.strides = a.strides or self.pool_size
    self.padding = a.padding or "valid"
    self.data_format = a.data_format or "channels_last"
  end
  function cls:call(x)
    return F[fn](x, { pool_size = self.pool_size, strides = self.strides, padding = self.padding,
      data_format = self.data_format })
  end
  -- Keras 2.15 writes pool_size and strides as pairs
  function cls:get_config()
    local c = Layer.get_config(self)
    c.pool_size, c.strides = pair_of(self.pool_size), pair_of(self.strides)
    c.padding, c.data_format = self.padding, self.data_format
    return c
  end
  function cls._config_to_args(c, who)
    local S = require "dnn.layers.serialization"
    S.check(c, who, { pool_size = "pair", strides = "pair", padding = { "valid", "same" },
      data_format = { "channels_last", "channels_first" } })
    if c.pool_size ~= nil then c.pool_size = S.int_list(c.pool_size, who, "pool_size", 2) end
    if c.strides ~= nil then c.strides = S.int_list(c.strides, who, "strides", 2) end
  end
  return cls
end

P.MaxPooling2D = windowed("MaxPooling2D", "max_pool2d")
P.AveragePooling2D = windowed("AveragePooling2D", "avg_pool2d")

local function global(name, fn)
  local cls = Layer:extend(name)
  function cls:init(...)
    local a = Layer.parse_args(cls, {}, { "data_format", "keepdims" }, ...)
    Layer.init(self, a)
    self.data_format = a.data_format or "channels_last"
    self.keepdims = a.keepdims and true or false
  end
  function cls:call(x)
    return F[fn](x, { keepdims = self.keepdims, data_format = self.data_format })
  end
  function cls:get_config()
    local c = Layer.get_config(self)
    c.data_format, c.keepdims = self.data_format, self.keepdims
    return c
  end
  function cls._config_to_args(c, who)
    local S = require "dnn.layers.serialization"
    S.check(c, who, { data_format = { "channels_last", "channels_first" }, keepdims = "bool" })
  end
  return cls
end

P.GlobalAveragePooling2D = global("GlobalAveragePooling2D", "global_avg_pool2d")
P.GlobalMaxPooling2D = global("GlobalMaxPooling2D", "global_max_pool2d")

-- deep_pipe's layers.PyramidPooling (see F.pyramid_pooling for the grid rule).
local PyramidPooling = Layer:extend("PyramidPooling")
P.PyramidPooling = PyramidPooling
function PyramidPooling:init(...)
  local a = Layer.parse_args(PyramidPooling, { "pooling" }, { "levels", "data_format" }, ...)
  Layer.init(self, a)
  self.pooling = a.pooling or "max"
  if type(self.pooling) == "function" then
    local f = self.pooling
    self.pooling = (f == F.max_pool2d or f == F.adaptive_max_pool2d) and "max" or "avg"
  end
  self.levels = a.levels or 1
  self.data_format = a.data_format or "channels_last"
end
function PyramidPooling:call(x)
  return F.pyramid_pooling(x, { levels = self.levels, pooling = self.pooling, data_format = self.data_format })
end
-- dnnlua's own layer (Keras has none): the base keys plus levels (an
-- integer or a list), pooling ("max" or "avg") and data_format.
function PyramidPooling:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.levels, c.pooling, c.data_format = S.copy(self.levels), self.pooling, self.data_format
  return c
end

function PyramidPooling._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { data_format = { "channels_last", "channels_first" } })
  if c.levels ~= nil and not (math.type(c.levels) == "integer" and c.levels >= 1)
      and not (S.is_int_list(c.levels, nil, 1) and #c.levels >= 1) then
    error(("%s: 'levels' must be a positive integer or a list of them, got %s"):format(who, S.describe(c.levels)), 0)
  end
  if c.pooling ~= nil and c.pooling ~= "max" and c.pooling ~= "avg" then
    error(("%s: 'pooling' must be \"max\" or \"avg\", got %s"):format(who, tostring(c.pooling)), 0)
  end
end

return P
