-- Dataiku DSS's base callbacks for deep-learning models (the
-- base_callbacks list a DSS fit_model receives), and DSS's shared variables.
--
--   local cbs = dnn.callbacks.base_callbacks{task="binary", metric="ROC AUC",
--     cost_matrix={tp=1, tn=0, fp=-0.3, fn=0}, lift_point=0.4}
--   cbs[#cbs + 1] = dnn.callbacks.EarlyStopping{monitor=dnn.get_variable("DKU_MODEL_METRIC"),
--     mode=dnn.get_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER") and "max" or "min"}
--   model:fit{..., validation_data=val, callbacks=cbs}
--
-- The first callback scores the model on model.validation_data at each
-- epoch end and adds "Test <metric>" entries to the epoch logs (before
-- EarlyStopping or ModelCheckpoint read them); the second stops training
-- when Ctrl-C was pressed.  Scores are DSS's (dataiku/doctor/prediction and
-- utils/metrics.py), computed with dnn.metrics' scikit-learn functions:
--   binary      P(positive) = the sigmoid column, or column 2 of a 2-column
--               softmax; class = P > threshold (0.5); precision, recall and
--               F1 with the binary average; Log Loss with eps 1e-15 on
--               [1-P, P]; ROC AUC and Average Precision on P; Cost Matrix
--               Gain = TP*tp + TN*tn + FP*fp + FN*fn; Cumulative Lift.
--   multiclass  class = argmax; weighted precision/recall/F1; Log Loss
--               (eps 1e-15); ROC AUC = Hand & Till's one-vs-one mean over
--               the classes present (DSS's mroc_auc_score, equal to
--               scikit-learn's multi_class="ovo" macro when every class is
--               present); Average Precision = the mean one-vs-rest AP over
--               the classes present.
--   regression  EVS, MAE, MSE, RMSE, R2 Score as scikit-learn; MAPE as DSS:
--               a fraction (0.1 = 10%) over the rows whose target is not 0;
--               RMSLE as DSS: 0 when a target or prediction is negative.
-- Values are logged with their natural sign (DSS's scorers negate losses
-- internally; DKU_MODEL_METRIC_GREATER_IS_BETTER says which way is better).
-- Sample weights of the validation data are not used (DSS does not either).
local dnn = require "dnn"
local Callback = require "dnn.callbacks.Callback"
local M = require "dnn.metrics"
local U = require "dnn.metrics.util"

dnn.callbacks = dnn.callbacks or {}
local CB = dnn.callbacks

-- ------------------------------------------------------------ variables

-- DSS's shared variables (dataiku.doctor.deep_learning.shared_variables).
local variables = {}

function dnn.set_variable(name, value)
  if type(name) ~= "string" then error(("set_variable: the name must be a string, got %s"):format(type(name)), 2) end
  variables[name] = value
  return value
end

function dnn.get_variable(name)
  if type(name) ~= "string" then error(("get_variable: the name must be a string, got %s"):format(type(name)), 2) end
  return variables[name]
end

-- ------------------------------------------------------------ metric tables

-- {display name, DSS code, greater is better}, in DSS's order.
local METRICS = {
  regression = {
    { "EVS", "EVS", true }, { "MAPE", "MAPE", false }, { "MAE", "MAE", false }, { "MSE", "MSE", false },
    { "RMSE", "RMSE", false }, { "RMSLE", "RMSLE", false }, { "R2 Score", "R2", true },
    { "Custom Score", "CUSTOM", nil },
  },
  binary = {
    { "Accuracy", "ACCURACY", true }, { "Precision", "PRECISION", true }, { "Recall", "RECALL", true },
    { "F1 Score", "F1", true }, { "Cost Matrix Gain", "COST_MATRIX", true }, { "Log Loss", "LOG_LOSS", false },
    { "Cumulative Lift", "CUMULATIVE_LIFT", true }, { "ROC AUC", "ROC_AUC", true },
    { "Average Precision", "AVERAGE_PRECISION", true }, { "Custom score", "CUSTOM", nil },
  },
  multiclass = {
    { "Accuracy", "ACCURACY", true }, { "Precision", "PRECISION", true }, { "Recall", "RECALL", true },
    { "F1 Score", "F1", true }, { "Log Loss", "LOG_LOSS", false }, { "ROC AUC", "ROC_AUC", true },
    { "Average Precision", "AVERAGE_PRECISION", true }, { "Custom score", "CUSTOM", nil },
  },
}
local DEFAULT_METRIC = { regression = "R2 Score", binary = "ROC AUC", multiclass = "ROC AUC" }
local TASKS = { "binary", "multiclass", "regression" }

local function norm(s) return (s:lower():gsub("[^%w]", "")) end

local function find_metric(task, metric)
  for _, m in ipairs(METRICS[task]) do
    if norm(m[1]) == norm(metric) or norm(m[2]) == norm(metric) then return m end
  end
  return nil
end

local function metric_names(task)
  local out = {}
  for _, m in ipairs(METRICS[task]) do out[#out + 1] = '"' .. m[1] .. '"' end
  return table.concat(out, ", ")
end

-- ------------------------------------------------------------ scores

local LOG_LOSS_EPS = 1e-15 -- DSS's log_loss

local function check_custom(value)
  if type(value) ~= "number" then
    error(("custom_score must return a number, got %s"):format(type(value)), 0)
  end
  if value ~= value then error("custom_score returned NaN: illegal value", 0) end
  if value == math.huge or value == -math.huge then error("custom_score returned infinity: illegal value", 0) end
  return value
end

-- DSS's make_lift_score (unweighted): the positive rate among the
-- max(floor(p*N), 1) highest P(positive) rows over the overall positive
-- rate.  Ties in P keep the data order (a stable sort).
local function cumulative_lift(y, pos, point)
  local n = y:numel()
  local _, order = pos:sort(1, true)
  local k = math.max(math.floor(point * n), 1)
  local top = y:index_select(1, order:narrow(1, 1, k))
  local overall = y:eq(1):to("float64"):sum():item() / n
  local considered = top:eq(1):to("float64"):sum():item() / k
  return considered / overall
end

-- DSS's mroc_auc_score for several classes: Hand & Till's
-- 1/(c(c-1)) * sum over ordered pairs i != j of AUC(class i vs j, column i).
local function hand_till(y, probas)
  local present = y:unique():totable()
  local c = #present
  if c < 2 then error("ROC AUC: ended up with less than two classes in the validation set", 0) end
  local total = 0
  for _, i in ipairs(present) do
    for _, j in ipairs(present) do
      if i ~= j then
        local mask = y:eq(i):logical_or(y:eq(j))
        local yi = y:masked_select(mask):eq(i):to("float64")
        local si = probas:select(2, math.tointeger(i) + 1):masked_select(mask)
        total = total + M.roc_auc_score(yi, si)
      end
    end
  end
  return total / (c * (c - 1))
end

-- Mean one-vs-rest average precision over the classes present in y.
local function mean_average_precision(y, probas)
  local present = y:unique():totable()
  local s = 0
  for _, c in ipairs(present) do
    s = s + M.average_precision_score(y:eq(c):to("float64"), probas:select(2, math.tointeger(c) + 1):contiguous())
  end
  return s / #present
end

-- DSS's rmsle_score.
local function rmsle(y, p)
  if y:lt(0):any():item() or p:lt(0):any():item() then return 0 end
  local v = math.sqrt(((y + 1):log() - (p + 1):log()):square():mean():item())
  if v ~= v or v == math.huge then return 0 end
  return v
end

-- DSS's mean_absolute_percentage_error: rows with a zero target are left out.
local function mape(y, p)
  local keep = y:ne(0)
  local yk, pk = y:masked_select(keep), p:masked_select(keep)
  if yk:numel() == 0 then return 0 / 0 end
  return ((yk - pk) / yk):abs():mean():item()
end

-- y: float64 [N] targets or class ids; pred: float64 predictions ([N] for
-- regression, [N] P(positive) for binary, [N,C] probabilities for
-- multiclass).  Returns {{display name, value}, ...} in DSS's order.
local function compute_scores(o, y, pred)
  local out = {}
  local function add(name, fn)
    local ok, v = pcall(fn)
    if not ok then error(("Test %s: %s"):format(name, tostring(v)), 0) end
    out[#out + 1] = { name, v }
  end
  local task = o.task
  if task == "regression" then
    add("EVS", function() return M.explained_variance_score(y, pred) end)
    add("MAPE", function() return mape(y, pred) end)
    add("MAE", function() return M.mean_absolute_error(y, pred) end)
    add("MSE", function() return M.mean_squared_error(y, pred) end)
    add("RMSE", function() return M.mean_squared_error(y, pred, { squared = false }) end)
    add("RMSLE", function() return rmsle(y, pred) end)
    add("R2 Score", function() return M.r2_score(y, pred) end)
    if o.custom_score then add("Custom Score", function() return check_custom(o.custom_score(y, pred)) end) end
    return out
  end
  local probas, classes
  if task == "binary" then
    classes = pred:gt(o.threshold):to("float64")
    probas = dnn.cat({ (1 - pred):unsqueeze(2), pred:unsqueeze(2) }, 2)
  else
    probas = pred
    classes = (pred:argmax(2) - 1):to("float64")
  end
  local C = probas:size()[2]
  local labels = {}
  for i = 1, C do labels[i] = i - 1 end
  local average = task == "binary" and "binary" or "weighted"
  add("Accuracy", function() return M.accuracy_score(y, classes) end)
  add("Precision", function() return M.precision_score(y, classes, { average = average }) end)
  add("Recall", function() return M.recall_score(y, classes, { average = average }) end)
  add("F1 Score", function() return M.f1_score(y, classes, { average = average }) end)
  if task == "binary" then
    add("Cost Matrix Gain", function()
      local cm = M.confusion_matrix(y, classes, { labels = { 0, 1 } }):to("float64"):totable()
      local g = o.cost_matrix
      return cm[2][2] * g.tp + cm[1][1] * g.tn + cm[1][2] * g.fp + cm[2][1] * g.fn
    end)
  end
  add("Log Loss", function() return M.log_loss(y, probas, { eps = LOG_LOSS_EPS, labels = labels }) end)
  if task == "binary" then
    add("Cumulative Lift", function() return cumulative_lift(y, pred, o.lift_point) end)
    add("ROC AUC", function() return M.roc_auc_score(y, pred) end)
    add("Average Precision", function() return M.average_precision_score(y, pred) end)
  else
    add("ROC AUC", function() return hand_till(y, probas) end)
    add("Average Precision", function() return mean_average_precision(y, probas) end)
  end
  if o.custom_score then
    add("Custom score", function()
      return check_custom(o.custom_score(y, o.custom_score_needs_proba and probas or classes))
    end)
  end
  return out
end

-- ------------------------------------------------------------ data

local function is_sequence(d)
  return type(d) == "table" and type(d.len) == "function" and type(d.get) == "function"
end

local function as_tensor(what, v)
  if dnn.is_tensor(v) then return v end
  if type(v) == "table" and not is_sequence(v) then
    local ok, t = pcall(dnn.tensor, v, { dtype = "float64" })
    if ok then return t end
  end
  error(("base_callbacks: %s must be a tensor, got %s"):format(what, type(v)), 0)
end

local function predict(model, x, batch_size)
  if type(model) ~= "table" or type(model.predict) ~= "function" then
    error("base_callbacks: the model has no predict method (set_model was not called?)", 0)
  end
  local p = model:predict(x, { batch_size = batch_size, verbose = 0 })
  if not dnn.is_tensor(p) then
    error(("base_callbacks: model:predict must return one tensor, got %s"):format(type(p)), 0)
  end
  return p
end

-- Predictions and targets over the whole validation data: {x=, y=} (or
-- {x, y}) tensors, or a Sequence (every batch, in order).
local function collect(model, data, batch_size)
  if is_sequence(data) then
    local ps, ys = {}, {}
    for i = 1, data:len() do
      local x, y = data:get(i)
      if y == nil then error(("base_callbacks: validation batch %d has no targets"):format(i), 0) end
      ps[#ps + 1] = predict(model, x, batch_size):to("float64")
      ys[#ys + 1] = as_tensor("validation targets", y):to("float64")
    end
    if #ps == 0 then return nil end
    return dnn.cat(ys, 1), dnn.cat(ps, 1)
  end
  if type(data) ~= "table" then
    error(("base_callbacks: validation data must be {x=, y=} or a Sequence, got %s"):format(type(data)), 0)
  end
  local x, y = data.x, data.y
  if x == nil then x, y = data[1], data[2] end
  if x == nil or y == nil then error("base_callbacks: validation data must have x and y ({x=, y=} or a Sequence)", 0) end
  return as_tensor("validation y", y):to("float64"), predict(model, x, batch_size):to("float64")
end

-- Targets and predictions in the shapes compute_scores expects.
local function shape_for(task, y, p)
  local n = p:size()[1]
  if y:dim() == 0 or y:size()[1] ~= n then
    error(("base_callbacks: %d predictions for %d validation targets"):format(n, y:dim() == 0 and 1 or y:size()[1]), 0)
  end
  if task == "regression" then
    if p:dim() == 2 and p:size()[2] == 1 then p = p:reshape(-1) end
    if y:dim() == 2 and y:size()[2] == 1 then y = y:reshape(-1) end
    if p:dim() ~= 1 or y:dim() ~= 1 then
      error(("base_callbacks: regression expects one target column, got predictions %s and targets %s")
        :format(U.shape_str(p), U.shape_str(y)), 0)
    end
    return y, p
  end
  if y:dim() == 2 and y:size()[2] > 1 then
    y = (y:argmax(2) - 1):to("float64") -- one-hot targets
  elseif y:dim() == 2 then
    y = y:reshape(-1)
  end
  if y:dim() ~= 1 then error(("base_callbacks: targets must be class ids [N] or one-hot [N,C], got %s"):format(
    U.shape_str(y)), 0) end
  if task == "binary" then
    if p:dim() == 2 and p:size()[2] == 1 then
      p = p:reshape(-1)
    elseif p:dim() == 2 and p:size()[2] == 2 then
      p = p:select(2, 2):contiguous()
    elseif p:dim() ~= 1 then
      error(("base_callbacks: a binary task needs one sigmoid column [N,1] or a 2-column softmax [N,2], got %s")
        :format(U.shape_str(p)), 0)
    end
    if y:ne(0):logical_and(y:ne(1)):any():item() then
      error("base_callbacks: binary targets must be 0 or 1", 0)
    end
    return y, p
  end
  if p:dim() ~= 2 or p:size()[2] < 2 then
    error(("base_callbacks: a multiclass task needs probabilities [N,C], got %s"):format(U.shape_str(p)), 0)
  end
  local top = y:numel() > 0 and y:max():item() or 0
  if top >= p:size()[2] or y:lt(0):any():item() or y:ne(y:floor()):any():item() then
    error(("base_callbacks: targets hold class %g but predictions have %d columns (class ids 0..%d)")
      :format(top, p:size()[2], p:size()[2] - 1), 0)
  end
  return y, p
end

-- ------------------------------------------------------------ callbacks

local DSSMetricsCallback = Callback:extend("DSSMetricsCallback")
CB.DSSMetricsCallback = DSSMetricsCallback

function DSSMetricsCallback:init(o)
  Callback.init(self)
  self.options = o
end

-- The scores on `data` (default: model.validation_data) as a table
-- {["Test <name>"] = value}.
function DSSMetricsCallback:scores(data)
  data = data or self.validation_data or (self.model and self.model.validation_data)
  if data == nil then return nil end
  local y, p = collect(self.model, data, self.options.batch_size)
  if y == nil then return nil end
  y, p = shape_for(self.options.task, y, p)
  local out = {}
  for _, e in ipairs(compute_scores(self.options, y, p)) do out["Test " .. e[1]] = e[2] end
  return out
end

function DSSMetricsCallback:on_epoch_end(_, logs)
  local scores = self:scores()
  if scores == nil then
    if not self.warned then
      io.stderr:write("base_callbacks: no validation data (pass validation_data= or validation_split= to fit); the Test metrics are not computed\n")
      self.warned = true
    end
    return
  end
  if logs then
    for k, v in pairs(scores) do logs[k] = v end
  end
  self.last_scores = scores
end

local InterruptCallback = Callback:extend("InterruptCallback")
CB.InterruptCallback = InterruptCallback

local function sigint_pending()
  local sys = dnn.core and dnn.core._sys
  return sys ~= nil and sys.sigint_pending() > 0
end

-- interrupt_requested: a function returning true to stop (default: a
-- Ctrl-C arrived since fit started catching it).
function InterruptCallback:init(interrupt_requested)
  Callback.init(self)
  self.interrupt_requested = interrupt_requested or sigint_pending
end

function InterruptCallback:check()
  if self.interrupt_requested() and self.model then self.model.stop_training = true end
end

function InterruptCallback:on_train_batch_end() self:check() end
function InterruptCallback:on_epoch_end() self:check() end

-- ------------------------------------------------------------ base_callbacks

local KNOWN = { "task", "metric", "cost_matrix", "lift_point", "custom_score", "custom_score_needs_proba",
  "custom_score_greater_is_better", "threshold", "batch_size", "interrupt_requested" }

local function check_options(opts)
  if not U.is_plain_table(opts) then
    error(("base_callbacks: expects one options table {task=, metric=, ...}, got %s"):format(type(opts)), 0)
  end
  local known = {}
  for _, k in ipairs(KNOWN) do known[k] = true end
  for k in pairs(opts) do
    if not known[k] then
      error(("base_callbacks: unknown option '%s' (options: %s)"):format(tostring(k), table.concat(KNOWN, ", ")), 0)
    end
  end
  local task = opts.task
  if METRICS[task] == nil then
    error(('base_callbacks: unknown task %s (tasks: "binary", "multiclass", "regression")'):format(
      type(task) == "string" and ('"' .. task .. '"') or tostring(task)), 0)
  end
  local o = { task = task, batch_size = opts.batch_size }
  local metric = opts.metric or DEFAULT_METRIC[task]
  local entry = type(metric) == "string" and find_metric(task, metric) or nil
  if entry == nil then
    error(("base_callbacks: unknown metric %s for task \"%s\" (metrics: %s)"):format(
      type(metric) == "string" and ('"' .. metric .. '"') or tostring(metric), task, metric_names(task)), 0)
  end
  o.metric = entry
  if opts.custom_score ~= nil and type(opts.custom_score) ~= "function" then
    error(("base_callbacks: custom_score must be a function(y_true, y_pred) -> number, got %s"):format(
      type(opts.custom_score)), 0)
  end
  o.custom_score = opts.custom_score
  if entry[2] == "CUSTOM" and not o.custom_score then
    error(('base_callbacks: metric "%s" needs custom_score=function(y_true, y_pred) -> number'):format(entry[1]), 0)
  end
  o.custom_score_needs_proba = opts.custom_score_needs_proba and true or false
  local gib = opts.custom_score_greater_is_better
  if gib ~= nil and type(gib) ~= "boolean" then
    error(("base_callbacks: custom_score_greater_is_better must be true or false, got %s"):format(type(gib)), 0)
  end
  o.custom_greater_is_better = gib ~= false
  local cm = { tp = 1, tn = 0, fp = -0.3, fn = 0 } -- DSS's default gains
  if opts.cost_matrix ~= nil then
    if not U.is_plain_table(opts.cost_matrix) then
      error(("base_callbacks: cost_matrix must be a table {tp=, tn=, fp=, fn=}, got %s"):format(type(opts.cost_matrix)), 0)
    end
    for k, v in pairs(opts.cost_matrix) do
      if cm[k] == nil then
        error(("base_callbacks: unknown cost_matrix entry '%s' (entries: tp, tn, fp, fn)"):format(tostring(k)), 0)
      end
      if type(v) ~= "number" then
        error(("base_callbacks: cost_matrix.%s must be a number, got %s"):format(k, type(v)), 0)
      end
      cm[k] = v
    end
  end
  o.cost_matrix = cm
  local lp = opts.lift_point == nil and 0.4 or opts.lift_point
  if type(lp) ~= "number" or not (lp > 0 and lp <= 1) then
    error(("base_callbacks: lift_point must be a number in (0, 1], got %s"):format(tostring(lp)), 0)
  end
  o.lift_point = lp
  local thr = opts.threshold == nil and 0.5 or opts.threshold
  if type(thr) ~= "number" or thr < 0 or thr > 1 then
    error(("base_callbacks: threshold must be a number in [0, 1], got %s"):format(tostring(thr)), 0)
  end
  o.threshold = thr
  if opts.interrupt_requested ~= nil and type(opts.interrupt_requested) ~= "function" then
    error(("base_callbacks: interrupt_requested must be a function, got %s"):format(type(opts.interrupt_requested)), 0)
  end
  return o
end

-- base_callbacks{task=, metric=, cost_matrix=, lift_point=, custom_score=,
-- custom_score_needs_proba=false, custom_score_greater_is_better=true,
-- threshold=0.5, batch_size=, interrupt_requested=}: {scores callback,
-- interrupt callback}; sets DKU_MODEL_METRIC ("Test <metric>") and
-- DKU_MODEL_METRIC_GREATER_IS_BETTER.
function CB.base_callbacks(opts, extra)
  if extra ~= nil then error("base_callbacks: expects one options table {task=, metric=, ...}", 0) end
  local o = check_options(opts)
  local gib = o.metric[3]
  if gib == nil then gib = o.custom_greater_is_better end
  dnn.set_variable("DKU_MODEL_METRIC", "Test " .. o.metric[1])
  dnn.set_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER", gib)
  return { DSSMetricsCallback(o), InterruptCallback(opts.interrupt_requested) }
end

-- The "Test <name>" scores for targets and predictions, without a model:
-- dnn.callbacks.dss_scores{task=, y_true, y_pred, ...base_callbacks options}.
function CB.dss_scores(opts)
  if not U.is_plain_table(opts) then error("dss_scores: expects one options table {task=, y_true, y_pred, ...}", 0) end
  local rest = {}
  for k, v in pairs(opts) do
    if k ~= 1 and k ~= 2 then rest[k] = v end
  end
  local o = check_options(rest)
  if opts[1] == nil or opts[2] == nil then error("dss_scores: y_true and y_pred are missing", 0) end
  local y, p = shape_for(o.task, as_tensor("y_true", opts[1]):to("float64"), as_tensor("y_pred", opts[2]):to("float64"))
  local out = {}
  for _, e in ipairs(compute_scores(o, y, p)) do out["Test " .. e[1]] = e[2] end
  return out
end

return CB
