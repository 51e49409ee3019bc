-- Symbolic tensors of the functional API.  dnn.Input{shape={784}} makes one;
-- calling a layer on symbolic inputs records a node (layer, inputs, call
-- options) and returns symbolic outputs.  Shapes are found by running the
-- layer once on zeros with a batch of one (which also builds it), so every
-- layer works without a separate shape-inference rule.
local dnn = require "dnn"
local class = require "dnn.class"
local Layer = require "dnn.layers.Layer"

local KT = class.Object:extend("KerasTensor")

-- shape: the full shape with nil (printed None) for the batch dim.
function KT:init(shape, dtype, node, index, name)
  self.shape, self.dtype, self.node, self.index, self.name = shape, dtype or "float32", node, index or 1, name
end

local function shape_str(shape)
  local parts = {}
  for i = 1, #shape do parts[i] = shape[i] == nil and "None" or tostring(shape[i]) end
  if shape.n then
    for i = #parts + 1, shape.n do parts[i] = shape[i] == nil and "None" or tostring(shape[i]) end
  end
  return "(" .. table.concat(parts, ", ") .. (#parts == 1 and "," or "") .. ")"
end
KT.shape_str = shape_str

function KT:__tostring()
  return ("<KerasTensor shape=%s dtype=%s%s>"):format(shape_str(self.shape), self.dtype,
    self.node and (" from " .. self.node.layer.name) or "")
end

local function is_kt(x) return class.isinstance(x, KT) end
KT.is = is_kt

-- A shape table {nil, d2, ...} (batch unknown) with n = its rank.
local function symbolic_shape(concrete)
  local s = { n = #concrete }
  for i = 2, #concrete do s[i] = concrete[i] end
  return s
end
KT.symbolic_shape = symbolic_shape

-- Zeros standing in for a symbolic tensor (batch of one).
local function example_of(kt)
  local shape = { 1 }
  for i = 2, kt.shape.n do shape[i] = kt.shape[i] end
  if kt.dtype == "int64" or kt.dtype == "int32" or kt.dtype == "uint8" then
    return dnn.zeros(shape, { dtype = kt.dtype })
  end
  return dnn.zeros(shape, { dtype = kt.dtype })
end

-- Maps a structure of symbolic tensors (one, or a list) through fn.
local function map(x, fn)
  if is_kt(x) then return fn(x) end
  if type(x) == "table" and not dnn.is_tensor(x) then
    local out = {}
    for i, v in ipairs(x) do out[i] = map(v, fn) end
    return out
  end
  return x
end
KT.map = map

local function any_symbolic(x)
  if is_kt(x) then return true end
  if type(x) == "table" and not dnn.is_tensor(x) then
    for _, v in ipairs(x) do
      if is_kt(v) then return true end
    end
  end
  return false
end

-- The functional-API hook of Layer.__call: returns true, outputs when x is symbolic.
local function call_hook(layer, x, opts, ...)
  if not any_symbolic(x) then return false end
  local node = { layer = layer, inputs = x, opts = opts or {}, extra = table.pack(...) }
  local example = map(x, example_of)
  local extra = node.extra
  local out = dnn.no_grad(function()
    -- run the layer's own __call (build + call) on examples, bypassing this hook
    local hook = dnn.layers._call_hook
    dnn.layers._call_hook = nil
    local ok, r = pcall(layer.__call, layer, example, opts, table.unpack(extra, 1, extra.n))
    dnn.layers._call_hook = hook
    if not ok then error(r, 0) end
    return r
  end)
  local function wrap(t, i)
    if not dnn.is_tensor(t) then
      error(("%s: returned a %s; layers in a functional model must return tensors"):format(layer.name, type(t)), 0)
    end
    return KT(symbolic_shape(t:size()), t.dtype, node, i)
  end
  local outputs
  if dnn.is_tensor(out) then
    outputs = wrap(out, 1)
  else
    outputs = {}
    for i, t in ipairs(out) do outputs[i] = wrap(t, i) end
  end
  node.outputs = outputs
  return true, outputs
end

dnn.layers._call_hook = call_hook

-- dnn.Input{shape={784}, name=, dtype="float32", batch_size=}
local InputLayer = require "dnn.layers.InputLayer"
function KT.Input(...)
  local a = class.kwargs("Input", { "shape" }, { "name", "dtype", "batch_size", "batch_shape", "sparse", "tensor" }, ...)
  local shape = a.shape
  if a.batch_shape then
    shape = {}
    for i = 2, #a.batch_shape do shape[#shape + 1] = a.batch_shape[i] end
  end
  if type(shape) ~= "table" then
    error("Input: shape must be a table of sizes without the batch dim, e.g. dnn.Input{shape={784}}", 2)
  end
  for i, d in ipairs(shape) do
    if math.type(d) ~= "integer" or d < 0 then
      error(("Input: size %d of the shape must be a non-negative integer, got %s"):format(i, tostring(d)), 2)
    end
  end
  local full = { n = #shape + 1 }
  for i, d in ipairs(shape) do full[i + 1] = d end
  -- Keras 2 numbers inputs from 1: input_1, input_2, ...
  local name = a.name
  if not name then
    KT.input_count = (KT.input_count or 0) + 1
    name = "input_" .. KT.input_count
  end
  local layer = InputLayer { name = name, input_shape = shape, dtype = a.dtype }
  layer.built = true
  local kt = KT(full, a.dtype or "float32", nil, 1, layer.name)
  kt.input_layer = layer
  layer.output_kt = kt
  return kt
end

return KT
