-- Batch iterators: deep_pipe's dpipe/batch_iter (pipeline.py, sources.py,
-- utils.py) for train_model.
--
--   local it = T.Infinite{T.load_by_random_id(load_x, load_y, {ids=ids}),
--                         batch_size=100, batches_per_epoch=2000}
--   for x, y in it() do ... end           -- one epoch: 2000 batches
--
-- Items flow from a source through transformers into batches.  An item is
-- one value, or a tuple -- a plain list {x, y} (a source returning several
-- values makes one).  Transformers are called with the item and return the
-- new item; unpack_args(fn) calls fn(x, y) instead.  The combiner turns the
-- list of a batch's items into the batch's parts, returned as several values.
--
-- A source is
--   * a table with a method next() returning the next item (nil: the end),
--     and optionally get_state()/set_state(s): load_by_random_id and sample
--     make such sources, with exact state;
--   * a generator function (each call returns the next item), or a
--     coroutine (each resume yields one) -- their state cannot be saved;
--   * a list of items (read in order; its position is the state).
--
-- Everything the pipeline draws from dnn's random generator (augmentation
-- in a loader or transformer) comes from a stream of its own (rng.Stream),
-- so data and training never share random numbers.  it:get_state() is then
-- exact for stateful sources; for the others it records how many batches
-- were made, and set_state replays them from the start of a fresh pipeline
-- -- the same numbers drawn again, so the same items -- which is what
-- resuming a run with a coroutine or generator source does.
local dnn = require "dnn"
local class = require "dnn.class"
local rng = require "dnn.train.rng"

local M = {}

local function is_plain(t) return type(t) == "table" and getmetatable(t) == nil and not dnn.is_tensor(t) end

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(f) == "table" and type(mt) == "table" and mt.__call ~= nil
end
M.callable = callable

-- Several values -> one item (a tuple list when there are several).
local function item_of(n, ...)
  if n == 1 then return (...) end
  return { ... }
end

local function parts_of(item)
  if is_plain(item) then return item end
  return { item }
end

-- Splits f(a, b, {k=v}) and f{a, b, k=v}: the positional values and the
-- options table.
local function split_args(...)
  local n = select("#", ...)
  local args = { ... }
  local last = args[n]
  if n >= 1 and is_plain(last) then
    local has_key = false
    for k in pairs(last) do
      if type(k) == "string" then has_key = true break end
    end
    if has_key or n == 1 or next(last) == nil then
      local pos = {}
      for i = 1, n - 1 do pos[#pos + 1] = args[i] end
      for i = 1, #last do pos[#pos + 1] = last[i] end
      return pos, last
    end
  end
  return args, {}
end
M.split_args = split_args

local function check_keys(who, opts, known)
  for k in pairs(opts) do
    if type(k) == "string" and not known[k] then
      local list = {}
      for name in pairs(known) do list[#list + 1] = name end
      table.sort(list)
      error(("%s: unknown argument '%s' (arguments: %s)"):format(who, k, table.concat(list, ", ")), 3)
    end
  end
end

-- ---------- sources: sample and load_by_random_id ----------

local function to_list(who, what, v)
  if dnn.is_tensor(v) then
    if v:dim() ~= 1 then error(("%s: %s must be a list or a 1-d tensor, got shape %s"):format(who, what, tostring(v:size())), 4) end
    local out = {}
    for i = 1, v:size(1) do out[i] = v[i] end
    return out
  end
  if type(v) ~= "table" then error(("%s: %s must be a list, got %s"):format(who, what, type(v)), 4) end
  return v
end

local Sampler = class.Object:extend("Sampler")
M.Sampler = Sampler

-- sample(sequence, {weights=, random_state=}): an endless source of
-- elements of sequence drawn at random (with the given weights), as
-- dpipe.batch_iter.sources.sample.
function Sampler:init(who, seq, weights, random_state)
  seq = to_list(who, "ids", seq)
  if #seq == 0 then error(who .. ": ids is empty", 3) end
  self.seq = seq
  self.gen = rng.generator(random_state, who)
  if weights ~= nil then
    weights = to_list(who, "weights", weights)
    if #weights ~= #seq then
      error(("%s: %d weights for %d ids"):format(who, #weights, #seq), 3)
    end
    local total, any = 0, false
    for i, w in ipairs(weights) do
      if type(w) ~= "number" or w < 0 or w ~= w then
        error(("%s: weights must be numbers >= 0 (weight %d is %s)"):format(who, i, tostring(w)), 3)
      end
      total = total + w
      any = any or w > 0
    end
    if not any then error(who .. ": at least one weight must be positive", 3) end
    local cum, acc = {}, 0
    for i, w in ipairs(weights) do
      acc = acc + w / total
      cum[i] = acc
    end
    self.cum = cum
  end
end

-- Python's bisect_right: the number of entries <= u.
local function bisect(cum, u)
  local lo, hi = 1, #cum + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if u < cum[mid] then hi = mid else lo = mid + 1 end
  end
  return lo - 1
end

function Sampler:next_id()
  local u = self.gen:random()
  if not self.cum then return self.seq[math.floor(u * #self.seq) + 1] end
  local k = bisect(self.cum, u)
  if k >= #self.cum then k = #self.cum - 1 end -- rounding left the last sum below 1
  return self.seq[k + 1]
end

function Sampler:next() return self:next_id() end
function Sampler:get_state() return { generator = self.gen:get_state() } end
function Sampler:set_state(s) self.gen:set_state(s.generator) end

function M.sample(...)
  local first = ...
  if select("#", ...) == 1 and is_plain(first) and next(first) ~= nil and first.weights == nil
      and first.random_state == nil and first.sequence == nil
      and type(first[1]) ~= "table" and not dnn.is_tensor(first[1]) then
    return Sampler("sample", first, nil, nil) -- sample(list): the list is the sequence
  end
  local pos, opts = split_args(...)
  check_keys("sample", opts, { weights = true, random_state = true, sequence = true })
  local seq = pos[1] or opts.sequence
  if seq == nil then error("sample: give the sequence to sample from", 2) end
  return Sampler("sample", seq, opts.weights, opts.random_state)
end

local Loader = Sampler:extend("LoadByRandomId")

function Loader:next()
  local id = self:next_id()
  local loaders = self.loaders
  if #loaders == 1 then return loaders[1](id) end
  local out = {}
  for i, f in ipairs(loaders) do out[i] = f(id) end
  return out
end

-- load_by_random_id(loader..., {ids=, weights=, random_state=}): an endless
-- source of (loader1(id), loader2(id), ...) for ids drawn at random.
function M.load_by_random_id(...)
  local pos, opts = split_args(...)
  check_keys("load_by_random_id", opts, { ids = true, weights = true, random_state = true })
  if #pos == 0 then error("load_by_random_id: give at least one loader", 2) end
  for i, f in ipairs(pos) do
    if not callable(f) then
      error(("load_by_random_id: loader %d is a %s, not a function"):format(i, type(f)), 2)
    end
  end
  if opts.ids == nil then error("load_by_random_id: give ids={...}", 2) end
  local s = Loader("load_by_random_id", opts.ids, opts.weights, opts.random_state)
  s.loaders = pos
  return s
end

-- ---------- transformers ----------

-- unpack_args(fn, ...): a transformer calling fn(x, y, ...) for the item {x, y}.
function M.unpack_args(fn, ...)
  if not callable(fn) then error("unpack_args: expected a function", 2) end
  local extra = table.pack(...)
  return function(item)
    local parts = parts_of(item)
    local args = table.move(parts, 1, #parts, 1, {})
    table.move(extra, 1, extra.n, #parts + 1, args)
    return fn(table.unpack(args, 1, #parts + extra.n))
  end
end

-- multiply(fn, ...): fn applied to every part of the item.
function M.multiply(fn, ...)
  local extra = table.pack(...)
  return function(item)
    local out = {}
    for i, x in ipairs(parts_of(item)) do out[i] = fn(x, table.unpack(extra, 1, extra.n)) end
    return out
  end
end

-- apply_at(positions, fn, ...): fn applied to the parts at the given 1-based
-- positions (a number or a list).
function M.apply_at(index, fn, ...)
  local extra = table.pack(...)
  local at = {}
  for _, i in ipairs(type(index) == "table" and index or { index }) do at[i] = true end
  return function(item)
    local out = {}
    for i, x in ipairs(parts_of(item)) do
      out[i] = at[i] and fn(x, table.unpack(extra, 1, extra.n)) or x
    end
    return out
  end
end

-- ---------- combiners ----------

-- combine_batches(items): {x1, x2, ...}, {y1, y2, ...} -- the parts as lists.
function M.combine_batches(items)
  local first = parts_of(items[1])
  local out = {}
  for j = 1, #first do out[j] = {} end
  for i, item in ipairs(items) do
    local parts = parts_of(item)
    if #parts ~= #first then
      error(("combine: item %d has %d parts, item 1 has %d"):format(i, #parts, #first), 0)
    end
    for j = 1, #first do out[j][i] = parts[j] end
  end
  return table.unpack(out, 1, #first)
end

local function stack_part(who, j, list)
  local v = list[1]
  if dnn.is_tensor(v) then
    for i = 2, #list do
      local x = list[i]
      if not dnn.is_tensor(x) then
        error(("%s: part %d: item %d is a %s, item 1 a tensor"):format(who, j, i, type(x)), 0)
      end
      if tostring(x:size()) ~= tostring(v:size()) then
        error(("%s: part %d: items have shapes %s (item 1) and %s (item %d); use combine_pad for "
          .. "parts of different shapes"):format(who, j, tostring(v:size()), tostring(x:size()), i), 0)
      end
    end
    return dnn.stack(list, 1)
  end
  if type(v) == "number" then
    for i = 2, #list do
      if type(list[i]) ~= "number" then
        error(("%s: part %d: item %d is a %s, item 1 a number"):format(who, j, i, type(list[i])), 0)
      end
    end
    return dnn.tensor(list)
  end
  return list -- strings, tables: left as the list numpy's object arrays would hold
end

-- combine_to_arrays(items): each part stacked along a new first dim
-- (tensors) or made a tensor (numbers): the batch's x, y, ...
function M.combine_to_arrays(items)
  local parts = table.pack(M.combine_batches(items))
  for j = 1, parts.n do parts[j] = stack_part("combine_to_arrays", j, parts[j]) end
  return table.unpack(parts, 1, parts.n)
end

-- x padded with value to shape: the padding before each dim is
-- floor(delta * ratio), the rest after (deep_pipe's pad_to_shape).
local function pad_into(dst, x, ratio)
  local region = dst
  for d = 1, x:dim() do
    local delta = region:size(d) - x:size(d)
    local left = math.floor(delta * ratio)
    region = region:narrow(d, left + 1, x:size(d))
  end
  region:copy_(x)
end

-- combine_pad(items, {padding_values=0, ratio=0.5}): as combine_to_arrays,
-- but tensors of different shapes are padded to the largest along each dim.
-- padding_values: one value, a list with one per part, or a function of the
-- tensor (e.g. function(x) return x:min():item() end).
function M.combine_pad(items, opts)
  opts = opts or {}
  check_keys("combine_pad", opts, { padding_values = true, ratio = true })
  local ratio = opts.ratio or 0.5
  if type(ratio) ~= "number" or ratio < 0 or ratio > 1 then
    error("combine_pad: ratio must be a number in [0, 1]", 2)
  end
  local parts = table.pack(M.combine_batches(items))
  for j = 1, parts.n do
    local list = parts[j]
    if dnn.is_tensor(list[1]) then
      local nd = list[1]:dim()
      local shape = {}
      for d = 1, nd do shape[d] = 0 end
      for i, x in ipairs(list) do
        if not dnn.is_tensor(x) or x:dim() ~= nd then
          error(("combine_pad: part %d: item %d is not a %d-d tensor like item 1"):format(j, i, nd), 2)
        end
        for d = 1, nd do shape[d] = math.max(shape[d], x:size(d)) end
      end
      local pv = opts.padding_values or 0
      if type(pv) == "table" then pv = pv[j] or 0 end
      local full = { #list }
      for d = 1, nd do full[d + 1] = shape[d] end
      local out = dnn.empty(full, { dtype = list[1].dtype })
      for i, x in ipairs(list) do
        local v = pv
        if callable(pv) then v = pv(x) end
        if dnn.is_tensor(v) then v = v:item() end
        if type(v) ~= "number" then
          error(("combine_pad: the padding value for part %d is a %s, not a number"):format(j, type(v)), 2)
        end
        local dst = out:select(1, i)
        dst:fill_(v)
        pad_into(dst, x, ratio)
      end
      parts[j] = out
    else
      parts[j] = stack_part("combine_pad", j, list)
    end
  end
  return table.unpack(parts, 1, parts.n)
end

-- ---------- Infinite ----------

local Infinite = class.Object:extend("Infinite")
M.Infinite = Infinite

local KNOWN = { source = true, batch_size = true, batches_per_epoch = true, n_iters_per_epoch = true,
                buffer_size = true, combiner = true }

-- Infinite{source, transformer..., batch_size=, batches_per_epoch=
-- (or n_iters_per_epoch=), buffer_size=1, combiner=combine_to_arrays,
-- <combiner options>...}.  batch_size is a count or a function
-- should_add(chunk, item) deciding whether item joins the chunk.
-- buffer_size is accepted for deep_pipe's scripts: everything runs in the
-- calling thread (the engine's kernels already use the threads), so nothing
-- is buffered.
function Infinite:init(...)
  local pos, opts = split_args(...)
  local source = pos[1] or opts.source
  if source == nil then error("Infinite: give the source", 3) end
  local combiner = opts.combiner or M.combine_to_arrays
  if not callable(combiner) then error("Infinite: combiner must be a function", 3) end
  local copts = {}
  for k, v in pairs(opts) do
    if type(k) == "string" and not KNOWN[k] then
      if combiner == M.combine_to_arrays then check_keys("Infinite", { [k] = v }, KNOWN) end
      copts[k] = v
    end
  end
  self.combiner, self.combiner_opts = combiner, next(copts) and copts or nil
  local bpe = opts.batches_per_epoch or opts.n_iters_per_epoch
  if opts.batches_per_epoch and opts.n_iters_per_epoch and opts.batches_per_epoch ~= opts.n_iters_per_epoch then
    error("Infinite: batches_per_epoch and n_iters_per_epoch disagree (give one)", 3)
  end
  if math.type(bpe) ~= "integer" or bpe <= 0 then
    error(("Infinite: expected a positive amount of batches per epoch (batches_per_epoch=), got %s")
      :format(tostring(bpe)), 3)
  end
  local bs = opts.batch_size
  if callable(bs) then
    self.should_add = bs
  elseif math.type(bs) == "integer" then
    if bs <= 0 then error(("Infinite: batch_size must be greater than zero, not %d"):format(bs), 3) end
    self.batch_size = bs
  else
    error(("Infinite: batch_size must be an integer or a function, not %s"):format(
      bs == nil and "nothing" or (math.type(bs) or type(bs))), 3)
  end
  local buf = opts.buffer_size
  if buf ~= nil and (math.type(buf) ~= "integer" or buf <= 0) then
    error("Infinite: buffer_size must be a positive integer", 3)
  end
  self.buffer_size = buf or 1
  self.batches_per_epoch = bpe
  self.transformers = {}
  for i = 2, #pos do
    if not callable(pos[i]) then
      error(("Infinite: transformer %d is a %s, not a function"):format(i - 1, type(pos[i])), 3)
    end
    self.transformers[#self.transformers + 1] = pos[i]
  end
  self:_set_source(source)
  self.stream = rng.Stream()
  self.origin = self.stream:get_state()
  self.batches = 0 -- made since this pipeline was created (replay counts these)
end

function Infinite:_set_source(source)
  local kind
  if type(source) == "thread" then
    kind = "coroutine"
  elseif type(source) == "function" then
    kind = "function"
  elseif type(source) == "table" and type(source.next) == "function" then
    kind = "object"
  elseif is_plain(source) then
    kind, self.position = "list", 0
  elseif callable(source) then
    kind = "function"
  else
    error(("Infinite: the source must be a source object (with next()), a generator function, "
      .. "a coroutine or a list, got %s"):format(class.name(source)), 4)
  end
  self.source, self.source_kind = source, kind
end

-- The source's next item, or nil at its end.
function Infinite:_draw()
  local src, kind = self.source, self.source_kind
  local item
  if kind == "object" then
    item = item_of(1, src:next())
  elseif kind == "function" then
    item = table.pack(src())
    item = item[1] ~= nil and item_of(item.n, table.unpack(item, 1, item.n)) or nil
  elseif kind == "coroutine" then
    if coroutine.status(src) == "dead" then return nil end
    local r = table.pack(coroutine.resume(src))
    if not r[1] then error("Infinite: the source coroutine failed: " .. tostring(r[2]), 0) end
    if r.n < 2 or (coroutine.status(src) == "dead" and r[2] == nil) then return nil end
    item = item_of(r.n - 1, table.unpack(r, 2, r.n))
  else
    self.position = self.position + 1
    item = src[self.position]
  end
  if item == nil then return nil end
  for _, f in ipairs(self.transformers) do
    local r = table.pack(f(item))
    item = item_of(r.n, table.unpack(r, 1, r.n))
  end
  return item
end

-- The next batch as a packed table, or nil when the source ran dry.
function Infinite:_next_batch()
  local items = {}
  if self.pending ~= nil then
    items[1], self.pending = self.pending, nil
  end
  while true do
    if self.batch_size and #items >= self.batch_size then break end
    local item = self:_draw()
    if item == nil then break end
    if self.should_add and #items > 0 and not self.should_add(items, item) then
      self.pending = item
      break
    end
    items[#items + 1] = item
  end
  if #items == 0 then return nil end
  self.batches = self.batches + 1
  return table.pack(self.combiner(items, self.combiner_opts))
end

-- One batch (packed), with dnn's generator switched to the data stream.
function Infinite:next_batch()
  return self.stream:run(self._next_batch, self)
end

-- it() -> an iterator over the epoch's batches: for x, y in it() do ... end
-- (after set_state inside an epoch, over the rest of that epoch).
function Infinite:__call()
  self.in_epoch = self._resume_at or 0
  self._resume_at = nil
  return function()
    if self.in_epoch >= self.batches_per_epoch then return nil end
    local b = self:next_batch()
    if b == nil then
      self.in_epoch = self.batches_per_epoch
      return nil
    end
    self.in_epoch = self.in_epoch + 1
    return table.unpack(b, 1, b.n)
  end
end

function Infinite:close() end

-- True when get_state is exact (no replay needed).
function Infinite:exact_state()
  return (self.source_kind == "object" and type(self.source.get_state) == "function")
    or self.source_kind == "list"
end

function Infinite:get_state()
  local st = { batches = self.batches, in_epoch = self.in_epoch or 0, stream = self.stream:get_state() }
  if self.source_kind == "object" and type(self.source.get_state) == "function" then
    st.source = self.source:get_state()
  elseif self.source_kind == "list" then
    st.position = self.position
  else
    st.replay, st.origin = true, self.origin:clone()
  end
  if self.pending ~= nil then st.pending = self.pending end
  return st
end

function Infinite:set_state(st)
  if type(st) ~= "table" or math.type(st.batches) ~= "integer" then
    error("Infinite.set_state: expected the table get_state returned", 2)
  end
  if st.replay then
    if self:exact_state() then
      error("Infinite.set_state: the state was saved by a replayed source (a coroutine or a function), "
        .. "but this pipeline's source keeps its own state: use the same kind of source", 2)
    end
    if self.batches ~= 0 then
      error("Infinite.set_state: a coroutine or function source can only be replayed by a pipeline "
        .. "that has not made a batch yet", 2)
    end
    self.stream:set_state(st.origin)
    for k = 1, st.batches do
      if self:next_batch() == nil then
        error(("Infinite.set_state: the source ran dry after %d of the %d batches to replay"):format(k - 1, st.batches), 2)
      end
    end
    self.replay_exact = rng.same_state(self.stream:get_state(), st.stream)
  else
    if self.source_kind == "list" then
      self.position = st.position
    elseif st.source ~= nil then
      self.source:set_state(st.source)
    else
      error("Infinite.set_state: the state holds no source state for this source", 2)
    end
    self.pending = st.pending
    self.batches = st.batches
  end
  self.stream:set_state(st.stream)
  local e = st.in_epoch or 0
  self.in_epoch = e
  self._resume_at = e < self.batches_per_epoch and e or 0
end

-- What batch_iter() returned, as an iterator of batches: an iterator
-- function, a coroutine (resumed for each batch), or a list of batches (a
-- batch given as a plain list unpacks into its parts).  train_model and its
-- distributed form both read epochs through it.
function M.iterator_of(g)
  if type(g) == "function" then return g end
  if type(g) == "thread" then
    return function()
      if coroutine.status(g) == "dead" then return nil end
      local r = table.pack(coroutine.resume(g))
      if not r[1] then error("train_model: the batch coroutine failed: " .. tostring(r[2]), 0) end
      return table.unpack(r, 2, r.n)
    end
  end
  if is_plain(g) then
    local i = 0
    return function()
      i = i + 1
      local b = g[i]
      if is_plain(b) then return table.unpack(b, 1, #b) end
      return b
    end
  end
  error(("train_model: batch_iter() returned a %s; expected an iterator function, a coroutine or a list of batches")
    :format(class.name(g)), 0)
end

return M
