-- dnn.io: readers and writers of data files.
--
--   dnn.io.read_idx(path)          IDX file, plain or gzipped (told apart by the
--                                  gzip magic), into a tensor of the stored type:
--                                  0x08 uint8 -> uint8; 0x09 int8, 0x0B int16,
--                                  0x0C int32 -> int32; 0x0D float32; 0x0E float64.
--   dnn.io.write_idx(path, tensor) plain IDX from a uint8, int32, float32 or float64
--                                  tensor; atomic (temp file beside it + rename).
--
-- Both also take one table: read_idx{path}, write_idx{path, tensor} (or the
-- fields path= and tensor=).  A file must hold exactly what its header
-- declares: truncated data and trailing bytes are both errors naming the file.
local core = require "dnn.core"

local io_ = {}

-- Unpacks the f{a, b} spelling into positional arguments.
local function args(a, b)
  if type(a) == "table" and not core.is_tensor(a) then
    return a[1] or a.path, a[2] or a.tensor
  end
  return a, b
end

function io_.read_idx(path)
  return core.read_idx((args(path)))
end

function io_.write_idx(path, tensor)
  core.write_idx(args(path, tensor))
end

return io_
