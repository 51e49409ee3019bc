-- dnn.metrics: Keras's stateful metrics against a NumPy transcription of
-- Keras 2.15 (spec/fixtures/metrics/keras.lua), the scikit-learn functions
-- against scikit-learn's own output (spec/fixtures/metrics/sklearn.lua),
-- both made by scripts/make_fixtures_metrics.py; batched updates, lookup,
-- configs and misuse.
local dnn = require "dnn"
local M = require "dnn.metrics"
local check = require "support.check"

local ROOT = os.getenv("DNN_ROOT") or "."
local KERAS = dofile(ROOT .. "/spec/fixtures/metrics/keras.lua")
local SKLEARN = dofile(ROOT .. "/spec/fixtures/metrics/sklearn.lua")

-- Keras computes per-sample values in float32; the counts and sums are
-- exact or float64 on both sides.
local KERAS_TOL = 2e-6
local SKLEARN_TOL = 1e-6

local function close(got, want, tol, what)
  if type(want) == "table" then
    assert(type(got) == "table", ("%s: expected a list, got %s"):format(what, tostring(got)))
    assert.are.equal(#want, #got, what .. ": list length")
  end
  local e = check.rel_err(got, want)
  assert(e <= tol, ("%s: normalised error %g > %g (got %s, want %s)"):format(what, e, tol,
    type(got) == "table" and table.concat(check.flatten(got), ",") or tostring(got),
    type(want) == "table" and table.concat(check.flatten(want), ",") or tostring(want)))
end

local function tensor32(v) return dnn.tensor(v, { dtype = "float32" }) end

-- The batches of a Keras fixture dataset: {y_true, y_pred, sample_weight}.
local function batches(d)
  local yt, yp = tensor32(d.y_true), tensor32(d.y_pred)
  local sw = d.sample_weight and tensor32(d.sample_weight) or nil
  local out = {}
  for _, s in ipairs(d.splits) do
    out[#out + 1] = { yt:narrow(1, s[1], s[2]), yp:narrow(1, s[1], s[2]), sw and sw:narrow(1, s[1], s[2]) or nil }
  end
  return out, { yt, yp, sw }
end

describe("Keras metrics against the NumPy transcription of Keras 2.15", function()
  for _, c in ipairs(KERAS.cases) do
    local d = KERAS.data[c.data]
    it(c.cls .. ": " .. c.title, function()
      local m = M[c.cls](c.args)
      local parts, whole = batches(d)
      for _, b in ipairs(parts) do
        if c.values then m:update_state(b[2], b[3]) else m:update_state(b[1], b[2], b[3]) end
      end
      close(m:result(), c.result, KERAS_TOL, c.title)
      -- one update on the concatenated data gives the same result
      local once = M[c.cls](c.args)
      if c.values then once:update_state(whole[2], whole[3]) else once:update_state(whole[1], whole[2], whole[3]) end
      close(once:result(), c.result, KERAS_TOL, c.title .. " (one batch)")
      m:reset_state()
      m:update_state(parts[1][1], parts[1][2])
      local fresh = M[c.cls](c.args)
      fresh:update_state(parts[1][1], parts[1][2])
      close(m:result(), fresh:result(), 1e-12, c.title .. " (after reset_state)")
    end)
  end
end)

describe("Keras metrics: the documented examples", function()
  it("AUC with 3 thresholds gives Keras's 0.75, and 1.0 weighted", function()
    local m = M.AUC{ num_thresholds = 3 }
    m:update_state({ 0, 0, 1, 1 }, { 0, 0.5, 0.3, 0.9 })
    assert.are.equal(0.75, m:result())
    m:reset_state()
    m:update_state({ 0, 0, 1, 1 }, { 0, 0.5, 0.3, 0.9 }, { sample_weight = { 1, 0, 0, 1 } })
    assert.are.equal(1.0, m:result())
  end)

  it("Precision and Recall match the Keras docstrings (top_k too)", function()
    local p = M.Precision()
    assert.is_true(math.abs(p({ 0, 1, 1, 1 }, { 1, 0, 1, 1 }) - 2 / 3) < 1e-12)
    assert.are.equal(0.0, M.Precision{ top_k = 2 }({ 0, 0, 1, 1 }, { 1, 1, 1, 1 }))
    assert.are.equal(0.5, M.Precision{ top_k = 4 }({ 0, 0, 1, 1 }, { 1, 1, 1, 1 }))
    assert.are.equal(1.0, M.Recall()({ 0, 1, 1, 1 }, { 1, 0, 1, 1 }, { 0, 0, 1, 0 }))
  end)

  it("F1Score per class, R2Score, RMSE and MSLE match the Keras docstrings", function()
    local f = M.F1Score{ threshold = 0.5 }
    f:update_state({ { 1, 1, 1 }, { 1, 0, 0 }, { 1, 1, 0 } }, { { 0.2, 0.6, 0.7 }, { 0.2, 0.6, 0.6 }, { 0.6, 0.8, 0.0 } })
    close(f:result(), { 0.5, 0.8, 0.6666667 }, 1e-6, "F1")
    close(M.R2Score()({ { 1 }, { 4 }, { 3 } }, { { 2 }, { 4 }, { 4 } }), 0.57142854, 1e-6, "R2")
    close(M.RootMeanSquaredError()({ { 0, 1 }, { 0, 0 } }, { { 1, 1 }, { 0, 0 } }, { 1, 0 }), 0.70710677, 1e-6, "RMSE")
    close(M.MeanSquaredLogarithmicError()({ { 0, 1 }, { 0, 0 } }, { { 1, 1 }, { 0, 0 } }), 0.12011322, 1e-6, "MSLE")
    assert.are.equal(250000000.0, M.MeanAbsolutePercentageError()({ { 0, 1 }, { 0, 0 } }, { { 1, 1 }, { 0, 0 } }))
  end)

  it("Mean and Sum take values and weights in all three call forms", function()
    local m = M.Mean()
    m:update_state({ 1, 3, 5, 7 }, { sample_weight = { 1, 1, 0, 0 } })
    assert.are.equal(2.0, m:result())
    m:update_state{ { 10 }, sample_weight = { 2 } }
    assert.are.equal((1 + 3 + 20) / 4, m:result())
    local s = M.Sum{ name = "total" }
    s:update_state({ 1, 3, 5, 7 })
    s:update_state(dnn.tensor{ 1, 1 }, dnn.tensor{ 2, 0 })
    assert.are.equal(18.0, s:result())
    assert.are.equal("total", s.name)
  end)
end)

describe("Keras metrics: batching, names, configs", function()
  it("60k samples in batches of 64 equal one update and a plain Lua count", function()
    dnn.manual_seed(7)
    local n, C = 60000, 10
    local probs = dnn.rand(n, C)
    local labels = dnn.randint(0, C, { n })
    local whole = M.SparseCategoricalAccuracy()
    whole:update_state(labels, probs)
    local batched = M.SparseCategoricalAccuracy()
    local auc_b, auc_w = M.AUC(), M.AUC()
    local bin = labels:lt(5):to("float32")
    local score = probs:select(2, 1):contiguous()
    for start = 1, n, 64 do
      local len = math.min(64, n - start + 1)
      batched:update_state(labels:narrow(1, start, len), probs:narrow(1, start, len))
      auc_b:update_state(bin:narrow(1, start, len), score:narrow(1, start, len))
    end
    auc_w:update_state(bin, score)
    -- independent reference: argmax by a Lua loop
    local P, Y = probs:totable(), labels:totable()
    local hits = 0
    for i = 1, n do
      local best = 1
      for j = 2, C do
        if P[i][j] > P[i][best] then best = j end
      end
      if best - 1 == Y[i] then hits = hits + 1 end
    end
    assert.are.equal(hits / n, whole:result())
    assert.are.equal(hits / n, batched:result())
    close(auc_b:result(), auc_w:result(), 1e-12, "AUC batched vs whole")
    assert.is_true(math.abs(auc_w:result() - 0.5) < 0.02) -- random scores
  end)

  it("default names are Keras's snake_case names, name= overrides", function()
    local names = {
      SparseCategoricalAccuracy = "sparse_categorical_accuracy", AUC = "auc", Precision = "precision",
      Recall = "recall", BinaryAccuracy = "binary_accuracy", F1Score = "f1_score", R2Score = "r2_score",
      RootMeanSquaredError = "root_mean_squared_error", MeanAbsoluteError = "mean_absolute_error",
      TopKCategoricalAccuracy = "top_k_categorical_accuracy", KLDivergence = "kullback_leibler_divergence",
      LogCoshError = "logcosh", Mean = "mean", Sum = "sum", TruePositives = "true_positives",
      BinaryCrossentropy = "binary_crossentropy",
    }
    for cls, name in pairs(names) do assert.are.equal(name, M[cls]().name, cls) end
    assert.are.equal("val_auc", M.AUC{ name = "val_auc" }.name)
    assert.are.equal("k3", M.SparseTopKCategoricalAccuracy(3, "k3").name)
    assert.are.equal(3, M.SparseTopKCategoricalAccuracy(3, "k3").k)
  end)

  it("get_config round-trips through from_config, serialize and deserialize", function()
    local a = M.AUC{ num_thresholds = 50, curve = "PR", name = "pr" }
    local cfg = a:get_config()
    assert.are.equal(50, cfg.num_thresholds)
    assert.are.equal("PR", cfg.curve)
    local b = M.AUC.from_config(cfg)
    assert.are.equal("pr", b.name)
    assert.are.equal(50, b.num_thresholds)
    local s = M.serialize(M.Precision{ thresholds = { 0.3, 0.6 }, class_id = 1 })
    assert.are.equal("Precision", s.class_name)
    local p = M.deserialize(s)
    assert.are.same({ 0.3, 0.6 }, p.thresholds)
    assert.are.equal(1, p.class_id)
    local w = M.deserialize(M.serialize(M.MeanMetricWrapper(M.get("mae"), { name = "mae" })))
    assert.are.equal("mae", w.name)
    assert.are.equal(1.0, w({ 1, 2 }, { 2, 3 }))
  end)

  it("get resolves names, aliases, classes, objects and functions as Keras's metrics.get", function()
    assert.are.equal(M.get("mae"), M.get("mean_absolute_error"))
    assert.are.equal("auc", M.get("AUC").name)
    local obj = M.Recall()
    assert.are.equal(obj, M.get(obj))
    local fn = function(t, p) return (t - p):abs() end
    assert.are.equal(fn, M.get(fn))
    assert.are.equal("precision", M.get(M.Precision).name)
    assert.are.equal("precision", M.get({ class_name = "Precision", config = {} }).name)
    -- as_metric: what compile builds, named as the user wrote it
    local m = M.as_metric("mae")
    assert.are.equal("mae", m.name)
    assert.are.equal(0.5, m({ 1, 2 }, { 1.5, 2.5 }))
    assert.are.equal("recall", M.as_metric(M.Recall()).name)
    local custom = M.as_metric(fn)
    assert.are.equal("mean_metric_wrapper", custom.name)
    assert.are.equal(1.0, custom({ 1 }, { 2 }))
  end)

  it("accuracy_for and crossentropy_for pick Keras's class from the loss and the output size", function()
    local function name(cls) return cls().name end
    assert.are.equal("binary_accuracy", name(M.accuracy_for("binary_crossentropy", 1)))
    assert.are.equal("binary_accuracy", name(M.accuracy_for("mse", 1)))
    assert.are.equal("sparse_categorical_accuracy", name(M.accuracy_for("sparse_categorical_crossentropy", 10)))
    assert.are.equal("sparse_categorical_accuracy", name(M.accuracy_for(dnn.losses.SparseCategoricalCrossentropy(), 10)))
    assert.are.equal("categorical_accuracy", name(M.accuracy_for("categorical_crossentropy", 10)))
    assert.are.equal("categorical_accuracy", name(M.accuracy_for(dnn.losses.categorical_crossentropy, 3)))
    assert.are.equal("sparse_categorical_accuracy", name(M.accuracy_for("mse", 4, true)))
    local _, fname = M.accuracy_for("bce", 1)
    assert.are.equal("binary_accuracy", fname)
    assert.are.equal("sparse_categorical_crossentropy", name(M.crossentropy_for("sparse_categorical_crossentropy", 10)))
    assert.are.equal("binary_crossentropy", name(M.crossentropy_for("mse", 1)))
  end)

  it("MeanMetricWrapper takes any Lua function of (y_true, y_pred) and keywords", function()
    local m = M.MeanMetricWrapper(function(t, p, o) return (t - p):abs() * o.scale end, { name = "scaled", scale = 2 })
    m:update_state({ 1, 2, 3 }, { 1, 1, 1 })
    m:update_state({ 0 }, { 4 }, { 3 })
    assert.are.equal((0 + 2 + 4 + 3 * 8) / 6, m:result())
    assert.are.equal(2, m:get_config().scale)
    local loss_metric = M.MeanMetricWrapper(dnn.losses.binary_crossentropy)
    assert.are.equal("binary_crossentropy", loss_metric.name)
    local r = loss_metric({ { 1 }, { 0 } }, { { 0.9 }, { 0.2 } })
    close(r, (-math.log(0.9 + 1e-7) - math.log(0.8 + 1e-7)) / 2, 1e-6, "bce metric")
  end)

  it("vector results: several thresholds and per-class F1 are Lua lists", function()
    local p = M.Precision{ thresholds = { 0.2, 0.8 } }
    p:update_state({ 1, 0, 1, 0 }, { 0.9, 0.5, 0.3, 0.1 })
    assert.are.same({ 2 / 3, 1.0 }, p:result())
    assert.matches("result={0.666667, 1}", tostring(p), 1, true)
    local f = M.F1Score()
    assert.are.same({}, f:result())
  end)
end)

describe("scikit-learn functions against scikit-learn " .. "1.2", function()
  local function resolve(v, as_tensor)
    if type(v) == "string" then
      v = SKLEARN.data[v]
      if as_tensor then return dnn.tensor(v, { dtype = "float64" }) end
    end
    return v
  end
  for i, c in ipairs(SKLEARN.cases) do
    it(c.fn .. ": " .. c.title, function()
      -- odd cases pass tensors, even cases Lua tables
      local tensors = i % 2 == 1
      local opts = {}
      for k, v in pairs(c.opts) do opts[k] = k == "sample_weight" and resolve(v, tensors) or v end
      local got = M[c.fn](resolve(c.y_true, tensors), resolve(c.y_pred, tensors), opts)
      if c.fn == "confusion_matrix" then
        local int = opts.sample_weight == nil and opts.normalize == nil
        assert.are.equal(int and "int64" or "float64", got.dtype)
        got = got:totable()
      end
      close(got, c.expected, SKLEARN_TOL, c.title)
    end)
  end

  it("both call forms: f(y_true, y_pred, {opts}) and f{y_true, y_pred, key=v}", function()
    local a = M.f1_score({ 0, 1, 2, 2 }, { 0, 2, 2, 2 }, { average = "macro" })
    local b = M.f1_score{ { 0, 1, 2, 2 }, { 0, 2, 2, 2 }, average = "macro" }
    assert.are.equal(a, b)
    assert.are.equal(0.5, M.mean_absolute_error{ y_true = { 1, 2 }, y_pred = { 1.5, 2.5 } })
  end)

  it("sklearn names shadow the Keras functions of the same name; the short aliases stay Keras's", function()
    assert.are.equal(0.25, M.mean_squared_error({ 1, 2 }, { 1.5, 2.5 }))           -- sklearn: a number
    assert.is_true(dnn.is_tensor(M.mse(dnn.tensor{ { 1 }, { 2 } }, dnn.tensor{ { 1.5 }, { 2.5 } }))) -- Keras: per sample
  end)
end)

describe("metrics misuse", function()
  local fails = check.fails_with
  it("unknown names list the known ones", function()
    fails(function() M.get("acuracy") end, "metrics.get: unknown metric 'acuracy'", "known metrics:", "accuracy")
    fails(function() M.deserialize({ class_name = "Nope" }) end, "unknown metric 'Nope'")
  end)
  it("bad constructor options name the metric and the option", function()
    fails(function() M.AUC{ curve = "XY" } end, 'AUC: invalid curve "XY"', '"ROC" or "PR"')
    fails(function() M.AUC{ summation_method = "mid" } end, "invalid summation_method")
    fails(function() M.AUC{ num_thresholds = 1 } end, "AUC: num_thresholds must be an integer > 1, got 1")
    fails(function() M.AUC{ num_labels = 3 } end, "num_labels is needed only when multi_label is true")
    fails(function() M.Precision{ thresholds = { 0.5, 1.5 } } end, "Precision: threshold values must be in [0, 1]", "1.5")
    fails(function() M.Recall{ top_k = 0 } end, "Recall: top_k must be >= 1")
    fails(function() M.F1Score{ average = "samples" } end, 'F1Score: invalid average "samples"')
    fails(function() M.FBetaScore{ beta = -1 } end, "FBetaScore: beta must be a number > 0")
    fails(function() M.F1Score{ threshold = 1.5 } end, "0 < threshold <= 1")
    fails(function() M.R2Score{ class_aggregation = "mean" } end, 'R2Score: invalid class_aggregation "mean"')
    fails(function() M.BinaryAccuracy{ thrshold = 0.4 } end, "BinaryAccuracy: unknown argument 'thrshold'",
      "threshold")
    fails(function() M.TopKCategoricalAccuracy{ k = 2.5 } end, "k must be an integer")
    fails(function() M.MeanMetricWrapper(42) end, "MeanMetricWrapper: fn must be a function")
    fails(function() M.Mean{ name = 3 } end, "Mean: name must be a string")
  end)
  it("bad update_state inputs name the metric and the shapes", function()
    fails(function() M.SparseCategoricalAccuracy():update_state({ 0, 1, 2 }, dnn.rand(4, 3)) end,
      "sparse_categorical_accuracy", "[3,1]", "[4,3]")
    fails(function() M.CategoricalAccuracy():update_state(dnn.rand(4, 2), dnn.rand(4, 3)) end,
      "categorical_accuracy: y_true [4,2] and y_pred [4,3] must have the same shape")
    fails(function() M.Precision{ class_id = 7 }:update_state(dnn.rand(5, 3), dnn.rand(5, 3)) end,
      "precision: class_id 7 is out of range for y_pred [5,3] (class ids are 0..2)")
    fails(function() M.F1Score():update_state({ 1, 0 }, { 0.3, 0.6 }) end, "f1_score: expects 2D inputs", "[2]")
    fails(function() M.AUC{ multi_label = true }:update_state({ 1, 0 }, { 0.3, 0.6 }) end,
      "must have rank 2 when multi_label=true")
    fails(function() M.Mean():update_state({ 1, 2, 3 }, { 1, 2 }) end, "mean: sample_weight [2] does not fit",
      "[3]")
    fails(function() M.AUC():update_state(dnn.tensor{ 0, 1 }) end, "auc: y_pred is missing")
    fails(function() M.Accuracy():update_state({ 1, 2 }, { 1, 2 }, { weights = 1 }) end,
      "accuracy: unknown option 'weights'")
    fails(function() M.accuracy_for("mse", 1.5) end, "accuracy_for: y_pred_last_dim must be an integer")
    fails(function() M.Precision{ top_k = 5 }:update_state(dnn.rand(2, 3), dnn.rand(2, 3)) end,
      "top_k=5 is larger than the number of classes")
  end)
  it("scikit-learn functions refuse what scikit-learn refuses, with its reasons", function()
    fails(function() M.accuracy_score({ 0, 1 }, { 0.2, 0.7 }) end, "accuracy_score: y_pred holds continuous values",
      "classes()")
    fails(function() M.precision_score({ 0, 1, 2 }, { 0, 1, 1 }) end, 'target is multiclass but average="binary"')
    fails(function() M.precision_score({ 0, 2 }, { 0, 2 }) end, "pos_label=1 is not a valid label", "[0, 2]")
    fails(function() M.f1_score({ 0, 1 }, { 0, 1 }, { average = "samples" }) end, "f1_score: average must be one of")
    fails(function() M.recall_score({ 0, 1, 1 }, { 0, 1, 1, 0 }) end,
      "found input variables with inconsistent numbers of samples: [3, 4]")
    fails(function() M.roc_auc_score({ 1, 1, 1 }, { 0.2, 0.3, 0.9 }) end, "only one class present in y_true")
    fails(function() M.roc_auc_score({ 0, 1, 2 }, { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }) end,
      'multi_class must be "ovo" or "ovr"')
    fails(function() M.roc_auc_score({ 0, 1, 2 }, { { 1, 1, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }, { multi_class = "ovr" }) end,
      "should sum up to 1.0 over classes")
    fails(function() M.roc_auc_score({ 0, 1, 1 }, { { 0.5, 0.5 }, { 0.2, 0.8 }, { 0.1, 0.9 } }) end,
      "y_score for a binary y_true must be [N]")
    fails(function() M.log_loss({ 1, 1 }, { 0.9, 0.8 }) end, "log_loss: y_true contains only one label")
    fails(function() M.log_loss({ 0, 1, 2 }, { { 0.5, 0.5 }, { 0.5, 0.5 }, { 0.5, 0.5 } }) end,
      "different numbers of classes 3, 2")
    fails(function() M.mean_squared_log_error({ 1, -2 }, { 1, 2 }) end, "cannot be used when targets contain negative values")
    fails(function() M.r2_score({ 1, 2 }, { 1, 2 }, { multi_output = "raw_values" }) end,
      "r2_score: unknown option 'multi_output'", "multioutput")
    fails(function() M.confusion_matrix({ 0, 1 }, { 0, 1 }, { labels = { 5 } }) end,
      "at least one label specified must be in y_true")
    fails(function() M.mean_absolute_error({ 1, 2 }, { 1, 0 / 0 }) end, "y_pred contains NaN or infinity")
    fails(function() M.accuracy_score({ 0, 1 }, { 0, 1 }, { sample_weight = { 1, 2, 3 } }) end,
      "sample_weight [3] must have one weight per sample (2)")
    fails(function() M.roc_auc_score({ 0, 1 }, { 0.1, 0.9 }, { max_fpr = 0.5 }) end, "max_fpr")
  end)
end)
