-- Keras layers: naming, building, weights, trainability, initializers,
-- regularizers, custom layers, and gradients flowing through them.
local dnn = require "dnn"
local check = require "support.check"
local L = dnn.layers

describe("layers", function()
  before_each(function() L.reset_names() end)

  it("name themselves uniquely per class, as Keras does", function()
    assert.equal("dense", L.Dense { 2 }.name)
    assert.equal("dense_1", L.Dense { 2 }.name)
    assert.equal("conv2d", L.Conv2D { 4, 3 }.name)
    assert.equal("batch_normalization", L.BatchNormalization().name)
    assert.equal("leaky_re_lu", L.LeakyReLU().name)
    assert.equal("max_pooling2d", L.MaxPooling2D().name)
    assert.equal("mine", L.Dense { 2, name = "mine" }.name)
  end)

  it("Dense builds on first call and computes x @ kernel + bias", function()
    dnn.manual_seed(1)
    local d = L.Dense { 3, activation = "relu" }
    assert.is_false(d.built)
    local x = dnn.randn(4, 5)
    local y = d(x)
    assert.is_true(d.built)
    assert.are.same({ 4, 3 }, y:size())
    assert.are.same({ 5, 3 }, d.kernel:size())
    check.close(y, (x:matmul(d.kernel) + d.bias):relu(), 1e-6)
    assert.equal(18, d:count_params())
    assert.equal(2, #d:trainable_weights())
    assert.equal(2, #d:get_weights())
  end)

  it("accepts both call spellings and Keras argument names", function()
    local a = L.Dense(8, { activation = "tanh", use_bias = false })
    local b = L.Dense { units = 8, activation = "tanh", use_bias = false }
    a(dnn.zeros(1, 2))
    b(dnn.zeros(1, 2))
    assert.equal(1, #a:weights())
    assert.equal(1, #b:weights())
  end)

  it("glorot_uniform and he_normal draw with Keras's scales", function()
    dnn.manual_seed(2)
    local w = dnn.initializers.get("glorot_uniform")({ 400, 600 })
    local limit = math.sqrt(6 / 1000)
    assert.is_true(w:max():item() <= limit and w:min():item() >= -limit)
    assert.is_true(math.abs(w:std():item() - limit / math.sqrt(3)) < 0.002)
    local h = dnn.initializers.HeNormal()({ 500, 400 })
    assert.is_true(math.abs(h:std():item() - math.sqrt(2 / 500)) < 0.003)
    assert.is_true(h:abs():max():item() <= 2 * math.sqrt(2 / 500) / 0.87962566103423978 + 1e-6)
    local c = dnn.initializers.get("zeros")({ 3 })
    assert.equal(0, c:abs():sum():item())
    local s1 = dnn.initializers.GlorotUniform { seed = 5 }({ 3, 3 })
    local s2 = dnn.initializers.GlorotUniform { seed = 5 }({ 3, 3 })
    assert.is_true(s1:equal(s2))
    check.fails_with(function() dnn.initializers.get("nope") end, "unknown initializer", "glorot_uniform")
  end)

  it("frozen layers get no gradients", function()
    local d = L.Dense { 2 }
    local x = dnn.randn(3, 4)
    d(x)
    d.trainable = false
    assert.equal(0, #d:trainable_weights())
    assert.equal(2, #d:non_trainable_weights())
    local y = d(x):sum()
    assert.is_false(y.requires_grad)
    d.trainable = true
    d(x):sum():backward()
    assert.are.same({ 4, 2 }, d.kernel.grad:size())
  end)

  it("set_weights and state_dict move weights between layers", function()
    local a, b = L.Dense { 3 }, L.Dense { 3 }
    a(dnn.ones(1, 2))
    b(dnn.ones(1, 2))
    b:set_weights(a:get_weights())
    assert.is_true(b.kernel:equal(a.kernel))
    local c = L.Dense { 3 }
    c(dnn.ones(1, 2))
    c:load_state_dict(a:state_dict())
    assert.is_true(c.bias:equal(a.bias))
    check.fails_with(function() b:set_weights({ dnn.zeros(2, 3) }) end, "set_weights", "1 weights", "2")
    check.fails_with(function() b:set_weights({ dnn.zeros(3, 3), dnn.zeros(3) }) end, "kernel", "[2, 3]")
  end)

  it("regularizers add penalties", function()
    local d = L.Dense { 2, kernel_regularizer = dnn.regularizers.L2 { 0.5 }, bias_regularizer = "l1" }
    d(dnn.ones(1, 3))
    local p = d:regularization_losses()
    assert.equal(2, #p)
    check.close(p[1], { (d.kernel:detach() ^ 2):sum():item() * 0.5 }, 1e-6)
  end)

  it("custom layers mix with built-ins", function()
    local Scale = L.Layer:extend("Scale")
    function Scale:init(opts)
      L.Layer.init(self, opts)
    end
    function Scale:build(input_shape)
      self.s = self:add_weight { name = "s", shape = { input_shape[#input_shape] }, initializer = "ones" }
    end
    function Scale:call(x) return x * self.s end
    L.register("Scale", Scale)
    local sc = Scale {}
    assert.equal("scale", sc.name)
    local d = L.Dense { 2 }
    local y = d(sc(dnn.ones(2, 3)))
    y:sum():backward()
    assert.are.same({ 3 }, sc.s.grad:size())
    assert.equal(Scale, L.get("Scale"))
    check.fails_with(function() L.get("Unknown") end, "unknown layer class", "register")
  end)

  it("BatchNormalization uses batch statistics in training and updates moving ones", function()
    local bn = L.BatchNormalization { momentum = 0.5 }
    local x = dnn.randn(64, 3) * 2 + 5
    local y = bn(x, { training = true })
    assert.is_true(y:mean(1):abs():max():item() < 1e-4)
    assert.is_true(bn.moving_mean:min():item() > 2)
    local yi = bn(x, { training = false })
    assert.is_false(yi:equal(y))
    assert.equal(2, #bn:trainable_weights())
    assert.equal(2, #bn:non_trainable_weights())
  end)

  it("Dropout only drops while training", function()
    local dr = L.Dropout { 0.5 }
    local x = dnn.ones(1000)
    assert.is_true(dr(x):equal(x))
    local y = dr(x, { training = true })
    local kept = y:gt(0):sum():item()
    assert.is_true(kept > 400 and kept < 600)
    assert.equal(2, y:max():item())
  end)

  it("shape layers, activations and merges", function()
    local x = dnn.randn(2, 3, 4)
    assert.are.same({ 2, 12 }, L.Flatten()(x):size())
    assert.are.same({ 2, 4, 3 }, L.Reshape { { 4, 3 } }(x):size())
    assert.are.same({ 2, 4, 3 }, L.Reshape { target_shape = { 4, -1 } }(x):size())
    check.close(L.Activation { "tanh" }(x), x:tanh(), 1e-6)
    check.close(L.ReLU()(x), x:relu(), 0)
    check.close(L.Softmax()(x):sum(-1), dnn.ones(2, 3), 1e-6)
    check.close(L.LeakyReLU { 0.1 }(x), dnn.where(x:gt(0), x, x * 0.1), 1e-6)
    assert.are.same({ 2, 3, 8 }, L.Concatenate()({ x, x }):size())
    check.close(L.Add()({ x, x, x }), x * 3, 1e-6)
    check.close(L.Multiply()({ x, x }), x * x, 1e-6)
    check.close(L.Lambda(function(t) return t * 2 end)(x), x * 2, 0)
    local e = L.Embedding { 10, 4 }
    assert.are.same({ 2, 5, 4 }, e(dnn.randint(0, 10, { 2, 5 })):size())
    assert.are.same({ 4, 3, 2 }, dnn.F.transpose(x):size())
    assert.are.same({ 3, 2, 4 }, dnn.F.transpose(x, { 2, 1, 3 }):size())
    assert.are.same({ 2, 3, 4 }, L.InputLayer { input_shape = { 3, 4 } }(x):size())
    assert.equal("KerasTensor", require("dnn.class").name(L.Input { shape = { 3, 4 } }))
    local ln = L.LayerNormalization()
    check.close(ln(x):mean(-1), dnn.zeros(2, 3), 1e-5)
  end)

  it("errors name the layer and the shapes", function()
    local d = L.Dense { 256, name = "dense_1" }
    d(dnn.zeros(64, 784))
    check.fails_with(function() d(dnn.zeros(64, 780)) end, "dense_1: input [64,780] does not match kernel [784,256]")
    check.fails_with(function() L.Dense { -1 } end, "Dense", "units")
    check.fails_with(function() L.Dense { 2, activation = "nope" } end, "unknown activation", "nope")
    check.fails_with(function() L.Dense { 2, unknown_arg = 1 } end, "Dense", "unknown argument 'unknown_arg'")
    check.fails_with(function() L.Dropout { 1.5 } end, "Dropout", "rate")
    check.fails_with(function() L.BatchNormalization { axis = 1 }(dnn.zeros(4, 3)) end, "batch axis", "1-based")
    check.fails_with(function() L.Concatenate()(dnn.zeros(2)) end, "list of tensors")
  end)
end)
