-- The cuDNN routes of the CUDA backend (cuda/cudnn_conv.cu, cuda/cudnn_pool.cu)
-- and the own kernels they fall back to (cuda/conv.cu): each case below runs
-- on the CPU and on the GPU, forward and (where it records) backward, and the
-- results are compared by normalised MSE as spec/cuda_spec.lua does (float32
-- <= 1e-6 with TF32 off).  The cases are chosen by the path they take on a
-- build with cuDNN:
--   cuDNN:    symmetric padding (valid, explicit, "same" with an even total),
--             stride 2, dilation, groups, 1x1 stride 2, pooling forwards that
--             need no argmax (no gradient recorded);
--   fallback: "same" with an odd total (the extra cell at the bottom/right),
--             1x1 stride 1 (one cuBLAS GEMM), float64, max pooling that
--             records (the backward needs our argmax).
-- Setting DNN_CUDNN=0 turns the routes off, so the same spec checks the
-- fallback kernels on every shape.
--
-- GPU cases carry #gpu and are pending without a CUDA device; the same table
-- runs CPU against CPU everywhere, which checks the cases themselves.
local dnn = require "dnn"
local F = dnn.F

local G = require "support.gpu"
local GPU = G.available

-- ---------------------------------------------------------------- comparison
local nmse = G.nmse

local function shape_of(t)
  local s = {}
  for i = 1, t:dim() do s[i] = t:size(i) end
  return table.concat(s, ",")
end

-- an input spec: a shape (float32 normal values) or {shape, kind} with kind
-- f64 (float64 normal), neg (all below -1: padding must not win a max) or
-- nan (normal with NaN sprinkled in)
local function make_input(spec)
  local shape, kind = spec, "normal"
  if type(spec[1]) == "table" then shape, kind = spec[1], spec[2] end
  local x = dnn.randn(table.unpack(shape))
  if kind == "f64" then return x:double() end
  if kind == "neg" then return -(x:abs() + 1) end
  if kind == "nan" then return dnn.where(dnn.rand(table.unpack(shape)):lt(0.1), dnn.full_like(x, 0 / 0), x) end
  return x
end

-- ---------------------------------------------------------------- the table
-- {name, fn(inputs...) -> result, {input specs}, opts}; opts.grad = false:
-- inputs do not require grad (no tape: pooling then asks for no argmax)

local function conv(opts) return function(x, w, b) return F.conv2d(x, w, b, opts) end end

local cases = {
  -- cuDNN routes (float32, symmetric padding)
  { "conv2d 3x3 same (pad 1 both sides) with bias", conv { padding = "same" }, { { 2, 7, 6, 3 }, { 3, 3, 3, 5 }, { 5 } } },
  { "conv2d explicit padding, stride 2", conv { padding = { 2, 1 }, strides = 2 }, { { 2, 9, 8, 4 }, { 3, 3, 4, 6 } } },
  { "conv2d groups 2, dilation 2, same", conv { groups = 2, dilation_rate = 2, padding = "same" },
    { { 2, 9, 9, 4 }, { 3, 3, 2, 6 }, { 6 } } },
  { "conv2d depthwise (groups = channels)", conv { groups = 4, padding = "same" }, { { 2, 6, 6, 4 }, { 3, 3, 1, 8 } } },
  { "conv2d 1x1 stride 2", conv { strides = 2 }, { { 2, 7, 7, 8 }, { 1, 1, 8, 4 }, { 4 } } },
  -- fallbacks
  { "conv2d same, kernel 2 (pad 0 top, 1 bottom)", conv { padding = "same" }, { { 2, 5, 6, 3 }, { 2, 2, 3, 4 } } },
  { "conv2d same stride 2, even size (odd total pad)", conv { padding = "same", strides = 2 },
    { { 2, 8, 8, 3 }, { 3, 3, 3, 4 }, { 4 } } },
  { "conv2d 1x1 stride 1 (cuBLAS)", conv {}, { { 2, 5, 5, 8 }, { 1, 1, 8, 4 } } },
  { "conv2d float64", conv { padding = "same" }, { { { 2, 6, 5, 3 }, "f64" }, { { 3, 3, 3, 2 }, "f64" } } },
  { "max_pool2d recording (own kernel, argmax)", function(x) return F.max_pool2d(x, { pool_size = 3, strides = 2, padding = "same" }) end,
    { { 2, 7, 7, 3 } } },
  -- pooling forwards without argmax (cuDNN where the padding is symmetric)
  { "max_pool2d same, inference, all negative", function(x)
      return F.max_pool2d(x, { pool_size = 3, strides = 2, padding = "same" })
    end, { { { 2, 7, 7, 3 }, "neg" } }, { grad = false } },
  { "max_pool2d inference with NaN", function(x) return F.max_pool2d(x) end, { { { 2, 6, 8, 3 }, "nan" } },
    { grad = false } },
  { "avg_pool2d same, inference (padding not counted)", function(x)
      return F.avg_pool2d(x, { pool_size = 3, strides = 2, padding = "same" })
    end, { { 2, 7, 9, 3 } }, { grad = false } },
  { "avg_pool2d same, inference, odd total (fallback)", function(x)
      return F.avg_pool2d(x, { pool_size = 2, strides = 1, padding = "same" })
    end, { { 2, 5, 5, 3 } }, { grad = false } },
}

-- ---------------------------------------------------------------- running

-- outputs and, when recorded, the inputs' gradients of sum(out * w)
local function run_case(c, inputs, weight, device)
  local opts = c[4] or {}
  local xs = {}
  for i, x in ipairs(inputs) do
    local y = x:to(device)
    if opts.grad ~= false then
      y = y:detach()
      y.requires_grad = true
    end
    xs[i] = y
  end
  local out = c[2](table.unpack(xs))
  local grads = {}
  if opts.grad ~= false then
    ((out * weight(out):to(device)):sum()):backward()
    for i, x in ipairs(xs) do grads[i] = x.grad:cpu() end
  end
  return out:detach():cpu(), grads
end

local function parity(index, c, device)
  dnn.manual_seed(3000 + index)
  local inputs = {}
  for i, spec in ipairs(c[3]) do inputs[i] = make_input(spec) end
  local w
  local function weight(out)
    if not w then
      dnn.manual_seed(4000 + index)
      w = dnn.randn(table.unpack(out.shape)):to(out.dtype)
    end
    return w
  end
  local want, want_g = run_case(c, inputs, weight, "cpu")
  local got, got_g = run_case(c, inputs, weight, device)
  local tol = (c[4] or {}).tol or 1e-6
  local e, why = nmse(got, want)
  if e > tol or e ~= e then return ("output: nmse %.3g%s"):format(e, why and (" (" .. why .. ")") or "") end
  for i = 1, #want_g do
    e, why = nmse(got_g[i], want_g[i])
    if e > tol or e ~= e then
      return ("gradient of input %d: nmse %.3g%s"):format(i, e, why and (" (" .. why .. ")") or "")
    end
  end
end

-- max over the cells of the window inside the input, in plain Lua
local function max_pool_ref(x, k, s, pt, pl, oh, ow)
  local n, h, w, ch = x:size(1), x:size(2), x:size(3), x:size(4)
  local v = x:double():totable()
  local out = {}
  for b = 1, n do
    out[b] = {}
    for i = 1, oh do
      out[b][i] = {}
      for j = 1, ow do
        out[b][i][j] = {}
        for c = 1, ch do
          local best = -math.huge
          for r = (i - 1) * s - pt, (i - 1) * s - pt + k - 1 do
            for q = (j - 1) * s - pl, (j - 1) * s - pl + k - 1 do
              if r >= 0 and r < h and q >= 0 and q < w then best = math.max(best, v[b][r + 1][q + 1][c]) end
            end
          end
          out[b][i][j][c] = best
        end
      end
    end
  end
  return dnn.tensor(out, { dtype = "float64" })
end

local function padding_never_wins(device)
  dnn.manual_seed(7)
  local x = make_input { { 2, 7, 7, 3 }, "neg" }
  local y = dnn.no_grad(function() return F.max_pool2d(x:to(device), { pool_size = 3, strides = 2, padding = "same" }) end)
  assert.equal("2,4,4,3", shape_of(y))
  local want = max_pool_ref(x, 3, 2, 1, 1, 4, 4) -- "same": total pad 2, one cell each side
  assert.is_true(y:cpu():double():eq(want):all():item(), "a padded cell won a max")
end

-- "same" with an odd total pad: the output keeps ceil(H / s) rows, which
-- cuDNN's symmetric padding could not give (the route must decline)
local function asymmetric_shapes(device)
  local x = dnn.randn(2, 5, 6, 3):to(device)
  local y = F.conv2d(x, dnn.randn(2, 2, 3, 4):to(device), nil, { padding = "same" })
  assert.equal("2,5,6,4", shape_of(y))
  y = F.conv2d(dnn.randn(1, 8, 8, 3):to(device), dnn.randn(3, 3, 3, 2):to(device), nil, { padding = "same", strides = 2 })
  assert.equal("1,4,4,2", shape_of(y))
end

-- ---------------------------------------------------------------- specs

describe("cuDNN route cases (CPU against CPU)", function()
  for index, c in ipairs(cases) do
    it("runs " .. c[1], function()
      local msg = parity(index, c, "cpu")
      assert.is_nil(msg, c[1] .. ": " .. tostring(msg))
    end)
  end
  it("max pooling ignores the padding (plain-Lua reference)", function() padding_never_wins("cpu") end)
  it("keeps ceil(H / s) outputs for asymmetric 'same' padding", function() asymmetric_shapes("cpu") end)
end)

describe("cuDNN routes CPU vs CUDA #gpu", function()
  local function gpu_it(name, fn)
    it(name .. " #gpu", function()
      if not G.need(pending) then return end
      dnn.cuda.set_allow_tf32(false)
      fn()
    end)
  end
  for index, c in ipairs(cases) do
    gpu_it(c[1], function()
      local ok, msg = pcall(parity, index, c, "cuda")
      assert.is_true(ok, c[1] .. " raised: " .. tostring(msg))
      assert.is_nil(msg, c[1] .. ": " .. tostring(msg))
    end)
  end
  gpu_it("max pooling ignores the padding (plain-Lua reference)", function() padding_never_wins("cuda") end)
  gpu_it("keeps ceil(H / s) outputs for asymmetric 'same' padding", function() asymmetric_shapes("cuda") end)
  gpu_it("gives bit-identical convolution gradients on repeated runs (deterministic algorithms)", function()
    dnn.manual_seed(11)
    local x0, w0 = dnn.randn(4, 12, 12, 8), dnn.randn(3, 3, 8, 16)
    local function grads()
      local x, w = x0:cuda(), w0:cuda()
      x.requires_grad, w.requires_grad = true, true
      F.conv2d(x, w, nil, { padding = "same", strides = 2 }):sum():backward()
      return x.grad:cpu(), w.grad:cpu()
    end
    local dx1, dw1 = grads()
    local dx2, dw2 = grads()
    assert.is_true(dx1:eq(dx2):all():item(), "input gradient differs between runs")
    assert.is_true(dw1:eq(dw2):all():item(), "kernel gradient differs between runs")
  end)
end)
