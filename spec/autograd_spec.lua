-- Reverse-mode autograd: the tape, accumulation, grad modes, and a
-- finite-difference gradcheck of every differentiable tensor op.
local dnn = require "dnn"
local check = require "support.check"

local function leaf(shape, seed, lo, hi)
  local t = dnn.tensor(check.random_table(shape, seed, lo, hi), { dtype = "float64" })
  t.requires_grad = true
  return t
end

describe("autograd basics", function()
  it("backward accumulates into .grad", function()
    local x = leaf({ 3 }, 1)
    local y = (x * x):sum()
    y:backward()
    check.close(x.grad, (x:detach() * 2), 1e-12)
    local y2 = (x * 3):sum()
    y2:backward()
    check.close(x.grad, (x:detach() * 2 + 3), 1e-12)
    assert.equal("sum", y.grad_fn)
    assert.is_true(x.is_leaf)
    assert.is_false(y.is_leaf)
  end)

  it("reduces gradients of broadcast operands to their shapes", function()
    local a, b = leaf({ 2, 3 }, 2), leaf({ 3 }, 3)
    ;(a * b):sum():backward()
    assert.are.same({ 3 }, b.grad:size())
    check.close(b.grad, a:detach():sum(1), 1e-12)
    check.close(a.grad, b:detach():expand(2, 3), 1e-12)
  end)

  it("dnn.grad returns gradients without touching .grad", function()
    local x, w = leaf({ 4 }, 4), leaf({ 4 }, 5)
    local loss = (x * w):sum()
    local g = dnn.grad(loss, { x, w })
    check.close(g[1], w:detach(), 1e-12)
    check.close(g[2], x:detach(), 1e-12)
    assert.is_nil(x.grad)
    local gx = dnn.grad((x:exp()):sum(), x)
    check.close(gx, x:detach():exp(), 1e-12)
  end)

  it("gives gradients with respect to intermediate tensors", function()
    local x = leaf({ 3 }, 6)
    local h = x * 2
    local loss = (h * h):sum()
    local g = dnn.grad(loss, { h, x })
    check.close(g[1], h:detach() * 2, 1e-12)
    check.close(g[2], h:detach() * 4, 1e-12)
  end)

  it("GradientTape works as in the Keras seed", function()
    local w = leaf({ 3, 2 }, 7)
    local b = dnn.zeros(2, { dtype = "float64" })
    local tape = dnn.GradientTape()
    tape:watch(b)
    local x = dnn.tensor({ { 1, 2, 3 } }, { dtype = "float64" })
    local loss = ((x:matmul(w) + b) ^ 2):mean()
    local grads = tape:gradient(loss, { w, b })
    assert.are.same({ 3, 2 }, grads[1]:size())
    assert.are.same({ 2 }, grads[2]:size())
    local unused = leaf({ 2 }, 8)
    local g2 = dnn.GradientTape{ persistent = true }:gradient((w * 2):sum(), { w, unused })
    assert.is_nil(g2[2])
  end)

  it("no_grad and detach stop recording", function()
    local x = leaf({ 2 }, 9)
    assert.is_false(dnn.no_grad(function() return x * 2 end).requires_grad)
    do
      local _ <close> = dnn.no_grad()
      assert.is_false((x + 1).requires_grad)
      assert.is_false(dnn.is_grad_enabled())
    end
    assert.is_true(dnn.is_grad_enabled())
    assert.is_true((x + 1).requires_grad)
    assert.is_false(x:detach().requires_grad)
    assert.is_nil((x:detach() * 2).grad_fn)
  end)

  it("frees the graph after backward", function()
    local x = leaf({ 100, 100 }, 10)
    collectgarbage()
    local before = dnn.memory_stats().live_tensors
    do
      local y = ((x * 2):exp() + 1):log():sum()
      y:backward()
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(dnn.memory_stats().live_tensors <= before + 1) -- x.grad
  end)

  it("reports misuse clearly", function()
    local x = leaf({ 3 }, 11)
    local y = (x * 2):sum()
    y:backward()
    check.fails_with(function() y:backward() end, "second time", "retain_graph")
    local z = (x * 2):sum()
    z:backward { retain_graph = true }
    z:backward() -- allowed once more
    check.fails_with(function() (x * 2):backward() end, "one-element", "[3]")
    check.fails_with(function() dnn.tensor { 1, 2 }:requires_grad_() end, "floating point", "int64")
    check.fails_with(function() x:add_(1) end, "in-place", "requires grad")
    check.fails_with(function() dnn.tensor { 1.0 }:sum():backward() end, "does not require grad")
    local a = dnn.tensor({ 1.0, 2.0 }, { dtype = "float64" })
    local w = leaf({ 2 }, 12)
    local p = (a * w):sum()
    a:mul_(2) -- a was saved by mul
    check.fails_with(function() p:backward() end, "modified by an in-place operation")
    check.fails_with(function() (x * 2).requires_grad = false end, "leaf")
    check.fails_with(function() dnn.grad((x * 2):sum(), leaf({ 2 }, 13)) end, "not used")
  end)

  it("in-place updates of parameters work under no_grad", function()
    local w = leaf({ 3 }, 14)
    ;(w * w):sum():backward()
    dnn.no_grad(function() w:sub_(w.grad * 0.1) end)
    w.grad:zero_()
    assert.equal(0, w.grad:abs():sum():item())
    w.grad = nil
    assert.is_nil(w.grad)
  end)
end)

describe("gradcheck of every op", function()
  local gc = dnn.testing.gradcheck
  local A, B = leaf({ 2, 3 }, 21, 0.5, 1.5), leaf({ 2, 3 }, 22, 0.5, 1.5)
  local R = leaf({ 3 }, 23, 0.5, 1.5)
  local binaries = { "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "fmod", "remainder" }
  for _, op in ipairs(binaries) do
    it(op .. " (same shape and broadcast)", function()
      assert.is_true(gc(function(a, b) return dnn[op](a, b) end, { A, B }))
      assert.is_true(gc(function(a, r) return dnn[op](a, r) end, { A, R }))
    end)
  end

  it("operators with scalars on both sides", function()
    assert.is_true(gc(function(a)
      return ((a + 1) * 2 - 3) / 4 + (2 - a) + 3 / a + a ^ 2 + 2 ^ a + a:maximum(0.9) + a:fmod(0.7) + a % 0.6 + (-a)
    end, { A }))
  end)

  local unaries = { "neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "reciprocal", "square", "erf", "log2", "log10", "atan", "sinh", "cosh" }
  for _, op in ipairs(unaries) do
    it(op, function() assert.is_true(gc(function(a) return a[op](a) end, { A })) end)
  end
  it("asin and acos inside (-1, 1)", function()
    local s = leaf({ 4 }, 24, -0.8, 0.8)
    assert.is_true(gc(function(a) return a:asin() + a:acos() end, { s }))
  end)

  it("clamp and where", function()
    local x = leaf({ 6 }, 25, -2, 2)
    assert.is_true(gc(function(a) return a:clamp(-1, 1) end, { x }))
    assert.is_true(gc(function(a) return a:clamp { min = 0 } end, { x }))
    local cond = dnn.tensor { true, false, true, true, false, false }
    local y = leaf({ 6 }, 26)
    assert.is_true(gc(function(a, b) return dnn.where(cond, a, b) end, { x, y }))
  end)

  it("reductions", function()
    local x = leaf({ 3, 4 }, 27, 0.5, 1.5)
    assert.is_true(gc(function(a) return a:sum() end, { x }))
    assert.is_true(gc(function(a) return a:sum(2) end, { x }))
    assert.is_true(gc(function(a) return a:sum(1, true) end, { x }))
    assert.is_true(gc(function(a) return a:mean({ 1, 2 }) end, { x }))
    assert.is_true(gc(function(a) return a:prod(2) end, { x }))
    assert.is_true(gc(function(a) return a:max() end, { x }))
    assert.is_true(gc(function(a) return (a:max(2)) end, { x }))
    assert.is_true(gc(function(a) return (a:min(1, true)) end, { x }))
    assert.is_true(gc(function(a) return a:amax({ 1, 2 }) end, { x }))
    assert.is_true(gc(function(a) return a:var(2) end, { x }))
    assert.is_true(gc(function(a) return a:std() end, { x }))
    assert.is_true(gc(function(a) return a:logsumexp(2) end, { x }))
    assert.is_true(gc(function(a) return a:cumsum(2) end, { x }))
    assert.is_true(gc(function(a) return a:cumprod(1) end, { x }))
  end)

  it("matrix products in every shape", function()
    local m, n = leaf({ 2, 3 }, 28), leaf({ 3, 4 }, 29)
    local v3, v4 = leaf({ 3 }, 30), leaf({ 4 }, 31)
    local b1, b2 = leaf({ 2, 2, 3 }, 32), leaf({ 2, 3, 4 }, 33)
    assert.is_true(gc(function(a, b) return a:matmul(b) end, { m, n }))
    assert.is_true(gc(function(a, b) return a:mm(b) end, { m, n }))
    assert.is_true(gc(function(a, b) return a:matmul(b) end, { m, v3 }))
    assert.is_true(gc(function(a, b) return a:matmul(b) end, { v3, n }))
    assert.is_true(gc(function(a, b) return a:dot(b) end, { v3, leaf({ 3 }, 34) }))
    assert.is_true(gc(function(a, b) return a:bmm(b) end, { b1, b2 }))
    assert.is_true(gc(function(a, b) return a:matmul(b) end, { b1, n }))
    assert.is_true(gc(function(a, b) return a:matmul(b) end, { m, b2 }))
    assert.is_true(gc(function(a, b) return a:matmul(b) end, { b1, v3 }))
    assert.is_true(gc(function(a, b) return a:outer(b) end, { v3, v4 }))
    local c = leaf({ 4 }, 35)
    assert.is_true(gc(function(cc, a, b) return dnn.addmm(cc, a, b, { beta = 0.5, alpha = 2 }) end, { c, m, n }))
  end)

  it("views and copies", function()
    local x = leaf({ 2, 3, 4 }, 36)
    assert.is_true(gc(function(a) return a:view(6, 4) end, { x }))
    assert.is_true(gc(function(a) return a:reshape(4, -1) end, { x }))
    assert.is_true(gc(function(a) return a:permute(3, 1, 2) * dnn.arange(24):view(4, 2, 3) end, { x }))
    assert.is_true(gc(function(a) return a:transpose(1, 3):contiguous() * 2 end, { x }))
    assert.is_true(gc(function(a) return a:narrow(3, 2, 2) end, { x }))
    assert.is_true(gc(function(a) return a:select(2, -1) end, { x }))
    assert.is_true(gc(function(a) return a[2] end, { x }))
    assert.is_true(gc(function(a) return a[{ {}, { 1, 3, 2 }, 2 }] end, { x }))
    assert.is_true(gc(function(a) return a:unsqueeze(2):squeeze(2) end, { x }))
    assert.is_true(gc(function(a) return a:select(1, 1):unsqueeze(1):expand(3, 3, 4) end, { x }))
    assert.is_true(gc(function(a) return a:flip { 1, 3 } * dnn.arange(24):view(2, 3, 4) end, { x }))
    assert.is_true(gc(function(a) return a:clone():flatten() end, { x }))
    assert.is_true(gc(function(a) return a.T * 3 end, { leaf({ 2, 3 }, 37) }))
    assert.is_true(gc(function(a) return a:float():double() * 2 end, { x }, { eps = 1e-2, atol = 1e-3 }))
  end)

  it("indexing and joining", function()
    local x = leaf({ 3, 4 }, 38)
    local idx = dnn.tensor { { 1, 3 }, { 2, 2 }, { 4, 1 } }
    assert.is_true(gc(function(a) return a:gather(2, idx) end, { x }))
    assert.is_true(gc(function(a) return a:index_select(1, dnn.tensor { 3, 1, 3 }) end, { x }))
    assert.is_true(gc(function(a) return a[dnn.tensor { 2, 2 }] end, { x }))
    local mask = dnn.tensor { { true, false, true, false }, { false, false, true, true }, { true, true, false, false } }
    assert.is_true(gc(function(a) return a:masked_fill(mask, 0) end, { x }))
    assert.is_true(gc(function(a) return a:masked_select(mask) end, { x }))
    assert.is_true(gc(function(a) return a[mask] end, { x }))
    local src = leaf({ 3, 2 }, 39)
    local sidx = dnn.tensor { { 1, 2 }, { 3, 4 }, { 2, 1 } }
    assert.is_true(gc(function(a, s) return a:scatter(2, sidx, s) end, { x, src }))
    assert.is_true(gc(function(a, s) return a:scatter_add(2, sidx, s) end, { x, src }))
    local y = leaf({ 3, 2 }, 40)
    assert.is_true(gc(function(a, b) return dnn.cat({ a, b }, 2) end, { x, y }))
    assert.is_true(gc(function(a, b) return dnn.stack({ a, b * 2 }, 1) end, { x, leaf({ 3, 4 }, 41) }))
    assert.is_true(gc(function(a)
      local parts = a:split(2, 2)
      return parts[1] * 2 + parts[2] * 3
    end, { x }))
    assert.is_true(gc(function(a)
      local c = a:chunk(3, 1)
      return c[1] - c[3]
    end, { x }))
  end)

  it("a small network end to end", function()
    local xin = dnn.tensor(check.random_table({ 5, 4 }, 42), { dtype = "float64" })
    local w1, b1 = leaf({ 4, 6 }, 43), leaf({ 6 }, 44)
    local w2, b2 = leaf({ 6, 3 }, 45), leaf({ 3 }, 46)
    assert.is_true(gc(function(p, q, r, s)
      local h = (xin:matmul(p) + q):tanh()
      local logits = h:matmul(r) + s
      return (logits - logits:logsumexp(2, true)):mean()
    end, { w1, b1, w2, b2 }))
  end)
end)
