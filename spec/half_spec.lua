-- float16 and bfloat16: storage dtypes whose kernels compute in float32.
-- Conversions and op results against spec/fixtures/half.lua (PyTorch 1.13 and
-- numpy, made by scripts/make_fixtures_half.py); promotion as
-- torch.promote_types; and a list of common ops that must each either work on
-- half tensors (values checked against float32 rounded once) or fail with a
-- message naming the op and the dtype -- never crash.
--
-- Tolerances (max|a - b| / max|b|, DESIGN.md's measure): the conversions and
-- the single-rounding ops (add, sub, mul, div, neg, abs, maximum, scalar ops,
-- max) are exact; sums, means, matmul, softmax and the float32 libm functions
-- may differ in the last float32 bit before rounding, so they get 2^-10 for
-- float16 (one half ulp is 2^-11 relative) and 2^-7 for bfloat16 (2^-8).
local dnn = require "dnn"
local check = require "support.check"

local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = dofile(ROOT .. "/spec/fixtures/half.lua")
local HALVES = { "float16", "bfloat16" }
local TOL = { float16 = 2 ^ -10, bfloat16 = 2 ^ -7 }

-- Element-wise identity of two flat lists of numbers: NaN matches NaN, and
-- the sign of zero counts.
local function same_values(got, want, what)
  assert(#got == #want, ("%s: %d values, expected %d"):format(what, #got, #want))
  for i = 1, #want do
    local g, w = got[i], want[i]
    local ok
    if w ~= w then
      ok = g ~= g
    elseif w == 0 then
      ok = g == 0 and 1 / g == 1 / w
    else
      ok = g == w
    end
    if not ok then
      error(("%s: element %d is %s, expected %s"):format(what, i, string.format("%a", g), string.format("%a", w)), 2)
    end
  end
end

local function flat(t) return check.flatten(t:float():totable()) end

describe("half dtypes", function()
  describe("names", function()
    it("float16 has the aliases half and f16, bfloat16 has bf16", function()
      for _, name in ipairs({ "float16", "half", "f16" }) do
        assert.equal("float16", dnn.zeros({ 2 }, { dtype = name }).dtype)
      end
      for _, name in ipairs({ "bfloat16", "bf16" }) do
        assert.equal("bfloat16", dnn.zeros({ 2 }, { dtype = name }).dtype)
      end
      check.fails_with(function() dnn.zeros({ 2 }, { dtype = "float8" }) end, "unknown dtype 'float8'", "float16",
        "bfloat16")
    end)

    it("converts with half(), float16(), bfloat16() and to()", function()
      local t = dnn.tensor({ 1.5, -2 })
      assert.equal("float16", t:half().dtype)
      assert.equal("float16", t:float16().dtype)
      assert.equal("bfloat16", t:bfloat16().dtype)
      assert.equal("float16", t:to("half").dtype)
      assert.equal("bfloat16", t:to({ dtype = "bf16" }).dtype)
      assert.equal("float16", t:to(dnn.zeros({ 1 }, { dtype = "float16" })).dtype)
      assert.equal("dnn.HalfTensor", t:half():type())
      assert.equal("dnn.BFloat16Tensor", t:bfloat16():type())
      assert.is_true(t:half():is_floating_point())
      assert.is_true(t:bfloat16():is_floating_point())
    end)

    it("dnn.tensor{...} with a half dtype, item(), totable() and printing give the float values", function()
      for _, dt in ipairs(HALVES) do
        local t = dnn.tensor({ { 1, 2.5 }, { -0.75, 1024 } }, { dtype = dt })
        assert.equal(dt, t.dtype)
        assert.same({ { 1, 2.5 }, { -0.75, 1024 } }, t:totable())
        assert.equal(2.5, t[{ 1, 2 }])
        assert.equal(2.5, t[1]:narrow(1, 2, 1):item())
        assert.equal("float", math.type(t[{ 1, 1 }]))
        local s = tostring(t)
        assert.truthy(s:find("2.5000", 1, true), s)
        assert.truthy(s:find("dtype " .. dt, 1, true), s)
        assert.same({ 1, 2.5, -0.75, 1024 }, check.flatten(dnn.tensor({ 1, 2.5, -0.75, 1024 }):to(dt):float():totable()))
      end
      assert.equal(0.0999755859375, dnn.tensor({ 0.1 }):half()[1])
      assert.equal(0.10009765625, dnn.tensor({ 0.1 }):bfloat16()[1])
    end)
  end)

  describe("conversions (fixture: PyTorch and numpy)", function()
    local C = FIX.conversions
    for _, dt in ipairs(HALVES) do
      it("float32 -> " .. dt .. " rounds to nearest even; subnormals, overflow, NaN as PyTorch", function()
        local src = dnn.tensor(C.input)
        same_values(flat(src:to(dt)), C[dt], "float32 -> " .. dt)
        -- strided sources convert the same
        local wide = dnn.stack({ src, src }, 2)
        same_values(flat(wide[{ {}, 2 }]:to(dt)), C[dt], "strided float32 -> " .. dt)
      end)

      it(dt .. " -> float32 -> " .. dt .. " is exact", function()
        local h = dnn.tensor(C.input):to(dt)
        same_values(flat(h:float():to(dt)), C[dt], dt .. " round trip")
        same_values(check.flatten(h:double():totable()), C[dt], dt .. " -> float64")
      end)

      it("float64 -> " .. dt .. " rounds through float32 as c10 does", function()
        local src = dnn.tensor(C.f64_input, { dtype = "float64" })
        same_values(flat(src:to(dt)), C["f64_" .. dt], "float64 -> " .. dt)
      end)

      it(dt .. " -> int32 truncates toward zero", function()
        local h = dnn.tensor(C.int_input):to(dt)
        assert.same(C["int_" .. dt], h:int():totable())
        assert.same(C["int_" .. dt], check.flatten(h:long():totable()))
      end)
    end

    it("float16 <-> bfloat16 goes through float32", function()
      local h = dnn.tensor({ 1 + 2 ^ -10, 65504, 2 ^ -24, 1e-3 }):half()
      local b = h:bfloat16()
      assert.equal("bfloat16", b.dtype)
      same_values(flat(b), flat(h:float():bfloat16()), "float16 -> bfloat16")
      same_values(flat(b:half()), flat(b:float():half()), "bfloat16 -> float16")
    end)

    it("integers, bools and uint8 convert to half values", function()
      for _, dt in ipairs(HALVES) do
        assert.same({ 1, 0, 1 }, dnn.tensor({ true, false, true }):to(dt):totable())
        assert.same({ 0, 255, 7 }, dnn.tensor({ 0, 255, 7 }, { dtype = "uint8" }):to(dt):totable())
        assert.same({ true, false, true }, dnn.tensor({ -0.5, 0, 0 / 0 }):to(dt):bool():totable())
      end
      -- int64 -> float16: the float16 spacing at 2048 is 2, ties go to the even significand
      assert.same({ 2048, 2048, 2052, 2052 }, dnn.tensor({ 2048, 2049, 2051, 2053 }):half():totable())
    end)

    it("fill_, full and element assignment round the value", function()
      for _, dt in ipairs(HALVES) do
        local want = dnn.tensor({ 0.1 }):to(dt)[1]
        assert.same({ want, want }, dnn.full({ 2 }, 0.1, { dtype = dt }):totable())
        assert.same({ want, want }, dnn.zeros({ 2 }, { dtype = dt }):fill_(0.1):totable())
        local t = dnn.zeros({ 2 }, { dtype = dt })
        t[2] = 0.1
        assert.same({ 0, want }, t:totable())
      end
      assert.equal(math.huge, dnn.full({ 1 }, 1e6, { dtype = "float16" })[1])
    end)
  end)

  describe("promotion", function()
    it("follows torch.promote_types for every pair of dtypes", function()
      for _, row in ipairs(FIX.promotion) do
        local a = dnn.ones({ 2 }, { dtype = row[1] })
        local b = dnn.zeros({ 2 }, { dtype = row[2] })
        local got = dnn.where(dnn.tensor({ true, false }), a, b).dtype
        assert(got == row[3], ("%s with %s gives %s, PyTorch %s"):format(row[1], row[2], got, row[3]))
      end
    end)

    it("arithmetic: half with int stays half, with float32 is float32, float16 with bfloat16 is float32", function()
      for _, dt in ipairs(HALVES) do
        local h = dnn.tensor({ 1, 2 }):to(dt)
        assert.equal(dt, (h + dnn.tensor({ 1, 2 })).dtype)
        assert.equal(dt, (h + 1).dtype)
        assert.equal(dt, (h * 0.5).dtype)
        assert.equal(dt, (dnn.tensor({ 1, 2 }) / h).dtype)
        assert.equal("float32", (h + dnn.tensor({ 1.5, 2 })).dtype)
        assert.equal("float64", (h + dnn.tensor({ 1.5, 2 }, { dtype = "float64" })).dtype)
        assert.equal("bool", h:gt(1).dtype)
        -- a 0-d float32 tensor does not raise a half tensor (same category)
        assert.equal(dt, (h + dnn.tensor(2.5)).dtype)
      end
      assert.equal("float32", (dnn.tensor({ 1 }):half() + dnn.tensor({ 1 }):bfloat16()).dtype)
    end)
  end)

  describe("op results (fixture)", function()
    for _, dt in ipairs(HALVES) do
      local R = FIX.ops[dt]
      local function T(v, shape) return dnn.tensor(v):to(dt):view(table.unpack(shape)) end
      local a, b, m = T(R.a, { 3, 4 }), T(R.b, { 3, 4 }), T(R.m, { 4, 5 })
      local pos = a:abs() + 0.25

      it(dt .. ": single-rounding ops match PyTorch exactly", function()
        local exact = {
          add = a + b, sub = a - b, mul = a * b, div = a / b, neg = -a, abs = a:abs(),
          maximum = dnn.maximum(a, b), add_scalar = a + 0.1, mul_scalar = a * 3, max = a:max(),
        }
        for name, got in pairs(exact) do
          assert.equal(dt, got.dtype, name)
          same_values(check.flatten(got:float():totable()), R[name], dt .. " " .. name)
        end
      end)

      it(dt .. ": reductions, matmul and float32 libm functions within " .. TOL[dt], function()
        local close = {
          sum = a:sum(), sum_dim2 = a:sum(2), mean_dim1 = a:mean(1), exp = a:exp(), log = pos:log(),
          sqrt = pos:sqrt(), tanh = a:tanh(), sigmoid = a:sigmoid(), matmul = a:matmul(m),
          softmax = dnn.F.softmax(a, { axis = 2 }),
        }
        for name, got in pairs(close) do
          assert.equal(dt, got.dtype, name)
          local e = check.rel_err(check.flatten(got:float():totable()), R[name])
          assert(e <= TOL[dt], ("%s %s: normalised error %g > %g"):format(dt, name, e, TOL[dt]))
        end
      end)
    end
  end)

  describe("every common op works or names the op and dtype", function()
    -- Each case is run on a float32 tensor and on its half copy; the half
    -- result must equal the float32 result rounded to the half type (within
    -- the tolerance above: the half inputs are exact float32 values).
    local function cases()
      local F = dnn.F
      local idx = dnn.tensor({ 1, 2 })
      return {
        { "add", function(t) return t + t end }, { "sub scalar", function(t) return t - 1 end },
        { "div", function(t) return t / 3 end }, { "pow", function(t) return t ^ 2 end },
        { "exp", function(t) return t:exp() end }, { "relu", function(t) return t:relu() end },
        { "clamp", function(t) return t:clamp(-1, 1) end },
        { "where", function(t) return dnn.where(t:gt(0), t, 0) end },
        { "sum", function(t) return t:sum(2) end }, { "mean", function(t) return t:mean() end },
        { "prod", function(t) return t:prod(1) end }, { "max", function(t) return t:max(2) end },
        { "argmax", function(t) return t:argmax(2) end }, { "var", function(t) return t:var() end },
        { "logsumexp", function(t) return t:logsumexp(2) end },
        { "cumsum", function(t) return t:cumsum(2) end },
        { "matmul", function(t) return t:matmul(t:t()) end },
        { "bmm", function(t) return dnn.bmm(t:view(1, 2, 3), t:view(1, 3, 2)) end },
        { "addmm", function(t) return dnn.addmm(t:t():matmul(t), t:t(), t) end },
        { "gather", function(t) return t:gather(2, dnn.tensor({ { 1 }, { 2 } })) end },
        { "index_select", function(t) return t:index_select(1, idx) end },
        { "masked_fill", function(t) return t:masked_fill(t:gt(0), 9) end },
        { "masked_select", function(t) return t:masked_select(t:gt(0)) end },
        { "scatter_add", function(t) return t:scatter_add(2, dnn.tensor({ { 1 }, { 2 } }), t:narrow(2, 1, 1)) end },
        { "index_add", function(t) return t:index_add(1, idx, t) end },
        { "sort", function(t) return (t:sort(2)) end }, { "topk", function(t) return (t:topk(2, 2)) end },
        { "unique", function(t) return (t:unique()) end },
        { "cat", function(t) return dnn.cat({ t, t }, 1) end }, { "stack", function(t) return dnn.stack({ t, t }) end },
        { "flip", function(t) return t:flip(1) end }, { "slice", function(t) return t[{ {}, { 2, 3 } }] end },
        { "add_", function(t) return t:clone():add_(0.1) end }, { "mul_", function(t) return t:clone():mul_(t) end },
        { "exp_", function(t) return t:clone():exp_() end },
        { "copy_", function(t) return t:clone():copy_(t * 2) end },
        { "softmax", function(t) return F.softmax(t) end }, { "log_softmax", function(t) return F.log_softmax(t) end },
        { "gelu", function(t) return F.gelu(t) end }, { "elu", function(t) return F.elu(t) end },
        { "linear", function(t) return F.linear(t, t:t(), t[1]:narrow(1, 1, 2)) end },
        { "layer_norm", function(t) return F.layer_norm(t) end },
        { "embedding", function(t) return F.embedding(dnn.tensor({ 0, 1 }), t) end },
        { "conv2d", function(t) return F.conv2d(t:view(1, 2, 3, 1), t:narrow(2, 1, 2):reshape(2, 2, 1, 1)) end },
        { "max_pool2d", function(t) return F.max_pool2d(t:view(1, 2, 3, 1), { pool_size = 2 }) end },
        { "avg_pool2d", function(t) return F.avg_pool2d(t:view(1, 2, 3, 1), { pool_size = 2 }) end },
        { "mean_squared_error", function(t) return dnn.losses.mean_squared_error(t, t * 0.5) end },
        { "categorical_crossentropy", function(t)
          return dnn.losses.categorical_crossentropy(F.softmax(t), F.softmax(t * 2)) end },
        { "dense", function(t) return dnn.layers.Dense { 2, kernel_initializer = "ones" } (t) end },
        { "gradient", function(t)
          local w = t:clone():requires_grad_()
          ;(w * w):sum():backward()
          return w.grad
        end },
        { "SGD", function(t)
          local w = t:clone():requires_grad_()
          ;(w * w):sum():backward()
          dnn.optimizers.SGD { learning_rate = 0.25 }:apply_gradients({ w.grad }, { w })
          return w
        end },
        { "write_idx", function(t) return dnn.io.write_idx(os.tmpname(), t) end },
      }
    end

    for _, dt in ipairs(HALVES) do
      it(dt, function()
        local x = dnn.tensor({ { 1, -2, 3 }, { 0.5, 4, -6 } })
        local worked, refused = 0, {}
        for _, c in ipairs(cases()) do
          local name, fn = c[1], c[2]
          local ok, r = pcall(fn, x:to(dt))
          if ok then
            worked = worked + 1
            local ok32, r32 = pcall(fn, x)
            assert(ok32, name .. " fails on float32: " .. tostring(r32))
            if dnn.is_tensor(r32) then
              if r32.dtype == "float32" then
                assert(r.dtype == dt, ("%s: result is %s, expected %s"):format(name, r.dtype, dt))
                local want = check.flatten(r32:to(dt):float():totable())
                local e = check.rel_err(check.flatten(r:float():totable()), want)
                assert(e <= TOL[dt], ("%s on %s: normalised error %g > %g"):format(name, dt, e, TOL[dt]))
              else
                assert.same(r32:totable(), r:totable(), name)
              end
            end
          else
            refused[#refused + 1] = name
            local msg = tostring(r)
            local op = name:gsub("_$", "")
            assert(msg:find(op, 1, true) and msg:find(dt, 1, true),
              ("%s on %s: the error must name the op and the dtype, got: %s"):format(name, dt, msg))
          end
        end
        -- what is refused today, on purpose: IDX has no half type; Keras layers and
        -- losses keep float32/float64 weights and predictions (convert with :float())
        table.sort(refused)
        assert.same({ "categorical_crossentropy", "dense", "mean_squared_error", "write_idx" }, refused)
        assert.equal(#cases() - #refused, worked)
      end)
    end
  end)

  describe("HDF5 files", function()
    it("dnn.save / dnn.load keep float16 and bfloat16 bit for bit", function()
      local C = FIX.conversions
      local path = os.tmpname()
      local h, b = dnn.tensor(C.input):half(), dnn.tensor(C.input):bfloat16()
      dnn.save(path, { h = h, b = b:view(-1, 1), empty = dnn.zeros({ 0, 3 }, { dtype = "float16" }) })
      local v = dnn.load(path)
      os.remove(path)
      assert.equal("float16", v.h.dtype)
      assert.equal("bfloat16", v.b.dtype)
      assert.same({ #C.input, 1 }, v.b:size())
      same_values(flat(v.h), C.float16, "float16 from HDF5")
      same_values(flat(v.b), C.bfloat16, "bfloat16 from HDF5")
      assert.equal("float16", v.empty.dtype)
      assert.same({ 0, 3 }, v.empty:size())
    end)

    it("stores float16 as IEEE binary16, which h5py reads as numpy float16", function()
      local ok = os.execute("/usr/bin/python3 -c 'import h5py' 2>/dev/null")
      if not ok then
        pending("h5py is not installed")
        return
      end
      local path = os.tmpname()
      dnn.save(path, { h = dnn.tensor({ 0.1, -65504, 2 ^ -24 }):half(), b = dnn.tensor({ 0.1, 3e38 }):bfloat16() })
      local cmd = ("/usr/bin/python3 -c \"import h5py; f = h5py.File('%s', 'r'); "
        .. "print(f['h'].dtype, repr(f['h'][()].tolist()), repr(f['b'][()].tolist()))\""):format(path)
      local p = assert(io.popen(cmd))
      local out = p:read("a")
      p:close()
      os.remove(path)
      -- bfloat16 has no numpy type: HDF5 converts it to float32 exactly for h5py
      assert.equal("float16 [0.0999755859375, -65504.0, 5.960464477539063e-08] [0.10009765625, 3.00405527047391e+38]\n",
        out)
    end)
  end)

  describe("misuse", function()
    it("in-place ops keep the tensor's dtype; a half result does not go into an integer tensor", function()
      local h = dnn.tensor({ 1, 2 }):half()
      h:add_(0.1)
      assert.equal("float16", h.dtype)
      assert.same({ dnn.tensor({ 1.1 }):half()[1], dnn.tensor({ 2.1 }):half()[1] }, h:totable())
      h:add_(dnn.tensor({ 1.5, 2 }, { dtype = "float64" })) -- same category: stored as float16, as PyTorch
      assert.equal("float16", h.dtype)
      check.fails_with(function() dnn.tensor({ 1, 2 }):add_(h) end, "add_", "float16", "int64")
    end)

    it("layers and losses that want float32 name the dtype", function()
      local h = dnn.ones({ 2, 3 }, { dtype = "float16" })
      check.fails_with(function() dnn.layers.Dense { 2 } (h) end, "float16")
      check.fails_with(function() dnn.losses.mean_squared_error(h, h) end, "mean_squared_error", "float16")
      check.fails_with(function() dnn.io.write_idx(os.tmpname(), h:bfloat16()) end, "bfloat16")
    end)

    it("reading a CSV as a half dtype is refused", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write("a,b\n1,2\n")
      f:close()
      check.fails_with(function() dnn.io.read_csv(path, { dtype = "float16" }) end, "float16")
      os.remove(path)
    end)
  end)
end)
