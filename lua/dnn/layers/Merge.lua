-- Layers that merge a list of inputs: Concatenate{axis=-1}, Add, Multiply.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local M = {}

local function check_list(self, xs)
  if type(xs) ~= "table" or #xs < 1 then
    error(("%s: expects a list of tensors, got %s"):format(self.name, dnn.is_tensor(xs) and "one tensor" or type(xs)), 0)
  end
end

local Concatenate = Layer:extend("Concatenate")
M.Concatenate = Concatenate
function Concatenate:init(...)
  local a = Layer.parse_args(Concatenate, { "axis" }, nil, ...)
  Layer.init(self, a)
  self.axis = a.axis or -1
end
function Concatenate:call(xs)
  check_list(self, xs)
  return dnn.cat(xs, self.axis)
end
function Concatenate:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.axis = S.axis_to_keras(self.axis)
  return c
end
function Concatenate._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { axis = "axis" })
  if c.axis ~= nil then c.axis = S.axis_from_keras(c.axis, who) end
end

local function elementwise(name, op)
  local cls = Layer:extend(name)
  function cls:init(...)
    local a = Layer.parse_args(cls, {}, nil, ...)
    Layer.init(self, a)
  end
  function cls:call(xs)
    check_list(self, xs)
    local acc = xs[1]
    for i = 2, #xs do acc = op(acc, xs[i]) end
    return acc
  end
  return cls
end

M.Add = elementwise("Add", function(a, b) return a + b end)
M.Multiply = elementwise("Multiply", function(a, b) return a * b end)
M.Subtract = elementwise("Subtract", function(a, b) return a - b end)
M.Average = elementwise("Average", function(a, b) return a + b end)
function M.Average:call(xs)
  check_list(self, xs)
  local acc = xs[1]
  for i = 2, #xs do acc = acc + xs[i] end
  return acc / #xs
end
M.Maximum = elementwise("Maximum", function(a, b) return a:maximum(b) end)
M.Minimum = elementwise("Minimum", function(a, b) return a:minimum(b) end)

return M
