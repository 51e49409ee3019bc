-- The nn ops of dnn.F (activations, softmax, linear, batch/layer norm,
-- dropout, embedding, concat/flatten/reshape): forward and backward against
-- PyTorch fixtures (scripts/make_fixtures_nn.py) in float32, finite-difference
-- gradchecks in float64, dropout statistics, and misuse messages.
local dnn = require "dnn"
local check = require "support.check"
local F = dnn.F

local act_fx = require "fixtures.nn.activations"
local sm_fx = require "fixtures.nn.softmax"
local lin_fx = require "fixtures.nn.linear"
local bn_fx = require "fixtures.nn.batch_norm"
local ln_fx = require "fixtures.nn.layer_norm"
local emb_fx = require "fixtures.nn.embedding"

local TOL = 1e-5

local function f32(t, grad)
  local x = dnn.tensor(t, { dtype = "float32" })
  if grad then x.requires_grad = true end
  return x
end

local function leaf64(shape, seed, lo, hi)
  local t = dnn.tensor(check.random_table(shape, seed, lo, hi), { dtype = "float64" })
  t.requires_grad = true
  return t
end

-- y = fn(inputs...) and the gradients of sum(y * g) w.r.t. inputs.
local function fwd_bwd(fn, inputs, g)
  local y = fn(table.unpack(inputs))
  local grads = dnn.grad(y, inputs, { grad_outputs = { g } })
  return y, grads
end

describe("F activations", function()
  local names = { "relu", "leaky_relu", "elu", "selu", "gelu", "softplus", "swish", "tanh", "sigmoid",
    "hard_sigmoid", "softsign", "exponential" }
  local calls = {
    leaky_relu_01 = function(x) return F.leaky_relu(x, { negative_slope = 0.1 }) end,
    elu_05 = function(x) return F.elu{ x, alpha = 0.5 } end,
    gelu_tanh = function(x) return F.gelu(x, { approximate = true }) end,
  }
  for _, n in ipairs(names) do calls[n] = F[n] end

  for name, fn in pairs(calls) do
    it(name .. " matches PyTorch forward and backward", function()
      local x, g = f32(act_fx.x, true), f32(act_fx.g)
      local y, grads = fwd_bwd(fn, { x }, g)
      check.close(y, act_fx[name].y, TOL)
      check.close(grads[1], act_fx[name].dx, TOL)
    end)
  end

  it("F.silu is swish and F.relu agrees with dnn.relu", function()
    local x = f32(act_fx.x)
    check.close(F.silu(x), act_fx.swish.y, TOL)
    check.close(F.relu(x), dnn.relu(x), 0)
    assert.equal("relu", F.relu(f32(act_fx.x, true)).grad_fn)
  end)

  it("keeps the Keras defaults: leaky_relu alpha 0.3, elu alpha 1, hard_sigmoid clip(0.2x+0.5)", function()
    local x = dnn.tensor({ -2, -1, 0, 1, 3 }, { dtype = "float64" })
    check.close(F.leaky_relu(x), { -0.6, -0.3, 0, 1, 3 }, 1e-12)
    check.close(F.elu(x), { math.exp(-2) - 1, math.exp(-1) - 1, 0, 1, 3 }, 1e-12)
    check.close(F.hard_sigmoid(x), { 0.1, 0.3, 0.5, 0.7, 1 }, 1e-12)
    check.close(F.exponential(x), { math.exp(-2), math.exp(-1), 1, math.exp(1), math.exp(3) }, 1e-12)
  end)

  it("relu takes Keras's alpha, max_value and threshold", function()
    local x = dnn.tensor({ -2, 0.5, 1, 4, 8 }, { dtype = "float64" })
    check.close(F.relu(x, { max_value = 6 }), { 0, 0.5, 1, 4, 6 }, 1e-12)
    check.close(F.relu(x, { alpha = 0.5 }), { -1, 0.5, 1, 4, 8 }, 1e-12)
    check.close(F.relu(x, { threshold = 1, alpha = 0.5, max_value = 6 }), { -1.5, -0.25, 1, 4, 6 }, 1e-12)
    local t = leaf64({ 3, 4 }, 13, -3, 3)
    assert.is_true(dnn.testing.gradcheck(function(v) return F.relu(v, { threshold = 0.5, alpha = 0.2, max_value = 2 }) end,
      { t }))
  end)

  it("works on strided views and float64", function()
    local x = f32(act_fx.x):t()
    check.close(F.gelu(x):t(), act_fx.gelu.y, TOL)
    local xd = dnn.tensor(act_fx.x, { dtype = "float64" })
    check.close(F.softplus(xd), act_fx.softplus.y, 1e-6)
    assert.equal("float64", F.softplus(xd).dtype)
  end)

  it("softplus, sigmoid and softmax stay finite for large inputs", function()
    local x = dnn.tensor({ -1000, -50, 0, 50, 1000 }, { dtype = "float32" })
    check.close(F.softplus(x), { 0, 0, math.log(2), 50, 1000 }, 1e-6)
    check.close(F.sigmoid(x), { 0, 0, 0.5, 1, 1 }, 1e-6)
    check.close(F.softmax(dnn.tensor({ { 1000, 1000 } }, { dtype = "float32" })), { { 0.5, 0.5 } }, 1e-6)
    check.close(F.log_softmax(dnn.tensor({ { 1000, 0 } }, { dtype = "float32" })), { { 0, -1000 } }, 1e-6)
  end)

  for _, name in ipairs(names) do
    it(name .. " passes gradcheck in float64", function()
      local x = leaf64({ 3, 4 }, 11, -2, 2)
      assert.is_true(dnn.testing.gradcheck(F[name], { x }))
    end)
  end
  it("leaky_relu/elu with other alphas and gelu tanh pass gradcheck", function()
    local x = leaf64({ 2, 5 }, 12, -2, 2)
    assert.is_true(dnn.testing.gradcheck(function(t) return F.leaky_relu(t, { alpha = -0.2 }) end, { x }))
    assert.is_true(dnn.testing.gradcheck(function(t) return F.elu(t, { alpha = 0.7 }) end, { x }))
    assert.is_true(dnn.testing.gradcheck(function(t) return F.gelu(t, { approximate = true }) end, { x }))
  end)
end)

describe("F.softmax / F.log_softmax", function()
  for key, c in pairs(sm_fx) do
    it("match PyTorch (" .. key .. ", axis " .. c.axis .. ")", function()
      local x, g = f32(c.x, true), f32(c.g)
      local y, gr = fwd_bwd(function(t) return F.softmax(t, { axis = c.axis }) end, { x }, g)
      check.close(y, c.y, TOL)
      check.close(gr[1], c.dx, TOL)
      y, gr = fwd_bwd(function(t) return F.log_softmax{ t, axis = c.axis } end, { x }, g)
      check.close(y, c.log_y, TOL)
      check.close(gr[1], c.log_dx, TOL)
    end)
  end

  it("default to the last axis and pass gradcheck on every axis", function()
    local x = leaf64({ 2, 3, 4 }, 21, -3, 3)
    check.close(F.softmax(x):sum(-1), dnn.ones(2, 3), 1e-12)
    for _, axis in ipairs({ 1, 2, -1 }) do
      assert.is_true(dnn.testing.gradcheck(function(t) return F.softmax(t, { axis = axis }) end, { x }))
      assert.is_true(dnn.testing.gradcheck(function(t) return F.log_softmax(t, { axis = axis }) end, { x }))
    end
  end)
end)

describe("F.get_activation", function()
  it("maps Keras names to functions", function()
    local x = f32(act_fx.x)
    for _, n in ipairs({ "relu", "tanh", "sigmoid", "softmax", "gelu", "leaky_relu", "swish", "silu" }) do
      assert.is_function(F.get_activation(n))
    end
    check.close(F.get_activation("leaky_relu")(x), act_fx.leaky_relu.y, TOL)
    check.close(F.get_activation("softmax")(x), F.softmax(x), 0)
    assert.equal(x, F.get_activation("linear")(x))
    assert.equal(x, F.get_activation(nil)(x))
    local fn = function(t) return t * 2 end
    assert.equal(fn, F.get_activation(fn))
  end)
end)

describe("F.linear", function()
  for key, c in pairs(lin_fx) do
    for _, act in ipairs({ "none", "relu", "sigmoid", "gelu", "tanh" }) do
      it(("matches PyTorch (%s input, activation %s)"):format(key, act), function()
        local x, w, b, g = f32(c.x, true), f32(c.kernel, true), f32(c.bias, true), f32(c.g)
        local opts = act ~= "none" and { activation = act } or nil
        local y, gr = fwd_bwd(function(a, k, bb) return F.linear(a, k, bb, opts) end, { x, w, b }, g)
        local r = c[act]
        check.close(y, r.y, TOL)
        check.close(gr[1], r.dx, TOL)
        check.close(gr[2], r.dkernel, TOL)
        check.close(gr[3], r.dbias, TOL)
      end)
    end
  end

  it("takes the f{...} spelling, no bias, a transposed kernel view and 1-d input", function()
    local c = lin_fx.mat
    local x, w, b = f32(c.x), f32(c.kernel), f32(c.bias)
    check.close(F.linear{ x, w, b, activation = "relu" }, c.relu.y, TOL)
    check.close(F.linear(x, w, { activation = "tanh" }), F.tanh(x:matmul(w)), TOL)
    local wt = w:t():contiguous():t() -- same values, column-major strides
    check.close(F.linear(x, wt, b), c.none.y, TOL)
    local y1 = F.linear(x[1], w, b)
    assert.are.same({ 4 }, y1:size())
    check.close(y1, c.none.y[1], TOL)
    assert.equal("linear", F.linear(f32(c.x, true), w).grad_fn)
  end)

  it("applies named activations with the Keras defaults of F", function()
    local c = lin_fx.mat
    local x, w, b = f32(c.x), f32(c.kernel), f32(c.bias)
    local z = F.linear(x, w, b)
    for _, act in ipairs({ "leaky_relu", "elu", "selu", "softplus", "hard_sigmoid", "softsign", "swish", "silu",
      "exponential", "softmax", "log_softmax" }) do
      check.close(F.linear(x, w, b, { activation = act }), F.get_activation(act)(z), TOL)
    end
    local fn = function(t) return t * 3 end
    check.close(F.linear(x, w, b, { activation = fn }), z * 3, TOL)
  end)

  it("accumulates kernel gradients over calls and skips the data's gradient", function()
    local c = lin_fx.mat
    local x, w = f32(c.x), f32(c.kernel, true)
    F.linear(x, w):sum():backward()
    F.linear(x, w):sum():backward()
    check.close(w.grad, (x:t():matmul(dnn.ones(6, 4))) * 2, TOL)
    assert.is_nil(x.grad)
  end)

  it("agrees with matmul on the shapes its own GEMMs take (edges of tiles and chunks), 1 and 2 threads", function()
    dnn.manual_seed(11)
    local prev = dnn.get_num_threads()
    for _, threads in ipairs({ 1, 2 }) do
      dnn.set_num_threads(threads)
      for _, s in ipairs({ { 64, 784, 256 }, { 37, 50, 45 }, { 300, 33, 17 }, { 1, 200, 300 }, { 13, 1000, 5 },
        { 200, 64, 33 }, { 2100, 20, 16 } }) do
        local M, K, N = s[1], s[2], s[3]
        local x, w, b = dnn.randn(M, K), dnn.randn(K, N) * 0.1, dnn.randn(N)
        w.requires_grad, b.requires_grad = true, true
        local g = dnn.randn(M, N)
        local y = F.linear(x, w, b, { activation = "relu" })
        local gr = dnn.grad(y, { w, b }, { grad_outputs = { g } })
        local z = x:matmul(w:detach()) + b:detach()
        local ref = dnn.relu(z)
        local gz = g * z:gt(0):float()
        check.close(y, ref, TOL)
        check.close(gr[1], x:t():matmul(gz), TOL)
        check.close(gr[2], gz:sum(1), TOL)
        local y2 = F.linear(x, w, b, { activation = "sigmoid" })
        check.close(y2, F.sigmoid(z), TOL)
      end
    end
    dnn.set_num_threads(prev)
  end)

  it("passes gradcheck with every fusable activation", function()
    local x, w, b = leaf64({ 3, 4 }, 31, -1, 1), leaf64({ 4, 2 }, 32, -1, 1), leaf64({ 2 }, 33, -1, 1)
    for _, act in ipairs({ "linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus", "leaky_relu",
      "hard_sigmoid", "exponential", "gelu", "swish", "softsign", "softmax" }) do
      assert.is_true(dnn.testing.gradcheck(function(a, k, bb) return F.linear(a, k, bb, { activation = act }) end,
        { x, w, b }), act)
    end
    local x3 = leaf64({ 2, 2, 4 }, 34, -1, 1)
    assert.is_true(dnn.testing.gradcheck(function(a, k) return F.linear(a, k) end, { x3, w }))
  end)
end)

describe("F.batch_norm", function()
  local c = bn_fx.last
  local function stats(n, mean, var)
    return dnn.tensor(mean or dnn.zeros(n):totable(), { dtype = "float32" }),
      dnn.tensor(var or dnn.ones(n):totable(), { dtype = "float32" })
  end

  it("training matches PyTorch (channels-last 2-d)", function()
    local x, gm, bt, g = f32(c.x, true), f32(c.gamma, true), f32(c.beta, true), f32(c.g)
    local mm, mv = stats(3)
    local y, gr = fwd_bwd(function(a, gg, bb)
      return F.batch_norm(a, mm, mv, gg, bb, { training = true, epsilon = c.epsilon })
    end, { x, gm, bt }, g)
    check.close(y, c.train.y, TOL)
    check.close(gr[1], c.train.dx, TOL)
    check.close(gr[2], c.train.dgamma, TOL)
    check.close(gr[3], c.train.dbeta, TOL)
  end)

  it("updates the moving statistics as Keras (biased batch variance)", function()
    local m = bn_fx.moving
    local mm, mv = stats(3, m.mean0, m.var0)
    for _, s in ipairs(m.steps) do
      F.batch_norm{ f32(s), mm, mv, training = true, momentum = m.momentum }
    end
    check.close(mm, m.mean, TOL)
    check.close(mv, m.var, TOL)
    -- inference leaves them alone
    F.batch_norm(f32(m.steps[1]), mm, mv)
    check.close(mm, m.mean, TOL)
  end)

  it("inference uses the moving statistics (an affine map) and matches PyTorch", function()
    local m = bn_fx.moving
    local mm, mv = stats(3, m.mean, m.var)
    local x, gm, bt, g = f32(c.x, true), f32(c.gamma, true), f32(c.beta, true), f32(c.g)
    local y, gr = fwd_bwd(function(a, gg, bb)
      return F.batch_norm(a, mm, mv, gg, bb, { training = false, epsilon = c.epsilon })
    end, { x, gm, bt }, g)
    check.close(y, c.infer.y, TOL)
    check.close(gr[1], c.infer.dx, TOL)
    check.close(gr[2], c.infer.dgamma, TOL)
    check.close(gr[3], c.infer.dbeta, TOL)
  end)

  it("normalises NCHW with axis=2 and NHWC with the default axis", function()
    local n = bn_fx.nchw
    local x, gm, bt, g = f32(n.x, true), f32(c.gamma, true), f32(c.beta, true), f32(n.g)
    local mm, mv = stats(3)
    local y, gr = fwd_bwd(function(a, gg, bb)
      return F.batch_norm(a, mm, mv, gg, bb, { training = true, axis = 2, momentum = 0 })
    end, { x, gm, bt }, g)
    check.close(y, n.y, TOL)
    check.close(gr[1], n.dx, TOL)
    check.close(gr[2], n.dgamma, TOL)
    check.close(gr[3], n.dbeta, TOL)
    check.close(mm, n.batch_mean, TOL) -- momentum 0: the batch statistics themselves
    check.close(mv, n.batch_var, TOL)
    local h = bn_fx.nhwc
    x, g = f32(h.x, true), f32(h.g)
    mm, mv = stats(3)
    y, gr = fwd_bwd(function(a, gg, bb) return F.batch_norm(a, mm, mv, gg, bb, { training = true }) end,
      { x, gm, bt }, g)
    check.close(y, h.y, TOL)
    check.close(gr[1], h.dx, TOL)
    check.close(gr[2], h.dgamma, TOL)
    check.close(gr[3], h.dbeta, TOL)
  end)

  it("works without gamma and beta", function()
    local x = f32(c.x)
    local mm, mv = stats(3)
    local y = F.batch_norm(x, mm, mv, nil, nil, { training = true, epsilon = c.epsilon })
    local gm, bt = f32(c.gamma), f32(c.beta)
    check.close(y * gm + bt, c.train.y, TOL)
  end)

  it("passes gradcheck in training and inference, channels last and first", function()
    local x, gm, bt = leaf64({ 5, 3 }, 41, -2, 2), leaf64({ 3 }, 42, 0.5, 1.5), leaf64({ 3 }, 43, -1, 1)
    for _, training in ipairs({ true, false }) do
      assert.is_true(dnn.testing.gradcheck(function(a, gg, bb)
        local mm, mv = dnn.zeros(3, { dtype = "float64" }), dnn.ones(3, { dtype = "float64" }) * 1.5
        return F.batch_norm(a, mm, mv, gg, bb, { training = training })
      end, { x, gm, bt }))
    end
    local x4 = leaf64({ 3, 2, 2, 2 }, 44, -2, 2)
    local g2, b2 = leaf64({ 2 }, 45, 0.5, 1.5), leaf64({ 2 }, 46, -1, 1)
    assert.is_true(dnn.testing.gradcheck(function(a, gg, bb)
      local mm, mv = dnn.zeros(2, { dtype = "float64" }), dnn.ones(2, { dtype = "float64" })
      return F.batch_norm(a, mm, mv, gg, bb, { training = true, axis = 2 })
    end, { x4, g2, b2 }))
  end)
end)

describe("thread-count independence", function()
  local function run(threads, fn)
    local prev = dnn.get_num_threads()
    dnn.set_num_threads(threads)
    local ok, a, b, c = pcall(fn)
    dnn.set_num_threads(prev)
    assert(ok, a)
    return a, b, c
  end

  it("batch_norm, layer_norm and linear give bit-identical results on 1 and 2 threads", function()
    dnn.manual_seed(3)
    local x, g = dnn.randn(4096, 24) * 3 + 1, dnn.randn(4096, 24)
    local gm, bt, w = dnn.rand(24) + 0.5, dnn.randn(24), dnn.randn(24, 300)
    local function step()
      local xx, gg, bb, ww = x:clone(), gm:clone(), bt:clone(), w:clone()
      for _, t in ipairs({ xx, gg, bb, ww }) do t.requires_grad = true end
      local mm, mv = dnn.zeros(24), dnn.ones(24)
      local y = F.batch_norm(xx, mm, mv, gg, bb, { training = true })
      local l = F.layer_norm(y, gg, bb)
      local o = F.linear(l, ww, nil, { activation = "relu" })
      local grads = dnn.grad((o * o):sum() + (y * g):sum(), { xx, gg, bb, ww })
      return o, grads, mv
    end
    local o1, g1, mv1 = run(1, step)
    local o2, g2, mv2 = run(2, step)
    check.close(o1, o2, 0)
    check.close(mv1, mv2, 0)
    for i = 1, 4 do check.close(g1[i], g2[i], 0) end
  end)
end)

describe("F.layer_norm", function()
  for key, c in pairs(ln_fx) do
    it("matches PyTorch (" .. key .. ")", function()
      local axis = ({ last = -1, two = { 2, 3 }, middle = 2 })[key]
      local x, gm, bt, g = f32(c.x, true), f32(c.gamma, true), f32(c.beta, true), f32(c.g)
      local y, gr = fwd_bwd(function(a, gg, bb) return F.layer_norm(a, gg, bb, { axis = axis }) end, { x, gm, bt }, g)
      check.close(y, c.y, TOL)
      check.close(gr[1], c.dx, TOL)
      check.close(gr[2], c.dgamma, TOL)
      check.close(gr[3], c.dbeta, TOL)
      assert.are.same(gm:size(), gr[2]:size())
    end)
  end

  it("passes gradcheck over trailing, several and middle axes", function()
    local x = leaf64({ 2, 3, 4 }, 51, -2, 2)
    local cases = { { -1, { 4 } }, { { 2, 3 }, { 3, 4 } }, { 2, { 3 } }, { { 1, 3 }, { 2, 4 } } }
    for i, cs in ipairs(cases) do
      local gm, bt = leaf64(cs[2], 52 + i, 0.5, 1.5), leaf64(cs[2], 60 + i, -1, 1)
      assert.is_true(dnn.testing.gradcheck(function(a, gg, bb)
        return F.layer_norm{ a, gg, bb, axis = cs[1] }
      end, { x, gm, bt }))
    end
    assert.is_true(dnn.testing.gradcheck(function(a) return F.layer_norm(a, nil, nil) end, { x }))
  end)
end)

describe("F.dropout", function()
  it("repeats after dnn.manual_seed and draws a new mask each call", function()
    local x = dnn.ones(1000)
    dnn.manual_seed(7)
    local a, b = F.dropout(x, 0.5), F.dropout(x, 0.5)
    dnn.manual_seed(7)
    local a2 = F.dropout(x, 0.5)
    check.close(a, a2, 0)
    assert.is_true((a - b):abs():sum():item() > 0)
  end)

  it("repeats for a given seed whatever the global generator", function()
    local x = dnn.ones(500)
    dnn.manual_seed(1)
    local a = F.dropout(x, 0.3, { seed = 99 })
    dnn.manual_seed(2)
    local b = F.dropout{ x, 0.3, seed = 99 }
    check.close(a, b, 0)
    assert.is_true((a - F.dropout(x, 0.3, { seed = 100 })):abs():sum():item() > 0)
  end)

  it("drops about `rate` of the inputs and scales the rest by 1/(1-rate)", function()
    local n = 200000
    local x = dnn.ones(n)
    for _, rate in ipairs({ 0.1, 0.5, 0.8 }) do
      local y = F.dropout(x, rate)
      local dropped = y:eq(0):sum():item() / n
      assert.is_true(math.abs(dropped - rate) < 0.01, ("rate %g: dropped %g"):format(rate, dropped))
      local kept = y[y:ne(0)]
      check.close(kept:max(), 1 / (1 - rate), 1e-6)
      check.close(kept:min(), 1 / (1 - rate), 1e-6)
      assert.is_true(math.abs(y:mean():item() - 1) < 0.02)
    end
  end)

  it("gives the same mask on 1 and 2 threads", function()
    local x = dnn.ones(300000)
    local prev = dnn.get_num_threads()
    dnn.set_num_threads(1)
    local a = F.dropout(x, 0.4, { seed = 5 })
    dnn.set_num_threads(2)
    local b = F.dropout(x, 0.4, { seed = 5 })
    dnn.set_num_threads(prev)
    check.close(a, b, 0)
  end)

  it("returns the input unchanged when not training or at rate 0", function()
    local x = dnn.randn(10)
    check.close(F.dropout(x, 0.5, { training = false }), x, 0)
    check.close(F.dropout(x, 0), x, 0)
  end)

  it("backward uses the forward mask", function()
    local x = dnn.randn(2000) + 5
    x.requires_grad = true
    local y = F.dropout(x, 0.25)
    y:sum():backward()
    local expect = y:detach():ne(0):double():float() / 0.75
    check.close(x.grad, expect, 1e-6)
    assert.is_true(dnn.testing.gradcheck(function(t) return F.dropout(t, 0.5, { seed = 3 }) end,
      { leaf64({ 4, 5 }, 71) }))
  end)
end)

describe("F.embedding", function()
  it("matches PyTorch forward and backward (repeated ids add up)", function()
    local ids = dnn.tensor(emb_fx.ids)
    local w, g = f32(emb_fx.weight, true), f32(emb_fx.g)
    local y, gr = fwd_bwd(function(ww) return F.embedding(ids, ww) end, { w }, g)
    assert.are.same({ 2, 3, 4 }, y:size())
    check.close(y, emb_fx.y, TOL)
    check.close(gr[1], emb_fx.dweight, TOL)
  end)

  it("takes int32 and uint8 ids, and passes gradcheck", function()
    local w = f32(emb_fx.weight)
    check.close(F.embedding(dnn.tensor(emb_fx.ids, { dtype = "int32" }), w), emb_fx.y, 0)
    check.close(F.embedding{ dnn.tensor(emb_fx.ids, { dtype = "uint8" }), w }, emb_fx.y, 0)
    local ids = dnn.tensor({ 1, 0, 1, 2 })
    assert.is_true(dnn.testing.gradcheck(function(ww) return F.embedding(ids, ww) end, { leaf64({ 3, 2 }, 81) }))
  end)
end)

describe("F.concat, F.flatten, F.reshape", function()
  it("wrap the tensor ops with Keras's batch-axis conventions", function()
    local a, b = dnn.randn(2, 3), dnn.randn(2, 4)
    assert.are.same({ 2, 7 }, F.concat({ a, b }):size())
    assert.are.same({ 4, 3 }, F.concat({ a, dnn.randn(2, 3) }, { axis = 1 }):size())
    assert.are.same({ 2, 7 }, F.concat{ { a, b }, axis = -1 }:size())
    local x = dnn.randn(5, 2, 3, 4)
    assert.are.same({ 5, 24 }, F.flatten(x):size())
    assert.are.same({ 5, 1 }, F.flatten(dnn.randn(5)):size())
    assert.are.same({ 5, 6, 4 }, F.reshape(x, { 6, 4 }):size())
    assert.are.same({ 5, 3, 8 }, F.reshape(x, { 3, -1 }):size())
    check.close(F.flatten(x):view(-1), x:view(-1), 0)
  end)

  it("keep gradients", function()
    local x = leaf64({ 2, 3, 2 }, 91)
    assert.is_true(dnn.testing.gradcheck(function(t) return F.reshape(F.flatten(t), { 3, 2 }) end, { x }))
    local y = leaf64({ 2, 1, 2 }, 92)
    assert.is_true(dnn.testing.gradcheck(function(p, q) return F.concat({ p, q }, { axis = 2 }) end, { x, y }))
  end)
end)

describe("nn misuse", function()
  local x = dnn.randn(4, 5)
  local w = dnn.randn(5, 3)
  local mm, mv = dnn.zeros(5), dnn.ones(5)

  it("linear: shapes, dtypes, options and activations", function()
    check.fails_with(function() F.linear(x, dnn.randn(6, 3)) end, "linear: input [4,5] does not match kernel [6,3]")
    check.fails_with(function() F.linear(x, w, dnn.randn(4)) end, "linear: bias [4] does not match kernel [5,3]")
    check.fails_with(function() F.linear(dnn.tensor({ { 1, 2 } }), dnn.randn(2, 2)) end,
      "linear", "float32 or float64, got int64")
    check.fails_with(function() F.linear(x, w:double()) end, "linear: the kernel is float64 but the input is float32")
    check.fails_with(function() F.linear(x, w, nil, { activation = "relux" }) end,
      "unknown activation 'relux'", "relu")
    check.fails_with(function() F.linear(x, w, nil, { activaton = "relu" }) end,
      "linear: unknown option 'activaton' (known: activation)")
    check.fails_with(function() F.linear(nil, w) end, "linear: the input must be a tensor, got nil")
    check.fails_with(function() F.linear(x, dnn.randn(5)) end, "linear: the kernel must be 2-d (in, out), got [5]")
  end)

  it("activations and softmax", function()
    check.fails_with(function() F.elu(dnn.tensor({ 1, 2 })) end, "elu: the input must be float32 or float64, got int64")
    check.fails_with(function() F.leaky_relu(x, { alpah = 0.1 }) end, "leaky_relu: unknown option 'alpah'",
      "alpha, negative_slope")
    check.fails_with(function() F.softmax(x, { axis = 3 }) end, "softmax: dim 3 out of range for a 2-d tensor")
    check.fails_with(function() F.log_softmax(x, { axis = 0 }) end, "log_softmax: dim 0 is not valid", "1-based")
    check.fails_with(function() F.get_activation("foo") end, "get_activation: unknown activation 'foo'",
      "leaky_relu", "softmax")
    check.fails_with(function() F.relu("x") end, "relu: the input must be a tensor, got string")
    check.fails_with(function() F.tanh(x, 3) end, "tanh: options must be a table, got number")
  end)

  it("batch_norm", function()
    local x8 = dnn.randn(8, 5)
    check.fails_with(function() F.batch_norm(x8, mm, mv, nil, nil, { axis = 1 }) end,
      "batch_norm: axis 1 is the batch axis of input [8,5]", "1-based")
    check.fails_with(function() F.batch_norm(x8, dnn.zeros(4), mv) end,
      "batch_norm: moving_mean [4] does not match the 5 features of input [8,5] on axis 2")
    check.fails_with(function() F.batch_norm(dnn.randn(5), mm, mv) end, "batch_norm: input [5] needs a batch axis")
    check.fails_with(function() F.batch_norm(x8, mm, mv, dnn.ones(5):double()) end,
      "batch_norm: gamma is float64 but the input is float32")
    check.fails_with(function() F.batch_norm(x8, mm, mv, { trainig = true }) end, "unknown option 'trainig'")
    check.fails_with(function() F.batch_norm(x8, nil, mv) end, "batch_norm: moving_mean must be a tensor, got nil")
    check.fails_with(function() F.batch_norm(x8, mm, mv, nil, nil, { momentum = 2 }) end,
      "batch_norm: momentum must be in [0, 1], got 2")
  end)

  it("layer_norm", function()
    check.fails_with(function() F.layer_norm(x, dnn.ones(4)) end,
      "layer_norm: gamma [4] does not match the normalised axes' shape [5]")
    check.fails_with(function() F.layer_norm(dnn.randn(2, 3, 4), nil, nil, { axis = { 2, -2 } }) end,
      "layer_norm: axis 2 is given twice")
    check.fails_with(function() F.layer_norm(x, nil, nil, { axis = 3 }) end, "layer_norm: dim 3 out of range")
  end)

  it("dropout", function()
    check.fails_with(function() F.dropout(x, 1) end, "dropout: rate must be in [0, 1), got 1")
    check.fails_with(function() F.dropout(x, -0.1) end, "dropout: rate must be in [0, 1), got -0.1")
    check.fails_with(function() F.dropout(x) end, "dropout: give the rate")
    check.fails_with(function() F.dropout(x, 0.5, { seed = 1.5 }) end, "dropout: seed must be an integer")
    check.fails_with(function() F.dropout(dnn.tensor({ 1, 2 }), 0.5) end, "dropout: the input must be float32")
  end)

  it("embedding", function()
    local wt = dnn.randn(5, 2)
    check.fails_with(function() F.embedding(dnn.tensor({ 1, 7 }), wt) end,
      "embedding: id 7 (at flat position 2) is out of range for a vocabulary of 5 (ids are 0-based: 0..4)")
    check.fails_with(function() F.embedding(dnn.tensor({ -1 }), wt) end, "embedding: id -1")
    check.fails_with(function() F.embedding(dnn.tensor({ 1.0 }), wt) end,
      "embedding: ids must be an integer tensor", "got float32")
    check.fails_with(function() F.embedding(dnn.tensor({ 1 }), dnn.randn(5)) end,
      "embedding: the weight must be 2-d (vocab, dim), got [5]")
  end)

  it("concat, flatten and reshape", function()
    check.fails_with(function() F.reshape(x, 3) end, "reshape: target_shape must be a list of sizes")
    check.fails_with(function() F.concat(x) end, "concat: expected a list of tensors, got a tensor")
    check.fails_with(function() F.flatten(dnn.tensor(1.0)) end, "flatten: the input needs a batch axis")
    check.fails_with(function() F.reshape(x, { 3 }) end, "reshape")
  end)
end)
