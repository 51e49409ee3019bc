-- Keras's progress bar (K2 keras/utils/generic_utils.py Progbar), with the
-- console helpers the callbacks share (where text goes, numbers as Python
-- prints them).
--
--   local bar = Progbar(1875)                 -- or Progbar{1875, verbose=2}
--   bar:update(3, {loss=0.5123})              --   3/1875 [....] - ETA: 12s - loss: 0.5123
--   bar:add(1, {{"loss", 0.5}, {"acc", 0.8}}) -- a list of pairs keeps that order
--
-- Keras's rules: `=` x (w-1) then `>` while running (`=` when done), `.` for
-- the rest, w = floor(width*current/target); values shown as %.4f when
-- |v| > 1e-3, else %.4e; non-stateful values are averaged weighted by the
-- steps each update covers; time per step ignores the first step; ETA as
-- h:mm:ss, m:ss or Ns.
--
-- Where dnnlua differs, on purpose:
--   * Output that is not a terminal gets nothing until the bar is finalised,
--     then one line (Keras prints every update on a new line: logs balloon).
--   * A terminal line is redrawn with "\r" and padded with spaces when it got
--     shorter (Keras also writes backspaces first, which "\r" makes useless).
--   * verbose=2 formats values with |v| as verbose=1 does (Keras tests v >
--     1e-3 there, printing negative values in %.4e), always ends its line,
--     and divides the epoch time by the steps actually done when finalised
--     early.
--   * The first update is always shown, whatever the clock's origin.
--
-- Options beyond Keras's, so specs can check exact text: out (a function
-- taking a string, or a file; default io.stdout), clock (seconds; default
-- dnn.monotonic), tty (true/false; default: out is stdout and stdout is a
-- terminal).
local class = require "dnn.class"

local Progbar = class.Object:extend("Progbar")

-- ------------------------------------------------------------------ helpers

-- A function(string) writing to out: a function, a file (flushed after each
-- write, so progress shows), or nil for io.stdout looked up at each write
-- (specs may swap io.stdout).
function Progbar.writer(fname, out, default)
  if out == nil then
    return function(s)
      local f = io[default or "stdout"]
      f:write(s)
      f:flush()
    end
  elseif type(out) == "function" then
    return out
  elseif io.type(out) == "file" or (type(out) == "table" and type(out.write) == "function") then
    return function(s)
      out:write(s)
      if out.flush then out:flush() end
    end
  elseif io.type(out) == "closed file" then
    error(("%s: out is a closed file"):format(fname), 0)
  end
  error(("%s: out must be a function(string) or a file, got %s"):format(fname, type(out)), 0)
end

-- A number as Python's repr() writes it (shortest digits that read back the
-- same; 1.0, 0.01, 1e-05, 1e+16, nan, inf), for messages and CSV files that
-- match Keras's.
function Progbar.repr(x)
  if math.type(x) == "integer" then return tostring(x) end
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == 0 then return 1 / x < 0 and "-0.0" or "0.0" end
  local s
  for p = 0, 16 do
    s = ("%." .. p .. "e"):format(x)
    if tonumber(s) == x then break end
  end
  local sign, mant, e = s:match("^(-?)([%d%.]+)e([-+]%d+)$")
  local digits = mant:gsub("%.", ""):gsub("0+$", "")
  if digits == "" then digits = "0" end
  e = tonumber(e)
  if e < -4 or e >= 16 then -- Python's repr switches to exponents here
    local m = digits:sub(1, 1)
    if #digits > 1 then m = m .. "." .. digits:sub(2) end
    return ("%s%se%s%02d"):format(sign, m, e < 0 and "-" or "+", math.abs(e))
  elseif e < 0 then
    return sign .. "0." .. ("0"):rep(-e - 1) .. digits
  elseif #digits <= e + 1 then
    return sign .. digits .. ("0"):rep(e + 1 - #digits) .. ".0"
  end
  return sign .. digits:sub(1, e + 1) .. "." .. digits:sub(e + 2)
end

-- A user's value in a message: strings quoted, so "2" and 2 differ.
function Progbar.describe(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

-- A metric value as the bar shows it.
function Progbar.format_value(v)
  if v ~= v then return "nan" end -- C's printf may say "-nan"; Python says nan
  if math.abs(v) > 1e-3 then return ("%.4f"):format(v) end
  return ("%.4e"):format(v)
end

-- " 3s/epoch", " 12ms/step", " 800us/step".
function Progbar.format_time(t, unit)
  if t >= 1 or t == 0 then return (" %.0fs/%s"):format(t, unit) end
  if t >= 1e-3 then return (" %.0fms/%s"):format(t * 1e3, unit) end
  return (" %.0fus/%s"):format(t * 1e6, unit)
end

-- "1:02:03", "2:05", "12s" (each part truncated, as Python's %d does).
function Progbar.format_eta(eta)
  if eta ~= eta or eta == math.huge then return "?" end
  local f = math.floor
  if eta > 3600 then
    return ("%d:%02d:%02d"):format(f(eta / 3600), f((eta % 3600) / 60), f(eta % 60))
  elseif eta > 60 then
    return ("%d:%02d"):format(f(eta / 60), f(eta % 60))
  end
  return ("%ds"):format(f(eta))
end

-- The order a logs table is shown in (Lua tables have none): loss, the other
-- training values by name, val_loss, the other val_ values by name.
local function rank(k)
  if k == "loss" then return 0 end
  if k == "val_loss" then return 2 end
  if k:sub(1, 4) == "val_" then return 3 end
  return 1
end

function Progbar.ordered_keys(logs)
  local keys = {}
  for k in pairs(logs) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ra, rb = rank(a), rank(b)
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  return keys
end

-- values: nil, a list of {name, value} pairs, or a table name -> value.
local function each_value(values)
  local out = {}
  if values == nil then return out end
  if type(values) ~= "table" then
    error(("Progbar.update: values must be a table of name -> number or a list of {name, value} pairs, got %s")
      :format(type(values)), 0)
  end
  if values[1] ~= nil then
    for i, pair in ipairs(values) do
      if type(pair) ~= "table" or type(pair[1]) ~= "string" then
        error(("Progbar.update: values[%d] must be a {name, value} pair"):format(i), 0)
      end
      out[#out + 1] = { pair[1], pair[2] }
    end
  else
    for _, k in ipairs(Progbar.ordered_keys(values)) do out[#out + 1] = { k, values[k] } end
  end
  for _, kv in ipairs(out) do
    if type(kv[2]) ~= "number" then
      error(("Progbar.update: the value of '%s' must be a number, got %s"):format(kv[1], type(kv[2])), 0)
    end
  end
  return out
end

local function count_arg(fname, what, v, min)
  local i = type(v) == "number" and math.tointeger(v) or nil
  if i == nil or i < min then
    error(("%s: %s must be an integer >= %d, got %s"):format(fname, what, min, Progbar.describe(v)), 0)
  end
  return i
end

-- ------------------------------------------------------------------ the bar

local ARGS = { "target", "width", "verbose", "interval", "stateful_metrics", "unit_name" }
local EXTRA = { "out", "clock", "tty" }

function Progbar:init(...)
  local a = class.kwargs("Progbar", ARGS, EXTRA, ...)
  if a.target ~= nil then a.target = count_arg("Progbar", "target", a.target, 1) end
  self.target = a.target
  self.width = count_arg("Progbar", "width", a.width or 30, 1)
  self.verbose = count_arg("Progbar", "verbose", a.verbose or 1, 0)
  if self.verbose > 2 then
    error(("Progbar: verbose must be 0, 1 or 2, got %d"):format(self.verbose), 0)
  end
  self.interval = a.interval or 0.05
  if type(self.interval) ~= "number" or self.interval < 0 then
    error(("Progbar: interval must be a number of seconds >= 0, got %s"):format(Progbar.describe(a.interval)), 0)
  end
  self.unit_name = a.unit_name or "step"
  if type(self.unit_name) ~= "string" then
    error(("Progbar: unit_name must be a string, got %s"):format(type(a.unit_name)), 0)
  end
  self.stateful_metrics = {}
  if a.stateful_metrics ~= nil then self:_update_stateful_metrics(a.stateful_metrics) end
  self._write = Progbar.writer("Progbar", a.out)
  local clock = a.clock
  if clock == nil then
    clock = require("dnn.core").monotonic
  elseif type(clock) ~= "function" then
    error(("Progbar: clock must be a function returning seconds, got %s"):format(type(clock)), 0)
  end
  self._clock = clock
  if a.tty == nil then
    self._tty = (a.out == nil or a.out == io.stdout) and require("dnn.core").isatty(1)
  else
    self._tty = a.tty and true or false
  end
  self._total_width = 0
  self._seen_so_far = 0
  self._values = {}
  self._values_order = {}
  self._start = clock()
  self._last_update = -math.huge -- the first update always shows
  self._time_at_epoch_start = self._start
  self._time_at_epoch_end = nil
  self._time_after_first_step = nil
end

-- Names whose values are shown as given instead of averaged (a list).
function Progbar:_update_stateful_metrics(names)
  if type(names) ~= "table" then
    error(("Progbar: stateful_metrics must be a list of names, got %s"):format(type(names)), 0)
  end
  for _, k in ipairs(names) do self.stateful_metrics[k] = true end
end

-- Seconds per step, leaving out the first step (often slow: warm-up) once
-- there are others.
function Progbar:_estimate_step_duration(current, now)
  if current == 0 then return 0 end
  local t
  if self._time_after_first_step ~= nil and current > 1 then
    t = (now - self._time_after_first_step) / (current - 1)
  else
    t = (now - self._start) / current
  end
  if current == 1 then self._time_after_first_step = now end
  return t
end

function Progbar:_values_text()
  local parts = {}
  for _, k in ipairs(self._values_order) do
    local s = self._values[k]
    parts[#parts + 1] = (" - %s: %s"):format(k, Progbar.format_value(s[1] / math.max(1, s[2])))
  end
  return table.concat(parts)
end

function Progbar:_bar(current)
  if self.target == nil then return ("%7d/Unknown"):format(current) end
  local target = self.target
  local bar = ("%" .. #tostring(target) .. "d/%d ["):format(current, target)
  -- width * (current / target), in Keras's order (the rounding can differ)
  local w = math.floor(self.width * (current / target))
  if w > 0 then
    bar = bar .. ("="):rep(w - 1) .. (current < target and ">" or "=")
  end
  return bar .. ("."):rep(self.width - w) .. "]"
end

-- current: steps done; values: this step's values; finalize: whether this is
-- the bar's last update (default: current >= target).
function Progbar:update(current, values, finalize)
  local cur = type(current) == "number" and math.tointeger(current) or nil
  if cur == nil or cur < 0 then
    error(("Progbar.update: current must be an integer >= 0, got %s"):format(Progbar.describe(current)), 0)
  end
  current = cur
  if finalize == nil then finalize = self.target ~= nil and current >= self.target end
  for _, kv in ipairs(each_value(values)) do
    local k, v = kv[1], kv[2]
    if self._values[k] == nil then self._values_order[#self._values_order + 1] = k end
    if self.stateful_metrics[k] then
      self._values[k] = { v, 1 }
    else
      -- weight by the steps this update covers (at least 1: a repeated final
      -- update must not zero a value)
      local base = math.max(current - self._seen_so_far, 1)
      local s = self._values[k]
      if s == nil then
        self._values[k] = { v * base, base }
      else
        s[1], s[2] = s[1] + v * base, s[2] + base
      end
    end
  end
  self._seen_so_far = current

  local now = self._clock()
  local time_per_unit = self:_estimate_step_duration(current, now)
  local info = (" - %.0fs"):format(now - self._start)
  if current == self.target then self._time_at_epoch_end = now end

  if self.verbose == 1 then
    if not finalize and (now - self._last_update < self.interval or not self._tty) then
      return
    end
    local bar = self:_bar(current)
    if self.target == nil or finalize then
      info = info .. Progbar.format_time(time_per_unit, self.unit_name)
    else
      info = " - ETA: " .. Progbar.format_eta(time_per_unit * (self.target - current))
    end
    info = info .. self:_values_text()
    local width = #bar + #info
    local prefix = ""
    if self._tty then
      prefix = "\r"
      if self._total_width > width then info = info .. (" "):rep(self._total_width - width) end
    end
    self._total_width = finalize and 0 or width
    if finalize then info = info .. "\n" end
    self._write(prefix .. bar .. info)
  elseif self.verbose == 2 and finalize then
    local count = self.target and ("%" .. #tostring(self.target) .. "d/%d"):format(current, self.target)
      or ("%d/Unknown"):format(current)
    info = count .. info .. self:_values_text()
    local epoch_end = self._time_at_epoch_end or now
    local per_epoch = epoch_end - self._time_at_epoch_start
    local steps = (self._time_at_epoch_end and self.target) or math.max(current, 1)
    self._time_at_epoch_start = now
    self._time_at_epoch_end = nil
    info = info .. " -" .. Progbar.format_time(per_epoch, "epoch")
      .. " -" .. Progbar.format_time(per_epoch / steps, self.unit_name) .. "\n"
    self._write(info)
  end
  self._last_update = now
end

function Progbar:add(n, values)
  local i = type(n) == "number" and math.tointeger(n) or nil
  if i == nil then
    error(("Progbar.add: n must be an integer, got %s"):format(Progbar.describe(n)), 0)
  end
  self:update(self._seen_so_far + i, values)
end

return Progbar
