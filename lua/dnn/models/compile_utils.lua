-- What compile() builds: the loss container (model.compiled_loss) and the
-- metrics container (model.compiled_metrics), with Keras's naming rules.
local dnn = require "dnn"
local class = require "dnn.class"

local U = {}

local function as_list(v, n)
  if v == nil then return nil end
  if type(v) == "table" and not class.of(v) and not dnn.is_tensor(v) and getmetatable(v) == nil then return v end
  local out = {}
  for i = 1, n do out[i] = v end
  return out
end

local function is_list(v) return type(v) == "table" and not dnn.is_tensor(v) and getmetatable(v) == nil end

-- A loss given by name, function or object, wrapped as Keras's compile does:
-- functions (built-in or the user's) become LossFunctionWrapper objects with
-- the sum_over_batch_size reduction, so sample weights apply per sample.
local function resolve_loss(spec)
  local obj = dnn.losses.get(spec)
  local name
  if type(obj) == "function" then
    name = type(spec) == "string" and spec or "loss"
    obj = dnn.losses.LossFunctionWrapper(obj, { name = name })
  else
    name = type(spec) == "string" and spec or (obj.name or class.name(obj))
  end
  return { obj = obj, name = name, spec = spec, call = function(self, yt, yp, sw) return self.obj(yt, yp, sw) end }
end

-- ---- LossesContainer ----
local LossesContainer = class.Object:extend("LossesContainer")
U.LossesContainer = LossesContainer

function LossesContainer:init(spec, loss_weights, output_names)
  self.output_names = output_names
  local n = #output_names
  self.losses = {}
  if is_list(spec) and spec[1] == nil and next(spec) ~= nil then -- by output name
    for i, name in ipairs(output_names) do
      if spec[name] ~= nil then self.losses[i] = resolve_loss(spec[name]) end
    end
  else
    local list = as_list(spec, n) or {}
    if #list ~= n then
      error(("compile: %d losses given for a model with %d outputs"):format(#list, n), 0)
    end
    for i = 1, n do self.losses[i] = resolve_loss(list[i]) end
  end
  self.weights = {}
  if loss_weights ~= nil then
    if is_list(loss_weights) and loss_weights[1] == nil then
      for i, name in ipairs(output_names) do self.weights[i] = loss_weights[name] or 1 end
    else
      local lw = as_list(loss_weights, n)
      if #lw ~= n then error(("compile: %d loss_weights for %d outputs"):format(#lw, n), 0) end
      self.weights = lw
    end
  end
  self.tracker = dnn.metrics.Mean { name = "loss" }
  self.output_trackers = {}
  if n > 1 then
    for i, name in ipairs(output_names) do
      if self.losses[i] then self.output_trackers[i] = dnn.metrics.Mean { name = name .. "_loss" } end
    end
  end
end

-- Total loss (a 0-d tensor): the weighted per-output losses plus the
-- regularization penalties; updates the "loss" tracker by batch size.
function LossesContainer:__call(y_true, y_pred, sample_weight, regularization_losses)
  local n = #self.output_names
  local yt = n == 1 and { y_true } or y_true
  local yp = n == 1 and { y_pred } or y_pred
  if type(yt) ~= "table" or dnn.is_tensor(yt) then
    error(("the model has %d outputs; give y as a list of %d tensors"):format(n, n), 0)
  end
  local total, batch = nil, nil
  for i = 1, n do
    local l = self.losses[i]
    if l then
      if yt[i] == nil then error(("y has no target for output %d (%s)"):format(i, self.output_names[i]), 0) end
      local sw = sample_weight
      if type(sw) == "table" and not dnn.is_tensor(sw) then sw = sw[i] end
      local v = l:call(yt[i], yp[i], sw)
      batch = batch or (yp[i]:dim() > 0 and yp[i]:size(1) or 1)
      -- Keras's loss trackers average per batch weighted by the batch size
      if self.output_trackers[i] then self.output_trackers[i]:update_state(v:detach(), dnn.tensor(batch + 0.0)) end
      local w = self.weights[i] or 1
      if w ~= 1 then v = v * w end
      total = total and total + v or v
    end
  end
  if total == nil then error("compile: no loss applies to any output", 0) end
  for _, r in ipairs(regularization_losses or {}) do total = total + r end
  self.tracker:update_state(total:detach(), dnn.tensor(batch + 0.0))
  return total
end

function LossesContainer:metrics()
  local out = { self.tracker }
  for i = 1, #self.output_names do
    if self.output_trackers[i] then out[#out + 1] = self.output_trackers[i] end
  end
  return out
end

function LossesContainer:reset_state()
  for _, m in ipairs(self:metrics()) do m:reset_state() end
end

-- ---- MetricsContainer ----
local MetricsContainer = class.Object:extend("MetricsContainer")
U.MetricsContainer = MetricsContainer

function MetricsContainer:init(metrics, weighted_metrics, output_names, losses)
  self.spec, self.weighted_spec = metrics, weighted_metrics
  self.output_names, self.loss_specs = output_names, losses
  self.built = false
  self.metrics = {}
end

local ACCURACY = { accuracy = true, acc = true }
local CROSSENTROPY = { crossentropy = true, ce = true }

-- One metric for output i: "accuracy"/"crossentropy" resolve by the loss and
-- the output's last dim, as Keras's compile does; names and functions are
-- wrapped (MeanMetricWrapper) and keep the name the user wrote.
local function resolve_metric(spec, loss, y_true, y_pred)
  if type(spec) == "string" and (ACCURACY[spec] or CROSSENTROPY[spec]) then
    local last = y_pred:dim() > 0 and y_pred:size(-1) or 1
    local loss_id = loss and (type(loss.spec) == "string" and loss.spec or loss.obj) or nil
    local sparse = y_true ~= nil and dnn.is_tensor(y_true) and
      (y_true:dim() < y_pred:dim() or (y_true:size(-1) == 1 and last > 1))
    local cls = ACCURACY[spec] and dnn.metrics.accuracy_for(loss_id, last, sparse)
      or dnn.metrics.crossentropy_for(loss_id, last, sparse)
    return cls { name = spec }
  end
  return dnn.metrics.as_metric(spec)
end

function MetricsContainer:build(y_true, y_pred)
  local n = #self.output_names
  local yp = n == 1 and { y_pred } or y_pred
  local function per_output(spec)
    if spec == nil then return {} end
    if is_list(spec) and spec[1] == nil and next(spec) ~= nil then -- by output name
      local out = {}
      for i, name in ipairs(self.output_names) do out[i] = spec[name] end
      return out
    end
    if n > 1 and is_list(spec) and is_list(spec[1]) then return spec end
    local out = {}
    for i = 1, n do out[i] = spec end
    return out
  end
  local lists = { per_output(self.spec), per_output(self.weighted_spec) }
  self.entries = {}
  for kind, list in ipairs(lists) do
    for i = 1, n do
      local specs = list[i]
      if specs ~= nil and not is_list(specs) then specs = { specs } end
      for _, spec in ipairs(specs or {}) do
        local yti = n == 1 and y_true or (type(y_true) == "table" and y_true[i] or nil)
        local m = resolve_metric(spec, self.loss_specs and self.loss_specs[i], yti, yp[i])
        if n > 1 then m.name = self.output_names[i] .. "_" .. m.name end
        if kind == 2 then m.name = "weighted_" .. m.name end
        self.entries[#self.entries + 1] = { metric = m, output = i, weighted = kind == 2 }
        self.metrics[#self.metrics + 1] = m
      end
    end
  end
  self.built = true
end

function MetricsContainer:update_state(y_true, y_pred, sample_weight)
  if not self.built then self:build(y_true, y_pred) end
  local n = #self.output_names
  local yt = n == 1 and { y_true } or y_true
  local yp = n == 1 and { y_pred } or y_pred
  for _, e in ipairs(self.entries) do
    local sw = nil
    if e.weighted then
      sw = sample_weight
      if type(sw) == "table" and not dnn.is_tensor(sw) then sw = sw[e.output] end
    end
    e.metric:update_state(yt[e.output], yp[e.output]:detach(), sw)
  end
end

function MetricsContainer:result()
  local out = {}
  for _, m in ipairs(self.metrics) do out[m.name] = m:result() end
  return out
end

function MetricsContainer:reset_state()
  for _, m in ipairs(self.metrics) do m:reset_state() end
end

return U
