-- train_model: deep_pipe's training loop (dpipe/train/base.py `train`, and
-- the seed's train_model wrapper) with checkpoints that resume exactly.
--
--   T.train_model{model, batch_iter, n_epochs=10, lr=1e-3,
--     log_path="run/logs", checkpoints_path="run/checkpoints",
--     validate=function() return {accuracy=...} end,
--     policies={T.TrainLossStop()}, weights=T.Exponential{initial=10, multiplier=0.5}}
--
-- model: anything with do_train_step(inputs..., {lr=, <name>=value...})
-- returning the loss (a TrainModel, or a table of your own); checkpoints
-- also need model:get_state()/set_state(s), which TrainModel has.
-- batch_iter: called at each epoch's start, it returns the epoch's batches
-- -- an iterator function returning a batch's parts (x, y) per call, a
-- coroutine yielding them, or a list of batches.  An Infinite, or any
-- batch_iter with get_state/set_state, resumes from its saved state;
-- any other is replayed from the epoch's start (see below).
--
-- Per epoch (0-based), as deep_pipe: policies' epoch_started; for each batch
-- train_step_started, do_train_step, train_step_finished; the train losses
-- and policy values are logged; validation_started; metrics = validate();
-- epoch_finished; checkpoint.  lr (a number or a value policy) and every
-- named value policy are passed to do_train_step by name at every step;
-- other named values are passed as they are; `policies` lists policies that
-- only watch.  A policy raising dnn.train.EarlyStopping ends training after
-- a last checkpoint; an ordinary error in a policy surfaces with its name,
-- and the last checkpoint stays as it was.
--
-- Other options: gradient_accumulation_steps=k (do_train_step gets
-- accumulate=true on all but every k-th step, and gradient_accumulation_steps
-- = k), checkpoint_every=N (also checkpoint every N iterations inside an
-- epoch), quiet=true (no messages on stderr; they are returned either way),
-- distributed=true|false (training across replicas under mpirun: see
-- lua/dnn/distributed/train.lua; on by default when the model's optimizer
-- is a dnn.distributed.DistributedOptimizer and there are several replicas).
--
-- Checkpoints (lua/dnn/train/checkpoints.lua) hold, in one atomic file, the
-- model's state (weights, optimizer, accumulated gradients), every policy's
-- state, dnn's random state, the batch iterator's state, the epoch and
-- iteration counters, the epoch's losses so far and how far the logs go.
-- Calling train_model again with the same checkpoints_path resumes from the
-- newest complete checkpoint and ends with the weights an uninterrupted run
-- would have had, bit for bit.  Batch sources draw their random numbers from
-- a stream of their own (rng.Stream), so a source that cannot save its state
-- is replayed from the epoch's start with the same numbers, giving the same
-- batches.  A run that finished (n_epochs reached, or stopped early) comes
-- back with its final state and trains no more; give a larger n_epochs to
-- train on.
--
-- Returns {epochs=, steps=, stopped=, resumed_from=, messages=}.
local dnn = require "dnn"
local class = require "dnn.class"
local P = require "dnn.train.policies"
local rng = require "dnn.train.rng"
local B = require "dnn.train.batch_iter"
local Checkpoints = require "dnn.train.checkpoints"
local Logger = require "dnn.train.logger"

local M = {}

local function is_plain(t) return type(t) == "table" and getmetatable(t) == nil and not dnn.is_tensor(t) end

local POSITIONAL = { "model", "batch_iter", "n_epochs", "lr", "log_path", "checkpoints_path", "validate" }
local KEYWORDS = { policies = true, gradient_accumulation_steps = true, checkpoint_every = true, quiet = true,
                   distributed = true }
for _, k in ipairs(POSITIONAL) do KEYWORDS[k] = true end

local function parse(...)
  local pos, opts = B.split_args(...)
  local a, extra = {}, {}
  if #pos > #POSITIONAL then
    error(("train_model: too many positional arguments (%d; it takes %s)"):format(#pos, table.concat(POSITIONAL, ", ")), 0)
  end
  for i, v in ipairs(pos) do a[POSITIONAL[i]] = v end
  for k, v in pairs(opts) do
    if type(k) == "string" then
      if KEYWORDS[k] then
        if a[k] ~= nil then error(("train_model: argument '%s' given twice"):format(k), 0) end
        a[k] = v
      else
        extra[k] = v
      end
    end
  end
  return a, extra
end

-- ---------- batches ----------

local iterator_of = B.iterator_of

local function next_batch(it)
  local b = table.pack(it())
  if b[1] == nil then return nil end
  return b
end

-- A batch iterator that saves its own state (an Infinite).
local Stateful = {}
Stateful.__index = Stateful
function Stateful:start_epoch() self.it = iterator_of(self.bi()) end
function Stateful:next() return next_batch(self.it) end
function Stateful:state() return { stateful = true, state = self.bi:get_state() } end
function Stateful:restore(st)
  if not st.stateful then
    error("the checkpoint's batch iterator was replayed, this one saves its state: use the same kind of batch_iter", 0)
  end
  self.bi:set_state(st.state)
  if self.bi.replay_exact == false then
    self.warn("train_model: replaying the batch source did not reproduce its random state: "
      .. "the source is not deterministic, so the resumed run may differ from an uninterrupted one")
  end
end

-- Any other: its random numbers come from a stream of its own, and a
-- restart inside an epoch replays the epoch's first batches.
local Replay = {}
Replay.__index = Replay
function Replay:start_epoch()
  self.origin, self.k = self.stream:get_state(), 0
  self.it = self.stream:run(function() return iterator_of(self.bi()) end)
end
function Replay:next()
  local b = self.stream:run(next_batch, self.it)
  if b then self.k = self.k + 1 end
  return b
end
function Replay:state()
  return { replay = true, origin = self.origin or self.stream:get_state(), k = self.k or 0,
           stream = self.stream:get_state() }
end
function Replay:restore(st, mid_epoch)
  if not st.replay then
    error("the checkpoint's batch iterator saved its state, this one cannot: use the same kind of batch_iter", 0)
  end
  if mid_epoch then
    self.stream:set_state(st.origin)
    self.origin, self.k = st.origin:clone(), 0
    self.it = self.stream:run(function() return iterator_of(self.bi()) end)
    for i = 1, st.k do
      if not self:next() then
        error(("replaying the epoch's batches: the iterator ended after %d of %d"):format(i - 1, st.k), 0)
      end
    end
    if not rng.same_state(self.stream:get_state(), st.stream) then
      self.warn("train_model: replaying the epoch's batches did not reproduce the random state: "
        .. "batch_iter is not deterministic, so the resumed run may differ from an uninterrupted one")
    end
  end
  self.stream:set_state(st.stream)
end

local function batches_for(bi, warn)
  if not B.callable(bi) then
    error(("train_model: batch_iter must be callable (an Infinite, or a function returning the epoch's "
      .. "batches), got %s"):format(class.name(bi)), 0)
  end
  if type(bi) == "table" and type(bi.get_state) == "function" and type(bi.set_state) == "function" then
    return setmetatable({ bi = bi, warn = warn }, Stateful)
  end
  return setmetatable({ bi = bi, warn = warn, stream = rng.Stream() }, Replay)
end

-- ---------- policies ----------

local function collect_policies(a, extra)
  local entries, scalars = {}, {}
  local lr = a.lr
  if lr ~= nil then
    if type(lr) == "number" then
      lr = P.Constant(lr)
    elseif not P.is_value_policy(lr) then
      error(("train_model: lr must be a number or a value policy, got %s"):format(class.name(lr)), 0)
    end
    entries[1] = { name = "lr", policy = lr, pass = true }
  end
  local names = {}
  for k in pairs(extra) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local v = extra[k]
    if P.is_policy(v) then
      entries[#entries + 1] = { name = k, policy = v, pass = P.is_value_policy(v) }
    else
      scalars[k] = v
    end
  end
  local list = a.policies or {}
  if type(list) ~= "table" or not is_plain(list) then
    error(("train_model: policies must be a list of policies, got %s"):format(class.name(list)), 0)
  end
  for i, p in ipairs(list) do
    if not P.is_policy(p) then
      error(("train_model: policies[%d] is a %s, not a policy"):format(i, class.name(p)), 0)
    end
    entries[#entries + 1] = { name = ("policies[%d]"):format(i), policy = p, pass = false }
  end
  return entries, scalars
end

local function call_hook(e, hook, ...)
  local f = e.policy[hook]
  if type(f) ~= "function" then return end
  local ok, err = pcall(f, e.policy, ...)
  if ok then return end
  if P.is_early_stopping(err) then error(err, 0) end
  error(("train_model: policy '%s' (%s) failed in %s: %s"):format(e.name, class.name(e.policy), hook,
    tostring(err)), 0)
end

local function broadcast(entries, hook, ...)
  for _, e in ipairs(entries) do call_hook(e, hook, ...) end
end

local function policy_values(entries)
  local out = {}
  for _, e in ipairs(entries) do
    if e.pass then out[e.name] = e.policy.value end
  end
  return out
end

local function policy_state(p)
  if type(p.get_state) == "function" then return p:get_state() end
  return P.plain_state(p)
end

local function set_policy_state(p, st)
  if type(p.set_state) == "function" then return p:set_state(st) end
  P.set_plain_state(p, st)
end

-- ---------- train_model ----------

local function to_number(v, what)
  if dnn.is_tensor(v) then v = v:item() end
  if type(v) ~= "number" then
    error(("train_model: %s is a %s, expected a number"):format(what, class.name(v)), 0)
  end
  return v
end

function M.train_model(...)
  local a, extra = parse(...)
  local model, n_epochs = a.model, a.n_epochs or math.huge
  if type(model) ~= "table" or type(model.do_train_step) ~= "function" then
    error(("train_model: model must have a do_train_step method (a dnn.train.TrainModel), got %s")
      :format(class.name(model)), 0)
  end
  if type(n_epochs) ~= "number" or n_epochs < 0 or (n_epochs ~= math.huge and math.type(n_epochs) ~= "integer") then
    error(("train_model: n_epochs must be an integer >= 0, got %s"):format(tostring(n_epochs)), 0)
  end
  local gas = a.gradient_accumulation_steps or 1
  if math.type(gas) ~= "integer" or gas < 1 then
    error(("train_model: gradient_accumulation_steps must be an integer >= 1, got %s"):format(tostring(gas)), 0)
  end
  local every = a.checkpoint_every
  if every ~= nil and (math.type(every) ~= "integer" or every < 1) then
    error(("train_model: checkpoint_every must be a positive integer (iterations), got %s"):format(tostring(every)), 0)
  end
  local validate = a.validate
  if validate ~= nil and not B.callable(validate) then
    error(("train_model: validate must be a function returning a table of metrics, got %s"):format(class.name(validate)), 0)
  end
  -- across replicas (mpirun): the glue is lua/dnn/distributed/train.lua
  local dist = require("dnn.distributed.train").setup(model, a.distributed)
  local messages = {}
  local function say(msg)
    messages[#messages + 1] = msg
    if not a.quiet and (not dist or dist.root) then io.stderr:write(msg, "\n") end
  end
  local entries, scalars = collect_policies(a, extra)
  local batches = batches_for(dist and dist:shard(a.batch_iter) or a.batch_iter, say)
  local ckpt = a.checkpoints_path and Checkpoints(a.checkpoints_path, say)
  local logger = a.log_path and Logger(a.log_path, say, ckpt and (ckpt.dir .. "/log_files"))
  if dist then
    ckpt, logger = dist:files(ckpt, logger, say)
    dist:silence(entries)
  end
  if ckpt and (type(model.get_state) ~= "function" or type(model.set_state) ~= "function") then
    error("train_model: checkpoints_path needs a model with get_state() and set_state(state) "
      .. "(dnn.train.TrainModel and its subclasses have them)", 0)
  end

  local epoch, iteration, total, losses = 0, 0, 0, {}
  local finished, stopped = false, false
  local resumed_from
  -- Applies a checkpoint's state (path nil: rank 0's state at a distributed
  -- start); returns train_model's result when the run is complete.
  local function restore(st, path)
    do
      local function fail(err)
        error(("train_model: cannot resume from %s: %s"):format(path or "rank 0's state", tostring(err)), 0)
      end
      local ok, err = pcall(model.set_state, model, st.model)
      if not ok then fail(err) end
      local saved = st.policies or {}
      for _, e in ipairs(entries) do
        local s = saved[e.name]
        if s == nil then
          say(("train_model: policy '%s' is not in the checkpoint: it starts from its initial state"):format(e.name))
        elseif s.class ~= class.name(e.policy) then
          fail(("policy '%s' is a %s in the checkpoint, a %s here"):format(e.name, tostring(s.class), class.name(e.policy)))
        else
          local ok2, err2 = pcall(set_policy_state, e.policy, s.state or {})
          if not ok2 then fail(("policy '%s': %s"):format(e.name, tostring(err2))) end
        end
      end
      epoch, iteration, total = st.epoch, st.iteration, st.total_steps
      losses = st.train_losses or {}
      finished, stopped = st.finished == true, st.stopped == true
      if not (finished and (stopped or epoch >= n_epochs)) and type(st.batch_iter) == "table" then
        local ok3, err3 = pcall(batches.restore, batches, st.batch_iter, iteration > 0)
        if not ok3 then fail("batch iterator: " .. tostring(err3)) end
      end
      if logger then logger:resume_from(st.logger) end
      dnn.set_rng_state(st.rng)
      if not path then return nil end
      resumed_from = path
      if finished and (stopped or epoch >= n_epochs) then
        say(("train_model: the run in %s is complete (%s after %d epochs); nothing to do")
          :format(ckpt.dir, stopped and "stopped early" or "finished", epoch))
        return { epochs = epoch, steps = total, stopped = stopped, resumed_from = path, messages = messages }
      end
      say(("train_model: resuming from %s at epoch %d, iteration %d"):format(path, epoch + 1, iteration))
    end
  end

  local function snapshot(is_finished, is_stopped)
    local ps = {}
    for _, e in ipairs(entries) do ps[e.name] = { class = class.name(e.policy), state = policy_state(e.policy) } end
    return {
      epoch = epoch, iteration = iteration, total_steps = total, train_losses = losses,
      finished = is_finished, stopped = is_stopped, model = model:get_state(), policies = ps,
      rng = dnn.get_rng_state(), batch_iter = batches:state(), logger = logger and logger:state() or nil,
    }
  end

  local function save(is_finished, is_stopped)
    if not ckpt then return end
    if logger then logger:flush(true) end
    ckpt:save(snapshot(is_finished, is_stopped))
  end

  do
    local st, path
    if ckpt then st, path = ckpt:load() end
    if st then
      if dist then dist:check_models() end
      local done = restore(st, path)
      if done then
        if dist then dist:finish() end
        return done
      end
    elseif dist then
      dist:sync_start(function() return snapshot(false, false) end, function(s) restore(s, nil) end)
    end
  end

  local function run_hooks(hook, ...)
    if dist then return dist:run_hooks(entries, broadcast, hook, ...) end
    return broadcast(entries, hook, ...)
  end

  local function step_args(idx)
    local kw = {}
    for k, v in pairs(scalars) do kw[k] = v end
    for k, v in pairs(policy_values(entries)) do kw[k] = v end
    if gas > 1 then
      kw.accumulate = (idx + 1) % gas ~= 0
      kw.gradient_accumulation_steps = gas
    end
    return kw
  end

  local first_step = resumed_from ~= nil
  local ok, err = pcall(function()
    while epoch < n_epochs do
      if iteration == 0 then
        losses = {}
        run_hooks("epoch_started", epoch)
        batches:start_epoch()
      elseif not batches.it then
        batches:start_epoch() -- a stateful iterator continues where its state is
      end
      while true do
        local batch = batches:next()
        if not batch then break end
        local idx = iteration
        run_hooks("train_step_started", epoch, idx)
        if dist then dist:before_step(batch) end
        batch[batch.n + 1] = step_args(idx)
        local ok_step, loss = pcall(model.do_train_step, model, table.unpack(batch, 1, batch.n + 1))
        if not ok_step then
          if first_step and type(loss) == "string" and loss:find("checkpoint was made by a different model", 1, true) then
            loss = ("train_model: cannot resume from %s: %s"):format(resumed_from, loss)
          end
          error(loss, 0)
        end
        first_step = false
        loss = to_number(loss, "the loss do_train_step returned")
        if dist then loss = dist:step_loss(loss) end
        losses[#losses + 1] = loss
        if logger then logger:scalar("train/loss_step", loss, total) end
        total, iteration = total + 1, idx + 1
        run_hooks("train_step_finished", epoch, idx, loss)
        if every and iteration % every == 0 and iteration % gas == 0 then save(false, false) end
      end
      batches.it = nil
      local values = policy_values(entries)
      if logger and #losses > 0 then logger:scalar("train/loss", P.mean(losses), epoch) end
      if logger then
        for _, e in ipairs(entries) do
          if e.pass then logger:scalar("policies/" .. e.name, values[e.name], epoch) end
        end
      end
      run_hooks("validation_started", epoch, losses)
      local metrics
      if validate then
        local ok_v, m = pcall(validate)
        if not ok_v then error("train_model: validate failed: " .. tostring(m), 0) end
        if type(m) ~= "table" then
          error(("train_model: validate must return a table of metrics, got %s"):format(class.name(m)), 0)
        end
        metrics = {}
        for k, v in pairs(m) do metrics[k] = to_number(v, ("metric '%s'"):format(tostring(k))) end
        if dist then metrics = dist:metrics(metrics) end
        if logger then
          local keys = {}
          for k in pairs(metrics) do keys[#keys + 1] = tostring(k) end
          table.sort(keys)
          for _, k in ipairs(keys) do logger:scalar("val/metrics/" .. k, metrics[k], epoch) end
        end
      end
      local info = table.move(losses, 1, #losses, 1, {})
      info.train_losses, info.metrics, info.policies = losses, metrics, values
      local done_epoch = epoch
      epoch, iteration = epoch + 1, 0 -- an early stop here leaves the epoch complete
      run_hooks("epoch_finished", done_epoch, info, { metrics = metrics, policies = values })
      save(epoch >= n_epochs, false)
    end
  end)
  if dist then dist:finish() end
  if not ok then
    if P.is_early_stopping(err) then
      stopped = true
      say(("train_model: early stopping after epoch %d%s"):format(epoch, (type(err) == "table" and err.message)
        and (": " .. tostring(err.message)) or ""))
      save(true, true)
    else
      if logger then pcall(logger.close, logger) end
      error(err, 0)
    end
  end
  if logger then logger:close() end
  return { epochs = epoch, steps = total, stopped = stopped, resumed_from = resumed_from, messages = messages }
end

return M
