-- ReLU{max_value=nil, negative_slope=0, threshold=0} (Keras's ReLU layer).
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local ReLU = Layer:extend("ReLU")

function ReLU:init(...)
  local a = Layer.parse_args(ReLU, { "max_value", "negative_slope", "threshold" }, nil, ...)
  Layer.init(self, a)
  self.max_value, self.negative_slope, self.threshold = a.max_value, a.negative_slope or 0, a.threshold or 0
end

function ReLU:call(x)
  if self.max_value == nil and self.negative_slope == 0 and self.threshold == 0 then return dnn.F.relu(x) end
  return dnn.F.relu(x, { alpha = self.negative_slope, max_value = self.max_value, threshold = self.threshold })
end
function ReLU:compute_output_shape(s) return s end

-- Keras casts these to float32 before writing them (0.0, not 0).
function ReLU:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.max_value = self.max_value == nil and S.null or S.f32(self.max_value)
  c.negative_slope, c.threshold = S.f32(self.negative_slope), S.f32(self.threshold)
  return c
end

function ReLU._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { max_value = "nonneg", negative_slope = "nonneg", threshold = "number" })
end

return ReLU
