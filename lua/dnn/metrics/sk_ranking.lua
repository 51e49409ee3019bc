-- scikit-learn 1.2's ranking metrics: roc_auc_score (binary, multilabel
-- indicators, multiclass "ovr" and "ovo") and average_precision_score.
--
-- Both rest on _binary_clf_curve: scores sorted in decreasing order, one
-- curve point per distinct score (tied scores move together, so the ROC
-- area gives ties half credit and average precision steps once per tie
-- group), cumulative weighted true/false positives at each point.  All of
-- it is tensor ops: sort, cumsum, a mask of group ends, masked_select.
local dnn = require "dnn"
local S = require "dnn.metrics.sk_input"
local U = require "dnn.metrics.util"

local K = {}

-- tps, fps (float64 tensors, one value per distinct score, decreasing
-- score) for 0/1 targets y (float64 [N]), scores s [N], weights w or nil.
local function clf_curve(y, s, w)
  if w ~= nil then
    -- zero-weighted samples must not add curve points (sklearn filters them)
    local keep = w:ne(0)
    if not keep:all():item() then
      y, s, w = y:masked_select(keep), s:masked_select(keep), w:masked_select(keep)
    end
  end
  local n = s:numel()
  local sorted, order = s:sort(1, true)
  local ys = y:index_select(1, order)
  local ws = w and w:index_select(1, order) or nil
  local tp = ws and (ys * ws) or ys
  local fp = ws and ((1 - ys) * ws) or (1 - ys)
  local ctp, cfp = tp:cumsum(1), fp:cumsum(1)
  local last
  if n > 1 then
    local diff = sorted:narrow(1, 1, n - 1):ne(sorted:narrow(1, 2, n - 1))
    last = dnn.cat({ diff, dnn.tensor({ true }) })
  else
    last = dnn.tensor({ true })
  end
  return ctp:masked_select(last), cfp:masked_select(last)
end

-- The area under the ROC curve (roc_curve + auc: trapezoids from (0, 0)).
local function binary_roc_auc(name, y, s, w)
  local distinct = S.unique(y)
  if #distinct ~= 2 then
    error(("%s: only one class present in y_true; ROC AUC score is not defined in that case"):format(name), 0)
  end
  local tps, fps = clf_curve(y, s, w)
  local zero = dnn.zeros({ 1 }, { dtype = "float64" })
  tps, fps = dnn.cat({ zero, tps }), dnn.cat({ zero, fps })
  local m = tps:numel()
  local tpr = tps / tps[m]
  local fpr = fps / fps[m]
  local dx = fpr:narrow(1, 2, m - 1) - fpr:narrow(1, 1, m - 1)
  local hy = (tpr:narrow(1, 2, m - 1) + tpr:narrow(1, 1, m - 1)) / 2
  return (dx * hy):sum():item()
end

-- Average precision: sum over curve points of (R_k - R_k-1) * P_k.
local function binary_average_precision(_, y, s, w)
  local tps, fps = clf_curve(y, s, w)
  local m = tps:numel()
  local ps = tps + fps
  local precision = dnn.where(ps:ne(0), tps / dnn.where(ps:ne(0), ps, 1), 0)
  local total = tps[m]
  local recall
  if total == 0 then
    recall = dnn.ones({ m }, { dtype = "float64" }) -- sklearn: no positives, recall 1 everywhere
  else
    recall = tps / total
  end
  local prev = dnn.cat({ dnn.zeros({ 1 }, { dtype = "float64" }), recall:narrow(1, 1, m - 1) })
  return ((recall - prev) * precision):sum():item()
end

-- _average_binary_score over the columns of indicator targets Y [N,C].
local function average_binary(name, metric, Y, P, average, w)
  if average == "micro" then
    local ww = w and w:unsqueeze(2):expand(Y:size()):reshape(-1) or nil
    return metric(name, Y:reshape(-1), P:reshape(-1), ww)
  end
  local C = P:size()[2]
  local avg_w = nil
  if average == "weighted" then
    local yw = w and (Y * w:unsqueeze(2)) or Y
    avg_w = yw:sum(1):totable()
    local s = 0
    for _, v in ipairs(avg_w) do s = s + v end
    if math.abs(s) <= 1e-8 then return 0 end
  end
  local scores = {}
  for c = 1, C do
    scores[c] = metric(name, Y:select(2, c):contiguous(), P:select(2, c):contiguous(), w)
  end
  if average == nil then return scores end
  if avg_w then
    for c = 1, C do
      if avg_w[c] == 0 then scores[c] = 0 end
    end
  end
  return S.average(name, scores, avg_w)
end

local function parse_average(name, average, allowed)
  if average == nil then average = "macro" end
  if average == "none" then average = false end
  for _, a in ipairs(allowed) do
    if average == a then return average or nil end -- false (scikit-learn's None): per-column scores
  end
  local list = {}
  for _, a in ipairs(allowed) do list[#list + 1] = a == false and "false" or ('"' .. a .. '"') end
  error(("%s: average must be one of %s, got %s"):format(name, table.concat(list, ", "), tostring(average)), 0)
end

-- One-vs-one (Hand & Till 2001): the mean over class pairs of the two
-- AUCs each class's column gives on the samples of the pair.
local function ovo(name, idx, P, average)
  local C = P:size()[2]
  local scores, prevalence = {}, {}
  local n = idx:numel()
  for a = 0, C - 2 do
    for b = a + 1, C - 1 do
      local mask = idx:eq(a):logical_or(idx:eq(b))
      local ya = idx:masked_select(mask):eq(a):to("float64")
      local sa = P:select(2, a + 1):masked_select(mask)
      local sb = P:select(2, b + 1):masked_select(mask)
      local auc_a = binary_roc_auc(name, ya, sa, nil)
      local auc_b = binary_roc_auc(name, 1 - ya, sb, nil)
      scores[#scores + 1] = (auc_a + auc_b) / 2
      prevalence[#prevalence + 1] = mask:to("float64"):sum():item() / n
    end
  end
  return S.average(name, scores, average == "weighted" and prevalence or nil)
end

-- Indicator matrix [N,C] of the class positions idx (0-based, int64).
local function binarize(idx, C)
  return idx:one_hot(C):to("float64")
end

-- roc_auc_score(y_true, y_score, {average="macro", sample_weight=,
-- multi_class="raise", labels=}):
--   binary y_true (two distinct ids): y_score [N] or [N,1], the score of the
--     larger label;
--   multiclass y_true [N] with y_score [N,C] probabilities (rows summing to
--     1): multi_class="ovr" (one-vs-rest, average "macro", "weighted",
--     "micro" or false) or "ovo" (Hand & Till, "macro" or "weighted");
--   indicator y_true [N,C] (multilabel): per column, averaged.
function K.roc_auc_score(a, b, c, extra)
  local name = "roc_auc_score"
  local yt, ys, o = S.args(name, { average = true, sample_weight = true, max_fpr = true, multi_class = true,
    labels = true }, a, b, c, extra)
  if o.max_fpr ~= nil and o.max_fpr ~= 1 then
    error(("%s: max_fpr (partial AUC) is not supported"):format(name), 0)
  end
  local t = S.float(name, yt, "y_true")
  local s = S.float(name, ys, "y_score")
  S.same_length(name, t, s)
  local w = S.weights(name, o.sample_weight, t:dim() == 0 and 1 or t:size()[1])
  if t:dim() == 2 and t:size()[2] > 1 then -- multilabel indicators
    if not U.same_shape(t, s) then
      error(("%s: y_true %s and y_score %s have different shapes"):format(name, U.shape_str(t), U.shape_str(s)), 0)
    end
    return average_binary(name, binary_roc_auc, t, s, parse_average(name, o.average, { "micro", "macro", "weighted",
      false }), w)
  end
  t = S.labels(name, t, "y_true")
  local classes = S.unique(t)
  local multiclass = #classes > 2 or (s:dim() == 2 and s:size()[2] > 2)
  if not multiclass then
    if s:dim() == 2 and s:size()[2] == 1 then s = s:reshape(-1) end
    if s:dim() ~= 1 then
      error(("%s: y_score for a binary y_true must be [N] (the positive class's score), got %s; pass the positive column, e.g. y_score[{{}, 2}]")
        :format(name, U.shape_str(s)), 0)
    end
    parse_average(name, o.average, { "micro", "macro", "weighted", false })
    local y = t:eq(classes[#classes] or 1):to("float64")
    return binary_roc_auc(name, y, s, w)
  end
  local mc = o.multi_class or "raise"
  if mc == "raise" then
    error(('%s: multi_class must be "ovo" or "ovr" for a multiclass y_true'):format(name), 0)
  end
  if mc ~= "ovr" and mc ~= "ovo" then
    error(('%s: multi_class=%s is not supported for multiclass ROC AUC; multi_class must be "ovo" or "ovr"')
      :format(name, tostring(mc)), 0)
  end
  if s:dim() ~= 2 then
    error(("%s: y_score for a multiclass y_true must be [N,C] probabilities, got %s"):format(name, U.shape_str(s)), 0)
  end
  local rowsum = s:sum(2)
  if (rowsum - 1):abs():gt(1e-8 + 1e-5 * rowsum:abs()):any():item() then
    error(("%s: target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up to 1.0 over classes")
      :format(name), 0)
  end
  local average = parse_average(name, o.average, mc == "ovr" and { "micro", "macro", "weighted", false }
    or { "macro", "weighted" })
  if o.labels ~= nil then
    local given = S.label_list(name, o.labels, "labels")
    for i = 2, #given do
      if given[i] == given[i - 1] then error(("%s: parameter 'labels' must be unique"):format(name), 0) end
      if given[i] < given[i - 1] then error(("%s: parameter 'labels' must be ordered"):format(name), 0) end
    end
    if #given ~= s:size()[2] then
      error(("%s: number of given labels, %d, not equal to the number of columns in 'y_score', %d")
        :format(name, #given, s:size()[2]), 0)
    end
    for _, v in ipairs(classes) do
      if not S.contains(given, v) then
        error(("%s: 'y_true' contains labels not in parameter 'labels'"):format(name), 0)
      end
    end
    classes = given
  elseif #classes ~= s:size()[2] then
    error(("%s: number of classes in y_true (%d) not equal to the number of columns in 'y_score' (%d)")
      :format(name, #classes, s:size()[2]), 0)
  end
  local idx = S.encode(t, classes)
  if mc == "ovo" then
    if w ~= nil then
      error(("%s: sample_weight is not supported for multiclass one-vs-one ROC AUC; 'sample_weight' must be nil in this case")
        :format(name), 0)
    end
    return ovo(name, idx, s, average)
  end
  return average_binary(name, binary_roc_auc, binarize(idx, #classes), s, average, w)
end

-- average_precision_score(y_true, y_score, {average="macro", pos_label=1,
-- sample_weight=}): binary y_true with y_score [N]; indicator y_true [N,C];
-- and (as scikit-learn >= 1.3) class ids [N] with y_score [N,C]: one
-- column per class id 0..C-1, one-vs-rest.
function K.average_precision_score(a, b, c, extra)
  local name = "average_precision_score"
  local yt, ys, o = S.args(name, { average = true, pos_label = true, sample_weight = true }, a, b, c, extra)
  local t = S.float(name, yt, "y_true")
  local s = S.float(name, ys, "y_score")
  S.same_length(name, t, s)
  local w = S.weights(name, o.sample_weight, t:dim() == 0 and 1 or t:size()[1])
  local pos_label = o.pos_label == nil and 1 or o.pos_label
  local averages = { "micro", "macro", "weighted", false }
  if t:dim() == 2 and t:size()[2] > 1 then
    if pos_label ~= 1 then
      error(("%s: parameter pos_label is fixed to 1 for indicator y_true; do not set pos_label or set it to 1"):format(name), 0)
    end
    if not U.same_shape(t, s) then
      error(("%s: y_true %s and y_score %s have different shapes"):format(name, U.shape_str(t), U.shape_str(s)), 0)
    end
    return average_binary(name, binary_average_precision, t, s, parse_average(name, o.average, averages), w)
  end
  t = S.labels(name, t, "y_true")
  local present = S.unique(t)
  if s:dim() == 2 and s:size()[2] > 1 then
    if pos_label ~= 1 then
      error(("%s: parameter pos_label is fixed to 1 for multiclass y_true; do not set pos_label or set it to 1"):format(name), 0)
    end
    local C = s:size()[2]
    if #present > 0 and present[#present] >= C then
      error(("%s: y_true holds class %g but y_score %s has only %d columns"):format(name, present[#present],
        U.shape_str(s), C), 0)
    end
    return average_binary(name, binary_average_precision, binarize(t:to("int64"), C), s,
      parse_average(name, o.average, averages), w)
  end
  if #present > 2 then
    error(("%s: y_true has %d classes; pass y_score [N,C] with one column per class"):format(name, #present), 0)
  end
  if #present == 2 and not S.contains(present, pos_label) then
    error(("%s: pos_label=%s is not a valid label; it should be one of %s"):format(name, tostring(pos_label),
      S.fmt_list(present)), 0)
  end
  if s:dim() == 2 then s = s:reshape(-1) end
  parse_average(name, o.average, averages)
  return binary_average_precision(name, t:eq(pos_label):to("float64"), s, w)
end

return K
