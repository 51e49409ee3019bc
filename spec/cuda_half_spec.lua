-- float16 / bfloat16 on the CUDA backend: parity of the GPU with the CPU on
-- half tensors (spec/cuda_spec.lua's approach: one table of cases, each run
-- on the CPU and on the GPU with the same inputs).
--
-- What runs natively on the GPU: copies and conversions (cuda/copy.cu), the
-- binary and unary elementwise ops (cuda/binary.cu, unary.cu: float32 math on
-- widened operands, one rounding) and matmul / bmm / addmm (cublasGemmEx with
-- CUDA_R_16F / CUDA_R_16BF operands and float32 accumulation).  Every other
-- op gets float32 copies of its half operands on either device
-- (core/backend.c), so its two sides differ only where the float32 kernels do.
--
-- Tolerances, stated per case class:
--   exact   copies, conversions, fills, add/sub/mul/div/neg/abs/maximum,
--           comparisons, where/clamp/index ops: the same value, bit for bit
--           (NaN where NaN, the sign of zero and of Inf).
--           Matmul and sums of half-integers are exact too (every product
--           and partial sum is a float32 value, whatever the order).
--   ulp     CUDA's float32 libm (expf, tanhf, ...) differs from the CPU's by a
--           few float32 ulps, so after rounding to the half type an element
--           may be one half-type ulp away: |gpu - cpu| <= ulp(cpu) (float16:
--           2^-10 relative, 2^-24 below 2^-14; bfloat16: 2^-7 relative).
--   norm    matmul, sums and softmax of arbitrary values add in another order
--           (cuBLAS, CUDA reductions), and a result near zero after
--           cancellation has a tiny ulp: max|gpu - cpu| <= 2 ulp(max|cpu|).
--   NaN and Inf positions (and the sign of Inf and of zero) must match in
--   every class.
--
-- GPU cases carry the #gpu tag and are pending without a CUDA device; here
-- every case also runs CPU against CPU, which checks the table itself.
local dnn = require "dnn"
local F = dnn.F

local GPU = dnn.cuda.is_available()
local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = dofile(ROOT .. "/spec/fixtures/half.lua")
local HALVES = { "float16", "bfloat16" }

-- ---------------------------------------------------------------- comparison

local function ulp(dt, v)
  local a = math.abs(v)
  if dt == "float16" then
    if a < 2 ^ -14 then return 2 ^ -24 end
    local _, e = math.frexp(a) -- a = m 2^e, m in [0.5, 1)
    return 2 ^ (e - 11)
  end
  if a < 2 ^ -126 then return 2 ^ -133 end
  local _, e = math.frexp(a)
  return 2 ^ (e - 8)
end

-- nil when got (device result) matches want (CPU result) for the class, else why.
local function differs(got, want, class)
  got, want = got:cpu(), want:cpu()
  if got.dtype ~= want.dtype then return ("dtypes differ: %s vs %s"):format(got.dtype, want.dtype) end
  local gs, ws = got:size(), want:size()
  if #gs ~= #ws then return "shapes differ" end
  for i = 1, #ws do
    if gs[i] ~= ws[i] then return "shapes differ" end
  end
  local dt = want.dtype
  local numeric = dt == "float16" or dt == "bfloat16" or dt == "float32" or dt == "float64"
  if not numeric then
    if got:eq(want):all():item() then return nil end
    return dt .. " values differ"
  end
  local g, w = got:double():reshape(-1):totable(), want:double():reshape(-1):totable()
  local bound = 0
  if class == "norm" then
    for i = 1, #w do
      if w[i] == w[i] and math.abs(w[i]) < math.huge then bound = math.max(bound, math.abs(w[i])) end
    end
    bound = 2 * ulp(dt, bound)
  end
  for i = 1, #w do
    local a, b = g[i], w[i]
    local ok
    if b ~= b then
      ok = a ~= a
    elseif b == math.huge or b == -math.huge or b == 0 then
      ok = a == b and (b ~= 0 or 1 / a == 1 / b)
    elseif class == "exact" then
      ok = a == b
    elseif class == "norm" then
      ok = a == a and math.abs(a - b) <= bound
    else
      ok = a == a and math.abs(a - b) <= ulp(dt, b)
    end
    if not ok then return ("element %d: %.9g vs %.9g (%s)"):format(i, a, b, class) end
  end
  return nil
end

-- ---------------------------------------------------------------- inputs

-- {shape, kind}: float32 values made on the CPU from a fixed seed, then
-- converted to the case's dtype (so both devices start from the same bits).
local function make(spec, dt)
  local shape, kind = spec[1], spec[2] or "normal"
  local x = dnn.randn(table.unpack(shape))
  if kind == "pos" then x = x:abs() + 0.1
  elseif kind == "unit" then x = dnn.rand(table.unpack(shape)) * 1.8 - 0.9
  elseif kind == "round" then x = (x * 2):round() / 2
  elseif kind == "big" then x = x * 30000 -- float16 products overflow
  elseif kind == "bigpos" then x = x:abs() * 30000 + 1000 -- no cancellation: every float16 dot product is Inf
  elseif kind == "tiny" then x = x * 2 ^ -20 -- float16 subnormals
  elseif kind == "nan" then
    local r = dnn.rand(table.unpack(shape))
    x = dnn.where(r:lt(0.1), dnn.full_like(x, 0 / 0), x)
    x = dnn.where(r:gt(0.9), dnn.full_like(x, -math.huge), x)
  elseif kind == "bool" then return dnn.rand(table.unpack(shape)):lt(0.5)
  elseif kind == "index" then return dnn.randint(0, shape[2] or 3, { shape[1] })
  elseif kind == "t" then x = dnn.randn(shape[2], shape[1]):t()
  end
  return x:to(dt)
end

-- ---------------------------------------------------------------- the table
-- {name, fn(inputs...) -> tensor, {input specs}, class}

local cases = {
  -- native copies and conversions
  { "copy strided", function(a) return a:t():contiguous() end, { { { 9, 7 } } }, "exact" },
  { "to float32", function(a) return a:float() end, { { { 40 }, "nan" } }, "exact" },
  { "to float64", function(a) return a:double() end, { { { 40 }, "tiny" } }, "exact" },
  { "to int32", function(a) return (a * 100):int() end, { { { 40 } } }, "exact" },
  { "to int64", function(a) return (a * 100):long() end, { { { 40 } } }, "exact" },
  { "to uint8", function(a) return a:abs():byte() end, { { { 40 }, "big" } }, "exact" },
  { "to bool", function(a) return a:bool() end, { { { 40 }, "round" } }, "exact" },
  { "from float32", function(a) return (a:float() * 1.001):to(a.dtype) end, { { { 64 }, "big" } }, "exact" },
  { "from float64", function(a) return (a:double() / 3):to(a.dtype) end, { { { 64 } } }, "exact" },
  { "float16 <-> bfloat16", function(a)
    return a:to(a.dtype == "float16" and "bfloat16" or "float16") end, { { { 64 }, "nan" } }, "exact" },
  { "fill_", function(a) return a:clone():fill_(0.1) end, { { { 5, 3 } } }, "exact" },
  -- native elementwise (float32 math, one rounding)
  { "add", function(a, b) return a + b end, { { { 7, 5 } }, { { 7, 5 } } }, "exact" },
  { "add broadcast", function(a, b) return a + b end, { { { 7, 5 } }, { { 5 } } }, "exact" },
  { "add strided", function(a, b) return a + b end, { { { 6, 4 }, "t" }, { { 6, 4 } } }, "exact" },
  { "add scalar", function(a) return a + 0.1 end, { { { 33 } } }, "exact" },
  { "sub", function(a, b) return a - b end, { { { 9, 8 } }, { { 9, 8 } } }, "exact" },
  { "mul overflow", function(a, b) return a * b end, { { { 50 }, "big" }, { { 50 }, "big" } }, "exact" },
  { "mul subnormal", function(a, b) return a * b end, { { { 50 }, "tiny" }, { { 50 } } }, "exact" },
  { "div", function(a, b) return a / b end, { { { 6, 7 } }, { { 6, 7 }, "pos" } }, "exact" },
  { "maximum nan", dnn.maximum, { { { 40 }, "nan" }, { { 40 } } }, "exact" },
  { "minimum", dnn.minimum, { { { 40 } }, { { 40 } } }, "exact" },
  { "pow", function(a, b) return a ^ b end, { { { 30 }, "pos" }, { { 30 } } }, "ulp" },
  { "eq", function(a, b) return a:eq(b) end, { { { 40 }, "round" }, { { 40 }, "round" } }, "exact" },
  { "lt", function(a, b) return a:lt(b) end, { { { 40 }, "round" }, { { 40 }, "round" } }, "exact" },
  { "ge nan", function(a, b) return a:ge(b) end, { { { 40 }, "nan" }, { { 40 } } }, "exact" },
  { "neg", function(a) return -a end, { { { 40 }, "nan" } }, "exact" },
  { "abs", function(a) return a:abs() end, { { { 40 }, "nan" } }, "exact" },
  { "square", function(a) return a:square() end, { { { 40 }, "big" } }, "exact" },
  { "relu", function(a) return a:relu() end, { { { 40 }, "nan" } }, "exact" },
  { "floor", function(a) return (a * 10):floor() end, { { { 40 } } }, "exact" },
  { "round", function(a) return a:round() end, { { { 40 }, "round" } }, "exact" },
  { "isnan", function(a) return a:isnan() end, { { { 40 }, "nan" } }, "exact" },
  { "isinf", function(a) return a:isinf() end, { { { 40 }, "nan" } }, "exact" },
  { "add_ in place", function(a, b) local c = a:clone(); c:add_(b); return c end, { { { 12 } }, { { 12 } } }, "exact" },
  { "exp", function(a) return a:exp() end, { { { 64 } } }, "ulp" },
  { "log", function(a) return a:log() end, { { { 64 }, "pos" } }, "ulp" },
  { "sqrt", function(a) return a:sqrt() end, { { { 64 }, "pos" } }, "ulp" },
  { "rsqrt", function(a) return a:rsqrt() end, { { { 64 }, "pos" } }, "ulp" },
  { "tanh", function(a) return a:tanh() end, { { { 64 } } }, "ulp" },
  { "sigmoid", function(a) return a:sigmoid() end, { { { 64 } } }, "ulp" },
  { "sin", function(a) return a:sin() end, { { { 64 } } }, "ulp" },
  { "erf", function(a) return a:erf() end, { { { 64 } } }, "ulp" },
  { "reciprocal", function(a) return a:reciprocal() end, { { { 64 }, "pos" } }, "exact" },
  -- native matmul (cublasGemmEx, float32 accumulation)
  { "matmul half-integers", function(a, b) return a:matmul(b) end,
    { { { 17, 64 }, "round" }, { { 64, 9 }, "round" } }, "exact" },
  { "bmm half-integers", function(a, b) return dnn.bmm(a, b) end,
    { { { 3, 6, 10 }, "round" }, { { 3, 10, 4 }, "round" } }, "exact" },
  { "matmul", function(a, b) return a:matmul(b) end, { { { 17, 33 } }, { { 33, 9 } } }, "norm" },
  { "matmul transposed", function(a, b) return a:matmul(b) end, { { { 16, 24 }, "t" }, { { 24, 8 } } }, "norm" },
  { "matmul vector", function(a, b) return a:matmul(b) end, { { { 5, 40 } }, { { 40 } } }, "norm" },
  { "bmm", function(a, b) return dnn.bmm(a, b) end, { { { 3, 6, 10 } }, { { 3, 10, 4 } } }, "norm" },
  { "matmul broadcast batch", function(a, b) return a:matmul(b) end, { { { 2, 3, 5, 6 } }, { { 6, 4 } } }, "norm" },
  { "addmm", function(c, a, b) return dnn.addmm(c, a, b, { beta = 0.5, alpha = 2 }) end,
    { { { 8, 6 } }, { { 8, 12 } }, { { 12, 6 } } }, "norm" },
  { "matmul overflow", function(a, b) return a:matmul(b) end, { { { 4, 8 }, "bigpos" }, { { 8, 3 }, "bigpos" } }, "norm" },
  { "matmul empty K", function(a, b) return a:matmul(b) end, { { { 4, 0 } }, { { 0, 3 } } }, "exact" },
  { "addmm empty K", function(c, a, b) return dnn.addmm(c, a, b, { beta = 0.5 }) end,
    { { { 4, 3 } }, { { 4, 0 } }, { { 0, 3 } } }, "exact" },
  { "linear", function(x, w, b) return F.linear(x, w, b) end, { { { 8, 12 } }, { { 12, 5 } }, { { 5 } } }, "norm" },
  -- float32 fallbacks (core/backend.c) on either device
  { "sum half-integers", function(a) return a:sum(2) end, { { { 6, 50 }, "round" } }, "exact" },
  { "sum", function(a) return a:sum(2) end, { { { 6, 50 } } }, "norm" },
  { "mean", function(a) return a:mean() end, { { { 300 } } }, "norm" },
  { "max", function(a) return a:max(1) end, { { { 7, 5 } } }, "exact" },
  { "argmax", function(a) return a:argmax(2) end, { { { 7, 5 } } }, "exact" },
  { "cumsum half-integers", function(a) return a:cumsum(1) end, { { { 40 }, "round" } }, "exact" },
  { "softmax", function(a) return F.softmax(a) end, { { { 6, 10 } } }, "norm" },
  { "where", function(c, a, b) return dnn.where(c, a, b) end, { { { 20 }, "bool" }, { { 20 } }, { { 20 } } }, "exact" },
  { "clamp", function(a) return a:clamp(-0.5, 0.5) end, { { { 40 }, "nan" } }, "exact" },
  { "index_select", function(a, i) return a:index_select(1, i + 1) end, { { { 5, 4 } }, { { 6, 5 }, "index" } }, "exact" },
  { "sort", function(a) return (a:sort(1)) end, { { { 30 } } }, "exact" },
  { "cat", function(a, b) return dnn.cat({ a, b }, 2) end, { { { 4, 3 } }, { { 4, 2 } } }, "exact" },
}

-- ---------------------------------------------------------------- running

local function run(c, dt, device, index)
  dnn.manual_seed(500 + index)
  local xs = {}
  for i, spec in ipairs(c[3]) do
    local x = make(spec, dt)
    xs[i] = device == "cpu" and x or x:to(device)
  end
  return c[2](table.unpack(xs))
end

local function parity(index, c, dt, device)
  local want = run(c, dt, "cpu", index)
  local got = run(c, dt, device, index)
  return differs(got, want, c[4])
end

-- ---------------------------------------------------------------- specs

describe("half parity harness (CPU against CPU)", function()
  it("has native and fallback cases for both half types", function()
    assert.is_true(#cases >= 60, #cases .. " cases")
  end)

  it("tells one half ulp from two and NaN from a number", function()
    local b = dnn.tensor({ 1, 1000, 2 ^ -20 }):half()
    assert.is_nil(differs(b, b, "exact"))
    local one = dnn.tensor({ 1 + 2 ^ -10, 1000, 2 ^ -20 }):half()
    assert.is_nil(differs(one, b, "ulp"))
    assert.truthy(differs(one, b, "exact"))
    local two = dnn.tensor({ 1 + 2 ^ -9, 1000, 2 ^ -20 }):half()
    assert.truthy(differs(two, b, "ulp"))
    -- norm: two ulps of the largest element (1000: ulp 0.5), whatever the element
    assert.is_nil(differs(dnn.tensor({ 1, 1000, 0.9 }):half(), b, "norm"))
    assert.truthy(differs(dnn.tensor({ 2.5, 1000, 0 }):half(), b, "norm"))
    assert.truthy(differs(dnn.tensor({ 0 / 0, 1000, 2 ^ -20 }):half(), b, "ulp"))
    assert.truthy(differs(dnn.tensor({ -0.0 }):half(), dnn.tensor({ 0.0 }):half(), "exact"))
    local bf = dnn.tensor({ 3 }):bfloat16()
    assert.is_nil(differs(dnn.tensor({ 3 + 2 ^ -6 }):bfloat16(), bf, "ulp"))
    assert.truthy(differs(dnn.tensor({ 3 + 2 ^ -5 }):bfloat16(), bf, "ulp"))
    assert.truthy(differs(b:float(), b, "exact"))
  end)

  for _, dt in ipairs(HALVES) do
    for index, c in ipairs(cases) do
      it(dt .. " " .. c[1], function()
        local want = run(c, dt, "cpu", index)
        local out = want
        if out.dtype ~= "bool" and out.dtype ~= "int64" and out.dtype ~= "int32" and out.dtype ~= "uint8" then
          assert(out.dtype == dt or out.dtype == "float32" or out.dtype == "float64" or c[1]:find("bfloat16"),
            c[1] .. " gives " .. out.dtype)
        end
        assert.is_nil(parity(index, c, dt, "cpu"))
      end)
    end
  end
end)

describe("half dtypes on CUDA #gpu", function()
  local function need_gpu() return require("support.gpu").need(pending) end

  for _, dt in ipairs(HALVES) do
    it("float32 -> " .. dt .. " on the GPU rounds as the CPU and PyTorch (fixture) #gpu", function()
      if not need_gpu() then return end
      local C = FIX.conversions
      local src = dnn.tensor(C.input)
      local got = src:cuda():to(dt)
      assert.equal(dt, got.dtype)
      assert.is_nil(differs(got:cpu(), src:to(dt), "exact"))
      local want = dnn.tensor(C[dt]):to(dt)
      assert.is_nil(differs(got:cpu(), want, "exact"))
      -- storage moves bit for bit both ways
      assert.is_nil(differs(want:cuda():cpu(), want, "exact"))
      assert.is_nil(differs(want:cuda():float():cpu(), want:float(), "exact"))
    end)

    it(dt .. " factories and printing on the GPU #gpu", function()
      if not need_gpu() then return end
      local z = dnn.zeros({ 2, 3 }, { dtype = dt }):cuda()
      assert.equal(dt, z.dtype)
      assert.equal("cuda:0", z.device)
      local f = dnn.full({ 3 }, 0.1, { dtype = dt }):cuda()
      assert.is_nil(differs(f:cpu(), dnn.full({ 3 }, 0.1, { dtype = dt }), "exact"))
      assert.truthy(tostring(f):find(dt, 1, true))
      assert.equal(dnn.tensor({ 0.1 }):to(dt)[1], f:cpu()[1])
    end)
  end

  for _, dt in ipairs(HALVES) do
    for index, c in ipairs(cases) do
      it(dt .. " " .. c[1] .. " #gpu", function()
        if not need_gpu() then return end
        dnn.cuda.set_allow_tf32(false)
        local ok, msg = pcall(parity, index, c, dt, "cuda")
        assert.is_true(ok, c[1] .. " raised: " .. tostring(msg))
        assert.is_nil(msg, dt .. " " .. c[1] .. ": " .. tostring(msg))
      end)
    end
  end
end)
