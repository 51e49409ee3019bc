-- Lambda{function}: wraps a Lua function of the input as a layer.
--
-- Configs: the function is Lua code, and configs never hold code (loading
-- never runs anything from a file).  get_config writes a marker instead,
-- {"function": <key>, "function_type": "lua", ...}, where the key is
-- layer.function_name if set, else the layer's name; from_config refuses it
-- unless custom_objects maps that key to the function:
--   dnn.models.model_from_json(s, {custom_objects={double=function(x) return x * 2 end}})
-- Keras's own Lambda configs (Python bytecode or a named Python function)
-- load the same way, by the function's name or the layer's name.
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

function Lambda:get_config()
  local S = require "dnn.layers.serialization"
  local json = require "dnn.json"
  local c = Layer.get_config(self)
  c["function"] = self.function_name or self.name
  c.function_type, c.module = "lua", S.null
  c.output_shape, c.output_shape_type, c.output_shape_module = S.null, "raw", S.null
  c.arguments = self.arguments and S.copy(self.arguments) or {}
  local ok, err = pcall(json.encode, c.arguments)
  if not ok then
    error(("%s: Lambda arguments cannot be written to a config: %s"):format(self.name, err), 2)
  end
  return c
end

local function function_key(c)
  if c.function_type ~= "lambda" and type(c["function"]) == "string" then return c["function"] end
  return c.name
end

function Lambda._config_to_args(c, who, custom_objects)
  local key = function_key(c)
  local fn = custom_objects and key and custom_objects[key]
  if fn == nil and custom_objects and type(c.name) == "string" then fn = custom_objects[c.name] end
  local mt = type(fn) == "table" and getmetatable(fn)
  if type(fn) ~= "function" and not (mt and mt.__call) then
    error(("%s: a Lambda layer's function is code, which configs never hold and loading never runs "
      .. "(function_type %s); pass the function in custom_objects under '%s', e.g. "
      .. "model_from_json(s, {custom_objects={[\"%s\"]=function(x) ... end}})")
      :format(who, tostring(c.function_type), tostring(key), tostring(key)), 0)
  end
  c["function"] = fn
  for _, k in ipairs({ "function_type", "module", "output_shape", "output_shape_type", "output_shape_module",
    "mask", "mask_type", "mask_module" }) do
    c[k] = nil
  end
  if type(c.arguments) == "table" and next(c.arguments) == nil then c.arguments = nil end
end

function Lambda._config_after(layer, _, cfg)
  local key = function_key(cfg)
  if key ~= layer.name then layer.function_name = key end
end

return Lambda
