-- Activation{activation}: applies a Keras activation by name or function.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local Activation = Layer:extend("Activation")

function Activation:init(...)
  local a = Layer.parse_args(Activation, { "activation" }, nil, ...)
  Layer.init(self, a)
  self.activation = a.activation
  self.fn = dnn.F.get_activation(a.activation)
end

function Activation:call(x) return self.fn(x) end
function Activation:compute_output_shape(s) return s end

function Activation:get_config()
  local c = Layer.get_config(self)
  c.activation = type(self.activation) == "string" and self.activation or nil
  return c
end

return Activation
