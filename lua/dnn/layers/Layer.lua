-- The Layer base class (Keras's tf.keras.layers.Layer in Lua).
--
--   local MyLayer = dnn.layers.Layer:extend("MyLayer")
--   function MyLayer:init(opts) dnn.layers.Layer.init(self, opts); self.units = opts.units end
--   function MyLayer:build(input_shape)
--     self.w = self:add_weight{name="w", shape={input_shape[#input_shape], self.units}}
--   end
--   function MyLayer:call(x, opts) return x:matmul(self.w) end
--   dnn.layers.register("MyLayer", MyLayer)
--
-- Calling a layer builds it on first use from the input's shape, then runs
-- call(x, {training=}).  Weights are tensors owned by the layer (so layers can
-- be shared and moved between models); they require grad when the layer and
-- the weight are trainable.
local dnn = require "dnn"
local class = require "dnn.class"
local initializers = require "dnn.initializers"
local regularizers = require "dnn.regularizers"

local Layer = class.Object:extend("Layer")

local name_counts = {}

-- Keras's to_snake_case: "Conv2D" -> "conv2d", "LeakyReLU" -> "leaky_re_lu".
local function snake(name)
  local s = name:gsub("(.)(%u%l+)", "%1_%2")
  return (s:gsub("(%l)(%u)", "%1_%2"):lower())
end
Layer.snake_case = snake

-- dense, dense_1, dense_2, ... per base name, as Keras names layers.
function Layer.unique_name(base)
  local n = name_counts[base]
  name_counts[base] = (n or -1) + 1
  if n == nil then return base end
  return base .. "_" .. (n + 1)
end

-- "[64,780]": shapes in messages, as the engine prints them.
function Layer.shape_str(x)
  local s = dnn.is_tensor(x) and x:size() or x
  local parts = {}
  for i, d in ipairs(s) do parts[i] = tostring(d) end
  return "[" .. table.concat(parts, ",") .. "]"
end

-- Forgets the name counters (Keras's clear_session).
function Layer.reset_names() name_counts = {} end

-- Keyword arguments every layer accepts.
Layer.COMMON_ARGS = { "name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size",
  "input_dim" }

-- Parses a layer's constructor arguments: names are its positional arguments,
-- extra its keyword-only ones (the common ones are added).
function Layer.parse_args(cls, names, extra, ...)
  local all = {}
  for _, k in ipairs(extra or {}) do all[#all + 1] = k end
  for _, k in ipairs(Layer.COMMON_ARGS) do all[#all + 1] = k end
  return class.kwargs(rawget(cls, "__name") or "Layer", names, all, ...)
end

function Layer:init(opts)
  opts = opts or {}
  local cname = class.name(self)
  self.name = opts.name or Layer.unique_name(snake(cname))
  if type(self.name) ~= "string" then error(("%s: name must be a string"):format(cname), 3) end
  self.trainable = opts.trainable ~= false
  self.dtype = opts.dtype or "float32"
  self.built = false
  self._weights = {}
  if opts.input_shape then
    self.input_shape_arg = opts.input_shape
  elseif opts.batch_input_shape then
    local s = {}
    for i = 2, #opts.batch_input_shape do s[#s + 1] = opts.batch_input_shape[i] end
    self.input_shape_arg = s
  elseif opts.input_dim then
    self.input_shape_arg = { opts.input_dim }
  end
end

-- add_weight{name=, shape=, initializer="glorot_uniform", regularizer=, trainable=true, dtype=}
function Layer:add_weight(...)
  local a = class.kwargs("add_weight", { "name", "shape", "initializer", "regularizer", "trainable", "dtype" },
    { "constraint" }, ...)
  local shape = a.shape or {}
  if dnn.is_tensor(shape) then shape = shape:totable() end
  for i, d in ipairs(shape) do
    if math.type(d) ~= "integer" or d < 0 then
      error(("%s: add_weight '%s': size %d of the shape must be a non-negative integer, got %s"):format(
        self.name, tostring(a.name), i, tostring(d)), 2)
    end
  end
  local init = initializers.get(a.initializer or "glorot_uniform")
  local w = init(shape, a.dtype or self.dtype)
  if not dnn.is_tensor(w) then
    error(("%s: the initializer of weight '%s' returned a %s, not a tensor"):format(self.name, tostring(a.name), type(w)), 2)
  end
  w = w:contiguous()
  local trainable = a.trainable ~= false
  if dnn.core.methods.is_floating_point(w) then w.requires_grad = trainable and self.trainable end
  self._weights[#self._weights + 1] = {
    name = a.name or ("weight_" .. (#self._weights + 1)), var = w, trainable = trainable,
    regularizer = regularizers.get(a.regularizer),
  }
  return w
end

-- Input shape as Keras passes it to build: a table with the batch size first.
local function shape_of(x)
  if dnn.is_tensor(x) then return x:size() end
  if type(x) == "table" and x[1] ~= nil then
    local list = {}
    for i, t in ipairs(x) do list[i] = shape_of(t) end
    return list
  end
  return nil
end

function Layer:build(input_shape) self.built = true end

function Layer:call(x) return x end

-- Keeps each weight's requires_grad in step with layer.trainable (which the
-- user may change at any time, e.g. to freeze a pretrained layer).
function Layer:_sync_trainable()
  local on = self.trainable
  for _, w in ipairs(self._weights) do
    local want = on and w.trainable
    if w.var.requires_grad ~= want and w.var.is_leaf and dnn.core.methods.is_floating_point(w.var) then
      w.var.requires_grad = want
    end
  end
end

-- Errors from build/call are prefixed with the layer's name (torch/nn's
-- rethrowErrors), unless they already carry it.
local function rethrow(self, err)
  err = tostring(err)
  if err:find(self.name .. ":", 1, true) then error(err, 0) end
  error(self.name .. ": " .. err, 0)
end

function Layer:__call(x, opts, ...)
  if dnn.layers._call_hook then -- the functional API intercepts symbolic inputs
    local handled, out = dnn.layers._call_hook(self, x, opts, ...)
    if handled then return out end
  end
  if not self.built then
    local shape = shape_of(x)
    -- kept for get_config: Keras writes some axes resolved against the rank
    -- seen at build (BatchNormalization's axis -1 becomes [3] for images)
    self._build_input_shape = shape
    local ok, err = pcall(self.build, self, shape)
    if not ok then rethrow(self, err) end
    self.built = true
  end
  self:_sync_trainable()
  local ok, out = pcall(self.call, self, x, opts or {}, ...)
  if not ok then rethrow(self, out) end
  return out
end

function Layer:__tostring()
  return ("%s(name=%s, %d weights)"):format(class.name(self), self.name, #self._weights)
end

-- ---- weights ----
-- Keras exposes these as properties (model.trainable_variables); here they
-- are computed fields that are also callable, so layer.weights and
-- layer:weights() both give the list.
local list_mt = { __call = function(list) return list end, __name = "dnn.WeightList" }
local function weight_list(t) return setmetatable(t, list_mt) end

-- {entry, trainable} for every weight this layer owns or reaches (models
-- override _weight_entries to add their layers'); a weight trains when it
-- and every layer on its path are trainable.
function Layer:_weight_entries(out, parent_trainable, seen)
  out = out or {}
  seen = seen or {}
  local on = (parent_trainable ~= false) and self.trainable
  for _, w in ipairs(self._weights) do
    if not seen[w.var] then
      seen[w.var] = true
      out[#out + 1] = { entry = w, trainable = on and w.trainable }
    end
  end
  return out
end

local function collect(self, pred)
  local out = {}
  for _, e in ipairs(self:_weight_entries()) do
    if pred(e) then out[#out + 1] = e.entry.var end
  end
  return weight_list(out)
end

local function all(self) return collect(self, function() return true end) end
local function trainable(self) return collect(self, function(e) return e.trainable end) end
local function non_trainable(self) return collect(self, function(e) return not e.trainable end) end
for name, fn in pairs({ weights = all, variables = all, trainable_weights = trainable,
  trainable_variables = trainable, non_trainable_weights = non_trainable,
  non_trainable_variables = non_trainable, parameters = trainable }) do
  class.getter(Layer, name, fn)
end

-- Keras's get_weights: copies, trainable weights first then the rest.
function Layer:get_weights()
  local out = {}
  for _, w in ipairs(self:_ordered_entries()) do out[#out + 1] = w.var:detach():clone() end
  return out
end

function Layer:_ordered_entries()
  local out, entries = {}, self:_weight_entries()
  for _, e in ipairs(entries) do if e.trainable then out[#out + 1] = e.entry end end
  for _, e in ipairs(entries) do if not e.trainable then out[#out + 1] = e.entry end end
  return out
end

function Layer:set_weights(list)
  local entries = self:_ordered_entries()
  if type(list) ~= "table" or #list ~= #entries then
    error(("%s: set_weights got %d weights, the layer has %d"):format(self.name,
      type(list) == "table" and #list or 0, #entries), 2)
  end
  for i, e in ipairs(entries) do
    local v = list[i]
    if not dnn.is_tensor(v) then v = dnn.tensor(v, { dtype = e.var.dtype }) end
    if v:size() ~= e.var:size() then
      error(("%s: set_weights: weight %d ('%s') has shape %s, the value has shape %s"):format(
        self.name, i, e.name, tostring(e.var:size()), tostring(v:size())), 2)
    end
    dnn.no_grad(function() e.var:copy_(v) end)
  end
end

function Layer:count_params()
  local n = 0
  for _, e in ipairs(self:_weight_entries()) do n = n + e.entry.var:numel() end
  return n
end

-- The regularization penalties of this layer's weights (tensors), as
-- Keras's layer.losses.
function Layer:regularization_losses()
  local out = {}
  for _, e in ipairs(self:_weight_entries()) do
    local w = e.entry
    if w.regularizer then out[#out + 1] = w.regularizer(w.var) end
  end
  return out
end

-- PyTorch-style: {[weight name] = tensor}; load_state_dict copies into place.
function Layer:state_dict(prefix, out)
  out = out or {}
  prefix = prefix or ""
  for _, w in ipairs(self._weights) do out[prefix .. w.name] = w.var end
  return out
end

function Layer:load_state_dict(sd, prefix, strict)
  prefix = prefix or ""
  for _, w in ipairs(self._weights) do
    local v = sd[prefix .. w.name]
    if v == nil then
      if strict ~= false then error(("%s: load_state_dict: missing '%s'"):format(self.name, prefix .. w.name), 2) end
    else
      if v:size() ~= w.var:size() then
        error(("%s: load_state_dict: '%s' has shape %s, the layer expects %s"):format(self.name,
          prefix .. w.name, tostring(v:size()), tostring(w.var:size())), 2)
      end
      dnn.no_grad(function() w.var:copy_(v) end)
    end
  end
end

-- ---- configs (Keras's get_config / from_config) ----
-- get_config returns the keys and values tf.keras 2.15 writes (null for
-- nil, sizes as lists); from_config accepts them back, as Keras's
-- `cls(**config)` does, after the class's _config_to_args has turned Keras
-- spellings into constructor arguments.  Subclasses extend get_config:
--   function MyLayer:get_config()
--     local c = dnn.layers.Layer.get_config(self); c.units = self.units; return c
--   end

function Layer:get_config()
  local S = require "dnn.layers.serialization"
  local c = { name = self.name, trainable = self.trainable, dtype = self.dtype }
  if self.input_shape_arg then c.batch_input_shape = S.batch_shape(self.input_shape_arg) end
  return c
end

-- The generic from_config: nulls are defaults, batch_input_shape becomes
-- input_shape, class-specific keys go through cls._config_to_args(c, who,
-- custom_objects) (which checks their types and turns Keras spellings into
-- constructor arguments), and cls._config_after(layer, c) restores what the
-- constructor does not take.  Keys the class does not know are refused by
-- its constructor (as Keras's cls(**config) raises TypeError), naming the key.
-- Errors name the class and the layer ("Dense.from_config: layer 'd1':
-- 'units' must be a positive integer, got string \"ten\"") and carry no
-- Lua positions: the config, not the code, is at fault.
function Layer._from_config(cls, cfg, custom_objects)
  local S = require "dnn.layers.serialization"
  local who = (rawget(cls, "__name") or "Layer") .. ".from_config"
  if type(cfg) ~= "table" or dnn.is_tensor(cfg) or class.of(cfg) then
    error(("%s: the config must be a table (a layer's get_config()), got %s"):format(who, S.describe(cfg)), 0)
  end
  if type(cfg.name) == "string" then who = ("%s: layer '%s'"):format(who, cfg.name) end
  local c = S.strip_nulls(cfg)
  local ok, err = pcall(function()
    for k in pairs(c) do
      if type(k) ~= "string" then
        error(("%s: config keys must be strings, got %s"):format(who, S.describe(k)), 0)
      end
    end
    if c.name ~= nil and type(c.name) ~= "string" then
      error(("%s: 'name' must be a string, got %s"):format(who, S.describe(c.name)), 0)
    end
    if c.trainable ~= nil and type(c.trainable) ~= "boolean" then
      error(("%s: 'trainable' must be a boolean, got %s"):format(who, S.describe(c.trainable)), 0)
    end
    if type(c.dtype) == "table" and not dnn.is_tensor(c.dtype) then -- a dtype policy {class_name="Policy", config={name=}}
      local name = type(c.dtype.config) == "table" and c.dtype.config.name or nil
      if type(name) == "string" and name:match("^mixed_") then
        error(("%s: dtype policy '%s' is not supported (dnnlua layers compute in one dtype)"):format(who, name), 0)
      end
      c.dtype = name
      if c.dtype == nil then error(("%s: 'dtype' policy has no config.name"):format(who), 0) end
    end
    if c.dtype ~= nil then S.check_dtype(c.dtype, who, rawget(cls, "__name") == "InputLayer") end
    local b = c.batch_input_shape or c.batch_shape
    c.batch_input_shape, c.batch_shape = nil, nil
    -- unknown sizes past the batch dim (nil): the layer builds on its first call
    if b ~= nil then c.input_shape = S.shape_from_batch(b, who, "batch_input_shape") end
    local to_args = rawget(cls, "_config_to_args") or cls._config_to_args
    if to_args then to_args(c, who, custom_objects) end
  end)
  if not ok then error(S.clean_error(err), 0) end
  local ok2, layer = pcall(cls, c)
  if not ok2 then
    local msg = S.clean_error(layer)
    local cname = rawget(cls, "__name") or "Layer"
    if msg:sub(1, #cname + 2) == cname .. ": " then msg = msg:sub(#cname + 3) end
    error(("%s: %s"):format(who, msg), 0)
  end
  if cls._config_after then cls._config_after(layer, c, cfg) end
  return layer
end

-- Every layer class gets a from_config bound to it, so both
-- Dense.from_config(cfg) and Dense:from_config(cfg) (or
-- Layer.from_config(Dense, cfg), Keras's classmethod form) work; the third
-- argument carries custom_objects for nested configs.
local function bind_from_config(cls)
  rawset(cls, "from_config", function(a, b, c)
    if not class.is_class(a) then a, b, c = cls, a, b end
    local impl = a._from_config
    return impl(a, b, c)
  end)
end
bind_from_config(Layer)

function Layer:extend(name)
  local cls = class.Object.extend(self, name)
  bind_from_config(cls)
  return cls
end

return Layer
