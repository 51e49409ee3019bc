-- Helpers shared by the CUDA specs (spec/cuda*_spec.lua): whether a GPU is
-- here, and the comparison of a GPU result with the CPU's by normalised MSE
-- (ggml's test-backend-ops measure).
local dnn = require "dnn"

local M = {}

M.available = dnn.cuda.is_available()

-- In an `it`: false (and the case marked pending) without a CUDA device.
-- busted's pending is passed in: it lives in the spec file's environment.
function M.need(pending)
  if not M.available then
    pending("no CUDA device")
    return false
  end
  return true
end

function M.is_float(t) return t.dtype == "float32" or t.dtype == "float64" end

function M.same_shape(a, b)
  if a:dim() ~= b:dim() then return false end
  for i = 1, a:dim() do
    if a:size(i) ~= b:size(i) then return false end
  end
  return true
end

-- Normalised MSE of a against the reference b (both moved to the CPU):
-- sum((a - b)^2) / sum(b^2) over the finite elements; math.huge with a reason
-- when shapes, dtypes or the NaN/Inf positions differ.  Integer and bool
-- results must be equal.
function M.nmse(a, b)
  a, b = a:cpu(), b:cpu()
  if a.dtype ~= b.dtype then return math.huge, ("dtypes differ: %s vs %s"):format(a.dtype, b.dtype) end
  if not M.same_shape(a, b) then
    return math.huge, ("shapes differ: %s vs %s"):format(tostring(a.shape), tostring(b.shape))
  end
  if a:numel() == 0 then return 0 end
  if not M.is_float(a) then
    if a:eq(b):all():item() then return 0 end
    return math.huge, "integer/bool values differ"
  end
  a, b = a:double(), b:double()
  local an, bn = a:isnan(), b:isnan()
  if not an:eq(bn):all():item() then return math.huge, "NaN positions differ" end
  local ai, bi = a:isinf(), b:isinf()
  if not ai:eq(bi):all():item() then return math.huge, "Inf positions differ" end
  local zero = dnn.zeros_like(a)
  if ai:any():item() and not dnn.where(ai, a, zero):eq(dnn.where(bi, b, zero)):all():item() then
    return math.huge, "Inf signs differ"
  end
  local finite = an:logical_or(ai):logical_not()
  local d = dnn.where(finite, a, zero) - dnn.where(finite, b, zero)
  local ref = dnn.where(finite, b, zero)
  local num, den = (d * d):sum():item(), (ref * ref):sum():item()
  if den == 0 then return num end
  return num / den
end

return M
