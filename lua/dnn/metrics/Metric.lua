-- dnn.metrics.Metric: the base of Keras's stateful metrics.
--
--   local m = dnn.metrics.SparseCategoricalAccuracy()
--   m:update_state(y_true, y_pred[, sample_weight])   -- or (y_true, y_pred, {sample_weight=})
--   m:update_state{y_true, y_pred, sample_weight=w}   -- or one options table
--   m:result()        --> a Lua number (a list of numbers for per-class results)
--   m:reset_state()
--   m(y_true, y_pred) --> updates, then returns result()
--
-- Subclasses implement update(y_true, y_pred, sample_weight) on the parsed
-- arguments (sample_weight nil, a number or a tensor), result() and
-- reset_state().  State lives in Lua numbers or tensors on the metric, so
-- results over several batches equal the result on the concatenated batches.
local class = require "dnn.class"
local U = require "dnn.metrics.util"

local Metric = class.Object:extend("Metric")

-- init(opts): name= (string), dtype= (only "float32": Keras's default).
-- Subclasses pass their Keras default name.
function Metric:init(opts, default_name)
  opts = opts or {}
  local cname = rawget(getmetatable(self), "__name")
  local name = opts.name
  if name ~= nil and type(name) ~= "string" then
    error(("%s: name must be a string, got %s"):format(cname, type(name)), 0)
  end
  local dtype = opts.dtype
  if dtype ~= nil and dtype ~= "float32" and dtype ~= "float64" then
    error(("%s: dtype must be \"float32\" or \"float64\", got %s"):format(cname, tostring(dtype)), 0)
  end
  self.name = name or default_name or cname:gsub("(%l)(%u)", "%1_%2"):lower()
  self.dtype = dtype or "float32"
end

-- Parses the three call forms into y_true, y_pred, sample_weight.
function Metric:parse_args(a, b, c, extra)
  if extra ~= nil then
    error(("%s: update_state takes y_true, y_pred and an optional sample_weight"):format(self.name), 0)
  end
  local yt, yp, sw = a, b, c
  if b == nil and c == nil and U.is_plain_table(a) then
    yt, yp, sw = a[1], a[2], a.sample_weight
    if yt == nil then yt = a.y_true end
    if yp == nil then yp = a.y_pred end
    if sw == nil then sw = a[3] end
    for k in pairs(a) do
      if type(k) == "string" and k ~= "y_true" and k ~= "y_pred" and k ~= "sample_weight" then
        error(("%s: unknown argument '%s' (arguments: y_true, y_pred, sample_weight)"):format(self.name, k), 0)
      end
    end
  elseif U.is_plain_table(c) and next(c) ~= nil and c[1] == nil then
    for k in pairs(c) do
      if k ~= "sample_weight" then
        error(("%s: unknown option '%s' (known: sample_weight)"):format(self.name, tostring(k)), 0)
      end
    end
    sw = c.sample_weight
  end
  if yt == nil then error(("%s: y_true is missing (call update_state(y_true, y_pred))"):format(self.name), 0) end
  if yp == nil then error(("%s: y_pred is missing (call update_state(y_true, y_pred))"):format(self.name), 0) end
  return yt, yp, sw
end

-- sample_weight as nil or a float32 tensor.
function Metric:weights(sw)
  if sw == nil then return nil end
  return U.tensor(self.name, sw, "sample_weight", self.dtype)
end

function Metric:update_state(a, b, c, extra)
  local yt, yp, sw = self:parse_args(a, b, c, extra)
  self:update(yt, yp, sw)
end

function Metric:update()
  error(("%s: this metric does not implement update(y_true, y_pred, sample_weight)"):format(self.name), 0)
end

function Metric:result()
  error(("%s: this metric does not implement result()"):format(self.name), 0)
end

function Metric:reset_state() end
function Metric:reset_states() return self:reset_state() end

-- Keras's config dict: name and dtype, plus what subclasses add.
function Metric:get_config()
  return { name = self.name, dtype = self.dtype }
end

Metric.__call = function(self, ...)
  self:update_state(...)
  return self:result()
end

Metric.__tostring = function(self)
  local r = self:result()
  if type(r) == "table" then
    local parts = {}
    for i, v in ipairs(r) do parts[i] = ("%.6g"):format(v) end
    r = "{" .. table.concat(parts, ", ") .. "}"
  else
    r = ("%.6g"):format(r)
  end
  return ("dnn.metrics.%s{name=%q, result=%s}"):format(rawget(getmetatable(self), "__name"), self.name, r)
end

return Metric
