-- The base of the optimizers (keras.optimizers.Optimizer): arguments, the
-- step count, learning rates and schedules, lazily created slots, Keras's
-- apply_gradients and PyTorch's zero_grad/step, config and state.
--
-- A subclass only declares its update rule (kind, the C rule in
-- src/cpu/optim_rules.h) and its Keras arguments with their defaults:
--   local Adam = Optimizer:extend("Adam")
--   Adam.kind, Adam.default_name = "adam", "adam"
--   Adam.hyper = {{"learning_rate", 0.001}, {"beta_1", 0.9}, ...}
-- Every update is one call of dnn.core._optim.apply over all variables.
local dnn = require "dnn"
local class = require "dnn.class"
local schedules = require "dnn.schedules"
local core = dnn.core

local Optimizer = class.Object:extend("Optimizer")

-- Arguments every optimizer takes after its own (Keras's base arguments).
local COMMON = { "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "name" }
-- Keyword-only aliases for PyTorch users.
local ALIASES = { "params", "lr", "betas", "eps" }

local function is_param_list(x)
  if dnn.is_tensor(x) then return true end
  return type(x) == "table" and getmetatable(x) == nil and dnn.is_tensor(x[1])
end

local function is_schedule(x)
  if type(x) == "function" then return true end
  local mt = getmetatable(x)
  return type(x) == "table" and type(mt) == "table" and mt.__call ~= nil
end

-- The argument names of cls, in Keras's positional order.
local function arg_names(cls)
  local names, seen = {}, {}
  for _, h in ipairs(cls.hyper) do
    names[#names + 1] = h[1]
    seen[h[1]] = true
  end
  for _, k in ipairs(COMMON) do
    if not seen[k] then names[#names + 1] = k end
  end
  return names
end

-- PyTorch's forms: Adam(params), Adam(params, {lr=}), Adam{params=, lr=},
-- Adam{params, lr=}; Keras's: Adam(), Adam{learning_rate=}, Adam{1e-3}.
local function parse_args(cls, a, b, ...)
  local fname = rawget(cls, "__name")
  local params
  if select("#", ...) == 0 and (dnn.is_tensor(a) or (is_param_list(a) or
      (b ~= nil and type(a) == "table" and getmetatable(a) == nil and next(a) == nil))) then
    params = a
    if b ~= nil and (type(b) ~= "table" or getmetatable(b) ~= nil) then
      error(("%s: after the parameters give an options table, got %s"):format(fname, type(b)), 0)
    end
    a, b = b, nil
  end
  local args = table.pack(a, b, ...)
  local n = args.n
  while n > 0 and args[n] == nil do n = n - 1 end
  local o = class.kwargs(fname, arg_names(cls), ALIASES, table.unpack(args, 1, n))
  if o.params ~= nil then
    if params ~= nil then error(fname .. ": parameters given twice", 0) end
    params = o.params
  end
  local lr = o.learning_rate
  if type(lr) == "table" and getmetatable(lr) == nil and type(lr[1]) == "table" and lr[1].params ~= nil then
    error(fname .. ": parameter groups (lists of {params=..., lr=...}) are not supported; " ..
      "make one optimizer per group", 0)
  end
  if is_param_list(o.learning_rate) then -- Adam{params, lr=...}
    if params ~= nil then error(fname .. ": parameters given twice", 0) end
    params, o.learning_rate = o.learning_rate, nil
  end
  for alias, real in pairs({ lr = "learning_rate", eps = "epsilon" }) do
    if o[alias] ~= nil then
      if o[real] ~= nil and o[real] ~= o[alias] then
        error(("%s: give %s or %s, not both"):format(fname, real, alias), 0)
      end
      o[real], o[alias] = o[alias], nil
    end
  end
  if o.betas ~= nil then
    if type(o.betas) ~= "table" or #o.betas ~= 2 then
      error(fname .. ": betas must be a pair {beta_1, beta_2}", 0)
    end
    o.beta_1, o.beta_2 = o.beta_1 or o.betas[1], o.beta_2 or o.betas[2]
    o.betas = nil
  end
  if params ~= nil then
    if dnn.is_tensor(params) then params = { params } end
    if type(params) ~= "table" then
      error(("%s: params must be a tensor or a list of tensors, got %s"):format(fname, type(params)), 0)
    end
    if type(params[1]) == "table" and not dnn.is_tensor(params[1]) then
      error(fname .. ": parameter groups (lists of {params=..., lr=...}) are not supported; " ..
        "make one optimizer per group", 0)
    end
  end
  return o, params
end

-- Checks a value against the type of its default.
local function check_type(fname, k, v, default)
  local want = type(default)
  if want == "boolean" then
    if type(v) ~= "boolean" then error(("%s: %s must be true or false, got %s"):format(fname, k, type(v)), 0) end
  elseif type(v) ~= "number" then
    error(("%s: %s must be a number, got %s"):format(fname, k, type(v)), 0)
  end
end

function Optimizer:init(a, b, ...)
  local cls = class.of(self)
  local fname = rawget(cls, "__name")
  if not cls.kind then error(fname .. ": abstract optimizer; use SGD, Adam, ... or extend one", 0) end
  local o, params = parse_args(cls, a, b, ...)
  local cfg = { kind = cls.kind, name = fname }
  for _, h in ipairs(cls.hyper) do
    local k, default = h[1], h[2]
    local v = o[k]
    if v == nil then v = default end
    if k == "learning_rate" then
      if type(v) == "table" and getmetatable(v) == nil and v.class_name then v = schedules.deserialize(v) end
      if type(v) ~= "number" and not is_schedule(v) then
        error(("%s: learning_rate must be a number, a schedule or a function of the step, got %s")
          :format(fname, class.name(v)), 0)
      end
      self.learning_rate = v
    elseif v ~= nil then
      check_type(fname, k, v, default)
      self[k], cfg[k] = v, v
    end
  end
  for _, k in ipairs(COMMON) do
    local v = o[k]
    if k ~= "name" and v ~= nil and cfg[k] == nil then
      if type(v) ~= "number" then error(("%s: %s must be a number, got %s"):format(fname, k, type(v)), 0) end
      self[k], cfg[k] = v, v
    end
  end
  if o.name ~= nil and type(o.name) ~= "string" then
    error(("%s: name must be a string, got %s"):format(fname, type(o.name)), 0)
  end
  self.name = o.name or cls.default_name
  self.iterations = 0
  self._cfg = cfg
  self._vars, self._index, self._slots, self._nodecay, self._exclude = {}, {}, {}, {}, {}
  self._u_product = 1.0
  -- Keras checks the arguments when the optimizer is made: so do we
  cfg.learning_rate = self:_learning_rate_at(0)
  core._optim.check(cfg)
  self._nslots = #core._optim.slot_names(cfg)
  if params ~= nil then
    self.params = {}
    for i, p in ipairs(params) do
      self.params[i] = p
      self:_register(p, i, "params")
    end
  end
end

function Optimizer:__tostring()
  local lr = self.learning_rate
  return ("%s{learning_rate=%s, iterations=%d}"):format(class.name(self),
    type(lr) == "number" and ("%g"):format(lr) or class.name(lr), self.iterations)
end

-- ---------- learning rate ----------

-- The learning rate for the update after `iterations` updates.
function Optimizer:_learning_rate_at(iterations)
  local lr = self.learning_rate
  if type(lr) ~= "number" then
    if not is_schedule(lr) then
      error(("%s: learning_rate must be a number, a schedule or a function of the step, got %s")
        :format(class.name(self), class.name(lr)), 0)
    end
    lr = lr(iterations)
    if dnn.is_tensor(lr) then lr = lr:item() end
    if type(lr) ~= "number" then
      error(("%s: the learning rate schedule returned %s, not a number"):format(class.name(self), type(lr)), 0)
    end
  end
  return lr
end

-- The learning rate the next update uses (Keras's optimizer.learning_rate
-- reads as this when it is a schedule).
function Optimizer:current_learning_rate()
  return self:_learning_rate_at(self.iterations)
end

-- ---------- variables and slots ----------

-- Gives variable v its position; slots come with its first gradient.
function Optimizer:_register(v, i, what)
  local fname = class.name(self)
  if not dnn.is_tensor(v) then
    error(("%s: %s %d is a %s, not a tensor"):format(fname, what or "variable", i, type(v)), 4)
  end
  if not v:is_floating_point() then
    error(("%s: %s %d is %s; only float32 and float64 variables can be trained"):format(fname,
      what or "variable", i, v.dtype), 4)
  end
  local pos = #self._vars + 1
  self._vars[pos], self._index[v] = v, pos
  if self._exclude[v] then self._nodecay[pos] = true end
  local pending = self._pending and self._pending[pos]
  if pending then
    self._pending[pos] = nil
    self:_restore_slots(pos, pending)
  end
  return pos
end

-- The packed (nslots, ...) slot block of the variable at pos, made if needed.
function Optimizer:_slot_block(pos)
  local s = self._slots[pos]
  if s == nil and self._nslots > 0 then
    s = core._optim.new_slots(self._cfg, self._vars[pos])
    self._slots[pos] = s
  end
  return s
end

-- Names of this optimizer's slots (Keras's names: "momentum", "velocity", ...).
function Optimizer:slot_names()
  return core._optim.slot_names(self._cfg)
end

-- The slot `name` of variable v (a live view: writes change the optimizer).
function Optimizer:get_slot(v, name)
  local pos = self._index[v]
  if not pos then error(class.name(self) .. ".get_slot: this optimizer has not seen that variable", 2) end
  for k, nm in ipairs(self:slot_names()) do
    if nm == name then
      local s = self:_slot_block(pos)
      return s:select(1, k)
    end
  end
  error(("%s.get_slot: no slot '%s' (slots: %s)"):format(class.name(self), tostring(name),
    table.concat(self:slot_names(), ", ")), 2)
end

-- The variables this optimizer has updated (or was given), by position.
function Optimizer:variables()
  return { table.unpack(self._vars) }
end

-- Keras's exclude_from_weight_decay{var_list=}: those variables are not decayed.
function Optimizer:exclude_from_weight_decay(opts)
  opts = opts or {}
  if opts.var_names ~= nil then
    error(class.name(self) .. ".exclude_from_weight_decay: var_names is not supported (tensors have no " ..
      "names here); give var_list", 2)
  end
  for _, v in ipairs(opts.var_list or opts) do
    self._exclude[v] = true
    local pos = self._index[v]
    if pos then self._nodecay[pos] = true end
  end
end

-- ---------- updates ----------

-- The configuration of the next update (without changing anything).
function Optimizer:_step_config()
  local cfg = self._cfg
  local step = self.iterations + 1
  cfg.step = step
  cfg.learning_rate = self:_learning_rate_at(self.iterations)
  if cfg.kind == "nadam" then
    cfg.u_product = self._u_product * cfg.beta_1 * (1 - 0.5 * 0.96 ^ step)
  end
  return cfg
end

local function list_length(fname, what, t)
  -- plain lists, and the weight lists layers return (model.trainable_variables)
  local mt = type(t) == "table" and getmetatable(t)
  if type(t) ~= "table" or (mt ~= nil and not (type(mt) == "table" and mt.__name == "dnn.WeightList")) then
    error(("%s: %s must be a list, got %s"):format(fname, what, class.name(t)), 4)
  end
  if t.n ~= nil then return t.n end
  local n = 0
  for k in pairs(t) do
    if math.type(k) == "integer" and k > n then n = k end
  end
  return n
end

-- Keras's apply_gradients: (grads, vars) as two lists, or one list of
-- {grad, var} pairs.  A nil gradient skips its variable (a list whose last
-- gradients are nil needs its length in field n, as GradientTape:gradient
-- and table.pack give).  Returns the number of updates applied so far.
function Optimizer:apply_gradients(grads, vars)
  local fname = class.name(self) .. ".apply_gradients"
  if vars == nil then
    local n = list_length(fname, "the list of {grad, var} pairs", grads)
    local g, v = { n = n }, { n = n }
    for i = 1, n do
      local pair = grads[i]
      if type(pair) ~= "table" or getmetatable(pair) ~= nil then
        error(("%s: entry %d is a %s; give {grad, var} pairs, or two lists (grads, vars)")
          :format(fname, i, class.name(pair)), 2)
      end
      g[i], v[i] = pair[1], pair[2]
    end
    grads, vars = g, v
  end
  return self:_apply(fname, grads, vars)
end

-- Keras 3's apply(grads, vars): vars defaults to the variables seen so far.
function Optimizer:apply(grads, vars)
  return self:_apply(class.name(self) .. ".apply", grads, vars or self._vars)
end

function Optimizer:_apply(fname, grads, vars)
  local ng = list_length(fname, "grads", grads)
  local n = list_length(fname, "vars", vars)
  if ng ~= n then error(("%s: %d gradients for %d variables"):format(fname, ng, n), 3) end
  -- first the step's configuration: a learning-rate function may run Lua code
  local cfg = self:_step_config()
  -- the argument lists are reused from step to step and emptied after each
  -- call, so they hold no tensor between steps
  local scratch = self._scratch
  if not scratch then
    scratch = { {}, {}, {}, {} }
    self._scratch = scratch
  end
  local P, G, S, D = scratch[1], scratch[2], scratch[3], scratch[4]
  local index, slots, nodecay = self._index, self._slots, self._nodecay
  local any = false
  for i = 1, n do
    local v = vars[i]
    local pos = index[v] or self:_register(v, i)
    local g = grads[i]
    P[i], G[i], D[i] = v, g, nodecay[pos] or false
    if g ~= nil then
      any = true
      S[i] = slots[pos] or self:_slot_block(pos) or false
    else
      S[i] = false
    end
  end
  P.n, G.n, S.n, D.n = n, n, n, n
  if not any then
    for i = 1, n do P[i], G[i], S[i], D[i] = nil, nil, nil, nil end
    error(fname .. ": No gradients provided for any variable.", 3)
  end
  local ok, err = pcall(core._optim.apply, cfg, P, G, S, D)
  for i = 1, n do P[i], G[i], S[i], D[i] = nil, nil, nil, nil end
  if not ok then error(err, 3) end
  if cfg.kind == "nadam" then self._u_product = cfg.u_product end
  self.iterations = self.iterations + 1
  return self.iterations
end

-- Keras's minimize(loss_fn, var_list): gradients by GradientTape, then apply.
function Optimizer:minimize(loss, var_list)
  local target = loss
  if type(loss) == "function" then target = dnn.enable_grad(loss) end
  local tape = dnn.GradientTape()
  local grads = tape:gradient(target, var_list)
  return self:apply_gradients(grads, var_list)
end

-- ---------- PyTorch style ----------

local function torch_params(self, fname)
  local ps = self.params
  if ps == nil then
    error(("%s: this optimizer has no params; make it with them (%s(model:parameters(), {lr=...})) " ..
      "or use apply_gradients(grads, vars)"):format(fname, class.name(self)), 3)
  end
  return ps
end

-- Sets every parameter's .grad to nil (PyTorch's zero_grad(set_to_none=True)).
function Optimizer:zero_grad()
  for _, p in ipairs(torch_params(self, class.name(self) .. ".zero_grad")) do p.grad = nil end
end

-- One update from the parameters' .grad (parameters without one are
-- skipped, and a step with no gradient at all changes nothing, as in
-- PyTorch).  step(closure) first runs closure (which recomputes the loss and
-- calls backward) and returns its result.
function Optimizer:step(closure)
  local ps = torch_params(self, class.name(self) .. ".step")
  local loss
  if closure ~= nil then loss = dnn.enable_grad(closure) end
  local grads, any = { n = #ps }, false
  for i, p in ipairs(ps) do
    grads[i] = p.grad
    any = any or grads[i] ~= nil
  end
  if any then self:_apply(class.name(self) .. ".step", grads, ps) end
  return loss
end

-- ---------- config ----------

function Optimizer:get_config()
  local cls = class.of(self)
  local lr = self.learning_rate
  if class.isinstance(lr, schedules.LearningRateSchedule) then lr = schedules.serialize(lr) end
  local config = { name = self.name, learning_rate = lr }
  for _, h in ipairs(cls.hyper) do
    if h[1] ~= "learning_rate" then config[h[1]] = self[h[1]] end
  end
  for _, k in ipairs(COMMON) do
    if k ~= "name" and config[k] == nil then config[k] = self[k] end
  end
  return config
end

function Optimizer.from_config(cls, config)
  return cls(config)
end

-- ---------- state ----------

-- Everything the next updates depend on, as plain values and tensors
-- (copies): the step count, the learning rate when it is a number, Nadam's
-- momentum product, and the slots of each variable by position.
function Optimizer:get_state()
  local state = { class_name = class.name(self), iterations = self.iterations,
                  slot_names = self:slot_names(), slots = {}, n_variables = #self._vars }
  if type(self.learning_rate) == "number" then state.learning_rate = self.learning_rate end
  if self._cfg.kind == "nadam" then state.u_product = self._u_product end
  local names = state.slot_names
  for pos, block in pairs(self._slots) do
    local entry = {}
    for k, nm in ipairs(names) do entry[nm] = block:select(1, k):clone() end
    state.slots[pos] = entry
  end
  return state
end

-- Copies saved slot values into the variable at pos (made if needed).
function Optimizer:_restore_slots(pos, entry)
  local fname = class.name(self) .. ".set_state"
  local v = self._vars[pos]
  local block = self:_slot_block(pos)
  for k, nm in ipairs(self:slot_names()) do
    local src = entry[nm]
    if not dnn.is_tensor(src) then
      error(("%s: slot '%s' of variable %d is missing from the state"):format(fname, nm, pos), 4)
    end
    local dst = block:select(1, k)
    if tostring(src:size()) ~= tostring(dst:size()) then
      error(("%s: slot '%s' of variable %d has shape %s but the variable has shape %s")
        :format(fname, nm, pos, tostring(src:size()), tostring(v:size())), 4)
    end
    dst:copy_(src)
  end
end

-- Restores what get_state returned, exactly: later updates continue as
-- they would have from that point.  Works before the first update too (the
-- slots wait for their variables to appear).
function Optimizer:set_state(state)
  local fname = class.name(self) .. ".set_state"
  if type(state) ~= "table" then error(fname .. ": expected the table get_state returned", 2) end
  if state.class_name ~= nil and state.class_name ~= class.name(self) then
    error(("%s: the state is of a %s, not a %s"):format(fname, tostring(state.class_name), class.name(self)), 2)
  end
  local it = state.iterations
  if math.type(it) ~= "integer" or it < 0 then
    error(("%s: iterations must be an integer >= 0, got %s"):format(fname, tostring(it)), 2)
  end
  local names = self:slot_names()
  if state.slot_names ~= nil and table.concat(state.slot_names, ",") ~= table.concat(names, ",") then
    error(("%s: the state has slots {%s} but this optimizer keeps {%s}"):format(fname,
      table.concat(state.slot_names, ", "), table.concat(names, ", ")), 2)
  end
  local slots = state.slots or {}
  if type(slots) ~= "table" then error(fname .. ": slots must be a table", 2) end
  for pos, entry in pairs(slots) do
    if math.type(pos) ~= "integer" or pos < 1 or type(entry) ~= "table" then
      error(("%s: slots must map variable positions to tables of slot tensors (bad key %s)")
        :format(fname, tostring(pos)), 2)
    end
  end
  -- everything checked that can be without the variables: now write
  self._pending = {}
  for pos in pairs(self._slots) do
    if slots[pos] == nil then self._slots[pos] = nil end -- had no slots at that point
  end
  for pos, entry in pairs(slots) do
    if self._vars[pos] then self:_restore_slots(pos, entry) else self._pending[pos] = entry end
  end
  self.iterations = it
  if state.learning_rate ~= nil and type(self.learning_rate) == "number" then
    self.learning_rate = state.learning_rate
  end
  if state.u_product ~= nil then self._u_product = state.u_product end
end

return Optimizer
