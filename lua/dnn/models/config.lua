-- Architectures as data: Keras's get_config / from_config for models, and
-- the JSON forms around them.
--
--   model:get_config()                       Keras 2.15's config table
--   dnn.Sequential.from_config(cfg [, custom_objects])
--   dnn.Model.from_config(cfg [, custom_objects])     functional (or a registered subclass)
--   model:to_json([{indent=}])               {"class_name", "config", "keras_version", "backend"}
--   dnn.models.model_from_json(text [, custom_objects])
--   dnn.models.model_from_config(cfg [, custom_objects])   cfg = {class_name=, config=}
--   dnn.models.clone_model(model)            same architecture, fresh weights
--
-- The layouts are tf.keras 2.15's (REFERENCE.md): a Sequential lists its
-- layers with an InputLayer first when the input shape is known; a
-- functional model lists every layer with its inbound_nodes
-- ([[["dense", 0, 0, {}]]]: layer name, node index, tensor index, kwargs)
-- plus input_layers and output_layers.  Keras 3's inbound_nodes
-- ({args = [{class_name = "__keras_tensor__", config = {keras_history}}]})
-- are read too.  Building from a config only looks names up in registries
-- (dnn.layers.register, custom_objects); nothing in a config is run as code.
local dnn = require "dnn"
local class = require "dnn.class"
local json = require "dnn.json"
local Layer = require "dnn.layers.Layer"
local S = require "dnn.layers.serialization"
local KT = require "dnn.models.KerasTensor"
local Model = require "dnn.models.Model"
local Sequential = require "dnn.models.Sequential"

local M = {}
local null = json.null

M.KERAS_VERSION = "2.15.0"
M.BACKEND = "dnnlua"

local function is_model(x) return class.isinstance(x, Model) end

-- The class_name a config writes for a layer or model.
local function class_name_of(layer)
  if class.of(layer) == Model or (is_model(layer) and layer._functional and class.of(layer) ~= Sequential
      and rawget(class.of(layer), "get_config") == nil) then
    return "Functional"
  end
  return S.registered_name(layer)
end

-- {module, class_name, config, registered_name[, build_config]} as Keras
-- writes a layer inside a model's config.
local function layer_entry(layer)
  local cfg = layer:get_config()
  if type(cfg) ~= "table" then
    error(("get_config of layer '%s' (%s) returned a %s, not a table"):format(layer.name, class.name(layer), type(cfg)), 0)
  end
  local e = { module = is_model(layer) and "keras.src.engine.functional" or "keras.layers",
    class_name = class_name_of(layer), config = cfg, registered_name = null }
  if class.of(layer) == Sequential then e.module = "keras.src.engine.sequential" end
  local shape = rawget(layer, "_build_input_shape")
  if type(shape) == "table" and not is_model(layer) and class.name(layer) ~= "InputLayer" then
    -- the shape seen at build, its batch dim written as null
    local function batch(s)
      local b = { null }
      for i = 2, (s.n or #s) do b[i] = s[i] == nil and null or s[i] end
      return b
    end
    if type(shape[1]) == "table" then -- a layer called on a list (Add, Concatenate)
      local list = {}
      for i, s in ipairs(shape) do list[i] = batch(s) end
      e.build_config = { input_shape = list }
    else
      e.build_config = { input_shape = batch(shape) }
    end
  end
  return e
end

local function input_layer_entry(kt)
  return { module = "keras.layers", class_name = "InputLayer", config = kt.input_layer:get_config(),
    registered_name = null }
end

-- ---------------------------------------------------------------- get_config

function Sequential:get_config()
  local layers = {}
  if self._input_kt then layers[1] = input_layer_entry(self._input_kt) end
  for _, l in ipairs(self._layers) do layers[#layers + 1] = layer_entry(l) end
  return { name = self.name, layers = json.array(layers) }
end

-- The functional graph: every layer with the nodes that call it.
local function functional_config(self)
  -- node index of each node within its layer, in call order
  local node_index, layer_nodes = {}, {}
  for _, node in ipairs(self._nodes) do
    local list = layer_nodes[node.layer] or {}
    layer_nodes[node.layer] = list
    list[#list + 1] = node
    node_index[node] = #list - 1
  end
  local function history(kt)
    if kt.input_layer then return { kt.input_layer.name, 0, 0 } end
    return { kt.node.layer.name, node_index[kt.node], kt.index - 1 }
  end
  local layers = {}
  for _, l in ipairs(self._layers) do
    if class.name(l) == "InputLayer" and l.output_kt then
      local e = input_layer_entry(l.output_kt)
      e.name, e.inbound_nodes = l.name, json.array({})
      layers[#layers + 1] = e
    else
      local e = layer_entry(l)
      e.name = l.name
      local nodes = {}
      for _, node in ipairs(layer_nodes[l] or {}) do
        local ins = {}
        local list = KT.is(node.inputs) and { node.inputs } or node.inputs
        for _, kt in ipairs(list) do
          local h = history(kt)
          h[4] = {}
          ins[#ins + 1] = h
        end
        nodes[#nodes + 1] = ins
      end
      e.inbound_nodes = json.array(nodes)
      layers[#layers + 1] = e
    end
  end
  local inputs, outputs = {}, {}
  for i, kt in ipairs(self._inputs) do inputs[i] = history(kt) end
  for i, kt in ipairs(self._outputs) do outputs[i] = history(kt) end
  return { name = self.name, trainable = self.trainable, layers = json.array(layers),
    input_layers = json.array(inputs), output_layers = json.array(outputs) }
end

function Model:get_config()
  if self._functional and self._nodes then return functional_config(self) end
  error(("get_config: %s is a subclassed model; define %s:get_config() returning the arguments its init takes "
    .. "(and register the class with dnn.layers.register) to save its architecture, or save its weights "
    .. "with save_weights"):format(self.name, class.name(self)), 2)
end

function Model:to_json(opts)
  local ok, cfg = pcall(self.get_config, self)
  if not ok then error(tostring(cfg):gsub("^get_config:", "to_json:"), 2) end
  local doc = { class_name = class_name_of(self), config = cfg, keras_version = M.KERAS_VERSION, backend = M.BACKEND }
  local ok2, text = pcall(json.encode, doc, opts)
  if not ok2 then error("to_json: " .. tostring(text), 2) end
  return text
end

-- ---------------------------------------------------------------- from_config

-- custom_objects given as a map or inside an options table.
local function custom_objects_of(who, x)
  if x == nil then return {} end
  if type(x) ~= "table" then error(("%s: custom_objects must be a table {Name = class}, got %s"):format(who, type(x)), 0) end
  if type(x.custom_objects) == "table" then return x.custom_objects end
  return x
end

local function describe(v) return S.describe(v) end

-- The class named by an entry's class_name.
local function class_for(name, custom, where)
  if type(name) ~= "string" then
    error(("%s: 'class_name' must be a string, got %s"):format(where, describe(name)), 0)
  end
  if custom[name] then return custom[name] end
  if name == "Functional" or name == "Model" then return Model end
  local ok, cls = pcall(dnn.layers.get, name)
  if not ok then
    error(("%s: unknown layer class '%s' (register custom layers with dnn.layers.register, or pass them in "
      .. "custom_objects)"):format(where, name), 0)
  end
  return cls
end

local function layer_from_entry(e, custom, where)
  if type(e) ~= "table" then error(("%s: a layer entry must be a table {class_name=, config=}, got %s"):format(where, describe(e)), 0) end
  local cls = class_for(e.class_name, custom, where)
  local cfg = e.config
  if type(cfg) ~= "table" then
    error(("%s (%s): 'config' must be a table, got %s"):format(where, e.class_name, describe(cfg)), 0)
  end
  if class.is_subclass(cls, Model) then
    local ok, m = pcall(cls.from_config, cls, cfg, custom)
    if not ok then error(("%s (%s): %s"):format(where, e.class_name, tostring(m)), 0) end
    return m
  end
  if type(cls.from_config) ~= "function" then
    error(("%s: %s has no from_config"):format(where, e.class_name), 0)
  end
  local ok, layer = pcall(cls.from_config, cls, cfg, custom)
  if not ok then error(("%s: %s"):format(where, tostring(layer)), 0) end
  return layer
end

local function input_from_entry(e, where)
  local c = e.config
  if type(c) ~= "table" then error(("%s (InputLayer): 'config' must be a table"):format(where), 0) end
  local b = c.batch_input_shape or c.batch_shape
  if b == nil or b == null then error(("%s (InputLayer): the config has no batch_input_shape"):format(where), 0) end
  local shape = S.shape_from_batch(b, where .. " (InputLayer)", "batch_input_shape")
  if shape == nil then
    error(("%s (InputLayer): every size past the batch dim must be known, got %s"):format(where, json.encode(b)), 0)
  end
  local dtype = c.dtype
  if type(dtype) == "table" then dtype = type(dtype.config) == "table" and dtype.config.name or nil end
  if dtype == null then dtype = nil end
  local name = c.name
  if name == null then name = nil end
  return KT.Input { shape = shape, name = name, dtype = dtype }
end

-- Builds a layer that has no input to trace from its build_config, so its
-- weights exist for load_weights (Keras's build_from_config).
local function build_from_entry(layer, e)
  if layer.built or type(e.build_config) ~= "table" then return end
  local b = e.build_config.input_shape
  if type(b) ~= "table" then return end
  local shape = S.shape_from_batch(b, layer.name, "build_config.input_shape")
  if not shape then return end
  local full = { 1 }
  for i, d in ipairs(shape) do full[i + 1] = d end
  dnn.no_grad(function() layer(dnn.zeros(full)) end)
end

local function check_cfg(who, cfg)
  if type(cfg) ~= "table" or dnn.is_tensor(cfg) or class.of(cfg) then
    error(("%s: the config must be a table (a model's get_config()), got %s"):format(who, describe(cfg)), 0)
  end
  -- the whole {class_name, config} form is accepted too
  if type(cfg.class_name) == "string" and type(cfg.config) == "table" then return cfg.config end
  return cfg
end

function Sequential._from_config(cls, cfg, custom)
  local who = "Sequential.from_config"
  custom = custom_objects_of(who, custom)
  cfg = check_cfg(who, cfg)
  local entries = cfg.layers
  if entries == nil and #cfg > 0 then entries = cfg end -- the legacy form: a list of layer configs
  if type(entries) ~= "table" then error(("%s: the config has no 'layers' list"):format(who), 0) end
  local name = cfg.name ~= null and cfg.name or nil
  local model = cls { name = name }
  for i, e in ipairs(entries) do
    local where = ("%s: layers[%d]"):format(who, i)
    if type(e) == "table" and e.class_name == "InputLayer" then
      if i ~= 1 then error(("%s: an InputLayer may only come first"):format(where), 0) end
      model:add(input_from_entry(e, where))
    else
      local layer = layer_from_entry(e, custom, where)
      if i == 1 and type(e) == "table" and type(e.build_config) == "table" and not layer.input_shape_arg then
        build_from_entry(layer, e)
      end
      model:add(layer)
      if not model.built then build_from_entry(layer, e) end
    end
  end
  return model
end

-- The tensors a node entry reads: [[name, node, tensor, kwargs], ...] (Keras 2)
-- or {args=[...], kwargs={}} with __keras_tensor__ histories (Keras 3).
local function node_histories(node, where)
  local out = {}
  local function k3(v)
    if type(v) ~= "table" then return end
    if v.class_name == "__keras_tensor__" and type(v.config) == "table" then
      out[#out + 1] = v.config.keras_history
      return
    end
    for _, x in ipairs(v) do k3(x) end
  end
  if type(node) ~= "table" then error(("%s: an inbound node must be a list, got %s"):format(where, describe(node)), 0) end
  if node.args ~= nil then
    k3(node.args)
  else
    for _, h in ipairs(node) do out[#out + 1] = h end
  end
  for i, h in ipairs(out) do
    if type(h) ~= "table" or type(h[1]) ~= "string" or math.type(h[2]) ~= "integer" or math.type(h[3]) ~= "integer" then
      error(("%s: inbound tensor %d must be [layer_name, node_index, tensor_index], got %s"):format(where, i,
        type(h) == "table" and (pcall(json.encode, h) and json.encode(h) or "a table") or describe(h)), 0)
    end
  end
  return out
end

local function functional_from_config(cls, cfg, custom, who)
  local entries = cfg.layers
  if type(entries) ~= "table" then error(("%s: the config has no 'layers' list"):format(who), 0) end
  for _, k in ipairs({ "input_layers", "output_layers" }) do
    if type(cfg[k]) ~= "table" then error(("%s: the config has no '%s' list"):format(who, k), 0) end
  end
  local by_name, order = {}, {}
  -- outputs[name][node_index + 1] = the tensors that node produced
  local produced = {}
  for i, e in ipairs(entries) do
    local where = ("%s: layers[%d]"):format(who, i)
    if type(e) ~= "table" then error(("%s: must be a table, got %s"):format(where, describe(e)), 0) end
    local name = e.name
    if name == nil and type(e.config) == "table" then name = e.config.name end
    if type(name) ~= "string" then error(("%s: the entry has no name"):format(where), 0) end
    if by_name[name] then error(("%s: two layers are named '%s'"):format(where, name), 0) end
    if e.class_name == "InputLayer" then
      local kt = input_from_entry(e, where)
      by_name[name] = kt.input_layer
      produced[name] = { { kt } }
    else
      by_name[name] = layer_from_entry(e, custom, where)
      produced[name] = {}
      local nodes = e.inbound_nodes
      if nodes ~= nil and nodes ~= null and type(nodes) ~= "table" then
        error(("%s: 'inbound_nodes' must be a list"):format(where), 0)
      end
      for j, node in ipairs(nodes ~= null and nodes or {}) do
        order[#order + 1] = { name = name, index = j, node = node, where = ("%s.inbound_nodes[%d]"):format(where, j) }
      end
    end
  end
  local function tensor_of(h, where)
    local list = produced[h[1]]
    if list == nil then error(("%s: no layer named '%s' in the config"):format(where, h[1]), 0) end
    local outs = list[h[2] + 1]
    if outs == nil then return nil end
    local t = outs[h[3] + 1]
    if t == nil then
      error(("%s: layer '%s' node %d has no output %d"):format(where, h[1], h[2], h[3]), 0)
    end
    return t
  end
  -- Process nodes whose inputs exist until none is left (shared layers can
  -- be called again after layers listed later).
  local pending = order
  while #pending > 0 do
    local left = {}
    for _, p in ipairs(pending) do
      local hs = node_histories(p.node, p.where)
      local ins, ready = {}, true
      for i, h in ipairs(hs) do
        ins[i] = tensor_of(h, p.where)
        if ins[i] == nil then ready = false break end
      end
      -- node p.index may only run after the layer's earlier nodes
      if ready and #produced[p.name] ~= p.index - 1 then ready = false end
      if ready then
        local layer = by_name[p.name]
        local arg = #ins == 1 and ins[1] or ins
        local ok, out = pcall(function() return layer(arg) end)
        if not ok then error(("%s (layer '%s'): %s"):format(p.where, p.name, tostring(out)), 0) end
        produced[p.name][p.index] = KT.is(out) and { out } or out
      else
        left[#left + 1] = p
      end
    end
    if #left == #pending then
      error(("%s: the graph cannot be rebuilt: layer '%s' waits on tensors nothing produces"):format(who, left[1].name), 0)
    end
    pending = left
  end
  local function resolve(list, key)
    local out = {}
    for i, h in ipairs(list) do
      local where = ("%s: %s[%d]"):format(who, key, i)
      if type(h) ~= "table" or type(h[1]) ~= "string" then
        error(("%s: must be [layer_name, node_index, tensor_index]"):format(where), 0)
      end
      local t = tensor_of({ h[1], h[2] or 0, h[3] or 0 }, where)
      if t == nil then error(("%s: layer '%s' has no node %d"):format(where, h[1], h[2] or 0), 0) end
      out[i] = t
    end
    return out
  end
  local ins = resolve(cfg.input_layers, "input_layers")
  local outs = resolve(cfg.output_layers, "output_layers")
  local name = cfg.name ~= null and cfg.name or nil
  local trainable = cfg.trainable ~= null and cfg.trainable or nil
  return cls { inputs = #ins == 1 and ins[1] or ins, outputs = #outs == 1 and outs[1] or outs, name = name,
    trainable = trainable }
end

function Model._from_config(cls, cfg, custom)
  local who = (rawget(cls, "__name") or "Model") .. ".from_config"
  custom = custom_objects_of(who, custom)
  cfg = check_cfg(who, cfg)
  if cfg.layers ~= nil and cfg.input_layers ~= nil then return functional_from_config(cls, cfg, custom, who) end
  if cls == Model then
    error(("%s: the config is not a functional model's (it has no layers/input_layers/output_layers)"):format(who), 0)
  end
  -- a registered subclass: Keras's default from_config is cls(**config)
  local ok, m = pcall(cls, S.strip_nulls(cfg))
  if not ok then error(("%s: %s"):format(who, tostring(m)), 0) end
  return m
end

-- ---------------------------------------------------------------- module functions

function M.model_from_config(cfg, custom)
  local who = "model_from_config"
  custom = custom_objects_of(who, custom)
  if type(cfg) ~= "table" or type(cfg.class_name) ~= "string" or type(cfg.config) ~= "table" then
    error(("%s: expected {class_name=, config=} (what to_json writes), got %s"):format(who, describe(cfg)), 2)
  end
  local cls = class_for(cfg.class_name, custom, who)
  if not class.is_subclass(cls, Layer) then
    error(("%s: '%s' is not a layer or model class"):format(who, cfg.class_name), 2)
  end
  local ok, m = pcall(cls.from_config, cls, cfg.config, custom)
  if not ok then error(tostring(m), 2) end
  return m
end

function M.model_from_json(text, custom)
  if type(text) ~= "string" then error(("model_from_json: expected a JSON string, got %s"):format(describe(text)), 2) end
  local ok, cfg = pcall(json.decode, text)
  if not ok then error("model_from_json: " .. tostring(cfg), 2) end
  local ok2, m = pcall(M.model_from_config, cfg, custom)
  if not ok2 then error(tostring(m):gsub("^model_from_config:", "model_from_json:"), 2) end
  return m
end

-- A new model with the same architecture and freshly initialised weights.
function M.clone_model(model, custom)
  if not is_model(model) then error(("clone_model: expected a model, got %s"):format(describe(model)), 2) end
  local cfg = { class_name = class_name_of(model), config = model:get_config() }
  return M.model_from_config(json.decode(json.encode(cfg)), custom)
end

local models = dnn.models
models.model_from_config = M.model_from_config
models.model_from_json = M.model_from_json
models.clone_model = M.clone_model
models.config = M

return M
