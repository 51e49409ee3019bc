-- Flatten: (batch, ...) -> (batch, prod(...)).
local Layer = require "dnn.layers.Layer"

local Flatten = Layer:extend("Flatten")

function Flatten:init(...)
  local a = Layer.parse_args(Flatten, {}, { "data_format" }, ...)
  Layer.init(self, a)
end

function Flatten:call(x)
  if x:dim() < 1 then error("Flatten: needs a batch dim, got a 0-d tensor", 0) end
  return x:reshape(x:size(1), -1)
end

function Flatten:compute_output_shape(s)
  local n = 1
  for i = 2, #s do n = n * s[i] end
  return { s[1], n }
end

return Flatten
