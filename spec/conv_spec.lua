-- Convolution and pooling (dnn.F): forward and backward against PyTorch
-- fixtures (scripts/make_fixtures_conv.py) and plain-Lua loops, float64
-- gradchecks of every op, thread-count independence, and misuse messages.
local dnn = require "dnn"
local check = require "support.check"
local F = dnn.F

local conv_fx = require "fixtures.conv.conv2d"
local pool_fx = require "fixtures.conv.pool2d"

local function T(v, dtype) return dnn.tensor(v, { dtype = dtype or "float32" }) end
local function leaf(v, dtype)
  local t = T(v, dtype)
  t.requires_grad = true
  return t
end

describe("conv2d against PyTorch", function()
  for _, c in ipairs(conv_fx) do
    it(c.name, function()
      local x, k = leaf(c.x), leaf(c.kernel)
      local b = c.bias and leaf(c.bias) or nil
      local y = F.conv2d(x, k, b, c.opts)
      check.close(y, c.y, 1e-5)
      y:backward(T(c.gy))
      check.close(x.grad, c.dx, 1e-5)
      check.close(k.grad, c.dkernel, 1e-5)
      if b then check.close(b.grad, c.dbias, 1e-5) end
    end)
  end

  it("takes its arguments in one table too", function()
    local c = conv_fx[2]
    local opts = { T(c.x), T(c.kernel), T(c.bias) }
    for key, v in pairs(c.opts) do opts[key] = v end
    check.close(F.conv2d(opts), c.y, 1e-5)
    local c1 = conv_fx[6] -- no bias: options as the third argument
    check.close(F.conv2d(T(c1.x), T(c1.kernel), c1.opts), c1.y, 1e-5)
  end)
end)

local function run_pool(c, x)
  if c.op == "pyramid_pooling" then return F.pyramid_pooling(x, c.opts) end
  if c.output_size then return F[c.op](x, c.output_size, c.opts) end
  return F[c.op](x, c.opts)
end

describe("pooling against PyTorch", function()
  for _, c in ipairs(pool_fx) do
    it(c.name, function()
      local x = leaf(c.x)
      local y = run_pool(c, x)
      check.close(y, c.y, 1e-5)
      y:backward(T(c.gy))
      check.close(x.grad, c.dx, 1e-5)
    end)
  end

  it("spells the options table either way", function()
    local c = pool_fx[2]
    local o = { T(c.x) }
    for key, v in pairs(c.opts) do o[key] = v end
    check.close(F.max_pool2d(o), c.y, 1e-5)
    assert.are.same({ 2, 3, 3, 3 }, F.max_pool2d{ dnn.zeros(2, 6, 6, 3) }:size())
    assert.are.same({ 2, 3, 3, 3 }, F.adaptive_avg_pool2d{ dnn.zeros(2, 6, 6, 3), 3 }:size())
    assert.are.same({ 2, 1, 1, 3 }, F.global_avg_pool2d{ dnn.zeros(2, 6, 6, 3), keepdims = true }:size())
  end)

  it("pyramid_pooling has C * (4^levels - 1) / 3 features and accepts grid lists", function()
    local x = dnn.rand(2, 8, 8, 3)
    assert.are.same({ 2, 3 * 21 }, F.pyramid_pooling(x, { levels = 3 }):size())
    assert.are.same({ 2, 3 }, F.pyramid_pooling(x):size())
    local y = F.pyramid_pooling(x, { levels = { 1, 3 }, pooling = "avg" })
    assert.are.same({ 2, 3 * 10 }, y:size())
    check.close(y[{ {}, { 1, 3 } }], F.global_avg_pool2d(x), 1e-6)
    -- a 3x3 grid on 8 pixels: stride 2, window 8 - 2*2 = 4
    check.close(y[{ {}, { 4, 30 } }], F.avg_pool2d(x, { pool_size = 4, strides = 2 }):reshape(2, -1), 1e-6)
  end)
end)

-- Plain-Lua reference (float64 sums) for shapes too large for fixtures:
-- several row blocks and kernel-gradient segments, both GEMM paths.
local function ref_conv(x, k, b, gy, o)
  local N, H, W, C = #x, #x[1], #x[1][1], #x[1][1][1]
  local KH, KW, CG, CO = #k, #k[1], #k[1][1], #k[1][1][1]
  local s, d, groups = o.strides or 1, o.dilation_rate or 1, o.groups or 1
  local OG = CO // groups
  local pt, pl, OH, OW = 0, 0, 0, 0
  if o.padding == "same" then
    OH, OW = (H + s - 1) // s, (W + s - 1) // s
    pt = math.max((OH - 1) * s + (KH - 1) * d + 1 - H, 0) // 2
    pl = math.max((OW - 1) * s + (KW - 1) * d + 1 - W, 0) // 2
  else
    OH, OW = (H - (KH - 1) * d - 1) // s + 1, (W - (KW - 1) * d - 1) // s + 1
  end
  local function zeros4(a, b2, c2, d2)
    local t = {}
    for i = 1, a do
      t[i] = {}
      for j = 1, b2 do
        t[i][j] = {}
        for l = 1, c2 do
          local r = {}
          for m = 1, d2 do r[m] = 0 end
          t[i][j][l] = r
        end
      end
    end
    return t
  end
  local y, dx, dk, db = zeros4(N, OH, OW, CO), zeros4(N, H, W, C), zeros4(KH, KW, CG, CO), {}
  for co = 1, CO do db[co] = 0 end
  for n = 1, N do
    for oh = 1, OH do
      for ow = 1, OW do
        local yr, gr = y[n][oh][ow], gy[n][oh][ow]
        for co = 1, CO do
          local grp = (co - 1) // OG
          local acc, g = b and b[co] or 0, gr[co]
          db[co] = db[co] + g
          for i = 1, KH do
            local ih = (oh - 1) * s - pt + (i - 1) * d + 1
            if ih >= 1 and ih <= H then
              for j = 1, KW do
                local iw = (ow - 1) * s - pl + (j - 1) * d + 1
                if iw >= 1 and iw <= W then
                  local xp, dxp, kr, dkr = x[n][ih][iw], dx[n][ih][iw], k[i][j], dk[i][j]
                  for ci = 1, CG do
                    local c = grp * CG + ci
                    acc = acc + xp[c] * kr[ci][co]
                    dxp[c] = dxp[c] + g * kr[ci][co]
                    dkr[ci][co] = dkr[ci][co] + g * xp[c]
                  end
                end
              end
            end
          end
          yr[co] = acc
        end
      end
    end
  end
  return y, dx, dk, db
end

describe("conv2d against plain Lua loops", function()
  local cases = {
    { "direct path: 12 channels in, 1152 output pixels", { 2, 26, 26, 12 }, { 3, 3, 12, 8 }, {} },
    { "gathered rows: 1 channel in, 32 out (a first layer)", { 2, 28, 28, 1 }, { 3, 3, 1, 32 }, {} },
    { "groups 2, stride 2, same, 13 channels per group", { 1, 21, 23, 26 }, { 3, 3, 13, 10 },
      { groups = 2, strides = 2, padding = "same" } },
    { "16 channels in (kernel-gradient tiles of 8 rows), dilation 2", { 2, 12, 11, 16 }, { 3, 3, 16, 40 },
      { dilation_rate = 2, padding = "same" } },
    -- a band of products would be too large here: the row-pointer input gradient
    { "4096 channels in, 1 out", { 1, 3, 4, 4096 }, { 3, 3, 4096, 1 }, {} },
  }
  for ci, c in ipairs(cases) do
    it(c[1], function()
      local xs, ks, o = c[2], c[3], c[4]
      local xt = check.random_table(xs, 11 + ci)
      local kt = check.random_table(ks, 23 + ci)
      local bt = check.random_table({ ks[4] }, 37 + ci)
      local x, k, b = leaf(xt), leaf(kt), leaf(bt)
      local y = F.conv2d(x, k, b, o)
      local gt = check.random_table(y:size(), 41 + ci)
      local ry, rdx, rdk, rdb = ref_conv(xt, kt, bt, gt, o)
      check.close(y, ry, 1e-5)
      y:backward(T(gt))
      check.close(x.grad, rdx, 1e-5)
      check.close(k.grad, rdk, 1e-5)
      check.close(b.grad, rdb, 1e-5)
    end)
  end

  it("reads non-contiguous inputs and kernels", function()
    local xt = check.random_table({ 2, 3, 6, 5 }, 3) -- NCHW data, viewed as NHWC
    local kt = check.random_table({ 4, 3, 3, 3 }, 4) -- (out, in, kh, kw), viewed as (kh, kw, in, out)
    local xv, kv = T(xt):permute(1, 3, 4, 2), T(kt):permute(3, 4, 2, 1)
    assert.is_false(xv:is_contiguous())
    local y = F.conv2d(xv, kv, nil, { padding = "same" })
    check.close(y, F.conv2d(xv:contiguous(), kv:contiguous(), nil, { padding = "same" }), 1e-6)
    check.close(F.max_pool2d(xv), F.max_pool2d(xv:contiguous()), 0)
  end)

  it("takes gradients for whichever inputs require them", function()
    local x, k, b = T(check.random_table({ 1, 5, 5, 2 }, 5)), T(check.random_table({ 3, 3, 2, 3 }, 6)), leaf({ 1, 2, 3 })
    local y = F.conv2d(x, k, b)
    y:backward(dnn.ones_like(y))
    assert.are.same({ 9, 9, 9 }, b.grad:totable()) -- 3x3 output pixels per channel
    assert.is_nil(k.grad)
    local xl = leaf(x:totable())
    local y2 = F.conv2d(xl, k)
    y2:backward(dnn.ones_like(y2))
    assert.are.same({ 1, 5, 5, 2 }, xl.grad:size())
    assert.is_nil(k.grad)
  end)

  it("handles an empty batch", function()
    local k, b = leaf(check.random_table({ 3, 3, 2, 3 }, 7)), leaf({ 1, 2, 3 })
    local x = dnn.zeros(0, 5, 5, 2)
    x.requires_grad = true
    local y = F.conv2d(x, k, b, { padding = "same" })
    assert.are.same({ 0, 5, 5, 3 }, y:size())
    y:sum():backward()
    assert.are.same({ 0, 0, 0 }, b.grad:totable())
    check.close(k.grad, dnn.zeros(3, 3, 2, 3), 0)
    assert.are.same({ 0, 2, 2, 2 }, F.max_pool2d(x):size())
    assert.are.same({ 0, 2 }, F.global_avg_pool2d(x):size())
  end)

  it("gives the same bits on 1 and 2 threads", function()
    local prev = dnn.get_num_threads()
    local function run(threads)
      dnn.set_num_threads(threads)
      dnn.manual_seed(5)
      local x = dnn.randn(3, 20, 20, 16)
      local k = dnn.randn(3, 3, 16, 24)
      x.requires_grad, k.requires_grad = true, true
      local y = F.conv2d(x, k, nil, { padding = "same" })
      local p = F.max_pool2d(y)
      p:backward(dnn.ones_like(p))
      return y, x.grad, k.grad
    end
    local y1, dx1, dk1 = run(1)
    local y2, dx2, dk2 = run(2)
    dnn.set_num_threads(prev)
    assert.is_true(dnn.eq(y1, y2):all():item())
    assert.is_true(dnn.eq(dx1, dx2):all():item())
    assert.is_true(dnn.eq(dk1, dk2):all():item())
  end)
end)

describe("gradcheck (float64) of", function()
  local function leaf64(shape, seed) return leaf(check.random_table(shape, seed), "float64") end
  local gc = dnn.testing.gradcheck

  it("conv2d: stride 2, same, bias", function()
    local x, k, b = leaf64({ 1, 5, 4, 2 }, 1), leaf64({ 3, 3, 2, 3 }, 2), leaf64({ 3 }, 3)
    assert.is_true(gc(function(a, w, c) return F.conv2d(a, w, c, { strides = 2, padding = "same" }) end, { x, k, b }))
  end)

  it("conv2d: groups 2, dilation 2, explicit padding", function()
    local x, k = leaf64({ 2, 5, 5, 4 }, 4), leaf64({ 2, 2, 2, 4 }, 5)
    assert.is_true(gc(function(a, w)
      return F.conv2d(a, w, nil, { groups = 2, dilation_rate = 2, padding = 1 })
    end, { x, k }))
  end)

  it("conv2d: channels_first, 13 channels (direct path)", function()
    local x, k, b = leaf64({ 1, 13, 3, 3 }, 6), leaf64({ 2, 2, 13, 2 }, 7), leaf64({ 2 }, 8)
    assert.is_true(gc(function(a, w, c) return F.conv2d(a, w, c, { data_format = "channels_first" }) end, { x, k, b }))
  end)

  it("max_pool2d: valid and same", function()
    local x = leaf64({ 2, 5, 5, 2 }, 9)
    assert.is_true(gc(function(a) return F.max_pool2d(a) end, { x }))
    assert.is_true(gc(function(a) return F.max_pool2d(a, { pool_size = 3, strides = 2, padding = "same" }) end, { x }))
  end)

  it("avg_pool2d: same (padding not counted), overlapping", function()
    local x = leaf64({ 1, 5, 4, 2 }, 10)
    assert.is_true(gc(function(a) return F.avg_pool2d(a, { pool_size = 3, strides = 2, padding = "same" }) end, { x }))
    assert.is_true(gc(function(a) return F.avg_pool2d(a, { pool_size = { 2, 3 }, strides = 1 }) end, { x }))
  end)

  it("global_avg_pool2d and global_max_pool2d", function()
    local x = leaf64({ 2, 3, 3, 2 }, 11)
    assert.is_true(gc(function(a) return F.global_avg_pool2d(a) end, { x }))
    assert.is_true(gc(function(a) return F.global_max_pool2d(a, { keepdims = true }) end, { x }))
  end)

  it("adaptive_avg_pool2d and adaptive_max_pool2d", function()
    local x = leaf64({ 1, 5, 4, 2 }, 12)
    assert.is_true(gc(function(a) return F.adaptive_avg_pool2d(a, { 3, 3 }) end, { x }))
    assert.is_true(gc(function(a) return F.adaptive_max_pool2d(a, 2, { data_format = "channels_first" }) end, { x }))
  end)

  it("pyramid_pooling, max and avg", function()
    local x = leaf64({ 1, 5, 4, 2 }, 13)
    assert.is_true(gc(function(a) return F.pyramid_pooling(a, { levels = 2 }) end, { x }))
    assert.is_true(gc(function(a) return F.pyramid_pooling(a, { levels = 2, pooling = "avg" }) end, { x }))
  end)
end)

describe("conv and pooling misuse", function()
  local x = dnn.zeros(8, 28, 28, 3)
  local k = dnn.zeros(3, 3, 1, 32)
  local k3 = dnn.zeros(3, 3, 3, 4)
  local fails = check.fails_with

  it("reports wrong ranks", function()
    fails(function() F.conv2d(dnn.zeros(28, 28, 3), k3) end, "conv2d: input must be 4-d", "[28,28,3]")
    fails(function() F.conv2d(x, dnn.zeros(3, 3, 3)) end, "conv2d: kernel must be 4-d", "[3,3,3]")
    fails(function() F.global_max_pool2d(dnn.zeros(4, 4)) end, "global_max_pool2d: input must be 4-d", "[4,4]")
    fails(function() F.max_pool2d(dnn.zeros(2, 4, 4)) end, "max_pool2d: input must be 4-d")
  end)

  it("reports a channel mismatch with both shapes", function()
    fails(function() F.conv2d(x, k) end,
      "conv2d: input [8,28,28,3] has 3 channels but the kernel [3,3,1,32] expects 1")
    fails(function() F.conv2d(dnn.zeros(1, 3, 5, 5), k3, nil, { data_format = "channels_last" }) end,
      "has 5 channels but the kernel [3,3,3,4] expects 3")
  end)

  it("reports a kernel larger than the padded input", function()
    fails(function() F.conv2d(dnn.zeros(1, 2, 2, 3), k3) end,
      "conv2d: kernel [3,3,3,4]", "larger than the padded input 2x2", "[1,2,2,3]")
    fails(function() F.conv2d(dnn.zeros(1, 4, 4, 3), k3, nil, { dilation_rate = 2 }) end, "5x5 with dilation")
  end)

  it("reports bad strides, dilation and padding", function()
    fails(function() F.conv2d(x, k3, nil, { strides = 0 }) end, "conv2d: strides must be >= 1")
    fails(function() F.conv2d(x, k3, nil, { strides = { 1, 2, 3 } }) end,
      "conv2d: strides must be an integer or a pair {h, w}")
    fails(function() F.conv2d(x, k3, nil, { dilation_rate = 0 }) end, "conv2d: dilation_rate must be >= 1")
    fails(function() F.conv2d(x, k3, nil, { padding = "full" }) end, 'conv2d: padding must be "valid" or "same"')
    fails(function() F.conv2d(x, k3, nil, { padding = -1 }) end, "conv2d: padding must be >= 0")
  end)

  it("reports groups that do not divide the channels", function()
    fails(function() F.conv2d(dnn.zeros(1, 5, 5, 4), dnn.zeros(3, 3, 1, 6), nil, { groups = 3 }) end,
      "conv2d: groups=3 does not divide the 4 input channels", "[1,5,5,4]")
    fails(function() F.conv2d(dnn.zeros(1, 5, 5, 4), dnn.zeros(3, 3, 2, 5), nil, { groups = 2 }) end,
      "conv2d: groups=2 does not divide the 5 output channels", "[3,3,2,5]")
    fails(function() F.conv2d(dnn.zeros(1, 5, 5, 4), dnn.zeros(3, 3, 1, 6), nil, { groups = 2 }) end,
      "expects 2 (1 per group x 2 groups)")
  end)

  it("reports bias, dtype and argument mistakes", function()
    fails(function() F.conv2d(x, k3, dnn.zeros(5)) end, "conv2d: bias [5] does not match the 4 output channels")
    fails(function() F.conv2d(x, k3:double()) end, "conv2d: input, kernel and bias dtypes differ (float32, float64")
    fails(function() F.conv2d(x:long(), k3:long()) end, "conv2d: the input must be float32 or float64, got int64")
    fails(function() F.conv2d(nil, k3) end, "conv2d: the input must be a tensor, got nil")
    fails(function() F.avg_pool2d(x:int()) end, "avg_pool2d: input must be float32 or float64, got int32")
  end)

  it("rejects unknown options and bad data_format", function()
    fails(function() F.conv2d(x, k3, nil, { stride = 2 }) end, "conv2d: unknown option 'stride'", "strides")
    fails(function() F.max_pool2d(x, { size = 2 }) end, "max_pool2d: unknown option 'size'")
    fails(function() F.conv2d(x, k3, nil, { data_format = "NHWC" }) end,
      'conv2d: data_format must be "channels_last" or "channels_first", got NHWC')
    fails(function() F.pyramid_pooling(x, { level = 2 }) end, "pyramid_pooling: unknown option 'level'")
  end)

  it("reports pooling geometry mistakes", function()
    fails(function() F.max_pool2d(dnn.zeros(1, 2, 2, 1), { pool_size = 3 }) end,
      "max_pool2d: pool_size 3x3 is larger than the input 2x2", "[1,2,2,1]")
    fails(function() F.avg_pool2d(x, { padding = 1 }) end, 'avg_pool2d: padding must be "valid" or "same"')
    fails(function() F.max_pool2d(x, { strides = 0 }) end, "max_pool2d: strides must be >= 1")
    fails(function() F.max_pool2d(x, { pool_size = 0 }) end, "max_pool2d: pool_size must be >= 1")
    fails(function() F.adaptive_avg_pool2d(x, 0) end, "adaptive_avg_pool2d: output_size must be >= 1")
    fails(function() F.adaptive_max_pool2d(x) end, "adaptive_max_pool2d: output_size is required")
    fails(function() F.pyramid_pooling(dnn.zeros(1, 3, 3, 2), { levels = 3 }) end,
      "pyramid_pooling: input [1, 3, 3, 2] is too small for a 4x4 grid")
    fails(function() F.pyramid_pooling(x, { pooling = "median" }) end,
      'pyramid_pooling: pooling must be "max", "avg" or a function')
  end)

  it("keeps working after errors (nothing half-made is left behind)", function()
    for _ = 1, 3 do pcall(F.conv2d, x, k) end
    local y = F.conv2d(dnn.ones(1, 3, 3, 1), dnn.ones(3, 3, 1, 1))
    assert.equal(9, y:item())
  end)
end)
