-- dnn.models: Sequential, the functional Model, subclassing, and the names
-- Keras users reach for at the top level (dnn.Sequential, dnn.Model, dnn.Input).
local dnn = require "dnn"

local KT = require "dnn.models.KerasTensor"
local Model = require "dnn.models.Model"
local Sequential = require "dnn.models.Sequential"

local models = dnn.models or {}
models.Model, models.Sequential, models.Input, models.KerasTensor = Model, Sequential, KT.Input, KT
dnn.models = models
dnn.Model, dnn.Sequential, dnn.Input = Model, Sequential, KT.Input
dnn.layers.Input = KT.Input
dnn.layers.register("Model", Model)
dnn.layers.register("Sequential", Sequential)
require "dnn.models.config" -- get_config/from_config, to_json, model_from_json
require "dnn.models.h5"     -- save/load_model, save_weights/load_weights

-- dnn.utils.compute_class_weight("balanced", classes, y) = n_samples / (n_classes * bincount(y))
local utils = dnn.utils or {}
dnn.utils = utils
utils.Progbar = require "dnn.utils.progbar"
function utils.compute_class_weight(mode, classes, y)
  if mode ~= "balanced" then error(("compute_class_weight: only \"balanced\" is supported, got %s"):format(tostring(mode)), 2) end
  local yt = dnn.is_tensor(y) and y:reshape(-1):long() or dnn.tensor(y):long()
  local cls = dnn.is_tensor(classes) and classes:totable() or classes
  local n = yt:numel()
  local out = {}
  for i, c in ipairs(cls) do
    local count = yt:eq(c):sum():item()
    if count == 0 then error(("compute_class_weight: class %s does not occur in y"):format(tostring(c)), 2) end
    out[i] = n / (#cls * count)
  end
  return out
end

return models
