-- Device helpers of the Lua side: dnn.set_default_device / get_default_device.
--
-- The C side (src/lua/lcuda.c) gives dnn.cuda.* and t:cuda() / t:cpu() /
-- t:to(device).  A default device other than the CPU makes the factory
-- functions (dnn.tensor, zeros, ones, empty, full, arange, linspace, eye,
-- rand, randn, randint, randperm) return tensors on that device: they build on
-- the CPU and move the result (random draws are counter-based, so the values
-- are those a GPU draw would give).  Code that kept its own reference to a
-- factory (local zeros = dnn.zeros) before the call is not affected.
local dnn = require "dnn"

local FACTORIES = { "tensor", "zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn",
                    "randint", "randperm" }

local originals = {}
for _, name in ipairs(FACTORIES) do originals[name] = dnn[name] end

local default = "cpu"

local function on_default(name)
  local make = originals[name]
  return function(...)
    local t = make(...)
    if default ~= "cpu" then t = t:to(default) end
    return t
  end
end

-- dnn.set_default_device("cuda" | "cuda:N" | "cpu")
function dnn.set_default_device(device)
  local ok, name = pcall(dnn.cuda._parse_device, device)
  if not ok then error("set_default_device: " .. tostring(name):gsub("^device: ", ""), 2) end
  if name ~= "cpu" then
    if not dnn.cuda.built then
      error(("set_default_device: device '%s' is not available: this build has no CUDA backend"):format(name), 2)
    end
    local index = tonumber(name:match("^cuda:(%d+)$"))
    if index >= dnn.cuda.device_count() then
      error(("set_default_device: device '%s' is not available (%d CUDA devices found)"):format(name,
        dnn.cuda.device_count()), 2)
    end
  end
  default = name
  for _, n in ipairs(FACTORIES) do
    dnn[n] = name == "cpu" and originals[n] or on_default(n)
  end
end

function dnn.get_default_device() return default end

-- layer:to(device) / model:to("cuda"): moves the weights (trainable or not:
-- parameters and buffers such as BatchNormalization's moving statistics) and
-- a compiled model's optimizer slots, in place, so every reference to them
-- (the optimizer, callbacks, checkpoints) follows.  Returns the layer.
local Layer = dnn.layers and dnn.layers.Layer
if Layer and rawget(Layer, "to") == nil then
  function Layer:to(device)
    local ok, name = pcall(dnn.cuda._parse_device, device)
    if not ok then error("to: " .. tostring(name):gsub("^device: ", ""), 2) end
    for _, w in ipairs(self.weights) do dnn.cuda._move_(w, name) end
    local opt = rawget(self, "optimizer")
    if type(opt) == "table" and type(opt._slots) == "table" then
      for _, s in pairs(opt._slots) do
        if type(s) == "userdata" then dnn.cuda._move_(s, name) end
      end
    end
    rawset(self, "_device", name)
    return self
  end
end

return dnn.cuda
