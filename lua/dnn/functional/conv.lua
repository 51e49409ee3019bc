-- dnn.F: convolution and pooling (channels-last (N, H, W, C) by default,
-- kernels (kh, kw, in/groups, out) as in Keras).  Every function takes its
-- options last, F.conv2d(x, w, b, {strides=2}), or everything in one table,
-- F.conv2d{x, w, b, strides=2}.  All are differentiable.
local dnn = require "dnn"
local core = dnn.core
local F = dnn.F

local is_tensor = core.is_tensor
local function is_opts(v) return type(v) == "table" and not is_tensor(v) end

-- F.conv2d(x, kernel, bias_or_nil, {strides=1, padding="valid"|"same"|int|{ph,pw},
--   dilation_rate=1, groups=1, data_format="channels_last"|"channels_first"})
function F.conv2d(x, kernel, bias, opts)
  if is_opts(x) then
    local t = x
    return core.conv2d(t[1] or t.inputs or t.x, t[2] or t.kernel, t[3] or t.bias, t)
  end
  if is_opts(bias) and opts == nil then bias, opts = nil, bias end
  return core.conv2d(x, kernel, bias, opts)
end

-- F.max_pool2d(x, {pool_size=2, strides=pool_size, padding="valid"|"same", data_format=})
function F.max_pool2d(x, opts)
  if is_opts(x) then return core.max_pool2d(x[1] or x.inputs or x.x, x) end
  return core.max_pool2d(x, opts)
end

-- F.avg_pool2d: as max_pool2d; with padding="same" a window averages only the
-- cells inside the input (TensorFlow's rule).
function F.avg_pool2d(x, opts)
  if is_opts(x) then return core.avg_pool2d(x[1] or x.inputs or x.x, x) end
  return core.avg_pool2d(x, opts)
end

-- F.global_avg_pool2d(x, {keepdims=false, data_format=}) -> (N, C) or (N, 1, 1, C)
function F.global_avg_pool2d(x, opts)
  if is_opts(x) then return core.global_avg_pool2d(x[1] or x.inputs or x.x, x) end
  return core.global_avg_pool2d(x, opts)
end

function F.global_max_pool2d(x, opts)
  if is_opts(x) then return core.global_max_pool2d(x[1] or x.inputs or x.x, x) end
  return core.global_max_pool2d(x, opts)
end

-- F.adaptive_avg_pool2d(x, output_size, {data_format=}): PyTorch's bins, bin i
-- of n over a size H spans [floor(i*H/n), ceil((i+1)*H/n)).
function F.adaptive_avg_pool2d(x, size, opts)
  if is_opts(x) then return core.adaptive_avg_pool2d(x[1] or x.inputs or x.x, x[2] or x.output_size, x) end
  return core.adaptive_avg_pool2d(x, size, opts)
end

function F.adaptive_max_pool2d(x, size, opts)
  if is_opts(x) then return core.adaptive_max_pool2d(x[1] or x.inputs or x.x, x[2] or x.output_size, x) end
  return core.adaptive_max_pool2d(x, size, opts)
end

-- F.pyramid_pooling(x, {levels=1, pooling="max"|"avg"|fn, data_format=})
--
-- deep_pipe's dpipe.layers.PyramidPooling (dpipe/layers/shape.py): for level
-- l = 0 .. levels-1 it pools x to a 2^l x 2^l grid with
--     stride = floor(size / 2^l),  kernel = size - (2^l - 1) * stride
-- (per spatial axis, so the grid covers the whole image and the last window
-- takes the remainder), flattens each pooled map per sample and concatenates
-- them along the features: (N, C * (4^levels - 1) / 3).  deep_pipe is
-- channels-first, so each level flattens in (c, i, j) order; here the
-- channels-last default flattens the (N, n, n, C) map in (i, j, c) order, and
-- data_format="channels_first" reproduces deep_pipe's order exactly.
-- levels may also be a list of grid sizes, e.g. {1, 2, 4}, with the same rule.
-- pooling may be a function called as pooling(x, {pool_size=, strides=,
-- data_format=}) (deep_pipe takes any pooling callable).
function F.pyramid_pooling(x, opts)
  if is_opts(x) then x, opts = x[1] or x.inputs or x.x, x end
  opts = opts or {}
  for k in pairs(opts) do
    if type(k) == "string" and k ~= "levels" and k ~= "pooling" and k ~= "data_format" and k ~= "x"
        and k ~= "inputs" then
      error(("pyramid_pooling: unknown option '%s' (options: levels, pooling, data_format)"):format(k), 2)
    end
  end
  if not is_tensor(x) then
    error("pyramid_pooling: the input must be a tensor, got " .. type(x), 2)
  end
  if x:dim() ~= 4 then
    error(("pyramid_pooling: input must be 4-d, got %s"):format(tostring(x:size())), 2)
  end
  local first = opts.data_format == "channels_first"
  if opts.data_format ~= nil and not first and opts.data_format ~= "channels_last" then
    error(("pyramid_pooling: data_format must be \"channels_last\" or \"channels_first\", got %s")
      :format(tostring(opts.data_format)), 2)
  end
  local pooling = opts.pooling or "max"
  local pool
  if pooling == "max" then pool = core.max_pool2d
  elseif pooling == "avg" then pool = core.avg_pool2d
  elseif type(pooling) == "function" then pool = pooling
  else
    error(("pyramid_pooling: pooling must be \"max\", \"avg\" or a function, got %s"):format(tostring(pooling)), 2)
  end
  local grids = {}
  local levels = opts.levels or 1
  if type(levels) == "table" then
    for i, g in ipairs(levels) do
      if math.type(g) ~= "integer" or g < 1 then
        error(("pyramid_pooling: levels[%d] must be a grid size >= 1, got %s"):format(i, tostring(g)), 2)
      end
      grids[i] = g
    end
    if #grids == 0 then error("pyramid_pooling: levels is an empty list", 2) end
  elseif math.type(levels) == "integer" and levels >= 1 then
    for l = 0, levels - 1 do grids[#grids + 1] = 1 << l end
  else
    error(("pyramid_pooling: levels must be an integer >= 1 or a list of grid sizes, got %s")
      :format(tostring(levels)), 2)
  end
  local sz = x:size()
  local n, h, w = sz[1], first and sz[3] or sz[2], first and sz[4] or sz[3]
  local fmt = first and "channels_first" or "channels_last"
  local parts = {}
  for i, g in ipairs(grids) do
    if h < g or w < g then
      error(("pyramid_pooling: input %s is too small for a %dx%d grid (level %d)")
        :format(tostring(sz), g, g, i), 2)
    end
    local sh, sw = h // g, w // g
    local y = pool(x, { pool_size = { h - (g - 1) * sh, w - (g - 1) * sw }, strides = { sh, sw },
      data_format = fmt })
    if not is_tensor(y) then
      error(("pyramid_pooling: the pooling function returned a %s, not a tensor"):format(type(y)), 2)
    end
    parts[i] = y:reshape(n, -1)
  end
  if #parts == 1 then return parts[1] end
  return dnn.cat(parts, 2)
end

local ok, help = pcall(require, "dnn.help")
if ok and type(help) == "table" and help.add then
  local S = "Convolution and pooling (dnn.F)"
  help.add("dnn.F.conv2d", "F.conv2d(x, kernel, bias|nil, {strides=1, padding=\"valid\", dilation_rate=1, groups=1, data_format=\"channels_last\"})",
    "2-d convolution; x (N,H,W,Cin), kernel (kh,kw,Cin/groups,Cout), bias (Cout). padding: \"valid\", \"same\" (TensorFlow's), an integer or {ph, pw}.", S)
  help.add("dnn.F.max_pool2d", "F.max_pool2d(x, {pool_size=2, strides=pool_size, padding=\"valid\", data_format=})",
    "Max pooling; the gradient goes to the first maximum of each window.", S)
  help.add("dnn.F.avg_pool2d", "F.avg_pool2d(x, {pool_size=2, strides=pool_size, padding=\"valid\", data_format=})",
    "Average pooling; with padding=\"same\" the padded cells are not counted.", S)
  help.add("dnn.F.global_avg_pool2d", "F.global_avg_pool2d(x, {keepdims=false, data_format=})", "Mean over height and width: (N, C).", S)
  help.add("dnn.F.global_max_pool2d", "F.global_max_pool2d(x, {keepdims=false, data_format=})", "Max over height and width: (N, C).", S)
  help.add("dnn.F.adaptive_avg_pool2d", "F.adaptive_avg_pool2d(x, output_size, {data_format=})",
    "Average over PyTorch's adaptive bins to an output_size (integer or {h, w}) grid.", S)
  help.add("dnn.F.adaptive_max_pool2d", "F.adaptive_max_pool2d(x, output_size, {data_format=})",
    "Max over PyTorch's adaptive bins to an output_size grid.", S)
  help.add("dnn.F.pyramid_pooling", "F.pyramid_pooling(x, {levels=1, pooling=\"max\", data_format=})",
    "deep_pipe's PyramidPooling: pools to 1x1, 2x2, ..., 2^(levels-1) grids, flattens and concatenates: (N, C*(4^levels-1)/3).", S)
end

return F
