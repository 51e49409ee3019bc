-- The examples run as a user runs them, and the numbers they print agree
-- with independent references (spec/fixtures/*, made with numpy by
-- scripts/make_fixtures_fmnist.py).  The runner is $DNNLUA (scripts/test
-- exports it) or the stock lua5.4 with scripts/env.sh's paths.
local ROOT = os.getenv("DNN_ROOT") or "."
local RUNNER = os.getenv("DNNLUA") or "lua5.4"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Runs an example from the repository root; returns its output and exit code.
local function run_example(script, args)
  local cmd = ("cd %s && %s %s %s 2>&1"):format(q(ROOT), q(RUNNER), q(script), args or "")
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

-- "label: number" from the report (the first line that starts with label).
local function number_after(out, label)
  for line in out:gmatch("[^\n]+") do
    local v = line:match("^" .. label:gsub("%p", "%%%0") .. ":%s*(%S+)")
    if v then return assert(tonumber(v), "not a number after " .. label .. ": " .. v) end
  end
  error("the report has no line starting with '" .. label .. ":'\n" .. out)
end

local function close(got, want, tol, what)
  local err = math.abs(got - want) / math.max(math.abs(want), 1e-300)
  assert(err <= tol, ("%s: got %.9g, numpy says %.9g (relative error %.3g > %g)"):format(what, got, want, err, tol))
end

describe("examples/fashion_mnist_explore.lua", function()
  local S = dofile(ROOT .. "/spec/fixtures/fashion_mnist_stats.lua")
  local out, code

  setup(function() out, code = run_example("examples/fashion_mnist_explore.lua") end)

  it("runs to the end", function()
    assert.equal(0, code, out)
    assert.truthy(out:find("train images: 60000x28x28", 1, true), out)
    assert.truthy(out:find("test images: 10000x28x28", 1, true), out)
  end)

  it("prints per-class counts (train, test) equal to numpy's bincount", function()
    local seen = 0
    for c, tr, te, name in out:gmatch("class (%d+):%s+(%d+)%s+(%d+)%s+%S+%s+([^\n]+)") do
      c = tonumber(c)
      assert.equal(S.train_counts[c + 1], tonumber(tr), "train count of class " .. c)
      assert.equal(S.test_counts[c + 1], tonumber(te), "test count of class " .. c)
      seen = seen + 1
    end
    assert.equal(10, seen, out)
    assert.truthy(out:find("class 0:[^\n]*T%-shirt/top"), out)
    assert.truthy(out:find("class 9:[^\n]*Ankle boot"), out)
  end)

  it("prints each class's mean pixel as numpy computes it", function()
    for c, m in out:gmatch("class (%d+):%s+%d+%s+%d+%s+(%S+)") do
      close(tonumber(m), S.train_class_mean[tonumber(c) + 1], 1e-7, "mean pixel of class " .. c)
    end
  end)

  it("prints the training set's pixel statistics", function()
    assert.equal(S.train_pixel_sum, number_after(out, "pixel sum"))
    close(number_after(out, "pixel mean"), S.train_pixel_mean, 1e-7, "pixel mean")
    close(number_after(out, "pixel std"), S.train_pixel_std, 1e-6, "pixel std") -- float32 std
    assert.equal(S.train_pixel_min, number_after(out, "pixel min"))
    assert.equal(S.train_pixel_max, number_after(out, "pixel max"))
    close(number_after(out, "zero fraction"), S.train_zero_fraction, 1e-5, "zero fraction")
  end)

  it("prints the test set's sum, mean and zero fraction", function()
    assert.equal(S.test_pixel_sum, number_after(out, "test pixel sum"))
    close(number_after(out, "test pixel mean"), S.test_pixel_mean, 1e-7, "test pixel mean")
    close(number_after(out, "test zero fraction"), S.test_zero_fraction, 1e-5, "test zero fraction")
  end)

  it("returns its numbers, unprinted, when required as a module", function()
    local saved = package.path
    package.path = ROOT .. "/examples/?.lua;" .. package.path
    local ok, m = pcall(require, "fashion_mnist_explore")
    package.path = saved
    assert(ok, m)
    local s = m.explore()
    assert.same(S.train_counts, s.train_counts)
    assert.same(S.test_counts, s.test_counts)
    assert.equal(S.train_pixel_sum, s.train_pixel_sum)
    close(s.train_pixel_mean, S.train_pixel_mean, 1e-12, "pixel mean")
    close(s.train_zero_fraction, S.train_zero_fraction, 1e-12, "zero fraction")
    for c = 1, 10 do close(s.train_class_mean[c], S.train_class_mean[c], 1e-12, "class mean") end
  end)

  it("says what to install when the dataset directory is missing", function()
    local o, c = run_example("examples/fashion_mnist_explore.lua", "/nonexistent/fashion-mnist")
    assert.are_not.equal(0, c)
    assert.truthy(o:find("fashion_mnist: directory /nonexistent/fashion-mnist not found", 1, true), o)
    assert.truthy(o:find("dataset-fashion-mnist", 1, true), o)
  end)
end)
