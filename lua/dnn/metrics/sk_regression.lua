-- scikit-learn 1.2's regression metrics: mean_absolute_error,
-- mean_squared_error (squared=), mean_squared_log_error (squared=),
-- mean_absolute_percentage_error (a fraction, not percent),
-- explained_variance_score and r2_score (force_finite=).  Targets are [N]
-- or [N,D]; multioutput = "uniform_average" (default), "raw_values" (a list
-- per column), "variance_weighted" (EVS, R2) or a list of column weights.
local S = require "dnn.metrics.sk_input"
local U = require "dnn.metrics.util"

local K = {}

local EPS64 = 2.220446049250313e-16

-- _check_reg_targets: both [N] or [N,D] (a [N] becomes [N,1]), same shape.
local function targets(name, yt, yp, o, allow_variance_weighted)
  local t, p = S.float(name, yt, "y_true"), S.float(name, yp, "y_pred")
  if t:dim() == 0 then t = t:reshape(1) end
  if p:dim() == 0 then p = p:reshape(1) end
  if t:dim() == 1 then t = t:unsqueeze(2) end
  if p:dim() == 1 then p = p:unsqueeze(2) end
  if t:dim() ~= 2 or p:dim() ~= 2 then
    error(("%s: targets must be [N] or [N,D], got y_true %s and y_pred %s"):format(name, U.shape_str(t), U.shape_str(p)), 0)
  end
  S.same_length(name, t, p)
  if t:size()[2] ~= p:size()[2] then
    error(("%s: y_true and y_pred have different number of output (%d!=%d)"):format(name, t:size()[2], p:size()[2]), 0)
  end
  local mo = o.multioutput
  if mo == nil then mo = "uniform_average" end
  if type(mo) == "string" then
    if mo ~= "uniform_average" and mo ~= "raw_values" and not (allow_variance_weighted and mo == "variance_weighted") then
      error(("%s: allowed multioutput values are \"raw_values\", \"uniform_average\"%s or a list of column weights, got %q")
        :format(name, allow_variance_weighted and ', "variance_weighted"' or "", mo), 0)
    end
  else
    mo = S.float(name, mo, "multioutput")
    if mo:dim() ~= 1 or mo:numel() ~= t:size()[2] then
      error(("%s: there must be equally many custom weights (%d) as outputs (%d)"):format(name, mo:numel(), t:size()[2]), 0)
    end
  end
  local w = S.weights(name, o.sample_weight, t:size()[1])
  return t, p, mo, w
end

-- np.average(values, axis=0, weights=w) per column, as a Lua list.
local function column_average(name, v, w)
  if w == nil then
    if v:size()[1] == 0 then error(("%s: no samples"):format(name), 0) end
    return v:mean(1):totable()
  end
  local den = w:sum():item()
  if den == 0 then error(("%s: weights sum to zero, can't be normalized"):format(name), 0) end
  return ((v * w:unsqueeze(2)):sum(1) / den):totable()
end

local function aggregate(name, errors, mo)
  if mo == "raw_values" then return errors end
  if mo == "uniform_average" then return S.average(name, errors) end
  return S.average(name, errors, mo)
end

local REG_OPTS = { sample_weight = true, multioutput = true }
local SQ_OPTS = { sample_weight = true, multioutput = true, squared = true }

function K.mean_absolute_error(a, b, c, extra)
  local name = "mean_absolute_error"
  local yt, yp, o = S.args(name, REG_OPTS, a, b, c, extra)
  local t, p, mo, w = targets(name, yt, yp, o)
  return aggregate(name, column_average(name, (p - t):abs(), w), mo)
end

local function squared_opt(name, o)
  if o.squared == nil then return true end
  if type(o.squared) ~= "boolean" then error(("%s: squared must be true or false, got %s"):format(name, type(o.squared)), 0) end
  return o.squared
end

local function mse(name, t, p, mo, w, squared)
  local errors = column_average(name, (t - p):square(), w)
  if not squared then
    for i, v in ipairs(errors) do errors[i] = math.sqrt(v) end
  end
  return aggregate(name, errors, mo)
end

function K.mean_squared_error(a, b, c, extra)
  local name = "mean_squared_error"
  local yt, yp, o = S.args(name, SQ_OPTS, a, b, c, extra)
  local t, p, mo, w = targets(name, yt, yp, o)
  return mse(name, t, p, mo, w, squared_opt(name, o))
end

function K.mean_squared_log_error(a, b, c, extra)
  local name = "mean_squared_log_error"
  local yt, yp, o = S.args(name, SQ_OPTS, a, b, c, extra)
  local t, p, mo, w = targets(name, yt, yp, o)
  if t:lt(0):any():item() or p:lt(0):any():item() then
    error(("%s: Mean Squared Logarithmic Error cannot be used when targets contain negative values"):format(name), 0)
  end
  return mse(name, t:log1p(), p:log1p(), mo, w, squared_opt(name, o))
end

-- |y_pred - y_true| / max(|y_true|, eps64), averaged: a fraction (1 = 100%).
function K.mean_absolute_percentage_error(a, b, c, extra)
  local name = "mean_absolute_percentage_error"
  local yt, yp, o = S.args(name, REG_OPTS, a, b, c, extra)
  local t, p, mo, w = targets(name, yt, yp, o)
  local ape = (p - t):abs() / t:abs():clamp{ min = EPS64 }
  return aggregate(name, column_average(name, ape, w), mo)
end

-- _assemble_r2_explained_variance: 1 - num/den per column; with
-- force_finite, a perfect column scores 1 and a constant y_true column 0.
local function assemble(name, num, den, mo, force_finite)
  local scores = {}
  for i = 1, #num do
    if not force_finite then
      scores[i] = 1 - num[i] / den[i]
    elseif num[i] == 0 then
      scores[i] = 1.0
    elseif den[i] == 0 then
      scores[i] = 0.0
    else
      scores[i] = 1 - num[i] / den[i]
    end
  end
  if mo == "raw_values" then return scores end
  if mo == "uniform_average" then return S.average(name, scores) end
  if mo == "variance_weighted" then
    local any = false
    for _, d in ipairs(den) do
      if d ~= 0 then any = true end
    end
    if not any then return S.average(name, scores) end
    return S.average(name, scores, den)
  end
  return S.average(name, scores, mo)
end

local function force_finite_opt(name, o)
  if o.force_finite == nil then return true end
  if type(o.force_finite) ~= "boolean" then
    error(("%s: force_finite must be true or false, got %s"):format(name, type(o.force_finite)), 0)
  end
  return o.force_finite
end

local R2_OPTS = { sample_weight = true, multioutput = true, force_finite = true }

function K.explained_variance_score(a, b, c, extra)
  local name = "explained_variance_score"
  local yt, yp, o = S.args(name, R2_OPTS, a, b, c, extra)
  local t, p, mo, w = targets(name, yt, yp, o, true)
  local diff = t - p
  local diff_avg = S.float(name, column_average(name, diff, w), "mean")
  local num = column_average(name, (diff - diff_avg):square(), w)
  local t_avg = S.float(name, column_average(name, t, w), "mean")
  local den = column_average(name, (t - t_avg):square(), w)
  return assemble(name, num, den, mo, force_finite_opt(name, o))
end

function K.r2_score(a, b, c, extra)
  local name = "r2_score"
  local yt, yp, o = S.args(name, R2_OPTS, a, b, c, extra)
  local t, p, mo, w = targets(name, yt, yp, o, true)
  local ff = force_finite_opt(name, o)
  if p:size()[1] < 2 then return 0 / 0 end -- sklearn: not well-defined, NaN (with a warning)
  local weight = w and w:unsqueeze(2) or 1
  local num = (weight * (t - p):square()):sum(1):totable()
  local t_avg = S.float(name, column_average(name, t, w), "mean")
  local den = (weight * (t - t_avg):square()):sum(1):totable()
  return assemble(name, num, den, mo, ff)
end

return K
