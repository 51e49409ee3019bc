-- Indexing, joining and sorting ops: gather/scatter/index_select/index_add,
-- masks, one_hot, cat/stack/split/chunk, sort/topk/bincount/unique, nonzero.
-- Reference values come from plain Lua loops over the same data or from
-- examples worked by hand (checked against PyTorch 1.13 semantics).
local dnn = require "dnn"

local NAN = 0 / 0
local DTYPES = { "float32", "float64", "int32", "int64", "uint8", "bool" }

-- A deterministic LCG so reference data does not depend on dnn's generator.
local function lcg(seed)
  local s = seed
  return function(lo, hi)
    s = (s * 1103515245 + 12345) % 2147483648
    return lo + s % (hi - lo + 1)
  end
end

local function rand_table(shape, seed, lo, hi)
  local r = lcg(seed)
  local function build(d)
    local t = {}
    for i = 1, shape[d] do t[i] = d == #shape and r(lo, hi) or build(d + 1) end
    return t
  end
  return build(1)
end

local function is_nan(x) return type(x) == "number" and x ~= x end

-- Deep equality of nested tables (NaN equals NaN; numbers compared by value).
local function same(a, b, path)
  path = path or "value"
  if type(a) == "table" and type(b) == "table" then
    assert(#a == #b, ("%s: length %d vs %d"):format(path, #a, #b))
    for i = 1, #a do same(a[i], b[i], path .. "[" .. i .. "]") end
    return true
  end
  if is_nan(a) and is_nan(b) then return true end
  assert(a == b, ("%s: got %s, expected %s"):format(path, tostring(a), tostring(b)))
  return true
end

local function check(t, expected) return same(t:totable(), expected) end

local function fails_with(fn, ...)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error, but the call succeeded")
  err = tostring(err)
  for _, frag in ipairs({ ... }) do
    assert(err:find(frag, 1, true), ("error %q does not mention %q"):format(err, frag))
  end
  return err
end

describe("gather", function()
  it("picks along a dim with 1-based positions (hand-worked)", function()
    local t = dnn.tensor { { 1, 2 }, { 3, 4 } }
    check(t:gather(2, dnn.tensor { { 1, 1 }, { 2, 1 } }), { { 1, 1 }, { 4, 3 } })
    check(t:gather(1, dnn.tensor { { 2, 1 } }), { { 3, 2 } })
    check(dnn.gather(t, -1, dnn.tensor { { -1 }, { -2 } }), { { 2 }, { 3 } })
  end)

  it("matches a Lua loop on a 3-d transposed (non-contiguous) input", function()
    local data = rand_table({ 4, 5, 6 }, 7, -50, 50)
    local t = dnn.tensor(data, { dtype = "float64" }):transpose(1, 3) -- (6, 5, 4)
    assert.is_false(t:is_contiguous())
    local idx = rand_table({ 6, 3, 4 }, 11, 1, 5)
    local got = t:gather(2, dnn.tensor(idx)):totable()
    for i = 1, 6 do
      for j = 1, 3 do
        for k = 1, 4 do
          -- t[i][p][k] == data[k][p][i]
          assert.are.equal(data[k][idx[i][j][k]][i], got[i][j][k])
        end
      end
    end
  end)

  it("runs the threaded path on a large input the same as a loop", function()
    local rows, cols = 300, 200
    local data = rand_table({ rows, cols }, 3, 0, 1000)
    local idx = rand_table({ rows, cols }, 5, 1, cols)
    local got = dnn.tensor(data, { dtype = "int32" }):gather(2, dnn.tensor(idx)):totable()
    for i = 1, rows, 37 do
      for j = 1, cols do assert.are.equal(data[i][idx[i][j]], got[i][j]) end
    end
  end)

  it("keeps every dtype", function()
    for _, dt in ipairs(DTYPES) do
      local t = dnn.tensor({ 0, 1, 1 }, { dtype = dt })
      local g = t:gather(1, dnn.tensor { 3, 1 })
      assert.are.equal(dt, g.dtype)
      check(g, dt == "bool" and { true, false } or { 1, 0 })
    end
  end)

  it("accepts int32 and uint8 positions and empty indices", function()
    local t = dnn.tensor { 10, 20, 30 }
    check(t:gather(1, dnn.tensor({ 3, 2 }, { dtype = "int32" })), { 30, 20 })
    check(t:gather(1, dnn.tensor({ 1 }, { dtype = "uint8" })), { 10 })
    assert.are.same({ 0 }, { t:gather(1, dnn.zeros(0):long()):size(1) })
  end)
end)

describe("scatter and scatter_add", function()
  it("scatter writes src or a number at the positions (hand-worked)", function()
    local z = dnn.zeros(3, 3)
    check(z:scatter(1, dnn.tensor { { 1, 2, 3 } }, dnn.tensor { { 5, 6, 7 } }),
      { { 5, 0, 0 }, { 0, 6, 0 }, { 0, 0, 7 } })
    check(dnn.zeros(5):scatter(1, dnn.tensor { 2, 2, 4 }, 7), { 0, 7, 0, 7, 0 })
    check(z, { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }) -- out of place
  end)

  it("scatter_add accumulates duplicates like a Lua loop", function()
    local n, m = 40, 7
    local idx = rand_table({ n, m }, 21, 1, 5)
    local src = rand_table({ n, m }, 22, -9, 9)
    local got = dnn.zeros(n, 5, { dtype = "int64" }):scatter_add(2, dnn.tensor(idx), dnn.tensor(src)):totable()
    for i = 1, n do
      local want = { 0, 0, 0, 0, 0 }
      for j = 1, m do want[idx[i][j]] = want[idx[i][j]] + src[i][j] end
      same(got[i], want)
    end
  end)

  it("scatter {reduce='add'} equals scatter_add, and the in-place forms write through", function()
    local idx, src = dnn.tensor { 1, 1, 3 }, dnn.tensor { 1.0, 2.0, 4.0 }
    check(dnn.zeros(3):scatter(1, idx, src, { reduce = "add" }), { 3, 0, 4 })
    local t = dnn.zeros(3)
    assert.are.equal(t, t:scatter_add_(1, idx, src))
    check(t, { 3, 0, 4 })
    t:scatter_(1, dnn.tensor { 2 }, 9)
    check(t, { 3, 9, 4 })
  end)
end)

describe("every dtype through the indexing kernels", function()
  it("scatter_add, index_add, masked_fill, masked_select and topk keep the dtype", function()
    for _, dt in ipairs(DTYPES) do
      local z = dnn.zeros(3):to(dt)
      local one = dnn.ones(2):to(dt)
      local b = dt == "bool"
      local sa = z:scatter_add(1, dnn.tensor { 2, 2 }, one)
      assert.are.equal(dt, sa.dtype)
      check(sa, b and { false, true, false } or { 0, 2, 0 })
      local ia = z:index_add(1, dnn.tensor { 3, 3 }, one)
      check(ia, b and { false, false, true } or { 0, 0, 2 })
      local mf = z:masked_fill(dnn.tensor { true, false, true }, 1)
      assert.are.equal(dt, mf.dtype)
      check(mf, b and { true, false, true } or { 1, 0, 1 })
      check(mf:masked_select(dnn.tensor { false, false, true }), { b and true or 1 })
      local v, i = mf:topk(2, 1, false)
      check(v, b and { false, true } or { 0, 1 })
      check(i, { 2, 1 })
    end
  end)
end)

describe("index_select and index_add", function()
  it("index_select picks rows and columns (negative positions from the end)", function()
    local t = dnn.arange(6):view(2, 3)
    check(t:index_select(2, dnn.tensor { 3, 1, -1 }), { { 2, 0, 2 }, { 5, 3, 5 } })
    check(t:index_select(1, dnn.tensor { 2 }), { { 3, 4, 5 } })
    check(t:t():index_select(1, dnn.tensor { 2, 2 }), { { 1, 4 }, { 1, 4 } })
    assert.are.same({ 2, 0 }, { t:index_select(2, dnn.zeros(0):long()):size(1), t:index_select(2, dnn.zeros(0):long()):size(2) })
  end)

  it("index_add adds slices at positions like a loop", function()
    local t = dnn.ones(3, 2)
    local r = t:index_add(1, dnn.tensor { 3, 1, 3 }, dnn.tensor { { 1, 2 }, { 10, 20 }, { 100, 200 } })
    check(r, { { 11, 21 }, { 1, 1 }, { 102, 203 } })
    check(t, { { 1, 1 }, { 1, 1 }, { 1, 1 } })
    t:index_add_(2, dnn.tensor { 2 }, dnn.ones(3, 1))
    check(t, { { 1, 2 }, { 1, 2 }, { 1, 2 } })
  end)
end)

describe("masks", function()
  it("masked_fill broadcasts the mask and keeps the input", function()
    local t = dnn.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    check(t:masked_fill(dnn.tensor { true, false, true }, -1), { { -1, 2, -1 }, { -1, 5, -1 } })
    check(t, { { 1, 2, 3 }, { 4, 5, 6 } })
    check(dnn.tensor { 1.0, 2.0 }:masked_fill(dnn.tensor { false, true }, NAN), { 1, NAN })
  end)

  it("masked_fill_ writes in place through a transposed view", function()
    local base = dnn.zeros(2, 3)
    local v = base:t()
    v:masked_fill_(v:eq(0), 5)
    check(base, { { 5, 5, 5 }, { 5, 5, 5 } })
    local t = dnn.tensor { 1, 2, 3 }
    t:masked_fill_(t:gt(1), 0)
    check(t, { 1, 0, 0 })
  end)

  it("masked_select returns the selected values in row-major order", function()
    local t = dnn.tensor { { 1, 2 }, { 3, 4 } }
    check(t:masked_select(t:gt(1)), { 2, 3, 4 })
    check(t:t():masked_select(dnn.tensor { { true, true }, { false, false } }), { 1, 3 })
    check(t:masked_select(dnn.tensor { true, false }), { 1, 3 }) -- mask broadcast over rows
    assert.are.equal(0, t:masked_select(t:gt(10)):size(1))
  end)

  it("masked_scatter fills masked positions from source in order", function()
    local t = dnn.zeros(2, 3)
    local m = dnn.tensor { { true, false, true }, { false, true, false } }
    check(t:masked_scatter(m, dnn.tensor { 1, 2, 3, 4, 5 }), { { 1, 0, 2 }, { 0, 3, 0 } })
  end)
end)

describe("one_hot", function()
  it("encodes 0-based class ids as int64", function()
    local r = dnn.one_hot(dnn.tensor { 0, 2, 1 }, 4)
    assert.are.equal("int64", r.dtype)
    check(r, { { 1, 0, 0, 0 }, { 0, 0, 1, 0 }, { 0, 1, 0, 0 } })
  end)

  it("infers num_classes, keeps the label shape and takes {dtype=}", function()
    local r = dnn.tensor { { 0, 2 }, { 1, 1 } }:one_hot()
    assert.are.same({ 2, 2, 3 }, { r:size(1), r:size(2), r:size(3) })
    check(r[{ 1, 2 }], { 0, 0, 1 })
    local f = dnn.one_hot { dnn.tensor({ 1 }, { dtype = "uint8" }), 2, dtype = "float32" }
    assert.are.equal("float32", f.dtype)
    check(f, { { 0, 1 } })
    check(dnn.one_hot(dnn.tensor { 1 }, { num_classes = 3 }), { { 0, 1, 0 } })
  end)
end)

describe("cat and stack", function()
  local a, b = dnn.tensor { { 1, 2 } }, dnn.tensor { { 3, 4 }, { 5, 6 } }

  it("cat joins along dim 1 by default, in every calling form", function()
    check(dnn.cat { a, b }, { { 1, 2 }, { 3, 4 }, { 5, 6 } })
    check(dnn.cat({ a, b }), { { 1, 2 }, { 3, 4 }, { 5, 6 } })
    check(dnn.concat({ b, b }, 2), { { 3, 4, 3, 4 }, { 5, 6, 5, 6 } })
    check(dnn.cat({ b, b }, { dim = 2 }), { { 3, 4, 3, 4 }, { 5, 6, 5, 6 } })
    check(dnn.cat { b, b, dim = -1 }, { { 3, 4, 3, 4 }, { 5, 6, 5, 6 } })
    check(a:cat(b), { { 1, 2 }, { 3, 4 }, { 5, 6 } })
    check(b:cat(b, 2), { { 3, 4, 3, 4 }, { 5, 6, 5, 6 } })
  end)

  it("cat keeps every dtype, promotes mixed dtypes and reads transposed views", function()
    for _, dt in ipairs(DTYPES) do
      local x = dnn.tensor({ 1, 0 }, { dtype = dt })
      local r = dnn.cat { x, x }
      assert.are.equal(dt, r.dtype)
      check(r, dt == "bool" and { true, false, true, false } or { 1, 0, 1, 0 })
    end
    local m = dnn.cat { dnn.tensor({ 1 }, { dtype = "int32" }), dnn.tensor({ 2.5 }, { dtype = "float64" }) }
    assert.are.equal("float64", m.dtype)
    check(m, { 1, 2.5 })
    assert.are.equal("int64", dnn.cat({ dnn.tensor { true }, dnn.tensor({ 7 }, { dtype = "int64" }) }).dtype)
    check(dnn.cat({ b:t(), b:t() }, 2), { { 3, 5, 3, 5 }, { 4, 6, 4, 6 } })
  end)

  it("cat skips legacy empty 1-d tensors and handles empty pieces", function()
    check(dnn.cat { dnn.zeros(0), b }, { { 3, 4 }, { 5, 6 } })
    local r = dnn.cat { dnn.zeros(0, 2), dnn.zeros(0, 2) }
    assert.are.same({ 0, 2 }, { r:size(1), r:size(2) })
  end)

  it("stack adds a new dim (ndim + 1 allowed)", function()
    local x, y = dnn.tensor { 1, 2, 3 }, dnn.tensor { 4, 5, 6 }
    check(dnn.stack { x, y }, { { 1, 2, 3 }, { 4, 5, 6 } })
    check(dnn.stack({ x, y }, 2), { { 1, 4 }, { 2, 5 }, { 3, 6 } })
    check(dnn.stack({ x, y }, -1), { { 1, 4 }, { 2, 5 }, { 3, 6 } })
    check(dnn.stack { dnn.tensor(1.0), dnn.tensor(2.0) }, { 1, 2 })
    for _, dt in ipairs(DTYPES) do
      assert.are.equal(dt, dnn.stack({ x:to(dt), y:to(dt) }, { dim = 1 }).dtype)
    end
  end)
end)

describe("split and chunk", function()
  local t = dnn.arange(10):view(5, 2)

  it("split by size gives pieces of that size, the last smaller, as views", function()
    local p = t:split(2)
    assert.are.equal(3, #p)
    check(p[1], { { 0, 1 }, { 2, 3 } })
    check(p[3], { { 8, 9 } })
    p[1][{ 1, 1 }] = 42
    assert.are.equal(42, t[{ 1, 1 }])
    t[{ 1, 1 }] = 0
  end)

  it("split by a list of sizes, along other dims, in option forms", function()
    local p = t:split({ 1, 4 })
    assert.are.same({ 1, 4 }, { p[1]:size(1), p[2]:size(1) })
    local q = t:split(1, 2)
    check(q[2], { { 1 }, { 3 }, { 5 }, { 7 }, { 9 } })
    assert.are.equal(2, #t:split { 1, dim = -1 })
    assert.are.equal(2, #t:split(1, { dim = 2 }))
    assert.are.equal(1, #dnn.zeros(0):split(0))
  end)

  it("chunk follows PyTorch (ceil-sized chunks, maybe fewer)", function()
    local c = dnn.arange(6):chunk(4)
    assert.are.equal(3, #c)
    check(c[3], { 4, 5 })
    local d = dnn.arange(5):chunk(3)
    assert.are.same({ 2, 2, 1 }, { d[1]:size(1), d[2]:size(1), d[3]:size(1) })
    assert.are.equal(3, #dnn.zeros(0):chunk(3))
    assert.are.equal(2, #t:chunk(2, 2))
  end)
end)

-- Reference sort: stable by original position; NaN above every number.
local function ref_sort(vals, desc)
  local order = {}
  for i = 1, #vals do order[i] = i end
  local function key_before(x, y)
    if desc then
      if is_nan(x) then return not is_nan(y) end
      return x > y
    end
    if is_nan(y) then return not is_nan(x) end
    return x < y
  end
  table.sort(order, function(i, j)
    local x, y = vals[i], vals[j]
    if key_before(x, y) then return true end
    if key_before(y, x) then return false end
    return i < j
  end)
  local sorted = {}
  for i, o in ipairs(order) do sorted[i] = vals[o] end
  return sorted, order
end

describe("sort, argsort and topk", function()
  it("sorts along the last dim by default with 1-based indices", function()
    local v, i = dnn.tensor { { 3, 1, 2 }, { 9, 8, 7 } }:sort()
    check(v, { { 1, 2, 3 }, { 7, 8, 9 } })
    check(i, { { 2, 3, 1 }, { 3, 2, 1 } })
    assert.are.equal("int64", i.dtype)
  end)

  it("accepts dim/descending positionally and in options tables", function()
    local t = dnn.tensor { { 3, 1 }, { 2, 4 } }
    local forms = {
      { t:sort(1, true) }, { t:sort { 1, descending = true } }, { t:sort(1, { descending = true }) },
      { t:sort { dim = 1, descending = true } },
    }
    for _, f in ipairs(forms) do
      check(f[1], { { 3, 4 }, { 2, 1 } })
      check(f[2], { { 1, 2 }, { 2, 1 } })
    end
    check(t:argsort(2, true), { { 1, 2 }, { 2, 1 } })
  end)

  it("is stable for ties, ascending and descending", function()
    local _, i = dnn.tensor { 2, 1, 2, 1, 2 }:sort()
    check(i, { 2, 4, 1, 3, 5 })
    local _, j = dnn.tensor { 2, 1, 2, 1, 2 }:sort(1, true)
    check(j, { 1, 3, 5, 2, 4 })
  end)

  it("puts NaN last ascending and first descending (as PyTorch)", function()
    local t = dnn.tensor { 3, NAN, 1, 2 }
    local v, i = t:sort()
    check(v, { 1, 2, 3, NAN })
    check(i, { 3, 4, 1, 2 })
    v, i = t:sort(1, true)
    check(v, { NAN, 3, 2, 1 })
    check(i, { 2, 1, 4, 3 })
  end)

  it("sorts every dtype like a stable Lua reference, on transposed input", function()
    for n, dt in ipairs(DTYPES) do
      local lo, hi = -20, 20
      if dt == "uint8" then lo = 0 end
      if dt == "bool" then lo, hi = 0, 1 end
      local raw = rand_table({ 7, 30 }, 100 + n, lo, hi)
      local t = dnn.tensor(raw, { dtype = dt }):t() -- (30, 7), sort dim 1
      for _, desc in ipairs({ false, true }) do
        local v, i = t:sort(1, desc)
        assert.are.equal(dt, v.dtype)
        local vt, it_ = v:totable(), i:totable()
        for c = 1, 7 do
          local col = {}
          for r = 1, 30 do col[r] = dt == "bool" and (raw[c][r] ~= 0) and 1 or raw[c][r] end
          local want_v, want_i = ref_sort(col, desc)
          for r = 1, 30 do
            local got = vt[r][c]
            if dt == "bool" then got = got and 1 or 0 end
            assert.are.equal(want_v[r], got)
            assert.are.equal(want_i[r], it_[r][c])
          end
        end
      end
    end
  end)

  it("sorts many rows in parallel like the reference", function()
    local raw = rand_table({ 200, 300 }, 9, -1000, 1000)
    local v, i = dnn.tensor(raw, { dtype = "float32" }):sort(2)
    local vt, itab = v:totable(), i:totable()
    for r = 1, 200, 17 do
      local want_v, want_i = ref_sort(raw[r], false)
      same(vt[r], want_v)
      same(itab[r], want_i)
    end
  end)

  it("handles empty tensors and 0-d tensors", function()
    local v, i = dnn.zeros(0):sort()
    assert.are.same({ 0, 0 }, { v:size(1), i:size(1) })
    local e = dnn.zeros(2, 0):sort(1)
    assert.are.same({ 2, 0 }, { e:size(1), e:size(2) })
    local s, si = dnn.tensor(5.0):sort()
    assert.are.equal(5, s:item())
    assert.are.equal(1, si:item())
  end)

  it("topk returns the k largest (or smallest), sorted, with 1-based indices", function()
    local t = dnn.tensor { 3, NAN, 1, 2 }
    local v, i = t:topk(2)
    check(v, { NAN, 3 })
    check(i, { 2, 1 })
    v, i = t:topk(2, 1, false)
    check(v, { 1, 2 })
    check(i, { 3, 4 })
    v, i = dnn.tensor { { 1, 5, 3 }, { 6, 4, 2 } }:topk { 1, dim = 1, largest = false }
    check(v, { { 1, 4, 2 } })
    check(i, { { 1, 2, 2 } })
    v = dnn.tensor { 1, 2 }:topk(0)
    assert.are.equal(0, v:size(1))
  end)

  it("topk agrees with a full sort on a larger input for every k", function()
    local raw = rand_table({ 50, 40 }, 77, -5, 5) -- many ties
    local t = dnn.tensor(raw, { dtype = "int32" })
    local sv, si = t:sort(2, true)
    for _, k in ipairs({ 1, 3, 17, 40 }) do
      local v, i = t:topk(k, 2)
      same(v:totable(), sv:narrow(2, 1, k):totable())
      same(i:totable(), si:narrow(2, 1, k):totable())
    end
  end)
end)

describe("bincount and unique", function()
  it("bincount counts value v at position v + 1", function()
    local c = dnn.tensor { 1, 1, 3, 0 }:bincount()
    assert.are.equal("int64", c.dtype)
    check(c, { 1, 2, 0, 1 })
    check(dnn.tensor { 1 }:bincount { minlength = 4 }, { 0, 1, 0, 0 })
    check(dnn.tensor { 1 }:bincount(nil, 3), { 0, 1, 0 })
    check(dnn.zeros(0):long():bincount(nil, 2), { 0, 0 })
  end)

  it("bincount with weights sums them like a loop (float32 weights stay float32)", function()
    local vals = rand_table({ 100 }, 5, 0, 9)
    local w = rand_table({ 100 }, 6, -3, 3)
    local got = dnn.tensor(vals):bincount(dnn.tensor(w, { dtype = "float32" }))
    assert.are.equal("float32", got.dtype)
    local want = {}
    for k = 1, got:size(1) do want[k] = 0 end
    for k = 1, 100 do want[vals[k] + 1] = want[vals[k] + 1] + w[k] end
    check(got, want)
    assert.are.equal("float64", dnn.tensor { 0 }:bincount(dnn.tensor { 2 }).dtype)
  end)

  it("unique returns sorted values, 1-based inverse and counts", function()
    local t = dnn.tensor { { 3, 1 }, { 3, 2 } }
    local v, inv, cnt = t:unique { return_inverse = true, return_counts = true }
    check(v, { 1, 2, 3 })
    check(inv, { { 3, 1 }, { 3, 2 } })
    check(cnt, { 1, 1, 2 })
    local v2, c2 = t:unique { return_counts = true }
    check(v2, { 1, 2, 3 })
    check(c2, { 1, 1, 2 })
    check(dnn.tensor({ 2.5, NAN, 2.5, NAN }):unique(), { 2.5, NAN })
    assert.are.equal(0, dnn.zeros(0):unique():size(1))
  end)

  it("unique agrees with a Lua set on random ints", function()
    local raw = rand_table({ 500 }, 8, -30, 30)
    local v, inv, cnt = dnn.tensor(raw, { dtype = "int32" }):unique(true, true, true)
    local seen, keys = {}, {}
    for _, x in ipairs(raw) do
      if not seen[x] then keys[#keys + 1] = x end
      seen[x] = (seen[x] or 0) + 1
    end
    table.sort(keys)
    check(v, keys)
    local vt, it_, ct = v:totable(), inv:totable(), cnt:totable()
    for k, x in ipairs(keys) do assert.are.equal(seen[x], ct[k]) end
    for k, x in ipairs(raw) do assert.are.equal(x, vt[it_[k]]) end
  end)

  it("unique handles int64 values far apart (the sorting path)", function()
    local t = dnn.tensor({ math.maxinteger, math.mininteger, 0, 5, 5 }, { dtype = "int64" })
    local v, c = t:unique { return_counts = true }
    check(v, { math.mininteger, 0, 5, math.maxinteger })
    check(c, { 1, 1, 2, 1 })
  end)

  it("nonzero gives 1-based coordinates in row-major order", function()
    local t = dnn.tensor { { 0, 1 }, { 2, 0 }, { 3, 4 } }
    check(t:nonzero(), { { 1, 2 }, { 2, 1 }, { 3, 1 }, { 3, 2 } })
    check(t:t():nonzero(), { { 1, 2 }, { 1, 3 }, { 2, 1 }, { 2, 3 } })
    assert.are.same({ 0, 2 }, { dnn.zeros(2, 2):nonzero():size(1), dnn.zeros(2, 2):nonzero():size(2) })
  end)
end)

describe("misuse gives errors that name the op and the problem", function()
  local t = dnn.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
  local cases = {
    { "gather with a float index", function() t:gather(2, dnn.tensor { { 1.0 } }) end, "gather", "integer", "float32" },
    { "gather with a bool index", function() t:gather(2, dnn.tensor { { true } }) end, "gather", "masked_select" },
    { "gather position 0", function() t:gather(2, dnn.tensor { { 0 }, { 1 } }) end, "gather", "position 0", "1-based" },
    { "gather position too large", function() t:gather(2, dnn.tensor { { 4 }, { 1 } }) end, "gather", "position 4",
      "dim 2 of size 3", "1-based" },
    { "gather negative position too small", function() t:gather(1, dnn.tensor { { -3 } }) end, "position -3", "size 2" },
    { "gather index dims", function() t:gather(2, dnn.tensor { 1 }) end, "gather", "[1]", "[2,3]" },
    { "gather index larger off-dim", function() t:gather(2, dnn.tensor { { 1 }, { 1 }, { 1 } }) end, "gather",
      "[3,1]", "dim 1" },
    { "gather dim out of range", function() t:gather(3, dnn.tensor { { 1 } }) end, "gather", "dim 3" },
    { "gather dim 0", function() t:gather(0, dnn.tensor { { 1 } }) end, "dim 0", "1-based" },
    { "gather index not a tensor", function() t:gather(1, { 1 }) end, "gather", "tensor of 1-based positions" },
    { "scatter src shape too small", function() dnn.zeros(3, 3):scatter(1, dnn.tensor { { 1, 2, 3 } }, dnn.ones(1, 2)) end,
      "scatter", "src" },
    { "scatter_add out of range", function() dnn.zeros(3):scatter_add(1, dnn.tensor { 5 }, dnn.ones(1)) end,
      "scatter_add", "position 5", "1-based" },
    { "scatter bad reduce", function() dnn.zeros(3):scatter(1, dnn.tensor { 1 }, 1, { reduce = "max" }) end,
      "scatter", "reduce" },
    { "index_select 2-d index", function() t:index_select(1, dnn.tensor { { 1 } }) end, "index_select", "1-d" },
    { "index_select on 0-d", function() dnn.tensor(1.0):index_select(1, dnn.tensor { 1 }) end, "index_select", "0-d" },
    { "index_add src shape", function() t:index_add(1, dnn.tensor { 1 }, dnn.ones(2, 3)) end, "index_add", "[2,3]",
      "[1,3]" },
    { "masked_fill non-bool mask", function() t:masked_fill(t, 0) end, "masked_fill", "bool", "int64" },
    { "masked_fill mask shape", function() t:masked_fill(dnn.tensor { true, false }, 0) end, "masked_fill", "[2]",
      "[2,3]" },
    { "masked_fill_ mask does not broadcast to t", function() dnn.zeros(3):masked_fill_(dnn.tensor { { true }, { false } }, 1) end,
      "masked_fill_", "[2,1]", "[3]" },
    { "masked_fill bad value", function() t:masked_fill(t:gt(1), "x") end, "masked_fill", "value" },
    { "masked_select non-bool mask", function() t:masked_select(dnn.ones(2, 3)) end, "masked_select", "bool" },
    { "masked_scatter short source", function() dnn.zeros(3):masked_scatter(dnn.tensor { true, true, true }, dnn.ones(2)) end,
      "masked_scatter", "2 elements", "selects 3" },
    { "one_hot float labels", function() dnn.one_hot(dnn.tensor { 0.5 }, 3) end, "one_hot", "integer" },
    { "one_hot negative label", function() dnn.one_hot(dnn.tensor { -1 }, 3) end, "one_hot", "-1", "0-based" },
    { "one_hot label too large", function() dnn.one_hot(dnn.tensor { 3 }, 3) end, "one_hot", "class id 3", "3 classes" },
    { "cat mismatched shapes", function() dnn.cat { dnn.zeros(2, 3), dnn.zeros(2, 4) } end, "cat", "[2,3]", "[2,4]",
      "dim 2" },
    { "cat different ndim", function() dnn.cat { dnn.zeros(2, 3), dnn.zeros(2, 3, 1) } end, "cat", "same number of dims" },
    { "cat empty list", function() dnn.cat {} end, "cat", "non-empty" },
    { "cat list with a number", function() dnn.cat { dnn.zeros(1), 5 } end, "cat", "element 2", "number" },
    { "cat 0-d", function() dnn.cat { dnn.tensor(1.0), dnn.tensor(2.0) } end, "cat", "0-d" },
    { "cat dim out of range", function() dnn.cat({ dnn.zeros(2), dnn.zeros(2) }, 2) end, "cat", "dim 2" },
    { "stack shapes differ", function() dnn.stack { dnn.zeros(2), dnn.zeros(3) } end, "stack", "[2]", "[3]" },
    { "split sizes do not sum", function() dnn.zeros(4):split({ 1, 2 }) end, "split", "sum to 3", "size 4" },
    { "split size 0", function() dnn.zeros(4):split(0) end, "split", "positive" },
    { "chunk 0 chunks", function() dnn.zeros(4):chunk(0) end, "chunk", "positive" },
    { "topk k > size", function() dnn.zeros(3):topk(4) end, "topk", "k = 4", "size 3" },
    { "topk negative k", function() dnn.zeros(3):topk(-1) end, "topk", "k must be >= 0" },
    { "topk non-integer k", function() dnn.zeros(3):topk(1.5) end, "topk", "k must be an integer" },
    { "sort dim out of range", function() t:sort(3) end, "sort", "dim 3" },
    { "sort descending not a boolean", function() t:sort(1, "yes") end, "sort", "descending", "boolean" },
    { "bincount negative values", function() dnn.tensor { 1, -2 }:bincount() end, "bincount", "non-negative", "-2" },
    { "bincount float input", function() dnn.tensor { 1.5 }:bincount() end, "bincount", "integer" },
    { "bincount 2-d input", function() t:bincount() end, "bincount", "1-d", "[2,3]" },
    { "bincount weights shape", function() dnn.tensor { 1, 2 }:bincount(dnn.ones(3)) end, "bincount", "weights", "[3]" },
    { "unique with a dim", function() t:unique { dim = 1 } end, "unique", "dim" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      fails_with(c[2], table.unpack(c, 3))
    end)
  end

  it("a failed op leaves the input untouched", function()
    local x = dnn.tensor { 1, 2, 3 }
    pcall(function() x:scatter_(1, dnn.tensor { 9 }, 0) end)
    check(x, { 1, 2, 3 })
  end)
end)
