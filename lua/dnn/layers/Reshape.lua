-- Reshape{target_shape}: the shape without the batch dim (one -1 allowed).
local Layer = require "dnn.layers.Layer"

local Reshape = Layer:extend("Reshape")

function Reshape:init(...)
  local a = Layer.parse_args(Reshape, { "target_shape" }, nil, ...)
  Layer.init(self, a)
  if type(a.target_shape) ~= "table" then
    error("Reshape: target_shape must be a table of sizes (without the batch dim)", 3)
  end
  self.target_shape = a.target_shape
end

function Reshape:call(x)
  local s = { x:size(1) }
  for _, d in ipairs(self.target_shape) do s[#s + 1] = d end
  return x:reshape(s)
end

function Reshape:compute_output_shape(s)
  local o = { s[1] }
  for _, d in ipairs(self.target_shape) do o[#o + 1] = d end
  return o
end

function Reshape:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.target_shape = S.copy(self.target_shape)
  return c
end

function Reshape._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.require_keys(c, { "target_shape" }, who)
  c.target_shape = S.int_list(c.target_shape, who, "target_shape")
  local unknown = 0
  for i, d in ipairs(c.target_shape) do
    if d == -1 then unknown = unknown + 1 end
    if d < -1 or d == 0 or unknown > 1 then
      error(("%s: 'target_shape' entry %d is %d; sizes are positive, with at most one -1"):format(who, i, d), 0)
    end
  end
end

return Reshape
