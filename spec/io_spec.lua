-- dnn.io.read_idx / write_idx and dnn.datasets.fashion_mnist.
-- Reference values: spec/fixtures/idx/values.lua and
-- spec/fixtures/fashion_mnist_stats.lua, written with numpy by
-- scripts/make_fixtures_fmnist.py (not by our reader).
local dnn = require "dnn"

local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = ROOT .. "/spec/fixtures/idx/"
local VALUES = dofile(FIX .. "values.lua")
local FMNIST = dofile(ROOT .. "/spec/fixtures/fashion_mnist_stats.lua")
local FMNIST_DIR = "/usr/share/datasets/fashion-mnist"

-- ---- helpers ----

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function make_tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

local function write_bytes(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function read_bytes(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function gzip(src, dst)
  assert(os.execute("gzip -c -n " .. q(src) .. " > " .. q(dst)), "gzip failed")
end

local function listdir(dir)
  local names = {}
  local p = assert(io.popen("ls -A " .. q(dir)))
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

-- IDX header bytes: type code, then the dims (big-endian uint32).
local function header(code, dims)
  local parts = {string.pack(">BBBB", 0, 0, code, #dims)}
  for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
  return table.concat(parts)
end

local function flat(t)
  local out = {}
  local function walk(v)
    if type(v) == "table" then
      for _, x in ipairs(v) do walk(x) end
    else
      out[#out + 1] = v
    end
  end
  walk(t:totable())
  return out
end

local function shape_of(t)
  local s = t:size()
  local out = {}
  for i = 1, #s do out[i] = s[i] end
  return out
end

-- Expects read_idx(path) to fail with a message naming the file and each fragment.
local function read_fails(path, ...)
  local ok, err = pcall(dnn.io.read_idx, path)
  assert.is_false(ok, "read_idx(" .. path .. ") should have failed")
  err = tostring(err)
  assert.truthy(err:find("read_idx: " .. path .. ":", 1, true), "message does not name the file: " .. err)
  for _, frag in ipairs({...}) do
    assert.truthy(err:find(frag, 1, true), ("message %q does not mention %q"):format(err, frag))
  end
  return err
end

local tmp
setup(function() tmp = make_tmpdir() end)
teardown(function() if tmp then os.execute("rm -rf " .. q(tmp)) end end)

-- ---- reading files numpy wrote ----

describe("read_idx on numpy-written fixtures", function()
  for name, want in pairs(VALUES) do
    if name ~= "gzipped" then
      it(("reads %s.idx (%s) as %s %s"):format(name, want.type, want.dtype, table.concat(want.shape, "x")),
        function()
          local t = dnn.io.read_idx(FIX .. name .. ".idx")
          assert.equal(want.dtype, t.dtype)
          assert.same(want.shape, shape_of(t))
          assert.same(want.values, flat(t))
        end)
    end
  end

  for file, name in pairs(VALUES.gzipped) do
    it("reads the gzipped " .. file .. " (detected by its magic, not its name)", function()
      local want = VALUES[name]
      local t = dnn.io.read_idx(FIX .. file)
      assert.equal(want.dtype, t.dtype)
      assert.same(want.shape, shape_of(t))
      assert.same(want.values, flat(t))
    end)
  end

  it("accepts the read_idx{path} spelling", function()
    local t = dnn.io.read_idx{FIX .. "u8_2x3.idx"}
    assert.same(VALUES.u8_2x3.values, flat(t))
    assert.same(VALUES.u8_2x3.values, flat(dnn.io.read_idx{path = FIX .. "u8_2x3.idx"}))
  end)
end)

-- ---- round trips ----

describe("write_idx then read_idx", function()
  local cases = {
    uint8 = {{0, 1, 2}, {127, 128, 255}},
    int32 = {{-2147483648, -1, 0}, {1, 16909060, 2147483647}},
    float32 = {{-0.5, 0.25, 3.0}, {1e30, -1e-30, 0.0}},
    float64 = {{-1 / 3, 2 ^ -40, 1e300}, {-1e-300, math.pi, 0.0}},
  }
  for dtype, data in pairs(cases) do
    it("round-trips " .. dtype .. " exactly", function()
      local t = dnn.tensor(data, {dtype = dtype})
      local p = tmp .. "/rt_" .. dtype .. ".idx"
      dnn.io.write_idx(p, t)
      local back = dnn.io.read_idx(p)
      assert.equal(dtype, back.dtype)
      assert.same({2, 3}, shape_of(back))
      assert.same(flat(t), flat(back))
    end)
  end

  it("writes the big-endian layout numpy writes", function()
    local t = dnn.tensor({{-32768, -1, 0}, {1, 258, 32767}}, {dtype = "int32"})
    local p = tmp .. "/be.idx"
    dnn.io.write_idx(p, t)
    local want = header(0x0C, {2, 3}) .. string.pack(">i4i4i4i4i4i4", -32768, -1, 0, 1, 258, 32767)
    assert.equal(want, read_bytes(p))
    -- and a float32 file byte for byte as numpy wrote it
    local f = dnn.io.read_idx(FIX .. "f32_2x2.idx")
    dnn.io.write_idx(tmp .. "/f32.idx", f)
    assert.equal(read_bytes(FIX .. "f32_2x2.idx"), read_bytes(tmp .. "/f32.idx"))
  end)

  it("writes a non-contiguous view in its logical order", function()
    local t = dnn.tensor({{1, 2, 3}, {4, 5, 6}}, {dtype = "float64"}):t()
    local p = tmp .. "/transposed.idx"
    dnn.io.write_idx{p, t}
    local back = dnn.io.read_idx(p)
    assert.same({3, 2}, shape_of(back))
    assert.same({1, 4, 2, 5, 3, 6}, flat(back))
  end)

  it("round-trips 4-d, empty and 0-d tensors", function()
    local t4 = dnn.arange(0, 24):int():view(2, 3, 1, 4)
    dnn.io.write_idx(tmp .. "/t4.idx", t4)
    local b4 = dnn.io.read_idx(tmp .. "/t4.idx")
    assert.same({2, 3, 1, 4}, shape_of(b4))
    assert.same(flat(t4), flat(b4))

    dnn.io.write_idx(tmp .. "/empty.idx", dnn.zeros(0, 5))
    local e = dnn.io.read_idx(tmp .. "/empty.idx")
    assert.same({0, 5}, shape_of(e))
    assert.equal("float32", e.dtype)

    dnn.io.write_idx(tmp .. "/scalar.idx", dnn.tensor(7):int())
    local s = dnn.io.read_idx(tmp .. "/scalar.idx")
    assert.equal(0, s:dim())
    assert.equal(7, s:item())
  end)

  it("reads back a file after gzip compressed it", function()
    local t = dnn.tensor({{1.5, -2}, {3, 4e10}}, {dtype = "float64"})
    dnn.io.write_idx(tmp .. "/plain.idx", t)
    gzip(tmp .. "/plain.idx", tmp .. "/plain.idx.gz")
    assert.same(flat(t), flat(dnn.io.read_idx(tmp .. "/plain.idx.gz")))
  end)

  it("replaces an existing file and leaves no temporary files", function()
    local dir = make_tmpdir()
    local p = dir .. "/data.idx"
    dnn.io.write_idx(p, dnn.tensor({1, 2, 3}):byte())
    dnn.io.write_idx(p, dnn.tensor({9, 8}):byte())
    assert.same({9, 8}, flat(dnn.io.read_idx(p)))
    assert.same({"data.idx"}, listdir(dir))
    os.execute("rm -rf " .. q(dir))
  end)
end)

describe("write_idx errors", function()
  it("rejects dtypes IDX cannot store, naming the file and the dtype", function()
    for _, dt in ipairs({"int64", "bool"}) do
      local ok, err = pcall(dnn.io.write_idx, tmp .. "/bad.idx", dnn.zeros(2, {dtype = dt}))
      assert.is_false(ok)
      assert.truthy(err:find("write_idx: " .. tmp .. "/bad.idx: IDX has no type for " .. dt, 1, true), err)
    end
    assert.is_nil(io.open(tmp .. "/bad.idx"))
  end)

  it("names a missing directory and leaves nothing behind", function()
    local p = tmp .. "/no/such/dir/x.idx"
    local ok, err = pcall(dnn.io.write_idx, p, dnn.zeros(2))
    assert.is_false(ok)
    assert.truthy(err:find("write_idx: " .. p .. ":", 1, true), err)
    assert.truthy(err:find("No such file or directory", 1, true), err)
  end)

  it("does not replace a directory, and removes its temporary file", function()
    local dir = make_tmpdir()
    assert(os.execute("mkdir " .. q(dir .. "/sub")))
    local ok, err = pcall(dnn.io.write_idx, dir .. "/sub", dnn.zeros(2))
    assert.is_false(ok)
    assert.truthy(err:find("write_idx: " .. dir .. "/sub: cannot write", 1, true), err)
    assert.same({"sub"}, listdir(dir))
    os.execute("rm -rf " .. q(dir))
  end)

  it("checks its arguments", function()
    local ok, err = pcall(dnn.io.write_idx, tmp .. "/x.idx", {1, 2})
    assert.is_false(ok)
    assert.truthy(err:find("write_idx: argument #2 must be a tensor, got table", 1, true), err)
    ok, err = pcall(dnn.io.read_idx, nil)
    assert.is_false(ok)
    assert.truthy(err:find("read_idx: the path must be a string, got nil", 1, true), err)
  end)
end)

-- ---- malformed files ----

describe("read_idx on malformed files", function()
  local function file(name, bytes)
    local p = tmp .. "/" .. name
    write_bytes(p, bytes)
    return p
  end
  local function gzfile(name, bytes)
    local p = file(name .. ".raw", bytes)
    gzip(p, tmp .. "/" .. name)
    return tmp .. "/" .. name
  end

  it("a missing file", function()
    read_fails(tmp .. "/missing.idx", "cannot open", "No such file or directory")
  end)

  it("a directory", function()
    read_fails(tmp, "is a directory")
  end)

  it("an empty file", function()
    read_fails(file("empty.idx", ""), "empty file (0 bytes)")
  end)

  it("a file shorter than the magic", function()
    read_fails(file("short.idx", "\0\0\8"), "truncated", "holds 3 bytes, fewer than the 4-byte IDX magic")
  end)

  it("a file that is not IDX (bad magic)", function()
    read_fails(file("text.idx", "hello, world\n"), "bad magic 68 65 6C 6C")
  end)

  it("an unknown type code", function()
    read_fails(file("type.idx", header(0x0A, {2}) .. "\0\0"), "unknown type code 0x0A")
  end)

  it("more dims than a tensor has", function()
    read_fails(file("dims.idx", header(0x08, {1, 1, 1, 1, 1, 1, 1, 1, 1}) .. "\1"),
      "header declares 9 dims but tensors have at most 8")
  end)

  it("a header cut inside the dims", function()
    read_fails(file("cut.idx", header(0x08, {60000, 28, 28}):sub(1, 10)),
      "truncated header: it declares 3 dims (a 16-byte header) but the file ends after 10 bytes")
  end)

  it("data shorter than the header declares", function()
    read_fails(file("trunc.idx", header(0x08, {60000, 28, 28}) .. string.rep("\0", 1000)),
      "truncated: header declares 60000x28x28 uint8 (47040000 bytes of data) but the file holds only 1000 bytes after the 16-byte header")
  end)

  it("trailing bytes after the declared data", function()
    read_fails(file("trail.idx", header(0x0D, {2}) .. string.rep("\0", 9)),
      "trailing data: header declares 2 float32 (8 bytes of data) but the file holds 9 bytes")
  end)

  it("a hostile header whose size overflows", function()
    local big = 0xFFFFFFFF
    read_fails(file("huge.idx", header(0x0E, {big, big, big, big}) .. "\0\0\0\0"),
      "header declares 4294967295x4294967295x4294967295x4294967295 float64, more than 2^62 bytes")
  end)

  it("a hostile header claiming 2^51 bytes allocates nothing", function()
    local before = dnn.memory_stats().peak_bytes
    read_fails(file("claim.idx", header(0x0E, {65536, 65536, 65536}) .. "\0\0\0\0\0\0\0\0"),
      "truncated: header declares 65536x65536x65536 float64 (2251799813685248 bytes of data)")
    assert.equal(before, dnn.memory_stats().peak_bytes)
  end)

  it("a hostile header inside a gzip file", function()
    read_fails(gzfile("claim.idx.gz", header(0x08, {65536, 65536, 65536}) .. "abc"),
      "truncated: header declares 65536x65536x65536 uint8", "the decompressed data holds only 3 bytes")
  end)

  it("a gzip file whose IDX data is short", function()
    read_fails(gzfile("short.idx.gz", header(0x0C, {10}) .. string.rep("\1", 39)),
      "truncated: header declares 10 int32 (40 bytes of data) but the decompressed data holds only 39 bytes")
  end)

  it("a gzip file with trailing IDX data", function()
    read_fails(gzfile("trail.idx.gz", header(0x08, {3}) .. "abcd"),
      "trailing data: header declares 3 uint8 (3 bytes of data) but the decompressed data holds 4 bytes")
  end)

  it("a gzip stream cut short", function()
    local whole = read_bytes(FIX .. "f64_3.idx.gz")
    read_fails(file("cut.idx.gz", whole:sub(1, #whole - 12)), "gzip")
  end)

  it("a corrupt gzip stream", function()
    local big = header(0x08, {4096}) .. string.rep("abcdefgh", 512)
    local p = gzfile("corrupt.idx.gz", big)
    local bytes = read_bytes(p)
    -- flip bytes in the middle of the deflate data
    local mid = #bytes // 2
    write_bytes(p, bytes:sub(1, mid) .. string.rep("\255", 4) .. bytes:sub(mid + 5))
    read_fails(p, "gzip")
  end)

  it("a gzip file whose CRC does not match its data", function()
    local bytes = read_bytes(FIX .. "u8_2x3_gzipped.idx")
    local crc_at = #bytes - 7 -- the trailer: CRC32, then the length
    local flipped = string.char((bytes:byte(crc_at) + 1) % 256)
    read_fails(file("crc.idx.gz", bytes:sub(1, crc_at - 1) .. flipped .. bytes:sub(crc_at + 1)),
      "gzip", "incorrect data check")
  end)

  it("a valid gzip file holding nothing", function()
    read_fails(gzfile("nothing.idx.gz", ""), "truncated", "the decompressed data holds 0 bytes")
  end)

  it("an empty path", function()
    local ok, err = pcall(dnn.io.read_idx, "")
    assert.is_false(ok)
    assert.truthy(err:find("read_idx: the path is empty", 1, true), err)
  end)
end)

-- ---- the real dataset ----

describe("Fashion-MNIST files", function()
  it("read_idx gives the shapes, dtypes, labels and pixels numpy sees", function()
    local x = dnn.io.read_idx(FMNIST_DIR .. "/train-images-idx3-ubyte.gz")
    local y = dnn.io.read_idx(FMNIST_DIR .. "/train-labels-idx1-ubyte.gz")
    assert.equal("uint8", x.dtype)
    assert.equal("uint8", y.dtype)
    assert.same(FMNIST.train_shape, shape_of(x))
    assert.same({FMNIST.train_shape[1]}, shape_of(y))
    for i, v in ipairs(FMNIST.train_first_labels) do assert.equal(v, y[i]) end
    assert.equal(FMNIST.train_last_label, y[-1] or y[FMNIST.train_shape[1]])
    for _, p in ipairs(FMNIST.pixels) do
      if p.split == "train" then assert.equal(p.v, x[p.i][p.r][p.c]) end
    end
    assert.equal(FMNIST.train_pixel_sum, x:sum():item())
  end)

  it("dnn.datasets.fashion_mnist() loads both splits with int64 labels", function()
    local d = dnn.datasets.fashion_mnist()
    assert.same(FMNIST.train_shape, shape_of(d.train.x))
    assert.same(FMNIST.test_shape, shape_of(d.test.x))
    assert.equal("uint8", d.train.x.dtype)
    assert.equal("int64", d.train.y.dtype)
    assert.equal("int64", d.test.y.dtype)
    assert.same({FMNIST.test_shape[1]}, shape_of(d.test.y))
    for i, v in ipairs(FMNIST.test_first_labels) do assert.equal(v, d.test.y[i]) end
    for _, p in ipairs(FMNIST.pixels) do
      assert.equal(p.v, d[p.split].x[p.i][p.r][p.c])
    end
    assert.equal(FMNIST.test_pixel_sum, d.test.x:sum():item())
    assert.same({"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"}, d.class_names)
  end)

  it("takes the directory as a string, a path= option or the default, and limit=", function()
    local a = dnn.datasets.fashion_mnist(FMNIST_DIR, {limit = 7})
    local b = dnn.datasets.fashion_mnist{path = FMNIST_DIR .. "/", limit = 7}
    local c = dnn.datasets.fashion_mnist{limit = 7}
    for _, d in ipairs({a, b, c}) do
      assert.same({7, 28, 28}, shape_of(d.train.x))
      assert.same({7}, shape_of(d.test.y))
      for i = 1, 7 do assert.equal(FMNIST.train_first_labels[i], d.train.y[i]) end
      assert.equal(FMNIST.pixels[1].v, d.train.x[1][FMNIST.pixels[1].r][FMNIST.pixels[1].c])
      assert.is_true(d.train.x:is_contiguous())
    end
  end)

  it("says which package to install when the directory is missing", function()
    local ok, err = pcall(dnn.datasets.fashion_mnist, tmp .. "/nowhere")
    assert.is_false(ok)
    assert.truthy(err:find("fashion_mnist: directory " .. tmp .. "/nowhere not found", 1, true), err)
    assert.truthy(err:find("dataset-fashion-mnist", 1, true), err)
  end)

  it("names the missing file and checks its options", function()
    local ok, err = pcall(dnn.datasets.fashion_mnist, tmp)
    assert.is_false(ok)
    assert.truthy(err:find(tmp .. "/train-images-idx3-ubyte.gz is missing", 1, true), err)
    ok, err = pcall(dnn.datasets.fashion_mnist, {limit = 0})
    assert.is_false(ok)
    assert.truthy(err:find("fashion_mnist: limit must be a positive integer, got 0", 1, true), err)
  end)
end)
