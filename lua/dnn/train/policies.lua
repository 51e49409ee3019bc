-- Policies: deep_pipe's dpipe/train/policy.py.  train_model calls, for every
-- policy, with 0-based epochs and iterations:
--
--   epoch_started(epoch)
--   train_step_started(epoch, i)            before each train step
--   train_step_finished(epoch, i, loss)     after it (loss: a number)
--   validation_started(epoch, train_losses) when the epoch's batches are done
--   epoch_finished(epoch, info, opts)       after validation
--
-- epoch_finished's info is the list of the epoch's train losses that also
-- carries the fields train_losses (the same list), metrics (validate's table
-- or nil) and policies ({name = value} of the value policies); opts is
-- {metrics=, policies=}.  So both spellings read naturally:
--   function P:epoch_finished(epoch, o) ... mean(o.train_losses) ... o.metrics
--   function P:epoch_finished(epoch, train_losses, opts) ... opts.metrics
--
-- A value policy has a field `value`, passed to do_train_step under the
-- policy's name at every step.  Raising dnn.train.EarlyStopping (error(T.
-- EarlyStopping) or error(T.EarlyStopping("why"))) ends training cleanly.
--
-- Checkpoints keep each policy's state: get_state() returns its fields that
-- hold plain data (numbers, strings, booleans, tensors and tables of these;
-- functions and other objects are configuration, rebuilt by the script), and
-- set_state(s) puts them back.  Override both for anything else.
local dnn = require "dnn"
local class = require "dnn.class"

local M = {}

-- ---------- EarlyStopping ----------

local EarlyStopping = class.Object:extend("EarlyStopping")
M.EarlyStopping = EarlyStopping
function EarlyStopping:init(message) self.message = message end
function EarlyStopping:__tostring()
  return "EarlyStopping" .. (self.message and (": " .. tostring(self.message)) or "")
end

-- True for the class itself (error(EarlyStopping)) and its instances.
function M.is_early_stopping(err)
  return rawequal(err, EarlyStopping) or class.isinstance(err, EarlyStopping)
end

-- ---------- plain-data state ----------

local function is_plain_value(v, depth)
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return true end
  if dnn.is_tensor(v) then return true end
  if t == "table" and getmetatable(v) == nil and depth < 16 then
    for k, x in pairs(v) do
      if not (math.type(k) == "integer" or type(k) == "string") then return false end
      if not is_plain_value(x, depth + 1) then return false end
    end
    return true
  end
  return false
end

local function copy(v)
  if dnn.is_tensor(v) then return v:clone() end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

-- The plain-data fields of any table (a Policy or a user's policy table).
function M.plain_state(obj)
  local st = {}
  for k, v in pairs(obj) do
    if type(k) == "string" and is_plain_value(v, 0) then st[k] = copy(v) end
  end
  return st
end

function M.set_plain_state(obj, st)
  for k, v in pairs(st) do obj[k] = copy(v) end
end

-- Reads a float back as a float: dnn.save keeps integers and floats apart,
-- but a user's integer initial (10) multiplied by 0.5 is already a float.
local function mean(list)
  local s = 0
  for _, v in ipairs(list) do s = s + v end
  return s / #list
end
M.mean = mean

-- ---------- Policy ----------

local Policy = class.Object:extend("Policy")
M.Policy = Policy
function Policy:epoch_started(epoch) end
function Policy:train_step_started(epoch, iteration) end
function Policy:train_step_finished(epoch, iteration, loss) end
function Policy:validation_started(epoch, train_losses) end
function Policy:epoch_finished(epoch, info, opts) end
function Policy:get_state() return M.plain_state(self) end
function Policy:set_state(st) M.set_plain_state(self, st) end

-- ---------- value policies ----------

local function number_arg(who, name, v, opt)
  if v == nil and opt then return nil end
  if type(v) ~= "number" then
    error(("%s: %s must be a number, got %s"):format(who, name, v == nil and "nothing" or type(v)), 4)
  end
  return v
end

local ValuePolicy = Policy:extend("ValuePolicy")
M.ValuePolicy = ValuePolicy
-- Constant(value) / ValuePolicy(initial): a value that never changes.
function ValuePolicy:init(...)
  local a = class.kwargs(class.name(self), { "initial" }, { "value" }, ...)
  local v = a.initial
  if v == nil then v = a.value end
  if v == nil then error(class.name(self) .. ": give the value (initial)", 3) end
  self.value = v
end
M.Constant = ValuePolicy

-- True for a value policy: a Policy subclass instance or any table with a
-- `value` field and at least one hook.
function M.is_value_policy(p)
  if class.isinstance(p, ValuePolicy) then return true end
  return M.is_policy(p) and p.value ~= nil
end

local HOOKS = { "epoch_started", "train_step_started", "train_step_finished",
                "validation_started", "epoch_finished" }
M.HOOKS = HOOKS

function M.is_policy(p)
  if class.isinstance(p, Policy) then return true end
  if type(p) ~= "table" or dnn.is_tensor(p) then return false end
  for _, h in ipairs(HOOKS) do
    if type(p[h]) == "function" then return true end
  end
  return false
end

-- Exponential{initial, multiplier, step_length=1, floordiv=true,
-- min_value=-inf, max_value=inf}: value = clip(initial * multiplier ^ power)
-- at each epoch start, power = epoch / step_length (floored when floordiv).
local Exponential = ValuePolicy:extend("Exponential")
M.Exponential = Exponential
function Exponential:init(...)
  local a = class.kwargs("Exponential", { "initial", "multiplier", "step_length", "floordiv",
    "min_value", "max_value" }, nil, ...)
  self.initial = number_arg("Exponential", "initial", a.initial)
  self.multiplier = number_arg("Exponential", "multiplier", a.multiplier)
  self.step_length = number_arg("Exponential", "step_length", a.step_length, true) or 1
  if self.step_length <= 0 then error("Exponential: step_length must be positive", 3) end
  self.floordiv = a.floordiv ~= false
  self.min_value = number_arg("Exponential", "min_value", a.min_value, true) or -math.huge
  self.max_value = number_arg("Exponential", "max_value", a.max_value, true) or math.huge
  self.value = a.initial
end
function Exponential:epoch_started(epoch)
  local power = epoch / self.step_length
  if self.floordiv then power = math.floor(power) + 0.0 end
  local v = self.initial * self.multiplier ^ power
  self.value = math.min(math.max(v, self.min_value), self.max_value)
end

-- Sorted {epoch, x} pairs of a {[epoch] = x} table.
local function sorted_pairs(who, t)
  if type(t) ~= "table" then error(("%s: expected a table {[epoch] = value}, got %s"):format(who, type(t)), 4) end
  local out = {}
  for k, v in pairs(t) do
    if math.type(k) ~= "integer" or k < 0 then
      error(("%s: the keys must be epochs (integers >= 0), got %s"):format(who, tostring(k)), 4)
    end
    out[#out + 1] = { k, v }
  end
  table.sort(out, function(x, y) return x[1] < y[1] end)
  return out
end

-- Schedule{initial, {[epoch] = multiplier}}: value = initial times every
-- multiplier whose epoch has started.
local Schedule = ValuePolicy:extend("Schedule")
M.Schedule = Schedule
function Schedule:init(...)
  local a = class.kwargs("Schedule", { "initial", "epoch2value_multiplier" }, nil, ...)
  self.initial = number_arg("Schedule", "initial", a.initial)
  self.epoch2value_multiplier = sorted_pairs("Schedule", a.epoch2value_multiplier)
  for _, p in ipairs(self.epoch2value_multiplier) do number_arg("Schedule", "a multiplier", p[2]) end
  self.value = a.initial
end
function Schedule:epoch_started(epoch)
  local v = self.initial
  for _, p in ipairs(self.epoch2value_multiplier) do
    if epoch < p[1] then break end
    v = v * p[2]
  end
  self.value = v
end
-- Schedule.constant_multiplier(initial, multiplier, epochs)
function Schedule.constant_multiplier(initial, multiplier, epochs)
  local t = {}
  for _, e in ipairs(epochs) do t[e] = multiplier end
  return Schedule(initial, t)
end

-- Switch{initial, {[epoch] = value}}: the value of the latest epoch reached.
local Switch = ValuePolicy:extend("Switch")
M.Switch = Switch
function Switch:init(...)
  local a = class.kwargs("Switch", { "initial", "epoch_to_value" }, nil, ...)
  if a.initial == nil then error("Switch: give the initial value", 3) end
  self.epoch_to_value = sorted_pairs("Switch", a.epoch_to_value)
  self.value = a.initial
end
function Switch:epoch_started(epoch)
  for _, p in ipairs(self.epoch_to_value) do
    if epoch < p[1] then break end
    self.value = p[2]
  end
end

-- LambdaEpoch(fn, ...): value = fn(epoch, ...) (fn(0) at construction).
local LambdaEpoch = ValuePolicy:extend("LambdaEpoch")
M.LambdaEpoch = LambdaEpoch
function LambdaEpoch:init(fn, ...)
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    error(("LambdaEpoch: expected a function of the epoch, got %s"):format(type(fn)), 3)
  end
  self.func, self.args = fn, table.pack(...)
  self.value = fn(0, ...)
end
function LambdaEpoch:epoch_started(epoch)
  if epoch > 0 then self.value = self.func(epoch, table.unpack(self.args, 1, self.args.n)) end
end

-- DecreasingOnPlateau{initial, multiplier, patience, rtol, atol}: when the
-- mean train loss has not gone below the margin for more than `patience`
-- epochs, value = value * multiplier.
local DecreasingOnPlateau = ValuePolicy:extend("DecreasingOnPlateau")
M.DecreasingOnPlateau = DecreasingOnPlateau
function DecreasingOnPlateau:init(...)
  local W = "DecreasingOnPlateau"
  local a = class.kwargs(W, { "initial", "multiplier", "patience", "rtol", "atol" }, nil, ...)
  self.value = number_arg(W, "initial", a.initial)
  self.lr_dec_mul = number_arg(W, "multiplier", a.multiplier)
  self.patience = number_arg(W, "patience", a.patience)
  self.rtol = number_arg(W, "rtol", a.rtol)
  self.atol = number_arg(W, "atol", a.atol)
  self.epochs_waited = 0
  self.margin_loss = math.huge
end
function DecreasingOnPlateau:get_margin_loss(loss)
  return math.max(loss - self.atol, loss * (1 - self.rtol))
end
function DecreasingOnPlateau:epoch_finished(epoch, info)
  local loss = mean(info.train_losses or info)
  if loss < self.margin_loss then
    self.margin_loss = self:get_margin_loss(loss)
    self.epochs_waited = 0
    return
  end
  self.epochs_waited = self.epochs_waited + 1
  if self.epochs_waited > self.patience then
    self.value = self.value * self.lr_dec_mul
    self.epochs_waited = 0
  end
end

-- ---------- stopping ----------

-- LossStop{max_ratio=3}: stops when the epoch's mean train loss exceeds
-- max_ratio times the lowest mean so far (a diverging run).
local LossStop = Policy:extend("LossStop")
M.LossStop = LossStop
function LossStop:init(...)
  local a = class.kwargs("LossStop", { "max_ratio" }, nil, ...)
  self.max_ratio = number_arg("LossStop", "max_ratio", a.max_ratio, true) or 3
  self.min_loss = math.huge
end
function LossStop:epoch_finished(epoch, info)
  local loss = mean(info.train_losses or info)
  self.min_loss = math.min(self.min_loss, loss)
  if loss > self.max_ratio * self.min_loss then
    error(EarlyStopping(("the mean train loss %.6g exceeds %g times the lowest, %.6g")
      :format(loss, self.max_ratio, self.min_loss)), 0)
  end
end

-- TrainLossStop{threshold=1e-5}: deep_pipe's tutorial policy, stops once the
-- epoch's mean train loss is below threshold.
local TrainLossStop = Policy:extend("TrainLossStop")
M.TrainLossStop = TrainLossStop
function TrainLossStop:init(...)
  local a = class.kwargs("TrainLossStop", { "threshold" }, nil, ...)
  self.threshold = number_arg("TrainLossStop", "threshold", a.threshold, true) or 1e-5
end
function TrainLossStop:epoch_finished(epoch, info)
  local loss = mean(info.train_losses or info)
  if loss < self.threshold then
    error(EarlyStopping(("the mean train loss %.6g is below %g"):format(loss, self.threshold)), 0)
  end
end

-- ---------- reporting ----------

local function now() return dnn.monotonic and dnn.monotonic() or os.clock() end

local function fmt_seconds(s)
  local h = math.floor(s / 3600)
  local m = math.floor((s - h * 3600) / 60)
  return ("%d:%02d:%09.6f"):format(h, m, s - h * 3600 - m * 60)
end

-- TimeProfiler{output=nil}: after each epoch, the time spent in the epoch,
-- in training and in validation, and per batch in the iterator and in the
-- train step -- printed (output nil, or a file handle) or, with output a
-- function(tag, seconds, epoch), handed over (train_model's logger takes it).
local TimeProfiler = Policy:extend("TimeProfiler")
M.TimeProfiler = TimeProfiler
function TimeProfiler:init(...)
  local a = class.kwargs("TimeProfiler", { "output" }, nil, ...)
  self.output = a.output
  self._stamps = {}
end
function TimeProfiler:get_state() return {} end -- timings are not resumed
function TimeProfiler:set_state() end
function TimeProfiler:epoch_started() self._stamps = { now() } end
function TimeProfiler:train_step_started() self._stamps[#self._stamps + 1] = now() end
function TimeProfiler:train_step_finished() self._stamps[#self._stamps + 1] = now() end

function TimeProfiler:stats()
  local st, t = self._stamps, now()
  if #st == 0 then return {} end
  local n = math.max(#st // 2, 1)
  local function sum(from)
    local s = 0
    for i = from, #st - 1, 2 do s = s + st[i + 1] - st[i] end
    return s
  end
  local iter, step = sum(1), sum(2)
  return {
    { "Epoch", t - st[1] }, { "Train", st[#st] - st[1] }, { "Validation", t - st[#st] },
    { "Total Batch Iter", iter }, { "Total Train Step", step },
    { "Avg Batch Iter", iter / n }, { "Avg Train Step", step / n },
  }
end

function TimeProfiler:epoch_finished(epoch)
  local stats = self:stats()
  if type(self.output) == "function" then
    for _, s in ipairs(stats) do self.output("time/" .. s[1]:lower():gsub(" ", "_"), s[2], epoch) end
    return
  end
  local out = self.output or io.stdout
  out:write(("Epoch %d time profiling:\n"):format(epoch))
  for _, s in ipairs(stats) do out:write(("   %s: %s\n"):format(s[1], fmt_seconds(s[2]))) end
  out:write("\n")
  out:flush()
end

-- Progress{loss=true, output=io.stdout}: deep_pipe's TQDM policy -- a line
-- per epoch that counts the steps and shows the last train loss; redrawn in
-- place on a terminal, written once at the end of the epoch otherwise.
local Progress = Policy:extend("Progress")
M.Progress = Progress
M.TQDM = Progress
function Progress:init(...)
  local a = class.kwargs("Progress", { "loss", "output" }, { "tty" }, ...)
  self._loss = a.loss ~= false
  self._out = a.output or io.stdout
  self._tty = a.tty
  if self._tty == nil then self._tty = a.output == nil and dnn.isatty ~= nil and dnn.isatty(1) end
end
function Progress:get_state() return {} end
function Progress:set_state() end
function Progress:_line(epoch, n, loss, dt)
  local s = ("Epoch %d: %d it"):format(epoch + 1, n)
  if self._loss and loss then s = s .. (". Train loss: %.6g"):format(loss) end
  if dt then s = s .. (" [%.1fs, %.2f it/s]"):format(dt, dt > 0 and n / dt or 0) end
  return s
end
function Progress:epoch_started(epoch)
  self._t0, self._n, self._last, self._drawn = now(), 0, nil, 0
end
function Progress:train_step_finished(epoch, iteration, loss)
  self._t0 = self._t0 or now()
  self._n, self._last = iteration + 1, loss
  if self._tty then
    local t = now()
    if t - self._drawn >= 0.1 then
      self._drawn = t
      self._out:write("\r", self:_line(epoch, self._n, loss, t - self._t0), "\27[K")
      self._out:flush()
    end
  end
end
function Progress:validation_started(epoch)
  local line = self:_line(epoch, self._n or 0, self._last, now() - (self._t0 or now()))
  self._out:write(self._tty and ("\r" .. line .. "\27[K\n") or (line .. "\n"))
  self._out:flush()
end

return M
