-- dnn.F activations (Keras names and defaults).  Each is one differentiable
-- engine op whose backward is one fused kernel (src/cpu/nn_activation.c);
-- softmax/log_softmax subtract the max first.  Both call spellings work:
-- F.leaky_relu(x, {alpha=0.1}) and F.leaky_relu{x, alpha=0.1}.
local dnn = require "dnn"
local F = dnn.F
local nn = dnn.core._nn
local code = nn.activations -- engine codes by name
local activation, is_tensor = nn.activation, dnn.is_tensor

-- x and the options table from either spelling; unknown option names are an
-- error listing the known ones (a typo must not pass silently).
local function args(op, x, opts, known)
  if type(x) == "table" then x, opts = x[1], x end -- tensors are userdata, so this is f{x, k=v}
  if opts == nil then return x, nil end
  if type(opts) ~= "table" then
    error(("%s: options must be a table, got %s"):format(op, is_tensor(opts) and "a tensor" or type(opts)), 3)
  end
  for k in next, opts do
    if type(k) ~= "number" and not known[k] then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      error(("%s: unknown option '%s' (known: %s)"):format(op, tostring(k),
        #names > 0 and table.concat(names, ", ") or "none"), 3)
    end
  end
  return x, opts
end

local NONE = {}

-- The plain activations: F.name(x).
local function simple(name, engine_name)
  local c = code[engine_name or name]
  F[name] = function(x, opts)
    if opts ~= nil or type(x) == "table" then x = args(name, x, opts, NONE) end
    return activation(x, c)
  end
end
for _, name in ipairs({ "selu", "softplus", "swish", "tanh", "sigmoid", "softsign", "exponential" }) do
  simple(name)
end
simple("silu", "swish")
-- Keras 2's hard_sigmoid: clip(0.2 x + 0.5, 0, 1) (Keras 3 and PyTorch use relu6(x + 3) / 6).
simple("hard_sigmoid")

local RELU_OPTS = { alpha = true, max_value = true, threshold = true }
-- F.relu(x, {alpha=0, max_value=nil, threshold=0}) as keras.activations.relu:
-- max_value for x >= max_value, x for threshold <= x < max_value, alpha (x - threshold) below.
local relu_code = code.relu
function F.relu(x, opts)
  if opts == nil and type(x) ~= "table" then return activation(x, relu_code) end
  x, opts = args("relu", x, opts, RELU_OPTS)
  local alpha, maxv, thr = 0, nil, 0
  if opts then alpha, maxv, thr = opts.alpha or 0, opts.max_value, opts.threshold or 0 end
  if thr == 0 and maxv == nil then
    if alpha == 0 then return activation(x, code.relu) end
    return activation(x, code.leaky_relu, alpha)
  end
  local y = thr == 0 and activation(x, code.leaky_relu, alpha)
    or dnn.where(x:ge(thr), x, alpha ~= 0 and (x - thr) * alpha or x * 0)
  if maxv ~= nil then y = y:clamp(nil, maxv) end
  return y
end

local LEAKY_OPTS = { alpha = true, negative_slope = true }
-- F.leaky_relu(x, {alpha=0.3}): Keras's LeakyReLU default; negative_slope= as PyTorch.
function F.leaky_relu(x, opts)
  x, opts = args("leaky_relu", x, opts, LEAKY_OPTS)
  local alpha = opts and (opts.alpha or opts.negative_slope) or 0.3
  return activation(x, code.leaky_relu, alpha)
end

local ELU_OPTS = { alpha = true }
function F.elu(x, opts)
  x, opts = args("elu", x, opts, ELU_OPTS)
  return activation(x, code.elu, opts and opts.alpha or 1.0)
end

local GELU_OPTS = { approximate = true }
-- F.gelu(x, {approximate=false}): exact x Phi(x); approximate=true: the tanh form.
function F.gelu(x, opts)
  x, opts = args("gelu", x, opts, GELU_OPTS)
  return activation(x, (opts and opts.approximate) and code.gelu_tanh or code.gelu)
end

local SOFTMAX_OPTS = { axis = true }
-- softmax output -> its input, for the crossentropies' logits trick (weak
-- keys: an entry lives as long as the output does)
F.softmax_logits = setmetatable({}, { __mode = "k" })
function F.softmax(x, opts)
  x, opts = args("softmax", x, opts, SOFTMAX_OPTS)
  local axis = opts and opts.axis or -1
  local y = nn.softmax(x, axis, false)
  if axis == -1 or axis == x:dim() then F.softmax_logits[y] = x end
  return y
end

function F.log_softmax(x, opts)
  x, opts = args("log_softmax", x, opts, SOFTMAX_OPTS)
  return nn.softmax(x, opts and opts.axis or -1, true)
end

-- keras.activations.linear: the identity (F.linear is the dense layer).
local function identity(x) return x end

-- Keras names -> functions, for F.get_activation and the layers' activation=.
local by_name = {
  relu = F.relu, leaky_relu = F.leaky_relu, elu = F.elu, selu = F.selu, gelu = F.gelu,
  softplus = F.softplus, swish = F.swish, silu = F.silu, tanh = F.tanh, sigmoid = F.sigmoid,
  hard_sigmoid = F.hard_sigmoid, softsign = F.softsign, exponential = F.exponential,
  linear = identity, softmax = F.softmax, log_softmax = F.log_softmax,
}

-- F.get_activation(name_or_fn): the function for a Keras activation name, a
-- function (or callable) as it is, nil as the identity ("linear").
function F.get_activation(a)
  if a == nil then return identity end
  if type(a) == "function" then return a end
  local mt = type(a) == "table" and getmetatable(a)
  if mt and mt.__call then return a end
  if type(a) ~= "string" then
    error(("get_activation: expected an activation name or a function, got %s"):format(type(a)), 2)
  end
  local fn = by_name[a]
  if not fn then
    local names = {}
    for n in pairs(by_name) do names[#names + 1] = n end
    table.sort(names)
    error(("get_activation: unknown activation '%s' (known: %s)"):format(a, table.concat(names, ", ")), 2)
  end
  return fn
end

local ok, help = pcall(require, "dnn.help")
if ok and type(help) == "table" and help.add then
  local S = "Activations (dnn.F)"
  local function add(name, sig, doc) help.add("dnn.F." .. name, sig, doc, S) end
  add("relu", "F.relu(x, {alpha=0, max_value=nil, threshold=0})",
    "max(x, 0); with options, Keras's relu: max_value above, alpha (x - threshold) below threshold.")
  add("leaky_relu", "F.leaky_relu(x, {alpha=0.3})", "x > 0 ? x : alpha x (Keras's LeakyReLU default; negative_slope= as PyTorch).")
  add("elu", "F.elu(x, {alpha=1})", "x > 0 ? x : alpha (e^x - 1).")
  add("selu", "F.selu(x)", "scale * elu(x, 1.6733), scale = 1.0507.")
  add("gelu", "F.gelu(x, {approximate=false})", "x Phi(x) with the exact erf; approximate=true: the tanh form.")
  add("softplus", "F.softplus(x)", "log(1 + e^x), stable for large |x|.")
  add("swish", "F.swish(x)", "x sigmoid(x); F.silu is the same.")
  add("tanh", "F.tanh(x)", "Hyperbolic tangent (fused backward 1 - y^2).")
  add("sigmoid", "F.sigmoid(x)", "1 / (1 + e^-x).")
  add("hard_sigmoid", "F.hard_sigmoid(x)", "Keras 2's clip(0.2 x + 0.5, 0, 1) (Keras 3 and PyTorch use relu6(x + 3) / 6).")
  add("softsign", "F.softsign(x)", "x / (1 + |x|).")
  add("exponential", "F.exponential(x)", "e^x.")
  add("softmax", "F.softmax(x, {axis=-1})", "e^x / sum e^x along axis (max subtracted first); fused backward.")
  add("log_softmax", "F.log_softmax(x, {axis=-1})", "x - logsumexp(x) along axis; fused backward.")
  add("get_activation", "F.get_activation(name_or_fn)",
    "The function for a Keras activation name (\"relu\", \"softmax\", \"linear\" = identity, ...); functions pass through.")
end

return F
