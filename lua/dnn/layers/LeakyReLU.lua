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

-- Keras 2.15 writes alpha cast to float32 (0.3 -> 0.30000001192092896).
function LeakyReLU:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.alpha = S.f32(self.alpha)
  return c
end

function LeakyReLU._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { alpha = "number", negative_slope = "number" })
end

return LeakyReLU
