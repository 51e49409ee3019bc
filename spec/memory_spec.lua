-- Tensors are freed by the GC and by <close>; the GC knows tensor bytes, so a
-- loop of large temporaries does not grow memory without collectgarbage().
local dnn = require "dnn"

local function rss_kb()
  local f = io.open("/proc/self/status")
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- ASan makes each large allocation slow; the sanitized run checks the same
-- property on fewer iterations.
local sanitized = os.getenv("DNN_TEST_MODE") == "sanitize"
local N = sanitized and 2000 or 100000

describe("memory", function()
  it("a loop of 1 MB temporaries grows RSS by less than 64 MB", function()
    collectgarbage()
    local before = rss_kb()
    local acc = 0
    for i = 1, N do
      local t = dnn.empty(256 * 1024) -- 1 MB of float32
      acc = acc + t:numel()
    end
    local grown = (rss_kb() - before) / 1024
    assert.equal(N * 256 * 1024, acc)
    assert.is_true(grown < 64, ("RSS grew by %.1f MB"):format(grown))
  end)

  it("temporaries made by ops are reclaimed too", function()
    local x = dnn.ones(512, 512)
    collectgarbage()
    local before = rss_kb()
    for i = 1, sanitized and 300 or 3000 do
      local y = x * 2 + 1
    end
    local grown = (rss_kb() - before) / 1024
    assert.is_true(grown < 64, ("RSS grew by %.1f MB"):format(grown))
  end)

  it("<close> frees a tensor at once", function()
    collectgarbage()
    local before = dnn.memory_stats().allocated_bytes
    do
      local t <close> = dnn.zeros(1000, 1000)
      assert.is_true(dnn.memory_stats().allocated_bytes >= before + 4e6)
    end
    assert.is_true(dnn.memory_stats().allocated_bytes < before + 4e6)
  end)

  it("a closed tensor raises instead of crashing", function()
    local t = dnn.zeros(3)
    t:close()
    assert.has_error(function() return t + 1 end)
    t:close() -- twice is fine
  end)

  it("memory_stats reports live tensors and bytes", function()
    local s = dnn.memory_stats()
    for _, k in ipairs({ "live_tensors", "live_storages", "allocated_bytes", "peak_bytes" }) do
      assert.is_number(s[k])
    end
  end)
end)
