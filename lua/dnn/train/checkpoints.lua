-- train_model's checkpoints: one HDF5 file per checkpoint (dnn.save's
-- format, written by dnn.core.h5.create's atomic writer: a temporary file
-- beside the target, fsync, rename), the newest two kept:
--
--   <checkpoints_path>/checkpoint.h5        the newest
--   <checkpoints_path>/checkpoint.prev.h5   the one before
--   <checkpoints_path>/log_files            the log files of this run (logger.lua)
--
-- Saving first renames checkpoint.h5 to checkpoint.prev.h5, then writes the
-- new checkpoint.h5; a run killed at any moment leaves at least one
-- complete checkpoint.  Loading takes the newest that reads back whole and
-- says so when it had to fall back.  h5py reads the files as they are
-- (groups and datasets; see lua/dnn/serialize.lua).
local dnn = require "dnn"
local class = require "dnn.class"

local Checkpoints = class.Object:extend("Checkpoints")

local FORMAT, VERSION = "dnnlua.train_checkpoint", 1
Checkpoints.FORMAT, Checkpoints.VERSION = FORMAT, VERSION

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

function Checkpoints:init(dir, warn)
  if type(dir) ~= "string" or dir == "" then
    error(("train_model: checkpoints_path must be a directory path, got %s"):format(class.name(dir)), 3)
  end
  self.dir = dir
  self.latest = dir .. "/checkpoint.h5"
  self.prev = dir .. "/checkpoint.prev.h5"
  self.warn = warn or function() end
  self.latest_ok = false -- checkpoint.h5 is known complete (may be rotated)
end

-- Temporary files of writers that were killed (the writer names them
-- <target>.tmp-<pid>-<n>).
function Checkpoints:remove_stale_temps()
  local names = dnn.core.tfevents.listdir(self.dir)
  for _, name in ipairs(names or {}) do
    if name:match("^checkpoint%.h5%.tmp%-") or name:match("^checkpoint%.prev%.h5%.tmp%-") then
      os.remove(self.dir .. "/" .. name)
    end
  end
end

local function check_content(st)
  if type(st) ~= "table" or st.format ~= FORMAT then
    return "not a train_model checkpoint"
  end
  if math.type(st.version) ~= "integer" or st.version > VERSION then
    return ("written in format version %s by a newer dnnlua"):format(tostring(st.version))
  end
  for _, k in ipairs({ "epoch", "iteration", "total_steps" }) do
    if math.type(st[k]) ~= "integer" then return "field " .. k .. " is missing" end
  end
  if type(st.model) ~= "table" or not dnn.is_tensor(st.rng) then return "the model or random state is missing" end
  return nil
end

local function read(path)
  local ok, st = pcall(dnn.load, path)
  if not ok then return nil, tostring(st) end
  local bad = check_content(st)
  if bad then return nil, path .. ": " .. bad end
  return st
end

-- The newest complete checkpoint and its path, or nil when there is none.
-- Raises when checkpoints exist but none reads back.
function Checkpoints:load()
  self:remove_stale_temps()
  local errors = {}
  local has_latest = exists(self.latest)
  if has_latest then
    local st, err = read(self.latest)
    if st then
      self.latest_ok = true
      return st, self.latest
    end
    errors[#errors + 1] = err
  end
  if exists(self.prev) then
    local st, err = read(self.prev)
    if st then
      if has_latest then
        self.warn(("train_model: the newest checkpoint %s cannot be read (%s); resuming from the previous "
          .. "one, %s (epoch %d, iteration %d)"):format(self.latest, errors[1], self.prev, st.epoch + 1, st.iteration))
      end
      self.latest_ok = false
      return st, self.prev
    end
    errors[#errors + 1] = err
  end
  if #errors > 0 then
    error(("train_model: no checkpoint in %s can be read (%s); remove the directory to start over")
      :format(self.dir, table.concat(errors, "; ")), 0)
  end
  return nil
end

-- Writes st (train_model's state table) as the newest checkpoint.
function Checkpoints:save(st)
  st.format, st.version = FORMAT, VERSION
  if not self.made_dir then
    os.execute("mkdir -p " .. quote(self.dir))
    self.made_dir = true
  end
  if self.latest_ok and exists(self.latest) then
    local ok, err = os.rename(self.latest, self.prev)
    if not ok then error("train_model: cannot rotate the checkpoints: " .. tostring(err), 0) end
  end
  dnn.save(self.latest, st)
  self.latest_ok = true
end

return Checkpoints
