-- The Sequence protocol and dnn.data.from_tensors.
local dnn = require "dnn"
local check = require "support.check"

describe("dnn.data.from_tensors", function()
  local x = dnn.arange(10):view(10, 1):float()
  local y = dnn.arange(10)

  it("batches in order without shuffling", function()
    local s = dnn.data.from_tensors { x, y, batch_size = 4 }
    assert.equal(3, s:len())
    assert.equal(3, #s)
    local xb, yb = s:get(3)
    assert.are.same({ 8, 9 }, yb:totable())
    assert.are.same({ 2, 1 }, xb:size())
    local seen = {}
    for _, b in s:batches() do
      for _, v in ipairs(b:totable()) do seen[#seen + 1] = v end
    end
    assert.are.same({ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, seen)
  end)

  it("shuffles every epoch, reproducibly with a seed, without touching the global generator", function()
    dnn.manual_seed(7)
    local before = dnn.get_rng_state()
    local s = dnn.data.from_tensors(x, y, { batch_size = 10, shuffle = true, seed = 3 })
    local function epoch()
      local _, yb = s:get(1)
      local out = yb:totable()
      s:on_epoch_end()
      return out
    end
    local e1, e2 = epoch(), epoch()
    assert.is_true(dnn.get_rng_state():equal(before))
    assert.are_not.same(e1, e2)
    table.sort(e1)
    assert.are.same({ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, e1)
    local again = dnn.data.from_tensors(x, y, { batch_size = 10, shuffle = true, seed = 3 })
    local _, yb = again:get(1)
    local s2 = dnn.data.from_tensors(x, y, { batch_size = 10, shuffle = true, seed = 3 })
    s2:set_state({ epoch = 0 })
    assert.is_true(yb:equal(select(2, s2:get(1))))
  end)

  it("keeps x and y rows together, with sample weights and several inputs", function()
    local w = dnn.arange(10):float() / 10
    local s = dnn.data.from_tensors { { x, x * 2 }, y, w, batch_size = 3, shuffle = true, seed = 1 }
    for xs, yb, wb in s:batches() do
      check.close(xs[1]:view(-1), yb:float(), 0)
      check.close(xs[2]:view(-1), yb:float() * 2, 0)
      check.close(wb, yb:float() / 10, 1e-7)
    end
  end)

  it("drop_remainder and the seed's loop form", function()
    local s = dnn.data.from_tensors { x, y, batch_size = 4, drop_remainder = true }
    assert.equal(2, s:len())
    local n = 0
    for xb, yb in s:batches() do n = n + xb:size(1) end
    assert.equal(8, n)
  end)

  it("user Sequences follow the same protocol", function()
    local Squares = dnn.data.Sequence:extend("Squares")
    function Squares:len() return 3 end
    function Squares:get(i) return dnn.tensor { i }, dnn.tensor { i * i } end
    local ends = 0
    function Squares:on_epoch_end() ends = ends + 1 end
    local total = 0
    for _, yb in Squares():batches() do total = total + yb[1] end
    assert.equal(14, total)
    assert.equal(1, ends)
  end)

  it("rejects mismatched inputs", function()
    check.fails_with(function() dnn.data.from_tensors { x, dnn.zeros(9) } end, "from_tensors", "9 samples", "10")
    check.fails_with(function() dnn.data.from_tensors { x, y, batch_size = 0 } end, "batch_size")
    check.fails_with(function() dnn.data.from_tensors { batch_size = 2 } end, "x is required")
    check.fails_with(function() dnn.data.from_tensors { x, y }:get(5) end, "out of range")
  end)
end)
