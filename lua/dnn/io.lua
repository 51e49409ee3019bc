-- dnn.io: readers and writers of data files.
local core = require "dnn.core"
local io_ = {}
io_.read_idx = core.read_idx
return io_
