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
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.axis = S.axis_to_keras(self.axis)
  return c
end

function Softmax._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { axis = "axes" })
  if type(c.axis) == "table" then
    if #c.axis ~= 1 then
      error(("%s: 'axis' %s: dnnlua's Softmax takes one axis"):format(who, require("dnn.json").encode(c.axis)), 0)
    end
    c.axis = c.axis[1]
  end
  if c.axis ~= nil then c.axis = S.axis_from_keras(c.axis, who) end
end

return Softmax
