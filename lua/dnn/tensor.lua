-- Tensor methods written in Lua: printing, comparisons of whole tensors,
-- and conveniences over the C core.
local dnn = require "dnn"
local core = dnn.core
local M = core.methods
local Tensor = core.Tensor

local EDGE, THRESHOLD = 3, 1000 -- summarise like PyTorch past 1000 elements

-- Positions shown along a dim of size n ("..." marks a gap).
local function positions(n, summarise)
  local out = {}
  if summarise and n > 2 * EDGE then
    for i = 1, EDGE do out[#out + 1] = i end
    out[#out + 1] = "..."
    for i = n - EDGE + 1, n do out[#out + 1] = i end
  else
    for i = 1, n do out[#out + 1] = i end
  end
  return out
end

-- Collects the shown values (for the number format) by walking the dims.
local function shown_values(t, summarise)
  local vals, shape, idx = {}, t:size(), {}
  local function walk(d)
    if d > #shape then
      vals[#vals + 1] = t[idx]
      return
    end
    for _, p in ipairs(positions(shape[d], summarise)) do
      if p ~= "..." then
        idx[d] = p
        walk(d + 1)
      end
    end
    idx[d] = nil
  end
  walk(1)
  return vals
end

-- A formatter for the values: integers, fixed point or scientific.
local function make_format(t, vals)
  local dtype = t.dtype
  if dtype == "bool" then
    return function(v) return v and "true" or "false" end, 5
  end
  local integral, maxabs, minabs = true, 0, math.huge
  for _, v in ipairs(vals) do
    if v ~= v or v == math.huge or v == -math.huge then
      -- non-finite values print as nan/inf
    else
      if math.type(v) == "float" and v ~= math.floor(v) then integral = false end
      local a = math.abs(v)
      if a > maxabs then maxabs = a end
      if a > 0 and a < minabs then minabs = a end
    end
  end
  local fmt
  if not t:is_floating_point() then -- float16/bfloat16 print as floats too
    fmt = "%d"
  elseif integral and maxabs < 1e9 then
    fmt = "%.0f"
  elseif maxabs < 1e5 and (minabs == math.huge or minabs >= 1e-4) then
    fmt = "%.4f"
  else
    fmt = "%.4e"
  end
  local function one(v)
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    if fmt == "%d" then return string.format("%d", v) end
    return string.format(fmt, v)
  end
  local width = 1
  for _, v in ipairs(vals) do
    local s = one(v)
    if #s > width then width = #s end
  end
  return one, width
end

local function format_matrix(t, prefix_idx, one, width, summarise, lines)
  local shape = t:size()
  local nd = #shape
  local rows = nd >= 2 and shape[nd - 1] or 1
  local cols = shape[nd]
  local rpos = nd >= 2 and positions(rows, summarise) or {1}
  local cpos = positions(cols, summarise)
  for _, r in ipairs(rpos) do
    if r == "..." then
      lines[#lines + 1] = " ..."
    else
      local parts = {}
      for _, c in ipairs(cpos) do
        if c == "..." then
          parts[#parts + 1] = "..."
        else
          local idx = {}
          for i, p in ipairs(prefix_idx) do idx[i] = p end
          if nd >= 2 then idx[#idx + 1] = r end
          idx[#idx + 1] = c
          local s = one(t[idx])
          parts[#parts + 1] = string.rep(" ", width - #s) .. s
        end
      end
      lines[#lines + 1] = " " .. table.concat(parts, " ")
    end
  end
end

local function tensor_tostring(t)
  local shape = t:size()
  local nd = #shape
  local dims = {}
  for i = 1, nd do dims[i] = tostring(shape[i]) end
  local footer = string.format("[dnn.Tensor of dtype %s and size %s%s]", t.dtype,
    nd == 0 and "[]" or table.concat(dims, "x"), t.device ~= "cpu" and (" on " .. t.device) or "")
  if t.device ~= "cpu" then t = t:to("cpu") end
  if nd == 0 then
    local one = make_format(t, { t:item() })
    return one(t:item()) .. "\n" .. footer
  end
  if t:numel() == 0 then return "[]\n" .. footer end
  local summarise = t:numel() > THRESHOLD
  local one, width = make_format(t, shown_values(t, summarise))
  local lines = {}
  if nd <= 2 then
    format_matrix(t, {}, one, width, summarise, lines)
  else
    -- 3+ dims: one matrix per leading index, labelled as Torch7 does: (1,.,.) =
    local lead = {}
    local function walk(d)
      if d > nd - 2 then
        local label = {}
        for i = 1, nd - 2 do label[i] = tostring(lead[i]) end
        lines[#lines + 1] = "(" .. table.concat(label, ",") .. ",.,.) = "
        format_matrix(t, lead, one, width, summarise, lines)
        lines[#lines + 1] = ""
        return
      end
      for _, p in ipairs(positions(shape[d], summarise)) do
        if p == "..." then
          lines[#lines + 1] = "..."
          lines[#lines + 1] = ""
        else
          lead[d] = p
          walk(d + 1)
        end
      end
      lead[d] = nil
    end
    walk(1)
  end
  lines[#lines + 1] = footer
  return table.concat(lines, "\n")
end

Tensor.__tostring = tensor_tostring
Tensor.__name = "dnn.Tensor"

-- t:equal(u): same shape and same values (NaN never equals).
function M.equal(a, b)
  if not dnn.is_tensor(b) then return false end
  if a:size() ~= b:size() then return false end
  if a:numel() == 0 then return true end
  return a:eq(b):all():item()
end

-- t:allclose(u, {rtol=1e-5, atol=1e-8}): |a - b| <= atol + rtol * |b| everywhere.
function M.allclose(a, b, opts)
  opts = opts or {}
  local rtol, atol = opts.rtol or 1e-5, opts.atol or 1e-8
  local diff = (a:double() - b:double()):abs()
  local tol = b:double():abs() * rtol + atol
  return diff:le(tol):all():item()
end

-- t:classes(): predictions to 0-based class ids (argmax over the last dim,
-- or a 0.5 threshold for a single sigmoid column).
function M.classes(t)
  local n = t:size(-1)
  if t:dim() >= 1 and n == 1 then
    return t:squeeze(-1):gt(0.5):long()
  end
  return t:argmax(-1) - 1
end

function M.tolist(t) return t:totable() end
function M.is_tensor(t) return dnn.is_tensor(t) end

-- dnn.Tensor-style type checks
function M.is_same_size(a, b) return a:size() == b:size() end

return dnn
