-- dnn.train.train_model across replicas (`mpirun -np N dnnlua script.lua`).
-- train_model asks setup() once; with more than one replica and a
-- DistributedOptimizer (or distributed=true, which wraps the optimizer) it
-- gets an object whose methods keep the replicas in step:
--
--   shard(batch_iter)   each replica draws its own part of every global batch
--   files(ckpt, log)    rank 0 alone writes checkpoints and logs; rank 0
--                       reads a checkpoint and every replica gets its content
--   sync_start(state)   architectures checked, then rank 0's weights,
--                       optimizer state, policies, random state and batch
--                       iterator state copied to every replica
--   before_step(batch)  an architecture built by the first batch is checked
--                       and rank 0's weights copied once it exists
--   step_loss(loss)     the loss of the global batch (weighted by samples)
--   run_hooks(...)      a policy stop (EarlyStopping) or failure on any
--                       replica stops every replica at the same point
--   metrics(m)          validate()'s metrics averaged over the replicas
--
-- Sharding (shard): over an Infinite with an integer batch_size, a global
-- batch is batch_size * size items drawn from the source in order -- the
-- items one process with that batch size would draw -- and replica r keeps
-- the r-th run of batch_size of them (a last, shorter global batch of a
-- finite source is split as evenly as it goes; one with fewer items than
-- replicas ends the epoch).  Items of the other replicas are skipped without
-- loading them where the source allows (load_by_random_id and sample draw
-- the id only; a list moves its position); a generator or coroutine source
-- is called for them and the items dropped.  The source's random state is
-- the same on every replica (copied from rank 0 at the start and in every
-- checkpoint), so the replicas split one shared order, and 2 replicas with
-- batch B train on what 1 process with batch 2B trains on.  Loaders and
-- transformers of a replica's own items draw their random numbers
-- (augmentation) from a stream seeded per global batch and replica, so
-- replicas do not augment alike.  Any other batch_iter is split by batch:
-- in every round of `size` batches of the epoch, replica r takes the
-- (r+1)-th (leftover batches at the end of an epoch are dropped).
local dnn = require "dnn"
local class = require "dnn.class"
local core = dnn.core._dist

local M = {}

local function P() return require "dnn.train.policies" end
local function B() return require "dnn.train.batch_iter" end
local function rng() return require "dnn.train.rng" end

-- ---------------------------------------------------------------- values

-- Nested tables of numbers, strings, booleans and tensors, from root to
-- every replica: the skeleton as Lua source (%q keeps integers and floats
-- exact), the tensors in one fused broadcast.
local function encode(v, tensors, descs, depth)
  local t = type(v)
  if t == "number" or t == "string" then return ("%q"):format(v) end
  if t == "boolean" or t == "nil" then return tostring(v) end
  if dnn.is_tensor(v) then
    local dims = {}
    for d = 1, v:dim() do dims[d] = tostring(v:size(d)) end
    tensors[#tensors + 1] = v
    descs[#descs + 1] = ("{{%s},%q,%q}"):format(table.concat(dims, ","), v.dtype, v.device or "cpu")
    return ("T(%d)"):format(#tensors)
  end
  if t ~= "table" then error(("cannot send a %s to the other replicas"):format(t), 0) end
  if depth > 50 then error("cannot send a table nested deeper than 50 levels", 0) end
  local parts = {}
  for k, x in pairs(v) do
    parts[#parts + 1] = "[" .. encode(k, tensors, descs, depth + 1) .. "]=" .. encode(x, tensors, descs, depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- broadcast_value(v, root=0): root's v on every replica (v is ignored elsewhere).
function M.broadcast_value(v, root)
  root = root or 0
  local me = core.rank() == root
  local tensors, descs, text = {}, {}, ""
  if me then
    text = encode(v, tensors, descs, 0)
    text = "return {" .. table.concat(descs, ",") .. "}, function(T) return " .. text .. " end"
  end
  text = core.allgather_string(text)[root + 1]
  local chunk = assert(load(text, "=broadcast_value", "t", {}))
  local d, build = chunk()
  if not me then
    for i, e in ipairs(d) do
      local z = dnn.zeros(e[1], { dtype = e[2] })
      if e[3] ~= "cpu" then z = z:to(e[3]) end
      tensors[i] = z
    end
  end
  if #tensors > 0 then core.broadcast(tensors, root) end
  if me then return v end
  return build(function(i) return tensors[i] end)
end

-- ---------------------------------------------------------------- sharding


local function rows_of(x)
  if dnn.is_tensor(x) then return x:dim() > 0 and x:size(1) or 1 end
  if type(x) == "table" and x[1] ~= nil then return rows_of(x[1]) end
  return 1
end

-- Item-level sharding of an Infinite (see the top of the file).
local ItemShard = class.Object:extend("ShardedInfinite")

function ItemShard:init(inner, dist)
  self.inner, self.dist = inner, dist
  self.rank, self.size = dist.rank, dist.size
  self.batches_per_epoch = inner.batches_per_epoch
end

-- Advances the source by one item without loading it; false when the
-- source cannot skip (the item must be drawn), nil at the end of a list.
function ItemShard:_skip()
  local inf = self.inner
  local src, kind = inf.source, inf.source_kind
  if kind == "object" and type(src.next_id) == "function" then
    src:next_id()
    return true
  end
  if kind == "object" and type(src.skip) == "function" then
    src:skip()
    return true
  end
  if kind == "list" then
    if src[inf.position + 1] == nil then return nil end
    inf.position = inf.position + 1
    return true
  end
  return false
end

-- The source's next item with the transformers applied (the Infinite's own
-- draw: loaders and transformers run in the caller's random stream).
local function draw_own(inf) return inf:_draw() end

-- Applies the transformers to a raw item (drawn earlier without them).
local function transform(inf, item)
  local pack = table.pack
  for _, f in ipairs(inf.transformers) do
    local r = pack(f(item))
    item = r.n == 1 and r[1] or { table.unpack(r, 1, r.n) }
  end
  return item
end

-- The raw next item of a source that cannot skip (no transformers).
local function draw_raw(inf)
  local saved = inf.transformers
  inf.transformers = {}
  local ok, item = pcall(inf._draw, inf)
  inf.transformers = saved
  if not ok then error(item, 0) end
  return item
end

-- One global batch: this replica's items (a list, maybe empty), their
-- count, and whether the source ended.  replay: only move the source and
-- the streams as the original run did (no loading, no transforming).
function ItemShard:_global_batch(replay)
  local inf, R, r = self.inner, self.size, self.rank
  local B = inf.batch_size
  local G = B * R
  local stream = inf.stream
  -- how many items the global batch has, and whether skipping works
  local m, raw = G, nil
  local kind = inf.source_kind
  local skippable = (kind == "object" and (type(inf.source.next_id) == "function" or type(inf.source.skip) == "function"))
    or kind == "list"
  if kind == "list" then
    local left = 0
    while left < G and inf.source[inf.position + left + 1] ~= nil do left = left + 1 end
    m = left
  elseif not skippable then
    -- draw the whole global batch raw, in the shared stream
    raw = stream:run(function()
      local items = {}
      for _ = 1, G do
        local it = draw_raw(inf)
        if it == nil then break end
        items[#items + 1] = it
      end
      return items
    end)
    m = #raw
  end
  if m < R then
    if kind == "list" then inf.position = inf.position + m end
    return {}, 0, true
  end
  local base, extra = m // R, m % R
  local count = base + (r < extra and 1 or 0)
  local first = r * base + math.min(r, extra) + 1 -- 1-based position of our first item
  -- one seed per global batch from the shared stream; our items' random
  -- numbers come from a stream of (seed, rank)
  local seed = stream:run(rng().draw_seed)
  if replay then
    if raw == nil then
      for _ = 1, m do self:_skip() end
    end
    self.inner.batches = self.inner.batches + 1
    return {}, count, m < G
  end
  local own = rng().Stream(seed + r)
  local items = own:run(function()
    local out = {}
    for pos = 1, m do
      local mine = pos >= first and pos < first + count
      if raw then
        if mine then out[#out + 1] = transform(inf, raw[pos]) end
      elseif mine then
        out[#out + 1] = draw_own(inf)
      else
        self:_skip()
      end
    end
    return out
  end)
  self.inner.batches = self.inner.batches + 1
  return items, count, m < G
end

-- it() -> this replica's batches of the epoch (after set_state inside an
-- epoch: the rest of that epoch), as Infinite's.
function ItemShard:__call()
  local inf = self.inner
  inf.in_epoch = inf._resume_at or 0
  inf._resume_at = nil
  local ended = false
  return function()
    if ended or inf.in_epoch >= inf.batches_per_epoch then return nil end
    local items, count, short = self:_global_batch(false)
    if count == 0 then
      ended = true
      inf.in_epoch = inf.batches_per_epoch
      return nil
    end
    if short then ended = true end
    inf.in_epoch = inf.in_epoch + 1
    self.dist:_note_count(count)
    local parts = table.pack(inf.combiner(items, inf.combiner_opts))
    return table.unpack(parts, 1, parts.n)
  end
end

function ItemShard:get_state() return self.inner:get_state() end

function ItemShard:set_state(st)
  local inf = self.inner
  if type(st) == "table" and st.replay then
    -- a generator or coroutine source: draw the global batches made so far
    -- again from the start (raw, in the shared stream, as they were drawn)
    if inf.batches ~= 0 then
      error("set_state: a coroutine or function source can only be replayed by a pipeline that has not made a batch yet", 0)
    end
    inf.stream:set_state(st.origin)
    for k = 1, st.batches do
      local _, count = self:_global_batch(true)
      if count == 0 then
        error(("set_state: the source ran dry after %d of the %d batches to replay"):format(k - 1, st.batches), 0)
      end
    end
    self.replay_exact = rng().same_state(inf.stream:get_state(), st.stream)
    inf.stream:set_state(st.stream)
    local e = st.in_epoch or 0
    inf.in_epoch = e
    inf._resume_at = e < inf.batches_per_epoch and e or 0
    return
  end
  inf:set_state(st)
  self.replay_exact = inf.replay_exact
end

-- Batch-level sharding: rounds of `size` batches, replica r takes the (r+1)-th.
local function batch_shard(bi, dist)
  local R, r = dist.size, dist.rank
  local function call()
    local it = B().iterator_of(bi())
    local done = false
    return function()
      if done then return nil end
      local mine
      for k = 0, R - 1 do
        local b = table.pack(it())
        if b[1] == nil then
          done = true
          return nil
        end
        if k == r then mine = b end
      end
      dist:_note_count(rows_of(mine[1]))
      return table.unpack(mine, 1, mine.n)
    end
  end
  if type(bi) == "table" and type(bi.get_state) == "function" and type(bi.set_state) == "function" then
    local w = setmetatable({}, { __call = function() return call() end, __index = function(_, k)
      if k == "replay_exact" then return bi.replay_exact end
    end })
    w.get_state = function() return bi:get_state() end
    w.set_state = function(_, st) return bi:set_state(st) end
    return w
  end
  return call
end

-- ---------------------------------------------------------------- the object

local Dist = class.Object:extend("DistributedTrainModel")

local warned = false

-- setup(model, distributed) -> the object, or nil for a plain train_model.
-- distributed: nil (on when the model's optimizer is a DistributedOptimizer
-- and there are several replicas), true (wraps the optimizer), false.
function M.setup(model, distributed)
  if distributed == false then return nil end
  if distributed ~= nil and distributed ~= true then
    error(("train_model: distributed must be true or false, got %s"):format(class.name(distributed)), 0)
  end
  local D = require "dnn.distributed"
  if not core.initialized() then D.init() end
  local opt = type(model) == "table" and rawget(model, "optimizer") or nil
  local wrapped = type(opt) == "table" and rawget(opt, "_distributed") ~= nil
  if core.size() == 1 then return nil end
  if distributed == nil and not wrapped then
    if not warned and core.rank() == 0 then
      warned = true
      io.stderr:write(("train_model: %d replicas are running but the optimizer is not a DistributedOptimizer, so "
        .. "each replica trains on its own; wrap it (dnn.distributed.DistributedOptimizer) or pass distributed=true\n")
        :format(core.size()))
    end
    return nil
  end
  if type(model.get_state) ~= "function" or type(model.set_state) ~= "function" then
    error("train_model: training across replicas needs a model with get_state() and set_state(state) "
      .. "(dnn.train.TrainModel has them) to copy rank 0's state to the others", 0)
  end
  if not wrapped then
    local Optimizer = require "dnn.optimizers.optimizer"
    if not class.isinstance(opt, Optimizer) then
      error(("train_model: distributed=true needs model.optimizer, an optimizer to wrap in a DistributedOptimizer; "
        .. "got %s"):format(class.name(opt)), 0)
    end
    model.optimizer = D.DistributedOptimizer(opt)
  end
  return Dist(model)
end

function Dist:init(model)
  self.model = model
  self.rank, self.size = core.rank(), core.size()
  self.root = self.rank == 0
  self.count = nil
  self.silenced = {}
end

function Dist:_note_count(n)
  self.count = n
  require("dnn.distributed.shard").last_count = n -- DistributedOptimizer weighs by it
end

function Dist:shard(bi)
  local Inf = B().Infinite
  if class.isinstance(bi, Inf) and bi.batch_size ~= nil then return ItemShard(bi, self) end
  if not B().callable(bi) then return bi end -- train_model names the problem
  return batch_shard(bi, self)
end

-- The architecture whose weights the replicas share (nil: none to check).
function Dist:_arch()
  local a = self.model.architecture
  if type(a) == "table" and type(a._weight_entries) == "function" then return a end
  return nil
end

function Dist:_check(what)
  local a = self:_arch()
  if a then require("dnn.distributed.sync").check_model(a, what or "train_model") end
end

-- Checkpoints on rank 0 only; rank 0 reads one and sends it to all.
local Files = {}
Files.__index = Files

function Files:load()
  local payload
  if self.real then
    local ok, st, path = pcall(self.real.load, self.real)
    payload = ok and { st = st or false, path = path or false } or { error = tostring(st) }
  end
  payload = M.broadcast_value(payload, 0)
  if payload.error then error(payload.error, 0) end
  if not payload.st then return nil end
  local had = payload.st.replicas or 1
  if had ~= self.size and self.warn then
    self.warn(("train_model: %s was written by a run of %d replica%s, this one has %d: the replicas split the "
      .. "data differently from the interrupted run"):format(payload.path, had, had == 1 and "" or "s", self.size))
  end
  return payload.st, payload.path
end

function Files:save(st)
  st.replicas = self.size -- resuming with another number of replicas splits the data differently
  if self.real then self.real:save(st) end
end

-- files(ckpt, logger[, warn]) -> the checkpoints to use (reads on rank 0,
-- sends to all; writes on rank 0) and the logger (rank 0's; nil elsewhere).
function Dist:files(ckpt, logger, warn)
  local c = nil
  if ckpt then
    c = setmetatable({ real = self.root and ckpt or nil, dir = ckpt.dir, size = self.size, warn = warn }, Files)
  end
  return c, self.root and logger or nil
end

-- Printing policies keep quiet off rank 0.
local NULL_OUT = { write = function() end, flush = function() end }

function Dist:silence(entries)
  if self.root then return end
  for _, e in ipairs(entries) do
    local p, name = e.policy, class.name(e.policy)
    if name == "Progress" and rawget(p, "_out") then
      self.silenced[#self.silenced + 1] = { p, "_out", p._out }
      p._out = NULL_OUT
    elseif name == "TimeProfiler" and type(rawget(p, "output")) ~= "function" then
      self.silenced[#self.silenced + 1] = { p, "output", rawget(p, "output") }
      p.output = NULL_OUT
    end
  end
end

function Dist:finish()
  for _, s in ipairs(self.silenced) do s[1][s[2]] = s[3] end
  self.silenced = {}
end

-- Before a checkpoint (the same on every replica) is restored: the
-- replicas' architectures agree (an error on every replica otherwise).
function Dist:check_models()
  self:_check("train_model")
end

-- A fresh start: rank 0's state (train_model's checkpoint table) on every
-- replica; restore(state) applies it on the others.
function Dist:sync_start(state_fn, restore)
  self:_check("train_model")
  local st = M.broadcast_value(self.root and state_fn() or nil, 0)
  if not self.root then restore(st) end
end

-- Before the first step: an architecture built by the first batch (or a
-- restored state waiting for it) is checked, and rank 0's weights copied.
function Dist:before_step(batch)
  if self.stepped then return end
  self.stepped = true
  local m = self.model
  local arch = m.architecture
  if type(arch) ~= "table" or type(arch.get_weights) ~= "function" then return end
  local n = batch.n
  local x = n - 1 == 1 and batch[1] or table.move(batch, 1, n - 1, 1, {})
  if rawget(m, "_pending") and type(m._restore_pending) == "function" then
    m:_restore_pending(x) -- a restored state waiting for the architecture: the same on all
    self:_check("train_model")
    return
  end
  if #arch:get_weights() > 0 then return end -- built at the start: checked and copied then
  -- built as the step would build it (the initializers draw as in one process)
  dnn.no_grad(function() arch(x, { training = false }) end)
  self:_check("train_model")
  core.broadcast(arch.weights, 0)
end

-- The global batch's loss: the replicas' losses weighted by their samples.
function Dist:step_loss(loss)
  local c = self.count or 1
  local t = dnn.tensor({ loss * c, c }, { dtype = "float64" })
  core.allreduce({ t }, { op = "sum", inplace = true, check = false })
  local v = t:totable()
  return v[1] / v[2]
end

-- Runs the policies' hook with broadcast(entries, hook, ...); when a policy
-- defines the hook, the replicas then agree: a stop (EarlyStopping) or a
-- failure on any replica stops all of them here.
function Dist:run_hooks(entries, broadcast, hook, ...)
  self.defines = self.defines or {}
  if self.defines[hook] == nil then
    local base = P().Policy[hook]
    local any = false
    for _, e in ipairs(entries) do
      local f = e.policy[hook]
      if type(f) == "function" and f ~= base and class.name(e.policy) ~= "Progress" then any = true end
    end
    self.defines[hook] = any
  end
  if not self.defines[hook] then return broadcast(entries, hook, ...) end
  local ok, err = pcall(broadcast, entries, hook, ...)
  local stop = not ok and P().is_early_stopping(err)
  local failed = not ok and not stop
  local t = dnn.tensor({ stop and 1 or 0, failed and 1 or 0 }, { dtype = "int32" })
  core.allreduce({ t }, { op = "max", inplace = true, check = false })
  local v = t:totable()
  if failed then error(err, 0) end
  if v[2] > 0 then
    error(("train_model: another replica failed in a policy's %s (its error is in its output); stopping this one (rank %d)")
      :format(hook, self.rank), 0)
  end
  if v[1] > 0 then
    -- every replica stops with the first stopping replica's message
    local mine = stop and tostring(type(err) == "table" and err.message or "") or false
    local all = require("dnn.distributed").allgather_object(mine)
    local msg
    for r = 1, #all do
      if all[r] ~= false then
        msg = all[r]
        if r - 1 ~= self.rank and not stop then msg = ("rank %d's policies stopped%s"):format(r - 1, msg ~= "" and (": " .. msg) or "") end
        break
      end
    end
    if stop then error(err, 0) end
    error(P().EarlyStopping(msg ~= "" and msg or nil), 0)
  end
end

-- validate()'s metrics: every replica's numbers averaged (the same names
-- on every replica, or an error naming them).
function Dist:metrics(m)
  local keys, key_of = {}, {}
  for k in pairs(m) do
    keys[#keys + 1] = tostring(k)
    key_of[tostring(k)] = k
  end
  table.sort(keys)
  local sig = table.concat(keys, ",")
  local all = core.allgather_string(sig)
  for r = 1, #all do
    if all[r] ~= all[1] then
      error(("train_model: validate returned different metrics on the replicas: rank 0 {%s}, rank %d {%s}")
        :format(all[1], r - 1, all[r]), 0)
    end
  end
  if #keys == 0 then return m end
  local vals = {}
  for i, k in ipairs(keys) do vals[i] = m[key_of[k]] end
  local t = dnn.tensor(vals, { dtype = "float64" })
  core.allreduce({ t }, { op = "sum", inplace = true, check = false })
  local out, v = {}, t:totable()
  for i, k in ipairs(keys) do out[key_of[k]] = v[i] / self.size end
  return out
end

return M
