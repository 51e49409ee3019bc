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

function Dense:get_config()
  local c = Layer.get_config(self)
  c.units, c.use_bias = self.units, self.use_bias
  c.activation = type(self.activation) == "string" and self.activation or (self.activation == nil and "linear" or nil)
  c.kernel_initializer, c.bias_initializer = self.kernel_initializer, self.bias_initializer
  return c
end

return Dense
