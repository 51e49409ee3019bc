-- Keras's learning-rate schedules (keras.optimizers.schedules): objects
-- called with the optimizer's step count (0-based: the number of updates
-- applied so far) that return the learning rate, with get_config() and
-- from_config() for saving.  Reached as dnn.optimizers.schedules.
--
--   local S = dnn.optimizers.schedules
--   local lr = S.ExponentialDecay{1e-2, decay_steps=1000, decay_rate=0.9}
--   lr(0) --> 0.01
--   dnn.optimizers.SGD{learning_rate=lr}
--
-- Custom schedules extend S.LearningRateSchedule and define __call(step).
local class = require "dnn.class"

local S = {}

local LearningRateSchedule = class.Object:extend("LearningRateSchedule")
S.LearningRateSchedule = LearningRateSchedule

function LearningRateSchedule:__call()
  error(("learning rate schedule '%s' must define __call(step)"):format(class.name(self)), 2)
end

function LearningRateSchedule:get_config()
  error(("learning rate schedule '%s' must define get_config() to be saved"):format(class.name(self)), 2)
end

function LearningRateSchedule.from_config(cls, config)
  return cls(config)
end

function LearningRateSchedule:__tostring()
  local cfg = self:get_config()
  local keys = {}
  for k in pairs(cfg) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = cfg[k]
    if type(v) == "table" then v = "{" .. table.concat(v, ", ") .. "}" end
    parts[#parts + 1] = ("%s=%s"):format(k, tostring(v))
  end
  return ("%s{%s}"):format(class.name(self), table.concat(parts, ", "))
end

-- ---------- argument checks shared by the schedules ----------

local function number_arg(fname, o, k, default)
  local v = o[k]
  if v == nil then v = default end
  if type(v) ~= "number" then
    error(("%s: %s must be a number, got %s"):format(fname, k, v == nil and "nothing" or type(v)), 0)
  end
  return v
end

local function decay_steps_arg(fname, o, k)
  local v = number_arg(fname, o, k)
  if not (v > 0) then
    error(("%s: Argument `%s` must be > 0. Received: %s=%s"):format(fname, k, k, tostring(v)), 0)
  end
  return v
end

local function step_value(fname, step)
  if type(step) == "number" then return step end
  if type(step) == "userdata" and step.item then return step:item() end
  error(("%s: the step must be a number, got %s"):format(fname, type(step)), 0)
end

-- Defines a schedule class: names are its Keras arguments in order.
local function schedule(name, names, init, call)
  local cls = LearningRateSchedule:extend(name)
  function cls:init(...)
    local o = class.kwargs(name, names, nil, ...)
    init(self, o)
    if o.name ~= nil and type(o.name) ~= "string" then
      error(("%s: name must be a string, got %s"):format(name, type(o.name)), 0)
    end
    self.name = o.name or self.default_name
  end
  cls.__call = function(self, step) return call(self, step_value(name, step)) end
  S[name] = cls
  return cls
end

-- ---------- the schedules ----------

local ExponentialDecay = schedule("ExponentialDecay",
  { "initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name" },
  function(self, o)
    self.initial_learning_rate = number_arg("ExponentialDecay", o, "initial_learning_rate")
    self.decay_steps = decay_steps_arg("ExponentialDecay", o, "decay_steps")
    self.decay_rate = number_arg("ExponentialDecay", o, "decay_rate")
    self.staircase = o.staircase and true or false
  end,
  function(self, step)
    local p = step / self.decay_steps
    if self.staircase then p = math.floor(p) end
    return self.initial_learning_rate * self.decay_rate ^ p
  end)
ExponentialDecay.default_name = "ExponentialDecay"
function ExponentialDecay:get_config()
  return { initial_learning_rate = self.initial_learning_rate, decay_steps = self.decay_steps,
           decay_rate = self.decay_rate, staircase = self.staircase, name = self.name }
end

local PiecewiseConstantDecay = schedule("PiecewiseConstantDecay", { "boundaries", "values", "name" },
  function(self, o)
    local b, v = o.boundaries, o.values
    if type(b) ~= "table" or type(v) ~= "table" then
      error("PiecewiseConstantDecay: boundaries and values must be lists of numbers", 0)
    end
    if #b ~= #v - 1 then
      error(("PiecewiseConstantDecay: The length of boundaries should be 1 less than the length of " ..
        "values. Received: %d boundaries and %d values"):format(#b, #v), 0)
    end
    for i, x in ipairs(b) do
      if type(x) ~= "number" then error(("PiecewiseConstantDecay: boundary %d is not a number"):format(i), 0) end
      if i > 1 and not (x > b[i - 1]) then
        error(("PiecewiseConstantDecay: boundaries must increase strictly (%g after %g)"):format(x, b[i - 1]), 0)
      end
    end
    for i, x in ipairs(v) do
      if type(x) ~= "number" then error(("PiecewiseConstantDecay: value %d is not a number"):format(i), 0) end
    end
    self.boundaries, self.values = { table.unpack(b) }, { table.unpack(v) }
  end,
  function(self, step)
    -- values[1] while step <= boundaries[1], values[i+1] in (b[i], b[i+1]], ...
    local b = self.boundaries
    for i = 1, #b do
      if step <= b[i] then return self.values[i] end
    end
    return self.values[#self.values]
  end)
PiecewiseConstantDecay.default_name = "PiecewiseConstant"
function PiecewiseConstantDecay:get_config()
  return { boundaries = { table.unpack(self.boundaries) }, values = { table.unpack(self.values) },
           name = self.name }
end

local PolynomialDecay = schedule("PolynomialDecay",
  { "initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name" },
  function(self, o)
    self.initial_learning_rate = number_arg("PolynomialDecay", o, "initial_learning_rate")
    self.decay_steps = decay_steps_arg("PolynomialDecay", o, "decay_steps")
    self.end_learning_rate = number_arg("PolynomialDecay", o, "end_learning_rate", 0.0001)
    self.power = number_arg("PolynomialDecay", o, "power", 1.0)
    self.cycle = o.cycle and true or false
  end,
  function(self, step)
    local decay_steps = self.decay_steps
    if self.cycle then
      -- the first multiple of decay_steps past step (1 at step 0)
      decay_steps = decay_steps * (step == 0 and 1 or math.ceil(step / self.decay_steps))
    else
      step = math.min(step, decay_steps)
    end
    local p = step / decay_steps
    return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ^ self.power + self.end_learning_rate
  end)
PolynomialDecay.default_name = "PolynomialDecay"
function PolynomialDecay:get_config()
  return { initial_learning_rate = self.initial_learning_rate, decay_steps = self.decay_steps,
           end_learning_rate = self.end_learning_rate, power = self.power, cycle = self.cycle,
           name = self.name }
end

local InverseTimeDecay = schedule("InverseTimeDecay",
  { "initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name" },
  function(self, o)
    self.initial_learning_rate = number_arg("InverseTimeDecay", o, "initial_learning_rate")
    self.decay_steps = decay_steps_arg("InverseTimeDecay", o, "decay_steps")
    self.decay_rate = number_arg("InverseTimeDecay", o, "decay_rate")
    self.staircase = o.staircase and true or false
  end,
  function(self, step)
    local p = step / self.decay_steps
    if self.staircase then p = math.floor(p) end
    return self.initial_learning_rate / (1 + self.decay_rate * p)
  end)
InverseTimeDecay.default_name = "InverseTimeDecay"
function InverseTimeDecay:get_config()
  return { initial_learning_rate = self.initial_learning_rate, decay_steps = self.decay_steps,
           decay_rate = self.decay_rate, staircase = self.staircase, name = self.name }
end

local CosineDecay = schedule("CosineDecay",
  { "initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps" },
  function(self, o)
    self.initial_learning_rate = number_arg("CosineDecay", o, "initial_learning_rate")
    self.decay_steps = decay_steps_arg("CosineDecay", o, "decay_steps")
    self.alpha = number_arg("CosineDecay", o, "alpha", 0.0)
    if o.warmup_target ~= nil then self.warmup_target = number_arg("CosineDecay", o, "warmup_target") end
    self.warmup_steps = number_arg("CosineDecay", o, "warmup_steps", 0)
    if self.warmup_steps < 0 then
      error(("CosineDecay: warmup_steps must be >= 0, got %g"):format(self.warmup_steps), 0)
    end
  end,
  function(self, step)
    local function decay(s, from)
      local cosine = 0.5 * (1 + math.cos(math.pi * s / self.decay_steps))
      return from * ((1 - self.alpha) * cosine + self.alpha)
    end
    if self.warmup_target == nil then
      return decay(math.min(step, self.decay_steps), self.initial_learning_rate)
    end
    step = math.min(step, self.decay_steps + self.warmup_steps)
    if step < self.warmup_steps then
      local frac = step / self.warmup_steps
      return (self.warmup_target - self.initial_learning_rate) * frac + self.initial_learning_rate
    end
    return decay(step - self.warmup_steps, self.warmup_target)
  end)
CosineDecay.default_name = "CosineDecay"
function CosineDecay:get_config()
  return { initial_learning_rate = self.initial_learning_rate, decay_steps = self.decay_steps,
           alpha = self.alpha, name = self.name, warmup_target = self.warmup_target,
           warmup_steps = self.warmup_steps }
end

local CosineDecayRestarts = schedule("CosineDecayRestarts",
  { "initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name" },
  function(self, o)
    self.initial_learning_rate = number_arg("CosineDecayRestarts", o, "initial_learning_rate")
    self.first_decay_steps = decay_steps_arg("CosineDecayRestarts", o, "first_decay_steps")
    self.t_mul = number_arg("CosineDecayRestarts", o, "t_mul", 2.0)
    self.m_mul = number_arg("CosineDecayRestarts", o, "m_mul", 1.0)
    self.alpha = number_arg("CosineDecayRestarts", o, "alpha", 0.0)
  end,
  function(self, step)
    local frac = step / self.first_decay_steps
    local i_restart
    if self.t_mul == 1 then
      i_restart = math.floor(frac)
      frac = frac - i_restart
    else
      local t = self.t_mul
      i_restart = math.floor(math.log(1 - frac * (1 - t)) / math.log(t))
      local sum_r = (1 - t ^ i_restart) / (1 - t)
      frac = (frac - sum_r) / t ^ i_restart
    end
    local cosine = 0.5 * self.m_mul ^ i_restart * (1 + math.cos(math.pi * frac))
    return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)
  end)
CosineDecayRestarts.default_name = "SGDRDecay"
function CosineDecayRestarts:get_config()
  return { initial_learning_rate = self.initial_learning_rate, first_decay_steps = self.first_decay_steps,
           t_mul = self.t_mul, m_mul = self.m_mul, alpha = self.alpha, name = self.name }
end

-- ---------- serialization ----------

-- {class_name=, config=} of a schedule (Keras's schedules.serialize).
function S.serialize(sched)
  if not class.isinstance(sched, LearningRateSchedule) then
    error(("schedules.serialize: expected a learning rate schedule, got %s"):format(class.name(sched)), 2)
  end
  return { class_name = class.name(sched), config = sched:get_config() }
end

-- Custom schedule classes, by name, for deserialize.
local registry = {}
function S.register(name, cls)
  if type(name) ~= "string" or not class.is_subclass(cls, LearningRateSchedule) then
    error("schedules.register(name, cls): cls must extend LearningRateSchedule", 2)
  end
  registry[name] = cls
end

function S.deserialize(config)
  if type(config) ~= "table" or type(config.class_name) ~= "string" then
    error("schedules.deserialize: expected {class_name=..., config={...}}", 2)
  end
  local cls = registry[config.class_name] or S[config.class_name]
  if not class.is_subclass(cls, LearningRateSchedule) or cls == LearningRateSchedule then
    local known = {}
    for k, v in pairs(S) do
      if class.is_subclass(v, LearningRateSchedule) and v ~= LearningRateSchedule then known[#known + 1] = k end
    end
    for k in pairs(registry) do known[#known + 1] = k end
    table.sort(known)
    error(("schedules.deserialize: unknown schedule '%s' (known: %s)"):format(config.class_name,
      table.concat(known, ", ")), 2)
  end
  return cls.from_config(cls, config.config or {})
end

return S
