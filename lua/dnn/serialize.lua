-- dnn.save / dnn.load: Lua values in HDF5 files.
--
--   dnn.save(path, value)    also dnn.save{path, value} or dnn.save{path=, value=}
--   local v = dnn.load(path) also dnn.load{path}
--
-- Values: tensors of every dtype (any shape, 0-d and empty included; CUDA
-- tensors are copied to the CPU), numbers (integer and float stay apart),
-- strings (any bytes), booleans, and tables of these with string and/or
-- integer keys (arrays, sparse arrays, records, mixed), nested up to 64
-- levels.  A table or tensor reached twice is stored once and comes back as
-- one object (shared, as it was); a cycle is an error, and so is anything
-- else (functions, coroutines, userdata that are not tensors, float or
-- boolean keys), named by its key path: `value.layers[3].fn`.  Metatables are
-- not saved, and tensors come back without gradients.
--
-- Writing is atomic: the file is built beside `path` under a temporary name,
-- flushed to disk and renamed over `path` only when complete; on any error
-- the temporary file is removed and an existing file at `path` is untouched.
-- Loading only reads data: nothing in a file is ever run as code.
--
-- File layout (HDF5 1.8 format; read it with h5py as it is):
--
--   /                    root group; attributes
--                          dnnlua_format  = "dnnlua.value"  (fixed-length string)
--                          dnnlua_version = 1               (int64)
--                          dnnlua_type    = "table": the root group is the saved table
--                                           "box":   the saved value is the member "value"
--   a table              a group, dnnlua_type = "table"; its members are its
--                        entries, in creation order (integer keys ascending,
--                        then string keys sorted); when it has integer keys,
--                        dnnlua_int_keys (int64 array) lists them
--   a tensor             a dataset of the native type (<f4 <f8 <i4 <i8 |u1), no
--                        attribute; bool tensors are |u1 with dnnlua_dtype = "bool";
--                        0-d tensors have a scalar dataspace
--   an integer / float   a scalar dataset <i8 / <f8, dnnlua_type = "integer" / "float"
--   a boolean            a scalar dataset |u1 (0 or 1), dnnlua_type = "boolean"
--   a string             a scalar fixed-length string dataset of exactly its
--                        bytes (h5py reads bytes; trailing NULs are dropped by
--                        numpy but kept by dnn.load), dnnlua_type = "string";
--                        "" has a null dataspace (h5py: Empty)
--   shared objects       hard links: the second reference names the same object
--
--   Member names: an integer key k is named tostring(k) ("1", "-5"); a string
--   key is its own name when it is valid UTF-8, not empty, not ".", holds no
--   "/" or NUL, does not start with "%" and does not clash with an integer
--   key's name; otherwise it is "%" followed by the key with "%", "/", NUL
--   (and, when not UTF-8, every byte >= 0x80) written as %XX: "a/b" -> "%a%2Fb",
--   "" -> "%", "1" next to the key 1 -> "%1".
--
--   h5py:  f = h5py.File(path); f["weights"][()] (numpy array);
--          f["lr"][()] (numpy scalar); f["name"][()] (bytes);
--          groups list their members in creation order (f["/"].keys() for
--          the root: h5py's File.keys() sorts by name).
local dnn = require "dnn"
local core = require "dnn.core"

local M = {}

local FORMAT = "dnnlua.value"
local VERSION = 1
M.FORMAT, M.VERSION = FORMAT, VERSION
M.MAX_DEPTH = 64

local is_tensor = core.is_tensor
local mtype = math.type

-- ---------- key paths and member names ----------

local function is_ident(s)
  return s:match("^[%a_][%w_]*$") ~= nil
end

-- value.a[3]["odd key"]: how a user would index the saved value.
local function child_path(path, key)
  if mtype(key) == "integer" then return path .. "[" .. key .. "]" end
  if is_ident(key) then return path .. "." .. key end
  return path .. "[" .. string.format("%q", key):gsub("\\\n", "\\n") .. "]"
end

local function plain_name(s)
  return s ~= "" and s ~= "." and s:sub(1, 1) ~= "%" and not s:find("[/%z]")
    and utf8.len(s) ~= nil
end

local function escape(s)
  local pattern = utf8.len(s) and "[%%/%z]" or "[%%/%z\128-\255]"
  return "%" .. s:gsub(pattern, function(c) return string.format("%%%02X", c:byte()) end)
end

-- The member name of key k in table t (see the layout above).
local function member_name(t, k)
  if mtype(k) == "integer" then return tostring(k) end
  if plain_name(k) then
    local n = math.tointeger(tonumber(k))
    if not (n and tostring(n) == k and rawget(t, n) ~= nil) then return k end
  end
  return escape(k)
end

-- ---------- saving ----------

local function type_name(v)
  local ty = type(v)
  if ty == "userdata" then return "userdata (not a tensor)" end
  if ty == "thread" then return "coroutine" end
  return ty
end

local SCALAR_TYPE = { number = true, string = true, boolean = true }

-- Keys of t: integers ascending, then strings sorted; others are errors.
local function sorted_keys(t, path)
  local ints, strs = {}, {}
  for k in next, t do
    local kt = mtype(k)
    if kt == "integer" then
      ints[#ints + 1] = k
    elseif type(k) == "string" then
      strs[#strs + 1] = k
    else
      local shown = kt == "float" and string.format("%.17g (a float)", k)
        or (type(k) == "boolean" and tostring(k)) or ("a " .. type_name(k))
      error(string.format("%s has the key %s: keys must be strings or integers", path, shown), 0)
    end
  end
  table.sort(ints)
  table.sort(strs)
  return ints, strs
end

local Saver = {}
Saver.__index = Saver

function Saver:value(hpath, v, path, depth)
  if type(v) == "table" then return self:table(hpath, v, path, depth) end
  local f = self.f
  if is_tensor(v) then
    local first = self.written[v]
    if first then return f:link(first, hpath) end
    self.written[v] = hpath
    local t = v
    if t.device ~= "cpu" then t = t:to("cpu") end
    return f:write_tensor(hpath, t)
  end
  local ty = type(v)
  if not SCALAR_TYPE[ty] then
    error(string.format("%s is a %s: only tensors, numbers, strings, booleans and tables "
      .. "can be saved", path, type_name(v)), 0)
  end
  f:write_scalar(hpath, v)
  local kind = ty == "number" and mtype(v) or ty
  f:set_attr(hpath, "dnnlua_type", kind)
end

function Saver:table(hpath, t, path, depth)
  local f = self.f
  if self.visiting[t] then
    error(string.format("%s refers back to %s, which contains it (a cycle): "
      .. "cyclic tables cannot be saved", path, self.visiting[t]), 0)
  end
  local first = self.written[t]
  if first then return f:link(first, hpath) end
  if depth > M.MAX_DEPTH then
    error(string.format("%s: tables nested deeper than %d levels cannot be saved",
      path, M.MAX_DEPTH), 0)
  end
  local ints, strs = sorted_keys(t, path)
  if hpath ~= "/" then f:create_group(hpath) end
  f:set_attr(hpath, "dnnlua_type", "table")
  if #ints > 0 then f:set_attr(hpath, "dnnlua_int_keys", ints, "int64") end
  self.visiting[t] = path
  self.written[t] = hpath
  local prefix = hpath == "/" and "/" or hpath .. "/"
  for _, keys in ipairs { ints, strs } do
    for _, k in ipairs(keys) do
      self:value(prefix .. member_name(t, k), rawget(t, k), child_path(path, k), depth + 1)
    end
  end
  self.visiting[t] = nil
end

local function write_file(f, value)
  f:set_attr("/", "dnnlua_format", FORMAT)
  f:set_attr("/", "dnnlua_version", VERSION)
  local s = setmetatable({ f = f, visiting = {}, written = {} }, Saver)
  if type(value) == "table" and not is_tensor(value) then
    s:table("/", value, "value", 1)
  else
    f:set_attr("/", "dnnlua_type", "box")
    s:value("/value", value, "value", 1)
  end
end

-- Unpacks the f{a, b} spelling.
local function args(a, b, names)
  if type(a) == "table" and not is_tensor(a) then
    return a[1] or a[names[1]], a[2] or a[names[2]]
  end
  return a, b
end

function M.save(path, value)
  path, value = args(path, value, { "path", "value" })
  if type(path) ~= "string" then
    error("dnn.save: the path must be a string, got " .. type(path), 2)
  end
  if value == nil then error("dnn.save: nothing to save (the value is nil)", 2) end
  local f = core.h5.create(path, "dnn.save")
  local ok, err = pcall(write_file, f, value)
  if not ok then
    f:abort()
    if type(err) == "string" and not err:find("^dnn%.save: ") then
      err = "dnn.save: " .. path .. ": " .. err
    end
    error(err, 0)
  end
  f:commit()
end

-- ---------- loading ----------

local function unescape(name)
  local body = name:sub(2)
  if body:gsub("%%%x%x", ""):find("%%") then return nil end
  return (body:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local Loader = {}
Loader.__index = Loader

function Loader:fail(hpath, fmt, ...)
  error(string.format("dnn.load: %s: %s: " .. fmt, self.path, hpath, ...), 0)
end

-- The dnnlua_type attribute of an object (nil when absent), checked to be a string.
function Loader:type_of(hpath)
  local ty = self.f:get_attr(hpath, "dnnlua_type")
  if ty ~= nil and type(ty) ~= "string" then
    self:fail(hpath, "attribute dnnlua_type should be a string, got a %s", type(ty))
  end
  return ty
end

local SCALAR_CHECK = {
  integer = function(v) return mtype(v) == "integer", v end,
  float = function(v) return mtype(v) == "float", v end,
  string = function(v) return type(v) == "string", v end,
  boolean = function(v) return v == 0 or v == 1, v == 1 end,
}

function Loader:object(hpath, depth)
  local f = self.f
  local kind, key = f:kind(hpath)
  if kind == "other" then
    self:fail(hpath, "cannot read this object (damaged, or of a kind HDF5 does not know)")
  elseif kind ~= "group" and kind ~= "dataset" then
    self:fail(hpath, "unexpected %s (a dnnlua file holds only groups and datasets)",
      kind or "missing object")
  end
  local done = self.loaded[key]
  if done ~= nil then return done end
  if self.visiting[key] then
    self:fail(hpath, "the group contains itself (a cycle of hard links)")
  end
  local ty = self:type_of(hpath)
  if kind == "group" then
    if ty ~= nil and ty ~= "table" then
      self:fail(hpath, "a group with dnnlua_type '%s' (groups hold tables)", ty)
    end
    if depth > M.MAX_DEPTH then
      self:fail(hpath, "tables nested deeper than %d levels", M.MAX_DEPTH)
    end
    self.visiting[key] = true
    local t = self:group(hpath, depth)
    self.visiting[key] = nil
    self.loaded[key] = t
    return t
  end
  local v
  if ty == nil then
    v = f:read_tensor(hpath)
  else
    local check = SCALAR_CHECK[ty]
    if not check then self:fail(hpath, "unknown dnnlua_type '%s'", ty) end
    local stored = f:read_scalar(hpath)
    local ok
    ok, v = check(stored)
    if not ok then
      self:fail(hpath, "dnnlua_type '%s' does not match the stored %s %s", ty,
        mtype(stored) or type(stored), type(stored) == "string" and "value" or tostring(stored))
    end
  end
  self.loaded[key] = v
  return v
end

function Loader:group(hpath, depth)
  local f = self.f
  local ints = {}
  local listed = f:get_attr(hpath, "dnnlua_int_keys")
  if listed ~= nil then
    if type(listed) ~= "table" then listed = { listed } end
    for _, k in ipairs(listed) do
      if mtype(k) ~= "integer" then
        self:fail(hpath, "attribute dnnlua_int_keys should hold integers")
      end
      ints[tostring(k)] = k
    end
  end
  local t = {}
  local prefix = hpath == "/" and "/" or hpath .. "/"
  local found = 0
  for _, name in ipairs(f:members(hpath)) do
    local key = ints[name]
    if key ~= nil then
      found = found + 1
    elseif name:sub(1, 1) == "%" then
      key = unescape(name)
      if not key then self:fail(prefix .. name, "malformed escaped member name") end
    else
      key = name
    end
    t[key] = self:object(prefix .. name, depth + 1)
  end
  if listed ~= nil and found ~= #listed then
    self:fail(hpath, "attribute dnnlua_int_keys lists %d keys but %d members have those names",
      #listed, found)
  end
  return t
end

local function read_file(f, path)
  local l = setmetatable({ f = f, path = path, loaded = {}, visiting = {} }, Loader)
  local format = f:get_attr("/", "dnnlua_format")
  if format == nil then
    l:fail("/", "not a dnnlua value file (no dnnlua_format attribute on the root group)")
  end
  if format ~= FORMAT then
    l:fail("/", "not a dnnlua value file (dnnlua_format is %s, expected %q)",
      type(format) == "string" and string.format("%q", format) or "a " .. type(format), FORMAT)
  end
  local version = f:get_attr("/", "dnnlua_version")
  if mtype(version) ~= "integer" or version < 1 then
    l:fail("/", "attribute dnnlua_version should be a positive integer, got %s",
      type(version) == "string" and string.format("%q", version) or tostring(version))
  end
  if version > VERSION then
    l:fail("/", "written in format version %d by a newer dnnlua (this one reads up to %d)",
      version, VERSION)
  end
  local root = l:type_of("/")
  if root == "table" then
    local kind, key = f:kind("/")
    if kind ~= "group" or key == nil then
      l:fail("/", "cannot read the root group (%s; the file is damaged)", kind or "missing")
    end
    l.visiting[key] = true
    return l:group("/", 1)
  elseif root == "box" then
    if f:kind("/value") == nil then l:fail("/", "the boxed value (member 'value') is missing") end
    return l:object("/value", 1)
  end
  l:fail("/", "attribute dnnlua_type should be \"table\" or \"box\", got %s",
    root and string.format("%q", root) or "nothing")
end

function M.load(path)
  path = args(path, nil, { "path" })
  if type(path) ~= "string" then
    error("dnn.load: the path must be a string, got " .. type(path), 2)
  end
  local f <close> = core.h5.open(path, "dnn.load")
  return read_file(f, path)
end

-- ---------- registration ----------

dnn.save, dnn.load = M.save, M.load
dnn.serialize = M

local ok, help = pcall(require, "dnn.help")
if ok and type(help) == "table" and help.add then
  help.add("dnn.save", "dnn.save(path, value)",
    "Saves tensors, numbers, strings, booleans and nested tables of them to an HDF5 file, "
    .. "atomically (temp file + rename); h5py reads it as groups and datasets.",
    "Saving and loading")
  help.add("dnn.load", "dnn.load(path)",
    "Loads what dnn.save wrote: the same tables, tensors (bit-exact), numbers, strings and booleans.",
    "Saving and loading")
  help.add("dnn.h5.create", "dnn.h5.create(path [, op])",
    "Low-level HDF5 writer (atomic: commit renames, abort removes); methods in src/lua/lh5.c.",
    "Saving and loading")
  help.add("dnn.h5.open", "dnn.h5.open(path [, op])",
    "Low-level HDF5 reader: members, kind, info, get_attr, read_tensor, read_scalar.",
    "Saving and loading")
end

return M
