-- The contract every fuzz target is held to, shared by the libFuzzer harness
-- (lua_harness.c) and the corpus replay spec (spec/fuzz_replay_spec.lua), so
-- both judge an input the same way.
--
-- A target is scripts/bench/fuzz/<name>.lua returning
--   { suffix = ".h5",                      -- the temp file's extension
--     calls = { { name = "load_model", fn = function(path) ... end }, ... } }
-- Each call is made on the input written to a file, inside pcall.  An input
-- passes when every call either returns or raises a string error that names
-- the file's path, and afterwards no HDF5 object is left open.  Anything else
-- (an error object that is not a string, a message without the path, a
-- leaked HDF5 id) is reported as a problem; a crash, a sanitizer report or a
-- hang ends the process, which the fuzzer records and the spec fails on.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
M.dir = here

local targets = {}

-- The target table of `name` (loaded once).
function M.target(name)
  local t = targets[name]
  if not t then
    t = dofile(here .. "/" .. name .. ".lua")
    assert(type(t) == "table" and type(t.calls) == "table", name .. ".lua must return {calls = {...}}")
    targets[name] = t
  end
  return t
end

-- A fresh file name for this process: os.tmpname reserves a unique one,
-- kept (and removed by cleanup) so no other process takes it meanwhile.
local reserved = {}
local function temp_path(suffix)
  local base = os.tmpname()
  reserved[#reserved + 1] = base
  return base .. (suffix or "")
end

local paths = {}

-- Errors of the HDF5 check process (src/io/h5_check.h): the file crashed or
-- hung libhdf5 in the child and was refused.  Not problems (nothing reached
-- this process), but worth a look: the fuzz harness keeps such inputs.
M.REFUSED = { "in a separate check process", "HDF5 did not finish reading it within" }

function M.refused(err)
  for _, s in ipairs(M.REFUSED) do
    if type(err) == "string" and err:find(s, 1, true) then return true end
  end
  return false
end

-- Runs target `name` on the file at path; returns a list of problems ({} when
-- fine) and what each call did: { {name=, ok=, err=, refused=}, ... }.
function M.run_file(name, path)
  local t = M.target(name)
  local problems, outcomes = {}, {}
  for _, c in ipairs(t.calls) do
    local ok, err = pcall(c.fn, path)
    outcomes[#outcomes + 1] = { name = c.name, ok = ok, err = not ok and err or nil,
      refused = not ok and M.refused(err) }
    if not ok then
      if type(err) ~= "string" then
        problems[#problems + 1] = ("%s: raised a %s, not a message"):format(c.name, type(err))
      elseif not err:find(path, 1, true) then
        problems[#problems + 1] = ("%s: the error does not name the file %s: %s"):format(c.name, path, err)
      end
    end
  end
  collectgarbage()
  local h5 = require("dnn.core").h5
  local open = h5 and h5.open_objects() or 0
  if open ~= 0 then problems[#problems + 1] = ("%d HDF5 objects left open"):format(open) end
  return problems, outcomes
end

-- Writes bytes to a temp file (path, or one of this process's own) and runs
-- target `name` on it; returns the problems, the outcomes and the path used.
function M.run_bytes(name, bytes, path)
  local t = M.target(name)
  path = path or paths[name]
  if not path then
    path = temp_path(t.suffix)
    paths[name] = path
  end
  os.remove(path) -- a new file (new inode) per input: nothing may take it for the last one
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  local problems, outcomes = M.run_file(name, path)
  return problems, outcomes, path
end

-- Removes the temp files this process made.
function M.cleanup()
  for _, p in pairs(paths) do os.remove(p) end
  for _, p in ipairs(reserved) do os.remove(p) end
  paths, reserved = {}, {}
end

return M
