-- dnn.losses: Keras 2.15's losses, as functions and as callable objects.
--
--   dnn.losses.binary_crossentropy(y_true, y_pred, {from_logits=true})  -- per-sample losses
--   local bce = dnn.losses.BinaryCrossentropy{from_logits=true, reduction="sum"}
--   local loss = bce(y_true, y_pred[, sample_weight])                   -- reduced as Keras does
--   dnn.losses.get("sparse_categorical_crossentropy")                   -- what compile() uses
--
-- Functions return one loss per sample (the mean over the last axis where
-- Keras takes it; the crossentropies reduce their class axis).  The three
-- crossentropies are fused C kernels (src/core/ops_loss.c): log-sum-exp for
-- logits, Keras's clipping to [1e-7, 1 - 1e-7] for probabilities, and one
-- backward kernel each (softmax - onehot for sparse logits).  The regression
-- losses are compositions of differentiable tensor ops.
--
-- Shapes: y_true takes y_pred's shape; a y_true with one dim fewer (or one
-- more) than y_pred where the extra trailing dim is 1, e.g. [N] against [N,1],
-- is reshaped to y_pred's shape (Keras's objects squeeze y_pred instead, which
-- gives the same reduced value but loses per-sample weights); y_true may also
-- broadcast to y_pred's shape.  Anything else is an error naming both shapes.
-- Sparse labels are 0-based class ids (integer or integral float tensors)
-- shaped as y_pred without its class axis (or with a 1 in its place).
-- One deliberate difference: categorical label_smoothing spreads ls over the
-- classes along `axis` (ls / C); Keras divides by the size of the last dim
-- even when axis names another one, which is a bug for channels-first data.
--
-- NaN and Inf (a documented result, not an error): losses compute as Keras
-- and PyTorch do, so a NaN or Inf in y_pred or y_true gives NaN/Inf in the
-- loss and its gradients, which training loops and callbacks (TerminateOnNaN)
-- can see.  From finite inputs the crossentropies never produce NaN or Inf:
-- logits of any size are handled by log-sum-exp and the stable sigmoid form,
-- probabilities of exactly 0 or 1 by the clipping.  Inputs outside a loss's
-- domain give NaN as in Keras (e.g. poisson with y_pred < 0, categorical
-- crossentropy on probabilities that sum to 0).  dnn.losses.check_finite(v)
-- turns such a value into a clear error for code that wants one.
local dnn = require "dnn"
local core_xent = dnn.core._losses.xent

-- Keras's logits trick: when y_pred is the direct output of a softmax
-- (F.softmax records its input in F.softmax_logits), a crossentropy told
-- from_logits=false uses those logits instead of clipped probabilities, so a
-- confidently wrong prediction still gets a gradient (tf.keras does the same
-- through _keras_logits).
local function xent(kind, y_true, y_pred, from_logits, smoothing, axis, ignore)
  if not from_logits and kind ~= "binary" then
    local logits = dnn.F.softmax_logits and dnn.F.softmax_logits[y_pred]
    if logits and (axis == -1 or axis == y_pred:dim()) then
      return core_xent(kind, y_true, logits, true, smoothing, axis, ignore)
    end
  end
  return core_xent(kind, y_true, y_pred, from_logits, smoothing, axis, ignore)
end

local losses = {}
local EPSILON = 1e-7 -- Keras's backend.epsilon()

-- ---------------------------------------------------------------- helpers

local function is_plain_table(v) return type(v) == "table" and not dnn.is_tensor(v) end

local function shape_str(t)
  local s = dnn.is_tensor(t) and t:size() or t
  local parts = {}
  for i = 1, #s do parts[i] = tostring(s[i]) end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- f(y_true, y_pred, {opts}) or f{y_true, y_pred, key=v}.
local function call_args(name, a, b, c)
  if b == nil and c == nil and is_plain_table(a) then
    local yt, yp = a[1], a[2]
    if yt == nil then yt = a.y_true end
    if yp == nil then yp = a.y_pred end
    return yt, yp, a
  end
  if c ~= nil and not is_plain_table(c) then
    error(("%s: options must be a table, got %s"):format(name, dnn.is_tensor(c) and "a tensor" or type(c)), 3)
  end
  return a, b, c or {}
end

-- Rejects options the function does not know (a typo would be ignored otherwise).
local function check_opts(name, opts, known)
  for k in pairs(opts) do
    if k ~= 1 and k ~= 2 and k ~= "y_true" and k ~= "y_pred" and known[k] == nil then
      local list = sorted_keys(known)
      error(("%s: unknown option '%s' (%s)"):format(name, tostring(k),
        #list > 0 and "known: " .. table.concat(list, ", ") or "it takes no options"), 3)
    end
  end
end

local function opt_bool(name, opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "boolean" then
    error(("%s: %s must be true or false, got %s"):format(name, key, type(v)), 3)
  end
  return v
end

local function opt_number(name, opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" then error(("%s: %s must be a number, got %s"):format(name, key, type(v)), 3) end
  return v
end

local function opt_axis(name, opts, default)
  local v = opts.axis
  if v == nil then return default end
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
    error(("%s: axis must be an integer (1-based, or -1 for the last), got %s"):format(name, tostring(v)), 3)
  end
  v = math.tointeger(v)
  if v == 0 then
    error(("%s: axis 0 is not valid: axes are 1-based (1 is the first, -1 the last)"):format(name), 3)
  end
  return v
end

-- y_pred: a float tensor (Lua numbers and tables become float32).
local function to_pred(name, v)
  if dnn.is_tensor(v) then
    if v.dtype ~= "float32" and v.dtype ~= "float64" then
      error(("%s: y_pred must be float32 or float64, got %s (convert with :float())"):format(name, v.dtype), 3)
    end
    return v
  end
  if type(v) == "number" or type(v) == "table" then return dnn.tensor(v, { dtype = "float32" }) end
  error(("%s: y_pred must be a tensor, got %s"):format(name, type(v)), 3)
end

-- y_true in y_pred's dtype and shape (see the header for the accepted shapes).
local function to_true(name, v, pred)
  if v == nil then error(("%s: y_true is missing"):format(name), 3) end
  if type(v) == "number" or type(v) == "boolean" then
    return dnn.full_like(pred, type(v) == "boolean" and (v and 1 or 0) or v)
  end
  if type(v) == "table" and not dnn.is_tensor(v) then v = dnn.tensor(v, { dtype = pred.dtype }) end
  if not dnn.is_tensor(v) then error(("%s: y_true must be a tensor, got %s"):format(name, type(v)), 3) end
  if v.dtype ~= pred.dtype then v = v:to(pred.dtype) end
  local ts, ps = v:size(), pred:size()
  local nt, np = #ts, #ps
  local same = nt == np
  for i = 1, math.min(nt, np) do
    if ts[i] ~= ps[i] then same = false end
  end
  if same then return v end
  if nt == np - 1 and ps[np] == 1 then -- [N] against [N,1]
    local fits = true
    for i = 1, nt do fits = fits and ts[i] == ps[i] end
    if fits then return v:reshape(ps) end
  elseif nt == np + 1 and ts[nt] == 1 then -- [N,1] against [N]
    local fits = true
    for i = 1, np do fits = fits and ts[i] == ps[i] end
    if fits then return v:reshape(ps) end
  end
  local broadcasts = nt <= np
  for i = 1, nt do
    local d = ts[nt - i + 1]
    if broadcasts and d ~= 1 and d ~= ps[np - i + 1] then broadcasts = false end
  end
  if broadcasts then return v:expand(ps) end
  error(("%s: y_true %s and y_pred %s have different shapes (y_true must have y_pred's shape or broadcast to it)")
    :format(name, shape_str(ts), shape_str(ps)), 3)
end

-- Class ids: integer or integral float tensors (Lua tables become int64).
local function to_labels(name, v)
  if dnn.is_tensor(v) then return v end
  if type(v) == "number" or type(v) == "table" then return dnn.tensor(v) end
  error(("%s: y_true (class ids) must be a tensor, got %s"):format(name, type(v)), 3)
end

-- ---------------------------------------------------------------- functions

local fns = {}      -- canonical name -> function
local fn_names = {} -- function -> canonical name

local function define(name, known, body)
  local f = function(a, b, c)
    local yt, yp, opts = call_args(name, a, b, c)
    check_opts(name, opts, known)
    yp = to_pred(name, yp)
    return body(name, yt, yp, opts)
  end
  fns[name] = f
  fn_names[f] = name
  losses[name] = f
  return f
end

-- Per-sample losses from the elementwise term over the last axis.
local function dense(name, term)
  return define(name, {}, function(nm, yt, yp)
    return term(to_true(nm, yt, yp), yp):mean(-1)
  end)
end

define("binary_crossentropy", { from_logits = false, label_smoothing = 0, axis = -1 }, function(nm, yt, yp, o)
  return xent("binary", to_true(nm, yt, yp), yp, opt_bool(nm, o, "from_logits", false),
    opt_number(nm, o, "label_smoothing", 0), opt_axis(nm, o, -1))
end)

define("categorical_crossentropy", { from_logits = false, label_smoothing = 0, axis = -1 }, function(nm, yt, yp, o)
  return xent("categorical", to_true(nm, yt, yp), yp, opt_bool(nm, o, "from_logits", false),
    opt_number(nm, o, "label_smoothing", 0), opt_axis(nm, o, -1))
end)

-- Returns the losses and, with ignore_class, the mask of counted samples
-- (what Keras attaches as _keras_mask; the Loss object averages over it).
define("sparse_categorical_crossentropy", { from_logits = false, axis = -1, ignore_class = false },
  function(nm, yt, yp, o)
    local ignore = o.ignore_class
    if ignore ~= nil and math.type(ignore) ~= "integer" and not (type(ignore) == "number" and ignore == math.floor(ignore)) then
      error(("%s: ignore_class must be an integer class id, got %s"):format(nm, tostring(ignore)), 3)
    end
    ignore = ignore and math.tointeger(ignore)
    local labels = to_labels(nm, yt)
    local l = xent("sparse", labels, yp, opt_bool(nm, o, "from_logits", false), 0, opt_axis(nm, o, -1), ignore)
    if ignore == nil then return l end
    return l, labels:ne(ignore):reshape(l:size())
  end)

dense("mean_squared_error", function(t, p) return (p - t):square() end)

dense("mean_absolute_error", function(t, p) return (p - t):abs() end)

dense("mean_absolute_percentage_error", function(t, p)
  return ((t - p) / t:abs():clamp{ min = EPSILON }):abs() * 100
end)

dense("mean_squared_logarithmic_error", function(t, p)
  return (p:clamp{ min = EPSILON }:log1p() - t:clamp{ min = EPSILON }:log1p()):square()
end)

define("huber", { delta = 1.0 }, function(nm, yt, yp, o)
  local delta = opt_number(nm, o, "delta", 1.0)
  local err = yp - to_true(nm, yt, yp)
  local abs = err:abs()
  return dnn.where(abs:le(delta), err:square() * 0.5, abs * delta - 0.5 * delta * delta):mean(-1)
end)

-- 0/1 labels become -1/1 (when every label is 0 or 1, as Keras checks).
local function pm_one(t)
  if t:numel() > 0 and t:eq(0):logical_or(t:eq(1)):all():item() then return t * 2 - 1 end
  return t
end

dense("hinge", function(t, p) return (1 - pm_one(t) * p):relu() end)

dense("squared_hinge", function(t, p) return (1 - pm_one(t) * p):relu():square() end)

define("categorical_hinge", {}, function(nm, yt, yp)
  local t = to_true(nm, yt, yp)
  local pos = (t * yp):sum(-1)
  local neg = ((1 - t) * yp):amax(-1)
  return (neg - pos + 1):relu()
end)

define("kl_divergence", {}, function(nm, yt, yp)
  local t = to_true(nm, yt, yp):clamp(EPSILON, 1)
  return (t * (t / yp:clamp(EPSILON, 1)):log()):sum(-1)
end)

dense("poisson", function(t, p) return p - t * (p + EPSILON):log() end)

-- -sum(l2_normalize(y_true) * l2_normalize(y_pred)) along axis; a zero
-- vector gives 0 (its norm is floored at 1e-6, as tf.math.l2_normalize).
local function l2_normalize(x, axis)
  return x * (x:square():sum(axis, true):clamp{ min = 1e-12 }):rsqrt()
end
define("cosine_similarity", { axis = -1 }, function(nm, yt, yp, o)
  local axis = opt_axis(nm, o, -1)
  local t = to_true(nm, yt, yp)
  if axis > yp:dim() or axis < -yp:dim() then
    error(("%s: axis %d out of range for y_pred %s (axes are 1..%d or -%d..-1)")
      :format(nm, axis, shape_str(yp), yp:dim(), yp:dim()), 3)
  end
  return -(l2_normalize(t, axis) * l2_normalize(yp, axis)):sum(axis)
end)

-- log(cosh(x)) = |x| + log1p(exp(-2|x|)) - log 2: no overflow for any x
-- (the same value as Keras's x + softplus(-2x) - log 2).
local LOG2 = math.log(2)
dense("log_cosh", function(t, p)
  local a = (p - t):abs()
  return a + (a * -2):exp():log1p() - LOG2
end)

-- Aliases, as Keras has them.
local aliases = {
  bce = "binary_crossentropy", BCE = "binary_crossentropy",
  mse = "mean_squared_error", MSE = "mean_squared_error",
  mae = "mean_absolute_error", MAE = "mean_absolute_error",
  mape = "mean_absolute_percentage_error", MAPE = "mean_absolute_percentage_error",
  msle = "mean_squared_logarithmic_error", MSLE = "mean_squared_logarithmic_error",
  kld = "kl_divergence", KLD = "kl_divergence", kullback_leibler_divergence = "kl_divergence",
  logcosh = "log_cosh", huber_loss = "huber",
}
for alias, target in pairs(aliases) do losses[alias] = fns[target] end

-- ---------------------------------------------------------------- objects

losses.Reduction = { AUTO = "auto", NONE = "none", SUM = "sum", SUM_OVER_BATCH_SIZE = "sum_over_batch_size" }
local REDUCTIONS = { auto = true, none = true, sum = true, sum_over_batch_size = true }

local classes = {} -- class name -> class

-- Loss: the base class.  Subclasses implement call(y_true, y_pred) returning
-- per-sample losses (and optionally a mask of counted samples); calling an
-- instance applies sample_weight and the reduction.
local Loss = { class_name = "Loss", params = {} }
Loss.__index = Loss
Loss.__name = "dnn.losses.Loss"
losses.Loss = Loss

local class_mt = {}
class_mt.__index = function(cls, k) return rawget(cls, "super") and rawget(cls, "super")[k] end
class_mt.__call = function(cls, ...)
  local self = setmetatable({}, cls)
  self:init(...)
  return self
end
class_mt.__tostring = function(cls) return "dnn.losses." .. cls.class_name end
setmetatable(Loss, class_mt)

-- Cls.from_config(config) (or Cls:from_config(config)): a new instance.
local function add_from_config(cls)
  cls.from_config = function(a, b)
    local config = a
    if a == cls then config = b end
    return cls(config or {})
  end
end
add_from_config(Loss)

-- A subclass: local MyLoss = dnn.losses.Loss:extend("MyLoss").
function Loss:extend(class_name, fields)
  local cls = fields or {}
  for k, v in pairs(self) do -- metamethods are looked up raw: copy them
    if type(k) == "string" and k:sub(1, 2) == "__" and k ~= "__index" and cls[k] == nil then cls[k] = v end
  end
  cls.__index = cls
  cls.super = self
  cls.class_name = class_name or "CustomLoss"
  cls.__name = "dnn.losses." .. cls.class_name
  setmetatable(cls, class_mt)
  add_from_config(cls)
  return cls
end

-- init(opts) or init(positional..., opts): the class's params (Keras order),
-- then reduction and name.
function Loss:init(...)
  local cls = getmetatable(self)
  local cname = cls.class_name
  local args = table.pack(...)
  local opts = {}
  if args.n >= 1 and is_plain_table(args[args.n]) then
    opts = args[args.n]
    args.n = args.n - 1
  end
  local positional = {}
  for i = 1, args.n do positional[i] = args[i] end
  for _, v in ipairs(opts) do positional[#positional + 1] = v end
  local order, known = {}, { reduction = true, name = true }
  for _, p in ipairs(cls.params or {}) do
    order[#order + 1] = p[1]
    known[p[1]] = true
  end
  order[#order + 1] = "reduction"
  order[#order + 1] = "name"
  if #positional > #order then
    error(("%s: too many arguments (%d; it takes %s)"):format(cname, #positional, table.concat(order, ", ")), 3)
  end
  local values = {}
  for k, v in pairs(opts) do
    if math.type(k) ~= "integer" then
      if not known[k] and k ~= "fn" then -- "fn": written by Keras's v3 saving; the class knows its function
        error(("%s: unknown option '%s' (known: %s)"):format(cname, tostring(k), table.concat(order, ", ")), 3)
      end
      values[k] = v
    end
  end
  for i, v in ipairs(positional) do values[order[i]] = v end
  local reduction = values.reduction
  if reduction == nil then reduction = "auto" end
  if type(reduction) ~= "string" or not REDUCTIONS[reduction] then
    error(("%s: unknown reduction '%s' (expected auto, none, sum or sum_over_batch_size)")
      :format(cname, tostring(reduction)), 3)
  end
  self.reduction = reduction
  local name = values.name
  if name ~= nil and type(name) ~= "string" then
    error(("%s: name must be a string, got %s"):format(cname, type(name)), 3)
  end
  self.name = name or cls.default_name or cname
  self.fn_kwargs = {}
  for _, p in ipairs(cls.params or {}) do
    local key, default, check = p[1], p[2], p[3]
    local v = values[key]
    if v == nil then v = default end
    if check then v = check(cname, key, v) end
    self.fn_kwargs[key] = v
    self[key] = v
  end
end

-- Per-sample losses; subclasses override (or set cls.fn).
function Loss:call(y_true, y_pred)
  local fn = getmetatable(self).fn
  if not fn then error(("%s: implement call(y_true, y_pred)"):format(self.name), 2) end
  return fn(y_true, y_pred, self.fn_kwargs)
end

-- sample_weight as a tensor of the losses' dtype whose rank fits the losses
-- (Keras's squeeze_or_expand_dimensions), or a number.
local function weights_for(name, sw, l)
  if type(sw) == "number" then return sw end
  if is_plain_table(sw) then sw = dnn.tensor(sw, { dtype = l.dtype }) end
  if not dnn.is_tensor(sw) then
    error(("%s: sample_weight must be a tensor, a table or a number, got %s"):format(name, type(sw)), 4)
  end
  if sw.dtype ~= l.dtype then sw = sw:to(l.dtype) end
  local ws, ls = sw:size(), l:size()
  if #ws > 0 then
    if #ws == #ls + 1 and ws[#ws] == 1 then
      sw = sw:squeeze(-1)
    elseif #ws == #ls - 1 then
      sw = sw:unsqueeze(-1)
    end
  end
  ws = sw:size()
  local fits = #ws <= #ls
  for i = 1, #ws do
    local d = ws[#ws - i + 1]
    if fits and d ~= 1 and d ~= ls[#ls - i + 1] then fits = false end
  end
  if not fits then
    error(("%s: sample_weight %s does not fit the per-sample losses %s (give one weight per sample, or a shape that broadcasts to it)")
      :format(name, shape_str(sw:size()), shape_str(ls)), 4)
  end
  return sw
end

-- Keras's compute_weighted_loss (with apply_valid_mask for ignore_class).
local function reduce_weighted(self, l, sw, mask)
  local reduction = self.reduction == "auto" and "sum_over_batch_size" or self.reduction
  if sw ~= nil then sw = weights_for(self.name, sw, l) end
  if mask ~= nil then
    mask = mask:to(l.dtype)
    if reduction == "sum_over_batch_size" then
      local valid = mask:sum():item()
      if valid > 0 then mask = mask * (mask:numel() / valid) end
    end
    sw = sw == nil and mask or mask * sw
  end
  local weighted = sw == nil and l or l * sw
  if reduction == "none" then return weighted end
  if reduction == "sum" then return weighted:sum() end
  local n = weighted:numel()
  if n == 0 then return weighted:sum() end
  if sw == nil then return weighted:mean() end
  return weighted:sum() / n
end

-- loss(y_true, y_pred[, sample_weight]), loss(y_true, y_pred, {sample_weight=}),
-- loss{y_true, y_pred, sample_weight=}.
function Loss.__call(self, a, b, c, ...)
  local yt, yp, sw = a, b, c
  if b == nil and c == nil and is_plain_table(a) then
    yt, yp, sw = a[1], a[2], a.sample_weight
    if yt == nil then yt = a.y_true end
    if yp == nil then yp = a.y_pred end
  elseif is_plain_table(c) and #c == 0 and next(c) ~= nil then
    for k in pairs(c) do
      if k ~= "sample_weight" then
        error(("%s: unknown option '%s' (known: sample_weight)"):format(self.name, tostring(k)), 2)
      end
    end
    sw = c.sample_weight
  end
  if select("#", ...) > 0 then error(("%s: takes y_true, y_pred and an optional sample_weight"):format(self.name), 2) end
  if yp == nil then error(("%s: y_pred is missing (call it as loss(y_true, y_pred))"):format(self.name), 2) end
  local l, mask = self:call(yt, yp)
  if not dnn.is_tensor(l) then
    error(("%s: call() must return a tensor of losses, got %s"):format(self.name, type(l)), 2)
  end
  return reduce_weighted(self, l, sw, mask)
end

function Loss.__tostring(self)
  return ("dnn.losses.%s{name=%q, reduction=%q}"):format(getmetatable(self).class_name, self.name, self.reduction)
end

-- Keras's config dict: name, reduction and the loss's own arguments.
function Loss:get_config()
  local cfg = { name = self.name, reduction = self.reduction }
  for k, v in pairs(self.fn_kwargs or {}) do cfg[k] = v end
  return cfg
end


-- Option checks for constructor params.
local function check_bool(cname, key, v)
  if type(v) ~= "boolean" then error(("%s: %s must be true or false, got %s"):format(cname, key, type(v)), 5) end
  return v
end
local function check_number(cname, key, v)
  if type(v) ~= "number" then error(("%s: %s must be a number, got %s"):format(cname, key, type(v)), 5) end
  return v
end
local function check_smoothing(cname, key, v)
  check_number(cname, key, v)
  if v < 0 or v > 1 then error(("%s: label_smoothing must be in [0, 1], got %s"):format(cname, tostring(v)), 5) end
  return v
end
local function check_axis(cname, key, v)
  if math.type(v) ~= "integer" or v == 0 then
    error(("%s: %s must be a nonzero integer (1-based, or -1 for the last), got %s"):format(cname, key, tostring(v)), 5)
  end
  return v
end
local function check_class_id(cname, key, v)
  if v ~= nil and math.type(v) ~= "integer" then
    error(("%s: %s must be an integer class id or nil, got %s"):format(cname, key, tostring(v)), 5)
  end
  return v
end

-- The built-in classes: LossFunctionWrapper subclasses of Keras.
local function wrapper(class_name, fn_name, default_name, params)
  local cls = Loss:extend(class_name)
  cls.fn = fns[fn_name]
  cls.default_name = default_name
  cls.params = params or {}
  classes[class_name] = cls
  losses[class_name] = cls
  return cls
end

local XENT_PARAMS = {
  { "from_logits", false, check_bool }, { "label_smoothing", 0.0, check_smoothing }, { "axis", -1, check_axis },
}
wrapper("BinaryCrossentropy", "binary_crossentropy", "binary_crossentropy", XENT_PARAMS)
wrapper("CategoricalCrossentropy", "categorical_crossentropy", "categorical_crossentropy", XENT_PARAMS)
wrapper("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", "sparse_categorical_crossentropy",
  { { "from_logits", false, check_bool }, { "ignore_class", nil, check_class_id } })
wrapper("MeanSquaredError", "mean_squared_error", "mean_squared_error")
wrapper("MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error")
wrapper("MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mean_absolute_percentage_error")
wrapper("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "mean_squared_logarithmic_error")
wrapper("Huber", "huber", "huber_loss", { { "delta", 1.0, check_number } })
wrapper("Hinge", "hinge", "hinge")
wrapper("SquaredHinge", "squared_hinge", "squared_hinge")
wrapper("CategoricalHinge", "categorical_hinge", "categorical_hinge")
wrapper("KLDivergence", "kl_divergence", "kl_divergence")
wrapper("Poisson", "poisson", "poisson")
wrapper("CosineSimilarity", "cosine_similarity", "cosine_similarity", { { "axis", -1, check_axis } })
wrapper("LogCosh", "log_cosh", "log_cosh")

-- Wraps any loss function fn(y_true, y_pred[, kwargs]) as a Loss object
-- (Keras's LossFunctionWrapper): dnn.losses.LossFunctionWrapper(fn, {name=, reduction=}).
local LossFunctionWrapper = Loss:extend("LossFunctionWrapper")
losses.LossFunctionWrapper = LossFunctionWrapper
function LossFunctionWrapper:init(fn, opts)
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    error(("LossFunctionWrapper: expected a loss function, got %s"):format(type(fn)), 3)
  end
  opts = opts or {}
  local kwargs = {}
  for k, v in pairs(opts) do
    if k ~= "reduction" and k ~= "name" then kwargs[k] = v end
  end
  Loss.init(self, { reduction = opts.reduction, name = opts.name or fn_names[fn] or "loss" })
  self.fn = fn
  self.fn_kwargs = kwargs
end
function LossFunctionWrapper:call(y_true, y_pred)
  if next(self.fn_kwargs) then return self.fn(y_true, y_pred, self.fn_kwargs) end
  return self.fn(y_true, y_pred)
end

-- ---------------------------------------------------------------- lookup

local custom = {} -- names registered by the user

-- dnn.losses.register("my_loss", fn_or_class): found by get() and by model loading.
function losses.register(name, obj)
  if type(name) ~= "string" then error("losses.register: the name must be a string", 2) end
  local ok = type(obj) == "function" or (type(obj) == "table" and getmetatable(obj) ~= nil)
  if not ok then error(("losses.register: '%s' must be a function or a Loss class"):format(name), 2) end
  custom[name] = obj
  return obj
end

local function lookup(name)
  return custom[name] or fns[name] or (aliases[name] and fns[aliases[name]]) or classes[name]
end

local function known_names()
  local all = {}
  for k in pairs(fns) do all[#all + 1] = k end
  for k in pairs(aliases) do all[#all + 1] = k end
  for k in pairs(classes) do all[#all + 1] = k end
  for k in pairs(custom) do all[#all + 1] = k end
  table.sort(all)
  return table.concat(all, ", ")
end

local function is_class(v) return type(v) == "table" and getmetatable(v) == class_mt end

-- {class_name=, config=} (or a name) -> a Loss object or a function.
function losses.deserialize(cfg)
  if type(cfg) == "string" then return losses.get(cfg) end
  if not is_plain_table(cfg) or type(cfg.class_name) ~= "string" then
    error("losses.deserialize: expected {class_name=..., config={...}} or a name", 2)
  end
  local obj = lookup(cfg.class_name)
  if obj == nil then
    error(("losses.deserialize: unknown loss '%s'; known losses: %s"):format(cfg.class_name, known_names()), 2)
  end
  if is_class(obj) then return obj.from_config(cfg.config or {}) end
  return obj
end

-- A Loss object -> {class_name=, config=}; a built-in function -> its name.
function losses.serialize(loss)
  if loss == nil then return nil end
  if type(loss) == "function" then
    local name = fn_names[loss]
    if not name then
      for k, v in pairs(custom) do
        if v == loss then name = k end
      end
    end
    if not name then error("losses.serialize: this function is not a registered loss (use dnn.losses.register)", 2) end
    return name
  end
  if type(loss) == "table" and type(loss.get_config) == "function" then
    return { class_name = getmetatable(loss).class_name, config = loss:get_config() }
  end
  error(("losses.serialize: expected a loss function or object, got %s"):format(type(loss)), 2)
end

-- Keras's losses.get: a name gives the function (snake_case) or a default
-- instance (ClassName); a config table is deserialized; a function or a loss
-- object is returned as is; a Loss class is instantiated.
function losses.get(identifier)
  if identifier == nil then return nil end
  if type(identifier) == "string" then
    local obj = lookup(identifier)
    if obj == nil then
      error(("losses.get: unknown loss '%s'; known losses: %s"):format(identifier, known_names()), 2)
    end
    if is_class(obj) then return obj() end
    return obj
  end
  if type(identifier) == "function" then return identifier end
  if is_class(identifier) then return identifier() end
  if is_plain_table(identifier) then
    local mt = getmetatable(identifier)
    if mt and mt.__call then return identifier end -- a loss object, or any callable
    if rawget(identifier, "class_name") ~= nil then return losses.deserialize(identifier) end
  end
  error(("losses.get: could not interpret loss identifier: %s"):format(tostring(identifier)), 2)
end

-- Raises a clear error when a loss value is NaN or Inf (see the header);
-- returns the value otherwise.
function losses.check_finite(value, what)
  local bad = dnn.is_tensor(value) and (value:isnan():any():item() or value:isinf():any():item())
    or (type(value) == "number" and (value ~= value or value == math.huge or value == -math.huge))
  if bad then
    error(("%s is %s: check y_pred and y_true for NaN/Inf, from_logits, and the learning rate")
      :format(what or "the loss", dnn.is_tensor(value) and "not finite" or tostring(value)), 2)
  end
  return value
end

return losses
