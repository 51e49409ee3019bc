-- dnn.callbacks.base_callbacks (DSS): the "Test <metric>" logs on a fake
-- model against scikit-learn and DSS's formulas
-- (spec/fixtures/metrics/dss.lua, from scripts/make_fixtures_metrics.py),
-- Sequence validation data, the shared variables, the interrupt callback
-- and misuse.
local dnn = require "dnn"
require "dnn.callbacks.dss"
local check = require "support.check"
local CallbackList = require "dnn.callbacks.CallbackList"

local ROOT = os.getenv("DNN_ROOT") or "."
local CASES = dofile(ROOT .. "/spec/fixtures/metrics/dss.lua")
local TOL = 1e-6

-- A model whose predictions are its inputs: validation x holds the
-- predictions the fixture scored.
local function fake_model(validation_data)
  return {
    validation_data = validation_data,
    predict_calls = 0,
    predict = function(self, x, opts)
      assert(type(opts) == "table" and opts.verbose == 0, "predict is called with verbose=0")
      self.predict_calls = self.predict_calls + 1
      return x
    end,
  }
end

-- The custom scores the fixture script computed.
local CUSTOM = {
  binary = function(_, pred) return pred:mean():item() end,                       -- predicted positive rate
  multiclass = function(_, pred) return pred:eq(0):to("float64"):mean():item() end, -- share of class 0
  regression = function(y, p) return (y - p):abs():max():item() end,               -- max error
}

-- A Sequence over tensors in batches of `bs` (the dnn.data protocol).
local function sequence(x, y, bs)
  local n = x:size()[1]
  return {
    len = function() return math.ceil(n / bs) end,
    get = function(_, i)
      local start = (i - 1) * bs + 1
      local len = math.min(bs, n - start + 1)
      return x:narrow(1, start, len), y:narrow(1, start, len)
    end,
  }
end

local function compare(logs, expected, title)
  local n = 0
  for name, want in pairs(expected) do
    local got = logs[name]
    assert(type(got) == "number", ("%s: %s missing from the logs"):format(title, name))
    local err = math.abs(got - want) / math.max(math.abs(want), 1e-300)
    if want == 0 then err = math.abs(got) end
    assert(err <= TOL, ("%s: %s = %.17g, scikit-learn/DSS %.17g"):format(title, name, got, want))
    n = n + 1
  end
  for name in pairs(logs) do
    if name:sub(1, 5) == "Test " then assert(expected[name] ~= nil, title .. ": unexpected log " .. name) end
  end
  return n
end

describe("DSS base callbacks: the Test metrics", function()
  for _, c in ipairs(CASES) do
    it(c.title .. ": every metric of the task, as scikit-learn and DSS compute it", function()
      local opts = { task = c.task, custom_score = CUSTOM[c.task] }
      for k, v in pairs(c.opts) do opts[k] = v end
      local cbs = dnn.callbacks.base_callbacks(opts)
      assert.are.equal(2, #cbs)
      local x = dnn.tensor(c.pred, { dtype = "float64" })
      local y = dnn.tensor(c.y, { dtype = "float64" })
      local model = fake_model({ x = x, y = y })
      local list = CallbackList(cbs, { model = model, params = { epochs = 1, steps = 1, verbose = 0 } })
      local logs = { loss = 0.5, val_loss = 0.6 }
      list:call("on_epoch_end", 0, logs)
      local n = compare(logs, c.expected, c.title)
      assert.are.equal(n, c.task == "binary" and 10 or 8)
      assert.are.equal(0.5, logs.loss)
      assert.are.equal(1, model.predict_calls)
    end)

    it(c.title .. ": a Sequence of validation batches gives the same logs", function()
      local opts = { task = c.task, custom_score = CUSTOM[c.task] }
      for k, v in pairs(c.opts) do opts[k] = v end
      local cb = dnn.callbacks.base_callbacks(opts)[1]
      local x = dnn.tensor(c.pred, { dtype = "float64" })
      local y = dnn.tensor(c.y)                      -- int64 labels or targets
      local model = fake_model(sequence(x, y, 32))
      cb:set_model(model)
      local logs = {}
      cb:on_epoch_end(3, logs)
      compare(logs, c.expected, c.title .. " (Sequence)")
      assert.are.equal(math.ceil(x:size()[1] / 32), model.predict_calls)
    end)
  end

  it("one-hot validation targets are read as class ids; float32 predictions work", function()
    local c = CASES[3]
    assert.are.equal("multiclass", c.task)
    local y = dnn.tensor(c.y):one_hot(4):float()
    local x = dnn.tensor(c.pred, { dtype = "float32" })
    local cb = dnn.callbacks.base_callbacks{ task = "multiclass" }[1]
    cb:set_model(fake_model({ x = x, y = y }))
    local logs = {}
    cb:on_epoch_end(0, logs)
    assert.are.equal(c.expected["Test Accuracy"], logs["Test Accuracy"])
    assert.is_true(math.abs(logs["Test ROC AUC"] - c.expected["Test ROC AUC"]) < 1e-4)
    assert.is_nil(logs["Test Custom score"]) -- only with custom_score
  end)

  it("dss_scores computes the same table without a model", function()
    local c = CASES[1]
    local opts = { task = c.task, custom_score = CUSTOM[c.task], dnn.tensor(c.y), dnn.tensor(c.pred, { dtype = "float64" }) }
    for k, v in pairs(c.opts) do opts[k] = v end
    compare(dnn.callbacks.dss_scores(opts), c.expected, "dss_scores")
  end)

  it("without validation data the callback warns once and leaves the logs alone", function()
    local cb = dnn.callbacks.base_callbacks{ task = "regression" }[1]
    cb:set_model(fake_model(nil))
    local logs = { loss = 1 }
    local old = io.stderr
    local written = {}
    io.stderr = { write = function(_, s) written[#written + 1] = s end }
    local ok, err = pcall(function()
      cb:on_epoch_end(0, logs)
      cb:on_epoch_end(1, logs)
    end)
    io.stderr = old
    assert(ok, err)
    assert.are.same({ loss = 1 }, logs)
    assert.are.equal(1, #written)
    assert.matches("no validation data", written[1], 1, true)
  end)
end)

describe("DSS base callbacks: DKU_MODEL_METRIC variables", function()
  local function variables(opts)
    dnn.callbacks.base_callbacks(opts)
    return dnn.get_variable("DKU_MODEL_METRIC"), dnn.get_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER")
  end
  it("name the optimised metric's log entry and its direction", function()
    local m, gib = variables{ task = "binary", metric = "ROC AUC" }
    assert.are.equal("Test ROC AUC", m)
    assert.is_true(gib)
    m, gib = variables{ task = "binary", metric = "Log Loss" }
    assert.are.equal("Test Log Loss", m)
    assert.is_false(gib)
    m, gib = variables{ task = "regression", metric = "RMSLE" }
    assert.are.equal("Test RMSLE", m)
    assert.is_false(gib)
    m, gib = variables{ task = "regression" }
    assert.are.equal("Test R2 Score", m)
    assert.is_true(gib)
    m, gib = variables{ task = "multiclass", metric = "F1" } -- DSS's code
    assert.are.equal("Test F1 Score", m)
    assert.is_true(gib)
    m, gib = variables{ task = "binary", metric = "cumulative_lift" }
    assert.are.equal("Test Cumulative Lift", m)
    m, gib = variables{ task = "multiclass", metric = "Custom score", custom_score = function() return 0 end,
      custom_score_greater_is_better = false }
    assert.are.equal("Test Custom score", m)
    assert.is_false(gib)
  end)
  it("get_variable / set_variable are a small store", function()
    dnn.set_variable("MY_VAR", 42)
    assert.are.equal(42, dnn.get_variable("MY_VAR"))
    assert.is_nil(dnn.get_variable("NEVER_SET"))
    check.fails_with(function() dnn.get_variable(1) end, "get_variable: the name must be a string")
  end)
end)

describe("DSS base callbacks: interrupt", function()
  it("stops training when an interrupt is requested, not before", function()
    local requested = false
    local cbs = dnn.callbacks.base_callbacks{ task = "binary", interrupt_requested = function() return requested end }
    local model = fake_model(nil)
    cbs[2]:set_model(model)
    cbs[2]:on_train_batch_end(0, {})
    cbs[2]:on_epoch_end(0, {})
    assert.is_nil(model.stop_training)
    requested = true
    cbs[2]:on_train_batch_end(1, {})
    assert.is_true(model.stop_training)
    model.stop_training = false
    cbs[2]:on_epoch_end(1, {})
    assert.is_true(model.stop_training)
  end)
  it("by default it reads the Ctrl-C counter (none pending here)", function()
    assert.are.equal(0, dnn.core._sys.sigint_pending())
    local cb = dnn.callbacks.base_callbacks{ task = "regression" }[2]
    local model = fake_model(nil)
    cb:set_model(model)
    cb:on_epoch_end(0, {})
    assert.is_nil(model.stop_training)
    cb.interrupt_requested = function() return true end -- replaceable for tests
    cb:on_epoch_end(1, {})
    assert.is_true(model.stop_training)
  end)
end)

describe("DSS base callbacks misuse", function()
  local fails = check.fails_with
  it("unknown tasks and metrics list the known ones", function()
    fails(function() dnn.callbacks.base_callbacks{ task = "ranking" } end,
      'base_callbacks: unknown task "ranking"', '"binary", "multiclass", "regression"')
    fails(function() dnn.callbacks.base_callbacks{} end, "unknown task nil")
    fails(function() dnn.callbacks.base_callbacks{ task = "multiclass", metric = "Cumulative Lift" } end,
      'unknown metric "Cumulative Lift" for task "multiclass"', '"ROC AUC"', '"Log Loss"')
    fails(function() dnn.callbacks.base_callbacks{ task = "regression", metric = "AUC" } end,
      '"EVS", "MAPE", "MAE", "MSE", "RMSE", "RMSLE", "R2 Score", "Custom Score"')
  end)
  it("bad options name the option", function()
    fails(function() dnn.callbacks.base_callbacks{ task = "binary", metric = "Custom score" } end,
      'metric "Custom score" needs custom_score=function')
    fails(function() dnn.callbacks.base_callbacks{ task = "binary", cost_matrix = { tp = 1, gain = 2 } } end,
      "unknown cost_matrix entry 'gain' (entries: tp, tn, fp, fn)")
    fails(function() dnn.callbacks.base_callbacks{ task = "binary", lift_point = 1.5 } end,
      "lift_point must be a number in (0, 1], got 1.5")
    fails(function() dnn.callbacks.base_callbacks{ task = "binary", liftpoint = 0.3 } end,
      "unknown option 'liftpoint'", "lift_point")
    fails(function() dnn.callbacks.base_callbacks("binary") end, "expects one options table")
    fails(function() dnn.callbacks.base_callbacks{ task = "binary", custom_score = 3 } end,
      "custom_score must be a function")
  end)
  it("validation data that does not fit the task is reported through the callback list", function()
    local cbs = dnn.callbacks.base_callbacks{ task = "binary" }
    local list = CallbackList(cbs, { model = fake_model({ x = dnn.rand(6, 3), y = dnn.tensor{ 0, 1, 0, 1, 1, 0 } }) })
    fails(function() list:call("on_epoch_end", 0, {}) end,
      "DSSMetricsCallback.on_epoch_end", "a binary task needs one sigmoid column [N,1] or a 2-column softmax [N,2], got [6,3]")
    local mc = dnn.callbacks.base_callbacks{ task = "multiclass" }[1]
    mc:set_model(fake_model({ x = dnn.rand(3, 3), y = dnn.tensor{ 0, 5, 1 } }))
    fails(function() mc:on_epoch_end(0, {}) end, "targets hold class 5 but predictions have 3 columns")
    local bin = dnn.callbacks.base_callbacks{ task = "binary" }[1]
    bin:set_model(fake_model({ x = dnn.rand(3, 1), y = dnn.tensor{ 0, 2, 1 } }))
    fails(function() bin:on_epoch_end(0, {}) end, "binary targets must be 0 or 1")
    local one = dnn.callbacks.base_callbacks{ task = "binary" }[1]
    one:set_model(fake_model({ x = dnn.rand(3, 1), y = dnn.tensor{ 1, 1, 1 } }))
    fails(function() one:on_epoch_end(0, {}) end, "Test ROC AUC: roc_auc_score: only one class present in y_true")
    local reg = dnn.callbacks.base_callbacks{ task = "regression", custom_score = function() return 0 / 0 end }[1]
    reg:set_model(fake_model({ x = dnn.rand(4, 1), y = dnn.rand(4) }))
    fails(function() reg:on_epoch_end(0, {}) end, "Test Custom Score: custom_score returned NaN")
    local short = dnn.callbacks.base_callbacks{ task = "regression" }[1]
    short:set_model(fake_model({ x = dnn.rand(4, 1), y = dnn.rand(5) }))
    fails(function() short:on_epoch_end(0, {}) end, "4 predictions for 5 validation targets")
  end)
end)
