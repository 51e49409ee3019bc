-- Optimizers (dnn.optimizers): 50-step trajectories of every optimizer in
-- several configurations against a NumPy transcription of Keras's update
-- rules and against torch.optim where the two agree (fixtures made by
-- scripts/make_fixtures_optim.py), learning-rate schedules, state get/set,
-- the Keras and PyTorch calling styles, and misuse.
local dnn = require "dnn"
require "dnn.optimizers"
local check = require "support.check"
local O = dnn.optimizers
local S = O.schedules

local problem = require "fixtures.optim.problem"
local GROUPS = { "sgd", "rmsprop", "adam", "adamw", "adadelta", "adagrad", "adamax", "nadam", "ftrl", "lion" }

-- ---------------------------------------------------------------- helpers

local function param(data, dtype)
  local t = dnn.tensor(data, { dtype = dtype })
  t.requires_grad = true
  return t
end

local function flat(...)
  local out = {}
  for _, t in ipairs({ ... }) do
    for _, x in ipairs(check.flatten(t:totable())) do out[#out + 1] = x end
  end
  return out
end

-- The gradients of step t for the current w, b (nil for b on skipped steps).
local grad_cache = {}
local function gradients(case, t, w, b, dtype)
  local gw, gb
  if case.problem == "fixed" then
    local key = dtype .. t
    if not grad_cache[key] then
      grad_cache[key] = { dnn.tensor(problem.grads[t].w, { dtype = dtype }),
                          dnn.tensor(problem.grads[t].b, { dtype = dtype }) }
    end
    gw, gb = grad_cache[key][1], grad_cache[key][2]
  else
    local q = problem.quadratic
    dnn.no_grad(function()
      gw = (w - dnn.tensor(q.c[1], { dtype = dtype })) * dnn.tensor(q.a[1], { dtype = dtype })
        + dnn.tensor(q.noise[t].w, { dtype = dtype })
      gb = (b - dnn.tensor(q.c[2], { dtype = dtype })) * dnn.tensor(q.a[2], { dtype = dtype })
        + dnn.tensor(q.noise[t].b, { dtype = dtype })
    end)
  end
  if case.skip and t % 3 == 0 then gb = nil end
  return gw, gb
end

-- Runs a fixture case; style: "lists" (apply_gradients(grads, vars)), "pairs"
-- ({{g, v}, ...}) or "torch" (params at construction, .grad, step()).
-- Returns the trajectory: flat values of w and b after each step.
local function run_case(case, dtype, style)
  local w, b = param(problem.w0, dtype), param(problem.b0, dtype)
  local opt
  if style == "torch" then
    opt = O[case.class]({ w, b }, case.config)
  else
    opt = O[case.class](case.config)
  end
  if case.exclude then
    local list = {}
    for _, i in ipairs(case.exclude) do list[#list + 1] = ({ w, b })[i] end
    opt:exclude_from_weight_decay { var_list = list }
  end
  local traj = {}
  for t = 1, problem.steps do
    local gw, gb = gradients(case, t, w, b, dtype)
    if style == "lists" then
      assert.equal(t, opt:apply_gradients({ gw, gb, n = 2 }, { w, b }))
    elseif style == "pairs" then
      opt:apply_gradients { { gw, w }, { gb, b } }
    else
      opt:zero_grad()
      w.grad, b.grad = gw, gb
      opt:step()
    end
    traj[t] = flat(w, b)
  end
  assert.equal(problem.steps, opt.iterations)
  assert.is_true(w.requires_grad and b.requires_grad)
  return traj
end

local function worst_error(traj, ref)
  local worst, at = 0, 0
  for t = 1, #ref do
    local e = check.rel_err(traj[t], ref[t])
    if e > worst or e ~= e then worst, at = e, t end
  end
  return worst, at
end

local function assert_close_traj(traj, ref, tol, label)
  local e, at = worst_error(traj, ref)
  assert(e <= tol, ("%s: normalised error %g > %g at step %d"):format(label, e, tol, at))
end

-- ---------------------------------------------------------------- trajectories

local STYLES = { "lists", "pairs", "torch" }

for _, group in ipairs(GROUPS) do
  local cases = require("fixtures.optim." .. group)
  describe(group .. " trajectories", function()
    for i, case in ipairs(cases) do
      local style = STYLES[(i - 1) % #STYLES + 1]
      it(case.name .. " (float32, " .. style .. ") follows Keras" .. (case.torch and " and torch.optim" or ""),
        function()
          local traj = run_case(case, "float32", style)
          assert_close_traj(traj, case.keras, 1e-5, case.name .. " vs Keras")
          if case.torch then assert_close_traj(traj, case.torch, 1e-5, case.name .. " vs torch") end
        end)
      it(case.name .. " (float64) follows Keras to 1e-11", function()
        local traj = run_case(case, "float64", STYLES[i % #STYLES + 1])
        assert_close_traj(traj, case.keras, 1e-11, case.name .. " vs Keras")
      end)
    end
  end)
end

-- ---------------------------------------------------------------- schedules

describe("learning rate schedules", function()
  local fx = require "fixtures.optim.schedules"

  it("give Keras's values at every step", function()
    for _, s in ipairs(fx.schedules) do
      local sched = S.deserialize { class_name = s.class_name, config = s.config }
      for k, step in ipairs(fx.steps) do
        local v, want = sched(step), s.values[k]
        assert(math.abs(v - want) <= 1e-12 * math.max(1, math.abs(want)),
          ("%s at step %d: %.17g, want %.17g"):format(s.class_name, step, v, want))
      end
    end
  end)

  it("take positional arguments, keywords, or both", function()
    local a = S.ExponentialDecay(0.1, 10, 0.5)
    local b = S.ExponentialDecay { 0.1, decay_steps = 10, decay_rate = 0.5 }
    local c = S.ExponentialDecay { initial_learning_rate = 0.1, decay_steps = 10, decay_rate = 0.5 }
    for _, step in ipairs { 0, 5, 37 } do
      local want = 0.1 * 0.5 ^ (step / 10)
      assert.near(want, a(step), 1e-15)
      assert.near(want, b(step), 1e-15)
      assert.near(want, c(step), 1e-15)
    end
    assert.near(0.1, S.ExponentialDecay(0.1, 10, 0.5, { staircase = true })(9), 1e-15)
  end)

  it("have get_config, from_config and serialize as in Keras", function()
    local s = S.CosineDecay { 0.001, 30, alpha = 0.1, warmup_target = 0.02, warmup_steps = 10 }
    local cfg = s:get_config()
    assert.same({ initial_learning_rate = 0.001, decay_steps = 30, alpha = 0.1, name = "CosineDecay",
                  warmup_target = 0.02, warmup_steps = 10 }, cfg)
    local again = S.CosineDecay:from_config(cfg)
    local ser = S.serialize(s)
    assert.equal("CosineDecay", ser.class_name)
    local back = S.deserialize(ser)
    for _, step in ipairs { 0, 4, 10, 25, 40, 80 } do
      assert.equal(s(step), again(step))
      assert.equal(s(step), back(step))
    end
    assert.same({ boundaries = { 10, 30 }, values = { 1, 0.5, 0.1 }, name = "PiecewiseConstant" },
      S.PiecewiseConstantDecay({ 10, 30 }, { 1, 0.5, 0.1 }):get_config())
    assert.truthy(tostring(s):find("CosineDecay{", 1, true))
  end)

  it("drive the optimizer's learning rate by its step count", function()
    local sched = S.PiecewiseConstantDecay({ 1, 2 }, { 1.0, 0.5, 0.25 })
    local w = param({ 0, 0 }, "float64")
    local opt = O.SGD { learning_rate = sched }
    local g = dnn.tensor({ 1, 1 }, { dtype = "float64" })
    local seen = {}
    for k = 1, 4 do
      seen[k] = opt:current_learning_rate()
      opt:apply_gradients({ g }, { w })
    end
    assert.same({ 1.0, 1.0, 0.5, 0.25 }, seen) -- Keras: schedule(iterations) with iterations 0, 1, 2, 3
    assert.near(-(1 + 1 + 0.5 + 0.25), w[1], 1e-15)
  end)

  it("accepts a plain function of the step and a user schedule class", function()
    local w = param({ 0 }, "float64")
    local opt = O.SGD { learning_rate = function(step) return 0.1 * (step + 1) end }
    local g = dnn.tensor({ 1 }, { dtype = "float64" })
    opt:apply_gradients({ g }, { w })
    opt:apply_gradients({ g }, { w })
    assert.near(-0.3, w[1], 1e-15)

    local Halving = S.LearningRateSchedule:extend("Halving")
    function Halving:init(lr0) self.lr0 = lr0 end
    function Halving:__call(step) return self.lr0 / 2 ^ step end
    function Halving:get_config() return { lr0 = self.lr0 } end
    S.register("Halving", Halving)
    local opt2 = O.Adam { learning_rate = Halving(0.4) }
    assert.equal(0.4, opt2:current_learning_rate())
    local cfg = opt2:get_config()
    assert.same({ class_name = "Halving", config = { lr0 = 0.4 } }, cfg.learning_rate)
  end)
end)

-- ---------------------------------------------------------------- state

-- A mix of configurations so every kind of slot, Nadam's product and a
-- schedule position go through get_state/set_state.
local STATE_CASES = {
  { "SGD", { learning_rate = 0.05, momentum = 0.9, nesterov = true } },
  { "RMSprop", { learning_rate = 0.01, momentum = 0.5, centered = true } },
  { "Adam", { learning_rate = S.ExponentialDecay(0.02, 7, 0.8), amsgrad = true, global_clipnorm = 2 } },
  { "AdamW", { learning_rate = 0.01, weight_decay = 0.1 } },
  { "Adadelta", { learning_rate = 1.0 } },
  { "Adagrad", { learning_rate = 0.1 } },
  { "Adamax", { learning_rate = 0.01, clipvalue = 0.5 } },
  { "Nadam", { learning_rate = 0.01, clipnorm = 1.0 } },
  { "Ftrl", { learning_rate = 0.1, l1_regularization_strength = 0.01 } },
  { "Lion", { learning_rate = S.CosineDecay(0.01, 40) } },
}

local function fixed_grads(t, dtype)
  local case = { problem = "fixed", skip = true }
  return gradients(case, t, nil, nil, dtype)
end

local function steps(opt, w, b, from, to)
  for t = from, to do
    local gw, gb = fixed_grads(t, "float32")
    opt:apply_gradients({ gw, gb, n = 2 }, { w, b })
  end
end

local function same_bits(a, b)
  local fa, fb = check.flatten(a:totable()), check.flatten(b:totable())
  assert.equal(#fb, #fa)
  for i = 1, #fa do
    if fa[i] ~= fb[i] then return false end
  end
  return true
end

describe("get_state / set_state", function()
  for _, sc in ipairs(STATE_CASES) do
    local cls, config = sc[1], sc[2]
    it(cls .. " resumes bit for bit, in a new optimizer and in the same one", function()
      local w, b = param(problem.w0, "float32"), param(problem.b0, "float32")
      local opt = O[cls](config)
      steps(opt, w, b, 1, 20)
      local state = opt:get_state()
      local w20, b20 = w:detach():clone(), b:detach():clone()
      steps(opt, w, b, 21, 50)
      local w_end, b_end = w:detach():clone(), b:detach():clone()

      assert.equal(20, state.iterations)
      assert.equal(cls, state.class_name)
      for pos = 1, 2 do
        for _, name in ipairs(opt:slot_names()) do
          assert.is_true(dnn.is_tensor(state.slots[pos][name]))
        end
      end

      -- a fresh optimizer, state set before its first update
      local w2, b2 = param(w20:totable(), "float32"), param(b20:totable(), "float32")
      local opt2 = O[cls](config)
      opt2:set_state(state)
      steps(opt2, w2, b2, 21, 50)
      assert.is_true(same_bits(w2, w_end), cls .. ": w differs after resuming")
      assert.is_true(same_bits(b2, b_end), cls .. ": b differs after resuming")
      assert.equal(50, opt2.iterations)

      -- the same optimizer, rewound
      dnn.no_grad(function()
        w:copy_(w20)
        b:copy_(b20)
      end)
      opt:set_state(state)
      steps(opt, w, b, 21, 50)
      assert.is_true(same_bits(w, w_end), cls .. ": w differs after rewinding")
      assert.is_true(same_bits(b, b_end), cls .. ": b differs after rewinding")
    end)
  end

  it("state is a snapshot: later updates do not change it", function()
    local w = param({ 1, 2, 3 }, "float32")
    local opt = O.Adam { learning_rate = 0.1 }
    opt:apply_gradients({ dnn.ones(3) }, { w })
    local state = opt:get_state()
    local m = state.slots[1].momentum:clone()
    opt:apply_gradients({ dnn.ones(3) }, { w })
    assert.is_true(same_bits(state.slots[1].momentum, m))
    assert.equal(1, state.iterations)
    assert.equal(0.1, state.learning_rate)
  end)
end)

-- ---------------------------------------------------------------- API

describe("optimizer API", function()
  it("nil gradients skip their variable and make no slots for it", function()
    local w, b = param({ 1, 2 }, "float32"), param({ 5 }, "float32")
    local opt = O.Adam { learning_rate = 0.1 }
    opt:apply_gradients({ dnn.ones(2), nil, n = 2 }, { w, b })
    assert.equal(5, b[1])
    assert.is_nil(opt:get_state().slots[2])
    assert.near(0.9, w[1], 1e-6)
    opt:apply_gradients { { nil, w }, { dnn.ones(1), b } }
    -- b's first update is the optimizer's second: Keras corrects the bias by
    -- the optimizer's step count, not the variable's
    local alpha = 0.1 * math.sqrt(1 - 0.999 ^ 2) / (1 - 0.9 ^ 2)
    assert.near(5 - alpha * 0.1 / (math.sqrt(0.001) + 1e-7), b[1], 1e-6)
    assert.equal(2, opt.iterations)
  end)

  it("has Keras's defaults, get_config and from_config", function()
    local cfg = O.Adam():get_config()
    assert.same({ name = "adam", learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7,
                  amsgrad = false }, cfg)
    assert.same({ name = "SGD", learning_rate = 0.01, momentum = 0.0, nesterov = false },
      O.SGD():get_config())
    assert.equal(0.004, O.AdamW():get_config().weight_decay)
    assert.equal(0.95, O.Adadelta().rho)
    assert.equal(0.1, O.Adagrad().initial_accumulator_value)
    assert.equal(-0.5, O.Ftrl().learning_rate_power)
    local opt = O.RMSprop { learning_rate = S.ExponentialDecay(0.1, 10, 0.9), centered = true, clipnorm = 1 }
    local c = opt:get_config()
    assert.equal("ExponentialDecay", c.learning_rate.class_name)
    assert.equal(1, c.clipnorm)
    local again = O.RMSprop:from_config(c)
    assert.is_true(again.centered)
    assert.near(0.1 * 0.9 ^ 0.5, again.learning_rate(5), 1e-15)
    local ser = O.serialize(opt)
    assert.equal("RMSprop", ser.class_name)
    assert.is_true(O.deserialize(ser).centered)
  end)

  it("dnn.optimizers.get resolves names, objects, classes and configs", function()
    assert.equal("Adam", getmetatable(O.get("adam")).__name)
    assert.equal("Adam", getmetatable(O.get("Adam")).__name)
    assert.equal("RMSprop", getmetatable(O.get("rmsprop")).__name)
    local sgd = O.SGD { learning_rate = 0.5 }
    assert.equal(sgd, O.get(sgd))
    assert.equal(0.001, O.get(O.Nadam).learning_rate)
    assert.equal(0.25, O.get({ class_name = "SGD", config = { learning_rate = 0.25 } }).learning_rate)
    assert.is_nil(O.get(nil))
  end)

  it("PyTorch style: params at construction, lr alias, zero_grad, step(closure)", function()
    local w = param({ 1, -2 }, "float64")
    local opt = O.SGD({ w }, { lr = 0.5 })
    assert.equal(0.5, opt.learning_rate)
    local loss = opt:step(function()
      opt:zero_grad()
      local l = (w * w):sum()
      l:backward()
      return l
    end)
    assert.near(5, loss:item(), 1e-15)
    assert.same({ 0, 0 }, w:totable()) -- w - 0.5 * 2w
    opt:zero_grad()
    assert.is_nil(w.grad)
    opt:step() -- no gradient at all: nothing to do, as in PyTorch
    assert.equal(1, opt.iterations)
    local opt2 = O.Adam { params = { w }, lr = 1e-2, betas = { 0.8, 0.9 }, eps = 1e-8 }
    assert.equal(0.8, opt2.beta_1)
    assert.equal(0.9, opt2.beta_2)
    assert.equal(1e-8, opt2.epsilon)
    local opt3 = O.Adam { { w }, lr = 1e-2 }
    assert.equal(w, opt3.params[1])
    assert.equal(w, O.Adagrad(w).params[1])
  end)

  it("minimize and apply use GradientTape and the variables seen", function()
    local w = param({ 3 }, "float64")
    local opt = O.SGD { learning_rate = 0.25 }
    opt:minimize(function() return (w * w):sum() end, { w })
    assert.near(1.5, w[1], 1e-15)
    opt:apply({ dnn.tensor({ 2 }, { dtype = "float64" }) })
    assert.near(1.0, w[1], 1e-15)
    assert.same({ w }, opt:variables())
  end)

  it("updates in place: the same tensors, views of bigger tensors, any thread count", function()
    local base = dnn.randn(6, 5)
    local view = base:t() -- (5, 6), not contiguous
    local copy = view:contiguous()
    local g = dnn.randn(5, 6)
    O.Adam { learning_rate = 0.1 }:apply_gradients({ g }, { view })
    O.Adam { learning_rate = 0.1 }:apply_gradients({ g }, { copy })
    assert.is_true(same_bits(base:t(), copy))

    -- a large variable goes through the threaded path; the result must not
    -- depend on the number of threads (so neither must global_norm)
    local n = 300000
    local x0, gx = dnn.randn(n), dnn.randn(n)
    local function run(threads)
      local before = dnn.get_num_threads()
      dnn.set_num_threads(threads)
      local x = x0:clone()
      local opt = O.Adam { learning_rate = 0.01, global_clipnorm = 10 }
      for _ = 1, 3 do opt:apply_gradients({ gx }, { x }) end
      local norm = O.global_norm { gx, x }
      dnn.set_num_threads(before)
      return x, norm
    end
    local x1, n1 = run(1)
    local x2, n2 = run(2)
    assert.is_true(same_bits(x1, x2))
    assert.equal(n1, n2)
    assert.near(math.sqrt((gx * gx):double():sum():item() + (x1 * x1):double():sum():item()), n1, 1e-9 * n1)
  end)

  it("casts float64 gradients of float32 variables, and keeps grad mode", function()
    local w = param({ 1, 2 }, "float32")
    O.SGD { learning_rate = 1 }:apply_gradients({ dnn.tensor({ 0.5, 0.25 }, { dtype = "float64" }) }, { w })
    assert.same({ 0.5, 1.75 }, w:totable())
    assert.equal("float32", w.dtype)
    assert.is_true(dnn.is_grad_enabled())
  end)

  it("get_slot gives live slots by Keras name; weight decay can exclude variables", function()
    local w, b = param({ 1, 1 }, "float64"), param({ 1 }, "float64")
    local opt = O.SGD { learning_rate = 0.1, momentum = 0.5, weight_decay = 1.0 }
    opt:exclude_from_weight_decay { var_list = { b } }
    opt:apply_gradients({ dnn.zeros(2, { dtype = "float64" }), dnn.zeros(1, { dtype = "float64" }) }, { w, b })
    assert.same({ 0.9, 0.9 }, w:totable())
    assert.same({ 1 }, b:totable())
    assert.same({ "momentum" }, opt:slot_names())
    assert.same({ 0, 0 }, opt:get_slot(w, "momentum"):totable())
  end)
end)

-- ---------------------------------------------------------------- misuse

describe("optimizer misuse", function()
  local function wb()
    return param({ { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 } }, "float32"), param({ 1, 2 }, "float32")
  end

  it("grads and vars of different lengths", function()
    local w, b = wb()
    local opt = O.Adam()
    check.fails_with(function() opt:apply_gradients({ dnn.ones(3, 4) }, { w, b }) end,
      "Adam.apply_gradients", "1 gradients for 2 variables")
    assert.equal(0, opt.iterations)
  end)

  it("a gradient whose shape is not its variable's", function()
    local w, b = wb()
    local opt = O.SGD { momentum = 0.9 }
    check.fails_with(function() opt:apply_gradients({ dnn.ones(3, 4), dnn.ones(3) }, { w, b }) end,
      "SGD.apply_gradients", "gradient 2 has shape [3] but variable 2 has shape [2]")
    assert.same({ 1, 2 }, b:totable())
    assert.equal(1, w[1][1]) -- nothing was written: every check comes first
  end)

  it("integer variables and integer gradients", function()
    local opt = O.Adam()
    check.fails_with(function() opt:apply_gradients({ dnn.ones(2) }, { dnn.tensor { 1, 2 } :long() }) end,
      "variable 1 is int64; only float32 and float64 variables can be trained")
    local w = param({ 1, 2 }, "float32")
    check.fails_with(function() O.Adam():apply_gradients({ dnn.tensor { 1, 2 } :int() }, { w }) end,
      "gradient 1 is int32; gradients must be float32 or float64")
  end)

  it("unknown optimizer names list the known ones", function()
    check.fails_with(function() O.get("adamm") end, "unknown optimizer 'adamm'", "adam, adamax, adamw")
    check.fails_with(function() O.get(42) end, "Could not interpret optimizer identifier: number")
  end)

  it("negative learning rates, at construction and later", function()
    check.fails_with(function() O.Adam { learning_rate = -0.1 } end,
      "Adam: learning_rate must be a finite number >= 0, got -0.1")
    local w = param({ 1 }, "float32")
    local opt = O.SGD()
    opt.learning_rate = -1
    check.fails_with(function() opt:apply_gradients({ dnn.ones(1) }, { w }) end, "learning_rate must be")
    assert.equal(1, w[1])
    assert.equal(0, opt.iterations)
    check.fails_with(function() O.SGD { learning_rate = "fast" } end,
      "SGD: learning_rate must be a number, a schedule or a function of the step, got string")
  end)

  it("bad hyperparameters name the argument and the value", function()
    check.fails_with(function() O.SGD { momentum = 1.5 } end, "SGD: momentum must be a float between [0, 1], got 1.5")
    check.fails_with(function() O.Adam { beta_1 = 1 } end, "Adam: beta_1 must be in [0, 1), got 1")
    check.fails_with(function() O.Ftrl { learning_rate_power = 0.5 } end,
      "Ftrl: learning_rate_power needs to be negative or zero, got 0.5")
    check.fails_with(function() O.Lion { beta_1 = 0 } end, "Lion: beta_1 must be in the (0, 1] range")
    check.fails_with(function() O.Adam { amsgrad = 1 } end, "Adam: amsgrad must be true or false, got number")
    check.fails_with(function() O.AdamW { weight_decay = -1 } end, "AdamW: weight_decay must be >= 0, got -1")
  end)

  it("more than one clipping option", function()
    check.fails_with(function() O.Adam { clipnorm = 1, global_clipnorm = 2 } end,
      "only one of clipnorm, clipvalue and global_clipnorm can be set")
  end)

  it("unknown arguments and arguments given twice", function()
    check.fails_with(function() O.Adam { beta1 = 0.9 } end, "Adam: unknown argument 'beta1'", "beta_1")
    check.fails_with(function() O.Adam { 0.1, learning_rate = 0.2 } end, "argument 'learning_rate' given twice")
    check.fails_with(function() O.SGD { learning_rate = 0.1, lr = 0.2 } end, "give learning_rate or lr, not both")
    local w = param({ 1 }, "float32")
    check.fails_with(function() O.SGD({ { params = { w } } }, { lr = 0.1 }) end, "parameter groups")
  end)

  it("bad schedules", function()
    check.fails_with(function() S.ExponentialDecay(0.1, 0, 0.5) end,
      "ExponentialDecay: Argument `decay_steps` must be > 0. Received: decay_steps=0")
    check.fails_with(function() S.PiecewiseConstantDecay({ 10, 20 }, { 1, 2 }) end,
      "The length of boundaries should be 1 less than the length of values")
    check.fails_with(function() S.CosineDecay { 0.1 } end, "CosineDecay: decay_steps must be a number, got nothing")
    check.fails_with(function() S.deserialize { class_name = "Nope" } end, "unknown schedule 'Nope'", "CosineDecay")
    check.fails_with(function() O.SGD { learning_rate = function() return "x" end } end,
      "SGD: the learning rate schedule returned string, not a number")
    local w = param({ 1 }, "float32")
    local opt = O.SGD { learning_rate = function(step) return step < 1 and 0.1 or nil end }
    opt:apply_gradients({ dnn.ones(1) }, { w })
    check.fails_with(function() opt:apply_gradients({ dnn.ones(1) }, { w }) end,
      "SGD: the learning rate schedule returned nil, not a number")
    assert.equal(1, opt.iterations)
  end)

  it("no gradient at all, and gradients that are not tensors", function()
    local w, b = wb()
    local opt = O.Adam()
    check.fails_with(function() opt:apply_gradients({ n = 2 }, { w, b }) end,
      "No gradients provided for any variable")
    check.fails_with(function() opt:apply_gradients({ "g", nil, n = 2 }, { w, b }) end,
      "gradient 1 is a string, not a tensor")
    check.fails_with(function() opt:apply_gradients({ w }) end, "entry 1 is a userdata")
    check.fails_with(function() opt:apply_gradients({ dnn.ones(3, 4) }, { "w" }) end,
      "variable 1 is a string, not a tensor")
    assert.equal(0, opt.iterations)
  end)

  it("PyTorch calls on an optimizer made without params", function()
    local opt = O.SGD()
    check.fails_with(function() opt:step() end, "SGD.step: this optimizer has no params")
    check.fails_with(function() opt:zero_grad() end, "SGD.zero_grad: this optimizer has no params")
  end)

  it("set_state with another optimizer's state or wrong shapes", function()
    local w = param({ 1, 2 }, "float32")
    local sgd = O.SGD { momentum = 0.9 }
    sgd:apply_gradients({ dnn.ones(2) }, { w })
    check.fails_with(function() O.Adam():set_state(sgd:get_state()) end, "the state is of a SGD, not a Adam")
    local st = sgd:get_state()
    st.slots[1].momentum = dnn.zeros(3)
    local other = O.SGD { momentum = 0.9 }
    other:apply_gradients({ dnn.ones(2) }, { w })
    check.fails_with(function() other:set_state(st) end,
      "slot 'momentum' of variable 1 has shape [3] but the variable has shape [2]")
    check.fails_with(function() O.SGD { momentum = 0.9, nesterov = false }:set_state { iterations = -1 } end,
      "iterations must be an integer >= 0")
    check.fails_with(function() O.Adam { amsgrad = true }:set_state(O.Adam():get_state()) end,
      "the state has slots {momentum, velocity} but this optimizer keeps {momentum, velocity, velocity_hat}")
  end)
end)
