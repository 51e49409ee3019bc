-- LayerNormalization{axis=-1 (or a list), epsilon=1e-3, center=true, scale=true}
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local LN = Layer:extend("LayerNormalization")

function LN:init(...)
  local a = Layer.parse_args(LN, { "axis" }, { "epsilon", "center", "scale", "beta_initializer",
    "gamma_initializer", "beta_regularizer", "gamma_regularizer" }, ...)
  Layer.init(self, a)
  self.axis = a.axis or -1
  self.epsilon = a.epsilon or 1e-3
  self.center, self.scale = a.center ~= false, a.scale ~= false
  self.beta_initializer, self.gamma_initializer = a.beta_initializer or "zeros", a.gamma_initializer or "ones"
end

function LN:build(input_shape)
  local axes = type(self.axis) == "table" and self.axis or { self.axis }
  local shape = {}
  for _, ax in ipairs(axes) do
    local a = ax < 0 and #input_shape + 1 + ax or ax
    if a < 2 or a > #input_shape then
      error(("LayerNormalization: axis %d does not fit input shape %s (axes are 1-based, -1 the last; not the batch axis)")
        :format(ax, tostring(input_shape)), 0)
    end
    shape[#shape + 1] = input_shape[a]
  end
  if self.scale then self.gamma = self:add_weight { name = "gamma", shape = shape, initializer = self.gamma_initializer } end
  if self.center then self.beta = self:add_weight { name = "beta", shape = shape, initializer = self.beta_initializer } end
  self.built = true
end

function LN:call(x)
  return dnn.F.layer_norm(x, self.gamma, self.beta, { axis = self.axis, epsilon = self.epsilon })
end

function LN:get_config()
  local c = Layer.get_config(self)
  c.axis, c.epsilon, c.center, c.scale = self.axis, self.epsilon, self.center, self.scale
  return c
end

return LN
