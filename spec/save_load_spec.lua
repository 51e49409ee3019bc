-- dnn.save / dnn.load (lua/dnn/serialize.lua) and the HDF5 helper layer
-- under them (dnn.core.h5.create / h5.open, src/io/h5_*.c).
-- Reference data: spec/fixtures/h5/*.h5, written with h5py by
-- scripts/make_fixtures_h5.py (not by us); the values they hold are stated
-- here.  When /usr/bin/python3 has h5py, files we write are also read back
-- by h5py.
local dnn = require "dnn"
require "dnn.serialize" -- registers dnn.save / dnn.load (until init.lua requires it)
local core = dnn.core

local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = ROOT .. "/spec/fixtures/h5/"

-- ---- helpers ----

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function make_tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

local function rmdir(p) os.execute("rm -rf " .. q(p)) end

local function read_bytes(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_bytes(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function listdir(dir)
  local names = {}
  local p = assert(io.popen("ls -A " .. q(dir)))
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local function flatten(v, out)
  out = out or {}
  if type(v) == "table" then
    for _, x in ipairs(v) do flatten(x, out) end
  else
    out[#out + 1] = v
  end
  return out
end

local PACK = { float32 = "<f", float64 = "<d", int32 = "<i4", int64 = "<j", uint8 = "B" }

-- The bytes of a tensor's elements (row-major), to compare bit for bit.
local function bits(t)
  local fmt = PACK[t:get_dtype()]
  local parts = {}
  for i, v in ipairs(flatten(t:totable())) do
    parts[i] = fmt and string.pack(fmt, v) or (v and "\1" or "\0")
  end
  return table.concat(parts)
end

local function shape(t) return table.concat(flatten(t:size()), "x") end

local function assert_same_tensor(a, b)
  assert.is_true(dnn.is_tensor(b))
  assert.equal(a:get_dtype(), b:get_dtype())
  assert.equal(a:dim(), b:dim())
  assert.equal(shape(a), shape(b))
  assert.equal(bits(a), bits(b))
end

local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

local function assert_error(pattern, f, ...)
  local msg = error_of(f, ...)
  if not msg:find(pattern, 1, true) then
    error(string.format("error message\n  %s\ndoes not contain\n  %s", msg, pattern), 2)
  end
  return msg
end

-- The dnnlua executable of the build under test (for child processes).
local function dnnlua_exe()
  for dir in package.cpath:gmatch("([^;]+)/lua/%?%.so") do
    local exe = dir .. "/dnnlua"
    local f = io.open(exe, "rb")
    if f then
      f:close()
      return exe
    end
  end
end

local function have_h5py()
  return os.execute("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == true
end

-- Runs a Python script with the file as argv[1]; returns its stdout.
local function python(script, file)
  local dir = make_tmpdir()
  write_bytes(dir .. "/check.py", script)
  local p = assert(io.popen("/usr/bin/python3 " .. q(dir .. "/check.py") .. " " .. q(file) .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  rmdir(dir)
  assert(ok, "python failed:\n" .. out)
  return out
end

local dir
before_each(function() dir = make_tmpdir() end)
after_each(function()
  rmdir(dir)
  -- every path, failing ones included, closes what it opened (collected
  -- files close themselves, so collect first)
  collectgarbage()
  collectgarbage()
  assert.equal(0, core.h5.open_objects())
end)

local function roundtrip(v)
  local path = dir .. "/v.h5"
  dnn.save(path, v)
  return dnn.load(path)
end

-- ---- round trips ----

describe("dnn.save / dnn.load round trips", function()
  it("keeps tensors of every dtype bit-exact, with their shapes", function()
    local cases = {
      dnn.tensor({ { 1.5, -2.25, 3 }, { 1e-30, 3.4e38, -0.0 } }, { dtype = "float32" }),
      dnn.tensor({ 0.1, -1 / 3, 1e308, 5e-324 }, { dtype = "float64" }),
      dnn.tensor({ 2147483647, -2147483648, 0, 7 }, { dtype = "int32" }),
      dnn.tensor({ math.maxinteger, math.mininteger, math.maxinteger - 1, -1 }, { dtype = "int64" }),
      dnn.tensor({ { 0, 255 }, { 128, 1 } }, { dtype = "uint8" }),
      dnn.tensor({ true, false, true, true }, { dtype = "bool" }),
      dnn.arange(0, 24):view(2, 3, 4):double(),
      dnn.randn(2, 1, 3, 1, 2, 1, 2, 1), -- 8 dims
    }
    local back = roundtrip(cases)
    assert.equal(#cases, #back)
    for i, t in ipairs(cases) do assert_same_tensor(t, back[i]) end
    assert.equal(math.maxinteger, back[4]:totable()[1])
    assert.equal(math.mininteger, back[4]:totable()[2])
  end)

  it("keeps 0-d and empty tensors", function()
    local v = {
      s32 = dnn.tensor(2.5), s64 = dnn.tensor(7), sb = dnn.tensor(true, { dtype = "bool" }),
      e1 = dnn.zeros(0), e2 = dnn.zeros(0, 3):int(), e3 = dnn.ones(4, 0, 2):byte(),
    }
    local back = roundtrip(v)
    for k, t in pairs(v) do assert_same_tensor(t, back[k]) end
    assert.equal(0, back.s32:dim())
    assert.equal(2.5, back.s32:item())
    assert.equal("4x0x2", shape(back.e3))
  end)

  it("keeps NaN, infinities, -0 and denormals in float tensors", function()
    local specials = { 0 / 0, 1 / 0, -1 / 0, -0.0, 0.0, 1e-40, -1e-310, 1.0 }
    local f32 = dnn.tensor(specials, { dtype = "float32" })
    local f64 = dnn.tensor(specials, { dtype = "float64" })
    local back = roundtrip { f32 = f32, f64 = f64 }
    assert_same_tensor(f32, back.f32)
    assert_same_tensor(f64, back.f64)
    local v = back.f64:totable()
    assert.is_true(v[1] ~= v[1])
    assert.equal(math.huge, v[2])
    assert.equal(-math.huge, v[3])
    assert.equal(-math.huge, 1 / v[4])
    assert.equal(-1e-310, v[7])
  end)

  it("writes non-contiguous views as their values", function()
    local base = dnn.arange(0, 12):view(3, 4):float()
    local tt = base:t()
    assert.is_false(tt:is_contiguous())
    local back = roundtrip { tt = tt, col = base[{ {}, 2 }] }
    assert.same(tt:totable(), back.tt:totable())
    assert.same({ 1, 5, 9 }, back.col:totable())
  end)

  it("keeps integers and floats apart, big integers exact", function()
    local v = { 3, 3.0, math.maxinteger, math.mininteger, math.maxinteger - 1, -0.0, 0.1,
      1 / 0, -1 / 0, 0 / 0, 2 ^ 63, 1e-320 }
    local back = roundtrip(v)
    for i = 1, #v do
      assert.equal(math.type(v[i]), math.type(back[i]))
      if v[i] == v[i] then assert.equal(v[i], back[i]) end
    end
    assert.equal(math.maxinteger, back[3])
    assert.equal(math.mininteger, back[4])
    assert.equal(-math.huge, 1 / back[6])
    assert.is_true(back[10] ~= back[10])
    assert.equal(string.pack("<d", 0.1), string.pack("<d", back[7]))
  end)

  it("keeps strings byte for byte: NUL bytes, trailing NULs, empty, non-UTF-8", function()
    local all = {}
    for b = 0, 255 do all[#all + 1] = string.char(b) end
    local v = {
      "a\0b", "trailing\0\0", "\0", "", "héllo wörld", "\255\254 not utf-8",
      table.concat(all), string.rep("xyz", 100000),
    }
    local back = roundtrip(v)
    for i = 1, #v do assert.equal(v[i], back[i]) end
    assert.equal(10, #back[2])
  end)

  it("keeps booleans", function()
    local back = roundtrip { yes = true, no = false, list = { true, false, true } }
    assert.equal(true, back.yes)
    assert.equal(false, back.no)
    assert.same({ true, false, true }, back.list)
  end)

  it("saves a single value at the root (tensor, number, string, boolean)", function()
    local t = dnn.randn(3, 2)
    assert_same_tensor(t, roundtrip(t))
    assert.equal(42, roundtrip(42))
    assert.equal("float", math.type(roundtrip(42.0)))
    assert.equal("x\0y", roundtrip("x\0y"))
    assert.equal(false, roundtrip(false))
    assert.same({}, roundtrip({}))
  end)

  it("keeps string keys, arrays, sparse arrays with holes and mixed tables", function()
    local v = {
      record = { name = "dense_1", units = 64, rate = 0.5 },
      array = { 10, 20, 30, 40 },
      sparse = { [1] = "a", [3] = "c", [1000000] = "far", [-7] = "neg", [0] = "zero" },
      holes = { 1, nil, 3, nil, 5 },
      mixed = { "first", "second", key = "value", [10] = true },
      bigkeys = { [math.maxinteger] = "max", [math.mininteger] = "min" },
    }
    local back = roundtrip(v)
    assert.same(v.record, back.record)
    assert.same(v.array, back.array)
    assert.same(v.sparse, back.sparse)
    assert.same({ [1] = 1, [3] = 3, [5] = 5 }, back.holes)
    assert.same(v.mixed, back.mixed)
    assert.same(v.bigkeys, back.bigkeys)
    assert.equal("integer", math.type(next(back.bigkeys)))
    for k in pairs(back.sparse) do assert.equal("integer", math.type(k)) end
  end)

  it("keeps keys HDF5 cannot name as they are: '', '.', '/', '%', NUL, non-UTF-8", function()
    local v = {
      [""] = 1, ["."] = 2, ["a/b"] = 3, ["%"] = 4, ["%41"] = 5, ["nul\0key"] = 6,
      ["\255bad"] = 7, ["/"] = 8, [".."] = 9, ["with space"] = 10,
      [1] = "int one", ["1"] = "string one", ["01"] = "zero one", ["-0"] = "minus zero",
    }
    local back = roundtrip(v)
    assert.same(v, back)
    assert.equal("int one", back[1])
    assert.equal("string one", back["1"])
  end)

  it("keeps empty tables and tables nested 64 deep", function()
    local back = roundtrip { empty = {}, nested_empty = { {}, { {} } } }
    assert.same({}, back.empty)
    assert.same({ {}, { {} } }, back.nested_empty)
    local deep = {}
    local cur = deep
    for _ = 2, 64 do
      cur.d = {}
      cur = cur.d
    end
    cur.leaf = "bottom"
    local n, c = 1, roundtrip(deep)
    while c.d do
      n = n + 1
      c = c.d
    end
    assert.equal(64, n)
    assert.equal("bottom", c.leaf)
  end)

  it("stores a table or tensor reached twice once, and loads it shared", function()
    local w = dnn.randn(4)
    local cfg = { lr = 0.1 }
    local back = roundtrip { a = cfg, b = cfg, list = { cfg, w }, w1 = w, w2 = w }
    assert.equal(back.a, back.b)
    assert.equal(back.a, back.list[1])
    assert.equal(back.w1, back.w2)
    assert.equal(back.w1, back.list[2])
    assert_same_tensor(w, back.w1)
  end)

  it("saves a table's contents without its metatable", function()
    local size = dnn.zeros(2, 3):size()
    local obj = setmetatable({ x = 1 }, { __index = function() return "virtual" end })
    local back = roundtrip { size = size, obj = obj }
    assert.same({ 2, 3 }, { back.size[1], back.size[2] })
    assert.is_nil(getmetatable(back.obj))
    assert.equal(1, back.obj.x)
    assert.is_nil(back.obj.y)
  end)

  it("takes the f{...} spellings", function()
    local p = dir .. "/t.h5"
    dnn.save { p, { a = 1 } }
    assert.same({ a = 1 }, dnn.load { p })
    dnn.save { path = p, value = "v" }
    assert.equal("v", dnn.load { path = p })
  end)

  it("replaces an existing file", function()
    local p = dir .. "/t.h5"
    dnn.save(p, { old = true })
    dnn.save(p, { new = true })
    assert.same({ new = true }, dnn.load(p))
    assert.same({ "t.h5" }, listdir(dir))
  end)
end)

-- ---- errors while saving ----

describe("dnn.save errors", function()
  local function save_err(v) return error_of(dnn.save, dir .. "/e.h5", v) end

  it("names the key path of a function, a coroutine or a foreign userdata", function()
    local msg = save_err { layers = { { units = 3 }, { fn = print } } }
    assert.equal("dnn.save: " .. dir .. "/e.h5: value.layers[2].fn is a function: only "
      .. "tensors, numbers, strings, booleans and tables can be saved", msg)
    assert.truthy(save_err({ co = coroutine.create(print) }):find("value.co is a coroutine", 1, true))
    assert.truthy(save_err({ ["odd key"] = { io.stdout } })
      :find('value["odd key"][1] is a userdata (not a tensor)', 1, true))
    assert.truthy(save_err(print):find("value is a function", 1, true))
  end)

  it("detects cycles", function()
    local a = { name = "a" }
    a.child = { back = a }
    assert.truthy(save_err(a):find("value.child.back refers back to value, which contains it "
      .. "(a cycle)", 1, true))
    local s = {}
    s[1] = s
    assert.truthy(save_err({ x = s }):find("value.x[1] refers back to value.x", 1, true))
  end)

  it("rejects float and boolean keys", function()
    assert.truthy(save_err({ w = { [1.5] = 1 } })
      :find("value.w has the key 1.5 (a float): keys must be strings or integers", 1, true))
    assert.truthy(save_err({ [true] = 1 }):find("value has the key true", 1, true))
  end)

  it("bounds the nesting depth at 64", function()
    local deep = {}
    local cur = deep
    for _ = 2, 65 do
      cur.d = {}
      cur = cur.d
    end
    assert.truthy(save_err(deep):find("tables nested deeper than 64 levels cannot be saved", 1, true))
  end)

  it("checks its arguments", function()
    assert_error("dnn.save: nothing to save (the value is nil)", dnn.save, dir .. "/x.h5", nil)
    assert_error("dnn.save: the path must be a string, got number", dnn.save, 5, {})
    assert_error("dnn.load: the path must be a string, got nil", dnn.load)
  end)
end)

-- ---- atomic writes ----

describe("atomic writes", function()
  it("leaves the old file intact and no temporary file when a value fails midway", function()
    local p = dir .. "/model.h5"
    local old = { weights = dnn.randn(3, 3), step = 7 }
    dnn.save(p, old)
    local before = read_bytes(p)
    -- keys are written in sorted order: a and b are written before c fails
    local msg = error_of(dnn.save, p, { a = dnn.randn(100, 100), b = dnn.ones(5), c = print })
    assert.truthy(msg:find("value.c is a function", 1, true))
    assert.equal(before, read_bytes(p))
    assert.same({ "model.h5" }, listdir(dir))
    local back = dnn.load(p)
    assert_same_tensor(old.weights, back.weights)
    assert.equal(7, back.step)
  end)

  it("leaves no file at all when the first save of a path fails", function()
    error_of(dnn.save, dir .. "/new.h5", { t = dnn.ones(2), bad = { f = error } })
    assert.same({}, listdir(dir))
  end)

  it("writes to a temporary file beside the target until commit", function()
    local p = dir .. "/w.h5"
    local f = core.h5.create(p, "test")
    local tmp = f:temp_path()
    assert.equal(dir .. "/w.h5.tmp-", tmp:sub(1, #dir + 10))
    f:write_tensor("/x", dnn.ones(1000))
    assert.same({ tmp:match("[^/]+$") }, listdir(dir))
    f:commit()
    assert.same({ "w.h5" }, listdir(dir))
    assert.is_nil(f:temp_path())
    local r <close> = core.h5.open(p)
    assert.equal(1000, r:read_tensor("/x"):sum():item())
  end)

  it("removes the temporary file on abort, on <close> and when collected", function()
    local p = dir .. "/w.h5"
    dnn.save(p, "old")
    local f = core.h5.create(p)
    f:write_scalar("/x", 1)
    f:abort()
    f:abort() -- idempotent
    assert.same({ "w.h5" }, listdir(dir))
    do
      local g <close> = core.h5.create(p)
      g:write_scalar("/x", 1)
    end
    assert.same({ "w.h5" }, listdir(dir))
    core.h5.create(p):write_scalar("/x", 1)
    collectgarbage()
    collectgarbage()
    assert.same({ "w.h5" }, listdir(dir))
    assert.equal("old", dnn.load(p))
  end)

  it("removes the temporary file when the final rename fails", function()
    local p = dir .. "/r.h5"
    dnn.save(p, "old")
    local f = core.h5.create(p, "test")
    f:write_scalar("/x", 1)
    -- something takes the name meanwhile: a directory cannot be renamed over
    assert(os.execute("rm " .. q(p) .. " && mkdir " .. q(p) .. " && touch " .. q(p .. "/keep")))
    assert_error("test: " .. p .. ": cannot replace it with the new file: Is a directory", f.commit, f)
    assert.same({ "r.h5" }, listdir(dir))
    assert.same({ "keep" }, listdir(p))
  end)

  it("keeps the permissions of the file it replaces", function()
    local p = dir .. "/perm.h5"
    dnn.save(p, 1)
    assert(os.execute("chmod 640 " .. q(p)))
    dnn.save(p, 2)
    local h = assert(io.popen("stat -c %a " .. q(p)))
    local mode = h:read("l")
    h:close()
    assert.equal("640", mode)
    assert.equal(2, dnn.load(p))
  end)

  it("reports a missing directory or a directory in the way", function()
    assert_error("dnn.save: " .. dir .. "/no/such/x.h5: cannot create a temporary file beside it: "
      .. "No such file or directory", dnn.save, dir .. "/no/such/x.h5", 1)
    assert(os.execute("mkdir " .. q(dir .. "/sub")))
    assert_error("dnn.save: " .. dir .. "/sub: is a directory", dnn.save, dir .. "/sub", 1)
    assert.same({ "sub" }, listdir(dir))
  end)
end)

-- ---- loading never runs code ----

describe("dnn.load never runs code from the file", function()
  it("returns strings that look like Lua code or bytecode as strings", function()
    _G.__h5_spec_pwned = nil
    local code = {
      "_G.__h5_spec_pwned = true",
      "return function() _G.__h5_spec_pwned = true end",
      string.dump(function() _G.__h5_spec_pwned = true end),
      "os.exit(3)",
    }
    local back = roundtrip(code)
    assert.same(code, back)
    for _, s in ipairs(back) do assert.equal("string", type(s)) end
    assert.is_nil(_G.__h5_spec_pwned)
  end)

  it("has no code loader in its source", function()
    local src = read_bytes(ROOT .. "/lua/dnn/serialize.lua")
    assert.is_nil(src:find("loadstring", 1, true))
    assert.is_nil(src:find("dofile", 1, true))
    assert.is_nil(src:find("loadfile", 1, true))
    assert.is_nil(src:find("[^%w_.:]load%s*%("))
  end)
end)

-- ---- bad files ----

describe("dnn.load of bad files", function()
  local function load_err(path) return error_of(dnn.load, path) end

  it("a missing file", function()
    assert.equal("dnn.load: " .. dir .. "/nope.h5: no such file", load_err(dir .. "/nope.h5"))
  end)

  it("a directory", function()
    assert.equal("dnn.load: " .. dir .. ": is a directory, not an HDF5 file", load_err(dir))
  end)

  it("a text file", function()
    write_bytes(dir .. "/x.h5", "this is not HDF5\n")
    assert.equal("dnn.load: " .. dir .. "/x.h5: not an HDF5 file (no HDF5 signature)",
      load_err(dir .. "/x.h5"))
  end)

  it("an empty file", function()
    write_bytes(dir .. "/x.h5", "")
    assert.equal("dnn.load: " .. dir .. "/x.h5: the file is empty, not an HDF5 file",
      load_err(dir .. "/x.h5"))
  end)

  it("an HDF5 file cut in the middle", function()
    local p = dir .. "/v.h5"
    dnn.save(p, { w = dnn.randn(64, 64), b = dnn.randn(64), name = "x" })
    local full = read_bytes(p)
    for _, frac in ipairs { 0.5, 0.1, 0.9 } do
      write_bytes(dir .. "/cut.h5", full:sub(1, math.floor(#full * frac)))
      local msg = load_err(dir .. "/cut.h5")
      assert.truthy(msg:find("dnn.load: " .. dir .. "/cut.h5: HDF5 cannot open it (truncated or "
        .. "damaged?): truncated file", 1, true), msg)
    end
  end)

  it("the HDF5 signature followed by garbage", function()
    write_bytes(dir .. "/g.h5", "\137HDF\r\n\26\n" .. string.rep("\255", 600))
    local msg = load_err(dir .. "/g.h5")
    assert.truthy(msg:find("dnn.load: " .. dir .. "/g.h5: HDF5 cannot open it", 1, true), msg)
  end)

  it("damaged bytes anywhere: a clear error or the data, never a crash", function()
    local p = dir .. "/v.h5"
    dnn.save(p, { w = dnn.randn(8, 8), b = dnn.randn(8), name = "dense",
      layers = { { units = 3 }, { units = 4 } } })
    local full = { read_bytes(p):byte(1, -1) }
    local seed = 12345
    local function rand(n) -- a small LCG: independent of math.random's state
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n + 1
    end
    local errors = 0
    for _ = 1, 60 do
      local bytes = { table.unpack(full) }
      for _ = 1, rand(6) do bytes[rand(#bytes)] = rand(256) - 1 end
      local parts = {}
      for i = 1, #bytes, 4096 do
        parts[#parts + 1] = string.char(table.unpack(bytes, i, math.min(i + 4095, #bytes)))
      end
      write_bytes(dir .. "/d.h5", table.concat(parts))
      local ok, err = pcall(dnn.load, dir .. "/d.h5")
      if not ok then
        errors = errors + 1
        assert.equal("dnn.load: " .. dir .. "/d.h5: ", tostring(err):sub(1, #dir + 17))
      end
    end
    assert.is_true(errors > 30) -- most damage is detected
  end)

  local cases = {
    { "bad_plain.h5", "/: not a dnnlua value file (no dnnlua_format attribute on the root group)" },
    { "bad_wrong_format.h5",
      '/: not a dnnlua value file (dnnlua_format is "keras", expected "dnnlua.value")' },
    { "bad_newer_version.h5", "/: written in format version 2 by a newer dnnlua (this one reads up to 1)" },
    { "bad_version_string.h5", '/: attribute dnnlua_version should be a positive integer, got "one"' },
    { "bad_root_type.h5", '/: attribute dnnlua_type should be "table" or "box", got "list"' },
    { "bad_unknown_type.h5", "/x: unknown dnnlua_type 'pickle'" },
    { "bad_soft_link.h5", "/s: unexpected soft link (a dnnlua file holds only groups and datasets)" },
    { "bad_external_link.h5", "/e: unexpected external link" },
    { "bad_named_type.h5", "/t: unexpected datatype" },
    { "bad_compound.h5", "dataset /c: holds compound data (not a numeric type), not a tensor" },
    { "bad_huge_contiguous.h5", "dataset /big: claims 4398046511104 bytes (4096.0 GiB) of data but "
      .. "the file (1608 bytes) stores 0 bytes for it" },
    { "bad_huge_chunked.h5", "dataset /big: claims 4398046511104 bytes (4096.0 GiB) of data" },
    { "bad_nine_dims.h5", "dataset /x: has 9 dims; tensors have at most 8" },
    { "bad_uint64.h5", "dataset /x: holds unsigned 64-bit integers (no dtype holds them exactly)" },
    { "bad_type_mismatch.h5", "/n: dnnlua_type 'integer' does not match the stored float 2.5" },
    { "bad_bool_value.h5", "/b: dnnlua_type 'boolean' does not match the stored integer 7" },
    { "bad_scalar_array.h5", "dataset /n: holds 3 elements, expected a single value" },
    { "bad_int_keys_missing.h5", "/: attribute dnnlua_int_keys lists 3 keys but 2 members have those names" },
    { "bad_escape.h5", "/%a%zz: malformed escaped member name" },
    { "bad_group_type.h5", "/g: a group with dnnlua_type 'string' (groups hold tables)" },
    { "bad_cycle.h5", "/a/self: the group contains itself (a cycle of hard links)" },
    { "bad_null_tensor.h5", "dataset /x: has a null dataspace (no elements, no shape)" },
    { "bad_deep.h5", "/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/"
      .. "d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d: tables nested deeper than 64 levels" },
    { "bad_dtype_attr.h5", "dataset /x: attribute dnnlua_dtype is 'bool' on float32 data" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local msg = load_err(FIX .. c[1])
      local head = "dnn.load: " .. FIX .. c[1] .. ": "
      assert.equal(head, msg:sub(1, #head))
      assert.truthy(msg:find(c[2], #head, true), msg)
    end)
  end

  it("prints nothing to stderr (HDF5's error stack stays quiet) and never crashes", function()
    local exe = dnnlua_exe()
    if not exe then
      pending("no dnnlua executable next to the module")
      return
    end
    local script = dir .. "/bad.lua"
    write_bytes(dir .. "/text.h5", "not hdf5")
    write_bytes(script, string.format([[
      require "dnn.serialize"
      local n = 0
      for _, p in ipairs { %q, %q, %q, %q } do
        n = n + (pcall(dnn.load, p) and 0 or 1)
      end
      local f = dnn.core.h5.open(%q)
      n = n + (pcall(f.read_tensor, f, "/nope") and 0 or 1)
      n = n + (pcall(f.get_attr, f, "/", "dnnlua_format") and 1 or 0)
      io.stdout:write(n)
    ]], dir .. "/text.h5", FIX .. "bad_compound.h5", FIX .. "bad_huge_chunked.h5",
      FIX .. "bad_soft_link.h5", FIX .. "bad_plain.h5"))
    local p = assert(io.popen(q(exe) .. " " .. q(script) .. " 2>" .. q(dir .. "/err.txt")))
    local out = p:read("a")
    assert.is_true(p:close())
    assert.equal("6", out)
    assert.equal("", read_bytes(dir .. "/err.txt"))
  end)
end)

-- ---- h5py ----

describe("files written by h5py", function()
  it("load with widened dtypes, vlen strings, numpy bool, big-endian and gzip data", function()
    local v = dnn.load(FIX .. "h5py_values.h5")
    assert.equal("int32", v.i8:get_dtype())
    assert.same({ -128, 0, 127 }, v.i8:totable())
    assert.same({ { -32768, 1 }, { 2, 32767 } }, v.i16:totable())
    assert.same({ 0, 65535 }, v.u16:totable())
    assert.equal("int64", v.u32:get_dtype())
    assert.same({ 4294967295 }, v.u32:totable())
    assert.equal("float32", v.f16:get_dtype())
    assert.same({ 0.5, -2.0, 65504.0 }, v.f16:totable())
    assert.equal("float64", v.be:get_dtype())
    assert.same({ 1.25, -3.5 }, v.be:totable())
    assert.equal("bool", v.npbool:get_dtype())
    assert.same({ true, false, true }, v.npbool:totable())
    local gz = v.gz:totable()
    assert.equal(1000, #gz)
    for i = 1, 1000 do assert.equal((i - 1) / 8, gz[i]) end
    assert.equal("héllo wörld", v.vstr)
    assert.equal(-7, v.i32num)
    assert.equal("integer", math.type(v.i32num))
    assert.equal(0.25, v.f32num)
    assert.same({ 1.5, "two" }, v.list)
  end)

  it("h5py reads what dnn.save wrote", function()
    if not have_h5py() then
      pending("/usr/bin/python3 has no h5py (apt-get install python3-h5py)")
      return
    end
    local p = dir .. "/v.h5"
    dnn.save(p, {
      w = dnn.tensor({ { 1.5, 2 }, { 3, 4 } }, { dtype = "float32" }),
      ids = dnn.tensor({ math.maxinteger, -1 }, { dtype = "int64" }),
      mask = dnn.tensor({ true, false }, { dtype = "bool" }),
      lr = 0.125, step = 42, name = "dense", on = true,
      layers = { { units = 3 }, { units = 4 } },
    })
    local out = python([[
import sys, h5py
f = h5py.File(sys.argv[1], "r")
r = f["/"]
print(f.attrs["dnnlua_format"].decode(), int(f.attrs["dnnlua_version"]))
print(r["w"].dtype.str, r["w"][()].tolist())
print(r["ids"].dtype.str, r["ids"][()].tolist())
print(r["mask"][()].tolist(), r["mask"].attrs["dnnlua_dtype"].decode())
print(r["lr"][()], r["step"][()], r["name"][()].decode(), r["on"][()])
print(list(r["layers"].keys()), r["layers"]["2"]["units"][()], r["layers"].attrs["dnnlua_int_keys"].tolist())
print(list(r.keys()))
]], p)
    assert.equal(table.concat({
      "dnnlua.value 1",
      "<f4 [[1.5, 2.0], [3.0, 4.0]]",
      "<i8 [9223372036854775807, -1]",
      "[1, 0] bool",
      "0.125 42 dense 1",
      "['1', '2'] 4 [1, 2]",
      "['ids', 'layers', 'lr', 'mask', 'name', 'on', 'step', 'w']",
    }, "\n") .. "\n", out)
  end)
end)

-- ---- the helper layer ----

describe("HDF5 helper layer (core.h5.create / h5.open)", function()
  it("writes and reads string attributes, fixed-length and variable-length", function()
    local p = dir .. "/a.h5"
    local f = core.h5.create(p)
    f:create_group("/g")
    f:set_attr("/", "fixed", "tensorflow")
    f:set_attr("/", "vlen", "héllo", "vlen")
    f:set_attr("/", "empty", "")
    f:set_attr("/", "nul", "a\0b")
    f:set_attr("/g", "names", { "dense", "dropout", "dense_1" })
    f:set_attr("/g", "vnames", { "α", "β" }, "vlen")
    f:set_attr("/g", "no_names", {}, "fixed")
    f:set_attr("/g", "ints", { 1, -2, math.maxinteger })
    f:set_attr("/g", "floats", { 1, 2.5 })
    f:set_attr("/g", "empty_nums", {})
    f:set_attr("/g", "i", 7)
    f:set_attr("/g", "x", 0.5)
    f:set_attr("/g", "replaced", "first")
    f:set_attr("/g", "replaced", { 1, 2 })
    assert.equal("tensorflow", f:get_attr("/", "fixed")) -- a writer reads back too
    f:commit()
    local r <close> = core.h5.open(p)
    assert.equal("tensorflow", r:get_attr("/", "fixed"))
    assert.equal("héllo", r:get_attr("/", "vlen"))
    assert.equal("", r:get_attr("/", "empty"))
    assert.equal("a\0b", r:get_attr("/", "nul"))
    assert.same({ "dense", "dropout", "dense_1" }, r:get_attr("/g", "names"))
    assert.same({ "α", "β" }, r:get_attr("/g", "vnames"))
    assert.same({}, r:get_attr("/g", "no_names"))
    assert.same({ 1, -2, math.maxinteger }, r:get_attr("/g", "ints"))
    assert.equal("float", math.type(r:get_attr("/g", "floats")[1]))
    assert.same({}, r:get_attr("/g", "empty_nums"))
    assert.equal(7, r:get_attr("/g", "i"))
    assert.equal(0.5, r:get_attr("/g", "x"))
    assert.same({ 1, 2 }, r:get_attr("/g", "replaced"))
    assert.is_nil(r:get_attr("/g", "missing"))
    assert.same({ "empty_nums", "floats", "i", "ints", "names", "no_names", "replaced", "vnames", "x" },
      r:attrs("/g"))
    if have_h5py() then
      assert.equal("|S7 [b'dense', b'dropout', b'dense_1'] héllo <class 'numpy.bytes_'> <i8 |S1\n",
        python([[
import sys, h5py
f = h5py.File(sys.argv[1], "r")
n = f["g"].attrs["names"]
print(n.dtype.str, n.tolist(), f.attrs["vlen"], type(f.attrs["fixed"]), f["g"].attrs["ints"].dtype.str,
      f["g"].attrs["no_names"].dtype.str)
]], p))
    end
  end)

  it("reads the attributes of a Keras-style file written by h5py", function()
    local r <close> = core.h5.open(FIX .. "keras_like.h5")
    assert.equal("2.11.0", r:get_attr("/", "keras_version"))
    assert.equal("tensorflow", r:get_attr("/", "backend"))
    assert.equal('{"class_name": "Sequential", "config": {"name": "s"}}', r:get_attr("/", "model_config"))
    assert.same({ "dense", "dropout", "dense_1" }, r:get_attr("/model_weights", "layer_names"))
    assert.same({ "dense/kernel:0", "dense/bias:0" }, r:get_attr("/model_weights/dense", "weight_names"))
    assert.same({}, r:get_attr("/model_weights/dropout", "weight_names"))
    local kernel = r:read_tensor("/model_weights/dense/dense/kernel:0")
    assert.same({ { 0, 1, 2 }, { 3, 4, 5 } }, kernel:totable())
    local size, dtype = r:info("/model_weights/dense/dense/bias:0")
    assert.same({ 3 }, { size[1] })
    assert.equal("float32", dtype)
    assert.same({ "dense", "dropout" }, r:members("/model_weights")) -- untracked: by name
    assert.equal("group", r:kind("/model_weights/dense/dense"))
  end)

  it("lists members in creation order or by name", function()
    local p = dir .. "/m.h5"
    local f = core.h5.create(p)
    for _, n in ipairs { "zeta", "alpha", "10", "9", "mid" } do f:write_scalar("/" .. n, 1) end
    f:create_group("/g")
    for i = 12, 1, -1 do f:write_scalar("/g/m" .. i, i) end -- past compact storage
    f:commit()
    local r <close> = core.h5.open(p)
    assert.same({ "zeta", "alpha", "10", "9", "mid", "g" }, r:members("/"))
    assert.same({ "10", "9", "alpha", "g", "mid", "zeta" }, r:members("/", "name"))
    local g = r:members("/g", "creation")
    assert.equal(12, #g)
    assert.equal("m12", g[1])
    assert.equal("m1", g[12])
    local k = core.h5.open(FIX .. "keras_like.h5")
    assert_error("does not track creation order", k.members, k, "/model_weights", "creation")
    k:close()
  end)

  it("tells kinds apart and identifies hard links", function()
    local p = dir .. "/k.h5"
    local f = core.h5.create(p)
    f:create_group("/g")
    f:write_tensor("/g/t", dnn.ones(2))
    f:link("/g/t", "/alias")
    f:link("/g", "/galias")
    f:commit()
    local r <close> = core.h5.open(p)
    local k1, key1 = r:kind("/g/t")
    local k2, key2 = r:kind("/alias")
    local k3, key3 = r:kind("/g")
    assert.equal("dataset", k1)
    assert.equal("dataset", k2)
    assert.equal(key1, key2)
    assert.equal("group", k3)
    assert.not_equal(key1, key3)
    assert.equal(key3, select(2, r:kind("/galias")))
    assert.is_nil(r:kind("/nothing"))
    assert.is_nil(r:kind("/nothing/below"))
    local s <close> = core.h5.open(FIX .. "bad_soft_link.h5")
    assert.equal("soft link", s:kind("/s"))
  end)

  it("reports misuse with the file and object named", function()
    local p = dir .. "/u.h5"
    local f = core.h5.create(p, "test")
    f:create_group("/g")
    assert_error("test: " .. p .. ": group /g: the name exists already", f.create_group, f, "/g")
    assert_error("test: " .. p .. ": group /no/sub: cannot create it", f.create_group, f, "/no/sub")
    assert_error("test: " .. p .. ": dataset /g: the name exists already",
      f.write_tensor, f, "/g", dnn.ones(1))
    assert_error("test: the dataset path must not contain NUL bytes", f.write_scalar, f, "a\0b", 1)
    assert_error("string 1 is not valid UTF-8 without NUL bytes", f.set_attr, f, "/", "s", "\255", "vlen")
    assert_error("kind 'int64' does not fit strings", f.set_attr, f, "/", "s", "x", "int64")
    assert_error("mixes strings and numbers", f.set_attr, f, "/", "s", { "a", 1 })
    assert_error("test: " .. p .. ": link target /missing: no such object", f.link, f, "/missing", "/l")
    f:commit()
    assert_error("test: " .. p .. ": the file is closed", f.write_scalar, f, "/x", 1)
    local r <close> = core.h5.open(p, "test")
    assert_error("test: " .. p .. ": the file is open for reading only", r.write_scalar, r, "/x", 1)
    assert_error("test: " .. p .. ": /g: expected a dataset, found a group", r.read_tensor, r, "/g")
    assert_error("test: " .. p .. ": dataset /nope: no such dataset", r.read_scalar, r, "/nope")
    assert_error("test: " .. p .. ": group /nope: no such group", r.members, r, "/nope")
  end)
end)
