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
    dnn.cuda._move_optimizer_(rawget(self, "optimizer"), name)
    rawset(self, "_device", name)
    return self
  end
end

-- An optimizer's slot variables (moments, accumulators) moved in place.
function dnn.cuda._move_optimizer_(opt, name)
  if type(opt) == "table" and type(opt._slots) == "table" then
    for _, s in pairs(opt._slots) do
      if type(s) == "userdata" then dnn.cuda._move_(s, name) end
    end
  end
end

-- Tensors (or plain tables of them) on device dev; tensors already there
-- and anything else pass through untouched.
function dnn.cuda._to_device(v, dev)
  if dnn.is_tensor(v) then return v.device == dev and v or v:to(dev) end
  if type(v) == "table" and getmetatable(v) == nil then
    local out = {}
    for k, x in pairs(v) do out[k] = dnn.cuda._to_device(x, dev) end
    return out
  end
  return v
end

local ok, help = pcall(require, "dnn.help")
if ok and type(help) == "table" and help.add then
  local S = "Devices (CUDA)"
  help.add("Tensor:cuda", "t:cuda(device=\"cuda:0\")",
    "A copy on a GPU (\"cuda\", \"cuda:N\" or N); a clear error where no GPU or no CUDA backend is there.", S)
  help.add("Tensor:cpu", "t:cpu()", "A copy on the CPU (t itself when it is there).", S)
  help.add("Tensor:to", "t:to(dtype | device | other | {dtype=, device=})",
    "Converted to a dtype, moved to a device (\"cpu\", \"cuda\", \"cuda:N\"), or to other's dtype and device.", S)
  help.add("Tensor.device", "t.device", "Where the data lives: \"cpu\" or \"cuda:N\".", S)
  help.add("dnn.cuda.is_available", "dnn.cuda.is_available()", "Whether a CUDA GPU can be used (built with CUDA and a device found).", S)
  help.add("dnn.cuda.device_count", "dnn.cuda.device_count()", "Number of CUDA devices (0 without a GPU or without the backend).", S)
  help.add("dnn.cuda.memory_stats", "dnn.cuda.memory_stats(device=0)",
    "The caching allocator's figures: allocated_bytes, reserved_bytes, cached_bytes, peaks, allocations, cache hits, cudaMalloc calls, OOMs, host<->device copies and bytes, device free/total.", S)
  help.add("dnn.cuda.empty_cache", "dnn.cuda.empty_cache()", "Gives the allocator's cached (free) GPU blocks back to the driver; a no-op without a GPU.", S)
  help.add("dnn.cuda.cudnn_version", "dnn.cuda.cudnn_version()",
    "cuDNN's version (91900 for 9.19.0) when the build has cuDNN (convolutions and pooling forwards then use it; DNN_CUDNN=0 turns that off, DNN_CUDNN_LOG=1 prints each choice), else nil.", S)
  help.add("dnn.cuda.synchronize", "dnn.cuda.synchronize(device=nil)", "Waits for all queued GPU work (every device when none is given).", S)
  help.add("dnn.cuda.reset_peak_memory_stats", "dnn.cuda.reset_peak_memory_stats(device=0)", "Restarts the peak figures of memory_stats from the current ones.", S)
  help.add("dnn.cuda.set_allow_tf32", "dnn.cuda.set_allow_tf32(on)", "TF32 tensor-core math for float32 matmul (off by default: float32 results match the CPU).", S)
  help.add("dnn.cuda.allow_tf32", "dnn.cuda.allow_tf32()", "Whether float32 matmul may use TF32.", S)
  help.add("dnn.cuda.kernels", "dnn.cuda.kernels()", "Names of the ops that have a CUDA kernel in this build.", S)
  help.add("dnn.set_default_device", "dnn.set_default_device(\"cpu\" | \"cuda\" | \"cuda:N\")",
    "Where dnn.tensor, zeros, ones, empty, full, arange, linspace, eye, rand, randn, randint and randperm put new tensors.", S)
  help.add("dnn.get_default_device", "dnn.get_default_device()", "The device set by dnn.set_default_device (\"cpu\" at first).", S)
  help.add("Layer:to", "layer:to(device)",
    "Moves the weights, buffers and (for a compiled model) the optimizer's slots to a device, in place; returns the layer.", S)
end

return dnn.cuda
