-- Reductions with dims and keepdim, against plain Lua loops.
local dnn = require "dnn"
local check = require "support.check"

-- Reference reduction of a 3-d table over a set of dims (1-based).
local function ref_reduce(T, shape, dims, f, init)
  local red = {}
  for _, d in ipairs(dims) do red[d] = true end
  local out, keys = {}, {}
  for i = 1, shape[1] do
    for j = 1, shape[2] do
      for k = 1, shape[3] do
        local idx = { i, j, k }
        local key = {}
        for d = 1, 3 do key[d] = red[d] and 1 or idx[d] end
        local ks = table.concat(key, ",")
        if out[ks] == nil then
          out[ks] = init
          keys[#keys + 1] = { ks, key }
        end
        out[ks] = f(out[ks], T[i][j][k])
      end
    end
  end
  -- back into a keepdim-shaped nested table
  local oshape = {}
  for d = 1, 3 do oshape[d] = red[d] and 1 or shape[d] end
  local res = {}
  for i = 1, oshape[1] do
    res[i] = {}
    for j = 1, oshape[2] do
      res[i][j] = {}
      for k = 1, oshape[3] do res[i][j][k] = out[i .. "," .. j .. "," .. k] end
    end
  end
  return res, oshape
end

describe("reductions", function()
  local shape = { 3, 4, 5 }
  local T = check.random_table(shape, 11)
  local t = dnn.tensor(T, { dtype = "float64" })
  local add = function(a, b) return a + b end

  it("sum over all, one and several dims, with keepdim", function()
    local all = ref_reduce(T, shape, { 1, 2, 3 }, add, 0)
    check.close(t:sum(), { all[1][1][1] }, 1e-12)
    assert.equal(0, t:sum():dim())
    for _, dims in ipairs({ { 1 }, { 2 }, { 3 }, { 1, 3 }, { 2, 3 }, { 1, 2 } }) do
      local ref, oshape = ref_reduce(T, shape, dims, add, 0)
      local got = t:sum(dims, true)
      assert.are.same(oshape, got:size())
      check.close(got, ref, 1e-12)
    end
    assert.are.same({ 3, 5 }, t:sum(2):size())
    assert.are.same({ 3, 1, 5 }, t:sum { 2, keepdim = true }:size())
    assert.are.same({ 3, 1, 5 }, t:sum(2, { keepdim = true }):size())
    assert.are.same({ 3, 1, 5 }, t:sum { dim = 2, keepdim = true }:size())
    assert.are.same({ 3, 4 }, t:sum(-1):size())
    check.close(t:sum(-1), t:sum(3), 0)
  end)

  it("mean, prod, max, min, argmax, argmin", function()
    local ref = ref_reduce(T, shape, { 2 }, add, 0)
    check.close(t:mean(2, true), (dnn.tensor(ref, { dtype = "float64" }) / 4), 1e-12)
    check.close(t:prod(3, true), ref_reduce(T, shape, { 3 }, function(a, b) return a * b end, 1), 1e-12)
    check.close(t:max(1, true), ref_reduce(T, shape, { 1 }, math.max, -math.huge), 0)
    check.close(t:min({ 1, 2 }, true), ref_reduce(T, shape, { 1, 2 }, math.min, math.huge), 0)
    local m = dnn.tensor { { 1, 9, 3 }, { 7, 2, 7 } }
    local v, i = m:max(2)
    assert.are.same({ 9, 7 }, v:totable())
    assert.are.same({ 2, 1 }, i:totable()) -- 1-based, first occurrence
    local v2, i2 = m:min(1)
    assert.are.same({ 1, 2, 3 }, v2:totable())
    assert.are.same({ 1, 2, 1 }, i2:totable())
    assert.are.same({ 2, 1 }, m:argmax(2):totable())
    assert.are.same({ 1, 2, 1 }, m:argmin(1):totable())
    assert.equal(2, m:argmax():item()) -- flat position of 9
    assert.equal(9, m:max():item())
    assert.are.same({ { 7, 9, 7 } }, m:max(1, true):totable())
  end)

  it("var and std with correction", function()
    local x = dnn.tensor { 1.0, 2.0, 3.0, 4.0 }
    assert.is_true(math.abs(x:var():item() - 5 / 3) < 1e-6)
    assert.is_true(math.abs(x:var { unbiased = false }:item() - 1.25) < 1e-6)
    assert.is_true(math.abs(x:std { correction = 0 }:item() - math.sqrt(1.25)) < 1e-6)
    local m = dnn.tensor({ { 1, 2 }, { 3, 5 } }, { dtype = "float64" })
    check.close(m:var(1), { 2, 4.5 }, 1e-12)
  end)

  it("all, any, logsumexp, cumsum, cumprod", function()
    local b = dnn.tensor { { true, false }, { true, true } }
    assert.is_false(b:all():item())
    assert.are.same({ true, false }, b:all(1):totable())
    assert.are.same({ true, true }, b:any(2):totable())
    local x = dnn.tensor({ { 1, 2, 3 }, { 1000, 1000, 1000 } }, { dtype = "float64" })
    check.close(x:logsumexp(2), { math.log(math.exp(1) + math.exp(2) + math.exp(3)), 1000 + math.log(3) }, 1e-12)
    assert.are.same({ { 1, 3, 6 }, { 4, 9, 15 } }, dnn.tensor { { 1, 2, 3 }, { 4, 5, 6 } }:cumsum(2):totable())
    assert.are.same({ { 1, 2, 3 }, { 4, 10, 18 } }, dnn.tensor { { 1, 2, 3 }, { 4, 5, 6 } }:cumprod(1):totable())
  end)

  it("integer sums are int64 and exact; means of integers are float", function()
    local u = dnn.full({ 1000 }, 255, { dtype = "uint8" })
    assert.equal("int64", u:sum().dtype)
    assert.equal(255000, u:sum():item())
    assert.equal("float32", dnn.tensor { 1, 2 }:mean().dtype)
    assert.equal(1.5, dnn.tensor { 1, 2 }:mean():item())
    assert.equal(2, dnn.tensor { true, false, true }:sum():item())
  end)

  it("NaN propagates through max and sum", function()
    local t = dnn.tensor { 1, 0 / 0, 3 }
    assert.is_true(t:max():item() ~= t:max():item())
    assert.is_true(t:sum():item() ~= t:sum():item())
    assert.equal(2, t:argmax():item())
  end)

  it("reduce large tensors on several threads like one", function()
    dnn.manual_seed(5)
    local big = dnn.rand(2000, 3000, { dtype = "float64" })
    local s = big:sum():item()
    local rows = big:sum(2):sum():item()
    local cols = big:sum(1):sum():item()
    assert.is_true(math.abs(s - rows) < 1e-6 and math.abs(s - cols) < 1e-6)
    assert.is_true(math.abs(s / 6e6 - 0.5) < 0.01)
    local bt = big:t()
    assert.is_true(math.abs(bt:sum():item() - s) < 1e-6)
  end)

  it("errors name the op and the dim rule", function()
    local m = dnn.zeros(2, 3)
    check.fails_with(function() m:sum(3) end, "sum", "dim 3", "out of range")
    check.fails_with(function() m:sum(0) end, "dim 0", "1-based")
    check.fails_with(function() dnn.zeros(0):max() end, "max", "zero elements")
    check.fails_with(function() m:sum { 1, 1 } end, "appears twice")
  end)
end)
