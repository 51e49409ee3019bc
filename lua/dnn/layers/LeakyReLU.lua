-- LeakyReLU{alpha=0.3} (Keras's default slope; negative_slope= as in Keras 3).
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local LeakyReLU = Layer:extend("LeakyReLU")

function LeakyReLU:init(...)
  local a = Layer.parse_args(LeakyReLU, { "alpha" }, { "negative_slope" }, ...)
  Layer.init(self, a)
  self.alpha = a.alpha or a.negative_slope or 0.3
end

function LeakyReLU:call(x) return dnn.F.leaky_relu(x, { alpha = self.alpha }) end
function LeakyReLU:compute_output_shape(s) return s end

function LeakyReLU:get_config()
  local c = Layer.get_config(self)
  c.alpha = self.alpha
  return c
end

return LeakyReLU
