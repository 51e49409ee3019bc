-- dnn.optimizers: Keras's optimizers over fused C update kernels, learning
-- rate schedules (dnn.optimizers.schedules) and Keras's get/serialize.
--
--   local opt = dnn.optimizers.Adam{learning_rate=1e-3}          -- Keras
--   opt:apply_gradients(grads, vars)    -- or {{g1, v1}, {g2, v2}}
--   local opt = dnn.optimizers.SGD(params, {lr=0.1, momentum=0.9}) -- PyTorch
--   opt:zero_grad(); loss:backward(); opt:step()
--
-- Loading this module also sets dnn.optimizers.
local dnn = require "dnn"
local class = require "dnn.class"

local M = {}
M.Optimizer = require "dnn.optimizers.optimizer"
M.schedules = require "dnn.schedules"

local builtin = {
  SGD = "dnn.optimizers.sgd", RMSprop = "dnn.optimizers.rmsprop", Adam = "dnn.optimizers.adam",
  AdamW = "dnn.optimizers.adamw", Adadelta = "dnn.optimizers.adadelta",
  Adagrad = "dnn.optimizers.adagrad", Adamax = "dnn.optimizers.adamax",
  Nadam = "dnn.optimizers.nadam", Ftrl = "dnn.optimizers.ftrl", Lion = "dnn.optimizers.lion",
}

local by_lower = {} -- "adam" -> Adam (Keras looks names up in lower case)
for name, mod in pairs(builtin) do
  M[name] = require(mod)
  by_lower[name:lower()] = M[name]
end

-- Makes a custom optimizer class reachable by get/deserialize.
function M.register(name, cls)
  if type(name) ~= "string" or not class.is_subclass(cls, M.Optimizer) then
    error("optimizers.register(name, cls): cls must extend dnn.optimizers.Optimizer", 2)
  end
  by_lower[name:lower()] = cls
end

local function known_names()
  local names = {}
  for k in pairs(by_lower) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, ", ")
end

local function lookup(fname, name)
  local cls = by_lower[name:lower()]
  if not cls then
    error(("%s: unknown optimizer '%s' (known: %s)"):format(fname, name, known_names()), 3)
  end
  return cls
end

-- {class_name=, config=} (Keras's optimizers.serialize).
function M.serialize(opt)
  if not class.isinstance(opt, M.Optimizer) then
    error(("optimizers.serialize: expected an optimizer, got %s"):format(class.name(opt)), 2)
  end
  return { class_name = class.name(opt), config = opt:get_config() }
end

function M.deserialize(config)
  if type(config) ~= "table" or type(config.class_name) ~= "string" then
    error("optimizers.deserialize: expected {class_name=..., config={...}}", 2)
  end
  local cls = lookup("optimizers.deserialize", config.class_name)
  return cls.from_config(cls, config.config or {})
end

-- Keras's optimizers.get: a name ("adam", "Adam"), an optimizer (returned
-- as is), a class (made with its defaults) or a serialized config.
function M.get(identifier)
  if identifier == nil then return nil end
  if type(identifier) == "string" then return lookup("optimizers.get", identifier)() end
  if class.isinstance(identifier, M.Optimizer) then return identifier end
  if class.is_subclass(identifier, M.Optimizer) and identifier.kind then return identifier() end
  if type(identifier) == "table" and getmetatable(identifier) == nil and identifier.class_name then
    return M.deserialize(identifier)
  end
  error(("optimizers.get: Could not interpret optimizer identifier: %s (a name: %s; an optimizer; " ..
    "or {class_name=, config=})"):format(class.name(identifier), known_names()), 2)
end

-- The L2 norm of all the tensors in a list together (nil entries skipped).
function M.global_norm(tensors)
  if dnn.is_tensor(tensors) then tensors = { tensors } end
  return dnn.core._optim.global_norm(tensors)
end

dnn.optimizers = M
return M
