-- dnn.Model: Keras's Model in Lua.  Three ways to make one:
--   functional   dnn.Model{inputs=inp, outputs=out}   (graph of layer calls on dnn.Input)
--   subclassing  local M = dnn.Model:extend("M"); function M:call(x, opts) ... end
--   Sequential   dnn.Sequential{layer1, layer2}        (models/Sequential.lua)
-- and the training API: compile, fit, evaluate, predict, the *_on_batch
-- forms, and the overridable train_step / test_step / predict_step.
-- The loops are plain Lua; the work happens in the C engine.
local dnn = require "dnn"
local class = require "dnn.class"
local Layer = require "dnn.layers.Layer"
local KT = require "dnn.models.KerasTensor"
local U = require "dnn.models.compile_utils"
local A = require "dnn.models.data_adapter"

local Model = Layer:extend("Model")

-- Layers assigned as fields of a subclassed model are tracked in assignment
-- order (Keras tracks attributes the same way).
function Model.__newindex(obj, k, v)
  rawset(obj, k, v)
  if type(k) ~= "string" or k:sub(1, 1) == "_" then return end
  local tracked = rawget(obj, "_tracked")
  if not tracked then
    tracked = {}
    rawset(obj, "_tracked", tracked)
  end
  local function track(l)
    if class.isinstance(l, Layer) and l ~= obj then
      for _, t in ipairs(tracked) do
        if t == l then return end
      end
      tracked[#tracked + 1] = l
    end
  end
  if class.isinstance(v, Layer) then
    track(v)
  elseif type(v) == "table" and getmetatable(v) == nil then
    for _, l in ipairs(v) do track(l) end
  end
end

local function model_base_name(self)
  if class.of(self) == Model then return "model" end
  return Layer.snake_case(class.name(self))
end

-- Model{inputs=, outputs=, name=} (functional) or Model{name=} (subclassed).
function Model:init(...)
  local a = class.kwargs(class.name(self), { "inputs", "outputs" }, { "name", "trainable", "dtype" }, ...)
  if not rawget(self, "_tracked") then rawset(self, "_tracked", {}) end
  Layer.init(self, { name = a.name or Layer.unique_name(model_base_name(self)), trainable = a.trainable,
    dtype = a.dtype })
  self.stop_training = false
  self.compiled = false
  if a.inputs ~= nil or a.outputs ~= nil then self:_init_graph(a.inputs, a.outputs) end
end

-- ---- the functional graph ----

local function flatten_kts(x, what)
  if KT.is(x) then return { x }, true end
  if type(x) == "table" and not dnn.is_tensor(x) then
    local out = {}
    for i, v in ipairs(x) do
      if not KT.is(v) then
        error(("Model: %s[%d] is not a symbolic tensor (make inputs with dnn.Input and call layers on them)")
          :format(what, i), 0)
      end
      out[i] = v
    end
    return out, false
  end
  error(("Model: %s must be a symbolic tensor from dnn.Input or a layer call, or a list of them, got %s")
    :format(what, dnn.is_tensor(x) and "a tensor" or type(x)), 0)
end

-- model.layers in Keras's order (functional.py _build_map and
-- _map_graph_network): a depth-first walk from the outputs numbers layers
-- as first reached and lists nodes in post-order; walking that list
-- backwards gives every node a depth (outputs 0, each parent at least one
-- deeper), a layer takes its deepest node's depth, and layers are listed
-- by decreasing depth, ties in first-reached order.  Input layers count as
-- nodes, so they come first.
function Model._keras_layer_order(outs)
  local function node_of(kt) return kt.node or { layer = kt.input_layer, inputs = {}, _input = kt } end
  local input_nodes = {}
  local function key(kt)
    if kt.node then return kt.node end
    input_nodes[kt] = input_nodes[kt] or node_of(kt)
    return input_nodes[kt]
  end
  local function parents(node)
    local list = {}
    KT.map(node.inputs, function(k) list[#list + 1] = key(k) return k end)
    return list
  end
  local finished, post, index, n_layers = {}, {}, {}, 0
  local function walk(node)
    if finished[node] then return end
    if not index[node.layer] then
      n_layers = n_layers + 1
      index[node.layer] = n_layers
    end
    for _, p in ipairs(parents(node)) do walk(p) end
    finished[node] = true
    post[#post + 1] = node
  end
  for _, kt in ipairs(outs) do walk(key(kt)) end
  local node_depth, layer_depth = {}, {}
  for i = #post, 1, -1 do
    local node = post[i]
    local d = math.max(node_depth[node] or 0, layer_depth[node.layer] or 0)
    layer_depth[node.layer], node_depth[node] = d, d
    for _, p in ipairs(parents(node)) do node_depth[p] = math.max(d + 1, node_depth[p] or 0) end
  end
  local layers = {}
  for l in pairs(layer_depth) do layers[#layers + 1] = l end
  table.sort(layers, function(a, b)
    if layer_depth[a] ~= layer_depth[b] then return layer_depth[a] > layer_depth[b] end
    return index[a] < index[b]
  end)
  return layers
end

function Model:_init_graph(inputs, outputs)
  if inputs == nil or outputs == nil then error("Model: give both inputs= and outputs=", 0) end
  local ins, single_in = flatten_kts(inputs, "inputs")
  local outs, single_out = flatten_kts(outputs, "outputs")
  for i, kt in ipairs(ins) do
    if not kt.input_layer then
      error(("Model: inputs[%d] was not made by dnn.Input"):format(i), 0)
    end
  end
  -- nodes in topological order, found by depth-first search from the outputs
  local order, state = {}, {}
  local input_set = {}
  for _, kt in ipairs(ins) do input_set[kt] = true end
  local function visit_kt(kt)
    if input_set[kt] then return end
    local node = kt.node
    if node == nil then
      error(("Model: output depends on input %s, which is not among inputs="):format(kt.name or "?"), 0)
    end
    if state[node] == "done" then return end
    if state[node] == "busy" then error("Model: the layer graph has a cycle", 0) end
    state[node] = "busy"
    KT.map(node.inputs, function(k) visit_kt(k) return k end)
    state[node] = "done"
    order[#order + 1] = node
  end
  for _, kt in ipairs(outs) do visit_kt(kt) end
  self._inputs, self._outputs = ins, outs
  self._single_input, self._single_output = single_in, single_out
  self._nodes = order
  self._functional = true
  self._layers = Model._keras_layer_order(outs)
  self.output_names = {}
  for i, kt in ipairs(outs) do self.output_names[i] = kt.node and kt.node.layer.name or ("output_" .. i) end
  self.input_names = {}
  for i, kt in ipairs(ins) do self.input_names[i] = kt.input_layer.name end
  self.built = true
end

-- Runs the recorded graph on real tensors.
function Model:_run_graph(x, opts)
  local values = {}
  local n = #self._inputs
  local given
  if n == 1 then
    local plain = type(x) == "table" and not dnn.is_tensor(x)
    given = { (plain and (x[1] or x[self.input_names[1]])) or x } -- {t}, {name=t} or t
  else
    if type(x) ~= "table" or dnn.is_tensor(x) then
      error(("%s: the model has %d inputs; give a list of %d tensors"):format(self.name, n, n), 0)
    end
    given = {}
    for i = 1, n do
      given[i] = x[i] ~= nil and x[i] or x[self.input_names[i]]
      if given[i] == nil then error(("%s: missing input %d (%s)"):format(self.name, i, self.input_names[i]), 0) end
    end
  end
  for i, kt in ipairs(self._inputs) do
    local t = given[i]
    if not dnn.is_tensor(t) then error(("%s: input %d must be a tensor, got %s"):format(self.name, i, type(t)), 0) end
    local want = kt.shape
    if t:dim() ~= want.n then
      error(("%s: input %d has shape %s but the model expects %s"):format(self.name, i, Layer.shape_str(t),
        KT.shape_str(want)), 0)
    end
    for d = 2, want.n do
      if want[d] ~= nil and t:size(d) ~= want[d] then
        error(("%s: input %d has shape %s but the model expects %s"):format(self.name, i, Layer.shape_str(t),
          KT.shape_str(want)), 0)
      end
    end
    values[kt] = t
  end
  for _, node in ipairs(self._nodes) do
    local args = KT.map(node.inputs, function(kt) return values[kt] end)
    local o = {}
    for k, v in pairs(node.opts) do o[k] = v end
    if opts and opts.training ~= nil then o.training = opts.training end
    local out = node.layer(args, o, table.unpack(node.extra, 1, node.extra.n))
    if KT.is(node.outputs) then
      values[node.outputs] = out
    else
      for i, kt in ipairs(node.outputs) do values[kt] = out[i] end
    end
  end
  if self._single_output then return values[self._outputs[1]] end
  local res = {}
  for i, kt in ipairs(self._outputs) do res[i] = values[kt] end
  return res
end

function Model:call(x, opts)
  if self._functional then return self:_run_graph(x, opts) end
  error(("%s: a subclassed model must define call(x, opts)"):format(class.name(self)), 0)
end

-- A frozen model freezes everything inside it while it runs.
local frozen_depth = 0
function Model:__call(x, opts, ...)
  if not self.trainable then frozen_depth = frozen_depth + 1 end
  local ok, out = pcall(Layer.__call, self, x, opts, ...)
  if not self.trainable then frozen_depth = frozen_depth - 1 end
  if not ok then error(out, 0) end
  return out
end

function Model:_sync_trainable()
  if frozen_depth > 0 then
    for _, e in ipairs(self:_weight_entries()) do
      local v = e.entry.var
      if v.requires_grad and v.is_leaf then v.requires_grad = false end
    end
  end
end
-- layers inside a frozen model must not turn their weights back on
local layer_sync = Layer._sync_trainable
function Layer:_sync_trainable()
  if frozen_depth > 0 then
    for _, w in ipairs(self._weights) do
      if w.var.requires_grad and w.var.is_leaf then w.var.requires_grad = false end
    end
    return
  end
  return layer_sync(self)
end

-- ---- layers and weights ----

class.getter(Model, "layers", function(self)
  if self._layers then
    local out = {}
    for _, l in ipairs(self._layers) do out[#out + 1] = l end
    return out
  end
  local out = {}
  for _, l in ipairs(rawget(self, "_tracked") or {}) do out[#out + 1] = l end
  return out
end)

function Model:get_layer(name, index)
  local layers = self.layers
  if type(name) == "number" and index == nil then name, index = nil, name end
  if index ~= nil then
    local l = layers[index]
    if not l then error(("get_layer: index %d is out of range (the model has %d layers)"):format(index, #layers), 2) end
    return l
  end
  for _, l in ipairs(layers) do
    if l.name == name then return l end
  end
  local names = {}
  for _, l in ipairs(layers) do names[#names + 1] = l.name end
  error(("get_layer: no layer named '%s' (layers: %s)"):format(tostring(name), table.concat(names, ", ")), 2)
end

function Model:_weight_entries(out, parent_trainable, seen)
  out = out or {}
  seen = seen or {}
  local on = (parent_trainable ~= false) and self.trainable
  Layer._weight_entries(self, out, on, seen)
  for _, l in ipairs(self.layers) do l:_weight_entries(out, on, seen) end
  return out
end

function Model:state_dict(prefix, out)
  out = out or {}
  prefix = prefix or ""
  Layer.state_dict(self, prefix, out)
  for _, l in ipairs(self.layers) do l:state_dict(prefix .. l.name .. ".", out) end
  return out
end

function Model:load_state_dict(sd, prefix, strict)
  prefix = prefix or ""
  Layer.load_state_dict(self, sd, prefix, strict)
  for _, l in ipairs(self.layers) do l:load_state_dict(sd, prefix .. l.name .. ".", strict) end
end

-- Penalties of every weight's regularizer (Keras's model.losses).
class.getter(Model, "losses", function(self) return self:regularization_losses() end)

-- ---- compile ----

function Model:compile(...)
  local a = class.kwargs("compile", { "optimizer", "loss", "metrics", "loss_weights", "weighted_metrics" },
    { "run_eagerly", "steps_per_execution", "jit_compile" }, ...)
  self.optimizer = dnn.optimizers.get(a.optimizer or "rmsprop")
  self.output_names = self.output_names or { "output_1" }
  if a.loss == nil then error("compile: give a loss (a name, a function or a loss object)", 2) end
  local ok, err = pcall(function()
    self.compiled_loss = U.LossesContainer(a.loss, a.loss_weights, self.output_names)
    local loss_objs = {}
    for i, l in ipairs(self.compiled_loss.losses) do loss_objs[i] = l end
    self.compiled_metrics = U.MetricsContainer(a.metrics, a.weighted_metrics, self.output_names, loss_objs)
  end)
  if not ok then error(tostring(err), 2) end
  self.compile_args = a
  self.compiled = true
  self:_warn_loss_activation()
end

-- Keras warns when a softmax/sigmoid output meets a loss told from_logits=true.
function Model:_warn_loss_activation()
  local last = self._layers and self._layers[#self._layers]
  local loss = self.compiled_loss.losses[1]
  if not (last and loss and type(loss.obj) == "table" and loss.obj.from_logits) then return end
  local act = last.activation
  if act == "softmax" or act == "sigmoid" or class.name(last) == "Softmax" then
    io.stderr:write(("warning: %s: the last layer applies %s but the loss has from_logits=true; "
      .. "outputs are probabilities, not logits\n"):format(self.name, act or "softmax"))
  end
end

local function check_compiled(self, what)
  if not self.compiled then
    error(("%s: the model must be compiled first (model:compile{optimizer=, loss=})"):format(what), 3)
  end
end

class.getter(Model, "metrics", function(self)
  local out = {}
  if self.compiled_loss then
    for _, m in ipairs(self.compiled_loss:metrics()) do out[#out + 1] = m end
  end
  if self.compiled_metrics then
    for _, m in ipairs(self.compiled_metrics.metrics) do out[#out + 1] = m end
  end
  return out
end)

class.getter(Model, "metrics_names", function(self)
  local out = {}
  for _, m in ipairs(self.metrics) do out[#out + 1] = m.name end
  return out
end)

function Model:reset_metrics()
  for _, m in ipairs(self.metrics) do m:reset_state() end
end

-- ---- steps ----

local function unpack_data(data)
  if dnn.is_tensor(data) then return data, nil, nil end
  return data[1], data[2], data[3]
end
Model.unpack_data = unpack_data

function Model:compute_loss(x, y, y_pred, sample_weight)
  return self.compiled_loss(y, y_pred, sample_weight, self.losses)
end

function Model:compute_metrics(x, y, y_pred, sample_weight)
  self.compiled_metrics:update_state(y, y_pred, sample_weight)
  return self:metrics_result()
end

-- {name = value} of every metric, the loss included.
function Model:metrics_result()
  local out = {}
  for _, m in ipairs(self.metrics) do out[m.name] = m:result() end
  return out
end
Model.get_metrics_result = Model.metrics_result

function Model:train_step(data)
  local x, y, sw = unpack_data(data)
  local tape = dnn.GradientTape()
  local y_pred = self(x, { training = true })
  local loss = self:compute_loss(x, y, y_pred, sw)
  local vars = self.trainable_variables
  self.optimizer:apply_gradients(tape:gradient(loss, vars), vars)
  return self:compute_metrics(x, y, y_pred, sw)
end

function Model:test_step(data)
  local x, y, sw = unpack_data(data)
  local y_pred = dnn.no_grad(function() return self(x, { training = false }) end)
  dnn.no_grad(function() self:compute_loss(x, y, y_pred, sw) end)
  return self:compute_metrics(x, y, y_pred, sw)
end

function Model:predict_step(data)
  local x = unpack_data(data)
  return self(x, { training = false })
end

-- ---- fit / evaluate / predict ----

local function callbacks_list(user, extra_first, extra_last)
  local CallbackList = require "dnn.callbacks.CallbackList"
  local list = {}
  for _, c in ipairs(extra_first or {}) do list[#list + 1] = c end
  for _, c in ipairs(user or {}) do list[#list + 1] = c end
  for _, c in ipairs(extra_last or {}) do list[#list + 1] = c end
  return CallbackList(list)
end

local function resolve_verbose(v)
  if v == nil or v == "auto" then return 1 end
  if v == false then return 0 end
  if v == true then return 1 end
  if v ~= 0 and v ~= 1 and v ~= 2 then error(("verbose must be 0, 1, 2 or \"auto\", got %s"):format(tostring(v)), 0) end
  return v
end

local function copy(t)
  local o = {}
  for k, v in pairs(t or {}) do o[k] = v end
  return o
end

local function should_validate(freq, epoch)
  if type(freq) == "number" then return (epoch + 1) % freq == 0 end
  for _, e in ipairs(freq) do
    if e == epoch + 1 then return true end
  end
  return false
end

local FIT_ARGS = { "x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
  "validation_data", "shuffle", "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch",
  "validation_steps", "validation_batch_size", "validation_freq" }

function Model:fit(...)
  local a = class.kwargs("fit", FIT_ARGS, { "max_queue_size", "workers", "use_multiprocessing" }, ...)
  check_compiled(self, "fit")
  local verbose = resolve_verbose(a.verbose)
  local epochs = a.epochs or 1
  local initial_epoch = a.initial_epoch or 0
  if math.type(epochs) ~= "integer" or epochs < 1 then error(("fit: epochs must be a positive integer, got %s"):format(tostring(epochs)), 2) end
  local x, y, sw = a.x, a.y, a.sample_weight
  local val = a.validation_data
  if a.validation_split and a.validation_split ~= 0 and val == nil then
    if A.is_sequence(x) or type(x) == "function" then
      error("fit: validation_split is not supported with a Sequence or generator; give validation_data", 2)
    end
    local train, v = A.split(x, y, sw, a.validation_split)
    x, y, sw = train[1], train[2], train[3]
    val = v
  end
  local ok_seq, seq = pcall(A.adapt, { x = x, y = y, sample_weight = sw, batch_size = a.batch_size,
    shuffle = a.shuffle ~= false, class_weight = a.class_weight, steps = a.steps_per_epoch, what = "fit" })
  if not ok_seq then error(tostring(seq), 2) end
  local steps = a.steps_per_epoch or seq:len()
  if steps == math.huge then error("fit: a generator needs steps_per_epoch", 2) end
  -- validation data: {x, y[, sw]} tensors, or a Sequence
  local val_seq
  if val ~= nil then
    if A.is_sequence(val) then
      val_seq = val
      self.validation_data = val
    else
      if type(val) ~= "table" then error("fit: validation_data must be {x_val, y_val[, sample_weight]} or a Sequence", 2) end
      local vx, vy, vw = val[1] or val.x, val[2] or val.y, val[3] or val.sample_weight
      val_seq = A.adapt { x = vx, y = vy, sample_weight = vw, batch_size = a.validation_batch_size or a.batch_size,
        shuffle = false, what = "fit (validation_data)" }
      self.validation_data = { x = vx, y = vy, sample_weight = vw }
    end
  else
    self.validation_data = nil
  end
  -- data-parallel replicas (dnn.distributed): shard the data, rank 0 reports
  local dist = dnn.distributed and dnn.distributed.fit_strategy(self)
  if dist then
    seq, val_seq, verbose, a.callbacks = dist:setup(seq, val_seq, verbose, a.callbacks)
    steps = a.steps_per_epoch or seq:len()
  end
  local history = dnn.callbacks.History()
  local first = {}
  if verbose > 0 then first[1] = dnn.callbacks.ProgbarLogger() end
  local callbacks = callbacks_list(a.callbacks, first, { history })
  callbacks:set_model(self)
  callbacks:set_params { epochs = epochs, steps = steps, verbose = verbose }
  self.stop_training = false
  local freq = a.validation_freq or 1
  local sys = dnn.core._sys
  local interrupted = false
  sys.sigint_begin()
  local ok, err = pcall(function()
    self._fit_sequence = seq
    self._resume_epoch = nil
    callbacks:call("on_train_begin", {})
    if dist then dist:train_begin(seq) end -- rank 0's weights, state and resume point
    -- a callback (BackupAndRestore) may have restored a run: go on from there
    local start = self._resume_epoch or initial_epoch
    self._resume_epoch = nil
    local logs = {}
    for epoch = start, epochs - 1 do
      self:reset_metrics()
      callbacks:call("on_epoch_begin", epoch, {})
      local len = seq:len()
      for step = 0, steps - 1 do
        local i = len == math.huge and 1 or (step % len) + 1
        local bx, by, bw = self:_on_device(A.batch(seq, i))
        if bx == nil then break end -- a generator ran dry
        callbacks:call("on_train_batch_begin", step, {})
        logs = self:train_step({ bx, by, bw })
        if dist then logs = dist:logs(logs) end
        callbacks:call("on_train_batch_end", step, copy(logs))
        if sys.sigint_pending() > 0 then interrupted = true end
        if dist then interrupted = dist:stop(interrupted) end
        if self.stop_training or interrupted then break end
      end
      if seq.on_epoch_end then seq:on_epoch_end() end
      local epoch_logs = copy(logs)
      if val_seq and not interrupted and should_validate(freq, epoch) then
        local vlogs = self:_evaluate_seq(val_seq, a.validation_steps, nil)
        if dist then vlogs = dist:val_logs(vlogs) end
        for k, v in pairs(vlogs) do epoch_logs["val_" .. k] = v end
      end
      callbacks:call("on_epoch_end", epoch, epoch_logs)
      logs = epoch_logs
      if dist then interrupted = dist:stop(interrupted) end
      if self.stop_training or interrupted then break end
    end
    local end_logs = copy(logs)
    if interrupted then end_logs.interrupted = true end
    callbacks:call("on_train_end", end_logs)
  end)
  sys.sigint_end()
  if dist then dist:finish() end
  self.validation_data = nil
  self._fit_sequence = nil
  if not ok then error(err, 0) end
  history.interrupted = interrupted
  return history
end

-- Evaluates over a Sequence (used by evaluate and fit's validation).
function Model:_evaluate_seq(seq, steps, callbacks)
  self:reset_metrics()
  local n = steps or seq:len()
  if n == math.huge then error("evaluate: a generator needs steps", 0) end
  local logs = {}
  if callbacks then callbacks:call("on_test_begin", {}) end
  local len = seq:len()
  for step = 0, n - 1 do
    local bx, by, bw = self:_on_device(A.batch(seq, len == math.huge and 1 or (step % len) + 1))
    if bx == nil then break end
    if callbacks then callbacks:call("on_test_batch_begin", step, {}) end
    logs = self:test_step({ bx, by, bw })
    if callbacks then callbacks:call("on_test_batch_end", step, copy(logs)) end
  end
  if callbacks then callbacks:call("on_test_end", copy(logs)) end
  return logs
end

-- Results as a table: by name (res.loss, res.accuracy) and in Keras's order (res[1] the loss).
local function results_table(self, logs)
  local out = copy(logs)
  for i, name in ipairs(self.metrics_names) do
    if logs[name] ~= nil then out[i] = logs[name] end
  end
  return out
end

function Model:evaluate(...)
  local a = class.kwargs("evaluate", { "x", "y", "batch_size", "verbose", "sample_weight", "steps", "callbacks",
    "return_dict" }, { "max_queue_size", "workers", "use_multiprocessing" }, ...)
  check_compiled(self, "evaluate")
  local ok, seq = pcall(A.adapt, { x = a.x, y = a.y, sample_weight = a.sample_weight, batch_size = a.batch_size,
    shuffle = false, steps = a.steps, what = "evaluate" })
  if not ok then error(tostring(seq), 2) end
  local verbose = resolve_verbose(a.verbose)
  local first = {}
  local steps = a.steps or seq:len()
  if verbose > 0 then first[1] = dnn.callbacks.ProgbarLogger() end
  local callbacks = callbacks_list(a.callbacks, first)
  callbacks:set_model(self)
  callbacks:set_params { steps = steps, verbose = verbose }
  local logs = self:_evaluate_seq(seq, a.steps, callbacks)
  return results_table(self, logs)
end

local function concat_outputs(chunks)
  if #chunks == 0 then return nil end
  if dnn.is_tensor(chunks[1]) then return dnn.cat(chunks, 1) end
  local out = {}
  for j = 1, #chunks[1] do
    local parts = {}
    for i, c in ipairs(chunks) do parts[i] = c[j] end
    out[j] = dnn.cat(parts, 1)
  end
  return out
end

function Model:predict(...)
  local a = class.kwargs("predict", { "x", "batch_size", "verbose", "steps", "callbacks" },
    { "max_queue_size", "workers", "use_multiprocessing" }, ...)
  local ok, seq = pcall(A.adapt, { x = a.x, batch_size = a.batch_size, shuffle = false, steps = a.steps, what = "predict" })
  if not ok then error(tostring(seq), 2) end
  local callbacks = callbacks_list(a.callbacks)
  callbacks:set_model(self)
  local steps = a.steps or seq:len()
  local chunks = {}
  callbacks:call("on_predict_begin", {})
  dnn.no_grad(function()
    local len = seq:len()
    for step = 0, steps - 1 do
      local bx = self:_on_device(A.batch(seq, len == math.huge and 1 or (step % len) + 1))
      if bx == nil then break end
      callbacks:call("on_predict_batch_begin", step, {})
      local out = self:predict_step({ bx })
      chunks[#chunks + 1] = out
      callbacks:call("on_predict_batch_end", step, { outputs = out })
    end
  end)
  callbacks:call("on_predict_end", {})
  return concat_outputs(chunks)
end

-- The tensors of a batch moved to the model's device (model:to("cuda"));
-- on the CPU they pass through untouched.
function Model:_on_device(x, y, sw)
  local dev = rawget(self, "_device")
  if dev == nil or dev == "cpu" then return x, y, sw end
  local to = dnn.cuda._to_device
  return to(x, dev), to(y, dev), to(sw, dev)
end

function Model:train_on_batch(...)
  local a = class.kwargs("train_on_batch", { "x", "y", "sample_weight", "class_weight", "reset_metrics", "return_dict" },
    nil, ...)
  check_compiled(self, "train_on_batch")
  if a.reset_metrics ~= false then self:reset_metrics() end
  local sw = a.sample_weight
  if a.class_weight then sw = A.class_weights(a.y, sw, a.class_weight) end
  return results_table(self, self:train_step({ self:_on_device(a.x, a.y, sw) }))
end

function Model:test_on_batch(...)
  local a = class.kwargs("test_on_batch", { "x", "y", "sample_weight", "reset_metrics", "return_dict" }, nil, ...)
  check_compiled(self, "test_on_batch")
  if a.reset_metrics ~= false then self:reset_metrics() end
  return results_table(self, self:test_step({ self:_on_device(a.x, a.y, a.sample_weight) }))
end

function Model:predict_on_batch(x)
  return dnn.no_grad(function() return self:predict_step({ (self:_on_device(x)) }) end)
end

function Model:summary(opts)
  return require("dnn.models.summary")(self, opts)
end

function Model:__tostring()
  return ("%s(name=%s, %d layers, %d params)"):format(class.name(self), self.name, #self.layers, self:count_params())
end

return Model
