-- Dense{units, activation=nil, use_bias=true, kernel_initializer="glorot_uniform",
--   bias_initializer="zeros", kernel_regularizer=, bias_regularizer=}: x @ kernel + bias
-- with kernel (in, units); one fused op (F.linear) for the product, bias and activation.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"
local F = dnn.F

local Dense = Layer:extend("Dense")

function Dense:init(...)
  local a = Layer.parse_args(Dense, { "units" }, { "activation", "use_bias", "kernel_initializer",
    "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
    "kernel_constraint", "bias_constraint" }, ...)
  Layer.init(self, a)
  if math.type(a.units) ~= "integer" or a.units < 1 then
    error(("Dense: units must be a positive integer, got %s"):format(tostring(a.units)), 3)
  end
  self.units = a.units
  self.activation = a.activation
  if self.activation ~= nil then F.get_activation(self.activation) end -- unknown names fail here
  self.use_bias = a.use_bias ~= false
  self.kernel_initializer = a.kernel_initializer or "glorot_uniform"
  self.bias_initializer = a.bias_initializer or "zeros"
  self.kernel_regularizer, self.bias_regularizer = a.kernel_regularizer, a.bias_regularizer
end

function Dense:build(input_shape)
  local last = input_shape[#input_shape]
  if math.type(last) ~= "integer" then
    error(("Dense: the input's last dim must be known, got shape %s"):format(tostring(input_shape)), 0)
  end
  self.kernel = self:add_weight { name = "kernel", shape = { last, self.units },
    initializer = self.kernel_initializer, regularizer = self.kernel_regularizer }
  if self.use_bias then
    self.bias = self:add_weight { name = "bias", shape = { self.units }, initializer = self.bias_initializer,
      regularizer = self.bias_regularizer }
  end
  self.built = true
end

function Dense:call(x)
  local k = self.kernel
  if x:size(-1) ~= k:size(1) then
    error(("input %s does not match kernel %s"):format(Layer.shape_str(x), Layer.shape_str(k)), 0)
  end
  return F.linear(x, k, self.bias, self.activation and { activation = self.activation } or nil)
end

function Dense:compute_output_shape(s)
  local o = {}
  for i = 1, #s - 1 do o[i] = s[i] end
  o[#s] = self.units
  return o
end

-- Keras 2.15's Dense config (activation "linear" when none).
function Dense:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.units, c.use_bias = self.units, self.use_bias
  c.activation = S.serialize_activation(self.activation, self.name)
  c.kernel_initializer = S.serialize_initializer(self.kernel_initializer, self.name, "kernel_initializer")
  c.bias_initializer = S.serialize_initializer(self.bias_initializer, self.name, "bias_initializer")
  c.kernel_regularizer = S.serialize_regularizer(self.kernel_regularizer, self.name, "kernel_regularizer")
  c.bias_regularizer = S.serialize_regularizer(self.bias_regularizer, self.name, "bias_regularizer")
  c.activity_regularizer, c.kernel_constraint, c.bias_constraint = S.null, S.null, S.null
  return c
end

function Dense._config_to_args(c, who, custom_objects)
  local S = require "dnn.layers.serialization"
  S.require_keys(c, { "units" }, who)
  S.check(c, who, { units = "posint", use_bias = "bool" })
  S.refuse(c, { "activity_regularizer", "kernel_constraint", "bias_constraint" }, who)
  c.activation = S.deserialize_activation(c.activation, who, custom_objects)
  c.kernel_initializer = S.deserialize_initializer(c.kernel_initializer, who, "kernel_initializer", custom_objects)
  c.bias_initializer = S.deserialize_initializer(c.bias_initializer, who, "bias_initializer", custom_objects)
  c.kernel_regularizer = S.deserialize_regularizer(c.kernel_regularizer, who, "kernel_regularizer", custom_objects)
  c.bias_regularizer = S.deserialize_regularizer(c.bias_regularizer, who, "bias_regularizer", custom_objects)
end

return Dense
