-- matmul and friends against a plain Lua triple loop.
local dnn = require "dnn"
local check = require "support.check"

local function ref_mm(A, B)
  local C = {}
  for i = 1, #A do
    C[i] = {}
    for j = 1, #B[1] do
      local s = 0
      for k = 1, #B do s = s + A[i][k] * B[k][j] end
      C[i][j] = s
    end
  end
  return C
end

describe("matmul", function()
  for _, sz in ipairs({ { 4, 4, 4 }, { 3, 5, 2 }, { 64, 70, 33 }, { 1, 128, 1 } }) do
    local m, k, n = sz[1], sz[2], sz[3]
    it(("multiplies %dx%d by %dx%d in float32 and float64"):format(m, k, k, n), function()
      local A, B = check.random_table({ m, k }, m * 7 + k), check.random_table({ k, n }, n * 13 + k)
      local ref = ref_mm(A, B)
      check.close(dnn.matmul(dnn.tensor(A), dnn.tensor(B)), ref, 1e-5)
      check.close(dnn.tensor(A, { dtype = "float64" }):mm(dnn.tensor(B, { dtype = "float64" })), ref, 1e-12)
    end)
  end

  it("uses transposed operands without changing results", function()
    local A, B = check.random_table({ 40, 30 }, 1), check.random_table({ 20, 30 }, 2)
    local a, b = dnn.tensor(A, { dtype = "float64" }), dnn.tensor(B, { dtype = "float64" })
    local ref = ref_mm(A, b:t():totable())
    check.close(a:matmul(b:t()), ref, 1e-12)
    check.close(a:t():contiguous():t():matmul(b:t()), ref, 1e-12)
    check.close(a:matmul(b:t():contiguous()), ref, 1e-12)
  end)

  it("follows torch.matmul's shape rules", function()
    assert.are.same({}, dnn.matmul(dnn.ones(3), dnn.ones(3)):size())
    assert.equal(3, dnn.ones(3):dot(dnn.ones(3)):item())
    assert.are.same({ 2 }, dnn.matmul(dnn.ones(2, 3), dnn.ones(3)):size())
    assert.are.same({ 4 }, dnn.matmul(dnn.ones(3), dnn.ones(3, 4)):size())
    assert.are.same({ 5, 2, 4 }, dnn.matmul(dnn.ones(5, 2, 3), dnn.ones(3, 4)):size())
    assert.are.same({ 5, 2, 4 }, dnn.matmul(dnn.ones(2, 3), dnn.ones(5, 3, 4)):size())
    assert.are.same({ 6, 5, 2, 4 }, dnn.matmul(dnn.ones(6, 1, 2, 3), dnn.ones(5, 3, 4)):size())
    assert.are.same({ 5, 2, 4 }, dnn.bmm(dnn.ones(5, 2, 3), dnn.ones(5, 3, 4)):size())
    assert.are.same({ 3, 4 }, dnn.outer(dnn.ones(3), dnn.ones(4)):size())
    assert.are.same({ 2 }, dnn.mv(dnn.ones(2, 3), dnn.ones(3)):size())
  end)

  it("batched products match per-batch products", function()
    dnn.manual_seed(9)
    local a, b = dnn.randn(4, 3, 5, { dtype = "float64" }), dnn.randn(4, 5, 2, { dtype = "float64" })
    local c = a:bmm(b)
    for i = 1, 4 do check.close(c[i], a[i]:mm(b[i]), 1e-12) end
    local w = dnn.randn(5, 6, { dtype = "float64" })
    local d = a:matmul(w)
    for i = 1, 4 do check.close(d[i], a[i]:mm(w), 1e-12) end
  end)

  it("addmm computes beta * c + alpha * a @ b", function()
    local c = dnn.tensor { { 1.0, 2.0 } }
    local a, b = dnn.ones(3, 2), dnn.ones(2, 2)
    check.close(dnn.addmm(c, a, b, { beta = 2, alpha = 0.5 }), { { 3, 5 }, { 3, 5 }, { 3, 5 } }, 0)
  end)

  it("multiplies integer matrices exactly", function()
    local a = dnn.tensor { { 1, 2 }, { 3, 4 } }
    assert.are.same({ { 7, 10 }, { 15, 22 } }, a:matmul(a):totable())
  end)

  it("reports mismatched shapes and dtypes", function()
    check.fails_with(function() dnn.matmul(dnn.ones(2, 3), dnn.ones(4, 5)) end, "matmul", "[2,3]", "[4,5]", "3 != 4")
    check.fails_with(function() dnn.mm(dnn.ones(2, 3, 1), dnn.ones(3, 4)) end, "mm", "2-d")
    check.fails_with(function() dnn.bmm(dnn.ones(2, 2, 3), dnn.ones(3, 3, 4)) end, "bmm", "batch")
    check.fails_with(function() dnn.matmul(dnn.ones(2, 2), dnn.ones(2, 2, { dtype = "float64" })) end, "matmul", "float32", "float64")
    check.fails_with(function() dnn.matmul(dnn.tensor(1.0), dnn.ones(2)) end, "matmul", "at least 1 dim")
  end)
end)
