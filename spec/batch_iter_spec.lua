-- Batch iterators (deep_pipe's dpipe/batch_iter): sampling rules, Infinite's
-- batching over every kind of source, combiners, saved state and replay,
-- and the data stream kept apart from dnn's global random numbers.
local dnn = require "dnn"
local check = require "support.check"
local T = dnn.train

local function range(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

-- All batches of one epoch, each packed.
local function epoch(it)
  local out = {}
  local f = it()
  while true do
    local b = table.pack(f())
    if b[1] == nil then break end
    out[#out + 1] = b
  end
  return out
end

local function same_tensors(a, b)
  return a:size() == b:size() and (a:double() - b:double()):abs():max():item() == 0
end

describe("Generator", function()
  it("is xoshiro256** seeded by splitmix64 (reference values from the published algorithm)", function()
    -- computed with Python's integers from the reference C code
    assert.are.equal(1546998764402558742, T.Generator(42):next_int())
  end)

  it("draws uniform floats and unbiased integers, and saves its state", function()
    local g = T.Generator(7)
    local counts = { 0, 0, 0 }
    for _ = 1, 30000 do
      local u = g:random()
      assert.is_true(u >= 0 and u < 1)
      local k = g:below(3) + 1
      counts[k] = counts[k] + 1
    end
    for k = 1, 3 do assert.is_true(math.abs(counts[k] - 10000) < 400, tostring(counts[k])) end
    local st = g:get_state()
    local a = { g:next_int(), g:next_int() }
    g:set_state(st)
    assert.are.same(a, { g:next_int(), g:next_int() })
  end)
end)

describe("load_by_random_id", function()
  it("samples ids[floor(u * n) + 1] with the generator of random_state", function()
    local ids = { "a", "b", "c", "d", "e" }
    local src = T.load_by_random_id(function(id) return id .. "!" end, { ids = ids, random_state = 5 })
    local g = T.Generator(5)
    for _ = 1, 50 do
      assert.are.equal(ids[math.floor(g:random() * 5) + 1] .. "!", src:next())
    end
  end)

  it("samples by weights (bisect on the normalised cumulative sums)", function()
    local src = T.sample({ 1, 2, 3, 4 }, { weights = { 0, 1, 0, 3 }, random_state = 1 })
    local g = T.Generator(1)
    local n4 = 0
    for _ = 1, 4000 do
      local u = g:random()
      local want = u < 0.25 and 2 or 4
      local got = src:next()
      assert.are.equal(want, got)
      if got == 4 then n4 = n4 + 1 end
    end
    assert.is_true(math.abs(n4 / 4000 - 0.75) < 0.03)
  end)

  it("yields one value per loader, as a tuple", function()
    local src = T.load_by_random_id(function(i) return i * 10 end, function(i) return -i end,
      { ids = { 3 }, random_state = 0 })
    assert.are.same({ 30, -3 }, src:next())
  end)

  it("draws its seed from dnn's generator when random_state is nil", function()
    dnn.manual_seed(11)
    local a = T.sample(range(1000))
    dnn.manual_seed(11)
    local b = T.sample(range(1000))
    for _ = 1, 20 do assert.are.equal(a:next(), b:next()) end
  end)

  it("checks ids and weights", function()
    check.fails_with(function() T.load_by_random_id(function() end, { ids = {} }) end, "ids is empty")
    check.fails_with(function() T.load_by_random_id(function() end, { ids = { 1, 2 }, weights = { 1 } }) end,
      "1 weights for 2 ids")
    check.fails_with(function() T.load_by_random_id(function() end, { ids = { 1, 2 }, weights = { 0, 0 } }) end,
      "at least one weight must be positive")
    check.fails_with(function() T.load_by_random_id(function() end, { ids = { 1 }, weights = { -1 } }) end,
      "weights must be numbers >= 0")
    check.fails_with(function() T.load_by_random_id(3, { ids = { 1 } }) end, "loader 1 is a number")
    check.fails_with(function() T.load_by_random_id(function() end, {}) end, "give ids=")
  end)
end)

describe("Infinite", function()
  local function loaders()
    local x = dnn.arange(0, 40):view(10, 4):float()
    return function(i) return x[i] end, function(i) return i - 1 end
  end

  it("yields batches_per_epoch batches of batch_size stacked items each epoch", function()
    local lx, ly = loaders()
    local it = T.Infinite { T.load_by_random_id(lx, ly, { ids = range(10), random_state = 3 }),
      batch_size = 4, batches_per_epoch = 3 }
    local g = T.Generator(3)
    for _ = 1, 2 do
      local bs = epoch(it)
      assert.are.equal(3, #bs)
      for _, b in ipairs(bs) do
        assert.are.equal(2, b.n)
        assert.are.equal("[4, 4]", tostring(b[1]:size()))
        assert.are.equal("int64", b[2].dtype)
        for r = 1, 4 do
          local id = math.floor(g:random() * 10) + 1
          assert.are.equal(id - 1, b[2][r])
          assert.are.equal((id - 1) * 4, b[1][r][1])
        end
      end
    end
  end)

  it("accepts deep_pipe's n_iters_per_epoch and for-loops over x, y", function()
    local lx, ly = loaders()
    local it = T.Infinite(T.load_by_random_id(lx, ly, { ids = range(10) }), { batch_size = 2, n_iters_per_epoch = 5 })
    local n = 0
    for x, y in it() do
      n = n + 1
      assert.are.equal(2, x:size(1))
      assert.are.equal(2, y:size(1))
    end
    assert.are.equal(5, n)
  end)

  it("applies transformers to each item; unpack_args spreads the tuple", function()
    local src = T.load_by_random_id(function(i) return dnn.tensor(i) end, function(i) return i end,
      { ids = { 2 }, random_state = 0 })
    local it = T.Infinite { src, T.unpack_args(function(x, y, k) return x * k, y + k end, 10),
      batch_size = 3, batches_per_epoch = 1 }
    local b = epoch(it)[1]
    assert.are.same({ 20, 20, 20 }, b[1]:totable())
    assert.are.same({ 12, 12, 12 }, b[2]:totable())
    local it2 = T.Infinite { src, T.apply_at(2, function(y) return -y end), batch_size = 1, batches_per_epoch = 1 }
    assert.are.equal(-2, epoch(it2)[1][2][1])
    local it3 = T.Infinite { src, T.multiply(function(v) return v * 2 end), batch_size = 1, batches_per_epoch = 1 }
    assert.are.equal(4, epoch(it3)[1][2][1])
  end)

  it("reads coroutines, generator functions and lists (a finite source ends the epoch early)", function()
    local co = coroutine.create(function()
      for i = 1, 5 do coroutine.yield(i, -i) end
    end)
    local bs = epoch(T.Infinite { co, batch_size = 2, batches_per_epoch = 10 })
    assert.are.equal(3, #bs)
    assert.are.same({ 5 }, bs[3][1]:totable())
    assert.are.same({ -1, -2 }, bs[1][2]:totable())
    local k = 0
    local gen = function() k = k + 1; return k end
    local it = T.Infinite { gen, batch_size = 3, batches_per_epoch = 2 }
    assert.are.same({ 1, 2, 3 }, epoch(it)[1][1]:totable())
    assert.are.same({ 7, 8, 9 }, epoch(it)[1][1]:totable())
    local lst = T.Infinite { { { 1, 2 }, { 3, 4 }, { 5, 6 } }, batch_size = 2, batches_per_epoch = 4 }
    local lb = epoch(lst)
    assert.are.equal(2, #lb)
    assert.are.same({ 2, 4 }, lb[1][2]:totable())
  end)

  it("takes batch_size as a function deciding whether an item joins the chunk", function()
    local k = 0
    local gen = function() k = k + 1; return k end
    -- chunks whose sum stays <= 10: {1,2,3,4}, {5}, {6}, ...
    local it = T.Infinite { gen, batches_per_epoch = 3, batch_size = function(chunk, item)
      local s = item
      for _, v in ipairs(chunk) do s = s + v end
      return s <= 10
    end }
    local bs = epoch(it)
    assert.are.same({ 1, 2, 3, 4 }, bs[1][1]:totable())
    assert.are.same({ 5 }, bs[2][1]:totable())
    assert.are.same({ 6 }, bs[3][1]:totable())
  end)

  it("checks its arguments as deep_pipe does", function()
    check.fails_with(function() T.Infinite { function() end, batch_size = 2, batches_per_epoch = 0 } end,
      "expected a positive amount of batches per epoch")
    check.fails_with(function() T.Infinite { function() end, batch_size = 0, batches_per_epoch = 1 } end,
      "batch_size must be greater than zero")
    check.fails_with(function() T.Infinite { function() end, batch_size = 0.5, batches_per_epoch = 1 } end,
      "batch_size must be an integer or a function, not float")
    check.fails_with(function() T.Infinite { 42, batch_size = 1, batches_per_epoch = 1 } end, "the source must be")
    check.fails_with(function() T.Infinite { function() end, batch_size = 1, batches_per_epoch = 1, bogus = 1 } end,
      "unknown argument 'bogus'")
    check.fails_with(function()
      T.Infinite { function() end, batch_size = 1, batches_per_epoch = 2, n_iters_per_epoch = 3 }
    end, "disagree")
  end)
end)

describe("combiners", function()
  it("combine_to_arrays stacks tensors and makes numbers a tensor", function()
    local x, y = T.combine_to_arrays({ { dnn.tensor { 1, 2 }, 0 }, { dnn.tensor { 3, 4 }, 1 } })
    assert.are.same({ { 1, 2 }, { 3, 4 } }, x:totable())
    assert.are.same({ 0, 1 }, y:totable())
    assert.are.equal("int64", y.dtype)
    check.fails_with(function() T.combine_to_arrays({ { dnn.zeros(2) }, { dnn.zeros(3) } }) end,
      "part 1", "[2]", "[3]", "combine_pad")
    check.fails_with(function() T.combine_to_arrays({ { 1, 2 }, { 1 } }) end, "item 2 has 1 parts, item 1 has 2")
  end)

  it("combine_batches keeps the parts as lists", function()
    local a, b = T.combine_batches({ { "x1", "y1" }, { "x2", "y2" } })
    assert.are.same({ "x1", "x2" }, a)
    assert.are.same({ "y1", "y2" }, b)
  end)

  it("combine_pad pads to the largest shape, floor(delta * ratio) before", function()
    local a = dnn.tensor { { 1, 2, 3 }, { 4, 5, 6 } } -- [2, 3]
    local b = dnn.tensor { { 7 }, { 8 }, { 9 }, { 10 } } -- [4, 1]
    local x = T.combine_pad({ { a }, { b } })
    -- a: rows 2 -> 4 (1 before, 1 after), cols as is; b: cols 1 -> 3 (1 before)
    assert.are.same({
      { { 0, 0, 0 }, { 1, 2, 3 }, { 4, 5, 6 }, { 0, 0, 0 } },
      { { 0, 7, 0 }, { 0, 8, 0 }, { 0, 9, 0 }, { 0, 10, 0 } },
    }, x:totable())
    local y, lab = T.combine_pad({ { dnn.tensor { 1 }, 5 }, { dnn.tensor { 1, 2, 3 }, 6 } },
      { padding_values = { -1 }, ratio = 0 })
    assert.are.same({ { 1, -1, -1 }, { 1, 2, 3 } }, y:totable())
    assert.are.same({ 5, 6 }, lab:totable())
    local z = T.combine_pad({ { dnn.tensor { 5 } }, { dnn.tensor { 3, 4 } } },
      { padding_values = function(t) return t:min():item() end, ratio = 1 })
    assert.are.same({ { 5, 5 }, { 3, 4 } }, z:totable())
  end)

  it("an Infinite passes its extra arguments to the combiner", function()
    local k = 0
    local gen = function() k = k + 1; return dnn.ones(k) end
    local it = T.Infinite { gen, batch_size = 2, batches_per_epoch = 1, combiner = T.combine_pad,
      padding_values = 9, ratio = 0 }
    assert.are.same({ { 1, 9 }, { 1, 1 } }, epoch(it)[1][1]:totable())
  end)
end)

describe("Infinite state", function()
  local function pipeline(source_kind)
    local src
    if source_kind == "ids" then
      src = T.load_by_random_id(function(i) return dnn.randn(3) + i end, { ids = range(20) })
    else
      src = coroutine.create(function()
        while true do coroutine.yield(dnn.randn(3)) end
      end)
    end
    return T.Infinite { src, batch_size = 4, batches_per_epoch = 5 }
  end

  for _, kind in ipairs({ "ids", "coroutine" }) do
    it(("resumes a %s source exactly, inside an epoch too"):format(kind), function()
      dnn.manual_seed(21)
      local a = pipeline(kind)
      local f = a()
      f(); f() -- two batches into the first epoch
      local st = a:get_state()
      local path = os.tmpname()
      dnn.save(path, st)
      local rest = {}
      for x in f do rest[#rest + 1] = x end
      for x in a() do rest[#rest + 1] = x end
      assert.are.equal(8, #rest)
      dnn.manual_seed(21)
      local b = pipeline(kind) -- a fresh process would build it the same way
      b:set_state(dnn.load(path))
      os.remove(path)
      local again = {}
      for x in b() do again[#again + 1] = x end -- the rest of the epoch
      assert.are.equal(3, #again)
      for x in b() do again[#again + 1] = x end
      for i = 1, 8 do assert.is_true(same_tensors(rest[i], again[i]), "batch " .. i) end
      assert.are.equal(kind == "ids", b:exact_state())
    end)
  end

  it("a replayed source must start fresh", function()
    local a = pipeline("coroutine")
    a()()
    local st = a:get_state()
    check.fails_with(function() a:set_state(st) end, "has not made a batch yet")
    local exact = pipeline("ids")
    check.fails_with(function() exact:set_state(st) end, "use the same kind of source")
  end)

  it("draws its random numbers from its own stream, not dnn's", function()
    dnn.manual_seed(5)
    local it = pipeline("ids")
    local before = dnn.get_rng_state()
    local f = it()
    f(); f()
    local r1 = dnn.rand(4)
    dnn.set_rng_state(before)
    local r2 = dnn.rand(4)
    assert.is_true(same_tensors(r1, r2))
  end)
end)
