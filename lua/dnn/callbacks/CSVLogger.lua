-- CSVLogger (Keras): one CSV row per epoch.
--
--   dnn.callbacks.CSVLogger("training.log", {separator=",", append=false})
--
-- Keras's format: columns epoch (0-based, as Keras writes it) then the first
-- epoch's logs names sorted (when none starts with val_, the val_ names are
-- added too, for a validation that has not run yet); NA for a missing value;
-- numbers as Python writes them (0.4963124394416809); fields holding the
-- separator, a quote or a line break are quoted as Python's csv does.  The
-- file is opened at train begin (truncated, or appended to with append=true,
-- the header then written only if the file was empty or missing), flushed
-- after each epoch and closed at train end.
--
-- Unlike Keras, lines end in "\n" (Python's csv module writes "\r\n").
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"
local Progbar = require "dnn.utils.progbar"

local CSVLogger = Callback:extend("CSVLogger")

function CSVLogger:init(...)
  local fname = "CSVLogger"
  local a = class.kwargs(fname, { "filename", "separator", "append" }, {}, ...)
  if type(a.filename) ~= "string" or a.filename == "" then
    error(("%s: filename must be a non-empty string, got %s"):format(fname, Progbar.describe(a.filename)), 0)
  end
  self.filename = a.filename
  self.sep = a.separator == nil and "," or a.separator
  if type(self.sep) ~= "string" or #self.sep ~= 1 or self.sep == '"' or self.sep:find("[\r\n]") then
    error(("%s: separator must be one character other than a quote or a line break, got %s")
      :format(fname, Progbar.describe(self.sep)), 0)
  end
  self.append = a.append or false
  if type(self.append) ~= "boolean" then
    error(("%s: append must be true or false, got %s"):format(fname, Progbar.describe(a.append)), 0)
  end
  self.keys = nil
  self.append_header = true
end

function CSVLogger:on_train_begin()
  local mode = "w"
  if self.append then
    local f = io.open(self.filename, "r")
    local first = f and f:read("L")
    if f then f:close() end
    self.append_header = first == nil or first == ""
    mode = "a"
  end
  local f, err = io.open(self.filename, mode)
  if not f then
    error(("CSVLogger: cannot open '%s' for writing: %s"):format(self.filename, err), 0)
  end
  self.csv_file = f
  self._header_done = false
end

-- A field as Python's csv writer (QUOTE_MINIMAL) writes it.
function CSVLogger:_field(s)
  if s:find(self.sep, 1, true) or s:find('"', 1, true) or s:find("[\r\n]") then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

local function value_text(v)
  if type(v) == "number" then return Progbar.repr(v) end
  if type(v) == "table" then -- a list, as Keras writes iterables
    local parts = {}
    for i, x in ipairs(v) do parts[i] = type(x) == "number" and Progbar.repr(x) or tostring(x) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  return tostring(v)
end

function CSVLogger:_row(fields)
  local out = {}
  for i, s in ipairs(fields) do out[i] = self:_field(s) end
  self.csv_file:write(table.concat(out, self.sep), "\n")
end

function CSVLogger:on_epoch_end(epoch, logs)
  if self.csv_file == nil then
    error("CSVLogger: on_epoch_end before on_train_begin (the file is not open)", 0)
  end
  logs = logs or {}
  if self.keys == nil then
    local keys = {}
    for k in pairs(logs) do
      if type(k) == "string" then keys[#keys + 1] = k end
    end
    table.sort(keys)
    local has_val = false
    for _, k in ipairs(keys) do
      if k:sub(1, 4) == "val_" then has_val = true end
    end
    if not has_val then
      for i = 1, #keys do keys[#keys + 1] = "val_" .. keys[i] end
    end
    self.keys = keys
  end
  if not self._header_done then
    self._header_done = true
    if self.append_header then
      local header = { "epoch" }
      for _, k in ipairs(self.keys) do header[#header + 1] = k end
      self:_row(header)
    end
  end
  local row = { value_text(epoch) }
  for _, k in ipairs(self.keys) do
    local v = logs[k]
    row[#row + 1] = v == nil and "NA" or value_text(v)
  end
  self:_row(row)
  self.csv_file:flush()
end

function CSVLogger:on_train_end()
  if self.csv_file then
    self.csv_file:close()
    self.csv_file = nil
  end
end

return CSVLogger
