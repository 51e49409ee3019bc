-- The fuzz corpora replayed in-process: every file under spec/fixtures/fuzz/<target>/
-- (seeds, crash-* inputs the fuzzer found, crafted-* ones written to reach a
-- known weakness) goes through the calls of scripts/bench/fuzz/<target>.lua,
-- judged by scripts/bench/fuzz/check.lua exactly as the fuzzer judges it:
-- each call returns, or raises a string error that names the file; no HDF5
-- object stays open; and the process survives (a crash fails this file in
-- scripts/test, a sanitizer report too under --sanitize).  How the corpora
-- are made and grown: scripts/bench/fuzz/README.md.
local ROOT = os.getenv("DNN_ROOT") or "."
local check = dofile(ROOT .. "/scripts/bench/fuzz/check.lua")

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function list(dir, dirs)
  local out = {}
  local p = assert(io.popen(("find %s -mindepth 1 -maxdepth 1 -type %s 2>/dev/null | sort")
    :format(q(dir), dirs and "d" or "f")))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local corpora = list(ROOT .. "/spec/fixtures/fuzz", true)

describe("fuzz corpus replay", function()
  teardown(function() check.cleanup() end)

  it("has a corpus for every fuzz target, each with inputs", function()
    local targets = {}
    for _, f in ipairs(list(ROOT .. "/scripts/bench/fuzz")) do
      local name = f:match("/fuzz_([%w_]+)%.c$")
      if name then targets[#targets + 1] = name end
    end
    assert.is_true(#targets > 0)
    for _, name in ipairs(targets) do
      assert.is_true(#list(ROOT .. "/spec/fixtures/fuzz/" .. name) > 0, "no corpus for " .. name)
    end
  end)

  for _, dir in ipairs(corpora) do
    local target = dir:match("([^/]+)$")
    describe(target, function()
      local files = list(dir)
      local loaded, failed = 0, 0

      for _, file in ipairs(files) do
        local base = file:match("([^/]+)$")
        it(base, function()
          local problems, outcomes, path = check.run_bytes(target, read(file))
          assert.are.same({}, problems, base .. " (as " .. path .. "): " .. table.concat(problems, "; "))
          for _, o in ipairs(outcomes) do
            if o.ok then loaded = loaded + 1 else failed = failed + 1 end
            -- the message names the file and says more than that
            if not o.ok then assert.is_true(#o.err > #path + 4, o.err) end
          end
          -- an input kept for what it broke must now be refused by some call
          if base:match("^crash%-") or base:match("^crafted%-") then
            local refused = false
            for _, o in ipairs(outcomes) do refused = refused or not o.ok end
            assert.is_true(refused, base .. " loaded everywhere without an error")
          end
        end)
      end

      it("loads its valid seeds somewhere and refuses damaged inputs somewhere", function()
        assert.is_true(loaded > 0, "no call succeeded on any input of " .. target)
        assert.is_true(failed > 0, "no call failed on any input of " .. target)
      end)
    end)
  end
end)
