-- Conv2D{filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
--   dilation_rate=1, groups=1, activation=nil, use_bias=true, kernel_initializer=
--   "glorot_uniform", bias_initializer="zeros", kernel_regularizer=, bias_regularizer=}
-- Kernel (kh, kw, in/groups, filters) as Keras stores it.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"
local F = dnn.F

local Conv2D = Layer:extend("Conv2D")

local function pair(v, what)
  if type(v) == "number" then return { v, v } end
  if type(v) == "table" and #v == 2 then return { v[1], v[2] } end
  error(("Conv2D: %s must be an integer or a pair, got %s"):format(what, tostring(v)), 4)
end

function Conv2D:init(...)
  local a = Layer.parse_args(Conv2D, { "filters", "kernel_size" }, { "strides", "padding", "data_format",
    "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
    "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint" }, ...)
  Layer.init(self, a)
  if math.type(a.filters) ~= "integer" or a.filters < 1 then
    error(("Conv2D: filters must be a positive integer, got %s"):format(tostring(a.filters)), 3)
  end
  self.filters = a.filters
  self.kernel_size = pair(a.kernel_size, "kernel_size")
  self.strides = pair(a.strides or 1, "strides")
  self.padding = a.padding or "valid"
  self.data_format = a.data_format or "channels_last"
  self.dilation_rate = pair(a.dilation_rate or 1, "dilation_rate")
  self.groups = a.groups or 1
  self.activation = a.activation
  self.act = F.get_activation(a.activation)
  self.use_bias = a.use_bias ~= false
  self.kernel_initializer = a.kernel_initializer or "glorot_uniform"
  self.bias_initializer = a.bias_initializer or "zeros"
  self.kernel_regularizer, self.bias_regularizer = a.kernel_regularizer, a.bias_regularizer
end

function Conv2D:build(input_shape)
  if #input_shape ~= 4 then
    error(("Conv2D: expects 4-d input (batch, height, width, channels), got shape %s"):format(
      tostring(input_shape)), 0)
  end
  local cin = self.data_format == "channels_first" and input_shape[2] or input_shape[4]
  if cin % self.groups ~= 0 then
    error(("Conv2D: groups=%d does not divide the %d input channels"):format(self.groups, cin), 0)
  end
  self.kernel = self:add_weight { name = "kernel",
    shape = { self.kernel_size[1], self.kernel_size[2], cin // self.groups, self.filters },
    initializer = self.kernel_initializer, regularizer = self.kernel_regularizer }
  if self.use_bias then
    self.bias = self:add_weight { name = "bias", shape = { self.filters }, initializer = self.bias_initializer,
      regularizer = self.bias_regularizer }
  end
  self.built = true
end

function Conv2D:call(x)
  local y = F.conv2d(x, self.kernel, self.bias, { strides = self.strides, padding = self.padding,
    dilation_rate = self.dilation_rate, groups = self.groups, data_format = self.data_format })
  return self.act(y)
end

-- Keras 2.15's Conv2D config: sizes as pairs, activation "linear" when none.
function Conv2D:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.filters, c.padding, c.data_format = self.filters, self.padding, self.data_format
  c.kernel_size, c.strides = S.copy(self.kernel_size), S.copy(self.strides)
  c.dilation_rate, c.groups, c.use_bias = S.copy(self.dilation_rate), self.groups, self.use_bias
  c.activation = S.serialize_activation(self.activation, self.name)
  c.kernel_initializer = S.serialize_initializer(self.kernel_initializer, self.name, "kernel_initializer")
  c.bias_initializer = S.serialize_initializer(self.bias_initializer, self.name, "bias_initializer")
  c.kernel_regularizer = S.serialize_regularizer(self.kernel_regularizer, self.name, "kernel_regularizer")
  c.bias_regularizer = S.serialize_regularizer(self.bias_regularizer, self.name, "bias_regularizer")
  c.activity_regularizer, c.kernel_constraint, c.bias_constraint = S.null, S.null, S.null
  return c
end

function Conv2D._config_to_args(c, who, custom_objects)
  local S = require "dnn.layers.serialization"
  S.require_keys(c, { "filters", "kernel_size" }, who)
  S.check(c, who, { filters = "posint", kernel_size = "pair", strides = "pair", dilation_rate = "pair",
    padding = { "valid", "same" }, data_format = { "channels_last", "channels_first" }, groups = "posint",
    use_bias = "bool" })
  S.refuse(c, { "activity_regularizer", "kernel_constraint", "bias_constraint" }, who)
  c.kernel_size = S.int_list(c.kernel_size, who, "kernel_size", 2)
  if c.strides ~= nil then c.strides = S.int_list(c.strides, who, "strides", 2) end
  if c.dilation_rate ~= nil then c.dilation_rate = S.int_list(c.dilation_rate, who, "dilation_rate", 2) end
  c.activation = S.deserialize_activation(c.activation, who, custom_objects)
  c.kernel_initializer = S.deserialize_initializer(c.kernel_initializer, who, "kernel_initializer", custom_objects)
  c.bias_initializer = S.deserialize_initializer(c.bias_initializer, who, "bias_initializer", custom_objects)
  c.kernel_regularizer = S.deserialize_regularizer(c.kernel_regularizer, who, "kernel_regularizer", custom_objects)
  c.bias_regularizer = S.deserialize_regularizer(c.bias_regularizer, who, "bias_regularizer", custom_objects)
end

return Conv2D
