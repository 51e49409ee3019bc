-- dnn.io.h5read / dnn.io.h5write: single datasets in HDF5 files.
-- Reference: spec/fixtures/io/h5/data.h5 and h5.lua, written with h5py by
-- scripts/make_fixtures_io.py.
local dnn = require "dnn"
local check = require "support.check"

local ROOT = os.getenv("DNN_ROOT") or "."
local FILE = ROOT .. "/spec/fixtures/io/h5/data.h5"
local REF = dofile(ROOT .. "/spec/fixtures/io/h5.lua")

local function shape(t)
  local s, out = t:size(), {}
  for i = 1, t:dim() do out[i] = s[i] end
  return out
end

local function tmp()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".h5"
end

describe("dnn.io.h5read", function()
  for name, ref in pairs(REF) do
    it("reads h5py's " .. ref.dtype .. " dataset " .. name, function()
      local t = dnn.io.h5read(FILE, name)
      assert.are.equal(ref.dtype, t.dtype)
      assert.are.same(ref.shape, shape(t))
      assert.are.same(ref.values, t:double():view(-1):totable())
    end)
  end

  it("takes a leading slash and the table spelling", function()
    local a = dnn.io.h5read(FILE, "/group/sub/ids")
    local b = dnn.io.h5read { FILE, "group/sub/ids" }
    assert.is_true(a:equal(b))
  end)

  it("names the file and lists the datasets when the name is wrong", function()
    check.fails_with(function() dnn.io.h5read(FILE, "nope") end, "h5read: " .. FILE, "/nope is not there",
      "double", "group/pixels", "group/sub/ids", "labels", "x")
    check.fails_with(function() dnn.io.h5read(FILE, "group") end, "/group is a group, not a dataset")
    check.fails_with(function() dnn.io.h5read(FILE .. ".missing", "x") end, "h5read: ", ".missing")
    check.fails_with(function() dnn.io.h5read(FILE, "") end, "non-empty string")
    check.fails_with(function() dnn.io.h5read(FILE, "text") end, "text")
  end)
end)

describe("dnn.io.h5write", function()
  it("writes datasets that h5read reads back, nested groups made on the way", function()
    local p = tmp()
    local x = dnn.randn(3, 2)
    local ids = dnn.arange(10):int()
    dnn.io.h5write(p, "x", x)
    dnn.io.h5write(p, "a/b/ids", ids)
    assert.is_true(dnn.io.h5read(p, "x"):equal(x))
    local back = dnn.io.h5read(p, "/a/b/ids")
    assert.are.equal("int32", back.dtype)
    assert.is_true(back:equal(ids))
    os.remove(p)
  end)

  it("keeps the other datasets and attributes of an existing file (mode a) and replaces a dataset", function()
    local p = tmp()
    local src = io.open(FILE, "rb")
    local bytes = src:read("a")
    src:close()
    local f = io.open(p, "wb")
    f:write(bytes) -- a copy of the h5py file
    f:close()
    -- the h5py file holds a string dataset, which dnnlua cannot carry over: mode "a" says so
    check.fails_with(function() dnn.io.h5write(p, "y", dnn.ones(2)) end, "h5write: " .. p,
      "cannot keep dataset /text", 'mode="w"')
    assert.are.same(REF.x.values, dnn.io.h5read(p, "x"):double():view(-1):totable()) -- untouched
    local q = tmp()
    dnn.io.h5write(q, "x", dnn.io.h5read(FILE, "x"))
    dnn.io.h5write(q, "group/pixels", dnn.io.h5read(FILE, "group/pixels"))
    dnn.io.h5write(q, "y", dnn.ones(2))
    dnn.io.h5write(q, "x", dnn.zeros(5))
    assert.are.same({ 5 }, shape(dnn.io.h5read(q, "x")))
    assert.are.same(REF["group/pixels"].values, dnn.io.h5read(q, "group/pixels"):double():view(-1):totable())
    assert.are.same({ 1, 1 }, dnn.io.h5read(q, "y"):totable())
    dnn.io.h5write(q, "only", dnn.ones(1), { mode = "w" })
    check.fails_with(function() dnn.io.h5read(q, "y") end, "/y is not there", "datasets in the file: only")
    os.remove(p)
    os.remove(q)
  end)

  it("checks its arguments without touching the file", function()
    local p = tmp()
    dnn.io.h5write(p, "x", dnn.ones(2))
    check.fails_with(function() dnn.io.h5write(p, "x", { 1, 2 }) end, "h5write: the data must be a tensor")
    check.fails_with(function() dnn.io.h5write(p, "x", dnn.ones(2), { mode = "r" }) end, 'mode must be "a"')
    dnn.io.h5write(p, "g/x", dnn.ones(1))
    check.fails_with(function() dnn.io.h5write(p, "g", dnn.ones(1)) end, "/g is a group, not a dataset")
    check.fails_with(function() dnn.io.h5write("/no/such/dir/f.h5", "x", dnn.ones(1)) end, "/no/such/dir/f.h5")
    assert.is_true(dnn.io.h5read(p, "x"):equal(dnn.ones(2)))
    os.remove(p)
  end)
end)
