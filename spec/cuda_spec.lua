-- The CUDA backend: device API and errors (run everywhere), and the backend
-- parity table (ggml's test-backend-ops is the model): one table of op cases
-- with random inputs, each run on the CPU and on the GPU, forward and
-- backward, compared by normalised MSE (float32 <= 1e-6 with TF32 off;
-- integers and bools exactly; NaN/Inf positions must match).
--
-- GPU cases carry the #gpu tag (`busted --tags gpu spec/cuda_spec.lua` runs
-- only them) and are pending where dnn.cuda.is_available() is false.  The
-- harness itself is checked here without a GPU: every case runs CPU against
-- CPU (the table's ops and shapes are valid and deterministic), and the
-- comparison rejects perturbed results and NaN mismatches.
local dnn = require "dnn"
local F = dnn.F

local G = require "support.gpu"
local GPU = G.available

-- ---------------------------------------------------------------- comparison

local nmse, is_float = G.nmse, G.is_float

-- ---------------------------------------------------------------- inputs

-- An input: a shape (float32 normal values) or {shape, kind}:
--   pos (|x| + 0.1), unit (uniform in (-0.9, 0.9)), small (uniform in (0.5, 1.5)),
--   round (normal rounded to halves: ties for comparisons), int / int32 / uint8
--   (integers in [-5, 5] / [0, 9]), nonzero (ints without 0), expo (ints 0..3),
--   bool, class (ids 0..9), position (1-based positions 1..3), f64 (float64 normal), t (the transpose of a normal (b, a) tensor:
--   a strided input), nan (normal with NaN and Inf sprinkled in).
local function make_input(spec)
  local shape, kind = spec, "normal"
  if type(spec[1]) == "table" then shape, kind = spec[1], spec[2] end
  local function n() return dnn.randn(table.unpack(shape)) end
  local function u(lo, hi) return dnn.rand(table.unpack(shape)) * (hi - lo) + lo end
  if kind == "normal" then return n()
  elseif kind == "pos" then return n():abs() + 0.1
  elseif kind == "unit" then return u(-0.9, 0.9)
  elseif kind == "small" then return u(0.5, 1.5)
  elseif kind == "round" then return (n() * 2):round() / 2
  elseif kind == "int" then return dnn.randint(-5, 6, shape)
  elseif kind == "int32" then return dnn.randint(-5, 6, shape):int()
  elseif kind == "uint8" then return dnn.randint(0, 10, shape):byte()
  elseif kind == "nonzero" then
    local r = dnn.randint(1, 6, shape)
    return dnn.where(dnn.rand(table.unpack(shape)):lt(0.5), -r, r)
  elseif kind == "expo" then return dnn.randint(0, 4, shape)
  elseif kind == "bool" then return dnn.rand(table.unpack(shape)):lt(0.5)
  elseif kind == "class" then return dnn.randint(0, 10, shape)
  elseif kind == "position" then return dnn.randint(1, 4, shape) -- 1-based, < 4
  elseif kind == "f64" then return n():double()
  elseif kind == "t" then return dnn.randn(shape[2], shape[1]):t()
  elseif kind == "nan" then
    local x = n()
    local r = dnn.rand(table.unpack(shape))
    x = dnn.where(r:lt(0.1), dnn.full_like(x, 0 / 0), x)
    x = dnn.where(r:gt(0.95), dnn.full_like(x, math.huge), x)
    return x
  end
  error("unknown input kind " .. tostring(kind))
end

-- ---------------------------------------------------------------- the table
-- {name, fn(inputs...) -> result(s), {input specs}, opts}; opts.grad = false
-- skips the backward check (integer results and non-differentiable ops get
-- none anyway); opts.tol overrides 1e-6; opts.seed reseeds before the forward
-- (random ops: both devices then draw the same numbers).

local function bin(name, f, a, b, opts) return { name, f, { a, b }, opts } end

local cases = {
  -- binary, broadcasting, strided
  bin("add", function(a, b) return a + b end, { 7, 5 }, { 7, 5 }),
  bin("add broadcast row", function(a, b) return a + b end, { 7, 5 }, { 5 }),
  bin("add broadcast col", function(a, b) return a + b end, { 7, 1 }, { 1, 5 }),
  bin("add broadcast 4d", function(a, b) return a + b end, { 2, 1, 4, 3 }, { 5, 1, 3 }),
  bin("add strided", function(a, b) return a + b end, { { 6, 4 }, "t" }, { 6, 4 }),
  bin("sub", function(a, b) return a - b end, { 9, 8 }, { 9, 8 }),
  bin("mul", function(a, b) return a * b end, { 3, 4, 5 }, { 4, 5 }),
  bin("div", function(a, b) return a / b end, { 6, 7 }, { { 6, 7 }, "pos" }),
  bin("pow", function(a, b) return a ^ b end, { { 5, 6 }, "pos" }, { 5, 6 }),
  bin("maximum", dnn.maximum, { 33, 3 }, { 33, 3 }),
  bin("minimum", dnn.minimum, { 33, 3 }, { 1, 3 }),
  bin("maximum nan", dnn.maximum, { { 40 }, "nan" }, { 40 }, { grad = false }),
  bin("fmod", dnn.fmod, { 8, 8 }, { { 8, 8 }, "pos" }, { grad = false }),
  bin("remainder", dnn.remainder, { 8, 8 }, { { 8, 8 }, "pos" }, { grad = false }),
  bin("atan2", dnn.atan2, { 10, 3 }, { 10, 3 }),
  bin("eq", dnn.eq, { { 6, 5 }, "round" }, { { 6, 5 }, "round" }),
  bin("ne", dnn.ne, { { 6, 5 }, "round" }, { { 5 }, "round" }),
  bin("lt", dnn.lt, { { 6, 5 }, "round" }, { { 6, 5 }, "round" }),
  bin("le", dnn.le, { { 6, 5 }, "round" }, { { 6, 5 }, "round" }),
  bin("gt", dnn.gt, { { 6, 5 }, "round" }, { { 6, 5 }, "round" }),
  bin("ge", dnn.ge, { { 6, 5 }, "round" }, { { 6, 5 }, "round" }),
  bin("logical_and", dnn.logical_and, { { 9, 4 }, "bool" }, { { 9, 4 }, "bool" }),
  bin("logical_or", dnn.logical_or, { { 9, 4 }, "bool" }, { { 4 }, "bool" }),
  bin("logical_xor", dnn.logical_xor, { { 9, 4 }, "bool" }, { { 9, 4 }, "bool" }),
  bin("add int64", function(a, b) return a + b end, { { 7, 5 }, "int" }, { { 5 }, "int" }),
  bin("mul int64", function(a, b) return a * b end, { { 7, 5 }, "int" }, { { 7, 5 }, "int" }),
  bin("sub int32", function(a, b) return a - b end, { { 7, 5 }, "int32" }, { { 7, 5 }, "int32" }),
  bin("add uint8 wraps", function(a, b) return a * b + a end, { { 70 }, "uint8" }, { { 70 }, "uint8" }),
  bin("remainder int64", dnn.remainder, { { 50 }, "int" }, { { 50 }, "nonzero" }),
  bin("fmod int64", dnn.fmod, { { 50 }, "int" }, { { 50 }, "nonzero" }),
  bin("pow int64", function(a, b) return a ^ b end, { { 50 }, "int" }, { { 50 }, "expo" }),
  bin("maximum int64", dnn.maximum, { { 50 }, "int" }, { { 50 }, "int" }),
  bin("add float64", function(a, b) return a + b end, { { 4, 4 }, "f64" }, { { 4 }, "f64" }),
  bin("mul inplace", function(a, b) local c = a:clone(); c:mul_(b); return c end, { 5, 6 }, { 6 }, { grad = false }),
  { "scalar operand", function(a) return a * 2.5 - 1 end, { { 4, 3 } } },

  -- unary
  { "neg", function(a) return -a end, { { 9, 7 } } },
  { "abs", dnn.abs, { { 9, 7 } } },
  { "exp", dnn.exp, { { 9, 7 } } },
  { "log", dnn.log, { { { 9, 7 }, "pos" } } },
  { "log1p", dnn.log1p, { { { 9, 7 }, "pos" } } },
  { "expm1", dnn.expm1, { { 9, 7 } } },
  { "sqrt", dnn.sqrt, { { { 9, 7 }, "pos" } } },
  { "rsqrt", dnn.rsqrt, { { { 9, 7 }, "pos" } } },
  { "sin", dnn.sin, { { 9, 7 } } },
  { "cos", dnn.cos, { { 9, 7 } } },
  { "tan", dnn.tan, { { { 9, 7 }, "unit" } } },
  { "tanh", dnn.tanh, { { 9, 7 } } },
  { "sigmoid", dnn.sigmoid, { { 9, 7 } } },
  { "relu", dnn.relu, { { 9, 7 } } },
  { "sign", dnn.sign, { { 9, 7 } }, { grad = false } },
  { "floor", dnn.floor, { { 9, 7 } }, { grad = false } },
  { "ceil", dnn.ceil, { { 9, 7 } }, { grad = false } },
  { "round half even", dnn.round, { { { 9, 7 }, "round" } }, { grad = false } },
  { "trunc", dnn.trunc, { { 9, 7 } }, { grad = false } },
  { "reciprocal", dnn.reciprocal, { { { 9, 7 }, "pos" } } },
  { "square", dnn.square, { { 9, 7 } } },
  { "erf", dnn.erf, { { 9, 7 } } },
  { "log2", dnn.log2, { { { 9, 7 }, "pos" } } },
  { "log10", dnn.log10, { { { 9, 7 }, "pos" } } },
  { "asin", dnn.asin, { { { 9, 7 }, "unit" } } },
  { "acos", dnn.acos, { { { 9, 7 }, "unit" } } },
  { "atan", dnn.atan, { { 9, 7 } } },
  { "sinh", dnn.sinh, { { 9, 7 } } },
  { "cosh", dnn.cosh, { { 9, 7 } } },
  { "isnan", dnn.isnan, { { { 50 }, "nan" } } },
  { "isinf", dnn.isinf, { { { 50 }, "nan" } } },
  { "logical_not", dnn.logical_not, { { { 50 }, "bool" } } },
  { "neg int64", function(a) return -a end, { { { 50 }, "int" } } },
  { "abs int32", dnn.abs, { { { 50 }, "int32" } } },
  { "unary strided", dnn.exp, { { { 5, 8 }, "t" } } },
  { "relu nan", dnn.relu, { { { 60 }, "nan" } }, { grad = false } },
  { "clamp", function(a) return a:clamp(-0.5, 0.7) end, { { 8, 9 } } },
  { "clamp int64", function(a) return a:clamp(-2, 3) end, { { { 50 }, "int" } } },
  { "where", function(c, a, b) return dnn.where(c, a, b) end, { { { 6, 5 }, "bool" }, { 6, 5 }, { 5 } } },

  -- conversions, copies, fills
  { "float32 to int64", function(a) return (a * 3):long() end, { { 40 } } },
  { "int64 to float32", function(a) return a:float() end, { { { 40 }, "int" } } },
  { "float32 to bool", function(a) return a:round():bool() end, { { 40 } } },
  { "bool to float32", function(a) return a:float() end, { { { 40 }, "bool" } } },
  { "float32 to float64", function(a) return a:double() end, { { 6, 7 } } },
  { "uint8 to float32", function(a) return a:float() end, { { { 40 }, "uint8" } } },
  { "contiguous of transpose", function(a) return a:t():contiguous() end, { { 13, 17 } } },
  { "contiguous of permute", function(a) return a:permute(3, 1, 2):contiguous() end, { { 4, 5, 6 } } },
  { "copy_ broadcast", function(a, b) local c = a:clone(); c:copy_(b); return c end, { { 4, 5 }, { 5 } },
    { grad = false } },
  { "fill_", function(a) local c = a:clone(); c:fill_(3.25); return c end, { { 4, 5 } }, { grad = false } },
  { "fill_ int64", function(a) local c = a:clone(); c:fill_(-7); return c end, { { { 9 }, "int" } } },
  { "zeros_like", function(a) return dnn.zeros_like(a) end, { { 4, 5 } }, { grad = false } },

  -- reductions
  { "sum all", function(a) return a:sum() end, { { 10, 11 } } },
  { "sum dim 1", function(a) return a:sum(1) end, { { 10, 11, 3 } } },
  { "sum dim 2 keepdim", function(a) return a:sum(2, true) end, { { 10, 11, 3 } } },
  { "sum dim -1", function(a) return a:sum(-1) end, { { 10, 70 } } },
  { "sum dims 1,3", function(a) return a:sum({ 1, 3 }) end, { { 4, 5, 6 } } },
  { "sum long row (split)", function(a) return a:sum() end, { { 200000 } } },
  { "sum long column (split)", function(a) return a:sum(1) end, { { 70000, 3 } } },
  { "sum int64", function(a) return a:sum(1) end, { { { 30, 4 }, "int" } } },
  { "sum bool", function(a) return a:sum() end, { { { 300 }, "bool" } } },
  { "mean", function(a) return a:mean(2) end, { { 6, 50 } } },
  { "mean int64", function(a) return a:mean() end, { { { 30, 4 }, "int" } } },
  { "prod", function(a) return a:prod(2) end, { { { 6, 9 }, "small" } } },
  { "max dim", function(a) return a:max(2) end, { { 7, 33 } } },
  { "max dim with ties", function(a) return a:max(1) end, { { { 30, 4 }, "round" } }, { grad = false } },
  { "min dim", function(a) return a:min(1) end, { { 7, 33 } } },
  { "max all", function(a) return a:max() end, { { 7, 33 } } },
  { "max nan", function(a) return a:max(1) end, { { { 50, 2 }, "nan" } }, { grad = false } },
  { "argmax", function(a) return a:argmax(2) end, { { 7, 33 } } },
  { "argmin", function(a) return a:argmin(1) end, { { 7, 33 } } },
  { "argmax ties", function(a) return a:argmax(2) end, { { { 30, 40 }, "round" } } },
  { "max int64", function(a) return a:max(2) end, { { { 6, 40 }, "int" } } },
  { "var", function(a) return a:var(2) end, { { 8, 40 } } },
  { "std all", function(a) return a:std() end, { { 8, 40 } } },
  { "var inner", function(a) return a:var(1) end, { { 40, 8 } } },
  { "all", function(a) return a:all(2) end, { { { 6, 3 }, "bool" } } },
  { "any", function(a) return a:any(1) end, { { { 6, 3 }, "bool" } } },
  { "logsumexp", function(a) return a:logsumexp(2) end, { { 8, 40 } } },
  { "logsumexp inf", function(a) return a:logsumexp(1) end, { { { 30, 3 }, "nan" } }, { grad = false } },
  { "cumsum", function(a) return a:cumsum(2) end, { { 5, 30 } } },
  { "cumprod", function(a) return a:cumprod(1) end, { { { 8, 3 }, "small" } } },
  { "cumsum int64", function(a) return a:cumsum(1) end, { { { 8, 3 }, "int" } } },

  -- matrix products
  { "mm", dnn.mm, { { 33, 17 }, { 17, 9 } } },
  { "mm transposed a", dnn.mm, { { { 33, 17 }, "t" }, { 17, 9 } } },
  { "mm transposed b", dnn.mm, { { 33, 17 }, { { 17, 9 }, "t" } } },
  { "mm large", dnn.mm, { { 128, 256 }, { 256, 64 } } },
  { "matmul broadcast batch", dnn.matmul, { { 3, 1, 6, 5 }, { 4, 5, 7 } } },
  { "matmul shared right", dnn.matmul, { { 3, 6, 5 }, { 5, 7 } } },
  { "matmul vector", dnn.matmul, { { 6, 5 }, { 5 } } },
  { "bmm", dnn.bmm, { { 4, 6, 5 }, { 4, 5, 3 } } },
  { "addmm", function(c, a, b) return dnn.addmm(c, a, b) end, { { 7 }, { 6, 5 }, { 5, 7 } } },
  { "mm float64", dnn.mm, { { { 20, 30 }, "f64" }, { { 30, 10 }, "f64" } } },
  { "mm int64", dnn.mm, { { { 5, 6 }, "int" }, { { 6, 4 }, "int" } } },
  { "mm empty inner", dnn.mm, { { 5, 0 }, { 0, 4 } }, { grad = false } },

  -- nn
  { "softmax", function(a) return F.softmax(a) end, { { 9, 10 } } },
  { "softmax axis 1", function(a) return F.softmax(a, { axis = 1 }) end, { { 9, 10, 3 } } },
  { "softmax wide", function(a) return F.softmax(a) end, { { 4, 3000 } } },
  { "log_softmax", function(a) return F.log_softmax(a) end, { { 9, 10 } } },
  { "log_softmax axis 2", function(a) return F.log_softmax(a, { axis = 2 }) end, { { 5, 6, 7 } } },
  { "relu (activation)", function(a) return F.relu(a) end, { { 9, 10 } } },
  { "leaky_relu", function(a) return F.leaky_relu(a) end, { { 9, 10 } } },
  { "elu", function(a) return F.elu(a) end, { { 9, 10 } } },
  { "selu", function(a) return F.selu(a) end, { { 9, 10 } } },
  { "gelu", function(a) return F.gelu(a) end, { { 9, 10 } } },
  { "gelu tanh", function(a) return F.gelu(a, { approximate = true }) end, { { 9, 10 } } },
  { "softplus", function(a) return F.softplus(a) end, { { 9, 10 } } },
  { "swish", function(a) return F.swish(a) end, { { 9, 10 } } },
  { "hard_sigmoid", function(a) return F.hard_sigmoid(a) end, { { 9, 10 } } },
  { "softsign", function(a) return F.softsign(a) end, { { 9, 10 } } },
  { "exponential", function(a) return F.exponential(a) end, { { 9, 10 } } },
  { "linear", function(x, w, b) return F.linear(x, w, b) end, { { 16, 20 }, { 20, 12 }, { 12 } } },
  { "linear relu", function(x, w, b) return F.linear(x, w, b, { activation = "relu" }) end,
    { { 16, 20 }, { 20, 12 }, { 12 } } },
  { "linear sigmoid 3d", function(x, w, b) return F.linear(x, w, b, { activation = "sigmoid" }) end,
    { { 2, 8, 20 }, { 20, 12 }, { 12 } } },
  { "linear tanh no bias", function(x, w) return F.linear(x, w, { activation = "tanh" }) end,
    { { 16, 20 }, { 20, 12 } } },
  { "linear transposed kernel", function(x, w, b) return F.linear(x, w, b) end,
    { { 16, 20 }, { { 20, 12 }, "t" }, { 12 } } },
  { "dropout seeded", function(a) return F.dropout(a, 0.3, { seed = 1234 }) end, { { 33, 17 } } },
  { "dropout global stream", function(a) return F.dropout(a, 0.5) end, { { 40, 41 } }, { seed = 77 } },

  -- indexing (positions stay on the CPU: the bindings convert them there)
  { "gather", function(a, i) return dnn.gather(a, 2, i) end, { { 5, 3 }, { { 5, 7 }, "position" } },
    { host = { [2] = true } } },
  { "index_select", function(a, i) return a:index_select(1, i) end, { { 3, 6 }, { { 8 }, "position" } },
    { host = { [2] = true } } },
  { "scatter", function(a, i, b) return a:scatter(2, i, b) end, { { 4, 3 }, { { 4, 2 }, "position" }, { 4, 2 } },
    { host = { [2] = true }, grad = false } },
  { "scatter_add", function(a, i, b) return a:scatter_add(1, i, b) end,
    { { 3, 5 }, { { 6, 5 }, "position" }, { 6, 5 } }, { host = { [2] = true } } },
  { "index_add", function(a, i, b) return a:index_add(1, i, b) end, { { 3, 4 }, { { 7 }, "position" }, { 7, 4 } },
    { host = { [2] = true } } },
  { "masked_fill", function(a, m) return a:masked_fill(m, -2.5) end, { { 6, 5 }, { { 5 }, "bool" } } },
  { "one_hot", function(l) return dnn.one_hot(l, { num_classes = 10 }) end, { { { 17 }, "class" } } },
  { "embedding", function(ids, w) return F.embedding(ids, w) end, { { { 6, 3 }, "class" }, { 10, 4 } } },
  { "embedding repeated ids", function(ids, w) return F.embedding(ids, w) end, { { { 200 }, "class" }, { 10, 3 } } },

  -- masks: elements in row-major order of the broadcast shape; pure data
  -- movement, so results must be equal (tol = 0)
  { "masked_select", function(a, m) return a:masked_select(m) end, { { 6, 5 }, { { 6, 5 }, "bool" } }, { tol = 0 } },
  { "masked_select broadcast mask", function(a, m) return a:masked_select(m) end,
    { { 4, 6, 5 }, { { 5 }, "bool" } }, { tol = 0 } },
  { "masked_select broadcast input", function(a, m) return a:masked_select(m) end,
    { { 6, 1 }, { { 6, 7 }, "bool" } }, { tol = 0 } },
  { "masked_select strided", function(a, m) return a:masked_select(m) end, { { { 6, 5 }, "t" }, { { 6, 5 }, "bool" } },
    { tol = 0 } },
  { "masked_select t[mask]", function(a, m) return a[m] end, { { 9, 4 }, { { 9, 4 }, "bool" } }, { tol = 0 } },
  { "masked_select long", function(a, m) return a:masked_select(m) end, { { 5000 }, { { 5000 }, "bool" } },
    { tol = 0 } },
  { "masked_select int64", function(a, m) return a:masked_select(m) end, { { { 50 }, "int" }, { { 50 }, "bool" } } },
  { "masked_select uint8", function(a, m) return a:masked_select(m) end, { { { 50 }, "uint8" }, { { 50 }, "bool" } } },
  { "masked_select bool", function(a, m) return a:masked_select(m) end, { { { 50 }, "bool" }, { { 50 }, "bool" } } },
  { "masked_select float64", function(a, m) return a:masked_select(m) end, { { { 7, 3 }, "f64" }, { { 7, 3 }, "bool" } },
    { tol = 0 } },
  { "masked_select none selected", function(a, m) return a:masked_select(m:logical_and(m:logical_not())) end,
    { { 4, 3 }, { { 4, 3 }, "bool" } }, { tol = 0 } },
  { "masked_scatter", function(a, m, s) return a:masked_scatter(m, s) end, { { 6, 5 }, { { 6, 5 }, "bool" }, { 30 } },
    { grad = false, tol = 0 } },
  { "masked_scatter broadcast", function(a, m, s) return a:masked_scatter(m, s) end,
    { { 1, 5 }, { { 4, 5 }, "bool" }, { 4, 5 } }, { grad = false, tol = 0 } },
  { "masked_scatter strided", function(a, m, s) return a:masked_scatter(m, s) end,
    { { { 6, 5 }, "t" }, { { 5 }, "bool" }, { 40 } }, { grad = false, tol = 0 } },
  { "masked_scatter int64", function(a, m, s) return a:masked_scatter(m, s) end,
    { { { 50 }, "int" }, { { 50 }, "bool" }, { { 60 }, "int" } } },
  { "masked_scatter uint8", function(a, m, s) return a:masked_scatter(m, s) end,
    { { { 50 }, "uint8" }, { { 50 }, "bool" }, { { 50 }, "uint8" } } },

  -- sorting and counting: stable (ties keep input order, indices compared
  -- exactly), NaN above every number, values equal bit for bit (tol = 0)
  { "sort", function(a) return a:sort() end, { { 7, 9 } }, { grad = false, tol = 0 } },
  { "sort descending", function(a) return a:sort(2, true) end, { { 7, 9 } }, { grad = false, tol = 0 } },
  { "sort dim 1 strided", function(a) return a:sort(1, true) end, { { { 6, 5 }, "t" } }, { grad = false, tol = 0 } },
  { "sort middle dim", function(a) return a:sort(2) end, { { 4, 6, 5 } }, { grad = false, tol = 0 } },
  { "sort ties", function(a) return a:sort(2) end, { { { 20, 30 }, "round" } }, { grad = false, tol = 0 } },
  { "sort ties descending", function(a) return a:sort(1, true) end, { { { 30, 20 }, "round" } },
    { grad = false, tol = 0 } },
  { "sort nan", function(a) return a:sort() end, { { { 60 }, "nan" } }, { grad = false, tol = 0 } },
  { "sort nan descending", function(a) return a:sort(1, true) end, { { { 60 }, "nan" } }, { grad = false, tol = 0 } },
  { "sort signed zeros", function(a) return (a * 0):sort() end, { { 40 } }, { grad = false, tol = 0 } },
  { "sort long row", function(a) return a:sort() end, { { { 20000 }, "round" } }, { grad = false, tol = 0 } },
  { "sort int64", function(a) return a:sort(1) end, { { { 40, 3 }, "int" } }, { grad = false } },
  { "sort int32 descending", function(a) return a:sort(2, true) end, { { { 3, 40 }, "int32" } }, { grad = false } },
  { "sort uint8", function(a) return a:sort() end, { { { 5, 40 }, "uint8" } }, { grad = false } },
  { "sort bool", function(a) return a:sort() end, { { { 50 }, "bool" } }, { grad = false } },
  { "sort float64", function(a) return a:sort() end, { { { 8, 30 }, "f64" } }, { grad = false, tol = 0 } },
  { "argsort", function(a) return a:argsort(1) end, { { { 12, 5 }, "round" } }, { grad = false } },
  { "topk", function(a) return a:topk(3) end, { { 8, 20 } }, { grad = false, tol = 0 } },
  { "topk smallest dim 1", function(a) return a:topk(4, 1, false) end, { { 10, 6 } }, { grad = false, tol = 0 } },
  { "topk ties", function(a) return a:topk(7) end, { { { 9, 25 }, "round" } }, { grad = false, tol = 0 } },
  { "topk smallest ties", function(a) return a:topk{ 5, dim = 1, largest = false } end, { { { 25, 4 }, "round" } },
    { grad = false, tol = 0 } },
  { "topk nan", function(a) return a:topk(10) end, { { { 3, 50 }, "nan" } }, { grad = false, tol = 0 } },
  { "topk nan smallest", function(a) return a:topk(45, 2, false) end, { { { 3, 50 }, "nan" } },
    { grad = false, tol = 0 } },
  { "topk k = 0", function(a) return a:topk(0) end, { { 4, 5 } }, { grad = false } },
  { "topk int64", function(a) return a:topk(5) end, { { { 6, 30 }, "int" } }, { grad = false } },
  { "topk uint8", function(a) return a:topk(5, 1) end, { { { 30, 4 }, "uint8" } }, { grad = false } },
  { "bincount", function(a) return a:bincount() end, { { { 300 }, "class" } } },
  { "bincount minlength", function(a) return a:bincount { minlength = 15 } end, { { { 40 }, "class" } } },
  { "bincount int32", function(a) return a:int():bincount() end, { { { 100 }, "class" } } },
  { "bincount uint8", function(a) return a:bincount() end, { { { 100 }, "uint8" } } },
  { "bincount empty", function(a) return a:bincount(nil, 3) end, { { { 0 }, "class" } } },
  -- weights are summed per bin in input order: the CPU's sums exactly
  { "bincount weights", function(a, w) return a:bincount(w) end, { { { 3000 }, "class" }, { 3000 } },
    { grad = false, tol = 0 } },
  { "bincount weights float64", function(a, w) return a:bincount(w, 12) end, { { { 500 }, "class" }, { { 500 }, "f64" } },
    { grad = false, tol = 0 } },
  { "bincount int weights", function(a, w) return a:bincount(w) end, { { { 80 }, "class" }, { { 80 }, "int" } },
    { grad = false, tol = 0 } },
  { "unique", function(a) return a:unique { return_inverse = true, return_counts = true } end,
    { { { 40 }, "int" } } },
  { "unique wide range", function(a) return (a * 1000003):unique { return_inverse = true, return_counts = true } end,
    { { { 6, 7 }, "int" } } },
  { "unique float", function(a) return a:unique { return_inverse = true, return_counts = true } end,
    { { { 6, 7 }, "round" } }, { grad = false, tol = 0 } },
  { "unique nan", function(a) return a:unique { return_inverse = true, return_counts = true } end,
    { { { 60 }, "nan" } }, { grad = false, tol = 0 } },
  { "unique int32", function(a) return a:unique { return_counts = true } end, { { { 50 }, "int32" } } },
  { "unique uint8", function(a) return a:unique { return_inverse = true } end, { { { 50 }, "uint8" } } },
  { "unique bool", function(a) return a:unique { return_inverse = true, return_counts = true } end,
    { { { 20 }, "bool" } } },
  { "unique float64", function(a) return a:unique { return_inverse = true, return_counts = true } end,
    { { { 30 }, "f64" } }, { grad = false, tol = 0 } },
  { "unique empty", function(a) return a:unique { return_inverse = true, return_counts = true } end,
    { { { 0 }, "int" } } },

  -- normalisation
  { "batch_norm training", function(x, g, b)
      local mm, mv = dnn.zeros(4):to(x.device), dnn.ones(4):to(x.device)
      return F.batch_norm(x, mm, mv, g, b, { training = true })
    end, { { 6, 5, 4 }, { 4 }, { 4 } } },
  { "batch_norm inference", function(x, g, b, mm, mv)
      return F.batch_norm(x, mm, mv, g, b, { training = false })
    end, { { 6, 4 }, { 4 }, { 4 }, { 4 }, { { 4 }, "pos" } } },
  { "batch_norm channels_first", function(x)
      local mm, mv = dnn.zeros(3):to(x.device), dnn.ones(3):to(x.device)
      return F.batch_norm(x, mm, mv, nil, nil, { training = true, axis = 2 })
    end, { { 4, 3, 5, 5 } } },
  { "batch_norm many rows", function(x, g, b)
      local mm, mv = dnn.zeros(8):to(x.device), dnn.ones(8):to(x.device)
      return F.batch_norm(x, mm, mv, g, b, { training = true })
    end, { { 700, 8 }, { 8 }, { 8 } } },
  { "layer_norm", function(x, g, b) return F.layer_norm(x, g, b) end, { { 6, 5, 16 }, { 16 }, { 16 } } },
  { "layer_norm wide", function(x) return F.layer_norm(x) end, { { 3, 1000 } } },

  -- convolution and pooling (channels-last)
  { "conv2d 3x3 valid", function(x, w, b) return F.conv2d(x, w, b) end, { { 2, 7, 6, 3 }, { 3, 3, 3, 5 }, { 5 } } },
  { "conv2d same stride 2", function(x, w) return F.conv2d(x, w, nil, { strides = 2, padding = "same" }) end,
    { { 2, 9, 8, 4 }, { 3, 3, 4, 6 } } },
  { "conv2d dilated", function(x, w) return F.conv2d(x, w, nil, { dilation_rate = 2 }) end,
    { { 1, 9, 9, 2 }, { 3, 3, 2, 3 } } },
  { "conv2d groups", function(x, w, b) return F.conv2d(x, w, b, { groups = 2, padding = "same" }) end,
    { { 2, 6, 6, 4 }, { 3, 3, 2, 6 }, { 6 } } },
  { "conv2d 1x1", function(x, w, b) return F.conv2d(x, w, b) end, { { 2, 5, 5, 8 }, { 1, 1, 8, 4 }, { 4 } } },
  { "conv2d channels_first", function(x, w) return F.conv2d(x, w, nil, { data_format = "channels_first" }) end,
    { { 2, 3, 6, 6 }, { 3, 3, 3, 4 } } },
  { "max_pool2d", function(x) return F.max_pool2d(x) end, { { 2, 6, 7, 3 } } },
  { "max_pool2d overlapping", function(x) return F.max_pool2d(x, { pool_size = 3, strides = 1 }) end,
    { { 2, 6, 6, 3 } } },
  { "max_pool2d ties", function(x) return F.max_pool2d(x, { pool_size = 3, strides = 2, padding = "same" }) end,
    { { { 2, 7, 7, 2 }, "round" } } },
  { "avg_pool2d same", function(x) return F.avg_pool2d(x, { pool_size = 3, strides = 2, padding = "same" }) end,
    { { 2, 7, 6, 3 } } },
  { "global_avg_pool2d", function(x) return F.global_avg_pool2d(x) end, { { 2, 5, 5, 6 } } },
  { "adaptive_max_pool2d", function(x) return F.adaptive_max_pool2d(x, { 3, 2 }) end, { { 2, 7, 5, 3 } } },
  { "adaptive_avg_pool2d", function(x) return F.adaptive_avg_pool2d(x, { 2, 3 }) end, { { 2, 7, 5, 3 } } },

  -- random fills: counter-based, so both devices draw the same numbers
  { "uniform_", function(a) local c = dnn.zeros_like(a); c:uniform_(-2, 3); return c end, { { 1001 } },
    { seed = 5, grad = false } },
  { "normal_", function(a) local c = dnn.zeros_like(a); c:normal_(1, 2); return c end, { { 1001 } },
    { seed = 6, grad = false } },
  { "normal_ float64", function(a) local c = dnn.zeros_like(a); c:normal_(); return c end,
    { { { 333 }, "f64" } }, { seed = 7, grad = false } },
  { "bernoulli_", function(a) local c = dnn.zeros_like(a); c:bernoulli_(0.3); return c end, { { 1001 } },
    { seed = 8, grad = false } },
}

-- ---------------------------------------------------------------- running

local function results_of(...)
  local r = table.pack(...)
  local out = {}
  for i = 1, r.n do
    if type(r[i]) == "userdata" then out[#out + 1] = r[i] end
  end
  return out
end

-- Runs case c with inputs moved to `device`: outputs, then (when c checks
-- gradients) the inputs' gradients of sum(out * w) for fixed random weights w.
local function run_case(c, inputs, weights, device)
  local opts = c[4] or {}
  local xs = {}
  for i, x in ipairs(inputs) do
    local y = (opts.host and opts.host[i]) and x or x:to(device)
    if opts.grad ~= false and is_float(y) then
      y = y:detach()
      y.requires_grad = true
    end
    xs[i] = y
  end
  if opts.seed then dnn.manual_seed(opts.seed) end
  local outs = results_of(c[2](table.unpack(xs)))
  local grads = {}
  local want_grad = opts.grad ~= false and is_float(outs[1]) and outs[1].requires_grad
  if want_grad then
    local loss
    for i, o in ipairs(outs) do
      if is_float(o) and o.requires_grad then
        local w = weights[i]
        if not w then
          w = dnn.randn(table.unpack(o.shape))
          weights[i] = w
        end
        local term = (o * w:to(device)):sum()
        loss = loss and loss + term or term
      end
    end
    loss:backward()
    for i, x in ipairs(xs) do grads[i] = x.grad or false end
  end
  local plain = {}
  for i, o in ipairs(outs) do plain[i] = o:detach():cpu() end
  for i, g in ipairs(grads) do grads[i] = g and g:cpu() or false end
  return plain, grads
end

-- Compares device (got) with reference (want) results of case c; returns
-- nil when they agree, else a message naming the output and the error.
local function compare(c, got, want)
  local tol = (c[4] or {}).tol or 1e-6
  local function check(kind, i, a, b)
    if not a and not b then return nil end
    if not a or not b then return ("%s %d present on one device only"):format(kind, i) end
    local e, why = nmse(a, b)
    if e > tol or e ~= e then
      return ("%s %d: nmse %.3g > %.1g%s"):format(kind, i, e, tol, why and (" (" .. why .. ")") or "")
    end
  end
  if #got.outs ~= #want.outs then return ("%d outputs vs %d"):format(#got.outs, #want.outs) end
  for i = 1, #want.outs do
    local m = check("output", i, got.outs[i], want.outs[i])
    if m then return m end
  end
  for i = 1, math.max(#want.grads, #got.grads) do
    local m = check("gradient of input", i, got.grads[i], want.grads[i])
    if m then return m end
  end
end

-- Both sides of one case: fresh random inputs (seeded by the case's place).
local function parity(index, c, device)
  dnn.manual_seed(1000 + index)
  local inputs = {}
  for i, spec in ipairs(c[3]) do inputs[i] = make_input(spec) end
  local weights = {}
  dnn.manual_seed(2000 + index) -- the gradient weights
  local want_outs, want_grads = run_case(c, inputs, weights, "cpu")
  local got_outs, got_grads = run_case(c, inputs, weights, device)
  return compare(c, { outs = got_outs, grads = got_grads }, { outs = want_outs, grads = want_grads })
end

-- ---------------------------------------------------------------- specs

describe("dnn.cuda", function()
  it("reports what this build and machine have", function()
    assert.is_boolean(dnn.cuda.built)
    assert.equal(dnn.cuda.built, dnn.built_with_cuda)
    assert.is_boolean(dnn.cuda.is_available())
    assert.is_true(math.type(dnn.cuda.device_count()) == "integer")
    assert.equal(dnn.cuda.device_count() > 0, dnn.cuda.is_available())
    if not dnn.cuda.built then assert.is_false(dnn.cuda.is_available()) end
    -- cuDNN: its version when the backend was built with it (9.x here), else nil
    local v = dnn.cuda.cudnn_version()
    assert.is_true(v == nil or (math.type(v) == "integer" and v >= 8000), tostring(v))
    if not dnn.cuda.built then assert.is_nil(v) end
  end)

  it("lists the ops with CUDA kernels (none without the backend)", function()
    local k = dnn.cuda.kernels()
    if not dnn.cuda.built then
      assert.same({}, k)
      return
    end
    local have = {}
    for _, name in ipairs(k) do have[name] = true end
    for _, name in ipairs({ "add", "exp", "copy", "fill", "sum", "argmax", "var", "matmul", "softmax",
                            "linear", "linear_backward", "dropout", "optim_update", "uniform",
                            "masked_select", "masked_scatter", "sort", "topk", "bincount", "unique" }) do
      assert.is_true(have[name], name .. " has no CUDA kernel")
    end
  end)

  it("ports Philox bit for bit (host copy of the device code)", function()
    if not dnn.cuda.built then
      assert.is_nil(dnn.cuda._philox_mismatches())
      return
    end
    assert.equal(0, dnn.cuda._philox_mismatches())
  end)

  it("parses device names", function()
    assert.equal("cpu", dnn.cuda._parse_device("cpu"))
    assert.equal("cuda:0", dnn.cuda._parse_device("cuda"))
    assert.equal("cuda:2", dnn.cuda._parse_device("cuda:2"))
    assert.equal("cuda:1", dnn.cuda._parse_device(1))
    for _, bad in ipairs({ "gpu", "cuda:", "cuda:x", "cuda:-1", "cudax" }) do
      local ok, err = pcall(dnn.cuda._parse_device, bad)
      assert.is_false(ok, bad)
      assert.truthy(tostring(err):find("device", 1, true), err)
    end
  end)

  it("keeps t:to(dtype), t:to(other) and t:to('cpu') working", function()
    local t = dnn.tensor({ { 1.5, 2 }, { 3, 4 } })
    local c = t:to("cpu")
    assert.equal("cpu", c.device)
    assert.same(t:totable(), c:totable())
    assert.equal("float64", t:to("float64").dtype)
    assert.equal("int64", t:to({ dtype = "int64" }).dtype)
    local both = t:to({ device = "cpu", dtype = "float64" })
    assert.equal("float64", both.dtype)
    assert.equal("cpu", both.device)
    assert.equal("int32", t:to(dnn.tensor({ 1 }, { dtype = "int32" })).dtype)
    assert.same({ { 1.5, 2 }, { 3, 4 } }, t:cpu():totable())
  end)

  it("keeps a moved leaf trainable and refuses to move a graph's inner tensor", function()
    local w = dnn.randn(3)
    w.requires_grad = true
    local c = w:to("cpu")
    assert.is_true(c.requires_grad)
    if GPU then
      local g = w:cuda()
      assert.is_true(g.requires_grad)
      assert.is_true(g.is_leaf)
      local y = w * w
      local ok, err = pcall(function() return y:cuda() end)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("autograd graph", 1, true), err)
    end
  end)

  it("gives clear errors when no GPU is there", function()
    if GPU then return end
    local t = dnn.ones(2, 2)
    for _, f in ipairs({ function() return t:cuda() end, function() return t:to("cuda") end,
                         function() return t:to({ device = "cuda:0" }) end, function() return t:cuda(1) end }) do
      local ok, err = pcall(f)
      assert.is_false(ok)
      err = tostring(err)
      assert.truthy(err:find("not available", 1, true), err)
      assert.truthy(err:find("cuda", 1, true), err)
    end
    local ok, err = pcall(dnn.cuda.memory_stats)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("memory_stats", 1, true), err)
    ok, err = pcall(dnn.cuda.synchronize)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("synchronize", 1, true), err)
    dnn.cuda.empty_cache() -- a no-op without a GPU, as in PyTorch
    ok, err = pcall(dnn.set_default_device, "cuda")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("not available", 1, true), err)
    assert.equal("cpu", dnn.get_default_device())
  end)

  it("moves a model's weights in place (model:to)", function()
    local model = dnn.Sequential { dnn.layers.Dense { 4, input_shape = { 3 } }, dnn.layers.BatchNormalization {} }
    model:compile { optimizer = "adam", loss = "mse" }
    local w = model.weights[1]
    assert.equal(model, model:to("cpu"))
    assert.equal(w, model.weights[1])
    assert.equal("cpu", w.device)
    local ok, err = pcall(model.to, model, "tpu")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("unknown device", 1, true), err)
    if not GPU then
      ok, err = pcall(model.to, model, "cuda")
      assert.is_false(ok)
      assert.truthy(tostring(err):find("not available", 1, true), err)
      return
    end
    local before = w:clone()
    model:to("cuda")
    assert.equal(w, model.weights[1]) -- the same tensor, now on the GPU
    for _, v in ipairs(model.weights) do assert.equal("cuda:0", v.device) end
    assert.same(before:totable(), w:totable())
    model:to("cpu")
    assert.equal("cpu", w.device)
  end)

  it("takes set_allow_tf32 as a boolean", function()
    local before = dnn.cuda.allow_tf32()
    assert.is_false(before)
    dnn.cuda.set_allow_tf32(false)
    assert.is_false(dnn.cuda.allow_tf32())
    assert.has_error(function() dnn.cuda.set_allow_tf32("yes") end)
  end)
end)

describe("backend parity harness (CPU against CPU)", function()
  it("has a case for every kernel family", function()
    assert.is_true(#cases >= 150, "only " .. #cases .. " cases")
  end)

  it("rejects perturbed results, NaN and Inf mismatches, shape and dtype differences", function()
    local b = dnn.randn(100)
    assert.equal(0, nmse(b, b))
    local e = nmse(b + dnn.randn(100) * 1e-2, b)
    assert.is_true(e > 1e-6 and e < 1e-2, tostring(e))
    assert.is_true(nmse(b * (1 + 1e-7), b) < 1e-6)
    local nan = b:clone()
    nan[3] = 0 / 0
    local err, why = nmse(nan, b)
    assert.equal(math.huge, err)
    assert.truthy(why:find("NaN", 1, true))
    err, why = nmse(b, nan)
    assert.equal(math.huge, err)
    local inf, ninf = b:clone(), b:clone()
    inf[5], ninf[5] = math.huge, -math.huge
    assert.equal(0, nmse(inf, inf))
    err, why = nmse(inf, ninf)
    assert.equal(math.huge, err)
    assert.truthy(why:find("Inf", 1, true))
    err, why = nmse(b:view(10, 10), b)
    assert.truthy(why:find("shape", 1, true))
    err, why = nmse(b:double(), b)
    assert.truthy(why:find("dtype", 1, true))
    assert.equal(math.huge, (nmse(dnn.tensor({ 1, 2 }), dnn.tensor({ 1, 3 }))) == 0 and 0 or math.huge)
    assert.equal(math.huge, (nmse(dnn.tensor({ 1, 2 }, { dtype = "int64" }), dnn.tensor({ 1, 3 }, { dtype = "int64" }))))
  end)

  for index, c in ipairs(cases) do
    it("runs " .. c[1], function()
      local msg = parity(index, c, "cpu")
      assert.is_nil(msg, c[1] .. ": " .. tostring(msg))
    end)
  end
end)

describe("backend parity CPU vs CUDA #gpu", function()
  for index, c in ipairs(cases) do
    it(c[1] .. " #gpu", function()
      if not G.need(pending) then return end
      dnn.cuda.set_allow_tf32(false)
      local ok, msg = pcall(parity, index, c, "cuda")
      assert.is_true(ok, c[1] .. " raised: " .. tostring(msg))
      assert.is_nil(msg, c[1] .. ": " .. tostring(msg))
    end)
  end
end)

describe("CUDA device memory #gpu", function()
  it("caches blocks, counts copies and empties the cache", function()
    if not G.need(pending) then return end
    dnn.cuda.synchronize()
    collectgarbage()
    dnn.cuda.empty_cache()
    local s0 = dnn.cuda.memory_stats()
    assert.equal(0, s0.cached_bytes)
    local x = dnn.randn(1000, 1000)
    local g = x:cuda()
    local s1 = dnn.cuda.memory_stats()
    assert.equal(s0.h2d_copies + 1, s1.h2d_copies)
    assert.equal(s0.h2d_bytes + 4000000, s1.h2d_bytes)
    assert.is_true(s1.allocated_bytes >= s0.allocated_bytes + 4000000)
    local back = g:cpu()
    local s2 = dnn.cuda.memory_stats()
    assert.equal(s1.d2h_copies + 1, s2.d2h_copies)
    assert.same(x:totable()[7], back:totable()[7])
    -- a freed block serves the next allocation of that size (no cudaMalloc)
    g:close()
    local s3 = dnn.cuda.memory_stats()
    assert.is_true(s3.cached_bytes >= 4000000)
    local g2 = dnn.empty(1000, 1000):cuda()
    local s4 = dnn.cuda.memory_stats()
    assert.equal(s3.num_device_mallocs, s4.num_device_mallocs)
    assert.is_true(s4.num_cache_hits > s3.num_cache_hits)
    g2:close()
    dnn.cuda.empty_cache()
    local s5 = dnn.cuda.memory_stats()
    assert.equal(0, s5.cached_bytes)
    assert.is_true(s5.device_total_bytes > 0)
    dnn.cuda.synchronize()
  end)

  it("turns an impossible allocation into a Lua error and keeps working", function()
    if not G.need(pending) then return end
    local free = dnn.cuda.memory_stats().device_total_bytes
    local n = math.floor(free / 4) + (1 << 28)
    local ok, err = pcall(function() return dnn.empty(n):cuda() end)
    if ok then return end -- host memory may run out first; then the CPU said so
    assert.truthy(tostring(err):find("out of memory", 1, true), err)
    local ok2, err2 = pcall(function() return dnn.zeros(4):cuda() + dnn.ones(4):cuda() end)
    assert.is_true(ok2, tostring(err2))
    assert.same({ 1, 1, 1, 1 }, err2:cpu():totable())
  end)

  it("reads device values with item() and totable()", function()
    if not G.need(pending) then return end
    local t = dnn.tensor({ { 1, 2 }, { 3, 4 } }):cuda()
    assert.same({ { 1, 2 }, { 3, 4 } }, t:totable())
    assert.equal(10, t:sum():item())
    assert.equal("cuda:0", t:sum().device)
    local w = dnn.ones(3):cuda()
    w.requires_grad = true
    assert.equal(3, (w * w):sum():item()) -- a graph's output reads fine
  end)

  it("keeps ops on one device: mixing devices is an error naming the op", function()
    if not G.need(pending) then return end
    local a, b = dnn.ones(3):cuda(), dnn.ones(3)
    local ok, err = pcall(function() return a + b end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("add", 1, true), err)
    ok, err = pcall(dnn.mm, dnn.ones(2, 2):cuda(), dnn.ones(2, 2))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("mm", 1, true), err)
  end)

  it("reads elements and assigns through masks on the device (host copies, no device pointer on the host)", function()
    if not G.need(pending) then return end
    local c = dnn.arange(6):view(2, 3):cuda()
    assert.equal(5, c[2][3])
    assert.same({ 1, 5 }, dnn.tensor { c[1][2], 5 }:totable())
    local m = c:gt(2)
    c[m] = dnn.tensor { 7, 8, 9 }:cuda()
    assert.same({ { 0, 1, 2 }, { 7, 8, 9 } }, c:cpu():totable())
    c[m] = dnn.tensor { 4 }:cuda()
    assert.same({ { 0, 1, 2 }, { 4, 4, 4 } }, c:cpu():totable())
    local ok, err = pcall(function() c[m] = dnn.tensor { 1, 2 }:cuda() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("selects 3 elements", 1, true), err)
  end)

  it("finds nonzero positions of a device tensor as on the CPU", function()
    if not G.need(pending) then return end
    local t = dnn.randint(-1, 2, { 5, 4, 3 })
    local g = t:cuda():nonzero()
    assert.equal("cuda:0", g.device)
    assert.same(t:nonzero():totable(), g:cpu():totable())
  end)

  it("trains a Dense layer with Adam the same on both devices", function()
    if not G.need(pending) then return end
    local function train(device)
      dnn.manual_seed(3)
      local w = dnn.randn(20, 5):to(device)
      local b = dnn.zeros(5):to(device)
      w.requires_grad, b.requires_grad = true, true
      local x, y = dnn.randn(64, 20):to(device), dnn.randint(0, 5, { 64 }):to(device)
      local opt = dnn.optimizers.Adam { learning_rate = 1e-2 }
      for _ = 1, 20 do
        local loss = dnn.F.sparse_categorical_crossentropy(y, F.linear(x, w, b), { from_logits = true })
        if loss:dim() > 0 then loss = loss:mean() end
        local gw, gb = table.unpack(dnn.grad(loss, { w, b }))
        dnn.no_grad(function() opt:apply_gradients({ gw, gb }, { w, b }) end)
      end
      return w:detach():cpu(), b:detach():cpu()
    end
    local wc, bc = train("cpu")
    local wg, bg = train("cuda")
    assert.is_true(nmse(wg, wc) < 1e-6, tostring(nmse(wg, wc)))
    assert.is_true(nmse(bg, bc) < 1e-6, tostring(nmse(bg, bc)))
  end)
end)
