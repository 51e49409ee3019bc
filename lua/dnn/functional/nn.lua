-- dnn.F layers as functions (Keras semantics and argument names): linear
-- (Dense), batch_norm, layer_norm, dropout, embedding, and thin wrappers
-- concat/flatten/reshape.  Positional arguments first, keywords in one
-- options table; F.f(a, b, {k=v}) and F.f{a, b, k=v} both work.  Axes are
-- 1-based (negative from the end) and default to the last one.
local dnn = require "dnn"
local F = dnn.F
local nn = dnn.core._nn
local is_tensor = dnn.is_tensor

local function plain_table(v) return type(v) == "table" end -- tensors are userdata

-- Splits (...) into n positional values and the options table: f{a, b, k=v}
-- (one plain table holding both), or f(a, b, {k=v}) where the options are
-- the first plain table after the first argument (so optional tensors may be
-- left out: F.linear(x, w, {activation="relu"})).
local function split(op, n, known, ...)
  local a = table.pack(...)
  local pos, opts = {}, nil
  if a.n == 1 and plain_table(a[1]) and not plain_table(a[1][1]) then
    opts = a[1]
    for i = 1, n do pos[i] = opts[i] end
  else
    for i = 1, a.n do
      if i > 1 and plain_table(a[i]) then
        opts = a[i]
        break
      end
      if i <= n then pos[i] = a[i] end
    end
  end
  if opts then
    for k in pairs(opts) do
      if type(k) ~= "number" and not known[k] then
        local names = {}
        for name in pairs(known) do names[#names + 1] = name end
        table.sort(names)
        error(("%s: unknown option '%s' (known: %s)"):format(op, tostring(k), table.concat(names, ", ")), 3)
      end
    end
  end
  return pos, opts or {}
end

-- Engine codes of the activations the dense layer takes by name, with the
-- Keras default alpha (the engine fuses those whose derivative follows from
-- the output and records the rest as a second node; softmax and functions
-- are applied after it).
local FUSED = {}
do
  local code = nn.activations
  for name, c in pairs(code) do FUSED[name] = { c, 0 } end
  FUSED.gelu_tanh = nil
  FUSED.leaky_relu = { code.leaky_relu, 0.3 }
  FUSED.elu = { code.elu, 1.0 }
  FUSED.silu = { code.swish, 0 }
end
local nn_linear = nn.linear

local function unknown_option(op, key, known)
  local names = {}
  for name in pairs(known) do names[#names + 1] = name end
  table.sort(names)
  error(("%s: unknown option '%s' (known: %s)"):format(op, tostring(key), table.concat(names, ", ")), 3)
end

local LINEAR_OPTS = { activation = true }
-- F.linear(x, kernel, bias_or_nil, {activation=nil}): x @ kernel + bias with
-- kernel (in, out) as Keras stores Dense kernels, x (..., in).  One GEMM, one
-- pass for bias and activation; the backward is one pass plus two GEMMs.
-- (Written out by hand: it is the hot path of every dense network.)
function F.linear(x, kernel, bias, opts, ...)
  if type(x) == "table" and kernel == nil then -- F.linear{x, kernel, bias, activation=}
    opts = x
    x, kernel, bias = opts[1], opts[2], opts[3]
  elseif type(bias) == "table" then -- F.linear(x, kernel, {activation=})
    bias, opts = nil, bias
  end
  if select("#", ...) > 0 then error("linear: too many arguments (x, kernel, bias, options)", 2) end
  local act
  if opts ~= nil then
    if type(opts) ~= "table" then error(("linear: options must be a table, got %s"):format(type(opts)), 2) end
    for k in next, opts do
      if k ~= "activation" and type(k) ~= "number" then unknown_option("linear", k, LINEAR_OPTS) end
    end
    act = opts.activation
  end
  if act == nil then return nn_linear(x, kernel, bias) end
  local f = FUSED[act]
  if f then return nn_linear(x, kernel, bias, f[1], f[2]) end
  local fn = F.get_activation(act) -- raises for unknown names
  return fn(nn_linear(x, kernel, bias))
end
F.dense = F.linear

local BN_OPTS = { training = true, momentum = true, epsilon = true, axis = true }
-- F.batch_norm(x, moving_mean, moving_var, gamma_or_nil, beta_or_nil,
--   {training=false, momentum=0.99, epsilon=1e-3, axis=-1}) as Keras's
-- BatchNormalization: training normalises with the batch mean and biased
-- variance over every axis but `axis` and updates the moving statistics in
-- place (moving = moving * momentum + batch * (1 - momentum), biased batch
-- variance as in Keras 3); inference normalises with the moving statistics.
-- axis=2 is channels_first (NCHW).
function F.batch_norm(...)
  local p, o = split("batch_norm", 5, BN_OPTS, ...)
  return nn.batch_norm(p[1], p[2], p[3], p[4], p[5], o.axis or -1, o.training and true or false,
    o.momentum or 0.99, o.epsilon or 1e-3)
end

local LN_OPTS = { axis = true, epsilon = true }
-- F.layer_norm(x, gamma_or_nil, beta_or_nil, {axis=-1 or a list, epsilon=1e-3})
-- as Keras's LayerNormalization: gamma/beta have the normalised axes' shape.
function F.layer_norm(...)
  local p, o = split("layer_norm", 3, LN_OPTS, ...)
  return nn.layer_norm(p[1], p[2], p[3], o.axis or -1, o.epsilon or 1e-3)
end

local DROPOUT_OPTS = { training = true, seed = true, rate = true }
-- F.dropout(x, rate, {training=true, seed=nil}): inverted dropout (kept values
-- scaled by 1/(1-rate)).  The mask comes from the global generator (repeats
-- after dnn.manual_seed), or from `seed` alone when given (same mask every
-- call); training=false returns x itself.
function F.dropout(...)
  local p, o = split("dropout", 2, DROPOUT_OPTS, ...)
  local rate = p[2] or o.rate
  if rate == nil then error("dropout: give the rate (the fraction of inputs to drop)", 2) end
  local training = true
  if o.training ~= nil then training = o.training and true or false end
  return nn.dropout(p[1], rate, training, o.seed)
end

local NONE = {}
-- F.embedding(ids, weight): rows of weight (vocab, dim) at the 0-based integer
-- ids (any shape); the result has shape ids.shape .. {dim}.
function F.embedding(...)
  local p = split("embedding", 2, NONE, ...)
  return nn.embedding(p[1], p[2])
end

local CONCAT_OPTS = { axis = true }
-- F.concat(list, {axis=-1}) (Keras Concatenate; differentiable dnn.cat).
function F.concat(list, opts)
  if plain_table(list) and plain_table(list[1]) and opts == nil then list, opts = list[1], list end
  local _, o = split("concat", 0, CONCAT_OPTS, list, opts)
  if not plain_table(list) then
    error(("concat: expected a list of tensors, got %s"):format(is_tensor(list) and "a tensor" or type(list)), 2)
  end
  return dnn.cat(list, o.axis or -1)
end

local function batch_size(op, x)
  if not is_tensor(x) then error(("%s: the input must be a tensor, got %s"):format(op, type(x)), 3) end
  if x:dim() < 1 then error(op .. ": the input needs a batch axis (at least 1 dim), got a 0-d tensor", 3) end
  return x:size(1)
end

-- F.flatten(x): (batch, everything else), as Keras Flatten.
function F.flatten(x)
  if plain_table(x) then x = x[1] end
  local n = batch_size("flatten", x)
  local rest = 1
  for d = 2, x:dim() do rest = rest * x:size(d) end
  return x:reshape(n, rest)
end

-- F.reshape(x, target_shape): target_shape excludes the batch axis (Keras
-- Reshape); one entry may be -1.
function F.reshape(x, target)
  if plain_table(x) then x, target = x[1], x[2] end
  local n = batch_size("reshape", x)
  if not plain_table(target) then
    error(("reshape: target_shape must be a list of sizes without the batch axis, got %s"):format(
      is_tensor(target) and "a tensor" or type(target)), 2)
  end
  local shape = { n }
  for i = 1, #target do shape[i + 1] = target[i] end
  return x:reshape(shape)
end

-- F.transpose(x, axes): keras.ops.transpose; axes a permutation (1-based),
-- two dims to swap, or nothing to reverse every dim.
function F.transpose(x, a, b)
  if plain_table(x) then x, a, b = x[1], x[2] or x.axes, x[3] end
  if not is_tensor(x) then error(("transpose: expected a tensor, got %s"):format(type(x)), 2) end
  if plain_table(a) then return x:permute(a) end
  if a ~= nil then return x:transpose(a, b) end
  local perm = {}
  for i = 1, x:dim() do perm[i] = x:dim() + 1 - i end
  return x:dim() < 2 and x or x:permute(perm)
end

local ok, help = pcall(require, "dnn.help")
if ok and type(help) == "table" and help.add then
  local S = "Layers as functions (dnn.F)"
  help.add("dnn.F.transpose", "F.transpose(x, axes|d0, d1)", "Permutes (a list of 1-based axes), swaps two dims, or reverses all dims.", S)
  local function add(name, sig, doc) help.add("dnn.F." .. name, sig, doc, S) end
  add("linear", "F.linear(x, kernel, bias|nil, {activation=nil})",
    "x @ kernel + bias, kernel (in, out) as Keras's Dense, x (..., in); one GEMM plus one pass for bias and activation.")
  add("batch_norm", "F.batch_norm(x, moving_mean, moving_var, gamma|nil, beta|nil, {training=false, momentum=0.99, epsilon=1e-3, axis=-1})",
    "Keras BatchNormalization; training uses the batch mean and biased variance and updates the moving statistics in place (moving*momentum + batch*(1-momentum)); axis=2 for NCHW.")
  add("layer_norm", "F.layer_norm(x, gamma|nil, beta|nil, {axis=-1, epsilon=1e-3})",
    "Keras LayerNormalization over axis (an integer or a list); gamma/beta have those axes' shape.")
  add("dropout", "F.dropout(x, rate, {training=true, seed=nil})",
    "Inverted dropout (kept values scaled by 1/(1-rate)); the mask comes from the global generator, or from seed alone.")
  add("embedding", "F.embedding(ids, weight)", "Rows of weight (vocab, dim) at 0-based integer ids of any shape.")
  add("concat", "F.concat(list, {axis=-1})", "Concatenation along axis (Keras Concatenate).")
  add("flatten", "F.flatten(x)", "(batch, everything else), as Keras Flatten.")
  add("reshape", "F.reshape(x, target_shape)", "Reshape keeping the batch axis; target_shape excludes it (one -1 allowed).")
end

return F
