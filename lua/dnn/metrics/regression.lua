-- Keras 2.15's RootMeanSquaredError and R2Score
-- (keras/metrics/regression_metrics.py).  The other regression metrics
-- (MeanSquaredError, MeanAbsoluteError, ...) wrap dnn.losses functions with
-- MeanMetricWrapper (see init.lua).
local dnn = require "dnn"
local class = require "dnn.class"
local Metric = require "dnn.metrics.Metric"
local R = require "dnn.metrics.reduce"
local U = require "dnn.metrics.util"

local G = {}

-- sqrt of the (weighted) mean of the squared errors, elementwise.
local RootMeanSquaredError = R.Reduce:extend("RootMeanSquaredError")
G.RootMeanSquaredError = RootMeanSquaredError

function RootMeanSquaredError:init(...)
  local a = class.kwargs("RootMeanSquaredError", { "name", "dtype" }, {}, ...)
  R.Reduce.init(self, a, "root_mean_squared_error", "weighted_mean")
end

RootMeanSquaredError.update_state = Metric.update_state

function RootMeanSquaredError:update(yt, yp, sw)
  yt = U.tensor(self.name, yt, "y_true", self.dtype)
  yp = U.tensor(self.name, yp, "y_pred", self.dtype)
  yt = U.match_rank(yt, yp)
  yp, yt = U.squeeze_or_expand(yp, yt)
  local ok, sq = pcall(function() return (yp - yt):square() end)
  if not ok then
    error(("%s: y_true %s and y_pred %s have incompatible shapes"):format(self.name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  self:add(sq, sw)
end

function RootMeanSquaredError:result()
  return math.sqrt(U.div0(self.total, self.count))
end

-- R2Score(class_aggregation="uniform_average", num_regressors=0): the
-- coefficient of determination per output column, aggregated.
-- class_aggregation: "uniform_average", "variance_weighted_average", or
-- false / "none" for one score per column (Keras's None).
local R2Score = Metric:extend("R2Score")
G.R2Score = R2Score

function R2Score:init(...)
  local a = class.kwargs("R2Score", { "class_aggregation", "num_regressors", "name", "dtype" }, {}, ...)
  Metric.init(self, a, "r2_score")
  local agg = a.class_aggregation
  if agg == nil then agg = "uniform_average" end
  if agg == false or agg == "none" then agg = nil end
  if agg ~= nil and agg ~= "uniform_average" and agg ~= "variance_weighted_average" then
    error(('R2Score: invalid class_aggregation "%s" (expected "uniform_average", "variance_weighted_average" or false)')
      :format(tostring(agg)), 0)
  end
  self.class_aggregation = agg
  self.num_regressors = a.num_regressors == nil and 0 or U.check_int("R2Score", "num_regressors", a.num_regressors, 0)
  self:reset_state()
end

function R2Score:reset_state()
  self.sum, self.squared_sum, self.total_mse, self.count = nil, nil, nil, nil
  self.num_samples = 0
end

-- 1-D inputs are taken as one output column.
local function as_2d(t)
  if t:dim() == 1 then return t:unsqueeze(2) end
  return t
end

function R2Score:update(yt, yp, sw)
  yt = as_2d(U.tensor(self.name, yt, "y_true", self.dtype))
  yp = as_2d(U.tensor(self.name, yp, "y_pred", self.dtype))
  if yt:dim() ~= 2 or not U.same_shape(yt, yp) then
    error(("%s: expects 2D inputs with shape (batch_size, output_dim) and equal shapes, got y_true %s and y_pred %s")
      :format(self.name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  if self.sum and self.sum:numel() ~= yt:size()[2] then
    error(("%s: inputs have %d output columns but earlier batches had %d"):format(self.name, yt:size()[2],
      self.sum:numel()), 0)
  end
  local t, p = yt:to("float64"), yp:to("float64")
  local w
  if sw == nil then
    w = dnn.ones_like(t)
  else
    w = self:weights(sw):to("float64")
    if w:dim() == 1 then w = w:unsqueeze(2) end
    w = U.broadcast_weights(self.name, w, t)
  end
  local wt = t * w
  local s, sq = wt:sum(1), (t * wt):sum(1)
  local mse, cnt = ((t - p):square() * w):sum(1), w:sum(1)
  if self.sum == nil then
    self.sum, self.squared_sum, self.total_mse, self.count = s, sq, mse, cnt
  else
    self.sum, self.squared_sum = self.sum + s, self.squared_sum + sq
    self.total_mse, self.count = self.total_mse + mse, self.count + cnt
  end
  self.num_samples = self.num_samples + yt:numel()
end

function R2Score:result()
  if self.sum == nil then return self.class_aggregation == nil and {} or 0 end
  local s, sq = self.sum:totable(), self.squared_sum:totable()
  local mse, cnt = self.total_mse:totable(), self.count:totable()
  local raw, total = {}, {}
  for i = 1, #s do
    local mean = s[i] / cnt[i]
    total[i] = sq[i] - s[i] * mean
    local r = 1 - mse[i] / total[i]
    if r == math.huge or r == -math.huge then r = 0 end
    raw[i] = r
  end
  local score
  if self.class_aggregation == "uniform_average" then
    score = 0
    for i = 1, #raw do score = score + raw[i] end
    score = score / #raw
  elseif self.class_aggregation == "variance_weighted_average" then
    local num, den = 0, 0
    for i = 1, #raw do
      num = num + total[i] * raw[i]
      den = den + total[i]
    end
    score = num / den
  else
    return raw
  end
  local n, p = self.num_samples, self.num_regressors
  if p ~= 0 and p < n - 1 then
    score = 1 - (1 - score) * (n - 1) / (n - p - 1)
  end
  return score
end

function R2Score:get_config()
  local cfg = Metric.get_config(self)
  cfg.class_aggregation = self.class_aggregation or false
  cfg.num_regressors = self.num_regressors
  return cfg
end

return G
