-- Autograd conveniences in Lua: grad-mode guards, Keras's GradientTape, and
-- dnn.testing.gradcheck (float64 central differences against backward).
local dnn = require "dnn"
local core = dnn.core

-- dnn.no_grad(fn, ...) runs fn without recording and returns its results;
-- `local _ <close> = dnn.no_grad()` turns recording off until the scope ends.
local function grad_mode_guard(enabled)
  return function(fn, ...)
    local prev = core.set_grad_enabled(enabled)
    if fn == nil then
      return setmetatable({}, { __close = function() core.set_grad_enabled(prev) end,
                                __name = enabled and "dnn.enable_grad" or "dnn.no_grad" })
    end
    local res = table.pack(pcall(fn, ...))
    core.set_grad_enabled(prev)
    if not res[1] then error(res[2], 0) end
    return table.unpack(res, 2, res.n)
  end
end
dnn.no_grad = grad_mode_guard(false)
dnn.enable_grad = grad_mode_guard(true)

-- Keras's GradientTape: operations on tensors that require grad are recorded
-- anyway; the tape asks for their gradients.  dnn.GradientTape{persistent=true}
-- allows several gradient() calls on one recording.
local GradientTape = {}
GradientTape.__index = GradientTape
GradientTape.__name = "dnn.GradientTape"
GradientTape.__close = function() end

function dnn.GradientTape(opts)
  opts = opts or {}
  return setmetatable({ persistent = opts.persistent and true or false }, GradientTape)
end

-- Makes a leaf tensor trainable from here on (tf.GradientTape.watch).
function GradientTape:watch(...)
  for _, t in ipairs({ ... }) do
    local list = dnn.is_tensor(t) and { t } or t
    for _, x in ipairs(list) do
      if not x.requires_grad then x.requires_grad = true end
    end
  end
end

-- tape:gradient(target, sources): a tensor for one source, else a list; a
-- source the target does not depend on gets nil (as TensorFlow's None).
function GradientTape:gradient(target, sources, opts)
  if not dnn.is_tensor(target) then
    error("gradient: the target must be a tensor (the loss), got " .. type(target), 2)
  end
  local single = dnn.is_tensor(sources)
  local list = single and { sources } or sources
  if type(list) ~= "table" then
    error("gradient: sources must be a tensor or a list of tensors, got " .. type(sources), 2)
  end
  local n = #list
  local usable, where = {}, {}
  for i = 1, n do
    local s = list[i]
    if not dnn.is_tensor(s) then
      error(("gradient: sources[%d] is a %s, not a tensor"):format(i, type(s)), 2)
    end
    if s.requires_grad then
      usable[#usable + 1] = s
      where[#usable] = i
    end
  end
  local out = {}
  if #usable > 0 and target.requires_grad then
    local ok, grads = pcall(dnn.grad, target, usable, {
      retain_graph = self.persistent, allow_unused = true,
      grad_outputs = opts and opts.output_gradients and { opts.output_gradients } or nil })
    if not ok then
      if tostring(grads):find("second time", 1, true) then
        error("gradient: a non-persistent tape can compute gradients once; use dnn.GradientTape{persistent=true}", 2)
      end
      error(grads, 2)
    end
    for k = 1, #usable do out[where[k]] = grads[k] end
  end
  if single then return out[1] end
  out.n = n
  return out
end

-- dnn.testing.gradcheck(fn, inputs, {eps=1e-6, atol=1e-5, rtol=1e-3}):
-- compares backward's Jacobian with central differences, in float64.
-- inputs: a tensor or a list; those that require grad are checked.
-- Returns true, or raises naming the input, the position and both values.
local testing = dnn.testing or {}
dnn.testing = testing

local function outputs_of(fn, inputs, copy)
  local r = fn(table.unpack(inputs))
  if dnn.is_tensor(r) then r = { r } end
  if copy then -- outputs may be views of the inputs we are about to perturb
    for i, t in ipairs(r) do r[i] = t:double():clone() end
  end
  return r
end

function testing.gradcheck(fn, inputs, opts)
  opts = opts or {}
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  inputs = dnn.is_tensor(inputs) and { inputs } or inputs
  for i, x in ipairs(inputs) do
    if dnn.is_tensor(x) and x.requires_grad and x.dtype ~= "float64" then
      error(("gradcheck: input %d is %s; use float64 inputs for finite differences"):format(i, x.dtype), 2)
    end
  end
  local outs = outputs_of(fn, inputs)
  -- analytic rows: one backward per output element
  local checked = {}
  for i, x in ipairs(inputs) do
    if dnn.is_tensor(x) and x.requires_grad then checked[#checked + 1] = i end
  end
  if #checked == 0 then error("gradcheck: no input requires grad", 2) end
  local analytic = {} -- analytic[k][o][e]: d out_o / d input_k[e]
  for _, k in ipairs(checked) do analytic[k] = {} end
  local o = 0
  for _, out in ipairs(outs) do
    local flat_n = out:numel()
    for e = 1, flat_n do
      o = o + 1
      local go = dnn.zeros(flat_n, { dtype = out.dtype })
      go[e] = 1
      local srcs = {}
      for _, k in ipairs(checked) do srcs[#srcs + 1] = inputs[k] end
      local grads = out.requires_grad and dnn.grad(out, srcs, { grad_outputs = { go:view(out:size()) },
        retain_graph = true, allow_unused = true }) or {}
      for j, k in ipairs(checked) do
        analytic[k][o] = grads[j] and grads[j]:contiguous():view(-1):totable() or false
      end
    end
  end
  -- numeric columns: perturb each element
  local saved_mode = core.set_grad_enabled(false)
  local ok, err = pcall(function()
    for _, k in ipairs(checked) do
      local x = inputs[k]
      local flat = x:view(-1)
      for e = 1, x:numel() do
        local v = flat[e]
        flat[e] = v + eps
        local plus = outputs_of(fn, inputs, true)
        flat[e] = v - eps
        local minus = outputs_of(fn, inputs, true)
        flat[e] = v
        local oo = 0
        for q, p in ipairs(plus) do
          local pf, mf = p:double():contiguous():view(-1), minus[q]:double():contiguous():view(-1)
          for r = 1, pf:numel() do
            oo = oo + 1
            local num = (pf[r] - mf[r]) / (2 * eps)
            local row = analytic[k][oo]
            local ana = row and row[e] or 0
            if math.abs(num - ana) > atol + rtol * math.abs(num) then
              error(("gradcheck: input %d, element %d, output %d: backward gives %.8g, finite differences %.8g")
                :format(k, e, oo, ana, num), 0)
            end
          end
        end
      end
    end
  end)
  core.set_grad_enabled(saved_mode)
  if not ok then error(err, 2) end
  return true
end

return dnn
