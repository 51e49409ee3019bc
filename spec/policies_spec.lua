-- Policies (deep_pipe's dpipe/train/policy.py): values epoch by epoch,
-- stopping, state for checkpoints, and how train_model calls them.
-- Expected values are worked out by hand from deep_pipe's formulas.
local dnn = require "dnn"
local check = require "support.check"
local T = dnn.train

-- The value at each of the given epochs' start.
local function values(p, epochs)
  local out = {}
  for i, e in ipairs(epochs) do
    p:epoch_started(e)
    out[i] = p.value
  end
  return out
end

local function fake_model(losses)
  local m = { calls = {}, k = 0 }
  function m:do_train_step(x, opts)
    self.k = self.k + 1
    self.calls[#self.calls + 1] = opts
    return losses and losses[self.k] or 1.0
  end
  return m
end

-- An epoch of n batches {1}, {2}, ...
local function batches(n)
  return function()
    local l = {}
    for i = 1, n do l[i] = { i } end
    return l
  end
end

describe("value policies", function()
  it("Constant keeps its value", function()
    local p = T.Constant(0.1)
    assert.are.same({ 0.1, 0.1 }, values(p, { 0, 5 }))
    assert.are.equal(3, T.Constant { 3 }.value)
  end)

  it("Exponential: initial * multiplier ^ floor(epoch / step_length), clipped", function()
    assert.are.same({ 10, 5, 2.5, 1.25 }, values(T.Exponential { initial = 10, multiplier = 0.5 }, { 0, 1, 2, 3 }))
    assert.are.same({ 10, 10, 5, 5, 2.5 },
      values(T.Exponential { 10, 0.5, step_length = 2 }, { 0, 1, 2, 3, 4 }))
    local cont = values(T.Exponential { 10, 0.5, step_length = 2, floordiv = false }, { 1, 3 })
    assert.are.equal(10 * 0.5 ^ 0.5, cont[1])
    assert.are.equal(10 * 0.5 ^ 1.5, cont[2])
    assert.are.same({ 10, 5, 4, 4 }, values(T.Exponential { 10, 0.5, min_value = 4 }, { 0, 1, 2, 3 }))
    assert.are.same({ 3, 3, 2.5 }, values(T.Exponential { 10, 0.5, max_value = 3 }, { 0, 1, 2 }))
    assert.are.equal(10, T.Exponential { 10, 0.5 }.value) -- before the first epoch
  end)

  it("Schedule multiplies by every multiplier whose epoch has come", function()
    local p = T.Schedule { 1, { [2] = 0.1, [4] = 0.5 } }
    local v = values(p, { 0, 1, 2, 3, 4, 5 })
    assert.are.same({ 1, 1, 0.1, 0.1 }, { v[1], v[2], v[3], v[4] })
    assert.are.equal(1 * 0.1 * 0.5, v[5])
    assert.are.equal(v[5], v[6])
    local c = T.Schedule.constant_multiplier(2, 0.5, { 1, 3 })
    assert.are.same({ 2, 1, 1, 0.5 }, values(c, { 0, 1, 2, 3 }))
  end)

  it("Switch takes the value of the latest epoch reached", function()
    local p = T.Switch { 0.9, { [2] = 0.8, [4] = 0.7 } }
    assert.are.same({ 0.9, 0.9, 0.8, 0.8, 0.7, 0.7 }, values(p, { 0, 1, 2, 3, 4, 5 }))
    assert.are.equal("b", values(T.Switch { "a", { [1] = "b" } }, { 3 })[1])
  end)

  it("LambdaEpoch computes fn(epoch, ...)", function()
    local p = T.LambdaEpoch(function(e, k) return e * e + k end, 1)
    assert.are.equal(1, p.value)
    assert.are.same({ 1, 10, 26 }, values(p, { 0, 3, 5 }))
  end)

  it("DecreasingOnPlateau multiplies after more than `patience` epochs without a new low", function()
    -- margin = max(loss - atol, loss * (1 - rtol)) = loss - 0.01 here: 0.99
    -- after 1.0; 0.995 and 0.99 are not below it (waited 1, then 2 > 1:
    -- halve, wait 0); 0.98 sets 0.97; 0.98 waits 1
    local p = T.DecreasingOnPlateau { initial = 1, multiplier = 0.5, patience = 1, rtol = 0.5, atol = 0.01 }
    local seen = {}
    for e, loss in ipairs({ 1.0, 0.995, 0.99, 0.98, 0.98 }) do
      p:epoch_finished(e - 1, { loss, train_losses = { loss } })
      seen[e] = p.value
    end
    assert.are.same({ 1, 1, 0.5, 0.5, 0.5 }, seen)
    assert.are.equal(1, p.epochs_waited)
    assert.are.equal(0.98 - 0.01, p.margin_loss)
    local r = T.DecreasingOnPlateau { initial = 1, multiplier = 0.1, patience = 0, rtol = 0.1, atol = 0 }
    r:epoch_finished(0, { 1.0 }) -- margin max(1.0 - 0, 1.0 * 0.9) = 1.0
    r:epoch_finished(1, { 1.0 }) -- not below it: waited 1 > 0
    assert.are.equal(0.1, r.value)
  end)

  it("check their arguments", function()
    check.fails_with(function() T.Exponential { 10 } end, "Exponential", "multiplier")
    check.fails_with(function() T.Exponential { 10, 0.5, step_length = 0 } end, "step_length")
    check.fails_with(function() T.Schedule { 1, { [1.5] = 2 } } end, "Schedule", "epochs")
    check.fails_with(function() T.LambdaEpoch(3) end, "LambdaEpoch", "function")
    check.fails_with(function() T.DecreasingOnPlateau { initial = 1, multiplier = 0.5 } end, "patience")
  end)
end)

describe("stopping policies", function()
  local function stops(p, means)
    for e, m in ipairs(means) do
      local ok, err = pcall(p.epoch_finished, p, e - 1, { m, train_losses = { m } })
      if not ok then
        assert.is_true(dnn.train.policies.is_early_stopping(err), tostring(err))
        return e - 1, err
      end
    end
    return nil
  end

  it("LossStop stops when the mean loss exceeds max_ratio times the lowest", function()
    local at, err = stops(T.LossStop(), { 1, 0.5, 1.4, 1.6 })
    assert.are.equal(3, at)
    assert.truthy(tostring(err):find("EarlyStopping", 1, true))
    assert.is_nil(stops(T.LossStop { max_ratio = 4 }, { 1, 0.5, 1.9 }))
  end)

  it("TrainLossStop stops once the mean loss is below the threshold", function()
    assert.are.equal(2, stops(T.TrainLossStop(), { 1, 1e-3, 1e-6 }))
    assert.are.equal(1, stops(T.TrainLossStop { 0.01 }, { 1, 1e-3 }))
  end)

  it("EarlyStopping can be raised as the class or an instance", function()
    local is = dnn.train.policies.is_early_stopping
    assert.is_true(is(select(2, pcall(error, T.EarlyStopping))))
    assert.is_true(is(select(2, pcall(error, T.EarlyStopping("why")))))
    assert.is_false(is("EarlyStopping"))
    assert.are.equal("EarlyStopping: why", tostring(T.EarlyStopping("why")))
  end)
end)

describe("policy state", function()
  it("round-trips the plain fields through get_state/set_state and dnn.save", function()
    local p = T.DecreasingOnPlateau { initial = 1, multiplier = 0.5, patience = 0, rtol = 0, atol = 0 }
    p:epoch_finished(0, { 2.0 })
    p:epoch_finished(1, { 3.0 })
    local path = os.tmpname()
    dnn.save(path, p:get_state())
    local q = T.DecreasingOnPlateau { initial = 1, multiplier = 0.5, patience = 0, rtol = 0, atol = 0 }
    q:set_state(dnn.load(path))
    os.remove(path)
    assert.are.equal(0.5, q.value)
    assert.are.equal(2.0, q.margin_loss)
    q:epoch_finished(2, { 2.5 })
    p:epoch_finished(2, { 2.5 })
    assert.are.equal(p.value, q.value)
  end)

  it("leaves functions out (LambdaEpoch's function is the script's)", function()
    local st = T.LambdaEpoch(function(e) return e end):get_state()
    assert.is_nil(st.func)
    assert.are.equal(0, st.value)
  end)
end)

describe("train_model and policies", function()
  it("passes value policies by name at every step (the seed's WeightedModel)", function()
    local m = fake_model()
    T.train_model { m, batches(2), n_epochs = 3, lr = 1e-3, weights = T.Exponential { initial = 10, multiplier = 0.5 },
      alpha = "fixed" }
    local got = {}
    for i, o in ipairs(m.calls) do
      got[i] = o.weights
      assert.are.equal(1e-3, o.lr)
      assert.are.equal("fixed", o.alpha)
    end
    assert.are.same({ 10, 10, 5, 5, 2.5, 2.5 }, got)
  end)

  it("calls the hooks in deep_pipe's order with 0-based epochs and iterations", function()
    local log = {}
    local rec = T.Policy:extend("Recorder")
    function rec:epoch_started(e) log[#log + 1] = "start " .. e end
    function rec:train_step_started(e, i) log[#log + 1] = ("step %d %d"):format(e, i) end
    function rec:train_step_finished(e, i, loss) log[#log + 1] = ("done %d %d %g"):format(e, i, loss) end
    function rec:validation_started(e, losses) log[#log + 1] = ("val %d %d"):format(e, #losses) end
    function rec:epoch_finished(e, info, opts)
      log[#log + 1] = ("end %d %d %g %g %g"):format(e, #info.train_losses, info[2], info.metrics.acc, opts.policies.lr)
    end
    T.train_model { fake_model({ 0.5, 0.25, 0.125, 0.0625 }), batches(2), n_epochs = 2, lr = 0.1,
      validate = function() return { acc = 0.75 } end, policies = { rec() } }
    assert.are.same({
      "start 0", "step 0 0", "done 0 0 0.5", "step 0 1", "done 0 1 0.25", "val 0 2", "end 0 2 0.25 0.75 0.1",
      "start 1", "step 1 0", "done 1 0 0.125", "step 1 1", "done 1 1 0.0625", "val 1 2", "end 1 2 0.0625 0.75 0.1",
    }, log)
  end)

  it("a plain table with hooks is a policy too", function()
    local n = 0
    local watcher = { epoch_finished = function(self, e, losses, opts) n = n + #losses end }
    T.train_model { fake_model(), batches(3), n_epochs = 2, policies = { watcher } }
    assert.are.equal(6, n)
  end)

  it("DecreasingOnPlateau as lr sees the epoch's train losses", function()
    local m = fake_model({ 1, 1, 2, 2, 3, 3 })
    T.train_model { m, batches(2), n_epochs = 3,
      lr = T.DecreasingOnPlateau { initial = 1, multiplier = 0.5, patience = 0, rtol = 0, atol = 0 } }
    assert.are.same({ 1, 1, 1, 1, 0.5, 0.5 }, { m.calls[1].lr, m.calls[2].lr, m.calls[3].lr, m.calls[4].lr,
      m.calls[5].lr, m.calls[6].lr })
  end)

  it("EarlyStopping from a policy ends training cleanly", function()
    local m = fake_model({ 1, 1, 1e-6, 1e-6, 1, 1 })
    local r = T.train_model { m, batches(2), n_epochs = 10, policies = { T.TrainLossStop() }, quiet = true }
    assert.is_true(r.stopped)
    assert.are.equal(2, r.epochs)
    assert.are.equal(4, m.k)
    assert.truthy(r.messages[1]:find("early stopping after epoch 2", 1, true), r.messages[1])
  end)

  it("an ordinary error in a policy names the policy and the hook", function()
    local Boom = T.ValuePolicy:extend("Boom")
    function Boom:epoch_started(e) if e == 1 then error("no value for epoch 1") end end
    local err = check.fails_with(function()
      T.train_model { fake_model(), batches(1), n_epochs = 3, weights = Boom(1) }
    end, "policy 'weights' (Boom) failed in epoch_started", "no value for epoch 1")
    assert.is_nil(err:find("EarlyStopping", 1, true))
    check.fails_with(function()
      T.train_model { fake_model(), batches(1), n_epochs = 1,
        policies = { { epoch_finished = function() error("bad") end } } }
    end, "policy 'policies[1]' (table) failed in epoch_finished", "bad")
  end)

  it("TimeProfiler reports each epoch's timings", function()
    local out = { text = "" }
    function out:write(...) for _, s in ipairs({ ... }) do self.text = self.text .. s end end
    function out:flush() end
    T.train_model { fake_model(), batches(2), n_epochs = 1, policies = { T.TimeProfiler { out } } }
    for _, k in ipairs({ "Epoch 0 time profiling:", "Epoch:", "Train:", "Validation:", "Total Batch Iter:",
      "Total Train Step:", "Avg Batch Iter:", "Avg Train Step:" }) do
      assert.truthy(out.text:find(k, 1, true), k)
    end
    local logged = {}
    T.train_model { fake_model(), batches(2), n_epochs = 2, policies = {
      T.TimeProfiler { function(tag, s, e) logged[#logged + 1] = tag .. "@" .. e end } } }
    assert.are.equal(14, #logged)
    assert.are.equal("time/avg_train_step@1", logged[14])
  end)

  it("Progress writes a line per epoch with the step count and the loss", function()
    local out = { text = "" }
    function out:write(...) for _, s in ipairs({ ... }) do self.text = self.text .. s end end
    function out:flush() end
    T.train_model { fake_model({ 0.5, 0.25, 0.125 }), batches(3), n_epochs = 1,
      policies = { T.Progress { output = out } } }
    assert.truthy(out.text:match("^Epoch 1: 3 it%. Train loss: 0%.125 %[[%d.]+s, [%d.]+ it/s%]\n$"), out.text)
  end)

  it("refuses what is not a policy", function()
    check.fails_with(function() T.train_model { fake_model(), batches(1), policies = { 3 } } end,
      "policies[1] is a number, not a policy")
    check.fails_with(function() T.train_model { fake_model(), batches(1), lr = "fast" } end,
      "lr must be a number or a value policy")
  end)
end)
