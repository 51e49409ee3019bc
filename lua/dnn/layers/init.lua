-- dnn.layers: Keras's layers, one class per file, plus the registry that
-- model loading uses to find classes by name (custom layers register too).
local dnn = require "dnn"
local class = require "dnn.class"

local layers = {}
dnn.layers = layers

local Layer = require "dnn.layers.Layer"
layers.Layer = Layer

local registry = {}

-- register("MyLayer", MyLayer): makes a custom layer loadable by name.
function layers.register(name, cls)
  if type(name) ~= "string" then error("register: the name must be a string", 2) end
  if not class.is_subclass(cls, Layer) then
    error(("register: %s is not a subclass of dnn.layers.Layer"):format(name), 2)
  end
  registry[name] = cls
  layers[name] = layers[name] or cls
  return cls
end

-- The class registered under a Keras class name.
function layers.get(name)
  local cls = registry[name]
  if not cls then
    local names = {}
    for k in pairs(registry) do names[#names + 1] = k end
    table.sort(names)
    error(("layers.get: unknown layer class '%s' (known: %s; custom layers need dnn.layers.register)")
      :format(tostring(name), table.concat(names, ", ")), 2)
  end
  return cls
end

layers.reset_names = Layer.reset_names

for _, file in ipairs({ "Dense", "Activation", "ReLU", "LeakyReLU", "Softmax", "Dropout", "Flatten", "Reshape",
  "Lambda", "Conv2D", "BatchNormalization", "LayerNormalization", "Embedding", "InputLayer" }) do
  layers.register(file == "BatchNormalization" and "BatchNormalization" or file, require("dnn.layers." .. file))
end
for name, cls in pairs(require "dnn.layers.Pooling2D") do layers.register(name, cls) end
for name, cls in pairs(require "dnn.layers.Merge") do layers.register(name, cls) end
layers.Concat = layers.Concatenate
-- the eager stand-in for Keras's Input layer (the functional API's dnn.Input
-- makes symbolic inputs)
layers.Input = layers.InputLayer

return layers
