-- Helpers shared by specs: comparisons by normalised error, error text checks.
local dnn = require "dnn"
local check = {}

-- Flattens a nested Lua table of numbers.
local function flatten(v, out)
  out = out or {}
  if type(v) == "table" then
    for _, x in ipairs(v) do flatten(x, out) end
  else
    out[#out + 1] = v
  end
  return out
end
check.flatten = flatten

-- max|a - b| / max|b| over all elements (DESIGN.md: float32 <= 1e-5).
function check.rel_err(a, b)
  local fa = flatten(dnn.is_tensor(a) and a:totable() or a)
  local fb = flatten(dnn.is_tensor(b) and b:totable() or b)
  assert(#fa == #fb, ("element counts differ: %d vs %d"):format(#fa, #fb))
  local num, den = 0, 0
  for i = 1, #fa do
    local x, y = fa[i], fb[i]
    if type(x) == "boolean" then x = x and 1 or 0 end
    if type(y) == "boolean" then y = y and 1 or 0 end
    num = math.max(num, math.abs(x - y))
    den = math.max(den, math.abs(y))
  end
  if den == 0 then return num end
  return num / den
end

function check.close(a, b, tol)
  local e = check.rel_err(a, b)
  assert(e <= (tol or 1e-5), ("not close: normalised error %g > %g"):format(e, tol or 1e-5))
  return true
end

-- Runs fn, expects an error whose message contains every given fragment.
function check.fails_with(fn, ...)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error, but the call succeeded")
  err = tostring(err)
  for _, frag in ipairs({ ... }) do
    assert(err:find(frag, 1, true), ("error %q does not mention %q"):format(err, frag))
  end
  return err
end

-- A random nested table of the given shape (values from a seeded LCG, so
-- reference data does not depend on dnn's generator).
function check.random_table(shape, seed, lo, hi)
  local state = seed or 12345
  lo, hi = lo or -1, hi or 1
  local function rnd()
    state = (state * 1103515245 + 12345) % 2147483648
    return lo + (hi - lo) * state / 2147483648
  end
  local function build(d)
    local t = {}
    for i = 1, shape[d] do t[i] = d == #shape and rnd() or build(d + 1) end
    return t
  end
  return build(1)
end

return check
