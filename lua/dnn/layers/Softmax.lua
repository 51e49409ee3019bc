-- Softmax{axis=-1}
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local Softmax = Layer:extend("Softmax")

function Softmax:init(...)
  local a = Layer.parse_args(Softmax, { "axis" }, nil, ...)
  Layer.init(self, a)
  self.axis = a.axis or -1
end

function Softmax:call(x) return dnn.F.softmax(x, { axis = self.axis }) end
function Softmax:compute_output_shape(s) return s end

function Softmax:get_config()
  local c = Layer.get_config(self)
  c.axis = self.axis
  return c
end

return Softmax
