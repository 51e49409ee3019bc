-- dnn.io: readers and writers of data files.
--
--   dnn.io.read_idx(path)          IDX file, plain or gzipped (told apart by the
--                                  gzip magic), into a tensor of the stored type:
--                                  0x08 uint8 -> uint8; 0x09 int8, 0x0B int16,
--                                  0x0C int32 -> int32; 0x0D float32; 0x0E float64.
--   dnn.io.write_idx(path, tensor) plain IDX from a uint8, int32, float32 or float64
--                                  tensor; atomic (temp file beside it + rename).
--
--   dnn.io.read_csv(path, {header=true, columns=, dtype="float32", delimiter=",", na=})
--       -> tensor (rows, columns), names (nil when header=false)
--       columns: names (with a header) or 1-based numbers, in the order wanted;
--       columns not chosen are never parsed, so they may hold text.  A bad cell
--       or a ragged row is an error naming file:line and the column.  Empty
--       cells are errors unless na= gives the number to put there.
--   dnn.io.read_png(path, {channels=0, color_mode=, dtype="uint8"})
--       -> (H, W, C) tensor: C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA as stored
--       (palettes expanded, transparency as alpha); channels= (or color_mode=
--       "grayscale" | "rgb" | "rgba") converts.  16-bit files: uint8 scaled
--       by libpng (round(v * 255 / 65535)); dtype="int32" gives the samples as
--       stored instead (0..65535 for 16-bit files, 0..255 for 8-bit ones).
--   dnn.io.write_png(path, tensor) (H, W) or (H, W, C), C = 1..4: uint8 -> 8-bit
--       PNG; int32/int64 (values 0..65535) -> 16-bit PNG.  Atomic.
--   dnn.io.h5read(path, name)      one HDF5 dataset as a tensor
--   dnn.io.h5write(path, name, tensor, {mode="a"})  one dataset; mode "a" keeps
--       the file's other groups, datasets and attributes (the file is rewritten
--       atomically with them), "w" starts a new file.
--
-- Every function also takes one table: read_csv{path, header=false}, ...
local core = require "dnn.core"
local class = require "dnn.class"

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

local function check_path(fname, path)
  if type(path) ~= "string" then
    error(("%s: the path must be a string, got %s"):format(fname, type(path)), 3)
  end
end

function io_.read_csv(...)
  local a = class.kwargs("read_csv", { "path" }, { "header", "columns", "dtype", "delimiter", "sep", "na" }, ...)
  check_path("read_csv", a.path)
  local header = a.header
  if header == nil then header = true end
  if type(header) ~= "boolean" then
    error(("read_csv: header must be true or false, got %s"):format(tostring(header)), 2)
  end
  local columns = a.columns
  if type(columns) == "string" or math.type(columns) == "integer" then columns = { columns } end
  if columns ~= nil and type(columns) ~= "table" then
    error(("read_csv: columns must be a list of names or 1-based numbers, got %s"):format(type(columns)), 2)
  end
  local delim = a.delimiter or a.sep or ","
  if a.na ~= nil and type(a.na) ~= "number" then
    error(("read_csv: na must be a number, got %s"):format(type(a.na)), 2)
  end
  return core.read_csv(a.path, header, columns, a.dtype or "float32", delim, a.na)
end

local COLOR_MODES = { grayscale = 1, rgb = 3, rgba = 4 }

function io_.read_png(...)
  local a = class.kwargs("read_png", { "path" }, { "channels", "color_mode", "dtype" }, ...)
  check_path("read_png", a.path)
  local ch = a.channels or 0
  if a.color_mode ~= nil then
    ch = COLOR_MODES[a.color_mode]
    if not ch then
      error(('read_png: color_mode must be "grayscale", "rgb" or "rgba", got %s'):format(tostring(a.color_mode)), 2)
    end
  end
  if math.type(ch) ~= "integer" or ch < 0 or ch > 4 then
    error(("read_png: channels must be 0 (as stored), 1, 2, 3 or 4, got %s"):format(tostring(ch)), 2)
  end
  return core.read_png(a.path, ch, a.dtype or "uint8")
end

function io_.write_png(path, tensor)
  path, tensor = args(path, tensor)
  check_path("write_png", path)
  core.write_png(path, tensor)
end

-- ---- HDF5 datasets ----

local function h5name(fname, name)
  if type(name) ~= "string" or name == "" then
    error(("%s: the dataset name must be a non-empty string, got %s"):format(fname, tostring(name)), 3)
  end
  return (name:sub(1, 1) == "/") and name or ("/" .. name)
end

-- The datasets below a group, for messages ("a, g/b").
local function list_datasets(f, group, out)
  out = out or {}
  for _, m in ipairs(f:members(group)) do
    local p = (group == "/" and "" or group) .. "/" .. m
    local kind = f:kind(p)
    if kind == "dataset" then out[#out + 1] = p:sub(2)
    elseif kind == "group" then list_datasets(f, p, out) end
  end
  return out
end

function io_.h5read(...)
  local a = class.kwargs("h5read", { "path", "name" }, nil, ...)
  check_path("h5read", a.path)
  local name = h5name("h5read", a.name)
  local f <close> = core.h5.open(a.path, "h5read")
  local kind = f:kind(name)
  if kind ~= "dataset" then
    local have = list_datasets(f, "/")
    error(("h5read: %s: %s is %s (datasets in the file: %s)"):format(a.path, name,
      kind and ("a " .. kind .. ", not a dataset") or "not there",
      #have > 0 and table.concat(have, ", ") or "none"), 2)
  end
  return f:read_tensor(name)
end

-- Copies what is at path (group or dataset, with attributes) from src to dst,
-- skipping `skip` (the dataset being replaced).
local function copy_tree(src, dst, path, skip, fpath)
  for _, attr in ipairs(src:attrs(path)) do
    dst:set_attr(path, attr, src:get_attr(path, attr))
  end
  for _, m in ipairs(src:members(path)) do
    local p = (path == "/" and "" or path) .. "/" .. m
    if p ~= skip then
      local kind = src:kind(p)
      if kind == "group" then
        dst:create_group(p)
        copy_tree(src, dst, p, skip, fpath)
      elseif kind == "dataset" then
        local ok, t = pcall(src.read_tensor, src, p)
        if not ok then ok, t = pcall(src.read_scalar, src, p) end
        if not ok then
          error(("h5write: %s: cannot keep dataset %s when rewriting the file (%s); use mode=\"w\" to start a new file")
            :format(fpath, p, tostring(t)), 0)
        end
        if core.is_tensor(t) then dst:write_tensor(p, t) else dst:write_scalar(p, t) end
        for _, attr in ipairs(src:attrs(p)) do dst:set_attr(p, attr, src:get_attr(p, attr)) end
      else
        error(("h5write: %s: cannot keep %s (a %s) when rewriting the file; use mode=\"w\""):format(
          fpath, p, tostring(kind)), 0)
      end
    end
  end
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function io_.h5write(...)
  local a = class.kwargs("h5write", { "path", "name", "tensor" }, { "mode" }, ...)
  check_path("h5write", a.path)
  local name = h5name("h5write", a.name)
  if not core.is_tensor(a.tensor) then
    error(("h5write: the data must be a tensor, got %s"):format(type(a.tensor)), 2)
  end
  local mode = a.mode or "a"
  if mode ~= "a" and mode ~= "w" then
    error(('h5write: mode must be "a" (keep the rest of the file) or "w" (new file), got %s'):format(tostring(mode)), 2)
  end
  local out = core.h5.create(a.path, "h5write")
  local ok, err = pcall(function()
    if mode == "a" and exists(a.path) then
      local src <close> = core.h5.open(a.path, "h5write")
      local kind = src:kind(name)
      if kind ~= nil and kind ~= "dataset" then
        error(("h5write: %s: %s is a %s, not a dataset"):format(a.path, name, kind), 0)
      end
      copy_tree(src, out, "/", name, a.path)
    end
    -- the groups above the dataset
    local prefix = ""
    for part in name:gmatch("[^/]+") do
      local p = prefix .. "/" .. part
      if p == name then break end
      if out:kind(p) == nil then out:create_group(p) end
      prefix = p
    end
    out:write_tensor(name, a.tensor)
    out:commit()
  end)
  if not ok then
    out:abort()
    error(err, 2)
  end
end

return io_
