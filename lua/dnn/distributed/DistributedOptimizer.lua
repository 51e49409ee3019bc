-- DistributedOptimizer(opt[, {op="average", bucket_cap_mb=25}]) (Horovod's
-- name): the same optimizer, whose every update first averages the
-- gradients over the replicas.  Keras's apply_gradients/apply and
-- PyTorch's step all go through it, so fit, custom train_steps and hand
-- loops are covered alike.
--
-- How the gradients travel: they are packed in order into buffers of about
-- bucket_cap_mb (fusion, as Horovod and DDP do), and each buffer is one
-- non-blocking allreduce, sent as soon as it is packed while the next one
-- is packed.  A small model's gradients are one message per step.  The
-- reduction does not overlap the backward pass: the tape returns all
-- gradients at once (it has no per-gradient ready hook yet).
--
-- Averaging is weighted by each replica's batch size when the data comes
-- from a sharded Sequence (dnn.distributed.shard, which fit uses), so an
-- uneven last batch still gives the gradient of the global batch mean; with
-- equal batches (and in hand loops) it is the plain mean.  A variable that
-- has no gradient on some replicas counts as a zero gradient there; one
-- with no gradient anywhere is skipped as usual.
local dnn = require "dnn"
local class = require "dnn.class"
local Optimizer = require "dnn.optimizers.optimizer"
local shard = require "dnn.distributed.shard"
local sync = require "dnn.distributed.sync"
local core = dnn.core._dist

local made = setmetatable({}, { __mode = "k" }) -- optimizer class -> its distributed subclass

local function grad_count(grads, vars)
  if grads.n ~= nil then return grads.n end
  local n = 0
  for k in pairs(grads) do
    if math.type(k) == "integer" and k > n then n = k end
  end
  local nv = vars and (vars.n or #vars) or 0
  return math.max(n, nv)
end

local function distributed_apply(self, fname, grads, vars)
  local cfg = rawget(self, "_distributed")
  local size = core.size()
  if size == 1 or type(grads) ~= "table" or type(vars) ~= "table" then
    return cfg.base._apply(self, fname, grads, vars)
  end
  local n = grad_count(grads, vars)
  -- one small collective first: which variables have gradients anywhere,
  -- and the replicas' sample counts
  local mine = shard.last_count or 1
  shard.last_count = nil
  local info = {}
  for i = 1, n do info[i] = grads[i] ~= nil and 1 or 0 end
  info[n + 1], info[n + 2] = mine, mine * mine
  -- the variables' layout rides along as a signature, so the gradients
  -- themselves travel without a check of their own
  local vlist = {}
  for i = 1, n do
    if not dnn.is_tensor(vars[i]) then break end
    vlist[i] = vars[i]
  end
  local sig = #vlist == n and core.layout_hash(vlist) or 0
  local ok, red = pcall(core.allreduce, { dnn.tensor(info, { dtype = "float64" }) }, { op = "sum", signature = sig })
  if not ok then
    -- every replica saw the same mismatch: name it (a collective on all of them)
    if tostring(red):find("signatures differ", 1, true) then sync.check_variables(vlist, fname) end
    error(fname .. ": " .. tostring(red), 3)
  end
  local sums = red[1]:totable()
  local total, squares = sums[n + 1], sums[n + 2]
  local list, where = {}, {}
  for i = 1, n do
    if sums[i] > 0 then
      local g = grads[i]
      if g == nil then
        local v = vars[i]
        g = dnn.zeros(v:size(), { dtype = v.dtype })
      end
      list[#list + 1] = g
      where[#list] = i
    end
  end
  -- the step's own gradient tensors receive the result (no fresh memory per step)
  local opts = { op = "sum", bucket_bytes = cfg.bucket_bytes, check = sig == 0, reuse = true }
  if cfg.op == "average" then
    if squares * size == total * total then -- equal batches: the plain mean, exactly
      opts.divide_by = size
    else
      opts.prescale, opts.divide_by = mine, total
    end
  end
  local ok2, out = pcall(core.allreduce, list, opts)
  if not ok2 then error(fname .. ": " .. tostring(out), 3) end
  local reduced = { n = n }
  for j, g in ipairs(out) do reduced[where[j]] = g end
  return cfg.base._apply(self, fname, reduced, vars)
end

-- The distributed subclass of an optimizer class: same name (so saved
-- configs load as the plain optimizer), _apply reducing first.
local function subclass(base)
  local cls = made[base]
  if cls then return cls end
  cls = base:extend(rawget(base, "__name"))
  cls._apply = distributed_apply
  cls.is_distributed = true
  made[base] = cls
  return cls
end

local OPS = { average = "average", avg = "average", mean = "average", sum = "sum" }

local function DistributedOptimizer(opt, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("DistributedOptimizer: expected an options table {op=, bucket_cap_mb=}, got %s"):format(type(opts)), 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "op" and k ~= "bucket_cap_mb" and k ~= "name" then
      error(("DistributedOptimizer: unknown option '%s' (options: op, bucket_cap_mb)"):format(tostring(k)), 2)
    end
  end
  if type(opt) == "string" or (type(opt) == "table" and not class.isinstance(opt, Optimizer)) then
    local ok, o = pcall(dnn.optimizers.get, opt)
    if not ok then error("DistributedOptimizer: " .. tostring(o), 2) end
    opt = o
  end
  if not class.isinstance(opt, Optimizer) then
    error(("DistributedOptimizer: expected an optimizer (dnn.optimizers.Adam{...}, \"adam\"), got %s")
      :format(class.name(opt)), 2)
  end
  if rawget(opt, "_distributed") then return opt end
  local op = OPS[opts.op or "average"]
  if not op then
    error(("DistributedOptimizer: op must be \"average\" or \"sum\", got %s"):format(tostring(opts.op)), 2)
  end
  local mb = opts.bucket_cap_mb or 25
  if type(mb) ~= "number" or mb <= 0 then
    error(("DistributedOptimizer: bucket_cap_mb must be a positive number, got %s"):format(tostring(mb)), 2)
  end
  local base = class.of(opt)
  if not core.initialized() then core.init() end
  -- a new optimizer sharing the wrapped one's state (as Horovod wraps)
  local d = setmetatable({}, subclass(base))
  for k, v in pairs(opt) do rawset(d, k, v) end
  rawset(d, "_distributed", { op = op, bucket_bytes = math.floor(mb * 1048576), base = base })
  return d
end

return DistributedOptimizer
