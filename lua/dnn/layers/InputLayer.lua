-- InputLayer{input_shape=}: the identity at the start of a model (Keras writes
-- one first in every Sequential's config).
local Layer = require "dnn.layers.Layer"

local InputLayer = Layer:extend("InputLayer")

function InputLayer:init(...)
  local a = Layer.parse_args(InputLayer, {}, { "shape", "sparse", "ragged" }, ...)
  if a.shape and not a.input_shape then a.input_shape = a.shape end
  Layer.init(self, a)
end

function InputLayer:call(x) return x end

return InputLayer
