-- dnn.Sequential{layer1, layer2, ...}: layers called in turn.  With an input
-- shape known (input_shape= on the first layer, or an Input/InputLayer first)
-- it builds at once, through the functional machinery, so summary() has every
-- output shape before any data is seen.
local dnn = require "dnn"
local class = require "dnn.class"
local Layer = require "dnn.layers.Layer"
local Model = require "dnn.models.Model"
local KT = require "dnn.models.KerasTensor"

local Sequential = Model:extend("Sequential")

-- Sequential{l1, l2, name=} (the array part is the layer list, as the
-- contract says for list parameters), Sequential({l1, l2}, {name=}),
-- Sequential{layers={l1, l2}, name=}, or Sequential() then :add().
local function parse(...)
  local n = select("#", ...)
  local first, second = ...
  local opts, list = {}, nil
  if n == 1 and type(first) == "table" and getmetatable(first) == nil then
    opts = first
    list = first.layers or { table.unpack(first) }
  elseif n >= 1 then
    list = first
    if type(second) == "table" then opts = second end
  end
  for k in pairs(opts) do
    if type(k) == "string" and k ~= "layers" and k ~= "name" and k ~= "trainable" then
      error(("Sequential: unknown argument '%s' (arguments: layers, name, trainable)"):format(k), 3)
    end
  end
  return { layers = list, name = opts.name, trainable = opts.trainable }
end

function Sequential:init(...)
  local a = parse(...)
  local list = a.layers
  if list == nil then
    list = {}
  elseif class.isinstance(list, Layer) then
    list = { list }
  end
  Model.init(self, { name = a.name or Layer.unique_name("sequential"), trainable = a.trainable })
  self._layers = {}
  self.output_names = nil
  for _, l in ipairs(list) do self:add(l) end
end

function Sequential:add(layer)
  if KT.is(layer) then -- Sequential{dnn.Input{shape=}, ...}
    self._input_kt = layer
    self:_rebuild()
    return
  end
  if not class.isinstance(layer, Layer) then
    error(("Sequential.add: expected a layer, got %s"):format(class.name(layer)), 2)
  end
  if class.name(layer) == "InputLayer" and layer.input_shape_arg then
    self._input_kt = KT.Input { shape = layer.input_shape_arg, name = layer.name }
    self:_rebuild()
    return
  end
  for _, l in ipairs(self._layers) do
    if l == layer then error(("Sequential.add: layer %s is already in the model"):format(layer.name), 2) end
  end
  self._layers[#self._layers + 1] = layer
  if #self._layers == 1 and layer.input_shape_arg and not self._input_kt then
    -- Keras names this input after the first layer ("dense_input")
    self._input_kt = KT.Input { shape = layer.input_shape_arg, name = layer.name .. "_input" }
  end
  self:_rebuild()
end

function Sequential:pop()
  if #self._layers == 0 then error("Sequential.pop: the model has no layers", 2) end
  table.remove(self._layers)
  self:_rebuild()
end

-- With a known input shape, trace the layers symbolically (builds them and
-- records output shapes); otherwise they build on the first real call.
function Sequential:_rebuild()
  self._functional, self._nodes = false, nil
  if not self._input_kt or #self._layers == 0 then return end
  local x = self._input_kt
  local ok, err = pcall(function()
    for _, l in ipairs(self._layers) do x = l(x) end
  end)
  if not ok then error(err, 0) end
  self._symbolic_output = x
  self.built = true
end

class.getter(Sequential, "output_names", function(self)
  local last = self._layers[#self._layers]
  return { last and last.name or "output_1" }
end)

function Sequential:call(x, opts)
  for _, l in ipairs(self._layers) do x = l(x, opts) end
  return x
end

-- Output shape of each layer (for summary): from the symbolic trace.
function Sequential:_layer_output_shapes()
  local shapes = {}
  if not self._input_kt then return shapes end
  local x = self._input_kt
  for _, l in ipairs(self._layers) do
    local node_out
    -- find the node this layer recorded for our trace
    x = dnn.no_grad(function() return l(x) end)
    node_out = x
    shapes[l] = KT.is(node_out) and node_out.shape or nil
  end
  return shapes
end

return Sequential
