-- Lambda{function}: wraps a Lua function of the input as a layer.  (Its code
-- is not saved in model files: loading needs the function again.)
local Layer = require "dnn.layers.Layer"

local Lambda = Layer:extend("Lambda")

function Lambda:init(...)
  local a = Layer.parse_args(Lambda, { "function" }, { "output_shape", "arguments" }, ...)
  Layer.init(self, a)
  if type(a["function"]) ~= "function" then
    error(("Lambda: expected a function, got %s"):format(type(a["function"])), 3)
  end
  self.fn, self.arguments = a["function"], a.arguments
end

function Lambda:call(x, opts)
  if self.arguments then return self.fn(x, self.arguments) end
  return self.fn(x)
end

return Lambda
