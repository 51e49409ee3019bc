-- Fuzz target "read_csv": one input file through the CSV reader with the
-- option sets that reach its different paths (check.lua says what passes:
-- every call returns or raises a message naming the file):
--   header row, float32 / no header, int64 / a ';' delimiter, int32 /
--   uint8 with empty cells filled / columns chosen by name and by number.
local dnn = require "dnn"

local T = { suffix = ".csv" }

T.calls = {
  { name = "read_csv", fn = function(path) return dnn.io.read_csv(path) end },
  { name = "read_csv no header int64", fn = function(path)
    return dnn.io.read_csv(path, { header = false, dtype = "int64" })
  end },
  { name = "read_csv ; int32", fn = function(path)
    return dnn.io.read_csv(path, { delimiter = ";", dtype = "int32" })
  end },
  { name = "read_csv uint8 na", fn = function(path)
    return dnn.io.read_csv(path, { header = false, dtype = "uint8", na = 0 })
  end },
  { name = "read_csv by name", fn = function(path)
    return dnn.io.read_csv(path, { columns = { "b", "a" }, dtype = "float64" })
  end },
  { name = "read_csv by number", fn = function(path)
    return dnn.io.read_csv(path, { header = false, columns = { 2, 1, 2 }, na = -1 })
  end },
}

return T
