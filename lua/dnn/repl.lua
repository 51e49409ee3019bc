-- dnn.repl: the Lua half of dnnlua's REPL (src/cli/repl.c is the loop).
--   repl.show(...)          prints a line's results: tensors in full, tables
--                           readably (nested, sorted keys, limits, cycles)
--   repl.format(v, opts)    the text show uses for one value
--   repl.complete(word)     Tab completion candidates for "dnn.ze", "t:ad"
--   repl.help_command(line) runs "?name" / "? name"
local dnn = require "dnn"

local repl = {}

local KEYWORDS = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}
local is_keyword = {}
for _, k in ipairs(KEYWORDS) do is_keyword[k] = true end

-- Tensor fields read as t.shape etc. (src/lua/ltensor.c push_property).
local TENSOR_PROPERTIES = { "shape", "dtype", "ndim", "device", "T" }

local DEFAULTS = {
  depth = 4,     -- nested tables shown this deep, then {...}
  items = 40,    -- entries shown per table, then "... (N more)"
  budget = 400,  -- entries shown in all, so a huge structure stays short
  width = 78,    -- a table that fits on one line this wide is shown on one line
}

local function is_tensor(v) return dnn.is_tensor(v) end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ">"
end

-- A string as Lua source, with newlines as \n rather than %q's backslash-newline.
local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

-- Short form of a tensor inside a table: <dnn.Tensor float32 2x3>, with the
-- value when it holds one element (a loss, a count).
local function tensor_brief(t)
  local shape = t:size()
  local dims = {}
  for i = 1, #shape do dims[i] = tostring(shape[i]) end
  local s = "<dnn.Tensor " .. t.dtype .. " " .. (#shape == 0 and "[]" or table.concat(dims, "x"))
  if t.device ~= "cpu" then s = s .. " on " .. t.device end
  if t:numel() == 1 then
    local ok, v = pcall(function() return t:reshape(1)[1] end)
    if ok then s = s .. " = " .. tostring(v) end
  end
  return s .. ">"
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

-- Order: numbers ascending, then strings, then the rest by type and text.
local TYPE_RANK = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  local ra, rb = TYPE_RANK[ta] or 4, TYPE_RANK[tb] or 4
  if ra ~= rb then return ra < rb end
  if ta == "number" or ta == "string" then return a < b end
  if ta ~= tb then return ta < tb end
  return safe_tostring(a) < safe_tostring(b)
end

local function format_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not is_keyword[k] then return k end
  if type(k) == "string" then return "[" .. quote(k) .. "]" end
  return "[" .. safe_tostring(k) .. "]"
end

local function format_scalar(v)
  if type(v) == "string" then return quote(v) end
  if is_tensor(v) then return tensor_brief(v) end
  return safe_tostring(v)
end

local render

-- The entries of table t as {key text or false, value text} in display order.
local function table_items(t, opts, depth, path, state)
  local items, n = {}, 0
  local len = rawlen(t)
  local shown = 0
  local function add(ktext, v)
    if shown >= opts.items or state.budget <= 0 then return false end
    shown, state.budget = shown + 1, state.budget - 1
    items[#items + 1] = { ktext, render(v, opts, depth + 1, path, state) }
    return true
  end
  local keys = {}
  for k in next, t do
    n = n + 1
    if not (math.type(k) == "integer" and k >= 1 and k <= len) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  for i = 1, len do
    if not add(false, rawget(t, i)) then break end
  end
  for _, k in ipairs(keys) do
    if not add(format_key(k), rawget(t, k)) then break end
  end
  return items, n - shown
end

function render(v, opts, depth, path, state)
  if type(v) ~= "table" or has_tostring(v) then
    if type(v) == "table" then return safe_tostring(v) end
    return format_scalar(v)
  end
  if path[v] then return "<cycle: " .. safe_tostring(v) .. ">" end
  if next(v) == nil then return "{}" end
  if depth > opts.depth then return "{...}" end
  path[v] = true
  local items, hidden = table_items(v, opts, depth, path, state)
  path[v] = nil
  local parts = {}
  for i, it in ipairs(items) do
    parts[i] = it[1] and (it[1] .. " = " .. it[2]) or it[2]
  end
  if hidden > 0 then parts[#parts + 1] = "... (" .. hidden .. " more)" end
  local one = "{" .. table.concat(parts, ", ") .. "}"
  if #one + depth * 2 <= opts.width and not one:find("\n", 1, true) then return one end
  local pad = string.rep("  ", depth)
  local lines = { "{" }
  for _, p in ipairs(parts) do lines[#lines + 1] = pad .. "  " .. p .. "," end
  lines[#lines + 1] = pad .. "}"
  return table.concat(lines, "\n")
end

-- The text of one value: tables nested and sorted, tensors in full at the
-- top level, strings as they are (as lua.c prints them).
function repl.format(v, opts)
  local o = {}
  for k, d in pairs(DEFAULTS) do o[k] = (opts and opts[k]) or d end
  if type(v) == "string" then return v end
  if is_tensor(v) then return safe_tostring(v) end
  -- typing `help` alone shows how to use it, not "function: 0x..."
  local help = package.loaded["dnn.help"]
  if help and v == help.help then return help.text() end
  return render(v, o, 0, {}, { budget = o.budget })
end

-- Prints a line's results: tab-separated like lua.c's print, or one per
-- line when any of them takes several lines (tensors, long tables).
function repl.show(...)
  local n = select("#", ...)
  local parts, multi = {}, false
  for i = 1, n do
    parts[i] = repl.format((select(i, ...)))
    if parts[i]:find("\n", 1, true) then multi = true end
  end
  io.write(table.concat(parts, multi and "\n" or "\t"), "\n")
  io.flush()
end

-- ---- completion ----

-- Field lookup without running code: raw fields, then __index tables (class
-- chains); __index functions are not called.
local function lookup(v, name)
  for _ = 1, 20 do
    if type(v) == "table" then
      local r = rawget(v, name)
      if r ~= nil then return r end
    end
    local mt = getmetatable(v)
    local idx = type(mt) == "table" and rawget(mt, "__index")
    if type(idx) ~= "table" then return nil end
    v = idx
  end
  return nil
end

-- Every identifier key of v and of its __index tables: name -> value.
local function fields(v)
  local out = {}
  for _ = 1, 20 do
    if type(v) == "table" then
      for k, x in next, v do
        if type(k) == "string" and out[k] == nil and k:match("^[%a_][%w_]*$") then out[k] = x end
      end
    end
    local mt = getmetatable(v)
    local idx = type(mt) == "table" and rawget(mt, "__index")
    if type(idx) ~= "table" then break end
    v = idx
  end
  return out
end

-- Candidate names after `obj.` or `obj:`.
local function members(obj, sep)
  local out = {}
  if is_tensor(obj) then
    for k in pairs(dnn.core.methods) do out[#out + 1] = k end
    if sep == "." then
      for _, k in ipairs(TENSOR_PROPERTIES) do out[#out + 1] = k end
    end
    return out
  end
  if type(obj) == "string" then obj = string end
  for k, x in pairs(fields(obj)) do
    if sep == "." or type(x) == "function" or (type(x) == "table" and getmetatable(x)) then
      out[#out + 1] = k
    end
  end
  return out
end

-- Tab completion of `word`: globals and keywords, or fields along a chain
-- of names (dnn.io.re -> dnn.io.read_idx, t:ad -> t:add).
function repl.complete(word)
  local found, seen = {}, {}
  local function offer(full)
    if not seen[full] then
      seen[full] = true
      found[#found + 1] = full
    end
  end
  local chain, sep, partial = word:match("^(.-)([%.:])([%w_]*)$")
  if not sep then
    if word ~= "" and not word:match("^[%a_][%w_]*$") then return found end
    for k in pairs(fields(_G)) do
      if k:sub(1, #word) == word then offer(k) end
    end
    for _, k in ipairs(KEYWORDS) do
      if k:sub(1, #word) == word then offer(k) end
    end
  else
    local obj = _G
    for name in (chain .. "."):gmatch("(.-)%.") do
      if not name:match("^[%a_][%w_]*$") then return found end
      obj = lookup(obj, name)
      if obj == nil then return found end
    end
    -- dnn.add_ etc. are method aliases nobody calls as dnn.add_(t): hiding
    -- them lets dnn.ze<Tab> reach dnn.zeros; "dnn.zero_" still completes.
    local hide_inplace = obj == dnn and not partial:match("_$")
    for _, k in ipairs(members(obj, sep)) do
      if k:sub(1, #partial) == partial and not (hide_inplace and k:match("_$")) then
        offer(chain .. sep .. k)
      end
    end
  end
  table.sort(found)
  return found
end

-- "?dnn.zeros", "? zeros", "?" -> help(...)
function repl.help_command(line)
  local name = line:match("^%s*%?%s*(.-)%s*$") or ""
  local help = require "dnn.help"
  if name == "" then return help.help() end
  return help.help(name)
end

return repl
