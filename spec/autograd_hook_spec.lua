-- dnn.autograd's gradient hooks: the engine says when each leaf's gradient
-- is final during dnn.grad / tape:gradient / t:backward(), while the earlier
-- layers' gradients are still being computed (what DDP uses to overlap its
-- allreduce with the backward pass).  Reference values: the gradients the
-- same pass returns, and sums written out by hand.
local dnn = require "dnn"
local A = dnn.autograd

local function same(a, b)
  assert.are.equal(tostring(a:size()), tostring(b:size()))
  assert.are.equal(0, (a - b):abs():max():item())
end

-- a 3-layer net on fixed inputs: weights w1, w2, w3 (w3 last)
local function net()
  dnn.manual_seed(7)
  local w = { dnn.randn(4, 5):requires_grad_(), dnn.randn(5, 3):requires_grad_(), dnn.randn(3, 1):requires_grad_() }
  local x = dnn.randn(6, 4)
  local function loss() return (x:matmul(w[1]):tanh():matmul(w[2]):relu():matmul(w[3]) ^ 2):mean() end
  return w, loss
end

describe("gradient hooks", function()
  local handles = {}
  local function add(spec)
    local h = A.add_grad_hook(spec)
    handles[#handles + 1] = h
    return h
  end
  after_each(function()
    for _, h in ipairs(handles) do h:remove() end
    handles = {}
    assert.are.equal(0, A.grad_hooks())
  end)

  it("hear of each input's final gradient in reverse layer order, between begin and finish", function()
    local w, loss = net()
    local events, seen = {}, {}
    local unused = dnn.randn(2):requires_grad_()
    add {
      begin = function(leaves, reachable)
        assert.are.equal(4, #leaves)
        same(leaves[2], w[2])
        assert.are.same({ true, true, true, false }, reachable)
        events[#events + 1] = "begin"
      end,
      ready = function(leaf, g, i)
        events[#events + 1] = "ready " .. i
        seen[i] = g:clone() -- the values at the moment it fired
        same(leaf, w[i])
      end,
      finish = function() events[#events + 1] = "finish" end,
    }
    local grads = dnn.grad(loss(), { w[1], w[2], w[3], unused }, { allow_unused = true })
    assert.are.same({ "begin", "ready 3", "ready 2", "ready 1", "finish" }, events)
    for i = 1, 3 do same(seen[i], grads[i]) end
    assert.is_nil(grads[4])
  end)

  it("wait for every use of a shared weight, then give the summed gradient", function()
    local w = dnn.tensor({ { 0.5, -1 }, { 2, 0.25 } }):requires_grad_()
    local x = dnn.tensor({ { 1, 2 } }, { dtype = "float32" })
    local fired, at_fire = 0, nil
    add { ready = function(_, g) fired = fired + 1; at_fire = g:clone() end }
    -- loss = sum(x w w): dL/dw = x^T (1 w^T) + (x w)^T 1 = x^T [w^T 1]^T + (x w)^T [1 1]
    local loss = x:matmul(w):matmul(w):sum()
    local g = dnn.grad(loss, w)
    assert.are.equal(1, fired)
    same(at_fire, g)
    -- by hand: x w = [4.5, -0.5]; ones(1,2) w^T = [-0.5, 2.25]
    local want = dnn.tensor({ { 1 * -0.5 + 4.5, 1 * 2.25 + 4.5 }, { 2 * -0.5 - 0.5, 2 * 2.25 - 0.5 } }, { dtype = "float32" })
    same(g, want)
  end)

  it("fire for non-leaf inputs and for inputs that are themselves outputs", function()
    local x = dnn.tensor({ 1, 2, 3 }, { dtype = "float32" }):requires_grad_()
    local h = x * 2
    local order = {}
    add { ready = function(_, g, i)
      local v = {}
      for k, e in ipairs(g:totable()) do v[k] = ("%g"):format(e) end
      order[#order + 1] = i .. "=" .. table.concat(v, ",")
    end }
    local gs = dnn.grad({ (h * h):sum(), x:sum() }, { h, x })
    -- d/dh = 2h = 4,8,12; d/dx = 2 * 2h + 1 = 9,17,25
    assert.are.same({ "1=4,8,12", "2=9,17,25" }, order)
    same(gs[2], dnn.tensor({ 9, 17, 25 }, { dtype = "float32" }))
  end)

  it("fire during t:backward() with the leaf's accumulated .grad", function()
    local w, loss = net()
    local want = dnn.grad(loss(), w)
    w[3].grad = dnn.ones(3, 1)
    local events = {}
    add {
      begin = function(leaves, reachable)
        events[#events + 1] = "begin " .. #leaves .. " " .. tostring(reachable[1])
      end,
      ready = function(leaf, g, i)
        local k = ({ [20] = 1, [15] = 2, [3] = 3 })[leaf:numel()]
        events[#events + 1] = "w" .. k
        same(g, leaf.grad)
      end,
    }
    loss():backward()
    assert.are.same({ "begin 3 true", "w3", "w2", "w1" }, events)
    same(w[3].grad, want[3] + 1)
    same(w[1].grad, want[1])
  end)

  it("fire through GradientTape:gradient, and on_leaf_grad_ready is the ready-only form", function()
    local w, loss = net()
    local n = 0
    handles[#handles + 1] = A.on_leaf_grad_ready(function(_, g) n = n + g:numel() end)
    local tape = dnn.GradientTape()
    local l = loss()
    local grads = tape:gradient(l, w)
    assert.are.equal(4 * 5 + 5 * 3 + 3, n)
    assert.are.equal(3, #grads)
  end)

  it("an error in a hook is the error of the pass, and the next pass runs", function()
    local w, loss = net()
    local h = add { ready = function(_, _, i) if i == 2 then error("hook fails at 2", 0) end end }
    assert.has_error(function() dnn.grad(loss(), w) end, "hook fails at 2")
    h:remove()
    local grads = dnn.grad(loss(), w)
    assert.are.equal(3, #grads)
    add { ready = function() dnn.grad(loss(), w) end }
    assert.has_error(function() dnn.grad(loss(), w) end, "grad: a gradient hook cannot run a backward pass")
  end)

  it("check their arguments and can be removed once", function()
    assert.has_error(function() A.add_grad_hook {} end,
      "add_grad_hook: give at least one of begin, ready, finish (functions)")
    assert.has_error(function() A.add_grad_hook { ready = 3 } end, "add_grad_hook: ready must be a function, got number")
    local h = A.on_leaf_grad_ready(function() end)
    assert.are.equal(1, A.grad_hooks())
    assert.is_true(h:remove())
    assert.is_false(h:remove())
    assert.has_error(function() h.remove({}) end, "remove: expected a gradient hook (what add_grad_hook returned)")
  end)
end)
