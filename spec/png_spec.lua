-- dnn.io.read_png / write_png.
-- Reference: spec/fixtures/io/png/*.png, encoded byte by byte with zlib by
-- scripts/make_fixtures_io.py (not by libpng), and png.lua, the samples
-- those files hold (conversions checked against Pillow there).
local dnn = require "dnn"
local check = require "support.check"

local ROOT = os.getenv("DNN_ROOT") or "."
local DIR = ROOT .. "/spec/fixtures/io/png/"
local REF = dofile(ROOT .. "/spec/fixtures/io/png.lua")

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

local function flat(t) return t:contiguous():view(-1):totable() end

local function shape(t)
  local s, out = t:size(), {}
  for i = 1, t:dim() do out[i] = s[i] end
  return out
end

local function same_list(a, b)
  assert.are.equal(#b, #a)
  for i = 1, #b do
    if a[i] ~= b[i] then error(("element %d: %s ~= %s"):format(i, tostring(a[i]), tostring(b[i])), 2) end
  end
  return true
end

describe("dnn.io.read_png", function()
  for name, case in pairs(REF.cases) do
    it("decodes " .. name .. " to uint8 HWC", function()
      local t = dnn.io.read_png(DIR .. name .. ".png")
      assert.are.equal("uint8", t.dtype)
      assert.are.same(case.shape, shape(t))
      same_list(flat(t), case.uint8)
    end)
    it("decodes " .. name .. " to int32 samples as stored", function()
      local t = dnn.io.read_png(DIR .. name .. ".png", { dtype = "int32" })
      assert.are.equal("int32", t.dtype)
      same_list(flat(t), case.int32)
    end)
  end

  it("returns 16-bit samples up to 65535 with dtype int32", function()
    local t = dnn.io.read_png(DIR .. "gray16.png", { dtype = "int32" })
    assert.is_true(t:max():item() > 255)
    local u = dnn.io.read_png(DIR .. "gray16.png")
    assert.is_true(u:max():item() <= 255)
  end)

  it("converts channels as Pillow does (luma 601-2, alpha dropped or added)", function()
    local C = REF.conversions
    same_list(flat(dnn.io.read_png(DIR .. "rgb8.png", { channels = 1 })), C.rgb8_to_gray)
    same_list(flat(dnn.io.read_png(DIR .. "rgba8.png", { color_mode = "rgb" })), C.rgba8_to_rgb)
    same_list(flat(dnn.io.read_png(DIR .. "rgba8.png", { color_mode = "grayscale" })), C.rgba8_to_gray)
    same_list(flat(dnn.io.read_png(DIR .. "gray8.png", { channels = 3 })), C.gray8_to_rgb)
    same_list(flat(dnn.io.read_png(DIR .. "gray8.png", { color_mode = "rgba" })), C.gray8_to_rgba)
    same_list(flat(dnn.io.read_png(DIR .. "ga8.png", { channels = 1 })), C.ga8_to_gray)
    same_list(flat(dnn.io.read_png(DIR .. "ga8.png", { channels = 4 })), C.ga8_to_rgba)
  end)

  it("takes the table spelling", function()
    local t = dnn.io.read_png { DIR .. "rgb8.png", channels = 1 }
    assert.are.same({ 5, 7, 1 }, shape(t))
  end)

  local BAD = {
    { "bad_empty", "empty" },
    { "bad_notpng", "not a PNG file" },
    { "bad_truncated", "truncated" },
    { "bad_badcrc", "CRC" },
    { "bad_badzlib", "corrupt or truncated PNG" },
    { "bad_zerowidth", "corrupt or truncated PNG" },
    { "bad_huge", "more than its" },
    { "bad_noiend", "truncated" },
  }
  for _, b in ipairs(BAD) do
    it("rejects " .. b[1] .. " with an error naming the file", function()
      local path = DIR .. b[1] .. ".png"
      check.fails_with(function() dnn.io.read_png(path) end, "read_png: ", path, b[2])
    end)
  end

  it("names a missing file and a directory", function()
    check.fails_with(function() dnn.io.read_png(DIR .. "nope.png") end, "read_png: ", "nope.png", "no such file")
    check.fails_with(function() dnn.io.read_png(DIR) end, "read_png: ", "is a directory")
  end)

  it("checks its arguments", function()
    check.fails_with(function() dnn.io.read_png(42) end, "read_png: the path must be a string")
    check.fails_with(function() dnn.io.read_png(DIR .. "rgb8.png", { channels = 5 }) end, "channels must be")
    check.fails_with(function() dnn.io.read_png(DIR .. "rgb8.png", { color_mode = "cmyk" }) end, "color_mode")
    check.fails_with(function() dnn.io.read_png(DIR .. "rgb8.png", { dtype = "float32" }) end,
      "dtype must be uint8", "int32")
  end)
end)

describe("dnn.io.write_png", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  for _, c in ipairs({ 1, 2, 3, 4 }) do
    it("round-trips uint8 images with " .. c .. " channels", function()
      local x = dnn.randint(0, 256, { 6, 9, c }):byte()
      local p = dir .. "/u8_" .. c .. ".png"
      dnn.io.write_png(p, x)
      local y = dnn.io.read_png(p)
      assert.are.same({ 6, 9, c }, shape(y))
      assert.is_true(y:eq(x):all():item())
    end)
  end

  it("writes (H, W) tensors as gray", function()
    local x = dnn.randint(0, 256, { 3, 4 }):byte()
    dnn.io.write_png(dir .. "/hw.png", x)
    local y = dnn.io.read_png(dir .. "/hw.png")
    assert.are.same({ 3, 4, 1 }, shape(y))
    assert.is_true(y:view(3, 4):eq(x):all():item())
  end)

  it("writes int32 / int64 tensors as 16-bit PNGs", function()
    local x = dnn.tensor({ { { 0, 65535, 300 }, { 1, 2, 40000 } } }, { dtype = "int32" })
    dnn.io.write_png(dir .. "/s16.png", x)
    local y = dnn.io.read_png(dir .. "/s16.png", { dtype = "int32" })
    assert.are.same(x:totable(), y:totable())
    -- and read as uint8: round(v * 255 / 65535)
    local u = dnn.io.read_png(dir .. "/s16.png")
    assert.are.same({ { { 0, 255, 1 }, { 0, 0, 156 } } }, u:totable())
    dnn.io.write_png(dir .. "/s16b.png", x:long())
    assert.are.same(x:totable(), dnn.io.read_png(dir .. "/s16b.png", { dtype = "int32" }):totable())
  end)

  it("writes non-contiguous views", function()
    local x = dnn.randint(0, 256, { 4, 5, 3 }):byte()
    local v = x:transpose(1, 2) -- (5, 4, 3)
    dnn.io.write_png(dir .. "/view.png", v)
    assert.are.same(v:totable(), dnn.io.read_png(dir .. "/view.png"):totable())
  end)

  it("rejects what PNG cannot hold, before creating the file", function()
    local p = dir .. "/never.png"
    check.fails_with(function() dnn.io.write_png(p, dnn.zeros(4, 4)) end, "write_png: ", "float32", "uint8")
    check.fails_with(function() dnn.io.write_png(p, dnn.zeros(2, 2, 5):byte()) end, "write_png: ", "[2,2,5]")
    check.fails_with(function() dnn.io.write_png(p, dnn.zeros(2):byte()) end, "write_png: ", "(H, W)")
    check.fails_with(function() dnn.io.write_png(p, dnn.zeros(0, 3):byte()) end, "write_png: ", "1 to 1000000")
    check.fails_with(function() dnn.io.write_png(p, dnn.tensor({ { 70000 } }, { dtype = "int32" })) end,
      "write_png: ", "0..65535", "70000")
    check.fails_with(function() dnn.io.write_png(p, "x") end, "write_png: argument #2 must be a tensor")
    assert.is_nil(io.open(p, "rb"))
  end)

  it("fails on an unwritable place without leaving a file", function()
    check.fails_with(function() dnn.io.write_png(dir .. "/no/such/dir/x.png", dnn.zeros(2, 2):byte()) end,
      "write_png: ", "no/such/dir/x.png", "cannot create")
  end)

  it("replaces an existing file atomically (no temporary left behind)", function()
    local p = dir .. "/atomic.png"
    dnn.io.write_png(p, dnn.zeros(2, 2):byte())
    dnn.io.write_png(p, dnn.ones(3, 3):byte())
    assert.are.same({ 3, 3, 1 }, shape(dnn.io.read_png(p)))
    local h = io.popen("ls " .. q(dir) .. " | grep -c tmp- || true")
    local n = tonumber(h:read("a"))
    h:close()
    assert.are.equal(0, n)
  end)
end)
