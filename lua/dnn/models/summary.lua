-- model:summary(): Keras 2.15's table (layer (type), output shape, param #)
-- and the totals of trainable and non-trainable parameters with their size.
local dnn = require "dnn"
local class = require "dnn.class"
local KT = require "dnn.models.KerasTensor"

local function human_bytes(n)
  local units = { "Byte", "KB", "MB", "GB", "TB" }
  local i = 1
  while n >= 1024 and i < #units do
    n = n / 1024
    i = i + 1
  end
  return ("%.2f %s"):format(n, units[i])
end

-- Keras's print_row: fields laid out at the column end positions.
local function row(fields, positions)
  local left = {}
  for i, f in ipairs(fields) do left[i] = tostring(f) end
  local lines = {}
  repeat
    local line = ""
    for col = 1, #left do
      local start = col > 1 and positions[col - 1] or 0
      local space = col ~= #positions and 2 or 0
      local cutoff = positions[col] - start - space
      local fit = left[col]:sub(1, cutoff)
      line = line .. fit .. string.rep(" ", space)
      left[col] = left[col]:sub(cutoff + 1)
      line = line .. string.rep(" ", math.max(0, positions[col] - #line))
    end
    lines[#lines + 1] = line
    local more = false
    for _, s in ipairs(left) do if s ~= "" then more = true end end
  until not more
  return table.concat(lines, "\n")
end

local function params_of(layer)
  local total = 0
  for _, e in ipairs(layer:_weight_entries()) do total = total + e.entry.var:numel() end
  return total
end

return function(model, opts)
  opts = opts or {}
  local print_fn = opts.print_fn or print
  local line_length = opts.line_length or 65
  local positions = opts.positions or { 0.45, 0.85, 1.0 }
  local cols = {}
  for i, p in ipairs(positions) do cols[i] = math.floor(line_length * p) end
  local out = {}
  local function emit(s) out[#out + 1] = s end
  emit(('Model: "%s"'):format(model.name))
  emit(string.rep("_", line_length))
  emit(row({ " Layer (type)", "Output Shape", "Param #" }, cols))
  emit(string.rep("=", line_length))
  local shapes = {}
  if model._layer_output_shapes then
    shapes = model:_layer_output_shapes()
  elseif model._nodes then
    for _, node in ipairs(model._nodes) do
      shapes[node.layer] = KT.is(node.outputs) and node.outputs.shape or nil
    end
    for _, kt in ipairs(model._inputs) do shapes[kt.input_layer] = { list = true, kt.shape } end
  end
  local layers = model.layers
  for i, l in ipairs(layers) do
    local s = shapes[l]
    local shape_text
    if s == nil then
      shape_text = model.built and "multiple" or "?"
    elseif s.list then
      shape_text = "[" .. KT.shape_str(s[1]) .. "]"
    else
      shape_text = KT.shape_str(s)
    end
    emit(row({ " " .. l.name .. " (" .. class.name(l) .. ")", shape_text, params_of(l) }, cols))
    if i < #layers then emit(row({ "", "", "" }, cols)) end
  end
  emit(string.rep("=", line_length))
  local trainable, non_trainable = 0, 0
  for _, e in ipairs(model:_weight_entries()) do
    local n = e.entry.var:numel()
    if e.trainable then trainable = trainable + n else non_trainable = non_trainable + n end
  end
  local function total_line(label, n) return ("%s: %d (%s)"):format(label, n, human_bytes(n * 4)) end
  emit(total_line("Total params", trainable + non_trainable))
  emit(total_line("Trainable params", trainable))
  emit(total_line("Non-trainable params", non_trainable))
  emit(string.rep("_", line_length))
  local text = table.concat(out, "\n")
  if not opts.return_string then print_fn(text) end
  return text
end
