-- Seeds for the read_png fuzz target, written into a folder (normally
-- spec/fixtures/fuzz/read_png/):
--   scripts/bench/fuzz/run --seeds read_png   (or: dnnlua this-file DIR)
-- Small files from dnn.io.write_png of every channel count and both bit
-- depths, then truncated and bit-flipped variants.  The hand-encoded
-- fixtures (palettes, interlacing, low bit depths, broken files) in
-- spec/fixtures/io/png are seeds too, through read_png.seeds.
local dnn = require "dnn"

local out = assert(arg and arg[1], "usage: make_seeds_read_png.lua DIR")
dnn.manual_seed(1)

local function write(name, bytes)
  local f = assert(io.open(out .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function png_bytes(t)
  local p = os.tmpname()
  dnn.io.write_png(p, t)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  os.remove(p)
  return s
end

local files = {}
for c = 1, 4 do
  files["seed-u8-c" .. c .. ".png"] = png_bytes(dnn.randint(0, 256, { 3, 5, c }):byte())
end
files["seed-u16-c1.png"] = png_bytes(dnn.randint(0, 65536, { 4, 3, 1 }):int())
files["seed-u16-c4.png"] = png_bytes(dnn.randint(0, 65536, { 2, 2, 4 }):int())
files["seed-1x1.png"] = png_bytes(dnn.zeros(1, 1):byte())
for name, s in pairs(files) do write(name, s) end

-- damage: cut in the IDAT data, and one flipped bit in IHDR, IDAT and the CRCs
local base = files["seed-u8-c3.png"]
write("seed-truncated.png", base:sub(1, #base // 2))
local function flip(s, pos)
  return s:sub(1, pos - 1) .. string.char(s:byte(pos) ~ 0x10) .. s:sub(pos + 1)
end
write("seed-flip-ihdr-width.png", flip(base, 19))
write("seed-flip-ihdr-crc.png", flip(base, 31))
write("seed-flip-idat.png", flip(base, base:find("IDAT", 1, true) + 8))
