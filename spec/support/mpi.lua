-- What the specs that start replicas under mpirun share: the dnnlua under
-- test, running a command, why mpirun cases are pending, and the sanitizer
-- settings the replicas run with.
local dnn = require "dnn"

local M = {}

function M.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The dnnlua of the build under test: $DNNLUA (scripts/test), else the build
-- whose dnn/core.so this process loaded (LUA_CPATH from scripts/env.sh).
local function find_dnnlua()
  local env = os.getenv("DNNLUA")
  if env and env ~= "" then return env end
  for dir in package.cpath:gmatch("([^;]+)/lua/%?%.so") do
    local f = io.open(dir .. "/dnnlua", "r")
    if f then f:close() return dir .. "/dnnlua" end
  end
  return (os.getenv("DNN_ROOT") or "/work/main") .. "/build/dnnlua"
end
M.dnnlua = find_dnnlua()

-- Output (stdout and stderr) and exit code of a shell command.
function M.run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local have_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
M.why_pending = not have_mpirun and "mpirun is missing (apt-get install openmpi-bin libopenmpi-dev; scripts/setup does)"
  or not dnn.distributed.mpi_built() and "this build has no MPI (no libopenmpi-dev at configure time, or -DDNN_MPI=OFF)"
  or nil

-- Replicas under a sanitized dnnlua run with detect_leaks=0: Open MPI
-- unloads its plugins before LeakSanitizer runs, so their allocations would
-- show up as leaks from unnamed modules.
function M.sanitizer_env()
  local asan = os.getenv("ASAN_OPTIONS")
  if not asan then return "" end
  return "ASAN_OPTIONS=" .. M.q(asan .. ":detect_leaks=0")
end

-- Runs script (a file) under mpirun on n replicas with the dnnlua under
-- test: output and exit code.  env: "NAME=value ..." put before mpirun;
-- flags: more mpirun options (-x NAME to pass a variable on).
function M.mpirun(n, script, args, env, flags)
  return M.run(("%s %s timeout 120 mpirun --allow-run-as-root --oversubscribe %s-np %d %s %s %s"):format(
    M.sanitizer_env(), env or "", flags and flags .. " " or "", n, M.q(M.dnnlua), M.q(script), args or ""))
end

-- A scratch directory for one describe block: setup/teardown make and
-- remove it; path(name) and write(name, text) (which returns the path)
-- work inside it once setup has run.
function M.scratch()
  local S = {}
  function S.setup()
    S.dir = os.tmpname()
    os.remove(S.dir)
    assert(os.execute("mkdir -p " .. M.q(S.dir)))
  end
  function S.teardown() if S.dir then os.execute("rm -rf " .. M.q(S.dir)) end end
  function S.path(name) return S.dir .. "/" .. name end
  function S.write(name, text)
    local f = assert(io.open(S.path(name), "w"))
    f:write(text)
    f:close()
    return S.path(name)
  end
  return S
end

return M
