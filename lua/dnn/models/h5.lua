-- Keras's legacy HDF5 model files (tf.keras 2.15 hdf5_format.py, Keras 3
-- legacy_h5_format.py; the layout is in /work/shared/REFERENCE.md):
--
--   model:save(path [, {include_optimizer=true, overwrite=true}])
--   dnn.models.load_model(path [, {custom_objects=, compile=true}])
--   model:save_weights(path)
--   model:load_weights(path [, {by_name=false, skip_mismatch=false}])
--
-- Whole-model file:
--   /  attributes keras_version, backend (vlen str, as h5py stores a Python
--      str), model_config = JSON {class_name, config}, training_config = JSON
--      {loss, metrics, weighted_metrics, loss_weights, optimizer_config}
--      (byte strings: h5py's fixed-length 'S')
--   /model_weights      the save_weights layout below
--   /optimizer_weights  attribute weight_names; datasets restored by position:
--      "iteration:0" (int64 scalar), then per trainable variable in order its
--      slots ("Adam/momentum/dense/kernel:0", "Adam/velocity/dense/kernel:0",
--      the order Keras 2.15's optimizers build them), then for Nadam its
--      momentum product ("Nadam/u_product:0"), which Keras does not keep but
--      an exact continuation needs.
-- Weights file (and /model_weights):
--   attributes layer_names ('S' array, model.layers order), backend,
--   keras_version; one group per layer (created in name order, as Keras does)
--   with attribute weight_names (trainable weights first, then the others;
--   an empty float64 array when the layer has none, as numpy makes of []) and
--   one dataset per weight named "<layer>/<weight>:0", which HDF5 nests
--   (model_weights/dense/dense/kernel:0); a group top_level_model_weights
--   holds the model's own weights (usually none).
--
-- Reading accepts what tf.keras and Keras 3 write: names with or without
-- ":0", attributes as fixed-length byte strings or vlen UTF-8, attributes
-- split in chunks (layer_names0, layer_names1, ...) past HDF5's 64 KB
-- object-header limit.  Loading only reads data: JSON is parsed by the
-- small decoder below, class names are looked up in registries, and nothing
-- in a file is run as code.  A load checks the whole file against the model
-- before it assigns anything, so a failed load leaves the model as it was.
-- Saving goes through dnn.core.h5.create's atomic writer: the file is built
-- under a temporary name and renamed over `path` only when complete.
local dnn = require "dnn"
local core = require "dnn.core"
local class = require "dnn.class"
local Model = require "dnn.models.Model"


local M = {}

local models = dnn.models or {}
dnn.models = models

-- The Keras file layout these files follow, and what wrote them.
M.KERAS_VERSION = "2.15.0"
M.BACKEND = "dnnlua"
M.HEADER_LIMIT = 64512 -- bytes per attribute before Keras splits it in chunks

-- Warnings (skipped layers, an optimizer state that does not fit): replace
-- to capture them.
function M.warn(msg) io.stderr:write("warning: ", msg, "\n") end

-- JSON through dnn.json (integers stay integers, empty lists stay lists,
-- Python's float spelling): the same codec as to_json and model_from_json.
local json = require "dnn.json"
M.json = json


-- ---------------------------------------------------------------- writing

local Layer = require "dnn.layers.Layer"

local function join(g, name) return g == "/" and "/" .. name or g .. "/" .. name end

local function shape_str(s)
  local parts = {}
  for i = 1, #s do parts[i] = tostring(s[i]) end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- Weights in Keras's legacy order: trainable first, then the others.
local function ordered(entries)
  local out = {}
  for _, e in ipairs(entries) do if e.trainable then out[#out + 1] = e.entry end end
  for _, e in ipairs(entries) do if not e.trainable then out[#out + 1] = e.entry end end
  return out
end

-- What a layer saves (a model as a layer: all the weights it reaches).
local function layer_entries(layer) return layer:_ordered_entries() end

-- A model's own weights, outside its layers (Keras's top-level weights).
local function own_entries(model) return ordered(Layer._weight_entries(model)) end

-- weight tensor -> "layer/weight", the name tf.keras gives a variable (the
-- layer that created it, then the weight's name), for every weight reached.
local function weight_paths(layer, out)
  out = out or {}
  for _, w in ipairs(rawget(layer, "_weights") or {}) do
    if out[w.var] == nil then out[w.var] = layer.name .. "/" .. w.name end
  end
  if class.isinstance(layer, Model) then
    for _, l in ipairs(layer.layers) do weight_paths(l, out) end
  end
  return out
end

local Writer = {}
Writer.__index = Writer

local function new_writer(f) return setmetatable({ f = f, groups = { ["/"] = true } }, Writer) end

-- Creates the group at path and any missing parent (h5py's create_dataset
-- does the same for names with slashes, such as "dense/kernel:0").
function Writer:group(path)
  if self.groups[path] then return end
  local parent = path:match("^(.+)/[^/]+$")
  if parent then self:group(parent) end
  self.f:create_group(path)
  self.groups[path] = true
end

function Writer:dataset(path, t)
  local parent = path:match("^(.+)/[^/]+$")
  if parent then self:group(parent) end
  t = t:detach()
  if t.device ~= "cpu" then t = t:to("cpu") end
  self.f:write_tensor(path, t)
end

-- A list of names as an 'S' array attribute, split in chunks name0, name1, ...
-- when it would pass HDF5's object-header limit (Keras's
-- save_attributes_to_hdf5_group: numpy's array_split into equal parts).
function Writer:names(g, name, list)
  local width = 0
  for _, s in ipairs(list) do
    if #s > M.HEADER_LIMIT then
      error(("%s: the name '%s...' is longer than %d bytes"):format(g, s:sub(1, 40), M.HEADER_LIMIT), 0)
    end
    width = math.max(width, #s)
  end
  local n, chunks = #list, 1
  while chunks < n and (n // chunks + (n % chunks > 0 and 1 or 0)) * width > M.HEADER_LIMIT do
    chunks = chunks + 1
  end
  if chunks == 1 then return self.f:set_attr(g, name, list) end
  local first = 1
  for c = 0, chunks - 1 do
    local size = n // chunks + (c < n % chunks and 1 or 0)
    self.f:set_attr(g, name .. c, { table.unpack(list, first, first + size - 1) })
    first = first + size
  end
end

-- One group's weights: attribute weight_names, then a dataset per weight.
function Writer:subset(g, entries, paths)
  local names, used = {}, {}
  for i, e in ipairs(entries) do
    local base = paths[e.var] or e.name
    local n, k = base .. ":0", 0
    while used[n] do
      k = k + 1
      n = ("%s_%d:0"):format(base, k)
    end
    used[n], names[i] = true, n
  end
  self:names(g, "weight_names", names)
  for i, e in ipairs(entries) do self:dataset(join(g, names[i]), e.var) end
end

local function check_layer_names(op, model)
  local seen = {}
  for i, l in ipairs(model.layers) do
    local n = l.name
    if type(n) ~= "string" or n == "" or n == "." or n == ".." or n:find("%z") or n:find("//", 1, true)
        or n:sub(1, 1) == "/" or n:sub(-1) == "/" then
      error(("%s: layer %d has the name %q, which cannot name an HDF5 group"):format(op, i, tostring(n)), 0)
    end
    if seen[n] then
      error(("%s: layers %d and %d are both named '%s'; layer names must be unique to save weights")
        :format(op, seen[n], i, n), 0)
    end
    seen[n] = i
  end
end

-- The save_weights layout under group g.
local function write_weights(w, g, model)
  local layers = model.layers
  local paths = weight_paths(model)
  local names = {}
  for i, l in ipairs(layers) do names[i] = l.name end
  w:group(g)
  w:names(g, "layer_names", names)
  w.f:set_attr(g, "backend", M.BACKEND)
  w.f:set_attr(g, "keras_version", M.KERAS_VERSION)
  local sorted = { table.unpack(layers) }
  table.sort(sorted, function(a, b) return a.name < b.name end)
  for _, l in ipairs(sorted) do
    local lg = join(g, l.name)
    w:group(lg)
    w:subset(lg, layer_entries(l), paths)
  end
  local top = join(g, "top_level_model_weights")
  w:group(top)
  w:subset(top, own_entries(model), paths)
end

-- Runs fill(writer) on an atomic writer for path; on any error the
-- temporary file goes and an existing file at path stays as it was.
local function write_file(op, path, fill)
  local f = core.h5.create(path, op)
  local ok, err = pcall(fill, new_writer(f))
  if not ok then
    f:abort()
    err = tostring(err)
    if not err:find(op .. ": ", 1, true) then err = ("%s: %s: %s"):format(op, path, err) end
    error(err, 0)
  end
  f:commit()
end

local function check_path(op, path, overwrite)
  if type(path) ~= "string" then error(("%s: the path must be a string, got %s"):format(op, type(path)), 0) end
  if path == "" then error(op .. ": the path is empty", 0) end
  if overwrite == false then
    local fh = io.open(path, "rb")
    if fh then
      fh:close()
      error(("%s: %s exists and overwrite=false"):format(op, path), 0)
    end
  end
end

-- ---------------------------------------------------------------- reading

local Reader = {}
Reader.__index = Reader

local function new_reader(f, path, op) return setmetatable({ f = f, path = path, op = op }, Reader) end

function Reader:fail(where, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  error(("%s: %s: %s%s"):format(self.op, self.path, where and (where .. ": ") or "", msg), 0)
end

-- A names attribute (whole or in chunks) as a list of strings; nil when absent.
function Reader:names(g, name, required)
  local f = self.f
  local parts = {}
  local whole = f:get_attr(g, name)
  if whole ~= nil then
    parts[1] = whole
  else
    local k = 0
    while true do
      local c = f:get_attr(g, name .. k)
      if c == nil then break end
      parts[#parts + 1] = c
      k = k + 1
    end
  end
  if #parts == 0 then
    if required then self:fail(g, "attribute %s is missing", name) end
    return nil
  end
  local list = {}
  for _, p in ipairs(parts) do
    if type(p) == "string" then p = { p } end
    if type(p) ~= "table" then
      self:fail(g, "attribute %s should hold names (strings), got a %s", name, math.type(p) or type(p))
    end
    for _, s in ipairs(p) do
      if type(s) ~= "string" then
        self:fail(g, "attribute %s should hold names (strings), got a %s", name, math.type(s) or type(s))
      end
      s = s:gsub("%z+$", "") -- numpy drops the NUL padding of fixed-length strings
      if s == "" then self:fail(g, "attribute %s holds an empty name", name) end
      if s:find("%z") then -- HDF5 names are C strings: it could not name a group or dataset
        self:fail(g, "attribute %s holds a name with a NUL byte inside (%q)", name, s)
      end
      list[#list + 1] = s
    end
  end
  return list
end

-- {name=, path=, shape=, dtype=} of each weight listed by group g's weight_names.
function Reader:weights_of(g)
  local out = {}
  for j, n in ipairs(self:names(g, "weight_names", true)) do
    local p = join(g, n)
    local kind = self.f:kind(p)
    if kind ~= "dataset" then
      self:fail(g, "weight '%s' (entry %d of weight_names) %s", n, j,
        kind and ("is a " .. kind .. ", not a dataset") or "is missing")
    end
    local shape, dtype = self.f:info(p)
    out[j] = { name = n, path = p, shape = shape, dtype = dtype }
  end
  return out
end

-- The layers a weights group lists: {name=, group=, weights=}.
function Reader:saved_layers(root)
  local out = {}
  for i, name in ipairs(self:names(root, "layer_names", true)) do
    local g = join(root, name)
    local kind = self.f:kind(g)
    if kind ~= "group" then
      self:fail(root, "layer '%s' (entry %d of layer_names) has no group in the file%s", name, i,
        kind and (" (" .. g .. " is a " .. kind .. ")") or "")
    end
    out[i] = { name = name, group = g, weights = self:weights_of(g) }
  end
  return out
end

-- Where the model_weights layout starts: the root (save_weights) or the
-- model_weights group (whole-model files).
function Reader:weights_root()
  local f = self.f
  if f:get_attr("/", "layer_names") ~= nil or f:get_attr("/", "layer_names0") ~= nil then return "/" end
  local kind = f:kind("/model_weights")
  if kind == "group" then return "/model_weights" end
  self:fail(nil, "not a Keras weights file: the root group has no layer_names attribute and "
    .. "there is no model_weights group")
end

local function names_of(list, key)
  local out = {}
  for i, v in ipairs(list) do
    out[i] = key and v[key].name or v.name
    if #out >= 8 and i < #list then
      out[#out + 1] = ("... %d more"):format(#list - i)
      break
    end
  end
  return table.concat(out, ", ")
end

local function unbuilt_hint(model, n)
  if n > 0 then return "" end
  return " (the model has no weights yet: build it first, e.g. give the first layer input_shape= or call it on data)"
end

-- The assignments a by-order load makes, after checking every count and shape.
function Reader:plan_by_order(model, root, saved)
  local layers = {}
  for _, l in ipairs(model.layers) do
    local entries = layer_entries(l)
    if #entries > 0 then layers[#layers + 1] = { layer = l, entries = entries } end
  end
  local filled = {}
  for _, s in ipairs(saved) do
    if #s.weights > 0 then filled[#filled + 1] = s end
  end
  if #filled ~= #layers then
    self:fail(root, "layer count mismatch: the model has %d layers with weights (%s), the file has %d (%s)%s",
      #layers, names_of(layers, "layer"), #filled, names_of(filled), unbuilt_hint(model, #layers))
  end
  local plan = {}
  for k, s in ipairs(filled) do
    local l, entries = layers[k].layer, layers[k].entries
    if #entries ~= #s.weights then
      self:fail(s.group, "weight count mismatch for layer #%d (named %s in the model, %s in the file): "
        .. "the layer has %d weight(s), the file has %d", k, l.name, s.name, #entries, #s.weights)
    end
    for i, e in ipairs(entries) do
      local src = s.weights[i]
      if not same_shape(e.var:size(), src.shape) then
        self:fail(src.path, "shape mismatch in layer #%d (named %s) for weight %s: the model has %s, the file has %s",
          k, l.name, e.name, shape_str(e.var:size()), shape_str(src.shape))
      end
      plan[#plan + 1] = { var = e.var, src = src }
    end
  end
  return plan
end

-- By name: saved layers matched to model layers of the same name; with
-- skip_mismatch a layer whose weight count or a weight's shape differs is
-- skipped (with a warning) instead of failing the load.
function Reader:plan_by_name(model, saved, skip)
  local index = {}
  for _, l in ipairs(model.layers) do
    index[l.name] = index[l.name] or {}
    table.insert(index[l.name], l)
  end
  local plan = {}
  for k, s in ipairs(saved) do
    for _, l in ipairs(index[s.name] or {}) do
      local entries = layer_entries(l)
      local problem
      if #entries ~= #s.weights then
        problem = ("weight count mismatch for layer #%d (named %s): the layer has %d weight(s), the file has %d")
          :format(k, l.name, #entries, #s.weights)
      else
        for i, e in ipairs(entries) do
          if not same_shape(e.var:size(), s.weights[i].shape) then
            problem = ("shape mismatch in layer #%d (named %s) for weight %s: the model has %s, the file has %s")
              :format(k, l.name, e.name, shape_str(e.var:size()), shape_str(s.weights[i].shape))
            break
          end
        end
      end
      if problem and not skip then self:fail(s.group, problem) end
      if problem then
        M.warn(("%s: %s: skipping layer %s: %s"):format(self.op, self.path, l.name, problem))
      else
        for i, e in ipairs(entries) do plan[#plan + 1] = { var = e.var, src = s.weights[i] } end
      end
    end
  end
  return plan
end

-- The model's own weights (group top_level_model_weights, when present).
function Reader:plan_top_level(model, root, plan, skip)
  local g = join(root, "top_level_model_weights")
  local kind = self.f:kind(g)
  if kind == nil then return end
  if kind ~= "group" then self:fail(g, "expected a group, found a %s", kind) end
  local saved = self:weights_of(g)
  local entries = own_entries(model)
  local problem
  if #saved ~= #entries then
    problem = ("weight count mismatch for the model's own weights: the model has %d, the file has %d")
      :format(#entries, #saved)
  else
    for i, e in ipairs(entries) do
      if not same_shape(e.var:size(), saved[i].shape) then
        problem = ("shape mismatch for the model's own weight %s: the model has %s, the file has %s")
          :format(e.name, shape_str(e.var:size()), shape_str(saved[i].shape))
        break
      end
    end
  end
  if problem and not skip then self:fail(g, problem) end
  if problem then
    M.warn(("%s: %s: skipping the top-level weights: %s"):format(self.op, self.path, problem))
    return
  end
  for i, e in ipairs(entries) do plan[#plan + 1] = { var = e.var, src = saved[i] } end
end

-- Reads every value first (any read error leaves the model untouched), then assigns.
function Reader:apply(plan)
  for _, p in ipairs(plan) do
    local v = self.f:read_tensor(p.src.path)
    if not same_shape(v:size(), p.var:size()) then -- info() said otherwise: a damaged file
      self:fail(p.src.path, "read shape %s does not match the listed %s", shape_str(v:size()), shape_str(p.src.shape))
    end
    if v.dtype ~= p.var.dtype then v = v:to(p.var.dtype) end
    if p.var.device ~= "cpu" then v = v:to(p.var.device) end
    p.value = v
  end
  dnn.no_grad(function()
    for _, p in ipairs(plan) do p.var:copy_(p.value) end
  end)
end

-- Checks and loads a model_weights layout into model.
function Reader:load_weights_into(model, root, by_name, skip)
  local saved = self:saved_layers(root)
  local plan = by_name and self:plan_by_name(model, saved, skip) or self:plan_by_order(model, root, saved)
  self:plan_top_level(model, root, plan, skip)
  self:apply(plan)
end

-- ---------------------------------------------------------------- weights files

-- model:save_weights(path [, {overwrite=true}]): the model_weights layout at the root.
function Model:save_weights(...)
  local a = class.kwargs("save_weights", { "filepath", "overwrite", "save_format" }, { "options" }, ...)
  local op = "save_weights"
  check_path(op, a.filepath, a.overwrite)
  if a.save_format ~= nil and a.save_format ~= "h5" then
    error(("%s: save_format must be \"h5\" (the only format written), got %s"):format(op, tostring(a.save_format)), 2)
  end
  check_layer_names(op, self)
  write_file(op, a.filepath, function(w) write_weights(w, "/", self) end)
end

-- model:load_weights(path [, {by_name=false, skip_mismatch=false}]); also
-- reads the model_weights group of a whole-model file.
function Model:load_weights(...)
  local a = class.kwargs("load_weights", { "filepath", "by_name", "skip_mismatch" }, { "options" }, ...)
  local op = "load_weights"
  check_path(op, a.filepath)
  if a.skip_mismatch and not a.by_name then
    error("load_weights: skip_mismatch=true needs by_name=true (as in Keras: by order, every layer must match)", 2)
  end
  local f <close> = core.h5.open(a.filepath, op)
  local r = new_reader(f, a.filepath, op)
  r:load_weights_into(self, r:weights_root(), a.by_name, a.skip_mismatch)
end

-- ---------------------------------------------------------------- whole models

-- The architecture as model_config JSON: {class_name, config} (from
-- dnn.models.config's to_json, without the version keys it adds).
local function model_config_json(model)
  if type(model.to_json) ~= "function" then
    error("the model has no to_json (dnn.models.config is not loaded): its architecture cannot be saved", 0)
  end
  local text = model:to_json()
  local ok, v = pcall(json.decode, text)
  if not ok or type(v) ~= "table" or type(v.class_name) ~= "string" or type(v.config) ~= "table" then
    error("to_json did not give JSON {\"class_name\": ..., \"config\": {...}}" .. (ok and "" or (": " .. v)), 0)
  end
  return json.encode({ class_name = v.class_name, config = v.config })
end

local function key_path(path, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return path .. "." .. k end
  return ("%s[%s]"):format(path, type(k) == "string" and ("%q"):format(k) or tostring(k))
end

local function is_plain(v) return type(v) == "table" and getmetatable(v) == nil and not dnn.is_tensor(v) end

-- A loss or metric as compile was given it, in JSON form: names stay names
-- (so the loaded model logs the same names), functions become their
-- registered names, objects {class_name, config}; lists and per-output
-- tables map over their entries.
local function serialize_spec(v, ser, path)
  if v == nil then return json.null end
  if type(v) == "string" then return v end
  if is_plain(v) then
    local out = {}
    for k, x in pairs(v) do out[k] = serialize_spec(x, ser, key_path(path, k)) end
    return next(out) == nil and json.array(out) or out
  end
  local ok, r = pcall(ser, v)
  if not ok then error(("%s: %s"):format(path, tostring(r)), 0) end
  return r
end

local function training_config(model)
  local a = model.compile_args or {}
  return {
    loss = serialize_spec(a.loss, dnn.losses.serialize, "training_config.loss"),
    metrics = serialize_spec(a.metrics, dnn.metrics.serialize, "training_config.metrics"),
    weighted_metrics = serialize_spec(a.weighted_metrics, dnn.metrics.serialize, "training_config.weighted_metrics"),
    loss_weights = a.loss_weights == nil and json.null or a.loss_weights,
    optimizer_config = dnn.optimizers.serialize(model.optimizer),
  }
end

-- The optimizer state as Keras's optimizer.variables(): iteration count,
-- then the slots of each variable by position (see the header).
local function optimizer_weights(model)
  local opt = model.optimizer
  local st = opt:get_state()
  local prefix = opt.name or class.name(opt)
  local vars, paths = opt:variables(), weight_paths(model)
  local names, values = { "iteration:0" }, { dnn.tensor(st.iterations, { dtype = "int64" }) }
  for pos = 1, st.n_variables do
    local var = vars[pos]
    local vname = paths[var] or ("variable_" .. pos)
    local entry = st.slots[pos]
    local fresh
    if not entry then
      -- no update reached this variable yet: its slots as the first update would make them
      local ok, block = pcall(core._optim.new_slots, opt._cfg, var)
      fresh = ok and block or nil
    end
    for k, sn in ipairs(st.slot_names) do
      names[#names + 1] = ("%s/%s/%s:0"):format(prefix, sn, vname)
      values[#values + 1] = entry and entry[sn] or (fresh and fresh:select(1, k)) or dnn.zeros_like(var)
    end
  end
  if st.u_product ~= nil then
    names[#names + 1] = prefix .. "/u_product:0"
    values[#values + 1] = dnn.tensor(st.u_product, { dtype = "float64" })
  end
  return { names = names, values = values }
end

local function write_optimizer(w, ow)
  local g = "/optimizer_weights"
  w:group(g)
  local used = {}
  for i, n in ipairs(ow.names) do -- unique dataset names (two variables could share a path)
    local base, k = n, 0
    while used[n] do
      k = k + 1
      n = base:gsub(":0$", "") .. "_" .. k .. ":0"
    end
    used[n], ow.names[i] = true, n
  end
  w:names(g, "weight_names", ow.names)
  for i, n in ipairs(ow.names) do w:dataset(join(g, n), ow.values[i]) end
end

-- model:save(path [, {overwrite=true, include_optimizer=true}]): the whole
-- model (architecture, weights, compile configuration, optimizer state).
function M.save_model(model, ...)
  local a = class.kwargs("save", { "filepath", "overwrite", "include_optimizer", "save_format" },
    { "signatures", "options", "save_traces" }, ...)
  local op = "save"
  check_path(op, a.filepath, a.overwrite)
  if a.save_format ~= nil and a.save_format ~= "h5" then
    error(("%s: save_format must be \"h5\" (the only format written), got %s"):format(op, tostring(a.save_format)), 0)
  end
  check_layer_names(op, model)
  -- everything that can fail on the model's side, before the file is made
  local ok, mc = pcall(model_config_json, model)
  if not ok then error(("%s: %s"):format(op, mc), 0) end
  local tc, ow
  if a.include_optimizer ~= false and model.compiled and model.optimizer then
    local ok2, err = pcall(function()
      tc = json.encode(training_config(model))
      ow = optimizer_weights(model)
    end)
    if not ok2 then error(("%s: %s"):format(op, err), 0) end
  end
  write_file(op, a.filepath, function(w)
    local f = w.f
    f:set_attr("/", "keras_version", M.KERAS_VERSION, "vlen") -- Python str attributes
    f:set_attr("/", "backend", M.BACKEND, "vlen")
    f:set_attr("/", "model_config", mc)                         -- bytes
    if tc then f:set_attr("/", "training_config", tc) end
    write_weights(w, "/model_weights", model)
    if ow then write_optimizer(w, ow) end
  end)
end
Model.save = M.save_model

-- JSON values as compile takes them: null -> nil, no JSON metatables.
local function plain(v)
  if v == json.null then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = plain(x) end
  return out
end

-- Builds an object from {class_name, config} with a user's custom object.
local function from_custom(obj, config)
  if type(obj) == "function" then return obj end
  if type(obj) == "table" and type(obj.from_config) == "function" and class.is_class and class.is_class(obj) then
    local ok, r = pcall(obj.from_config, obj, config or {})
    if ok then return r end
  end
  return obj(config or {})
end

local function deserialize_spec(v, deser, custom)
  if v == nil then return nil end
  if type(v) == "string" then
    local c = custom[v]
    if c ~= nil then return c end
    return v
  end
  if type(v) ~= "table" then return v end
  if type(v.class_name) == "string" then
    local name = v.class_name:gsub("^Custom>", "")
    if custom[name] ~= nil then return from_custom(custom[name], v.config) end
    return deser({ class_name = name, config = v.config or {} })
  end
  local out = {}
  for k, x in pairs(v) do out[k] = deserialize_spec(x, deser, custom) end
  return out
end

-- tf.keras 2.11+ optimizer configs carry keys dnnlua's optimizers do not
-- take (EMA of the weights, XLA, the legacy flag): dropped when they hold
-- their no-op values, refused otherwise (the run could not continue as saved).
local OPTIMIZER_NOOP_KEYS = { use_ema = false, ema_momentum = "any", ema_overwrite_frequency = "any",
  jit_compile = "any", is_legacy_optimizer = false, decay = 0 }
local function optimizer_config(oc)
  local c = type(oc.config) == "table" and oc.config or nil
  if not c then return oc end
  local out = {}
  for k, v in pairs(c) do
    local noop = OPTIMIZER_NOOP_KEYS[k]
    if noop == nil then
      out[k] = v
    elseif noop ~= "any" and v ~= noop then
      error(("optimizer_config: '%s' = %s is not supported by dnnlua's %s"):format(k, tostring(v), oc.class_name), 0)
    end
  end
  return { class_name = oc.class_name, config = out }
end

-- Keras's compile_args_from_training_config, then compile.
function Reader:compile_from(model, text, custom)
  local ok, tc = pcall(json.decode, text)
  if not ok then self:fail("/", "attribute training_config is not valid JSON: %s", tc) end
  tc = plain(tc)
  if type(tc) ~= "table" then self:fail("/", "attribute training_config should be a JSON object") end
  local oc = tc.optimizer_config
  if type(oc) ~= "table" or type(oc.class_name) ~= "string" then
    self:fail("/", "attribute training_config: optimizer_config should be {\"class_name\": ..., \"config\": {...}}")
  end
  local args = {}
  local ok2, err = pcall(function()
    args.optimizer = deserialize_spec(optimizer_config(oc), dnn.optimizers.deserialize, custom)
    args.loss = deserialize_spec(tc.loss, dnn.losses.deserialize, custom)
    local metrics = deserialize_spec(tc.metrics, dnn.metrics.deserialize, custom)
    local weighted = deserialize_spec(tc.weighted_metrics, dnn.metrics.deserialize, custom)
    -- Keras writes a single output's built metrics as a list in a list
    local function unnest(m)
      if type(m) == "table" and getmetatable(m) == nil and #m == 1 and type(m[1]) == "table"
          and getmetatable(m[1]) == nil and #(model.output_names or { 1 }) == 1 then
        return m[1]
      end
      return m
    end
    args.metrics, args.weighted_metrics = unnest(metrics), unnest(weighted)
    args.loss_weights = tc.loss_weights
  end)
  if not ok2 then self:fail("/", "attribute training_config: %s", tostring(err)) end
  if args.loss == nil then self:fail("/", "attribute training_config has no loss") end
  local ok3, err3 = pcall(model.compile, model, args)
  if not ok3 then self:fail("/", "attribute training_config: compile failed: %s", tostring(err3)) end
end

-- Restores the optimizer state by position (Keras's set_weights on the
-- optimizer); a state that does not fit leaves a fresh optimizer, with a
-- warning, as Keras does.
function Reader:restore_optimizer(model)
  local g = "/optimizer_weights"
  local f = self.f
  local kind = f:kind(g)
  if kind == nil then return end
  if kind ~= "group" then self:fail(g, "expected a group, found a %s", kind) end
  local names = self:names(g, "weight_names", true)
  local infos = {}
  for i, n in ipairs(names) do
    local p = join(g, n)
    local k = f:kind(p)
    if k ~= "dataset" then
      self:fail(g, "weight '%s' (entry %d of weight_names) %s", n, i, k and ("is a " .. k .. ", not a dataset") or "is missing")
    end
    local shape, dtype = f:info(p)
    infos[i] = { path = p, shape = shape, dtype = dtype, name = n }
  end
  local opt = model.optimizer
  local st = opt:get_state()
  local snames = st.slot_names
  local tv = model.trainable_variables
  local extra = st.u_product ~= nil and 1 or 0
  local function fresh(why)
    M.warn(("%s: %s: the saved optimizer state does not fit this %s (%s); the optimizer starts fresh")
      :format(self.op, self.path, class.name(opt), why))
  end
  local nslots
  if #names == 1 + extra then
    nslots = 0 -- saved before any update
  elseif #names == 1 + #tv * #snames + extra then
    nslots = #snames
  else
    return fresh(("the file has %d optimizer weights; it needs 1 (iteration) + %d slots x %d trainable variables%s")
      :format(#names, #snames, #tv, extra > 0 and " + 1 (momentum product)" or ""))
  end
  if #infos[1].shape ~= 0 then return fresh("the first weight, the iteration count, is not a scalar") end
  local state = { class_name = class.name(opt), iterations = 0, slot_names = snames, slots = {} }
  local it = f:read_tensor(infos[1].path):item()
  state.iterations = math.tointeger(it)
  if not state.iterations or state.iterations < 0 then
    return fresh(("the iteration count %s is not an integer >= 0"):format(tostring(it)))
  end
  local i = 1
  if nslots > 0 then
    for pos, var in ipairs(tv) do
      local entry = {}
      for _, sn in ipairs(snames) do
        i = i + 1
        local info = infos[i]
        if not same_shape(info.shape, var:size()) then
          return fresh(("'%s' has shape %s, trainable variable %d has %s"):format(info.name, shape_str(info.shape),
            pos, shape_str(var:size())))
        end
        local v = f:read_tensor(info.path)
        if v.dtype ~= var.dtype then v = v:to(var.dtype) end
        entry[sn] = v
      end
      state.slots[pos] = entry
    end
  end
  if extra > 0 then
    local info = infos[i + 1]
    if #info.shape ~= 0 then return fresh("the momentum product is not a scalar") end
    state.u_product = f:read_tensor(info.path):item() + 0.0
  end
  local ok, err = pcall(opt.set_state, opt, state)
  if not ok then return fresh(tostring(err)) end
end

-- dnn.models.load_model(path [, {custom_objects=, compile=true}])
function M.load_model(...)
  local a = class.kwargs("load_model", { "filepath", "custom_objects", "compile" }, { "safe_mode", "options" }, ...)
  local op, path = "load_model", a.filepath
  check_path(op, path)
  local custom = a.custom_objects or {}
  if type(custom) ~= "table" then error(("load_model: custom_objects must be a table, got %s"):format(type(custom)), 0) end
  local f <close> = core.h5.open(path, op)
  local r = new_reader(f, path, op)
  local text = f:get_attr("/", "model_config")
  if text == nil then
    r:fail(nil, "no model_config attribute on the root group: not a whole-model file%s",
      (f:get_attr("/", "layer_names") ~= nil or f:get_attr("/", "layer_names0") ~= nil)
        and " (it holds weights only: build the model and call model:load_weights)" or "")
  end
  if type(text) ~= "string" then
    r:fail("/", "attribute model_config should be a JSON string, got a %s", math.type(text) or type(text))
  end
  local ok, cfg = pcall(json.decode, text)
  if not ok then r:fail("/", "attribute model_config is not valid JSON: %s", cfg) end
  if type(cfg) ~= "table" or type(cfg.class_name) ~= "string" or type(cfg.config) ~= "table" then
    r:fail("/", "attribute model_config should be JSON {\"class_name\": ..., \"config\": {...}}")
  end
  if type(models.model_from_config) ~= "function" then
    r:fail(nil, "dnn.models.model_from_config is not loaded: cannot rebuild the architecture")
  end
  local ok2, model = pcall(models.model_from_config, cfg, { custom_objects = custom })
  if not ok2 then r:fail("/", "attribute model_config: %s", tostring(model)) end
  local kind = f:kind("/model_weights")
  if kind ~= "group" then
    r:fail("/model_weights", kind and ("expected a group, found a " .. kind) or "the group is missing")
  end
  r:load_weights_into(model, "/model_weights", false, false)
  if a.compile ~= false then
    local tc = f:get_attr("/", "training_config")
    if tc == nil then
      M.warn(("%s: %s: no training configuration in the file, so the model was *not* compiled; compile it manually")
        :format(op, path))
    elseif type(tc) ~= "string" then
      r:fail("/", "attribute training_config should be a JSON string, got a %s", math.type(tc) or type(tc))
    else
      r:compile_from(model, tc, custom)
      r:restore_optimizer(model)
    end
  end
  return model
end

models.h5 = M
models.load_model = M.load_model
models.save_model = function(model, ...) return M.save_model(model, ...) end

return M
