-- TrainModel{architecture, activation=, loss=, optimizer=}: deep_pipe's
-- TorchModel -- a network with its loss and optimizer, trained one batch at
-- a time by train_model.
--
--   local model = T.TrainModel{net, activation=dnn.layers.Softmax(),
--     loss=dnn.losses.SparseCategoricalCrossentropy{from_logits=true},
--     optimizer=dnn.optimizers.Adam}
--   local loss = model:do_train_step(x, y, {lr=1e-3})   -- a number
--   local probs = model:do_inf_step(x)                 -- activation(net(x))
--
-- The loss is applied to the network's raw output (the logits), as deep_pipe
-- does, with Keras's argument order loss(y_true, y_pred).  A Keras
-- crossentropy told it gets probabilities (from_logits=false, the default)
-- is given activation(output) instead -- with the softmax it takes the
-- logits behind it, so it is exact either way.  optimizer: an optimizer, its
-- class (made with defaults) or a name.  The last value of a step is the
-- target, the others are the network's inputs (one input, or a list).
--
-- do_train_step's options: lr (sets the optimizer's learning rate),
-- accumulate / gradient_accumulation_steps (train_model's gradient
-- accumulation: the gradients of loss / steps add up until a step with
-- accumulate=false applies them), and any hyperparameter of the optimizer
-- (beta_1=, momentum=, ...).  Other names are an error here: a subclass
-- that takes a value policy overrides do_train_step, e.g. the seed's
--   local WeightedModel = T.TrainModel:extend("WeightedModel")
--   function WeightedModel:do_train_step(x, y, opts)
--     print("I received these weights:", opts.weights)
--     return T.TrainModel.do_train_step(self, x, y, {lr=opts.lr})
--   end
--
-- get_state/set_state hold everything the next steps depend on: the
-- weights, the optimizer's state and any accumulated gradients; set_state
-- first checks that the state was made by the same architecture and the
-- same kind of optimizer, and says what differs.
local dnn = require "dnn"
local class = require "dnn.class"

local TrainModel = class.Object:extend("TrainModel")

local function is_plain(t) return type(t) == "table" and getmetatable(t) == nil and not dnn.is_tensor(t) end

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(f) == "table" and type(mt) == "table" and mt.__call ~= nil
end

function TrainModel:init(...)
  local a = class.kwargs("TrainModel", { "architecture", "activation", "loss", "optimizer" }, nil, ...)
  local arch = a.architecture
  if type(arch) ~= "table" or not callable(arch) or type(arch.get_weights) ~= "function" then
    error(("TrainModel: architecture must be a layer or model (dnn.Sequential, dnn.Model, a Layer), got %s")
      :format(class.name(arch)), 3)
  end
  self.architecture = arch
  local act = a.activation
  if type(act) == "string" then act = dnn.layers.Activation(act) end
  if act ~= nil and not callable(act) then
    error(("TrainModel: activation must be a layer or function, got %s"):format(class.name(act)), 3)
  end
  self.activation = act
  if a.loss == nil then error("TrainModel: give the loss", 3) end
  self.loss = dnn.losses.get(a.loss)
  local opt = a.optimizer
  if opt == nil then error("TrainModel: give the optimizer (an optimizer, its class or a name)", 3) end
  self.optimizer = dnn.optimizers.get(opt)
  -- what the script asked for: policies may change hyperparameters later,
  -- so checkpoints are compared with this, not with the current values
  self._optimizer_config = nil
end

function TrainModel:__tostring()
  return ("TrainModel{%s, optimizer=%s}"):format(class.name(self.architecture), class.name(self.optimizer))
end

-- ---------- steps ----------

local function split(who, n_targets, ...)
  local n = select("#", ...)
  local args = { ... }
  local opts = {}
  if n >= 1 and is_plain(args[n]) then
    local keys = false
    for k in pairs(args[n]) do
      if type(k) == "string" then keys = true break end
    end
    if keys or next(args[n]) == nil then
      opts = args[n]
      n = n - 1
    end
  end
  if n <= n_targets then
    error(("%s: expected the inputs and then the target, got %d value%s"):format(who, n, n == 1 and "" or "s"), 3)
  end
  local inputs, targets = {}, {}
  for i = 1, n - n_targets do inputs[i] = args[i] end
  for i = n - n_targets + 1, n do targets[#targets + 1] = args[i] end
  return inputs, targets, opts
end

-- The value the loss compares with the target (see the header).
function TrainModel:loss_input(output)
  local l = self.loss
  if self.activation and type(l) == "table" and rawget(l, "from_logits") == false then
    return self.activation(output)
  end
  return output
end

-- loss(y_true, y_pred) plus the architecture's regularization penalties.
function TrainModel:compute_loss(output, target)
  local loss = self.loss(target, self:loss_input(output))
  if not dnn.is_tensor(loss) then
    error(("TrainModel: the loss returned a %s, not a tensor"):format(type(loss)), 0)
  end
  -- a loss function by name gives per-sample losses: their mean, as Keras's
  -- default reduction (sum_over_batch_size)
  if loss:numel() ~= 1 then loss = loss:mean() end
  local arch = self.architecture
  if type(arch.regularization_losses) == "function" then
    for _, r in ipairs(arch:regularization_losses()) do loss = loss + r end
  end
  return loss
end

local STEP_OPTS = { lr = true, accumulate = true, gradient_accumulation_steps = true }

-- Sets lr and the optimizer hyperparameters named in opts.
function TrainModel:_set_params(opts)
  local opt = self.optimizer
  self:_initial_optimizer_config()
  for k, v in pairs(opts) do
    if k == "lr" then
      if type(v) ~= "number" then
        error(("TrainModel.do_train_step: lr must be a number, got %s"):format(class.name(v)), 0)
      end
      if type(opt.learning_rate) ~= "number" then
        error(("TrainModel.do_train_step: the optimizer's learning rate is a schedule (%s); "
          .. "give lr to train_model or a schedule to the optimizer, not both"):format(class.name(opt.learning_rate)), 0)
      end
      opt.learning_rate = v
    elseif not STEP_OPTS[k] then
      local cfg = opt._cfg
      if type(k) ~= "string" or cfg == nil or cfg[k] == nil or k == "kind" or k == "name" or k == "step" then
        local names = {}
        for h in pairs(cfg or {}) do
          if h ~= "kind" and h ~= "name" and h ~= "step" and h ~= "learning_rate" and h ~= "u_product" then
            names[#names + 1] = h
          end
        end
        table.sort(names)
        error(("TrainModel.do_train_step: unknown argument '%s' (lr, accumulate, or a hyperparameter "
          .. "of %s: %s); to use a value policy of your own, override do_train_step")
          :format(tostring(k), class.name(opt), table.concat(names, ", ")), 0)
      end
      opt[k], cfg[k] = v, v
    end
  end
end

-- ---------- device ----------

-- model:to("cuda"): the architecture's weights, the optimizer's state and
-- any accumulated gradients move to the device, in place; the steps then
-- move each batch there (do_inf_step gives its result back on the inputs'
-- device, as deep_pipe's inf_step gives host arrays).  Returns the model.
function TrainModel:to(device)
  local ok, name = pcall(dnn.cuda._parse_device, device)
  if not ok then error("TrainModel:to: " .. tostring(name):gsub("^device: ", ""), 2) end
  self.architecture:to(name)
  dnn.cuda._move_optimizer_(self.optimizer, name)
  for _, g in pairs(self._accumulated or {}) do dnn.cuda._move_(g, name) end
  return self
end

-- The architecture's device, or nil on the CPU.
local function device_of(self)
  local dev = rawget(self.architecture, "_device")
  if dev == nil or dev == "cpu" then return nil end
  return dev
end

-- One step on a batch: forward, loss, gradients, update; returns the loss.
function TrainModel:do_train_step(...)
  local inputs, targets, opts = split("TrainModel.do_train_step", 1, ...)
  local arch = self.architecture
  local dev = device_of(self)
  if dev then inputs, targets = dnn.cuda._to_device(inputs, dev), dnn.cuda._to_device(targets, dev) end
  local x = #inputs == 1 and inputs[1] or inputs
  self:_restore_pending(x) -- first: the restored optimizer state holds an older lr
  self:_set_params(opts)
  self:_note_input_shapes(inputs)
  local steps = opts.gradient_accumulation_steps or 1
  local tape = dnn.GradientTape()
  local out = arch(x, { training = true })
  local loss = self:compute_loss(out, targets[1])
  local vars = arch.trainable_variables
  local grads = tape:gradient(steps > 1 and loss / steps or loss, vars)
  if type(grads) ~= "table" then grads = { grads } end
  local acc = self._accumulated
  if acc then
    for i = 1, #vars do
      if acc[i] then grads[i] = grads[i] and (grads[i] + acc[i]) or acc[i] end
    end
  end
  if opts.accumulate then
    local keep = {}
    for i = 1, #vars do keep[i] = grads[i] and grads[i]:detach() or nil end
    self._accumulated = keep
  else
    self._accumulated = nil
    grads.n = #vars
    self.optimizer:apply_gradients(grads, vars)
  end
  return loss:item()
end

-- The prediction for a batch: activation(architecture(inputs)).
function TrainModel:do_inf_step(...)
  local n = select("#", ...)
  if n == 0 then error("TrainModel.do_inf_step: give the inputs", 2) end
  local args = { ... }
  local x = n == 1 and args[1] or args
  local dev = device_of(self)
  local back = dev and dnn.is_tensor(args[1]) and args[1].device ~= dev and args[1].device or nil
  if dev then x = dnn.cuda._to_device(x, dev) end
  return dnn.no_grad(function()
    local out = self.architecture(x, { training = false })
    if self.activation then out = self.activation(out) end
    if back then out = dnn.cuda._to_device(out, back) end
    return out
  end)
end

-- ---------- state ----------

-- The inputs' shapes with a batch of 1: enough to build the architecture
-- again when a checkpoint is restored into an unbuilt one.
function TrainModel:_note_input_shapes(inputs)
  if self._input_shapes then return end
  local shapes = {}
  for i, t in ipairs(inputs) do
    if not dnn.is_tensor(t) or t:dim() == 0 then return end
    local s = {}
    for d = 1, t:dim() do s[d] = t:size(d) end
    s[1] = 1
    shapes[i] = { shape = s, dtype = t.dtype }
  end
  self._input_shapes = shapes
end

-- Builds the architecture with a forward pass on zeros of those shapes;
-- dnn's random generator is put back after, so that the initializers'
-- draws do not shift the restored random stream.
function TrainModel:_build_from(shapes)
  local xs = {}
  for i, e in ipairs(shapes) do xs[i] = dnn.zeros(e.shape, { dtype = e.dtype }) end
  self:_build_on(#xs == 1 and xs[1] or xs)
end

function TrainModel:_build_on(x)
  local saved = dnn.get_rng_state()
  local ok, err = pcall(dnn.no_grad, function() self.architecture(x, { training = false }) end)
  dnn.set_rng_state(saved)
  if not ok then error(err, 0) end
end

local function layer_classes(arch)
  local out = {}
  local ok, layers = pcall(function() return arch.layers end)
  if ok and type(layers) == "table" then
    for i, l in ipairs(layers) do out[i] = class.name(l) end
  end
  return out
end

-- What the weights must match: each weight's name, shape and dtype in
-- get_weights order, and the layers' classes.
function TrainModel:signature()
  local arch = self.architecture
  local weights = {}
  if type(arch._ordered_entries) == "function" then
    for i, e in ipairs(arch:_ordered_entries()) do
      weights[i] = ("%s %s %s"):format(e.name, tostring(e.var:size()), e.var.dtype)
    end
  else
    for i, w in ipairs(arch:get_weights()) do weights[i] = ("%s %s"):format(tostring(w:size()), w.dtype) end
  end
  return { weights = weights, layers = layer_classes(arch) }
end

local function optimizer_config(opt)
  local cfg = {}
  for k, v in pairs(opt:get_config()) do
    if k ~= "learning_rate" and k ~= "name" and (type(v) == "number" or type(v) == "boolean" or type(v) == "string") then
      cfg[k] = v
    end
  end
  return cfg
end

function TrainModel:_initial_optimizer_config()
  local cfg = rawget(self, "_optimizer_config")
  if not cfg then
    cfg = optimizer_config(self.optimizer)
    self._optimizer_config = cfg
  end
  return cfg
end

function TrainModel:get_state()
  local opt = self.optimizer
  local st = {
    weights = self.architecture:get_weights(),
    signature = self:signature(),
    optimizer = opt:get_state(),
    optimizer_class = class.name(opt),
    optimizer_config = self:_initial_optimizer_config(),
    input_shapes = self._input_shapes,
  }
  if self._pending then -- restored but not applied yet: it still is the state
    st.weights, st.signature, st.optimizer = self._pending.weights, self._pending.signature, self._pending.optimizer
  end
  if self._accumulated then
    st.accumulated = {}
    for i, g in pairs(self._accumulated) do st.accumulated[i] = g:clone() end
  end
  return st
end

local function describe_list(what, there, here, limit)
  local out = {}
  if #there ~= #here then
    out[#out + 1] = ("the checkpoint has %d %s, this model has %d"):format(#there, what, #here)
  end
  for i = 1, math.max(#there, #here) do
    if #out >= limit then break end
    if there[i] ~= here[i] and there[i] and here[i] then
      out[#out + 1] = ("%s %d is %s in the checkpoint, %s here"):format(what:sub(1, -2), i, there[i], here[i])
    end
  end
  return out
end

-- A list of differences between a saved state and this model (empty: fits).
-- The architecture is compared only once it has weights.
function TrainModel:differences(st)
  local diffs = {}
  local opt = self.optimizer
  if st.optimizer_class ~= nil and st.optimizer_class ~= class.name(opt) then
    diffs[#diffs + 1] = ("optimizer: the checkpoint has %s, this model %s"):format(tostring(st.optimizer_class), class.name(opt))
  elseif type(st.optimizer_config) == "table" then
    local here = self:_initial_optimizer_config()
    local keys = {}
    for k in pairs(st.optimizer_config) do keys[#keys + 1] = k end
    for k in pairs(here) do if st.optimizer_config[k] == nil then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local a, b = st.optimizer_config[k], here[k]
      if a ~= b then
        diffs[#diffs + 1] = ("optimizer %s: %s is %s in the checkpoint, %s here"):format(class.name(opt), k,
          tostring(a), tostring(b))
      end
    end
  end
  local sig = st.signature
  if type(sig) == "table" and #self.architecture:get_weights() > 0 then
    local mine = self:signature()
    for _, d in ipairs(describe_list("layers", sig.layers or {}, mine.layers, 3)) do
      diffs[#diffs + 1] = "architecture: " .. d
    end
    for _, d in ipairs(describe_list("weights", sig.weights or {}, mine.weights, 3)) do
      diffs[#diffs + 1] = "architecture: " .. d
    end
  end
  return diffs
end

local function check(self, st)
  local diffs = self:differences(st)
  if #diffs > 0 then
    error("the checkpoint was made by a different model: " .. table.concat(diffs, "; "), 0)
  end
end

local function apply(self, st)
  self.architecture:set_weights(st.weights)
  self.optimizer:set_state(st.optimizer)
  self._accumulated = nil
  if st.accumulated then
    self._accumulated = {}
    for i, g in pairs(st.accumulated) do self._accumulated[i] = g:clone() end
  end
end

-- Restores get_state's table.  An architecture not built yet (no weights:
-- its input shape comes with the first batch) is restored at the first
-- step, after a forward pass that builds it.
function TrainModel:set_state(st)
  if type(st) ~= "table" or type(st.weights) ~= "table" then
    error("TrainModel.set_state: expected the table get_state returned", 2)
  end
  check(self, st)
  if #st.weights > 0 and #self.architecture:get_weights() == 0 then
    if type(st.input_shapes) ~= "table" then
      self._pending = st -- built by the first step's batch
      return
    end
    self:_build_from(st.input_shapes)
    self._input_shapes = st.input_shapes
    check(self, st)
  end
  self._pending = nil
  apply(self, st)
end

-- Builds the architecture on x and applies a pending state.  dnn's random
-- generator is put back after the build so that the initializers' draws do
-- not shift the restored random stream.
function TrainModel:_restore_pending(x)
  local st = self._pending
  if not st then return end
  self:_build_on(x)
  self._pending = nil
  check(self, st)
  apply(self, st)
end

return TrainModel
