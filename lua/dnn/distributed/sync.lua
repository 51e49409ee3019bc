-- Keeping replicas identical: the architecture check, the broadcast of
-- weights and optimizer state from rank 0, and metrics over all replicas.
local dnn = require "dnn"
local class = require "dnn.class"
local core = dnn.core._dist

local S = {}

local function ensure()
  if not core.initialized() then core.init() end
end

-- ---- architecture ----

local function weight_rows(model)
  local rows = {}
  for i, e in ipairs(model:_weight_entries()) do
    local v = e.entry.var
    rows[i] = { name = tostring(e.entry.name or ("weight " .. i)), dtype = v.dtype,
                shape = tostring(v:size()), numel = v:numel() }
  end
  return rows
end

-- Compares rows {name=, dtype=, shape=, numel=} across replicas; raises on
-- every replica naming the first difference.
local function check_rows(rows, what, subject)
  local parts, total = {}, 0
  for i, r in ipairs(rows) do
    parts[i] = r.dtype .. r.shape
    total = total + r.numel
  end
  local mine = ("%d|%d|%s"):format(#rows, total, table.concat(parts, ";"))
  local all = core.allgather_string(mine)
  local same = true
  for r = 1, #all do same = same and all[r] == all[1] end
  if same then return true end
  -- name the first replica that differs from rank 0, and how
  local descs = {}
  for r = 1, #all do
    local n, p, list = all[r]:match("^(%d+)|(%d+)|(.*)$")
    local shapes = {}
    for s in (list .. ";"):gmatch("([^;]*);") do if s ~= "" then shapes[#shapes + 1] = s end end
    descs[r] = { n = tonumber(n), params = tonumber(p), shapes = shapes }
  end
  local lines = {}
  for r = 2, #all do
    if all[r] ~= all[1] then
      local a, b = descs[1], descs[r]
      local detail = ""
      for i = 1, math.max(#a.shapes, #b.shapes) do
        if a.shapes[i] ~= b.shapes[i] then
          local name = (core.rank() == 0 or core.rank() == r - 1) and rows[i] and rows[i].name or ("weight " .. i)
          detail = ("; first difference: weight %d (%s) is %s on rank 0 and %s on rank %d"):format(i, name,
            a.shapes[i] or "missing", b.shapes[i] or "missing", r - 1)
          break
        end
      end
      lines[#lines + 1] = ("rank 0 has %d weights (%d parameters), rank %d has %d weights (%d parameters)%s")
        :format(a.n, a.params, r - 1, b.n, b.params, detail)
    end
  end
  error(("%s: the replicas' %s (every replica must build the same architecture): %s")
    :format(what, subject, table.concat(lines, "; ")), 0)
end

-- check_model(model[, what]): every replica has the same weights (count,
-- dtypes, shapes, in order).  Otherwise an error on every replica naming the
-- difference.  One collective, under the timeout: no hang.
function S.check_model(model, what)
  ensure()
  if core.size() == 1 then return true end
  return check_rows(weight_rows(model), what or "distributed", "models differ")
end

-- check_variables(vars[, what]): the same for a list of variables.
function S.check_variables(vars, what)
  ensure()
  if core.size() == 1 then return true end
  local rows = {}
  for i, v in ipairs(vars) do
    rows[i] = { name = "variable " .. i, dtype = v.dtype, shape = tostring(v:size()), numel = v:numel() }
  end
  return check_rows(rows, what or "distributed", "variables differ")
end

-- ---- broadcasts from root ----

-- broadcast_variables(vars, root=0): overwrites each variable in place with
-- root's value (fused: a few messages for the whole list).
function S.broadcast_variables(vars, root)
  ensure()
  local list = {}
  for i, v in ipairs(vars) do
    if not dnn.is_tensor(v) then
      error(("broadcast_variables: entry %d is a %s, not a tensor"):format(i, class.name(v)), 2)
    end
    list[i] = v
  end
  if core.size() == 1 then return end
  core.broadcast(list, root or 0)
end

-- broadcast_parameters(model, root=0): checks the architecture, then copies
-- root's weights (trainable and not) to every replica.
function S.broadcast_parameters(model, root)
  S.check_model(model, "broadcast_parameters")
  if core.size() == 1 then return end
  core.broadcast(model.weights, root or 0)
end

-- The slots of every variable position, materialised or still waiting for
-- their variable (a state restored before the first update).
local function all_slots(opt, state)
  local slots = {}
  for pos, entry in pairs(state.slots or {}) do slots[pos] = entry end
  for pos, entry in pairs(rawget(opt, "_pending") or {}) do
    if slots[pos] == nil then
      local copy = {}
      for k, t in pairs(entry) do copy[k] = t:clone() end
      slots[pos] = copy
    end
  end
  return slots
end

-- broadcast_optimizer_state(opt, root=0): root's step count, learning rate
-- and slots (momentum, Adam's moments, ...) on every replica.
function S.broadcast_optimizer_state(opt, root)
  ensure()
  root = root or 0
  if core.size() == 1 then return end
  local meta, tensors = nil, {}
  if core.rank() == root then
    local state = opt:get_state()
    local slots = all_slots(opt, state)
    meta = { iterations = state.iterations, learning_rate = state.learning_rate, u_product = state.u_product,
             slot_names = state.slot_names, slots = {} }
    local positions = {}
    for pos in pairs(slots) do positions[#positions + 1] = pos end
    table.sort(positions)
    for _, pos in ipairs(positions) do
      local shapes = {}
      for k, nm in ipairs(state.slot_names) do
        local t = slots[pos][nm]
        local dims = {}
        for d = 1, t:dim() do dims[d] = t:size(d) end
        shapes[k] = { dnn.json.array(dims), t.dtype, t.device }
        tensors[#tensors + 1] = t
      end
      meta.slots[#meta.slots + 1] = { pos = pos, shapes = shapes }
    end
  end
  local s = core.allgather_string(core.rank() == root and dnn.json.encode(meta) or "")
  meta = dnn.json.decode(s[root + 1])
  if core.rank() ~= root then
    for _, e in ipairs(meta.slots) do
      for _, sh in ipairs(e.shapes) do
        local z = dnn.zeros(sh[1], { dtype = sh[2] })
        if sh[3] and sh[3] ~= "cpu" then z = z:to(sh[3]) end -- the same path (NCCL or MPI) as root's
        tensors[#tensors + 1] = z
      end
    end
  end
  core.broadcast(tensors, root)
  if core.rank() ~= root then
    local state = { iterations = meta.iterations, learning_rate = meta.learning_rate, u_product = meta.u_product,
                    slot_names = meta.slot_names, slots = {} }
    local k = 0
    for _, e in ipairs(meta.slots) do
      local entry = {}
      for _, nm in ipairs(meta.slot_names) do
        k = k + 1
        entry[nm] = tensors[k]
      end
      state.slots[e.pos] = entry
    end
    opt:set_state(state)
  end
end

-- ---- metrics over all replicas ----

-- Metric state fields that add up across replicas (Keras's metric
-- variables): summing them gives the metric of all replicas' data exactly.
local ADDITIVE = { "count", "false_negatives", "false_positives", "intermediate_weights", "num_samples",
  "squared_sum", "sum", "total", "total_mse", "true_negatives", "true_positives" }

local function additive_fields(m)
  local out = {}
  for _, k in ipairs(ADDITIVE) do
    local v = rawget(m, k)
    if type(v) == "number" or dnn.is_tensor(v) then out[#out + 1] = k end
  end
  return out
end

-- reduce_metrics(model, logs[, check=true]) -> logs of all replicas:
-- metrics with additive state (means, accuracies, confusion counts, AUC, R2,
-- F-scores) from their summed state, exactly; other numbers averaged.  One
-- collective (two with the argument check; fit's per-step calls, whose
-- layout is fixed by the compiled model, skip it).
function S.reduce_metrics(model, logs, check)
  ensure()
  if core.size() == 1 then return logs end
  local entries, covered, numbers, parts = {}, {}, {}, {}
  for _, m in ipairs(model.metrics or {}) do
    if logs[m.name] ~= nil and not covered[m.name] then
      local fields = additive_fields(m)
      if #fields > 0 then
        covered[m.name] = true
        local e = { metric = m, fields = fields, values = {} }
        for i, k in ipairs(fields) do
          local v = rawget(m, k)
          e.values[i] = v
          if type(v) == "number" then
            numbers[#numbers + 1] = v
          end
        end
        entries[#entries + 1] = e
      end
    end
  end
  local others = {}
  for k, v in pairs(logs) do
    if type(k) == "string" and type(v) == "number" and not covered[k] then others[#others + 1] = k end
  end
  table.sort(others)
  for _, k in ipairs(others) do numbers[#numbers + 1] = logs[k] end
  parts[1] = dnn.tensor(#numbers > 0 and numbers or { 0 }, { dtype = "float64" })
  for _, e in ipairs(entries) do
    for _, v in ipairs(e.values) do
      if dnn.is_tensor(v) then parts[#parts + 1] = v:double():reshape(-1) end
    end
  end
  local summed = core.allreduce(parts, { op = "sum", check = check ~= false })
  local nums = summed[1]:totable()
  local out, ni, ti = {}, 0, 1
  for k, v in pairs(logs) do out[k] = v end
  for _, e in ipairs(entries) do
    local m = e.metric
    for i, k in ipairs(e.fields) do
      local v = e.values[i]
      if type(v) == "number" then
        ni = ni + 1
        rawset(m, k, nums[ni])
      else
        ti = ti + 1
        rawset(m, k, summed[ti]:view(v:size()):to(v.dtype))
      end
    end
    local ok, r = pcall(m.result, m)
    for i, k in ipairs(e.fields) do rawset(m, k, e.values[i]) end -- each replica keeps its own state
    if not ok then error(r, 0) end
    out[m.name] = r
  end
  local size = core.size()
  for _, k in ipairs(others) do
    ni = ni + 1
    out[k] = nums[ni] / size
  end
  return out
end

return S
