-- dnn.json: JSON for model configs (Keras's model_config, to_json files).
--
--   dnn.json.encode(value[, {indent=2, sort_keys=true}]) -> string
--   dnn.json.decode(string) -> value
--   dnn.json.null            the JSON null (cjson.null, so tables from cjson mix in)
--   dnn.json.array(t)        marks t as a JSON array (needed only for empty ones)
--   dnn.json.is_array(t)
--
-- Why not cjson alone: Debian's lua-cjson 2.1.0 decodes every number as a
-- float (64 -> 64.0, so `units` stops being an integer and integers past 2^53
-- lose digits) and decodes [] and {} to the same empty table, so a Keras
-- config would not survive a round trip.  This module parses in Lua: numbers
-- without a fraction or exponent become integers, empty arrays come back
-- marked, and errors give the line, column and character of the fault.
-- Encoding writes keys sorted (files are reproducible; Python's
-- json.dumps(sort_keys=True) order, bytes = code points for UTF-8) with
-- Python's separators ", " and ": ", and floats as Python's repr writes them
-- (0.001, 1e-05, 1.0), so the text reads like Keras's own.
local dnn = require "dnn"

local M = {}

local ok_cjson, cjson = pcall(require, "cjson")
M.null = ok_cjson and cjson.null or setmetatable({}, { __tostring = function() return "null" end, __name = "json.null" })

local array_mt = { __name = "json.array" }
M.array_mt = array_mt

function M.array(t)
  t = t or {}
  return setmetatable(t, array_mt)
end

function M.is_array(t)
  return type(t) == "table" and getmetatable(t) == array_mt
end

local MAX_DEPTH = 1000

-- ---------------------------------------------------------------- encode --

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

-- "$.layers[2].config" (JSONPath), shortened in the middle when deep.
local function path_str(path)
  if #path > 16 then
    return "$" .. table.concat(path, "", 1, 8) .. "..." .. table.concat(path, "", #path - 5, #path)
  end
  return "$" .. table.concat(path)
end

-- Strings as Python's json.dumps writes them (ensure_ascii): printable
-- ASCII as is, \n \t ... by name, every other character as \uXXXX (lower
-- case hex; a surrogate pair past U+FFFF).  Lone surrogates (which a \ud800
-- escape decodes to) come back out as they went in.  A string that is not
-- UTF-8 has no JSON form.
local function encode_string(s, path)
  if not s:find("[^\32-\126]") then
    if not s:find('["\\]') then return '"' .. s .. '"' end
    return '"' .. s:gsub('["\\]', escapes) .. '"'
  end
  local out, n = {}, 0
  local ok, err = pcall(function()
    for _, cp in utf8.codes(s, true) do
      local piece
      if cp >= 32 and cp <= 126 then
        piece = escapes[string.char(cp)] or string.char(cp)
      elseif cp < 128 then
        piece = escapes[string.char(cp)] or ("\\u%04x"):format(cp)
      elseif cp < 0x10000 then
        piece = ("\\u%04x"):format(cp)
      elseif cp <= 0x10FFFF then
        local v = cp - 0x10000
        piece = ("\\u%04x\\u%04x"):format(0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
      else
        error("code point past U+10FFFF", 0)
      end
      n = n + 1
      out[n] = piece
    end
  end)
  if not ok then
    error(("json.encode: the string at %s is not valid UTF-8 (%s), so it has no JSON form")
      :format(path_str(path or {}), tostring(err):gsub("^.-: ", "")), 0)
  end
  return '"' .. table.concat(out) .. '"'
end

-- A float as Python's repr writes it: the shortest digits that read back to
-- the same double, in fixed notation for exponents -4..15, else scientific.
local function encode_float(x)
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  if x == 0 then return (1 / x < 0) and "-0.0" or "0.0" end
  local s
  for p = 0, 16 do
    s = ("%." .. p .. "e"):format(x)
    if tonumber(s) == x then break end
  end
  local sign, d1, rest, e = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (d1 .. rest):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local exp = tonumber(e)
  if exp < -4 or exp >= 16 then
    local m = digits:sub(1, 1) .. (#digits > 1 and ("." .. digits:sub(2)) or "")
    return ("%s%se%s%02d"):format(sign, m, exp < 0 and "-" or "+", math.abs(exp))
  end
  local int, frac
  if exp >= 0 then
    if #digits <= exp + 1 then
      int, frac = digits .. ("0"):rep(exp + 1 - #digits), "0"
    else
      int, frac = digits:sub(1, exp + 1), digits:sub(exp + 2)
    end
  else
    int, frac = "0", ("0"):rep(-exp - 1) .. digits
  end
  return sign .. int .. "." .. frac
end
M.format_float = encode_float

local encode_value

-- Array or object?  Marked arrays and tables with keys exactly 1..n are
-- arrays; tables with only string keys are objects; empty unmarked tables are
-- objects ({} for Keras's empty configs and kwargs).
local function classify(t, path)
  if getmetatable(t) == array_mt then return "array", #t end
  local n, strings, others = #t, 0, 0
  for k in pairs(t) do
    if type(k) == "string" then
      strings = strings + 1
    elseif math.type(k) == "integer" and k >= 1 and k <= n then
      others = others + 1
    else
      error(("json.encode: key %s (a %s) at %s cannot be a JSON key; use strings for objects and 1..n for arrays")
        :format(tostring(k), math.type(k) or type(k), path_str(path)), 0)
    end
  end
  if strings > 0 and others > 0 then
    error(("json.encode: the table at %s mixes list items (1..%d) and string keys"):format(path_str(path), n), 0)
  end
  if others > 0 then return "array", n end
  return "object"
end

local function encode_table(t, path, seen, opts, depth)
  if seen[t] then error(("json.encode: the table at %s contains itself (a cycle)"):format(path_str(path)), 0) end
  if depth >= MAX_DEPTH then error(("json.encode: nesting deeper than %d at %s"):format(MAX_DEPTH, path_str(path)), 0) end
  seen[t] = true
  local kind, n = classify(t, path)
  local parts = {}
  local indent = opts.indent
  local nl, pad, inner_pad = "", "", ""
  if indent then
    nl = "\n"
    pad = (" "):rep(indent * depth)
    inner_pad = (" "):rep(indent * (depth + 1))
  end
  local sep = indent and "," or ", "
  if kind == "array" then
    for i = 1, n do
      path[#path + 1] = "[" .. (i - 1) .. "]"
      parts[i] = inner_pad .. encode_value(t[i], path, seen, opts, depth + 1)
      path[#path] = nil
    end
    seen[t] = nil
    if #parts == 0 then return "[]" end
    return "[" .. nl .. table.concat(parts, sep .. nl) .. nl .. pad .. "]"
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  if opts.sort_keys ~= false then table.sort(keys) end
  for i, k in ipairs(keys) do
    path[#path + 1] = "." .. k
    parts[i] = inner_pad .. encode_string(k, path) .. ": " .. encode_value(t[k], path, seen, opts, depth + 1)
    path[#path] = nil
  end
  seen[t] = nil
  if #parts == 0 then return "{}" end
  return "{" .. nl .. table.concat(parts, sep .. nl) .. nl .. pad .. "}"
end

function encode_value(v, path, seen, opts, depth)
  local tv = type(v)
  if v == nil or v == M.null then return "null" end
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "number" then
    if math.type(v) == "integer" then return ("%d"):format(v) end
    return encode_float(v)
  end
  if tv == "string" then return encode_string(v, path) end
  if tv == "table" and not dnn.is_tensor(v) then return encode_table(v, path, seen, opts, depth) end
  local what = dnn.is_tensor(v) and "a tensor" or ("a " .. tv)
  error(("json.encode: %s at %s cannot be written as JSON (numbers, strings, booleans, null, tables only)")
    :format(what, path_str(path)), 0)
end

function M.encode(v, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("json.encode: options must be a table ({indent=, sort_keys=}), got %s"):format(type(opts)), 2)
  end
  opts = opts or {}
  if opts.indent ~= nil and (math.type(opts.indent) ~= "integer" or opts.indent < 0) then
    error(("json.encode: indent must be a non-negative integer, got %s"):format(tostring(opts.indent)), 2)
  end
  local ok, r = pcall(encode_value, v, {}, {}, opts, 0)
  if not ok then error(r, 2) end
  return r
end

-- ---------------------------------------------------------------- decode --

local function where(s, pos)
  local line, col = 1, 1
  local i = 1
  while true do
    local nl = s:find("\n", i, true)
    if not nl or nl >= pos then break end
    line = line + 1
    i = nl + 1
  end
  col = pos - i + 1
  return ("line %d, column %d (character %d)"):format(line, col, pos)
end

local function fail(s, pos, msg)
  error(("json.decode: %s at %s"):format(msg, where(s, pos)), 0)
end

local function describe(s, pos)
  if pos > #s then return "the end of the input" end
  local c = s:sub(pos, pos)
  if c:match("%c") then return ("character \\%d"):format(c:byte()) end
  return ("'%s'"):format(c)
end

local function skip_ws(s, pos)
  return s:find("[^ \t\r\n]", pos) or #s + 1
end

local decode_value

local function utf8_of(cp)
  return utf8.char(cp)
end

local function decode_string(s, pos)
  -- pos is at the opening quote
  local out = {}
  local i = pos + 1
  while true do
    local j = s:find('["\\%c]', i)
    if not j then fail(s, pos, "unterminated string (no closing quote)") end
    local piece = s:sub(i, j - 1)
    if piece:find("[\128-\255]") then
      local ok, bad = utf8.len(piece, 1, -1, true)
      if not ok then fail(s, i + bad - 1, "invalid UTF-8 in a string") end
    end
    out[#out + 1] = piece
    local c = s:sub(j, j)
    if c == '"' then return table.concat(out), j + 1 end
    if c ~= "\\" then fail(s, j, ("control character \\%d inside a string (escape it)"):format(c:byte())) end
    local e = s:sub(j + 1, j + 1)
    local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[e]
    if simple then
      out[#out + 1] = simple
      i = j + 2
    elseif e == "u" then
      local hex = s:match("^%x%x%x%x", j + 2)
      if not hex then fail(s, j, "invalid \\u escape (needs four hex digits)") end
      local cp = tonumber(hex, 16)
      i = j + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = s:match("^\\u(%x%x%x%x)", i)
        local lo_cp = lo and tonumber(lo, 16)
        if lo_cp and lo_cp >= 0xDC00 and lo_cp <= 0xDFFF then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo_cp - 0xDC00)
          i = i + 6
        end
      end
      out[#out + 1] = utf8_of(cp)
    else
      fail(s, j, ("invalid escape \\%s in a string"):format(e == "" and "" or e))
    end
  end
end

local function decode_number(s, pos)
  local i = pos
  if s:sub(i, i) == "-" then i = i + 1 end
  local c = s:sub(i, i)
  if c == "0" then
    i = i + 1
  elseif c:match("^[1-9]$") then
    i = s:find("[^%d]", i) or #s + 1
  else
    fail(s, pos, ("invalid number starting with %s"):format(describe(s, pos)))
  end
  local is_float = false
  if s:sub(i, i) == "." then
    local j = s:find("[^%d]", i + 1) or #s + 1
    if j == i + 1 then fail(s, i, "invalid number: a digit must follow the decimal point") end
    i, is_float = j, true
  end
  c = s:sub(i, i)
  if c == "e" or c == "E" then
    local j = i + 1
    if s:sub(j, j):match("^[-+]$") then j = j + 1 end
    local k = s:find("[^%d]", j) or #s + 1
    if k == j then fail(s, i, "invalid number: digits must follow the exponent") end
    i, is_float = k, true
  end
  local text = s:sub(pos, i - 1)
  local v = tonumber(text)
  if not is_float then
    -- integers stay integers; ones past 64 bits become floats, as in Lua
    local int = math.tointeger(v)
    if int then return int, i end
  end
  -- (not v + 0.0, which turns -0.0 into 0.0)
  if math.type(v) == "integer" then v = v * 1.0 end
  return v, i
end

local literals = { ["true"] = true, ["false"] = false, null = "null", NaN = 0 / 0, Infinity = math.huge }

local function decode_array(s, pos, depth)
  local t = {}
  local n = 0
  pos = skip_ws(s, pos + 1)
  if s:sub(pos, pos) == "]" then return M.array(t), pos + 1 end
  while true do
    local v
    v, pos = decode_value(s, pos, depth + 1)
    n = n + 1
    t[n] = v
    pos = skip_ws(s, pos)
    local c = s:sub(pos, pos)
    if c == "]" then return t, pos + 1 end
    if c ~= "," then fail(s, pos, ("expected ',' or ']' after an array item, found %s"):format(describe(s, pos))) end
    pos = skip_ws(s, pos + 1)
    if s:sub(pos, pos) == "]" then fail(s, pos, "trailing comma before ']'") end
  end
end

local function decode_object(s, pos, depth)
  local t = {}
  pos = skip_ws(s, pos + 1)
  if s:sub(pos, pos) == "}" then return t, pos + 1 end
  while true do
    if s:sub(pos, pos) ~= '"' then
      fail(s, pos, ("expected a string key in an object, found %s"):format(describe(s, pos)))
    end
    local k
    k, pos = decode_string(s, pos)
    pos = skip_ws(s, pos)
    if s:sub(pos, pos) ~= ":" then
      fail(s, pos, ("expected ':' after the key \"%s\", found %s"):format(k, describe(s, pos)))
    end
    local v
    v, pos = decode_value(s, skip_ws(s, pos + 1), depth + 1)
    t[k] = v
    pos = skip_ws(s, pos)
    local c = s:sub(pos, pos)
    if c == "}" then return t, pos + 1 end
    if c ~= "," then fail(s, pos, ("expected ',' or '}' after an object member, found %s"):format(describe(s, pos))) end
    pos = skip_ws(s, pos + 1)
    if s:sub(pos, pos) == "}" then fail(s, pos, "trailing comma before '}'") end
  end
end

function decode_value(s, pos, depth)
  pos = skip_ws(s, pos)
  local c = s:sub(pos, pos)
  if depth >= MAX_DEPTH and (c == "[" or c == "{") then fail(s, pos, ("nesting deeper than %d"):format(MAX_DEPTH)) end
  if c == "{" then return decode_object(s, pos, depth) end
  if c == "[" then return decode_array(s, pos, depth) end
  if c == '"' then return decode_string(s, pos) end
  if c == "-" or c:match("%d") then
    if s:sub(pos, pos + 8) == "-Infinity" then return -math.huge, pos + 9 end
    return decode_number(s, pos)
  end
  local word = s:match("^%a+", pos)
  if word and literals[word] ~= nil then
    local v = literals[word]
    if v == "null" then v = M.null end
    return v, pos + #word
  end
  if pos > #s then fail(s, pos, "unexpected end of input (expected a value)") end
  fail(s, pos, ("unexpected %s (expected a value)"):format(word and ("'" .. word .. "'") or describe(s, pos)))
end

function M.decode(s)
  if type(s) ~= "string" then
    error(("json.decode: expected a string, got %s"):format(dnn.is_tensor(s) and "a tensor" or type(s)), 2)
  end
  local ok, v, pos = pcall(decode_value, s, 1, 0)
  if not ok then error(v, 2) end
  pos = skip_ws(s, pos)
  if pos <= #s then
    local ok2, err = pcall(fail, s, pos, ("unexpected %s after the JSON value"):format(describe(s, pos)))
    if not ok2 then error(err, 2) end
  end
  return v
end

dnn.json = M
return M
