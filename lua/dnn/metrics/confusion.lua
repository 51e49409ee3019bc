-- Keras 2.15's confusion-matrix metrics (keras/metrics/confusion_metrics.py,
-- keras/utils/metrics_utils.py): TruePositives, FalsePositives,
-- TrueNegatives, FalseNegatives, Precision, Recall and AUC.
--
-- Counting follows update_confusion_matrix_variables: a prediction is
-- positive when y_pred > threshold (thresholds rounded to float32, as TF
-- does); evenly spaced thresholds (AUC's default 200, or a user list that
-- is evenly spaced) take Keras's bucket path instead: bucket =
-- ceil(y_pred * (T-1)) - 1 computed in float32 on y_pred clipped to [0, 1],
-- with AUC's end thresholds -1e-7 and 1+1e-7 catching 0 and 1.  Counts are
-- weighted sums kept as float64 tensors [L, T] (L labels with multi_label,
-- else 1), so several update_state calls add up exactly.
local dnn = require "dnn"
local class = require "dnn.class"
local Metric = require "dnn.metrics.Metric"
local U = require "dnn.metrics.util"

local C = {}

local NEG_INF = -1e10
local EPSILON = 1e-7

-- ------------------------------------------------------------ thresholds

local function parse_thresholds(name, thresholds, default)
  if thresholds == nil then return { default } end
  local list
  if type(thresholds) == "number" then
    list = { thresholds }
  elseif U.is_plain_table(thresholds) and #thresholds > 0 then
    list = {}
    for i, t in ipairs(thresholds) do list[i] = t end
  else
    error(("%s: thresholds must be a number or a list of numbers in [0, 1], got %s"):format(name, type(thresholds)), 0)
  end
  local bad = {}
  for _, t in ipairs(list) do
    if type(t) ~= "number" or t < 0 or t > 1 or t ~= t then bad[#bad + 1] = tostring(t) end
  end
  if #bad > 0 then
    error(("%s: threshold values must be in [0, 1]; invalid values: %s"):format(name, table.concat(bad, ", ")), 0)
  end
  return list
end

-- metrics_utils.is_evenly_distributed_thresholds: np.allclose against
-- arange(n, float32) / (n - 1) with atol = 1e-7 (rtol 1e-5).
local function evenly_distributed(list)
  local n = #list
  if n < 3 then return false end
  for i = 1, n do
    local even = U.f32((i - 1) / (n - 1))
    if math.abs(list[i] - even) > EPSILON + 1e-5 * math.abs(even) then return false end
  end
  return true
end

local function f32_list(list)
  local out = {}
  for i, t in ipairs(list) do out[i] = U.f32(t) end
  return out
end

-- ------------------------------------------------------------ counting

-- metrics_utils._filter_top_k: keeps the k largest values of the last dim
-- (ties: the lowest index, as tf.math.top_k), the rest become -1e10.
local function filter_top_k(name, x, k)
  local c = x:size()[x:dim()]
  if k > c then
    error(("%s: top_k=%d is larger than the number of classes in y_pred %s"):format(name, k, U.shape_str(x)), 0)
  end
  local _, idx = x:topk(k)
  local keep = dnn.zeros_like(x, { dtype = "int64" }):scatter(-1, idx, 1):ne(0)
  return dnn.where(keep, x, NEG_INF)
end

-- Returns tp, fp, tn, fn as float64 tensors [L, T].
--   o.thresholds  float32-rounded thresholds (sorted for the bucket path)
--   o.evenly      take the bucket path; o.with_eps: end thresholds -eps/1+eps
--   o.top_k, o.class_id, o.multi_label, o.label_weights (tensor [L] or nil)
local function count(name, yt, yp, sw, o)
  yp, yt, sw = U.squeeze_or_expand(yp, yt, sw)
  if not U.same_shape(yt, yp) then
    error(("%s: y_true %s and y_pred %s must have the same shape"):format(name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  if o.top_k then yp = filter_top_k(name, yp, o.top_k) end
  if o.class_id then
    local c = yp:dim() > 0 and yp:size()[yp:dim()] or 0
    if o.class_id >= c then
      error(("%s: class_id %d is out of range for y_pred %s (class ids are 0..%d)")
        :format(name, o.class_id, U.shape_str(yp), c - 1), 0)
    end
    yt = yt:narrow(-1, o.class_id + 1, 1)
    yp = yp:narrow(-1, o.class_id + 1, 1)
  end
  local w = sw and U.broadcast_weights(name, sw, yp) or nil
  if o.label_weights and not o.multi_label then
    local lw = o.label_weights
    if yp:dim() < 1 or yp:size()[yp:dim()] ~= lw:numel() then
      error(("%s: label_weights has %d values but y_pred %s has %s labels")
        :format(name, lw:numel(), U.shape_str(yp), yp:dim() > 0 and tostring(yp:size()[yp:dim()]) or "no"), 0)
    end
    lw = lw:expand(yp:size())
    w = w and w * lw or lw:contiguous()
  end
  local L = 1
  if o.multi_label then
    if yp:dim() ~= 2 then
      error(("%s: y_pred must have rank 2 when multi_label=true, got %s"):format(name, U.shape_str(yp)), 0)
    end
    L = yp:size()[2]
    if o.num_labels and o.num_labels ~= L then
      error(("%s: y_pred %s has %d labels but num_labels is %d"):format(name, U.shape_str(yp), L, o.num_labels), 0)
    end
    -- labels first: [L, N]
    yt, yp = yt:t():contiguous(), yp:t():contiguous()
    if w then w = w:t():contiguous() end
  end
  local pos = yt:ne(0):to("float64")
  if w then pos = pos * w:to("float64") end
  local neg = (yt:eq(0):to("float64"))
  if w then neg = neg * w:to("float64") end
  pos, neg = pos:reshape(L, -1), neg:reshape(L, -1)
  local T = #o.thresholds
  local tp, fp
  if o.evenly then
    local p = yp:clamp(0, 1)
    local bucket = (p * (T - 1)):ceil() - 1
    if o.with_eps then bucket = bucket:clamp{ min = 0 } end
    -- a NaN prediction is above no threshold (as y_pred > t is false)
    bucket = dnn.where(p:isnan(), -1, bucket)
    -- shift by one so the dropped bucket -1 (y_pred 0 without the -eps
    -- threshold) lands in a column we discard; one block of T+1 per label
    local b = (bucket + 1):to("int64"):reshape(L, -1)
    local offs = (dnn.arange(L, { dtype = "int64" }) * (T + 1)):reshape(L, 1)
    b = (b + offs):reshape(-1)
    local n = L * (T + 1)
    local tpb = b:bincount(pos:reshape(-1), n):reshape(L, T + 1):narrow(2, 2, T)
    local fpb = b:bincount(neg:reshape(-1), n):reshape(L, T + 1):narrow(2, 2, T)
    tp = tpb:flip(2):cumsum(2):flip(2)
    fp = fpb:flip(2):cumsum(2):flip(2)
  else
    local p = yp:reshape(L, -1)
    local tps, fps = {}, {}
    for i, t in ipairs(o.thresholds) do
      local above = p:gt(t):to("float64")
      tps[i] = (above * pos):sum(2, true)
      fps[i] = (above * neg):sum(2, true)
    end
    tp, fp = dnn.cat(tps, 2), dnn.cat(fps, 2)
  end
  local tn = neg:sum(2, true) - fp
  local fn = pos:sum(2, true) - tp
  return tp, fp, tn, fn
end
C.count = count

-- Shared state of the counting metrics.
local function reset_counts(self, L, T)
  local z = dnn.zeros({ L, T }, { dtype = "float64" })
  self.updated = false
  self.true_positives, self.false_positives = z, z
  self.true_negatives, self.false_negatives = z, z
end

local function add_counts(self, yt, yp, sw, o)
  yt = U.tensor(self.name, yt, "y_true", self.dtype)
  yp = U.tensor(self.name, yp, "y_pred", self.dtype)
  yt = U.match_rank(yt, yp)
  sw = self:weights(sw)
  local tp, fp, tn, fn = count(self.name, yt, yp, sw, o)
  if not U.same_shape(tp, self.true_positives) then
    -- multi_label without num_labels: the first batch fixes the label count
    if self.updated then
      error(("%s: y_pred has %d labels but earlier batches had %d"):format(self.name, tp:size()[1],
        self.true_positives:size()[1]), 0)
    end
    reset_counts(self, tp:size()[1], tp:size()[2])
  end
  self.updated = true
  self.true_positives = self.true_positives + tp
  self.false_positives = self.false_positives + fp
  self.true_negatives = self.true_negatives + tn
  self.false_negatives = self.false_negatives + fn
end

local function row(t) return t:reshape(-1):totable() end

-- One value per threshold: a number for one threshold, else a list.
local function per_threshold(list)
  if #list == 1 then return list[1] end
  return list
end

local function class_id_opt(cname, v)
  if v == nil then return nil end
  return U.check_int(cname, "class_id", v, 0)
end

local function top_k_opt(cname, v)
  if v == nil then return nil end
  return U.check_int(cname, "top_k", v, 1)
end

-- ------------------------------------------------------------ TP/FP/TN/FN

local function condition_class(class_name, default_name, field)
  local cls = Metric:extend(class_name)
  function cls:init(...)
    local a = class.kwargs(class_name, { "thresholds", "name", "dtype" }, {}, ...)
    Metric.init(self, a, default_name)
    self.init_thresholds = a.thresholds
    local list = parse_thresholds(class_name, a.thresholds, 0.5)
    self.thresholds = list
    self.opts = { thresholds = f32_list(list), evenly = evenly_distributed(list) }
    self:reset_state()
  end
  function cls:reset_state() reset_counts(self, 1, #self.thresholds) end
  function cls:update(yt, yp, sw) add_counts(self, yt, yp, sw, self.opts) end
  function cls:result() return per_threshold(row(self[field])) end
  function cls:get_config()
    local cfg = Metric.get_config(self)
    cfg.thresholds = self.init_thresholds
    return cfg
  end
  return cls
end

C.TruePositives = condition_class("TruePositives", "true_positives", "true_positives")
C.FalsePositives = condition_class("FalsePositives", "false_positives", "false_positives")
C.TrueNegatives = condition_class("TrueNegatives", "true_negatives", "true_negatives")
C.FalseNegatives = condition_class("FalseNegatives", "false_negatives", "false_negatives")

-- ------------------------------------------------------------ Precision, Recall

local function pr_class(class_name, default_name, other)
  local cls = Metric:extend(class_name)
  function cls:init(...)
    local a = class.kwargs(class_name, { "thresholds", "top_k", "class_id", "name", "dtype" }, {}, ...)
    Metric.init(self, a, default_name)
    self.init_thresholds = a.thresholds
    self.top_k = top_k_opt(class_name, a.top_k)
    self.class_id = class_id_opt(class_name, a.class_id)
    local list = parse_thresholds(class_name, a.thresholds, self.top_k and NEG_INF or 0.5)
    self.thresholds = list
    self.opts = { thresholds = f32_list(list), evenly = evenly_distributed(list), top_k = self.top_k,
      class_id = self.class_id }
    self:reset_state()
  end
  function cls:reset_state() reset_counts(self, 1, #self.thresholds) end
  function cls:update(yt, yp, sw) add_counts(self, yt, yp, sw, self.opts) end
  function cls:result()
    local tp, o = row(self.true_positives), row(self[other])
    local out = {}
    for i = 1, #tp do out[i] = U.div0(tp[i], tp[i] + o[i]) end
    return per_threshold(out)
  end
  function cls:get_config()
    local cfg = Metric.get_config(self)
    cfg.thresholds, cfg.top_k, cfg.class_id = self.init_thresholds, self.top_k, self.class_id
    return cfg
  end
  return cls
end

C.Precision = pr_class("Precision", "precision", "false_positives")
C.Recall = pr_class("Recall", "recall", "false_negatives")

-- ------------------------------------------------------------ AUC

local AUC = Metric:extend("AUC")
C.AUC = AUC

local CURVES = { ROC = "ROC", roc = "ROC", PR = "PR", pr = "PR" }
local SUMMATIONS = { interpolation = "interpolation", Interpolation = "interpolation", majoring = "majoring",
  Majoring = "majoring", minoring = "minoring", Minoring = "minoring" }

function AUC:init(...)
  local a = class.kwargs("AUC", { "num_thresholds", "curve", "summation_method", "name", "dtype", "thresholds",
    "multi_label", "num_labels", "label_weights", "from_logits" }, {}, ...)
  Metric.init(self, a, "auc")
  local curve = a.curve == nil and "ROC" or CURVES[a.curve]
  if not curve then
    error(('AUC: invalid curve "%s" (expected "ROC" or "PR")'):format(tostring(a.curve)), 0)
  end
  local summation = a.summation_method == nil and "interpolation" or SUMMATIONS[a.summation_method]
  if not summation then
    error(('AUC: invalid summation_method "%s" (expected "interpolation", "majoring" or "minoring")')
      :format(tostring(a.summation_method)), 0)
  end
  self.curve, self.summation_method = curve, summation
  local inner
  if a.thresholds ~= nil then
    inner = parse_thresholds("AUC", a.thresholds, nil)
    table.sort(inner)
    self.num_thresholds = #inner + 2
    local check = { 0.0 }
    for _, t in ipairs(inner) do check[#check + 1] = t end
    check[#check + 1] = 1.0
    self.evenly = evenly_distributed(check)
    self.init_thresholds = inner
  else
    local n = a.num_thresholds == nil and 200 or a.num_thresholds
    if math.type(n) ~= "integer" and not (type(n) == "number" and n == math.floor(n)) or n <= 1 then
      error(("AUC: num_thresholds must be an integer > 1, got %s"):format(tostring(n)), 0)
    end
    n = math.tointeger(n)
    self.num_thresholds = n
    inner = {}
    for i = 1, n - 2 do inner[i] = i * 1.0 / (n - 1) end
    self.evenly = true
  end
  local thr = { 0.0 - EPSILON }
  for _, t in ipairs(inner) do thr[#thr + 1] = t end
  thr[#thr + 1] = 1.0 + EPSILON
  self.thresholds = thr
  if a.multi_label ~= nil and type(a.multi_label) ~= "boolean" then
    error(("AUC: multi_label must be true or false, got %s"):format(type(a.multi_label)), 0)
  end
  self.multi_label = a.multi_label or false
  if a.num_labels ~= nil then
    if not self.multi_label then error("AUC: num_labels is needed only when multi_label is true", 0) end
    self.num_labels = U.check_int("AUC", "num_labels", a.num_labels, 1)
  end
  if a.label_weights ~= nil then
    local lw = U.tensor("AUC", a.label_weights, "label_weights", "float32")
    if lw:dim() ~= 1 then error(("AUC: label_weights must be a list, got shape %s"):format(U.shape_str(lw)), 0) end
    if lw:lt(0):any():item() then error("AUC: all values of label_weights must be non-negative", 0) end
    self.label_weights = lw
  end
  if a.from_logits ~= nil and type(a.from_logits) ~= "boolean" then
    error(("AUC: from_logits must be true or false, got %s"):format(type(a.from_logits)), 0)
  end
  self.from_logits = a.from_logits or false
  self.opts = { thresholds = f32_list(thr), evenly = self.evenly, with_eps = true, multi_label = self.multi_label,
    num_labels = self.num_labels, label_weights = (not self.multi_label) and self.label_weights or nil }
  self:reset_state()
end

function AUC:reset_state() reset_counts(self, self.num_labels or 1, self.num_thresholds) end

function AUC:update(yt, yp, sw)
  if self.from_logits then
    yp = U.tensor(self.name, yp, "y_pred", self.dtype):sigmoid()
  end
  add_counts(self, yt, yp, sw, self.opts)
end

-- Averages per-label areas (multi_label), with label_weights if given.
local function average_labels(self, by_label)
  if #by_label == 1 and not self.multi_label then return by_label[1] end
  if self.label_weights then
    local lw = self.label_weights:to("float64"):totable()
    local num, den = 0, 0
    for i, v in ipairs(by_label) do
      num = num + v * lw[i]
      den = den + lw[i]
    end
    return U.div0(num, den)
  end
  local s = 0
  for _, v in ipairs(by_label) do s = s + v end
  return s / #by_label
end

-- Davis & Goadrich interpolation of the PR curve (Keras's interpolate_pr_auc).
local function pr_auc_interpolated(tp, fp, fn)
  local T = #tp
  local area = 0
  for i = 1, T - 1 do
    local dtp = tp[i] - tp[i + 1]
    local pa, pb = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
    local dp = pa - pb
    local slope = U.div0(dtp, math.max(dp, 0))
    local intercept = tp[i + 1] - slope * pb
    local ratio = (pa > 0 and pb > 0) and U.div0(pa, math.max(pb, 0)) or 1
    area = area + U.div0(slope * (dtp + intercept * math.log(ratio)), math.max(tp[i + 1] + fn[i + 1], 0))
  end
  return area
end

local function riemann(self, tp, fp, tn, fn)
  local T = #tp
  local x, y = {}, {}
  for i = 1, T do
    local recall = U.div0(tp[i], tp[i] + fn[i])
    if self.curve == "ROC" then
      x[i], y[i] = U.div0(fp[i], fp[i] + tn[i]), recall
    else
      x[i], y[i] = recall, U.div0(tp[i], tp[i] + fp[i])
    end
  end
  local area = 0
  for i = 1, T - 1 do
    local h
    if self.summation_method == "interpolation" then
      h = (y[i] + y[i + 1]) / 2
    elseif self.summation_method == "minoring" then
      h = math.min(y[i], y[i + 1])
    else
      h = math.max(y[i], y[i + 1])
    end
    area = area + (x[i] - x[i + 1]) * h
  end
  return area
end

function AUC:result()
  local TP, FP, TN, FN = self.true_positives:totable(), self.false_positives:totable(),
      self.true_negatives:totable(), self.false_negatives:totable()
  local by_label = {}
  for l = 1, #TP do
    if self.curve == "PR" and self.summation_method == "interpolation" then
      by_label[l] = pr_auc_interpolated(TP[l], FP[l], FN[l])
    else
      by_label[l] = riemann(self, TP[l], FP[l], TN[l], FN[l])
    end
  end
  return average_labels(self, by_label)
end

function AUC:get_config()
  local cfg = Metric.get_config(self)
  cfg.num_thresholds, cfg.curve, cfg.summation_method = self.num_thresholds, self.curve, self.summation_method
  cfg.multi_label, cfg.num_labels, cfg.from_logits = self.multi_label, self.num_labels, self.from_logits
  cfg.label_weights = self.label_weights and self.label_weights:to("float64"):totable() or nil
  cfg.thresholds = self.init_thresholds
  return cfg
end

return C
