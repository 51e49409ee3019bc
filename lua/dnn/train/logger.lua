-- train_model's log: scalars to a TensorBoard event file (written in C,
-- src/io/tfevents.c) and the same scalars to a CSV file beside it.
--
--   <log_path>/events.out.tfevents.<seconds>.<host>   read by TensorBoard
--   <log_path>/scalars.csv   wall_time,tag,step,value   (one row per scalar)
--
-- Nothing is created before the first scalar.  state() says how far both
-- files go (checkpoints keep it, after flush); a resumed run cuts both files
-- back to that point and appends, so the log of an interrupted and resumed
-- run holds each step once, as an uninterrupted run's does.
local dnn = require "dnn"
local class = require "dnn.class"
local core = dnn.core

local Logger = class.Object:extend("TrainLogger")

local CSV = "scalars.csv"
local HEADER = "wall_time,tag,step,value\n"

-- marker: a file (in the checkpoints directory) naming the log files this
-- run created, so that a run killed before its first checkpoint continues
-- them when started again instead of leaving a stale copy beside new ones.
function Logger:init(dir, warn, marker)
  if type(dir) ~= "string" or dir == "" then
    error(("train_model: log_path must be a directory path, got %s"):format(class.name(dir)), 3)
  end
  self.dir, self.warn, self.marker = dir, warn or function() end, marker
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The marker's {events=, events_size=, csv=, csv_size=} (the files as
-- created, before any scalar), or nil.
function Logger:_read_marker()
  if not self.marker then return nil end
  local f = io.open(self.marker, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local ev, evn, csv, csvn = text:match("^events ([^\n]+) (%d+)\ncsv ([^\n]+) (%d+)\n$")
  if not ev then return nil end
  return { events = ev, events_size = math.tointeger(tonumber(evn)), csv = csv, csv_size = math.tointeger(tonumber(csvn)) }
end

function Logger:_write_marker(st)
  if not self.marker then return end
  os.execute("mkdir -p " .. quote(self.marker:match("^(.*)/[^/]*$") or "."))
  local tmp = self.marker .. ".tmp"
  local f = io.open(tmp, "wb")
  if not f then return end
  f:write(("events %s %d\ncsv %s %d\n"):format(st.events, st.events_size, st.csv, st.csv_size))
  f:close()
  os.rename(tmp, self.marker)
end

local function csv_field(s)
  if s:find('[,"\n\r]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Cuts the file at path to its first n bytes (rewritten through a
-- temporary file and a rename, as Lua has no truncate).
local function cut_file(path, n)
  local f = io.open(path, "rb")
  if not f then return false, path .. ": missing" end
  local data = f:read(n) or ""
  f:close()
  if #data < n then return false, ("%s holds %d bytes, fewer than the %d expected"):format(path, #data, n) end
  local tmp = path .. ".tmp"
  local g = assert(io.open(tmp, "wb"))
  g:write(data)
  g:close()
  local ok, err = os.rename(tmp, path)
  if not ok then return false, err end
  return true
end

function Logger:_open_new()
  self.events = core.tfevents.create(self.dir)
  local name = self.events:path():match("[^/]+$")
  local csv_path = self.dir .. "/" .. CSV
  local f = io.open(csv_path, "rb")
  local has = f ~= nil
  if f then f:close() end
  if has then
    -- a CSV from another run in this directory: keep it, start our own
    local k = 1
    repeat
      csv_path = ("%s/scalars.%d.csv"):format(self.dir, k)
      f = io.open(csv_path, "rb")
      if f then f:close() end
      k = k + 1
    until not f
  end
  self.csv_path = csv_path
  self.csv = assert(io.open(csv_path, "wb"))
  self.csv:write(HEADER)
  self.events_name = name
end

-- Continues the files a checkpoint recorded; false (and a warning) when
-- they are gone or shorter than recorded.
function Logger:_reopen(st)
  local path = self.dir .. "/" .. st.events
  local ok, w = pcall(core.tfevents.append, path, st.events_size)
  if not ok then
    self.warn(("train_model: cannot continue the event file (%s); starting a new one"):format(tostring(w)))
    return false
  end
  local csv_path = self.dir .. "/" .. st.csv
  local ok2, err = cut_file(csv_path, st.csv_size)
  if not ok2 then
    w:close()
    self.warn(("train_model: cannot continue the CSV log (%s); starting new log files"):format(tostring(err)))
    return false
  end
  self.events, self.events_name = w, st.events
  self.csv_path = csv_path
  self.csv = assert(io.open(csv_path, "ab"))
  return true
end

-- The files to continue when the first scalar comes (a checkpoint's state()).
function Logger:resume_from(st)
  if type(st) == "table" and type(st.events) == "string" and math.type(st.events_size) == "integer"
      and type(st.csv) == "string" and math.type(st.csv_size) == "integer" then
    self.pending_resume = st
  end
end

function Logger:_ensure_open()
  if self.events then return end
  os.execute("mkdir -p " .. quote(self.dir))
  local st = self.pending_resume or self:_read_marker()
  self.pending_resume = nil
  if st and self:_reopen(st) then return end
  self:_open_new()
  self:flush()
  self:_write_marker(self:state())
end

function Logger:scalar(tag, value, step)
  if type(value) ~= "number" then return end
  self:_ensure_open()
  local t = core.tfevents.now()
  self.events:scalar(tag, value, step, t)
  self.csv:write(("%.6f,%s,%d,%.17g\n"):format(t, csv_field(tag), step, value))
end

-- Everything written so far to the kernel (sync: to the disk, the event file).
function Logger:flush(sync)
  if not self.events then return end
  self.events:flush(sync)
  self.csv:flush()
end

-- How far the files go (nil before the first scalar).
function Logger:state()
  if not self.events then return self.pending_resume end
  return { events = self.events_name, events_size = self.events:size(),
           csv = self.csv_path:match("[^/]+$"), csv_size = self.csv:seek("end") }
end

function Logger:close()
  if self.events then
    self.events:close()
    self.csv:close()
    self.events, self.csv = nil, nil
  end
end

return Logger
