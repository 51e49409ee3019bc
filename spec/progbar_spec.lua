-- Progbar (lua/dnn/utils/progbar.lua): Keras's progress-bar text with a fake
-- clock, on a fake terminal and a fake pipe.  The expected lines follow
-- Keras 2.15's Progbar code (keras/utils/generic_utils.py), worked out by
-- hand from its rules; a transcription of that code run on the same updates
-- printed the same text.
local Progbar = require "dnn.utils.progbar"

-- A bar writing into a list, with a clock the test sets.
local function fake(target, opts)
  opts = opts or {}
  local sink = { out = {}, t = opts.t0 or 0.0 }
  opts.out = function(s) sink.out[#sink.out + 1] = s end
  opts.clock = function() return sink.t end
  if opts.tty == nil then opts.tty = true end
  opts.t0 = nil
  sink.bar = Progbar(target, opts)
  return sink
end

local function err(f)
  local ok, e = pcall(f)
  assert.is_false(ok)
  return tostring(e)
end

describe("Progbar on a terminal (verbose=1)", function()
  it("draws Keras's bar, ETA and values, redrawn with \\r, and ends the line when done", function()
    local s = fake(10, { interval = 0 })
    for i = 1, 10 do
      s.t = 0.3 * i
      s.bar:update(i, { loss = 1 / i })
    end
    -- ETA = time per step (after the first) * steps left, truncated to seconds
    assert.equal("\r 1/10 [==>...........................] - ETA: 2s - loss: 1.0000", s.out[1])
    assert.equal("\r 2/10 [=====>........................] - ETA: 2s - loss: 0.7500", s.out[2])
    assert.equal("\r 7/10 [====================>.........] - ETA: 0s - loss: 0.3704", s.out[7])
    assert.equal("\r 9/10 [==========================>...] - ETA: 0s - loss: 0.3143", s.out[9])
    -- weighted average of 1/i over steps 1..10
    local sum = 0
    for i = 1, 10 do sum = sum + 1 / i end
    assert.equal(("\r10/10 [==============================] - 3s 300ms/step - loss: %.4f\n"):format(sum / 10),
      s.out[10])
    assert.equal(10, #s.out)
  end)

  it("ignores the slow first step in the time per step and the ETA", function()
    local s = fake(1875)
    s.t = 2.0
    s.bar:update(1, { { "loss", 0.9 }, { "accuracy", 0.5 } })
    -- only one step seen: 2 s a step, 1874 steps left = 3748 s
    assert.equal("\r   1/1875 [..............................] - ETA: 1:02:28 - loss: 0.9000 - accuracy: 0.5000",
      s.out[1])
    s.t = 2.0 + 0.0016 * 960
    s.bar:update(961, { { "loss", 0.7 }, { "accuracy", 0.6 } }, false)
    -- 1.6 ms a step after the first: ETA 914 * 0.0016 = 1.46 s; five spaces
    -- blank the end of the longer line before ("1:02:28" -> "1s")
    assert.equal("\r 961/1875 [==============>...............] - ETA: 1s - loss: 0.7002 - accuracy: 0.5999     ",
      s.out[2])
    s.t = 2.0 + 0.0016 * 1874
    s.bar:update(1875, { { "loss", 0.5 }, { "accuracy", 0.7 } })
    -- 5 s in all (%.0f of 4.9984), 1.6 ms/step rounds to 2ms
    local loss = (0.9 + 0.7 * 960 + 0.5 * 914) / 1875
    local acc = (0.5 + 0.6 * 960 + 0.7 * 914) / 1875
    assert.equal(("\r1875/1875 [==============================] - 5s 2ms/step - loss: %.4f - accuracy: %.4f\n")
      :format(loss, acc), s.out[3])
  end)

  it("draws at most one update per interval, always the final one", function()
    local s = fake(100) -- interval 0.05 s
    s.t = 1.00; s.bar:update(1)  -- drawn (the first always is)
    s.t = 1.02; s.bar:update(2)  -- skipped
    s.t = 1.04; s.bar:update(3)  -- skipped
    s.t = 1.06; s.bar:update(4)  -- drawn: 0.06 s after the last drawn one
    s.t = 1.07; s.bar:update(100) -- final: drawn
    assert.equal(3, #s.out)
    assert.matches("^\r  1/100 ", s.out[1])
    assert.matches("^\r  4/100 ", s.out[2])
    assert.matches("^\r100/100 ", s.out[3])
  end)

  it("pads with spaces when the line gets shorter, so no old text is left", function()
    local s = fake(100, { interval = 0 })
    local dots = ("."):rep(30)
    s.t = 100; s.bar:update(1, { loss = 0.5 })
    -- 100 s for the first step: ETA 99 * 100 s = 2:45:00
    assert.equal("\r  1/100 [" .. dots .. "] - ETA: 2:45:00 - loss: 0.5000", s.out[1])
    s.t = 101; s.bar:update(2, { loss = 0.5 })
    -- 1 s a step after the first: ETA 98 s = 1:38, three characters shorter
    assert.equal("\r  2/100 [" .. dots .. "] - ETA: 1:38 - loss: 0.5000   ", s.out[2])
    s.t = 101.5; s.bar:update(3, { loss = 0.5 })
    -- 0.75 s a step: ETA 72.75 s = 1:12, as long as the line before: no padding
    assert.equal("\r  3/100 [" .. dots .. "] - ETA: 1:12 - loss: 0.5000", s.out[3])
  end)

  it("shows stateful values as given and averages the others weighted by steps", function()
    local s = fake(10, { interval = 0, stateful_metrics = { "acc" } })
    s.t = 1; s.bar:update(2, { { "loss", 1.0 }, { "acc", 0.25 } })
    s.t = 2; s.bar:update(5, { { "loss", 2.0 }, { "acc", 0.75 } })
    -- loss: (1*2 + 2*3) / 5 = 1.6; acc: the last value
    assert.matches(" %- loss: 1%.6000 %- acc: 0%.7500$", s.out[2])
    s.t = 3; s.bar:add(5, { { "loss", 0.4 }, { "acc", 0.5 } })
    -- (1*2 + 2*3 + 0.4*5) / 10 = 1.0
    assert.matches("^\r10/10 %[=+%] %- 3s .* %- loss: 1%.0000 %- acc: 0%.5000\n$", s.out[3])
  end)

  it("counts up to an unknown target, with time per step instead of an ETA", function()
    local s = fake(nil, { interval = 0 })
    s.t = 3.3; s.bar:update(1, { loss = 1 })
    s.t = 6.6; s.bar:update(2, { loss = 0.5 })
    assert.equal("\r      1/Unknown - 3s 3s/step - loss: 1.0000", s.out[1])
    assert.equal("\r      2/Unknown - 7s 3s/step - loss: 0.7500", s.out[2])
    s.t = 7; s.bar:update(2, { loss = 0.5 }, true)
    -- a repeated final update counts the value once more (Keras's max(.., 1))
    assert.equal("\r      2/Unknown - 7s 4s/step - loss: 0.6667\n", s.out[3])
  end)
end)

describe("Progbar on a pipe (verbose=1)", function()
  it("prints nothing during the epoch, then one line without \\r", function()
    local s = fake(1875, { tty = false })
    for i = 1, 1874 do
      s.t = i * 0.001
      s.bar:update(i, { loss = 0.5 })
    end
    assert.equal(0, #s.out)
    s.t = 3.2
    s.bar:update(1875, { loss = 0.5, accuracy = 0.8254 })
    -- (3.2 - 0.001) / 1874 = 1.7 ms per step after the first
    assert.same({ "1875/1875 [==============================] - 3s 2ms/step - loss: 0.5000 - accuracy: 0.8254\n" },
      s.out)
  end)
end)

describe("Progbar verbose=2", function()
  it("prints one line at the end: count, time, values, time per epoch and per step", function()
    local s = fake(1875, { verbose = 2, tty = true })
    for i = 1, 1875 do
      s.t = i * 0.0016
      s.bar:update(i, { loss = 0.4963, accuracy = 0.8254 })
    end
    -- 3 s per epoch, 1.6 ms per step (the first step included, as Keras)
    assert.same({ "1875/1875 - 3s - loss: 0.4963 - accuracy: 0.8254 - 3s/epoch - 2ms/step\n" }, s.out)
  end)

  it("shows small and negative values as verbose=1 does (|v| > 1e-3 -> %.4f)", function()
    local s = fake(4, { verbose = 2 })
    s.t = 0.0004
    s.bar:update(4, { loss = -0.5, mae = 0.0005 })
    assert.same({ "4/4 - 0s - loss: -0.5000 - mae: 5.0000e-04 - 400us/epoch - 100us/step\n" }, s.out)
  end)

  it("verbose=0 prints nothing", function()
    local s = fake(3, { verbose = 0 })
    for i = 1, 3 do s.bar:update(i, { loss = 1 }) end
    assert.same({}, s.out)
  end)
end)

describe("Progbar text helpers", function()
  it("formats the ETA as h:mm:ss, m:ss or Ns, truncating", function()
    assert.equal("1:02:28", Progbar.format_eta(3748))
    assert.equal("1:00:01", Progbar.format_eta(3601.9))
    assert.equal("60:00", Progbar.format_eta(3600)) -- not > 3600
    assert.equal("2:05", Progbar.format_eta(125.99))
    assert.equal("60s", Progbar.format_eta(60))
    assert.equal("12s", Progbar.format_eta(12.9))
    assert.equal("0s", Progbar.format_eta(0.4))
  end)

  it("formats durations in s, ms or us", function()
    assert.equal(" 3s/epoch", Progbar.format_time(3.2, "epoch"))
    assert.equal(" 1s/step", Progbar.format_time(1.0, "step"))
    assert.equal(" 0s/step", Progbar.format_time(0, "step"))
    assert.equal(" 1ms/step", Progbar.format_time(0.0014, "step"))
    assert.equal(" 999ms/step", Progbar.format_time(0.999, "step"))
    assert.equal(" 800us/step", Progbar.format_time(0.0008, "step"))
  end)

  it("formats values as %.4f when |v| > 1e-3, else %.4e", function()
    assert.equal("0.4963", Progbar.format_value(0.49631))
    assert.equal("-2.5000", Progbar.format_value(-2.5))
    assert.equal("0.0011", Progbar.format_value(0.0011))
    assert.equal("1.0000e-03", Progbar.format_value(0.001))
    assert.equal("-5.0000e-04", Progbar.format_value(-0.0005))
    assert.equal("0.0000e+00", Progbar.format_value(0))
    assert.equal("nan", Progbar.format_value(0 / 0))
    assert.equal("inf", Progbar.format_value(math.huge))
  end)

  it("writes numbers as Python's repr does", function()
    local cases = { { 1.0, "1.0" }, { 0.1, "0.1" }, { 0.1 * 0.1, "0.010000000000000002" }, { 1e-5, "1e-05" },
      { 1e16, "1e+16" }, { 123456789.0, "123456789.0" }, { 1 / 3, "0.3333333333333333" }, { 3, "3" },
      { -0.5, "-0.5" }, { 0.0001, "0.0001" }, { 2.5e-7, "2.5e-07" }, { 0 / 0, "nan" }, { -math.huge, "-inf" } }
    for _, c in ipairs(cases) do assert.equal(c[2], Progbar.repr(c[1])) end
  end)

  it("orders logs: loss, other names, val_loss, other val_ names", function()
    assert.same({ "loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae" },
      Progbar.ordered_keys({ val_mae = 1, mae = 1, val_accuracy = 1, accuracy = 1, val_loss = 1, loss = 1 }))
  end)
end)

describe("Progbar misuse", function()
  it("rejects bad arguments with messages that name the argument", function()
    assert.equal("Progbar: target must be an integer >= 1, got 0", err(function() Progbar(0) end))
    assert.equal("Progbar: target must be an integer >= 1, got 2.5", err(function() Progbar(2.5) end))
    assert.equal("Progbar: width must be an integer >= 1, got 0", err(function() Progbar{ 10, width = 0 } end))
    assert.equal("Progbar: verbose must be 0, 1 or 2, got 3", err(function() Progbar(10, { verbose = 3 }) end))
    assert.equal("Progbar: out must be a function(string) or a file, got number",
      err(function() Progbar(10, { out = 1 }) end))
    assert.equal("Progbar: clock must be a function returning seconds, got string",
      err(function() Progbar(10, { clock = "now" }) end))
    assert.matches("Progbar: unknown argument 'widht'", err(function() Progbar(10, { widht = 3 }) end))
    local s = fake(10)
    assert.equal("Progbar.update: current must be an integer >= 0, got -1", err(function() s.bar:update(-1) end))
    assert.equal("Progbar.update: the value of 'loss' must be a number, got string",
      err(function() s.bar:update(1, { loss = "low" }) end))
    assert.equal("Progbar.update: values[1] must be a {name, value} pair",
      err(function() s.bar:update(1, { 0.5 }) end))
  end)
end)
