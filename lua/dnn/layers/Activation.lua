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
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.activation = S.serialize_activation(self.activation, self.name)
  return c
end

function Activation._config_to_args(c, who, custom_objects)
  local S = require "dnn.layers.serialization"
  S.require_keys(c, { "activation" }, who)
  c.activation = S.deserialize_activation(c.activation, who, custom_objects) or "linear"
end

return Activation
