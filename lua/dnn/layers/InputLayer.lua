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

-- Keras's InputLayer config: no 'trainable', the full batch shape.
function InputLayer:get_config()
  local S = require "dnn.layers.serialization"
  return { batch_input_shape = self.input_shape_arg and S.batch_shape(self.input_shape_arg) or { S.null },
    dtype = self.dtype, sparse = false, ragged = false, name = self.name }
end

function InputLayer._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { sparse = "bool", ragged = "bool" })
  S.refuse(c, { "sparse", "ragged", "type_spec", "optional" }, who)
end

return InputLayer
