-- DistributedOptimizer(opt[, {op="average", bucket_cap_mb=25,
-- first_bucket_mb=1, overlap=true}]) (Horovod's name): the same optimizer,
-- whose every update first averages the gradients over the replicas.
-- Keras's apply_gradients/apply and PyTorch's step all go through it, so
-- fit, custom train_steps and hand loops are covered alike.
--
-- How the gradients travel: last variable first (the order the backward
-- pass makes them in), packed into buffers of about bucket_cap_mb (fusion,
-- as Horovod and DDP do; the first buffer first_bucket_mb, as DDP's), each
-- buffer one allreduce.  A small model's gradients are one message per step.
-- overlap (default on; DNN_DIST_OVERLAP=0 turns it off): from the second
-- update on, a backward pass over the optimizer's variables reduces each
-- buffer as soon as its gradients are final, while the pass goes on (see
-- "overlap with the backward pass" below); the result is the same, bit for
-- bit.
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

-- The step's one small collective: which variables have gradients anywhere
-- (flags[i]), the replicas' sample counts, whether they overlap (mode), and
-- the variables' layout as a signature.  Returns the sums and the options
-- of the gradients' reduction.
local function exchange(cfg, fname, n, flags, vlist, mode)
  local size = core.size()
  local mine = shard.last_count or 1
  shard.last_count = nil
  local info = {}
  for i = 1, n do info[i] = flags[i] and 1 or 0 end
  info[n + 1], info[n + 2], info[n + 3] = mine, mine * mine, mode
  local sig = #vlist == n and core.layout_hash(vlist) or 0
  local ok, red = pcall(core.allreduce, { dnn.tensor(info, { dtype = "float64" }) }, { op = "sum", signature = sig })
  if not ok then
    -- every replica saw the same mismatch: name it (a collective on all of them)
    if tostring(red):find("signatures differ", 1, true) then sync.check_variables(vlist, fname) end
    error(fname .. ": " .. tostring(red), 0)
  end
  local sums = red[1]:totable()
  local total, squares, modes = sums[n + 1], sums[n + 2], sums[n + 3]
  if modes ~= 0 and modes ~= size then
    error(("%s: %d of %d replicas reduce this step's gradients during the backward pass, the others after it; "
      .. "every replica must compute its gradients the same way (same variables, same tape:gradient calls)")
      :format(fname, math.tointeger(modes) or modes, size), 0)
  end
  local opts = { op = "sum", bucket_bytes = cfg.bucket_bytes, first_bucket_bytes = cfg.first_bytes }
  if cfg.op == "average" then
    if squares * size == total * total then -- equal batches: the plain mean, exactly
      opts.divide_by = size
    else
      opts.prescale, opts.divide_by = mine, total
    end
  end
  return sums, sig, opts
end

-- ---- overlap with the backward pass ----
-- After a first update the optimizer keeps a reducer for its variables
-- (src/dist/dist_overlap.c).  A backward pass over exactly those variables
-- (tape:gradient(loss, vars), dnn.grad) then meets the other replicas when
-- it starts (the exchange above), hands each gradient to the reducer as the
-- autograd engine finishes it (last layer first), and the reducer's thread
-- reduces each complete bucket while earlier layers' gradients are
-- computed.  The pass returns the averaged gradients (DDP's semantics: code
-- between tape:gradient and apply_gradients sees them averaged), and the
-- update applies them without reducing again.

local overlapping = setmetatable({}, { __mode = "k" }) -- optimizer -> true
local active -- the optimizer config of the pass in progress
local hook_handle

local function hook_begin(leaves, reachable)
  active = nil
  for opt in pairs(overlapping) do
    local cfg = rawget(opt, "_distributed")
    if cfg.reducer and core.reducer_matches(cfg.reducer, leaves) then
      if cfg.unconsumed then
        -- two passes without an update between them (gradient accumulation,
        -- or gradients for another use): reduce after the backward pass from
        -- now on, so accumulated gradients are reduced once
        cfg.overlap, cfg.unconsumed = false, false
        overlapping[opt] = nil
        return
      end
      local n = #leaves
      local fname = class.name(opt) .. ".apply_gradients"
      local sums, _, opts = exchange(cfg, fname, n, reachable, leaves, 1)
      local present = {}
      for i = 1, n do present[i] = sums[i] > 0 end
      core.reducer_start(cfg.reducer, present, reachable, opts)
      cfg.sums = sums
      active = cfg
      return
    end
  end
end

local function hook_ready(_, grad, i)
  if active then core.reducer_ready(active.reducer, i, grad) end
end

local function hook_finish()
  local cfg = active
  if not cfg then return end
  active = nil
  core.reducer_finish(cfg.reducer)
  cfg.unconsumed = true
end

local function start_overlapping(self, cfg, vlist)
  if not cfg.overlap or cfg.reducer_failed or #vlist == 0 then return end
  if cfg.reducer and core.reducer_matches(cfg.reducer, vlist) then return end
  local ok, r = pcall(core.reducer_new, vlist, cfg.bucket_bytes, cfg.first_bytes)
  if not ok then -- e.g. variables on a GPU: reduce after the backward pass
    cfg.reducer_failed = true
    return
  end
  cfg.reducer, cfg.unconsumed = r, false
  overlapping[self] = true
  if not hook_handle then
    hook_handle = dnn.autograd.add_grad_hook { begin = hook_begin, ready = hook_ready, finish = hook_finish }
  end
end

local function distributed_apply(self, fname, grads, vars)
  local cfg = rawget(self, "_distributed")
  local size = core.size()
  if size == 1 or type(grads) ~= "table" or type(vars) ~= "table" then
    return cfg.base._apply(self, fname, grads, vars)
  end
  local n = grad_count(grads, vars)
  local vlist = {}
  for i = 1, n do
    if not dnn.is_tensor(vars[i]) then break end
    vlist[i] = vars[i]
  end
  if cfg.unconsumed and #vlist == n and core.reducer_matches(cfg.reducer, vlist) then
    -- reduced during the backward pass: the pass's gradients are averaged
    -- already; gradients the caller made from them are used as given
    cfg.unconsumed = false
    cfg.overlapped_steps = (cfg.overlapped_steps or 0) + 1
    local reduced = { n = n }
    for i = 1, n do
      if cfg.sums[i] > 0 then reduced[i] = core.reducer_result(cfg.reducer, i, grads[i]) or grads[i] end
    end
    return cfg.base._apply(self, fname, reduced, vars)
  end
  local flags = {}
  for i = 1, n do flags[i] = grads[i] ~= nil end
  local sums, sig, opts = exchange(cfg, fname, n, flags, vlist, 0)
  -- last variable first (the order the backward pass makes them in, and the
  -- overlapped reducer's): the same buckets either way
  local list, where = {}, {}
  for i = n, 1, -1 do
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
  opts.check, opts.reuse = sig == 0, true
  local ok2, out = pcall(core.allreduce, list, opts)
  if not ok2 then error(fname .. ": " .. tostring(out), 3) end
  local reduced = { n = n }
  for j, g in ipairs(out) do reduced[where[j]] = g end
  local r = table.pack(cfg.base._apply(self, fname, reduced, vars))
  if #vlist == n then start_overlapping(self, cfg, vlist) end
  return table.unpack(r, 1, r.n)
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

local KNOWN = { op = true, bucket_cap_mb = true, first_bucket_mb = true, overlap = true, name = true }

local function DistributedOptimizer(opt, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("DistributedOptimizer: expected an options table {op=, bucket_cap_mb=, first_bucket_mb=, overlap=}, got %s")
      :format(type(opts)), 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not KNOWN[k] then
      error(("DistributedOptimizer: unknown option '%s' (options: op, bucket_cap_mb, first_bucket_mb, overlap)")
        :format(tostring(k)), 2)
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
  local first = opts.first_bucket_mb or 1
  if type(first) ~= "number" or first <= 0 then
    error(("DistributedOptimizer: first_bucket_mb must be a positive number, got %s"):format(tostring(first)), 2)
  end
  local overlap = opts.overlap
  if overlap == nil then overlap = os.getenv("DNN_DIST_OVERLAP") ~= "0" end
  if type(overlap) ~= "boolean" then
    error(("DistributedOptimizer: overlap must be true or false, got %s"):format(tostring(overlap)), 2)
  end
  local base = class.of(opt)
  if not core.initialized() then core.init() end
  -- a new optimizer sharing the wrapped one's state (as Horovod wraps)
  local d = setmetatable({}, subclass(base))
  for k, v in pairs(opt) do rawset(d, k, v) end
  rawset(d, "_distributed", { op = op, bucket_bytes = math.floor(mb * 1048576), base = base,
    first_bytes = math.floor(math.min(first, mb) * 1048576),
    overlap = overlap and core.size() > 1 and core.overlap_threaded() })
  return d
end

return DistributedOptimizer
