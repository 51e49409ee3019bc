-- The seed's students example: a CSV of numeric features, standardised, split
-- into train/valid/test, a Dense 8-4-1 sigmoid network with binary
-- crossentropy and BinaryAccuracy, and a per-class classification report.
-- The example writes its own CSV (students.csv: hours studied, hours slept,
-- past grade, absences -> passed) so it runs anywhere.
--   scripts/dnnlua examples/tabular_binary.lua [csv-path]
local dnn = require "dnn"
dnn.manual_seed(7)

-- ---- the data file ----
local path = arg and arg[1]
if not path then
  local base = os.tmpname() -- a unique name; our file sits beside it
  os.remove(base)
  path = base .. "-students.csv"
end
do
  local n = 2000
  local f = assert(io.open(path, "w"))
  f:write("hours_studied,hours_slept,past_grade,absences,passed\n")
  local feats = dnn.rand(n, 4) * dnn.tensor { 10, 10, 100, 20 }
  local score = feats:matmul(dnn.tensor { { 0.6 }, { 0.3 }, { 0.05 }, { -0.25 } }):view(-1) + dnn.randn(n) * 1.0
  local passed = score:gt(6.0)
  for i = 1, n do
    f:write(("%.3f,%.3f,%.3f,%.3f,%d\n"):format(feats[{ i, 1 }], feats[{ i, 2 }], feats[{ i, 3 }], feats[{ i, 4 }],
      passed[i] and 1 or 0))
  end
  f:close()
end

-- ---- read it back: header, then numeric rows ----
local rows, header = {}, nil
for line in io.lines(path) do
  local cells = {}
  for c in line:gmatch("[^,]+") do cells[#cells + 1] = c end
  if not header then
    header = cells
  else
    local r = {}
    for j, c in ipairs(cells) do r[j] = assert(tonumber(c), "not a number: " .. c) end
    rows[#rows + 1] = r
  end
end
local all = dnn.tensor(rows, { dtype = "float32" })
local x, y = all:narrow(2, 1, 4), all:narrow(2, 5, 1)

-- ---- train / valid / test split (70 / 15 / 15), shuffled once ----
local n = x:size(1)
local perm = dnn.randperm(n)
x, y = x:index_select(1, perm), y:index_select(1, perm)
local n_train, n_valid = math.floor(n * 0.7), math.floor(n * 0.15)
local function part(t, first, count) return t:narrow(1, first, count) end
local x_train, y_train = part(x, 1, n_train), part(y, 1, n_train)
local x_valid, y_valid = part(x, n_train + 1, n_valid), part(y, n_train + 1, n_valid)
local x_test, y_test = part(x, n_train + n_valid + 1, n - n_train - n_valid), part(y, n_train + n_valid + 1, n - n_train - n_valid)

-- standardise with the training statistics (StandardScaler)
local mean, std = x_train:mean(1, true), x_train:std(1, true)
local function scale(t) return (t - mean) / std end
x_train, x_valid, x_test = scale(x_train), scale(x_valid), scale(x_test)

local model = dnn.Sequential{
  dnn.layers.Dense{8, activation="relu", input_shape={4}},
  dnn.layers.Dense{4, activation="relu"},
  dnn.layers.Dense{1, activation="sigmoid"},
}
model:compile{optimizer=dnn.optimizers.Adam{learning_rate=1e-2}, loss="binary_crossentropy",
  metrics={dnn.metrics.BinaryAccuracy()}}
model:fit{x=x_train, y=y_train, epochs=30, batch_size=32, validation_data={x_valid, y_valid}, verbose=2}
local res = model:evaluate{x=x_test, y=y_test, verbose=0}

-- ---- classification report (per class precision / recall / F1) ----
local pred = model:predict(x_test):gt(0.5):long():view(-1)
local truth = y_test:view(-1):long()
print(("\n%-10s %9s %9s %9s %9s"):format("", "precision", "recall", "f1-score", "support"))
for _, c in ipairs({ 0, 1 }) do
  local tp = pred:eq(c):logical_and(truth:eq(c)):sum():item()
  local predicted, actual = pred:eq(c):sum():item(), truth:eq(c):sum():item()
  local p = predicted > 0 and tp / predicted or 0
  local r = actual > 0 and tp / actual or 0
  local f1 = (p + r) > 0 and 2 * p * r / (p + r) or 0
  print(("%-10s %9.2f %9.2f %9.2f %9d"):format(c == 1 and "passed" or "failed", p, r, f1, actual))
end
print(("Test accuracy: %.4f"):format(res.binary_accuracy))
if not (arg and arg[1]) then os.remove(path) end
return { accuracy = res.binary_accuracy }
