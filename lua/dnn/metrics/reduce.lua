-- Keras's reducing metrics: Mean, Sum, and MeanMetricWrapper (any function
-- fn(y_true, y_pred) -> per-sample values, averaged with sample weights).
--
--   local m = dnn.metrics.Mean()
--   m:update_state({1, 3, 5, 7}, {sample_weight={1, 1, 0, 0}}); m:result() --> 2
--   local mae = dnn.metrics.MeanMetricWrapper(dnn.losses.mean_absolute_error, {name="mae"})
--
-- State is two Lua numbers (total, count), so results over several batches
-- equal the result on the concatenated data.
local dnn = require "dnn"
local class = require "dnn.class"
local Metric = require "dnn.metrics.Metric"
local U = require "dnn.metrics.util"

local R = {}

local Reduce = Metric:extend("Reduce")
R.Reduce = Reduce

function Reduce:init(opts, default_name, reduction)
  Metric.init(self, opts, default_name)
  self.reduction = reduction or "weighted_mean"
  self:reset_state()
end

function Reduce:reset_state()
  self.total, self.count = 0, 0
end

-- update_state(values[, sample_weight]), (values, {sample_weight=}) or
-- {values, sample_weight=}.
function Reduce:update_state(values, sw, extra)
  if extra ~= nil then error(("%s: update_state takes values and an optional sample_weight"):format(self.name), 0) end
  if sw == nil and U.is_plain_table(values) and (values.values ~= nil or values.sample_weight ~= nil) then
    values, sw = values.values or values[1], values.sample_weight
  elseif U.is_plain_table(sw) and sw.sample_weight ~= nil then
    sw = sw.sample_weight
  end
  self:add(values, sw)
end

-- Keras's Reduce.update_state: weights fitted to the values' rank and
-- broadcast; where they cannot be, the values are first reduced over their
-- trailing dims (mean, or sum for Sum).
function Reduce:add(values, sw)
  values = U.tensor(self.name, values, "values", self.dtype)
  if sw ~= nil then
    sw = self:weights(sw)
    local _
    values, _, sw = U.squeeze_or_expand(values, nil, sw)
    if not U.broadcastable(sw, values) then
      local wr, vr = sw:dim(), values:dim()
      local leading = wr < vr
      for i = 1, wr do
        if leading and sw:size()[i] ~= values:size()[i] and sw:size()[i] ~= 1 then leading = false end
      end
      if not leading then
        error(("%s: sample_weight %s does not fit the values %s (give one weight per sample, or a shape that broadcasts to it)")
          :format(self.name, U.shape_str(sw), U.shape_str(values)), 0)
      end
      for _ = vr, wr + 1, -1 do
        values = self.reduction == "sum" and values:sum(-1) or values:mean(-1)
      end
      self.count = self.count + sw:sum():item()
      self.total = self.total + (values * sw):sum():item()
      return
    end
    sw = U.broadcast_weights(self.name, sw, values)
    values = values * sw
  end
  self.total = self.total + values:sum():item()
  if self.reduction ~= "sum" then
    self.count = self.count + (sw and sw:sum():item() or values:numel())
  end
end

function Reduce:result()
  if self.reduction == "sum" then return self.total end
  return U.div0(self.total, self.count)
end

local Mean = Reduce:extend("Mean")
R.Mean = Mean
function Mean:init(...)
  local a = class.kwargs("Mean", { "name", "dtype" }, {}, ...)
  Reduce.init(self, a, "mean", "weighted_mean")
end

local Sum = Reduce:extend("Sum")
R.Sum = Sum
function Sum:init(...)
  local a = class.kwargs("Sum", { "name", "dtype" }, {}, ...)
  Reduce.init(self, a, "sum", "sum")
end

-- MeanMetricWrapper(fn, {name=, dtype=, ...fn keywords}): fn(y_true, y_pred[,
-- kwargs]) returns per-sample values (a tensor); their weighted mean is the
-- result.  y_true and y_pred are cast to float32 and reconciled as compile()
-- does (y_true [N] against y_pred [N,k] becomes [N,1]; a trailing 1 that
-- makes the ranks differ is dropped).
local MeanMetricWrapper = Reduce:extend("MeanMetricWrapper")
R.MeanMetricWrapper = MeanMetricWrapper

local fn_names = {} -- function -> default metric name (filled by init.lua)
R.fn_names = fn_names

local function callable(f)
  return type(f) == "function" or (type(f) == "table" and getmetatable(f) ~= nil and getmetatable(f).__call ~= nil)
end

function MeanMetricWrapper:init(fn, opts, ...)
  if select("#", ...) > 0 then
    error("MeanMetricWrapper: takes fn and one options table {name=, dtype=, ...}", 0)
  end
  if U.is_plain_table(fn) and opts == nil then
    opts = fn
    fn = opts[1] or opts.fn
  end
  if type(fn) == "string" then fn = require("dnn.metrics").get(fn) end -- a config's function name
  if not callable(fn) then
    error(("MeanMetricWrapper: fn must be a function(y_true, y_pred) returning per-sample values, got %s")
      :format(type(fn)), 0)
  end
  opts = opts or {}
  if not U.is_plain_table(opts) then
    error(("MeanMetricWrapper: options must be a table, got %s"):format(type(opts)), 0)
  end
  local kwargs = {}
  for k, v in pairs(opts) do
    if type(k) == "string" and k ~= "name" and k ~= "dtype" and k ~= "fn" then kwargs[k] = v end
  end
  Reduce.init(self, { name = opts.name, dtype = opts.dtype }, fn_names[fn] or "mean_metric_wrapper", "weighted_mean")
  self.fn = fn
  self.fn_kwargs = kwargs
end

function MeanMetricWrapper:update(yt, yp, sw)
  yt = U.tensor(self.name, yt, "y_true", self.dtype)
  yp = U.tensor(self.name, yp, "y_pred", self.dtype)
  yt = U.match_rank(yt, yp)
  yp, yt = U.squeeze_or_expand(yp, yt)
  local values
  if next(self.fn_kwargs) then values = self.fn(yt, yp, self.fn_kwargs) else values = self.fn(yt, yp) end
  if type(values) == "number" then values = dnn.tensor(values, { dtype = self.dtype }) end
  if not dnn.is_tensor(values) then
    error(("%s: the metric function must return a tensor of per-sample values, got %s"):format(self.name, type(values)), 0)
  end
  self:add(values, sw)
end

MeanMetricWrapper.update_state = Metric.update_state

function MeanMetricWrapper:get_config()
  local cfg = Metric.get_config(self)
  for k, v in pairs(self.fn_kwargs) do cfg[k] = v end
  if getmetatable(self) == MeanMetricWrapper then cfg.fn = fn_names[self.fn] or self.fn end
  return cfg
end

-- A MeanMetricWrapper subclass with a fixed function and Keras's positional
-- order for its keywords: params = {{key, default, check}, ...}; `order`
-- lists the positional names (Keras's signature).
function R.wrapper(class_name, default_name, fn, params, order)
  local cls = MeanMetricWrapper:extend(class_name)
  params = params or {}
  local names = order or { "name", "dtype" }
  local extra = {}
  local in_order = {}
  for _, n in ipairs(names) do in_order[n] = true end
  for _, p in ipairs(params) do
    if not in_order[p[1]] then extra[#extra + 1] = p[1] end
  end
  for _, n in ipairs({ "name", "dtype" }) do
    if not in_order[n] then extra[#extra + 1] = n end
  end
  function cls:init(...)
    local a = class.kwargs(class_name, names, extra, ...)
    local kwargs = {}
    for _, p in ipairs(params) do
      local v = a[p[1]]
      if v == nil then v = p[2] end
      if p[3] then v = p[3](class_name, p[1], v) end
      kwargs[p[1]] = v
      self[p[1]] = v
    end
    Reduce.init(self, { name = a.name, dtype = a.dtype }, default_name, "weighted_mean")
    self.fn = fn
    self.fn_kwargs = kwargs
  end
  return cls
end

return R
