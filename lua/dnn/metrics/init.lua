-- dnn.metrics: Keras 2.15's metrics (stateful classes and per-sample
-- functions) and scikit-learn's functional metrics.
--
--   local m = dnn.metrics.SparseCategoricalAccuracy()
--   m:update_state(labels, probs); print(m:result())      -- a Lua number
--   dnn.metrics.AUC{num_thresholds=200, curve="PR"}
--   dnn.metrics.get("mae")                                -- what compile() resolves
--   dnn.metrics.accuracy_for("sparse_categorical_crossentropy", 10)
--   dnn.metrics.roc_auc_score(y_true, y_score)            -- scikit-learn semantics
--
-- Differences from Keras, on purpose: a metric's default name is its Keras
-- base name ("precision", never "precision_1"); y_true [N] against y_pred
-- [N,k] is reshaped to [N,1] as compile() does, so standalone updates with
-- unequal batch sizes still add up to the result on the concatenated data;
-- vector results (several thresholds, per-class F1) are Lua lists.
local dnn = require "dnn"
local class = require "dnn.class"
local U = require "dnn.metrics.util"
local Metric = require "dnn.metrics.Metric"
local R = require "dnn.metrics.reduce"
local F = require "dnn.metrics.functions"
local C = require "dnn.metrics.confusion"
local FS = require "dnn.metrics.fscore"
local G = require "dnn.metrics.regression"
local L = require "dnn.losses"

local M = {}

M.Metric, M.Reduce, M.Mean, M.Sum, M.MeanMetricWrapper = Metric, R.Reduce, R.Mean, R.Sum, R.MeanMetricWrapper

-- ------------------------------------------------------------ functions

local functions = {} -- Keras metric name -> per-sample function
local function add_function(name, fn)
  functions[name] = fn
  M[name] = fn
  if R.fn_names[fn] == nil then R.fn_names[fn] = name end
end

for _, n in ipairs({ "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
  "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy" }) do
  add_function(n, F[n])
end

-- Keras's metric cosine_similarity is the similarity itself (the loss is
-- its negative).
local function cosine_similarity(y_true, y_pred, opts)
  return -L.cosine_similarity(y_true, y_pred, opts)
end

-- The losses Keras exposes as metric functions, under its metric names.
for _, n in ipairs({ "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
  "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
  "sparse_categorical_crossentropy", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson",
  "log_cosh" }) do
  add_function(n, L[n])
end
add_function("cosine_similarity", cosine_similarity)
R.fn_names[L.kl_divergence] = "kullback_leibler_divergence"
R.fn_names[L.log_cosh] = "logcosh"

local aliases = {
  acc = "accuracy", mse = "mean_squared_error", MSE = "mean_squared_error", mae = "mean_absolute_error",
  MAE = "mean_absolute_error", mape = "mean_absolute_percentage_error", MAPE = "mean_absolute_percentage_error",
  msle = "mean_squared_logarithmic_error", MSLE = "mean_squared_logarithmic_error", bce = "binary_crossentropy",
  BCE = "binary_crossentropy", kld = "kl_divergence", KLD = "kl_divergence",
  kullback_leibler_divergence = "kl_divergence", logcosh = "log_cosh",
}
for alias, target in pairs(aliases) do M[alias] = functions[target] end

-- ------------------------------------------------------------ classes

local classes = {} -- class name -> class

local function register_class(name, cls)
  classes[name] = cls
  M[name] = cls
  cls.from_config = function(a, b)
    local config = a
    if rawequal(a, cls) then config = b end
    return cls(config or {})
  end
  return cls
end

for _, n in ipairs({ "Mean", "Sum", "MeanMetricWrapper" }) do register_class(n, R[n]) end
for _, n in ipairs({ "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
  "AUC" }) do
  register_class(n, C[n])
end
register_class("FBetaScore", FS.FBetaScore)
register_class("F1Score", FS.F1Score)
register_class("RootMeanSquaredError", G.RootMeanSquaredError)
register_class("R2Score", G.R2Score)

local function check_threshold(cname, key, v) return U.check_number(cname, key, v) end
local function check_k(cname, key, v) return U.check_int(cname, key, v, 1) end
local function check_bool(cname, key, v)
  if type(v) ~= "boolean" then error(("%s: %s must be true or false, got %s"):format(cname, key, type(v)), 0) end
  return v
end
local function check_smoothing(cname, key, v)
  U.check_number(cname, key, v)
  if v < 0 or v > 1 then error(("%s: %s must be in [0, 1], got %s"):format(cname, key, tostring(v)), 0) end
  return v
end
local function check_axis(cname, key, v)
  if math.type(v) ~= "integer" or v == 0 then
    error(("%s: %s must be a nonzero integer (1-based, or -1 for the last), got %s"):format(cname, key, tostring(v)), 0)
  end
  return v
end
local function check_class(cname, key, v)
  if v ~= nil then return U.check_int(cname, key, v, 0) end
  return nil
end

-- name, default name, function, {{keyword, default, check}}, Keras's
-- positional order.
local WRAPPED = {
  { "Accuracy", "accuracy", F.accuracy },
  { "BinaryAccuracy", "binary_accuracy", F.binary_accuracy, { { "threshold", 0.5, check_threshold } },
    { "name", "dtype", "threshold" } },
  { "CategoricalAccuracy", "categorical_accuracy", F.categorical_accuracy },
  { "SparseCategoricalAccuracy", "sparse_categorical_accuracy", F.sparse_categorical_accuracy },
  { "TopKCategoricalAccuracy", "top_k_categorical_accuracy", F.top_k_categorical_accuracy,
    { { "k", 5, check_k } }, { "k", "name", "dtype" } },
  { "SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy", F.sparse_top_k_categorical_accuracy,
    { { "k", 5, check_k } }, { "k", "name", "dtype" } },
  { "MeanSquaredError", "mean_squared_error", L.mean_squared_error },
  { "MeanAbsoluteError", "mean_absolute_error", L.mean_absolute_error },
  { "MeanAbsolutePercentageError", "mean_absolute_percentage_error", L.mean_absolute_percentage_error },
  { "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", L.mean_squared_logarithmic_error },
  { "BinaryCrossentropy", "binary_crossentropy", L.binary_crossentropy,
    { { "from_logits", false, check_bool }, { "label_smoothing", 0, check_smoothing } },
    { "name", "dtype", "from_logits", "label_smoothing" } },
  { "CategoricalCrossentropy", "categorical_crossentropy", L.categorical_crossentropy,
    { { "from_logits", false, check_bool }, { "label_smoothing", 0, check_smoothing }, { "axis", -1, check_axis } },
    { "name", "dtype", "from_logits", "label_smoothing", "axis" } },
  { "SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", L.sparse_categorical_crossentropy,
    { { "from_logits", false, check_bool }, { "ignore_class", nil, check_class }, { "axis", -1, check_axis } },
    { "name", "dtype", "from_logits", "ignore_class", "axis" } },
  { "Hinge", "hinge", L.hinge },
  { "SquaredHinge", "squared_hinge", L.squared_hinge },
  { "CategoricalHinge", "categorical_hinge", L.categorical_hinge },
  { "KLDivergence", "kullback_leibler_divergence", L.kl_divergence },
  { "Poisson", "poisson", L.poisson },
  { "LogCoshError", "logcosh", L.log_cosh },
  { "CosineSimilarity", "cosine_similarity", cosine_similarity, { { "axis", -1, check_axis } },
    { "name", "dtype", "axis" } },
}
for _, w in ipairs(WRAPPED) do
  register_class(w[1], R.wrapper(w[1], w[2], w[3], w[4], w[5]))
end

-- ------------------------------------------------------------ lookup

local custom = {}

-- dnn.metrics.register("my_metric", fn_or_class): found by get().
function M.register(name, obj)
  if type(name) ~= "string" then error("metrics.register: the name must be a string", 0) end
  if type(obj) ~= "function" and not class.is_class(obj) then
    error(("metrics.register: '%s' must be a function or a Metric class"):format(name), 0)
  end
  custom[name] = obj
  return obj
end

local function lookup(name)
  return custom[name] or functions[name] or (aliases[name] and functions[aliases[name]]) or classes[name]
end

local function known_names()
  local all = {}
  for k in pairs(functions) do all[#all + 1] = k end
  for k in pairs(aliases) do all[#all + 1] = k end
  for k in pairs(classes) do all[#all + 1] = k end
  for k in pairs(custom) do all[#all + 1] = k end
  table.sort(all)
  return table.concat(all, ", ")
end

local function is_metric_class(v) return class.is_class(v) and class.is_subclass(v, Metric) end

-- {class_name=, config=} (or a name) -> a Metric object or a function.
function M.deserialize(cfg)
  if type(cfg) == "string" then return M.get(cfg) end
  if not U.is_plain_table(cfg) or type(cfg.class_name) ~= "string" then
    error("metrics.deserialize: expected {class_name=..., config={...}} or a name", 0)
  end
  local obj = lookup(cfg.class_name)
  if obj == nil then
    error(("metrics.deserialize: unknown metric '%s'; known metrics: %s"):format(cfg.class_name, known_names()), 0)
  end
  if is_metric_class(obj) then
    local config = {}
    for k, v in pairs(cfg.config or {}) do config[k] = v end
    if obj == R.MeanMetricWrapper and type(config.fn) == "string" then config.fn = M.get(config.fn) end
    if obj == R.MeanMetricWrapper then return obj(config.fn, config) end
    config.fn = nil
    return obj(config)
  end
  return obj
end

-- A Metric object -> {class_name=, config=}; a built-in function -> its name.
function M.serialize(metric)
  if type(metric) == "function" then
    for k, v in pairs(functions) do
      if v == metric then return k end
    end
    for k, v in pairs(custom) do
      if v == metric then return k end
    end
    error("metrics.serialize: this function is not a registered metric (use dnn.metrics.register)", 0)
  end
  if class.isinstance(metric, Metric) then
    local cfg = metric:get_config()
    if type(cfg.fn) == "function" then
      local ok, name = pcall(M.serialize, cfg.fn)
      cfg.fn = ok and name or nil
    end
    return { class_name = class.name(metric), config = cfg }
  end
  error(("metrics.serialize: expected a metric function or object, got %s"):format(type(metric)), 0)
end

-- Keras's metrics.get: a name gives the function (snake_case, and aliases
-- such as "mae") or a default instance (ClassName); a config table is
-- deserialized; a function or a Metric object is returned as is; a Metric
-- class is instantiated.
function M.get(identifier)
  if identifier == nil then return nil end
  if type(identifier) == "string" then
    local obj = lookup(identifier)
    if obj == nil then
      error(("metrics.get: unknown metric '%s'; known metrics: %s"):format(identifier, known_names()), 0)
    end
    if is_metric_class(obj) then return obj() end
    return obj
  end
  if type(identifier) == "function" then return identifier end
  if is_metric_class(identifier) then return identifier() end
  if class.isinstance(identifier, Metric) then return identifier end
  if U.is_plain_table(identifier) and identifier.class_name ~= nil then return M.deserialize(identifier) end
  if type(identifier) == "table" and getmetatable(identifier) and getmetatable(identifier).__call then
    return identifier -- a loss object or another callable
  end
  error(("metrics.get: could not interpret metric identifier: %s"):format(tostring(identifier)), 0)
end

-- What compile() builds from one entry of metrics=: a Metric object; a
-- name or function is wrapped in MeanMetricWrapper named as the user wrote
-- it ("mae" logs as "mae"), as Keras's compile does.  "accuracy"/"acc" and
-- "crossentropy"/"ce" depend on the loss: resolve them with accuracy_for /
-- crossentropy_for first.
function M.as_metric(identifier, name)
  local obj = M.get(identifier)
  if class.isinstance(obj, Metric) then return obj end
  if type(identifier) == "string" then name = name or identifier end
  return R.MeanMetricWrapper(obj, { name = name })
end

-- The loss's Keras name, from a name, a dnn.losses function or object.
local function loss_name(loss)
  if type(loss) == "string" then
    local fn = L[loss]
    if type(fn) == "function" then
      local ok, n = pcall(L.serialize, fn)
      if ok then return n end
    end
    local snake = loss:gsub("(%l)(%u)", "%1_%2"):lower()
    return snake
  end
  if type(loss) == "function" then
    local ok, n = pcall(L.serialize, loss)
    return ok and n or nil
  end
  if type(loss) == "table" then
    local mt = getmetatable(loss)
    local cname = mt and rawget(mt, "class_name")
    if type(cname) == "string" then return (cname:gsub("(%l)(%u)", "%1_%2"):lower()) end
    if type(loss.name) == "string" then return loss.name end
  end
  return nil
end

local function pick(name, loss, last_dim, sparse_labels, choices)
  if last_dim ~= nil and math.type(last_dim) ~= "integer" then
    error(("metrics.%s: y_pred_last_dim must be an integer, got %s"):format(name, tostring(last_dim)), 0)
  end
  local ln = loss_name(loss)
  if ln == "binary_crossentropy" or ln == "binary_focal_crossentropy" or last_dim == 1 then return choices[1] end
  if ln == "sparse_categorical_crossentropy" then return choices[2] end
  if ln == "categorical_crossentropy" then return choices[3] end
  if sparse_labels then return choices[2] end
  return choices[3]
end

-- The accuracy class Keras's compile picks for "accuracy"/"acc": binary
-- for binary crossentropy or a last dim of 1, sparse categorical for sparse
-- crossentropy (or sparse_labels=true), else categorical.  Returns the
-- class and the Keras function name.
function M.accuracy_for(loss, y_pred_last_dim, sparse_labels)
  local c = pick("accuracy_for", loss, y_pred_last_dim, sparse_labels, {
    { M.BinaryAccuracy, "binary_accuracy" }, { M.SparseCategoricalAccuracy, "sparse_categorical_accuracy" },
    { M.CategoricalAccuracy, "categorical_accuracy" } })
  return c[1], c[2]
end

-- The same choice for "crossentropy"/"ce".
function M.crossentropy_for(loss, y_pred_last_dim, sparse_labels)
  local c = pick("crossentropy_for", loss, y_pred_last_dim, sparse_labels, {
    { M.BinaryCrossentropy, "binary_crossentropy" },
    { M.SparseCategoricalCrossentropy, "sparse_categorical_crossentropy" },
    { M.CategoricalCrossentropy, "categorical_crossentropy" } })
  return c[1], c[2]
end

-- ------------------------------------------------------------ scikit-learn

for _, mod in ipairs({ "dnn.metrics.sk_classification", "dnn.metrics.sk_ranking", "dnn.metrics.sk_regression" }) do
  for k, v in pairs(require(mod)) do M[k] = v end
end

dnn.metrics = M
return M
