-- The training examples run as a user runs them and reach their accuracy.
-- Release runs train in full (the accuracies the issue asks for); the
-- sanitized build is ~10x slower, so it runs each example's --short mode and
-- checks a lower bar.
local ROOT = os.getenv("DNN_ROOT") or "."
local RUNNER = os.getenv("DNNLUA") or "lua5.4"
local sanitized = os.getenv("DNN_TEST_MODE") == "sanitize"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function run_example(script, args)
  local cmd = ("cd %s && %s %s %s 2>&1"):format(q(ROOT), q(RUNNER), q(script), args or "")
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local function accuracy(out)
  local v = out:match("Test accuracy: ([%d.]+)")
  assert(v, "no 'Test accuracy:' line in:\n" .. out)
  return tonumber(v)
end

local cases = {
  { "examples/custom_loop.lua", full = 0.85, short = 0.75 },
  { "examples/fashion_mnist_cnn_loop.lua", full = 0.89, short = 0.70 },
  -- 5 epochs of this MLP land at 86.5-87.5% depending on the seed (PyTorch with the
  -- same model and recipe: 86.7-87.4%); seed 42 gives 86.5%
  { "examples/fashion_mnist_mlp.lua", full = 0.86, short = 0.80 },
  { "examples/tabular_binary.lua", full = 0.85, short = 0.85, no_short = true },
}

for _, c in ipairs(cases) do
  describe(c[1], function()
    it(sanitized and "reaches its --short accuracy" or "reaches its accuracy after 2 epochs", function()
      local out, code = run_example(c[1], (sanitized and not c.no_short) and "--short" or "")
      assert.equal(0, code, out)
      if c[1]:find("loop") then
        assert.truthy(out:find("Training loss (for one batch) at step 0:", 1, true), out)
      end
      local acc = accuracy(out)
      local bar = sanitized and c.short or c.full
      assert.is_true(acc >= bar, ("accuracy %.4f < %.2f\n%s"):format(acc, bar, out))
    end)
  end)
end

describe("examples/custom_train_step.lua", function()
  it("trains through the overridden train_step", function()
    local out, code = run_example("examples/custom_train_step.lua")
    assert.equal(0, code, out)
    local first, last = out:match("loss went from ([%d.]+) to ([%d.]+)")
    assert.truthy(first, out)
    assert.is_true(tonumber(last) < tonumber(first) * 0.7, out)
    assert.truthy(out:find("Epoch 5/5", 1, true), out)
  end)
end)

describe("examples/fashion_mnist_mlp.lua", function()
  it("ends by saving fmnist.h5 and loading it back with identical predictions", function()
    local out, code = run_example("examples/fashion_mnist_mlp.lua", "--short")
    assert.equal(0, code, out)
    assert.truthy(out:find("Reloaded from fmnist.h5: predictions identical", 1, true), out)
    os.remove(ROOT .. "/fmnist.h5")
  end)
end)

describe("examples/transfer_learning.lua", function()
  it("pretrains on classes 0-4, transfers to 5-9 with frozen features, then fine-tunes", function()
    -- --short in both modes (6000 samples a task): the full run takes ~30 s
    local out, code = run_example("examples/transfer_learning.lua", "--short")
    assert.equal(0, code, out)
    local pre = tonumber(out:match("Pretrained accuracy on classes 0%-4: ([%d.]+)"))
    local frozen = tonumber(out:match("frozen features, new head%): ([%d.]+)"))
    local tuned = tonumber(out:match("after fine%-tuning: ([%d.]+)"))
    assert.truthy(pre and frozen and tuned, out)
    local bars = { 0.80, 0.55, 0.80 }
    assert.is_true(pre >= bars[1], out)
    assert.is_true(frozen >= bars[2], out)
    assert.is_true(tuned >= bars[3] and tuned > frozen, out)
  end)
end)

describe("examples/deep_pipe_style.lua", function()
  it("is interrupted after one epoch, and the same command resumes and finishes", function()
    local dir = os.tmpname()
    os.remove(dir)
    local out, code = run_example("examples/deep_pipe_style.lua", q(dir) .. " --short --interrupt-after 1")
    assert.equal(3, code, out)
    local out2, code2 = run_example("examples/deep_pipe_style.lua", q(dir) .. " --short --epochs 2")
    os.execute("rm -rf " .. q(dir))
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resuming from", 1, true), out2)
    assert.truthy(out2:find("resumed: 2 epochs, 30 steps", 1, true), out2)
  end)
end)

describe("examples/image_folder.lua", function()
  it("writes a class-folder tree of PNGs and trains from it with image_dataset_from_directory", function()
    local dir = os.tmpname()
    os.remove(dir)
    local out, code = run_example("examples/image_folder.lua", "--short " .. q(dir))
    os.execute("rm -rf " .. q(dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("Wrote 1000 training and 300 test PNG files", 1, true), out)
    local acc = tonumber(out:match("Test accuracy: ([%d.]+)"))
    assert.truthy(acc, out)
    assert.is_true(acc >= 0.3, out) -- 1 epoch over 800 images (the full run: 78%)
    assert.truthy(out:find("prefetched by the C workers", 1, true), out)
  end)
end)
