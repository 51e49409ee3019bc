-- Elementwise ops: broadcasting, dtype promotion, scalars, in-place forms,
-- strided inputs and the threaded path, each against plain Lua arithmetic.
local dnn = require "dnn"
local check = require "support.check"

local function map2(a, b, f)
  local out = {}
  for i = 1, #a do
    if type(a[i]) == "table" then out[i] = map2(a[i], b[i], f) else out[i] = f(a[i], b[i]) end
  end
  return out
end

local function map1(a, f)
  local out = {}
  for i = 1, #a do
    if type(a[i]) == "table" then out[i] = map1(a[i], f) else out[i] = f(a[i]) end
  end
  return out
end

describe("binary ops", function()
  local A = check.random_table({ 3, 4 }, 1)
  local B = check.random_table({ 3, 4 }, 2, 0.5, 2)
  local a, b = dnn.tensor(A, { dtype = "float64" }), dnn.tensor(B, { dtype = "float64" })

  it("match Lua arithmetic (metamethods and named forms)", function()
    check.close(a + b, map2(A, B, function(x, y) return x + y end), 1e-12)
    check.close(a - b, map2(A, B, function(x, y) return x - y end), 1e-12)
    check.close(a * b, map2(A, B, function(x, y) return x * y end), 1e-12)
    check.close(a / b, map2(A, B, function(x, y) return x / y end), 1e-12)
    check.close(b ^ a, map2(B, A, function(x, y) return x ^ y end), 1e-12)
    check.close(-a, map1(A, function(x) return -x end), 1e-12)
    check.close(dnn.add(a, b), a:add(b), 0)
    check.close(a:maximum(b), map2(A, B, math.max), 0)
    check.close(dnn.minimum(a, b), map2(A, B, math.min), 0)
    check.close(a % b, map2(A, B, function(x, y) return x % y end), 1e-12)
    check.close(a // b, map2(A, B, function(x, y) return x // y end), 1e-12)
    check.close(a:atan2(b), map2(A, B, function(x, y) return math.atan(x, y) end), 1e-12)
    check.close(a:add(b, { alpha = 2 }), map2(A, B, function(x, y) return x + 2 * y end), 1e-12)
  end)

  it("broadcast like NumPy", function()
    local row = dnn.tensor { 10, 20, 30 }
    local col = dnn.tensor { { 1 }, { 2 } }
    assert.are.same({ { 11, 21, 31 }, { 12, 22, 32 } }, (row + col):totable())
    assert.are.same({ 2, 3 }, (col * row):size())
    check.fails_with(function() return dnn.zeros(2, 3) + dnn.zeros(4, 3) end, "add", "[2,3]", "[4,3]", "broadcast")
  end)

  it("work with scalars on either side", function()
    local t = dnn.tensor { 1, 2, 4 }
    assert.are.same({ 2, 3, 5 }, (t + 1):totable())
    assert.are.same({ 9, 8, 6 }, (10 - t):totable())
    assert.are.same({ 8, 4, 2 }, (8 / t):totable())
    assert.are.same({ 1, 4, 16 }, (t ^ 2):totable())
    assert.are.same({ 2, 4, 16 }, (2 ^ t):totable())
  end)

  it("promote dtypes as PyTorch does", function()
    local i = dnn.tensor { 1, 2 } -- int64
    local u = dnn.tensor({ 1, 2 }, { dtype = "uint8" })
    local f = dnn.tensor { 1.0, 2.0 } -- float32
    assert.equal("int64", (i + 1).dtype)
    assert.equal("float32", (i + 0.5).dtype)
    assert.equal("float32", (i / 2).dtype) -- true division
    assert.are.same({ 0.5, 1 }, (i / 2):totable())
    assert.equal("uint8", (u + 1).dtype)
    assert.equal("float32", (u / 255).dtype)
    assert.equal("float32", (i + f).dtype)
    assert.equal("float64", (f + f:double()).dtype)
    assert.equal("int64", (u + i).dtype)
    assert.equal("float32", (f + dnn.tensor(2.0, { dtype = "float64" })).dtype) -- 0-d does not widen
    assert.equal("int64", (dnn.tensor { true } + dnn.tensor { true }).dtype)
  end)

  it("comparisons return bool tensors", function()
    local t = dnn.tensor { 1, 2, 3 }
    assert.are.same({ false, true, false }, t:eq(2):totable())
    assert.are.same({ true, false, true }, t:ne(2):totable())
    assert.are.same({ true, false, false }, t:lt(2):totable())
    assert.are.same({ true, true, false }, t:le(2):totable())
    assert.are.same({ false, false, true }, t:gt(2):totable())
    assert.are.same({ false, true, true }, t:ge(2):totable())
    assert.are.same({ false, true, false }, t:eq(dnn.tensor { 0, 2, 0 }):totable())
    assert.equal("bool", t:gt(1.5).dtype)
    local p, q = dnn.tensor { true, true, false }, dnn.tensor { true, false, false }
    assert.are.same({ true, false, false }, p:logical_and(q):totable())
    assert.are.same({ true, true, false }, p:logical_or(q):totable())
    assert.are.same({ false, true, false }, p:logical_xor(q):totable())
    assert.are.same({ false, false, true }, p:logical_not():totable())
  end)

  it("integers wrap, and integer division by zero is an error, not a crash", function()
    local big = dnn.tensor({ math.maxinteger })
    assert.equal(math.mininteger, (big + 1)[1])
    check.fails_with(function() return dnn.tensor { 5 } % 0 end, "division by zero")
    check.fails_with(function() return dnn.tensor { 5 }:fmod(dnn.tensor { 0 }) end, "fmod", "division by zero")
    assert.are.same({ 2 }, (dnn.tensor { 7 } // 3):totable())
    assert.equal("int64", (dnn.tensor { 7 } // 3).dtype)
    assert.are.same({ 3, -3 }, (dnn.tensor { -7, 7 } % dnn.tensor { 5, -5 }):totable()) -- Lua's sign rule
    assert.are.same({ -4 }, (dnn.tensor { -7 } // 2):totable())
  end)

  it("in-place forms change the tensor and return it", function()
    local t = dnn.tensor { 1.0, 2.0 }
    assert.equal(t, t:add_(1))
    assert.are.same({ 2, 3 }, t:totable())
    t:mul_(dnn.tensor { 2.0, 3.0 })
    assert.are.same({ 4, 9 }, t:totable())
    t:sub_(1):div_(2)
    assert.are.same({ 1.5, 4 }, t:totable())
    t:clamp_(2, 3)
    assert.are.same({ 2, 3 }, t:totable())
    check.fails_with(function() dnn.tensor { 1, 2 }:add_(0.5) end, "add_", "float32", "int64")
    check.fails_with(function() dnn.zeros(3):add_(dnn.zeros(2, 3)) end, "add_", "[2,3]", "[3]")
  end)

  it("handle strided inputs", function()
    local m = dnn.tensor(check.random_table({ 5, 7 }, 3), { dtype = "float64" })
    local mt = m:t()
    local ref = {}
    local M = m:totable()
    for j = 1, 7 do
      ref[j] = {}
      for i = 1, 5 do ref[j][i] = M[i][j] * 2 + 1 end
    end
    check.close(mt * 2 + 1, ref, 1e-12)
    check.close(m:narrow(2, 2, 3) + m:narrow(2, 5, 3),
      map2(m:narrow(2, 2, 3):totable(), m:narrow(2, 5, 3):totable(), function(x, y) return x + y end), 1e-12)
  end)

  it("agree between the threaded and the small path", function()
    dnn.manual_seed(3)
    local big = dnn.randn(300, 1000)
    local s1 = (big * 2 + big):sum():item()
    local s2 = (big:sum() * 3):item()
    assert.is_true(math.abs(s1 - s2) <= 1e-3 * math.abs(s2) + 1e-2)
    local c = big:t() + 1 -- strided, large
    assert.is_true(math.abs(big[{ 17, 123 }] + 1 - c[{ 123, 17 }]) < 1e-6)
  end)
end)

describe("unary ops", function()
  local X = check.random_table({ 4, 5 }, 7, 0.1, 3)
  local x = dnn.tensor(X, { dtype = "float64" })
  local cases = {
    exp = math.exp, log = math.log, sqrt = math.sqrt, sin = math.sin, cos = math.cos, tan = math.tan,
    abs = math.abs, floor = math.floor, ceil = math.ceil,
    tanh = function(v) return (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)) end,
    sigmoid = function(v) return 1 / (1 + math.exp(-v)) end,
    log1p = function(v) return math.log(1 + v) end,
    expm1 = function(v) return math.exp(v) - 1 end,
    rsqrt = function(v) return 1 / math.sqrt(v) end,
    reciprocal = function(v) return 1 / v end,
    square = function(v) return v * v end,
    neg = function(v) return -v end,
    log2 = function(v) return math.log(v, 2) end,
    log10 = function(v) return math.log(v, 10) end,
    atan = math.atan,
    relu = function(v) return v > 0 and v or 0 end,
    sign = function(v) return v > 0 and 1 or (v < 0 and -1 or 0) end,
  }
  for name, f in pairs(cases) do
    it(name .. " matches Lua's math", function()
      check.close(x[name](x), map1(X, f), 1e-12)
      check.close(dnn[name](x - 1.5), map1(X, function(v) return f(v - 1.5) end), 1e-12)
    end)
  end

  it("float-only functions promote integers to float32", function()
    assert.equal("float32", dnn.tensor { 1, 4 }:sqrt().dtype)
    assert.are.same({ 1, 2 }, dnn.tensor { 1, 4 }:sqrt():totable())
    assert.equal("int64", dnn.tensor { -1, 4 }:abs().dtype)
  end)

  it("round halves to even, and isnan/isinf detect non-finite values", function()
    assert.are.same({ 0, 2, 2, -2 }, dnn.tensor { 0.5, 1.5, 2.5, -2.5 }:round():totable())
    local t = dnn.tensor { 0 / 0, 1 / 0, -1 / 0, 1 }
    assert.are.same({ true, false, false, false }, t:isnan():totable())
    assert.are.same({ false, true, true, false }, t:isinf():totable())
  end)

  it("in-place unary forms", function()
    local t = dnn.tensor { 1.0, 4.0 }
    t:sqrt_()
    assert.are.same({ 1, 2 }, t:totable())
    check.fails_with(function() dnn.tensor { 1, 4 }:sqrt_() end, "sqrt_", "int64")
  end)

  it("clamp and where", function()
    local t = dnn.tensor { -2, 0.5, 3 }
    assert.are.same({ -1, 0.5, 1 }, t:clamp(-1, 1):totable())
    assert.are.same({ 0, 0.5, 3 }, t:clamp { min = 0 }:totable())
    assert.are.same({ -2, 0.5, 1 }, t:clip(nil, 1):totable())
    assert.are.same({ 0, 3, 3 }, dnn.tensor { -5, 3, 9 }:clamp(0, 3):totable())
    local w = dnn.where(t:gt(0), t, dnn.zeros(3))
    assert.are.same({ 0, 0.5, 3 }, w:totable())
    assert.are.same({ -1, 0.5, 3 }, dnn.where(t:gt(0), t, -1):totable())
  end)
end)
