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

local function is_registered(cls, name)
  local ok, c = pcall(dnn.layers.get, name)
  return ok and c == cls
end

-- The class_name a config writes for a layer or model: a functional model
-- is "Functional" (as tf.keras writes it), unless it is of a registered
-- Model subclass, which is written (and rebuilt) under its registered name.
local function class_name_of(layer)
  local cls = class.of(layer)
  if cls == Model then return "Functional" end
  if is_model(layer) and layer._functional and not class.isinstance(layer, Sequential)
      and rawget(cls, "get_config") == nil then
    local name = S.registered_name(layer)
    return is_registered(cls, name) and name or "Functional"
  end
  return S.registered_name(layer)
end

-- Keras numbers a nested model's calls from 1: a functional model (or a
-- Sequential with a known input) starts with its own node linking its
-- inputs to its outputs, which configs skip (tf.keras 2.15 functional.py
-- _should_skip_first_node; Keras 3 does the same for Functional models).
local function skips_first_node(layer, keras3)
  if not is_model(layer) then return false end
  if class.isinstance(layer, Sequential) then return not keras3 and rawget(layer, "_input_kt") ~= nil end
  return rawget(layer, "_functional") == true and rawget(layer, "_inputs") ~= nil
end

-- The input shapes a model was built for, as build_config writes them.
local function model_build_shape(m)
  local kts = class.isinstance(m, Sequential) and { rawget(m, "_input_kt") } or rawget(m, "_inputs")
  if type(kts) ~= "table" or #kts == 0 then return nil end
  local list = {}
  for i, kt in ipairs(kts) do
    local b = { null }
    local shape = kt.shape
    for d = 2, shape.n or #shape do b[d] = shape[d] == nil and null or shape[d] end
    list[i] = b
  end
  return #list == 1 and list[1] or list
end

-- module and registered_name as tf.keras 2.15's serialize_keras_object
-- writes them: public classes by their keras.* path, Functional (not
-- exported) by its Python module and own name, custom classes by their
-- registered name.
local KERAS_LAYERS = {}
for _, n in ipairs({ "Dense", "Activation", "ReLU", "LeakyReLU", "Softmax", "Dropout", "Flatten", "Reshape", "Lambda",
  "Conv2D", "BatchNormalization", "LayerNormalization", "Embedding", "InputLayer", "MaxPooling2D", "AveragePooling2D",
  "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Concatenate", "Add", "Multiply", "Subtract", "Average", "Maximum",
  "Minimum" }) do
  KERAS_LAYERS[n] = true
end

local function module_of(layer, cname)
  local cls = class.of(layer)
  if cls == Sequential or (cls == Model and cname ~= "Functional") then return "keras", null end
  if cname == "Functional" then return "keras.src.engine.functional", "Functional" end
  local ok, registered = pcall(dnn.layers.get, cname)
  if KERAS_LAYERS[cname] and ok and registered == cls then return "keras.layers", null end
  return "dnnlua", cname
end

-- {module, class_name, config, registered_name[, build_config]} as Keras
-- writes a layer inside a model's config.
local function layer_entry(layer)
  local cfg = layer:get_config()
  if type(cfg) ~= "table" then
    error(("get_config of layer '%s' (%s) returned a %s, not a table"):format(layer.name, class.name(layer), type(cfg)), 0)
  end
  local cname = class_name_of(layer)
  local module, registered = module_of(layer, cname)
  local e = { module = module, class_name = cname, config = cfg, registered_name = registered }
  if is_model(layer) then
    local b = model_build_shape(layer)
    if b then e.build_config = { input_shape = b } end
    return e
  end
  local shape = rawget(layer, "_build_input_shape")
  if type(shape) == "table" and class.name(layer) ~= "InputLayer" then
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

-- The keyword arguments of a call, as Keras writes them beside each input
-- ({} for a plain call; {"training": false} for layer(x, {training=false})).
local CALL_KWARGS = { training = true }
local function call_kwargs(node, layer)
  local kw = {}
  for k, v in pairs(node.opts or {}) do
    if not CALL_KWARGS[k] then
      error(("get_config: layer '%s' was called with option '%s', which a config cannot hold (only training=)")
        :format(layer.name, tostring(k)), 0)
    end
    if type(v) ~= "boolean" then
      error(("get_config: layer '%s' was called with %s=%s; a config holds training=true/false only")
        :format(layer.name, k, S.describe(v)), 0)
    end
    kw[k] = v
  end
  if node.extra and node.extra.n and node.extra.n > 0 then
    error(("get_config: layer '%s' was called with extra arguments, which a config cannot hold"):format(layer.name), 0)
  end
  return kw
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
    local l = kt.node.layer
    return { l.name, node_index[kt.node] + (skips_first_node(l) and 1 or 0), kt.index - 1 }
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
        local kwargs = call_kwargs(node, l)
        for _, kt in ipairs(list) do
          local h = history(kt)
          h[4] = kwargs
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
    .. "with save_weights"):format(self.name, class.name(self)), 0)
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

local describe = S.describe

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
  if dtype ~= nil then S.check_dtype(dtype, where .. " (InputLayer)", true) end
  for _, k in ipairs({ "sparse", "ragged" }) do
    if c[k] ~= nil and c[k] ~= null and c[k] ~= false then
      error(("%s (InputLayer): '%s' = %s is not supported (dnnlua inputs are dense tensors)"):format(where, k,
        describe(c[k])), 0)
    end
  end
  local name = c.name
  if name == null then name = nil end
  if name ~= nil and type(name) ~= "string" then
    error(("%s (InputLayer): 'name' must be a string, got %s"):format(where, describe(name)), 0)
  end
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
      local kt = input_from_entry(e, where)
      local ok, err = pcall(model.add, model, kt)
      if not ok then error(("%s (InputLayer): %s"):format(where, S.clean_error(err)), 0) end
    else
      local layer = layer_from_entry(e, custom, where)
      local ok, err = pcall(function()
        if i == 1 and type(e) == "table" and type(e.build_config) == "table" and not layer.input_shape_arg then
          build_from_entry(layer, e)
        end
        model:add(layer)
        if not model.built then build_from_entry(layer, e) end
      end)
      if not ok then
        error(("%s (%s '%s'): %s"):format(where, tostring(e.class_name), layer.name, S.clean_error(err)), 0)
      end
    end
  end
  return model
end

-- The tensors a node entry reads, [[name, node, tensor, kwargs], ...] in
-- tf.keras 2 or {args=[...], kwargs={}} with __keras_tensor__ histories in
-- Keras 3, and the call's keyword arguments.
local function node_histories(node, where)
  local out, kwargs = {}, nil
  local function k3(v)
    if type(v) ~= "table" then return end
    if v.class_name == "__keras_tensor__" and type(v.config) == "table" then
      out[#out + 1] = v.config.keras_history
      return
    end
    for _, x in ipairs(v) do k3(x) end
  end
  if type(node) ~= "table" or dnn.is_tensor(node) then
    error(("%s: an inbound node must be a list, got %s"):format(where, describe(node)), 0)
  end
  if node.args ~= nil then
    k3(node.args)
    kwargs = node.kwargs
  else
    for _, h in ipairs(node) do
      out[#out + 1] = h
      if type(h) == "table" and h[4] ~= nil then kwargs = h[4] end
    end
  end
  if #out == 0 then error(("%s: the node reads no tensor"):format(where), 0) end
  for i, h in ipairs(out) do
    if type(h) ~= "table" or type(h[1]) ~= "string" or math.type(h[2]) ~= "integer" or math.type(h[3]) ~= "integer"
        or h[2] < 0 or h[3] < 0 then
      local shown = describe(h)
      if type(h) == "table" then
        local ok, text = pcall(json.encode, h)
        if ok then shown = text end
      end
      error(("%s: inbound tensor %d must be [layer_name, node_index, tensor_index] (indices from 0), got %s")
        :format(where, i, shown), 0)
    end
  end
  -- the call's options: Keras writes training= (and mask=null); anything
  -- else is an argument dnnlua's layers do not take
  local opts = {}
  if kwargs ~= nil and kwargs ~= null then
    if type(kwargs) ~= "table" or dnn.is_tensor(kwargs) then
      error(("%s: the call's kwargs must be an object, got %s"):format(where, describe(kwargs)), 0)
    end
    for k, v in pairs(kwargs) do
      if k == "training" and (type(v) == "boolean" or v == null) then
        if v ~= null then opts.training = v end
      elseif k == "mask" and v == null then -- no mask: nothing to pass
      else
        error(("%s: the call's keyword argument '%s' (%s) is not supported (dnnlua layers take training= only)")
          :format(where, tostring(k), describe(v)), 0)
      end
    end
  end
  return out, opts
end

local function functional_from_config(cls, cfg, custom, who)
  local entries = cfg.layers
  if type(entries) ~= "table" then error(("%s: the config has no 'layers' list"):format(who), 0) end
  for _, k in ipairs({ "input_layers", "output_layers" }) do
    if type(cfg[k]) ~= "table" then error(("%s: the config has no '%s' list"):format(who, k), 0) end
  end
  -- Keras 3 writes nodes as {args=, kwargs=} and numbers a nested
  -- Sequential's calls from 0
  local keras3 = false
  for _, e in ipairs(entries) do
    if type(e) == "table" and type(e.inbound_nodes) == "table" and type(e.inbound_nodes[1]) == "table"
        and e.inbound_nodes[1].args ~= nil then
      keras3 = true
    end
  end
  local by_name, order = {}, {}
  -- produced[name][k] = the tensors the layer's k-th call in this graph produced;
  -- offset[name] = what its config node indices start at
  local produced, offset = {}, {}
  for i, e in ipairs(entries) do
    local where = ("%s: layers[%d]"):format(who, i)
    if type(e) ~= "table" or dnn.is_tensor(e) then error(("%s: must be a table, got %s"):format(where, describe(e)), 0) end
    local name = e.name
    if name == nil and type(e.config) == "table" then name = e.config.name end
    if type(name) ~= "string" then error(("%s: the entry has no name"):format(where), 0) end
    where = ("%s ('%s')"):format(where, name)
    if by_name[name] then error(("%s: two layers are named '%s'"):format(where, name), 0) end
    if e.class_name == "InputLayer" then
      local kt = input_from_entry(e, where)
      by_name[name] = kt.input_layer
      produced[name], offset[name] = { { kt } }, 0
    else
      local layer = layer_from_entry(e, custom, where)
      by_name[name] = layer
      produced[name], offset[name] = {}, skips_first_node(layer, keras3) and 1 or 0
      local nodes = e.inbound_nodes
      if nodes ~= nil and nodes ~= null and (type(nodes) ~= "table" or dnn.is_tensor(nodes)) then
        error(("%s: 'inbound_nodes' must be a list, got %s"):format(where, describe(nodes)), 0)
      end
      for j, node in ipairs(nodes ~= null and nodes or {}) do
        local w = ("%s.inbound_nodes[%d]"):format(where, j)
        local hs, opts = node_histories(node, w)
        order[#order + 1] = { name = name, index = j, histories = hs, opts = opts, where = w }
      end
    end
  end
  -- The tensor [name, node, tensor] names: nil while that call has not run.
  local function tensor_of(h, where)
    local list = produced[h[1]]
    if list == nil then error(("%s: no layer named '%s' in the config"):format(where, h[1]), 0) end
    local k = math.max(h[2] - offset[h[1]], 0) + 1
    local outs = list[k]
    if outs == nil then return nil end
    local t = outs[h[3] + 1]
    if t == nil then
      error(("%s: layer '%s' node %d has no output %d (it has %d)"):format(where, h[1], h[2], h[3], #outs), 0)
    end
    return t
  end
  -- Run the calls whose inputs exist until none is left (a shared layer can
  -- be called again after layers listed later); a pass that runs nothing
  -- means a cycle or a reference to a call that never happens.
  local pending = order
  while #pending > 0 do
    local left = {}
    for _, p in ipairs(pending) do
      local ins, ready = {}, true
      for i, h in ipairs(p.histories) do
        ins[i] = tensor_of(h, p.where)
        if ins[i] == nil then ready = false break end
      end
      -- a layer's calls run in their order
      if ready and #produced[p.name] ~= p.index - 1 then ready = false end
      if ready then
        local layer = by_name[p.name]
        local arg = #ins == 1 and ins[1] or ins
        local ok, out = pcall(function() return layer(arg, next(p.opts) and p.opts or nil) end)
        if not ok then error(("%s: calling layer '%s' failed: %s"):format(p.where, p.name, S.clean_error(out)), 0) end
        produced[p.name][p.index] = KT.is(out) and { out } or out
      else
        left[#left + 1] = p
      end
    end
    if #left == #pending then
      local p = left[1]
      local missing
      for _, h in ipairs(p.histories) do
        if tensor_of(h, p.where) == nil then missing = h break end
      end
      local why = missing and ("it reads ['%s', %d, %d], a call that never runs"):format(missing[1], missing[2], missing[3])
        or "an earlier call of the same layer never runs"
      error(("%s: the graph cannot be rebuilt: layer '%s' waits on a tensor nothing produces (%s: a cycle, or a "
        .. "node index past the layer's calls)"):format(p.where, p.name, why), 0)
    end
    pending = left
  end
  local function resolve(list, key)
    local out = {}
    if #list == 0 then error(("%s: '%s' is empty"):format(who, key), 0) end
    for i, h in ipairs(list) do
      local where = ("%s: %s[%d]"):format(who, key, i)
      if type(h) ~= "table" or type(h[1]) ~= "string" then
        error(("%s: must be [layer_name, node_index, tensor_index], got %s"):format(where, describe(h)), 0)
      end
      local n, k = h[2] or 0, h[3] or 0
      if math.type(n) ~= "integer" or math.type(k) ~= "integer" or n < 0 or k < 0 then
        error(("%s: node and tensor indices must be non-negative integers"):format(where), 0)
      end
      local t = tensor_of({ h[1], n, k }, where)
      if t == nil then error(("%s: layer '%s' has no node %d"):format(where, h[1], n), 0) end
      out[i] = t
    end
    return out
  end
  local ins = resolve(cfg.input_layers, "input_layers")
  local outs = resolve(cfg.output_layers, "output_layers")
  for i, t in ipairs(ins) do
    if not t.input_layer then
      error(("%s: input_layers[%d] must name an InputLayer"):format(who, i), 0)
    end
  end
  local name = cfg.name ~= null and cfg.name or nil
  if name ~= nil and type(name) ~= "string" then error(("%s: 'name' must be a string, got %s"):format(who, describe(name)), 0) end
  local trainable = cfg.trainable
  if trainable == null then trainable = nil end
  if trainable ~= nil and type(trainable) ~= "boolean" then
    error(("%s: 'trainable' must be a boolean, got %s"):format(who, describe(trainable)), 0)
  end
  local ok, m = pcall(cls, { inputs = #ins == 1 and ins[1] or ins, outputs = #outs == 1 and outs[1] or outs,
    name = name, trainable = trainable })
  if not ok then error(("%s: %s"):format(who, S.clean_error(m)), 0) end
  return m
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

-- Errors of the functions below start with their own name, then the
-- from_config that failed and where ("model_from_json: Sequential.from_config:
-- layers[3]: unknown layer class 'Scale' ...").
local function rename(err, who)
  err = S.clean_error(err)
  err = err:gsub("^model_from_config: ", "")
  return who .. ": " .. err
end

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
  if not ok then error(rename(m, who), 2) end
  return m
end

function M.model_from_json(text, custom)
  if type(text) ~= "string" then error(("model_from_json: expected a JSON string, got %s"):format(describe(text)), 2) end
  local ok, cfg = pcall(json.decode, text)
  if not ok then error("model_from_json: " .. tostring(cfg), 2) end
  local ok2, m = pcall(M.model_from_config, cfg, custom)
  if not ok2 then error(rename(m, "model_from_json"), 2) end
  return m
end

-- Every layer class a model holds, nested models included (clone_model
-- rebuilds them even when they are not registered, as Keras's clone_model
-- calls each layer's class).
local function classes_of(model, out)
  out = out or {}
  local cls = class.of(model)
  out[class_name_of(model)] = out[class_name_of(model)] or cls
  for _, l in ipairs(rawget(model, "_layers") or {}) do
    if is_model(l) then
      classes_of(l, out)
    else
      local name = class_name_of(l)
      if out[name] == nil then out[name] = class.of(l) end
    end
  end
  return out
end

-- A new model with the same architecture and freshly initialised weights.
function M.clone_model(model, custom)
  if not is_model(model) then error(("clone_model: expected a model, got %s"):format(describe(model)), 2) end
  local ok, cfg = pcall(model.get_config, model)
  if not ok then error(rename((tostring(cfg):gsub("^get_config: ", "")), "clone_model"), 2) end
  local objects = classes_of(model)
  objects.Functional, objects.Sequential, objects.Model = nil, nil, nil
  for k, v in pairs(custom_objects_of("clone_model", custom)) do objects[k] = v end
  local ok2, m = pcall(M.model_from_config, json.decode(json.encode({ class_name = class_name_of(model), config = cfg })),
    objects)
  if not ok2 then error(rename(m, "clone_model"), 2) end
  return m
end

local models = dnn.models
models.model_from_config = M.model_from_config
models.model_from_json = M.model_from_json
models.clone_model = M.clone_model
models.config = M

return M
