-- Misuse of the tensor API: every case must raise a Lua error whose text names
-- the operation and the shapes/dtypes involved; none may crash the process.
local dnn = require "dnn"

local m23 = dnn.zeros(2, 3)
local m45 = dnn.zeros(4, 5)
local v3 = dnn.zeros(3)
local i64 = dnn.tensor { 1, 2, 3 }
local b3 = dnn.tensor { true, false, true }
local closed = dnn.zeros(2)
closed:close()

-- { description, function, fragments the message must contain... }
local cases = {
  -- creation
  { "tensor from a string", function() dnn.tensor("abc") end, "tensor", "string" },
  { "tensor from a function", function() dnn.tensor(print) end, "tensor", "function" },
  { "ragged table", function() dnn.tensor { { 1, 2 }, { 3 } } end, "ragged" },
  { "ragged deeper", function() dnn.tensor { { { 1 } }, { 2 } } end, "ragged" },
  { "string element", function() dnn.tensor { 1, "2" } end, "string" },
  { "table element in a flat list", function() dnn.tensor { 1, { 2 } } end, "table" },
  { "unknown dtype", function() dnn.tensor({ 1 }, { dtype = "float16x" }) end, "unknown dtype", "float16x" },
  { "negative size", function() dnn.zeros(2, -1) end, "negative size" },
  { "fractional size", function() dnn.zeros(2.5) end, "integer" },
  { "string size", function() dnn.zeros("a") end, "expected" },
  { "too many dims", function() dnn.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "at most 8" },
  { "huge shape", function() dnn.zeros(1 << 40, 1 << 40) end, "too large" },
  { "full without value", function() dnn.full({ 2 }) end, "full", "value" },
  { "full with a string value", function() dnn.full({ 2 }, "x") end, "full", "number" },
  { "full with a bare size", function() dnn.full(2, 3) end, "full", "table" },
  { "arange step 0", function() dnn.arange(0, 10, 0) end, "arange", "step" },
  { "arange wrong direction", function() dnn.arange(0, 10, -1) end, "arange", "never reaches" },
  { "arange no args", function() dnn.arange() end, "arange" },
  { "arange string", function() dnn.arange("x") end, "arange", "number" },
  { "linspace negative steps", function() dnn.linspace(0, 1, -2) end, "linspace", "steps" },
  { "linspace fractional steps", function() dnn.linspace(0, 1, 2.5) end, "linspace", "integer" },
  { "eye negative", function() dnn.eye(-1) end, "eye", ">= 0" },
  { "eye fractional", function() dnn.eye(2.5) end, "eye", "integer" },
  { "randint empty range", function() dnn.randint(3, 3, { 2 }) end, "randint", "greater than low" },
  { "randint missing shape", function() dnn.randint(3) end, "randint", "shape" },
  { "randint float bound", function() dnn.randint(1.5, { 2 }) end, "randint" },
  { "randperm negative", function() dnn.randperm(-3) end, "randperm", ">= 0" },
  { "bernoulli p > 1", function() dnn.bernoulli(1.5, { 3 }) end, "bernoulli", "[0, 1]" },
  { "manual_seed string", function() dnn.manual_seed("x") end, "manual_seed", "integer" },
  { "set_rng_state wrong tensor", function() dnn.set_rng_state(dnn.zeros(16)) end, "set_rng_state", "uint8" },
  { "set_rng_state number", function() dnn.set_rng_state(5) end, "tensor" },
  { "uniform_ on ints", function() dnn.zeros(2, { dtype = "int32" }):uniform_() end, "uniform_", "int32" },
  { "uniform_ low > high", function() dnn.zeros(2):uniform_(2, 1) end, "uniform_", "low" },
  { "normal_ negative std", function() dnn.zeros(2):normal_(0, -1) end, "normal_", "std" },
  { "zeros_like of a number", function() dnn.zeros_like(3) end, "tensor", "number" },

  -- views
  { "view wrong numel", function() m23:view(4) end, "view", "[4]", "[2,3]" },
  { "view two -1", function() m23:view(-1, -1) end, "view", "-1" },
  { "view of a transposed tensor", function() m23:t():view(6) end, "view", "contiguous" },
  { "reshape wrong numel", function() m23:reshape(7) end, "reshape", "[7]", "[2,3]" },
  { "reshape string", function() m23:reshape("a") end, "reshape", "integer" },
  { "permute too few dims", function() m23:permute(1) end, "permute", "[2,3]" },
  { "permute repeated dim", function() m23:permute(1, 1) end, "permute", "twice" },
  { "permute dim out of range", function() m23:permute(1, 3) end, "dim 3", "out of range" },
  { "transpose dim 0", function() m23:transpose(0, 1) end, "dim 0", "1-based" },
  { "transpose dim out of range", function() m23:transpose(1, 5) end, "transpose", "dim 5" },
  { "t of a 3-d tensor", function() dnn.zeros(2, 2, 2):t() end, "t", "[2,2,2]" },
  { "narrow past the end", function() m23:narrow(2, 3, 2) end, "out of bounds", "size 3" },
  { "narrow negative length", function() m23:narrow(2, 1, -1) end, "narrow", "negative" },
  { "narrow start 0", function() m23:narrow(1, 0, 1) end, "narrow", "1-based" },
  { "select out of range", function() m23:select(1, 3) end, "out of range", "size 2" },
  { "select 0", function() m23:select(1, 0) end, "select", "1-based" },
  { "squeeze bad dim", function() m23:squeeze(4) end, "squeeze", "dim 4" },
  { "unsqueeze past the end", function() m23:unsqueeze(5) end, "unsqueeze", "dim 5" },
  { "unsqueeze a 8-d tensor", function() dnn.zeros(1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end, "unsqueeze", "8 dims" },
  { "expand to a smaller rank", function() m23:expand(3) end, "expand", "[2,3]", "[3]" },
  { "expand a non-1 dim", function() m23:expand(4, 3) end, "expand", "[2,3]", "[4,3]" },
  { "flip repeated dim", function() m23:flip { 1, 1 } end, "flip", "twice" },
  { "flip no dims", function() m23:flip() end, "flip" },
  { "flatten start after end", function() dnn.zeros(2, 3, 4):flatten(3, 2) end, "flatten" },

  -- indexing
  { "index 0", function() return m23[0] end, "index 0", "1-based" },
  { "index past the end", function() return m23[3] end, "out of range", "size 2" },
  { "index a 0-d tensor", function() return dnn.tensor(1.0)[1] end, "0-d" },
  { "fractional index", function() return m23[1.5] end, "integer" },
  { "string-like index", function() return m23[true] end, "boolean" },
  { "too many positions", function() return m23[{ 1, 1, 1 }] end, "3 positions", "[2,3]" },
  { "range end past the size", function() return m23[{ {}, { 1, 4 } }] end, "out of range", "dim 2" },
  { "range of 4 entries", function() return m23[{ { 1, 1, 1, 1 } }] end, "range" },
  { "range step 0", function() return m23[{ { 1, 2, 0 } }] end, "step" },
  { "range with a string", function() return m23[{ { "a" } }] end, "integer" },
  { "float index tensor", function() return v3[dnn.tensor { 1.0 }] end, "integer or bool" },
  { "assign a string", function() m23[1] = "x" end, "string" },
  { "assign a wrong shape", function() m23[1] = dnn.zeros(4) end, "copy_", "[4]", "[3]" },
  { "assign out of range", function() m23[{ 3, 1 }] = 1 end, "out of range" },
  { "set a field", function() m23.shape = 3 end, "cannot be set" },

  -- elementwise
  { "add mismatched", function() return m23 + m45 end, "add", "[2,3]", "[4,5]" },
  { "mul mismatched", function() return m23 * dnn.zeros(2) end, "mul", "[2,3]", "[2]" },
  { "add a string", function() return m23 + "x" end, "add", "string" },
  { "add a table", function() return m23 + {} end, "add", "table" },
  { "add_ broadcast target", function() v3:add_(m23) end, "add_", "[2,3]", "[3]" },
  { "add_ float into int", function() i64:add_(0.5) end, "add_", "float32", "int64" },
  { "div_ on ints", function() i64:div_(2) end, "div_", "int64" },
  { "neg of bool", function() return -b3 end, "neg", "bool" },
  { "integer modulo by zero", function() return i64 % 0 end, "division by zero" },
  { "integer negative power", function() return i64 ^ -1 end, "negative integer powers" },
  { "eq mismatched", function() return m23:eq(m45) end, "eq", "[2,3]", "[4,5]" },
  { "clamp without bounds", function() return m23:clamp() end, "clamp" },
  { "clamp string", function() return m23:clamp("a") end, "number" },
  { "clamp bool", function() return b3:clamp(0, 1) end, "clamp", "bool" },
  { "where mismatched", function() return dnn.where(b3, m45, 0) end, "where", "[3]", "[4,5]" },
  { "where with a string", function() return dnn.where(b3, v3, "x") end, "where", "string" },
  { "sqrt_ of ints", function() i64:sqrt_() end, "sqrt_", "int64" },
  { "log_ of ints", function() i64:log_() end, "log_", "int64" },
  { "fill_ with a string", function() m23:fill_("x") end, "number" },
  { "fill_ with a 2-element tensor", function() m23:fill_(dnn.zeros(2)) end, "fill_", "one element" },
  { "copy_ mismatched", function() m23:copy_(m45) end, "copy_", "[4,5]", "[2,3]" },
  { "copy_ of a number", function() m23:copy_(3) end, "tensor", "number" },

  -- reductions
  { "sum dim out of range", function() m23:sum(3) end, "sum", "dim 3" },
  { "sum dim 0", function() m23:sum(0) end, "dim 0", "1-based" },
  { "sum repeated dim", function() m23:sum { 1, 1 } end, "sum", "twice" },
  { "sum fractional dim", function() m23:sum(1.5) end, "dim", "integer" },
  { "max of an empty tensor", function() dnn.zeros(0):max() end, "max", "zero elements" },
  { "argmax of an empty dim", function() dnn.zeros(2, 0):argmax(2) end, "argmax", "zero elements" },
  { "argmax with two dims", function() m23:argmax { 1, 2 } end, "argmax", "one dim" },
  { "cumsum without dim", function() m23:cumsum() end, "cumsum", "dim" },
  { "cumsum bad dim", function() m23:cumsum(3) end, "cumsum", "dim 3" },
  { "size of a bad dim", function() m23:size(3) end, "size", "dim 3" },
  { "item of many", function() m23:item() end, "item", "6 elements" },
  { "length of 0-d", function() return #dnn.tensor(1) end, "0-d" },
  { "var with a bad correction", function() m23:var { correction = 1.5 } end, "correction", "integer" },

  -- products
  { "matmul mismatched", function() dnn.matmul(m23, m45) end, "matmul", "[2,3]", "[4,5]", "3 != 4" },
  { "matmul 0-d", function() dnn.matmul(dnn.tensor(1.0), m23) end, "matmul", "at least 1 dim" },
  { "matmul dtypes", function() dnn.matmul(m23, m23:t():double()) end, "matmul", "float32", "float64" },
  { "matmul bool", function() dnn.matmul(b3, b3) end, "matmul", "bool" },
  { "matmul batch mismatch", function() dnn.matmul(dnn.zeros(2, 2, 3), dnn.zeros(3, 3, 4)) end, "matmul", "broadcast" },
  { "mm of 3-d", function() dnn.mm(dnn.zeros(2, 2, 2), m23) end, "mm", "2-d" },
  { "bmm of 2-d", function() dnn.bmm(m23, m23) end, "bmm", "3-d" },
  { "bmm batch sizes", function() dnn.bmm(dnn.zeros(2, 2, 3), dnn.zeros(3, 3, 2)) end, "bmm", "batch" },
  { "dot of matrices", function() dnn.dot(m23, m23) end, "dot", "1-d" },
  { "dot lengths", function() dnn.dot(v3, dnn.zeros(4)) end, "matmul", "3 != 4" },
  { "mv shapes", function() dnn.mv(v3, v3) end, "mv", "matrix" },
  { "addmm shapes", function() dnn.addmm(dnn.zeros(5), m23, dnn.zeros(3, 4)) end, "addmm", "[5]" },
  { "matmul with a number", function() dnn.matmul(m23, 2) end, "tensor", "number" },

  -- conversion and misc
  { "to an unknown dtype", function() m23:to("complex") end, "unknown dtype", "complex" },
  { "to cuda without CUDA", function() m23:to("cuda") end, "cuda", "not available" },
  { "type with a bad name", function() m23:type("nope") end, "unknown dtype" },
  { "set_num_threads 0", function() dnn.set_num_threads(0) end, "set_num_threads", ">= 1" },
  { "use after close", function() return closed + 1 end, "closed tensor" },
  { "method on a non-tensor", function() dnn.add(1, 2) end, "add", "tensor" },
  { "method with self missing", function() dnn.sum() end, "tensor" },
}

describe("bad input", function()
  it("has at least 100 cases", function()
    assert.is_true(#cases >= 100, "only " .. #cases .. " cases")
  end)
  for _, c in ipairs(cases) do
    it(c[1], function()
      local ok, err = pcall(c[2])
      assert.is_false(ok, "no error raised")
      err = tostring(err)
      for i = 3, #c do
        assert.truthy(err:find(c[i], 1, true), ("message %q lacks %q"):format(err, c[i]))
      end
    end)
  end
end)
