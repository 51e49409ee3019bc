-- Input handling shared by the scikit-learn style functions
-- (dnn.metrics.accuracy_score, roc_auc_score, r2_score, ...): arguments in
-- both call forms, tensors or Lua tables, float64 arithmetic, and
-- scikit-learn's checks with its messages.  Internal module.
local dnn = require "dnn"
local U = require "dnn.metrics.util"

local S = {}

-- f(y_true, y_pred, {opts}) or f{y_true, y_pred, key=v}; unknown options
-- are errors that list the known ones.
function S.args(name, known, a, b, c, extra)
  if extra ~= nil then
    error(("%s: takes y_true, y_pred and one options table"):format(name), 0)
  end
  local yt, yp, opts = a, b, c
  if b == nil and c == nil and U.is_plain_table(a) and (a.y_true ~= nil or a.y_pred ~= nil or #a == 2) then
    yt, yp, opts = a[1], a[2], a
    if yt == nil then yt = a.y_true end
    if yp == nil then yp = a.y_pred end
    if yp == nil then yp = a.y_score end
  end
  opts = opts or {}
  if not U.is_plain_table(opts) then
    error(("%s: options must be a table, got %s"):format(name, dnn.is_tensor(opts) and "a tensor" or type(opts)), 0)
  end
  for k in pairs(opts) do
    local positional = opts == a and (k == 1 or k == 2 or k == "y_true" or k == "y_pred" or k == "y_score")
    if not positional and not known[k] then
      local list = U.sorted_keys(known)
      error(("%s: unknown option '%s' (%s)"):format(name, tostring(k),
        #list > 0 and "known: " .. table.concat(list, ", ") or "it takes no options"), 0)
    end
  end
  if yt == nil then error(("%s: y_true is missing"):format(name), 0) end
  if yp == nil then error(("%s: y_pred is missing"):format(name), 0) end
  return yt, yp, opts
end

function S.float(name, v, what)
  local t = U.tensor(name, v, what, "float64")
  if t:numel() > 0 and (t:isnan():any():item() or t:isinf():any():item()) then
    error(("%s: %s contains NaN or infinity"):format(name, what), 0)
  end
  return t
end

-- Class ids as a 1-D float64 tensor ([N] or [N,1] accepted).  Continuous or
-- negative values are refused, as scikit-learn refuses continuous targets.
function S.labels(name, v, what)
  local t = S.float(name, v, what)
  if t:dim() == 2 and t:size()[2] == 1 then t = t:reshape(-1) end
  if t:dim() == 0 then t = t:reshape(1) end
  if t:dim() ~= 1 then
    error(("%s: %s must be class ids of shape [N] (or [N,1]), got %s (one-hot rows? take :argmax(-1) - 1)")
      :format(name, what, U.shape_str(t)), 0)
  end
  if t:numel() > 0 then
    local bad = t:ne(t:floor())
    if bad:any():item() then
      local x = t:masked_select(bad)[1]
      error(("%s: %s holds continuous values (e.g. %.6g); classification metrics need class ids (e.g. y_pred:classes())")
        :format(name, what, x), 0)
    end
    if t:lt(0):any():item() then
      error(("%s: %s holds negative values; class ids are 0-based (0, 1, 2, ...)"):format(name, what), 0)
    end
  end
  return t
end

function S.same_length(name, ...)
  local ns, same = {}, true
  for i, t in ipairs({ ... }) do
    ns[i] = tostring(t:dim() == 0 and 1 or t:size()[1])
    if ns[i] ~= ns[1] then same = false end
  end
  if not same then
    error(("%s: found input variables with inconsistent numbers of samples: [%s]"):format(name, table.concat(ns, ", ")), 0)
  end
end

-- sample_weight: nil or a float64 [N] tensor.
function S.weights(name, sw, n)
  if sw == nil then return nil end
  local w = S.float(name, sw, "sample_weight")
  if w:dim() == 2 and w:size()[2] == 1 then w = w:reshape(-1) end
  if w:dim() ~= 1 or w:numel() ~= n then
    error(("%s: sample_weight %s must have one weight per sample (%d)"):format(name, U.shape_str(w), n), 0)
  end
  return w
end

-- np.average(values, weights=w) for a 1-D tensor (or a Lua list).
function S.average(name, values, w)
  if type(values) == "table" and not dnn.is_tensor(values) then values = dnn.tensor(values, { dtype = "float64" }) end
  if w == nil then
    if values:numel() == 0 then return 0 / 0 end
    return values:sum():item() / values:numel()
  end
  if type(w) == "table" and not dnn.is_tensor(w) then w = dnn.tensor(w, { dtype = "float64" }) end
  local den = w:sum():item()
  if den == 0 then error(("%s: weights sum to zero, can't be normalized"):format(name), 0) end
  return (values * w):sum():item() / den
end

-- Sorted distinct values of the given tensors, as a Lua list.
function S.unique(...)
  local ts = {}
  for _, t in ipairs({ ... }) do
    if t:numel() > 0 then ts[#ts + 1] = t:reshape(-1) end
  end
  if #ts == 0 then return {} end
  return dnn.cat(ts):unique():totable()
end

-- A list of class ids from a user option (numbers).
function S.label_list(name, v, key)
  if type(v) == "number" then v = { v } end
  if dnn.is_tensor(v) then v = v:to("float64"):reshape(-1):totable() end
  if not U.is_plain_table(v) then
    error(("%s: %s must be a list of class ids, got %s"):format(name, key, type(v)), 0)
  end
  local out = {}
  for i, x in ipairs(v) do
    if type(x) ~= "number" or x ~= math.floor(x) or x < 0 then
      error(("%s: %s must hold class ids (integers >= 0), got %s"):format(name, key, tostring(x)), 0)
    end
    out[i] = x
  end
  return out
end

-- Positions (0-based) of each id in `labels`, -1 where absent, as an int64
-- tensor: a lookup table indexed by id.
function S.encode(ids, labels)
  local maxid = 0
  for _, l in ipairs(labels) do maxid = math.max(maxid, l) end
  if ids:numel() > 0 then maxid = math.max(maxid, ids:max():item()) end
  local map = dnn.full({ math.tointeger(maxid) + 1 }, -1, { dtype = "int64" })
  if #labels > 0 then
    local pos = dnn.tensor(labels, { dtype = "int64" }) + 1
    map = map:scatter(1, pos, dnn.arange(#labels, { dtype = "int64" }))
  end
  if ids:numel() == 0 then return dnn.zeros({ 0 }, { dtype = "int64" }) end
  return map:index_select(1, ids:to("int64") + 1)
end

function S.contains(list, x)
  for _, v in ipairs(list) do
    if v == x then return true end
  end
  return false
end

function S.fmt_list(list)
  local parts = {}
  for i, v in ipairs(list) do parts[i] = ("%g"):format(v) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

return S
