-- scikit-learn 1.2's classification metrics, same names and semantics:
-- accuracy_score, precision_score, recall_score, f1_score, fbeta_score,
-- confusion_matrix and log_loss.  Labels are 0-based class ids (tensors or
-- Lua tables); results are Lua numbers (a list per label with
-- average=false, scikit-learn's average=None; a tensor for
-- confusion_matrix).  Counting is bincount over tensors, so 60k samples
-- cost a few tensor ops.
local dnn = require "dnn"
local S = require "dnn.metrics.sk_input"
local U = require "dnn.metrics.util"

local K = {}

-- accuracy_score(y_true, y_pred, {normalize=true, sample_weight=}): the
-- fraction (or, normalize=false, the weighted count) of exact matches; 2-D
-- indicator inputs [N,C] count a row only when all of it matches.
function K.accuracy_score(a, b, c, extra)
  local name = "accuracy_score"
  local yt, yp, o = S.args(name, { normalize = true, sample_weight = true }, a, b, c, extra)
  local t, p = S.float(name, yt, "y_true"), S.float(name, yp, "y_pred")
  local score
  if t:dim() == 2 and t:size()[2] > 1 then
    if not U.same_shape(t, p) then
      error(("%s: y_true %s and y_pred %s must have the same shape"):format(name, U.shape_str(t), U.shape_str(p)), 0)
    end
    score = t:eq(p):all(2):to("float64")
  else
    t, p = S.labels(name, t, "y_true"), S.labels(name, p, "y_pred")
    S.same_length(name, t, p)
    score = t:eq(p):to("float64")
  end
  local w = S.weights(name, o.sample_weight, score:numel())
  local normalize = o.normalize
  if normalize == nil then normalize = true end
  if normalize then return S.average(name, score, w) end
  if w then return (score * w):sum():item() end
  return score:sum():item()
end

-- Per-label weighted counts: tp, predicted, true (float64 tensors [L]).
local function label_counts(t, p, w, labels)
  local L = #labels
  local ti, pi = S.encode(t, labels), S.encode(p, labels)
  local ones = w or dnn.ones({ t:numel() }, { dtype = "float64" })
  -- ids outside `labels` (-1) go to an extra bin that is dropped
  local function counts(idx, weight)
    local shifted = idx + 1
    return shifted:bincount(weight, L + 1):narrow(1, 2, L)
  end
  local match = t:eq(p):to("float64") * ones
  return counts(ti, match), counts(pi, ones), counts(ti, ones)
end

local function check_zero_division(name, zd)
  if zd == nil or zd == "warn" then return "warn" end
  if zd == 0 or zd == 1 then return zd end
  error(('%s: zero_division must be "warn", 0 or 1, got %s'):format(name, tostring(zd)), 0)
end

-- _prf_divide: num/den with den == 0 giving 0 (or 1 with zero_division=1).
local function prf_divide(num, den, zd)
  local out = {}
  local fill = (zd == 1) and 1 or 0
  for i = 1, #num do out[i] = den[i] == 0 and fill or num[i] / den[i] end
  return out
end

local AVERAGES = { binary = true, micro = true, macro = true, weighted = true }

-- precision_recall_fscore_support, as scikit-learn 1.2 (warn_for aside).
local function prf(name, yt, yp, o, beta)
  local average = o.average
  if average == nil then average = "binary" end
  if average == false or average == "none" then average = nil end
  if average ~= nil and not AVERAGES[average] then
    error(('%s: average must be one of "binary", "micro", "macro", "weighted" or false (per label), got %s')
      :format(name, tostring(average)), 0)
  end
  local zd = check_zero_division(name, o.zero_division)
  local t, p = S.labels(name, yt, "y_true"), S.labels(name, yp, "y_pred")
  S.same_length(name, t, p)
  local w = S.weights(name, o.sample_weight, t:numel())
  local present = S.unique(t, p)
  local binary = #present <= 2
  local pos_label = o.pos_label == nil and 1 or o.pos_label
  local labels
  if average == "binary" then
    if not binary then
      error(("%s: target is multiclass but average=\"binary\"; choose another average setting, one of false (per label), \"micro\", \"macro\", \"weighted\"")
        :format(name), 0)
    end
    if not S.contains(present, pos_label) and #present >= 2 then
      error(("%s: pos_label=%s is not a valid label; it should be one of %s"):format(name, tostring(pos_label),
        S.fmt_list(present)), 0)
    end
    labels = { pos_label }
  else
    labels = o.labels ~= nil and S.label_list(name, o.labels, "labels") or present
  end
  local tp, pred, tru = label_counts(t, p, w, labels)
  if average == "micro" then
    tp, pred, tru = tp:sum():reshape(1), pred:sum():reshape(1), tru:sum():reshape(1)
  end
  tp, pred, tru = tp:totable(), pred:totable(), tru:totable()
  local precision = prf_divide(tp, pred, zd)
  local recall = prf_divide(tp, tru, zd)
  local b2 = beta * beta
  local f = {}
  for i = 1, #tp do
    local denom = b2 * precision[i] + recall[i]
    if denom == 0 then denom = 1 end
    f[i] = (1 + b2) * precision[i] * recall[i] / denom
  end
  local weights = nil
  if average == "weighted" then
    weights = tru
    local sw, sp = 0, 0
    for i = 1, #tru do
      sw = sw + tru[i]
      sp = sp + pred[i]
    end
    if sw == 0 then
      local zdv = (zd == 1) and 1.0 or 0.0
      if sp == 0 then return zdv, zdv, zdv end
      return 0.0, zdv, 0.0
    end
  end
  if average == nil then return precision, recall, f end
  return S.average(name, precision, weights), S.average(name, recall, weights), S.average(name, f, weights)
end

local PRF_OPTS = { labels = true, pos_label = true, average = true, sample_weight = true, zero_division = true }

function K.precision_score(a, b, c, extra)
  local yt, yp, o = S.args("precision_score", PRF_OPTS, a, b, c, extra)
  local p = prf("precision_score", yt, yp, o, 1)
  return p
end

function K.recall_score(a, b, c, extra)
  local yt, yp, o = S.args("recall_score", PRF_OPTS, a, b, c, extra)
  local _, r = prf("recall_score", yt, yp, o, 1)
  return r
end

function K.f1_score(a, b, c, extra)
  local yt, yp, o = S.args("f1_score", PRF_OPTS, a, b, c, extra)
  local _, _, f = prf("f1_score", yt, yp, o, 1)
  return f
end

local FBETA_OPTS = { beta = true }
for k in pairs(PRF_OPTS) do FBETA_OPTS[k] = true end

-- fbeta_score(y_true, y_pred, {beta=, ...}): beta is required, as in sklearn.
function K.fbeta_score(a, b, c, extra)
  local yt, yp, o = S.args("fbeta_score", FBETA_OPTS, a, b, c, extra)
  local beta = o.beta
  if type(beta) ~= "number" or beta < 0 then
    error(("fbeta_score: beta must be a number >= 0, got %s"):format(tostring(beta)), 0)
  end
  local _, _, f = prf("fbeta_score", yt, yp, o, beta)
  return f
end

-- confusion_matrix(y_true, y_pred, {labels=, sample_weight=, normalize=}):
-- a tensor [L, L], rows = true labels, columns = predictions, in the order
-- of `labels` (default: the sorted labels present in either); int64 counts,
-- float64 with sample weights or normalize ("true", "pred" or "all").
function K.confusion_matrix(a, b, c, extra)
  local name = "confusion_matrix"
  local yt, yp, o = S.args(name, { labels = true, sample_weight = true, normalize = true }, a, b, c, extra)
  local t, p = S.labels(name, yt, "y_true"), S.labels(name, yp, "y_pred")
  S.same_length(name, t, p)
  local w = S.weights(name, o.sample_weight, t:numel())
  local normalize = o.normalize
  if normalize ~= nil and normalize ~= "true" and normalize ~= "pred" and normalize ~= "all" then
    error(('%s: normalize must be "true", "pred", "all" or nil, got %s'):format(name, tostring(normalize)), 0)
  end
  local labels
  if o.labels ~= nil then
    labels = S.label_list(name, o.labels, "labels")
    if #labels == 0 then error(("%s: labels should contain at least one label"):format(name), 0) end
    local seen = false
    local tl = S.unique(t)
    for _, l in ipairs(labels) do
      if S.contains(tl, l) then seen = true end
    end
    if not seen then error(("%s: at least one label specified must be in y_true"):format(name), 0) end
  else
    labels = S.unique(t, p)
  end
  local L = #labels
  local ti, pi = S.encode(t, labels), S.encode(p, labels)
  local keep = ti:ge(0):logical_and(pi:ge(0))
  local cell = (ti * L + pi + 1):masked_fill(keep:logical_not(), 0)
  local weight = (w or dnn.ones({ t:numel() }, { dtype = "float64" })) * keep:to("float64")
  local cm = cell:bincount(weight, L * L + 1):narrow(1, 2, L * L):reshape(L, L)
  if normalize == "true" then
    cm = cm / cm:sum(2, true)
  elseif normalize == "pred" then
    cm = cm / cm:sum(1, true)
  elseif normalize == "all" then
    cm = cm / cm:sum()
  end
  if normalize then cm = dnn.where(cm:isnan(), 0, cm) end
  if w == nil and normalize == nil then cm = cm:to("int64") end
  return cm
end

-- log_loss(y_true, y_pred, {eps="auto", normalize=true, sample_weight=,
-- labels=}): y_pred is [N] or [N,1] (probability of the larger label) or
-- [N,C] probabilities, clipped to [eps, 1-eps] and renormalised per row;
-- eps="auto" is the machine epsilon of y_pred's dtype (float64 for Lua
-- tables), as scikit-learn 1.2.
local FINFO_EPS = { float64 = 2.220446049250313e-16, float32 = 1.1920928955078125e-07 }

function K.log_loss(a, b, c, extra)
  local name = "log_loss"
  local yt, yp, o = S.args(name, { eps = true, normalize = true, sample_weight = true, labels = true }, a, b, c, extra)
  local eps = o.eps
  if eps == nil or eps == "auto" then
    eps = FINFO_EPS[dnn.is_tensor(yp) and yp.dtype or "float64"] or FINFO_EPS.float64
  elseif type(eps) ~= "number" then
    error(('%s: eps must be a number or "auto", got %s'):format(name, tostring(eps)), 0)
  end
  local t = S.labels(name, yt, "y_true")
  local p = S.float(name, yp, "y_pred")
  S.same_length(name, t, p)
  local w = S.weights(name, o.sample_weight, t:numel())
  local classes
  if o.labels ~= nil then
    classes = S.unique(dnn.tensor(S.label_list(name, o.labels, "labels"), { dtype = "float64" }))
  else
    classes = S.unique(t)
  end
  if #classes == 1 then
    if o.labels == nil then
      error(("%s: y_true contains only one label (%g); provide the true labels explicitly through the labels argument")
        :format(name, classes[1]), 0)
    end
    error(("%s: the labels array needs to contain at least two labels, got %s"):format(name, S.fmt_list(classes)), 0)
  end
  local idx = S.encode(t, classes)
  if idx:lt(0):any():item() then
    error(("%s: y_true contains labels not in labels %s"):format(name, S.fmt_list(classes)), 0)
  end
  p = p:clamp(eps, 1 - eps)
  if p:dim() == 1 then p = p:unsqueeze(2) end
  if p:dim() ~= 2 then
    error(("%s: y_pred must be [N], [N,1] or [N,C] probabilities, got %s"):format(name, U.shape_str(p)), 0)
  end
  if p:size()[2] == 1 then p = dnn.cat({ 1 - p, p }, 2) end
  if p:size()[2] ~= #classes then
    if o.labels == nil then
      error(("%s: y_true and y_pred contain different numbers of classes %d, %d; provide the true labels explicitly through the labels argument (classes found in y_true: %s)")
        :format(name, #classes, p:size()[2], S.fmt_list(classes)), 0)
    end
    error(("%s: the number of classes in labels is different from that in y_pred (classes found in labels: %s)")
      :format(name, S.fmt_list(classes)), 0)
  end
  p = p / p:sum(2, true)
  local loss = -p:gather(2, (idx + 1):reshape(-1, 1)):reshape(-1):log()
  local normalize = o.normalize
  if normalize == nil then normalize = true end
  if normalize then return S.average(name, loss, w) end
  if w then return (loss * w):sum():item() end
  return loss:sum():item()
end

return K
