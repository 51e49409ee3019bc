-- Keras 2.15's FBetaScore and F1Score (keras/metrics/f_score_metrics.py):
-- per-class true/false positive and false negative counts over a stream of
-- 2-D (batch, classes) inputs; y_pred > threshold is positive, or, with no
-- threshold, the row's maximum (when it is not 0).
--
--   local f1 = dnn.metrics.F1Score{average="macro", threshold=0.5}
--   f1:update_state(y_true_onehot, y_pred); f1:result()
--
-- average: nil (a list, one score per class), "micro", "macro", "weighted".
local class = require "dnn.class"
local Metric = require "dnn.metrics.Metric"
local U = require "dnn.metrics.util"

local FS = {}
local EPSILON = 1e-7

local FBetaScore = Metric:extend("FBetaScore")
FS.FBetaScore = FBetaScore

local function setup(self, cname, a, default_name)
  Metric.init(self, a, default_name)
  local average = a.average
  if average == false or average == "none" then average = nil end
  if average ~= nil and average ~= "micro" and average ~= "macro" and average ~= "weighted" then
    error(('%s: invalid average "%s" (expected nil, "micro", "macro" or "weighted")'):format(cname, tostring(average)), 0)
  end
  local beta = a.beta == nil and 1.0 or a.beta
  if type(beta) ~= "number" or not (beta > 0) then
    error(("%s: beta must be a number > 0, got %s"):format(cname, tostring(beta)), 0)
  end
  local thr = a.threshold
  if thr ~= nil and (type(thr) ~= "number" or not (thr > 0 and thr <= 1)) then
    error(("%s: threshold must be a number with 0 < threshold <= 1, got %s"):format(cname, tostring(thr)), 0)
  end
  self.average, self.beta, self.threshold = average, beta, thr
  self:reset_state()
end

function FBetaScore:init(...)
  local a = class.kwargs("FBetaScore", { "average", "beta", "threshold", "name", "dtype" }, {}, ...)
  setup(self, "FBetaScore", a, "fbeta_score")
end

function FBetaScore:reset_state()
  self.true_positives, self.false_positives, self.false_negatives, self.intermediate_weights = nil, nil, nil, nil
end

function FBetaScore:update(yt, yp, sw)
  yt = U.tensor(self.name, yt, "y_true", self.dtype)
  yp = U.tensor(self.name, yp, "y_pred", self.dtype)
  if yt:dim() ~= 2 or yp:dim() ~= 2 then
    error(("%s: expects 2D inputs with shape (batch_size, output_dim), got y_true %s and y_pred %s")
      :format(self.name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  if not U.same_shape(yt, yp) then
    error(("%s: y_true %s and y_pred %s must have the same shape (one-hot or multi-hot labels)")
      :format(self.name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  if self.true_positives and self.true_positives:numel() ~= (self.average == "micro" and 1 or yp:size()[2]) then
    error(("%s: y_pred has %d classes but earlier batches had %d"):format(self.name, yp:size()[2],
      self.true_positives:numel()), 0)
  end
  local pred
  if self.threshold == nil then
    pred = yp:ge(yp:amax(-1, true)):logical_and(yp:abs():gt(1e-12))
  else
    local thr = self.dtype == "float32" and U.f32(self.threshold) or self.threshold
    pred = yp:gt(thr)
  end
  pred = pred:to("float64")
  local t = yt:to("float64")
  local w = nil
  if sw ~= nil then
    w = self:weights(sw):to("float64")
    if w:dim() == 0 then
      w = w:reshape(1, 1)
    elseif w:dim() == 1 and w:numel() == yp:size()[1] then
      w = w:unsqueeze(2)
    else
      error(("%s: sample_weight %s must have one weight per row of y_pred %s")
        :format(self.name, U.shape_str(w), U.shape_str(yp)), 0)
    end
  end
  local micro = self.average == "micro"
  local function wsum(v)
    if w then v = v * w end
    if micro then return v:sum():reshape(1) end
    return v:sum(1)
  end
  local tp, fp = wsum(pred * t), wsum(pred * (1 - t))
  local fn, iw = wsum((1 - pred) * t), wsum(t)
  if self.true_positives == nil then
    self.true_positives, self.false_positives, self.false_negatives, self.intermediate_weights = tp, fp, fn, iw
  else
    self.true_positives = self.true_positives + tp
    self.false_positives = self.false_positives + fp
    self.false_negatives = self.false_negatives + fn
    self.intermediate_weights = self.intermediate_weights + iw
  end
end

function FBetaScore:result()
  if self.true_positives == nil then return self.average == nil and {} or 0 end
  local tp, fp = self.true_positives:totable(), self.false_positives:totable()
  local fn, iw = self.false_negatives:totable(), self.intermediate_weights:totable()
  local b2 = self.beta * self.beta
  local f = {}
  for i = 1, #tp do
    local p = tp[i] / (tp[i] + fp[i] + EPSILON)
    local r = tp[i] / (tp[i] + fn[i] + EPSILON)
    f[i] = p * r / (b2 * p + r + EPSILON) * (1 + b2)
  end
  if self.average == nil then return f end
  if self.average == "weighted" then
    local total = 0
    for i = 1, #iw do total = total + iw[i] end
    local s = 0
    for i = 1, #f do s = s + f[i] * (iw[i] / (total + EPSILON)) end
    return s
  end
  local s = 0
  for i = 1, #f do s = s + f[i] end
  return s / #f
end

function FBetaScore:get_config()
  local cfg = Metric.get_config(self)
  cfg.average, cfg.beta, cfg.threshold = self.average, self.beta, self.threshold
  return cfg
end

local F1Score = FBetaScore:extend("F1Score")
FS.F1Score = F1Score

function F1Score:init(...)
  local a = class.kwargs("F1Score", { "average", "threshold", "name", "dtype" }, {}, ...)
  a.beta = 1.0
  setup(self, "F1Score", a, "f1_score")
end

function F1Score:get_config()
  local cfg = FBetaScore.get_config(self)
  cfg.beta = nil
  return cfg
end

return FS
