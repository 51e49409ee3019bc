-- Fuzz target "read_png": one input file through the PNG reader in each of
-- its modes (check.lua says what passes: every call returns or raises a
-- message naming the file):
--   dnn.io.read_png(path)                     as stored, uint8
--   dnn.io.read_png(path, {dtype="int32"})    16-bit samples kept
--   dnn.io.read_png(path, {channels=1})       RGB -> gray conversion
--   dnn.io.read_png(path, {channels=4})       gray -> RGBA conversion
-- and as an image folder batch on the worker threads (decode + resize).
local dnn = require "dnn"

local T = { suffix = ".png" }

local pool = dnn.core.image_pool(1)

T.calls = {
  { name = "read_png", fn = function(path) return dnn.io.read_png(path) end },
  { name = "read_png int32", fn = function(path) return dnn.io.read_png(path, { dtype = "int32" }) end },
  { name = "read_png gray", fn = function(path) return dnn.io.read_png(path, { channels = 1 }) end },
  { name = "read_png rgba", fn = function(path) return dnn.io.read_png(path, { channels = 4 }) end },
  { name = "image batch", fn = function(path)
    return pool:submit_images("image batch", { path, path }, 3, 7, 5, "bilinear", true, true, true, 1, 0):wait()
  end },
}

return T
