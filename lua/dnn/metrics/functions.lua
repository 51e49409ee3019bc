-- Keras 2.15's accuracy functions (keras/metrics/accuracy_metrics.py and
-- metrics_utils): each returns one value per sample (a float32 tensor of
-- 1s and 0s), what MeanMetricWrapper averages.
--
--   dnn.metrics.binary_accuracy(y_true, y_pred, {threshold=0.5})
--   dnn.metrics.sparse_categorical_accuracy(labels, probs)     -- 0-based labels
--   dnn.metrics.sparse_top_k_categorical_accuracy(labels, probs, {k=5})
local dnn = require "dnn"
local U = require "dnn.metrics.util"

local F = {}

local function args(name, a, b, c)
  if b == nil and c == nil and U.is_plain_table(a) then
    local yt, yp = a[1], a[2]
    if yt == nil then yt = a.y_true end
    if yp == nil then yp = a.y_pred end
    return yt, yp, a
  end
  if c ~= nil and not U.is_plain_table(c) then
    error(("%s: options must be a table, got %s"):format(name, dnn.is_tensor(c) and "a tensor" or type(c)), 0)
  end
  return a, b, c or {}
end

local function check_opts(name, opts, known)
  for k in pairs(opts) do
    if k ~= 1 and k ~= 2 and k ~= "y_true" and k ~= "y_pred" and not known[k] then
      local list = U.sorted_keys(known)
      error(("%s: unknown option '%s' (%s)"):format(name, tostring(k),
        #list > 0 and "known: " .. table.concat(list, ", ") or "it takes no options"), 0)
    end
  end
end

local function float_of(name, v, what)
  if dnn.is_tensor(v) and (v.dtype == "float32" or v.dtype == "float64") then return v end
  return U.tensor(name, v, what, "float32")
end

local function need_broadcast(name, yt, yp)
  local ok = pcall(function() return yt:eq(yp) end)
  if not ok then
    error(("%s: y_true %s and y_pred %s have incompatible shapes"):format(name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
end

local function need_classes(name, yp)
  if yp:dim() < 1 or yp:size()[yp:dim()] < 1 then
    error(("%s: y_pred %s needs a class axis (the last dim) with at least one class"):format(name, U.shape_str(yp)), 0)
  end
end

-- 0-based predicted class ids: argmax over the last dim (first maximum wins,
-- as tf.argmax).
local function argmax_ids(t) return t:argmax(-1) - 1 end

-- Keras's accuracy: y_pred equals y_true, elementwise.
function F.accuracy(a, b, c)
  local name = "accuracy"
  local yt, yp, opts = args(name, a, b, c)
  check_opts(name, opts, {})
  yt, yp = float_of(name, yt, "y_true"), float_of(name, yp, "y_pred")
  need_broadcast(name, yt, yp)
  return yt:eq(yp:to(yt.dtype)):to("float32")
end

-- y_pred > threshold equals y_true, averaged over the last axis (a rank-1
-- input counts per element, so batched results concatenate).
function F.binary_accuracy(a, b, c)
  local name = "binary_accuracy"
  local yt, yp, opts = args(name, a, b, c)
  check_opts(name, opts, { threshold = true })
  local thr = opts.threshold == nil and 0.5 or U.check_number(name, "threshold", opts.threshold)
  yt, yp = float_of(name, yt, "y_true"), float_of(name, yp, "y_pred")
  need_broadcast(name, yt, yp)
  if yp.dtype == "float32" then thr = U.f32(thr) end
  local m = yt:eq(yp:gt(thr):to(yp.dtype)):to("float32")
  if m:dim() <= 1 then return m end
  return m:mean(-1)
end

-- Keras's sparse_categorical_matches: labels [N] (or [N,1], then the result
-- is [N,1]) against the argmax of y_pred [N,C].
local function sparse_matches(name, labels, yp)
  need_classes(name, yp)
  local reshape = nil
  if labels:dim() == yp:dim() then
    if labels:size()[labels:dim()] ~= 1 then
      error(("%s: labels %s must have one dim fewer than y_pred %s, or a last dim of 1 (class ids, not one-hot)")
        :format(name, U.shape_str(labels), U.shape_str(yp)), 0)
    end
    reshape = labels:size()
    labels = labels:squeeze(-1)
  end
  local pred = argmax_ids(yp)
  if not U.same_shape(pred, labels) then
    error(("%s: labels %s do not match y_pred %s (one class id per row of y_pred)")
      :format(name, U.shape_str(reshape or labels), U.shape_str(yp)), 0)
  end
  local m = labels:eq(pred:to(labels.dtype)):to("float32")
  if reshape then m = m:reshape(reshape) end
  return m
end

function F.sparse_categorical_accuracy(a, b, c)
  local name = "sparse_categorical_accuracy"
  local yt, yp, opts = args(name, a, b, c)
  check_opts(name, opts, {})
  yp = float_of(name, yp, "y_pred")
  yt = dnn.is_tensor(yt) and yt or U.tensor(name, yt, "y_true", "float32")
  return sparse_matches(name, yt, yp)
end

function F.categorical_accuracy(a, b, c)
  local name = "categorical_accuracy"
  local yt, yp, opts = args(name, a, b, c)
  check_opts(name, opts, {})
  yt, yp = float_of(name, yt, "y_true"), float_of(name, yp, "y_pred")
  need_classes(name, yp)
  if not U.same_shape(yt, yp) then
    error(("%s: y_true %s and y_pred %s must have the same shape (one-hot labels; use sparse_categorical_accuracy for class ids)")
      :format(name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  return argmax_ids(yt):eq(argmax_ids(yp)):to("float32")
end

-- tf.math.in_top_k: the target is in the top k when fewer than k classes
-- score strictly higher (ties at the boundary count as in); a label out of
-- [0, C) or a non-finite target score is never in.
local function top_k_matches(name, labels, yp, k)
  need_classes(name, yp)
  local orig = labels:size()
  local c = yp:size()[yp:dim()]
  if yp:dim() > 2 then yp = yp:reshape(-1, c) end
  labels = labels:reshape(-1)
  if yp:dim() == 1 then yp = yp:reshape(1, c) end
  if labels:numel() ~= yp:size()[1] then
    error(("%s: labels %s do not match y_pred %s (one class id per row of y_pred)")
      :format(name, U.shape_str(orig), U.shape_str(yp)), 0)
  end
  local ids = labels:to("int64")
  local valid = ids:ge(0):logical_and(ids:lt(c)):logical_and(labels:eq(ids:to(labels.dtype)))
  local safe = dnn.where(valid, ids, 0) + 1
  local target = yp:gather(2, safe:reshape(-1, 1))           -- [N,1]
  local higher = yp:gt(target):to("int64"):sum(2)            -- [N]
  local finite = target:reshape(-1):isnan():logical_not():logical_and(target:reshape(-1):isinf():logical_not())
  local m = higher:lt(k):logical_and(valid):logical_and(finite):to("float32")
  if #orig > 1 then m = m:reshape(orig) end
  return m
end

local function opt_k(name, opts)
  if opts.k == nil then return 5 end
  return U.check_int(name, "k", opts.k, 1)
end

function F.sparse_top_k_categorical_accuracy(a, b, c)
  local name = "sparse_top_k_categorical_accuracy"
  local yt, yp, opts = args(name, a, b, c)
  check_opts(name, opts, { k = true })
  local k = opt_k(name, opts)
  yp = float_of(name, yp, "y_pred")
  yt = dnn.is_tensor(yt) and yt or U.tensor(name, yt, "y_true", "float32")
  return top_k_matches(name, yt, yp, k)
end

function F.top_k_categorical_accuracy(a, b, c)
  local name = "top_k_categorical_accuracy"
  local yt, yp, opts = args(name, a, b, c)
  check_opts(name, opts, { k = true })
  local k = opt_k(name, opts)
  yt, yp = float_of(name, yt, "y_true"), float_of(name, yp, "y_pred")
  need_classes(name, yp)
  if not U.same_shape(yt, yp) then
    error(("%s: y_true %s and y_pred %s must have the same shape (one-hot labels; use sparse_top_k_categorical_accuracy for class ids)")
      :format(name, U.shape_str(yt), U.shape_str(yp)), 0)
  end
  return top_k_matches(name, argmax_ids(yt), yp, k)
end

return F
