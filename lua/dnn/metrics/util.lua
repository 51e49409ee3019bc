-- Shared helpers for dnn.metrics: input conversion, Keras's shape
-- reconciliation (losses_utils.squeeze_or_expand_dimensions,
-- broadcast_weights) and small numeric utilities.  Internal module.
local dnn = require "dnn"

local U = {}

function U.is_plain_table(v) return type(v) == "table" and not dnn.is_tensor(v) and getmetatable(v) == nil end

function U.shape_str(t)
  local s = dnn.is_tensor(t) and t:size() or t
  local parts = {}
  for i = 1, #s do parts[i] = tostring(s[i]) end
  return "[" .. table.concat(parts, ",") .. "]"
end

function U.sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return out
end

-- A tensor of `dtype` from a tensor, a Lua table or a number; `what` names
-- the argument in errors ("y_true", "sample_weight", ...).
function U.tensor(name, v, what, dtype)
  if dnn.is_tensor(v) then
    if v.dtype == dtype then return v end
    return v:to(dtype)
  end
  if type(v) == "number" or type(v) == "boolean" or type(v) == "table" then
    local ok, t = pcall(dnn.tensor, v, { dtype = dtype })
    if not ok then error(("%s: %s could not be made a tensor: %s"):format(name, what, tostring(t)), 0) end
    return t
  end
  if v == nil then error(("%s: %s is missing"):format(name, what), 0) end
  error(("%s: %s must be a tensor, a Lua table or a number, got %s"):format(name, what, type(v)), 0)
end

local function same_shape(a, b)
  local sa, sb = a:size(), b:size()
  if #sa ~= #sb then return false end
  for i = 1, #sa do
    if sa[i] ~= sb[i] then return false end
  end
  return true
end
U.same_shape = same_shape

-- Keras's squeeze_or_expand_dimensions(y_pred, y_true, sample_weight):
-- drops a trailing 1 that makes y_true and y_pred differ by one rank, then
-- fits sample_weight's rank to y_pred's (squeeze or add a trailing dim).
function U.squeeze_or_expand(y_pred, y_true, sw)
  if y_true ~= nil then
    local pr, tr = y_pred:dim(), y_true:dim()
    local ps, ts = y_pred:size(), y_true:size()
    if pr - tr ~= 1 or ps[pr] == 1 then
      if pr - tr == 1 and ps[pr] == 1 then
        y_pred = y_pred:squeeze(-1)
      elseif pr - tr == -1 and ts[tr] == 1 then
        y_true = y_true:squeeze(-1)
      end
    end
  end
  if dnn.is_tensor(sw) and sw:dim() > 0 then
    local wr, pr = sw:dim(), y_pred:dim()
    if wr - pr == 1 and sw:size()[wr] == 1 then
      sw = sw:squeeze(-1)
    elseif pr - wr == 1 then
      sw = sw:unsqueeze(-1)
    end
  end
  return y_pred, y_true, sw
end

-- compile()'s match_dtype_and_rank: y_true [N] against y_pred [N,k] becomes
-- [N,1], so per-sample metrics keep one value per sample (and batched
-- updates add up to the result on the concatenated data).
function U.match_rank(y_true, y_pred)
  if y_true:dim() == 1 and y_pred:dim() == 2 then return y_true:unsqueeze(-1) end
  return y_true
end

-- Whether weights (after squeeze_or_expand) broadcast to `values` the way
-- tf's broadcast_weights allows: a scalar, or the same rank with each dim 1
-- or equal.
function U.broadcastable(w, values)
  if w:dim() == 0 then return true end
  if w:dim() ~= values:dim() then return false end
  local ws, vs = w:size(), values:size()
  for i = 1, #ws do
    if ws[i] ~= 1 and ws[i] ~= vs[i] then return false end
  end
  return true
end

-- sample_weight as a float32 tensor broadcast to `values`' shape.
function U.broadcast_weights(name, w, values)
  if not U.broadcastable(w, values) then
    error(("%s: sample_weight %s does not fit %s (give one weight per sample, or a shape that broadcasts to it)")
      :format(name, U.shape_str(w), U.shape_str(values)), 0)
  end
  if w:dim() == 0 then return dnn.full_like(values, w:item()) end
  return w:expand(values:size()):contiguous()
end

-- Keras's divide_no_nan on Lua numbers.
function U.div0(a, b)
  if b == 0 then return 0 end
  return a / b
end

-- x rounded to float32, as TF rounds Python floats it turns into tensors.
function U.f32(x)
  return dnn.tensor({ x }, { dtype = "float32" }):item()
end

-- A Lua list of numbers from a 1-D tensor.
function U.list(t)
  return t:to("float64"):totable()
end

-- Checks an option against a set of allowed values (strings or nil).
function U.check_choice(name, key, v, choices)
  for _, c in ipairs(choices) do
    if v == c then return v end
  end
  local list = {}
  for _, c in ipairs(choices) do list[#list + 1] = type(c) == "string" and ('"' .. c .. '"') or tostring(c) end
  error(("%s: %s must be one of %s, got %s"):format(name, key, table.concat(list, ", "),
    type(v) == "string" and ('"' .. v .. '"') or tostring(v)), 0)
end

function U.check_int(name, key, v, min)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v) then
    error(("%s: %s must be an integer, got %s"):format(name, key, tostring(v)), 0)
  end
  v = math.tointeger(v)
  if min and v < min then error(("%s: %s must be >= %d, got %d"):format(name, key, min, v), 0) end
  return v
end

function U.check_number(name, key, v)
  if type(v) ~= "number" then error(("%s: %s must be a number, got %s"):format(name, key, type(v)), 0) end
  return v
end

return U
