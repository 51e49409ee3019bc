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

-- Keras writes data_format; dnnlua flattens channels-last order only.
function Flatten:get_config()
  local c = Layer.get_config(self)
  c.data_format = "channels_last"
  return c
end

function Flatten._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { data_format = { "channels_last", "channels_first" } })
  if c.data_format ~= nil and c.data_format ~= "channels_last" then
    error(("%s: data_format '%s' is not supported (dnnlua flattens in channels_last order)")
      :format(who, tostring(c.data_format)), 0)
  end
  c.data_format = nil
end

return Flatten
