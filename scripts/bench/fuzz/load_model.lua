-- Fuzz target "load_model": one input file goes through every reader of
-- model and value files (see check.lua for what counts as a pass):
--   dnn.models.load_model(path)                    whole-model files
--   model:load_weights(path)                       by order, into a fixed model
--   model:load_weights(path, {by_name=true, skip_mismatch=true})
--   dnn.load(path)                                 dnn.save files
-- The fixed model is the one scripts/bench/fuzz/make_seeds.lua saves, so
-- seeds reach the weight-assignment paths, not only the mismatch errors.
local dnn = require "dnn"
require "dnn.models"
local h5 = require "dnn.models.h5"

h5.warn = function() end -- skipped layers and fresh optimizers are expected here

local T = { suffix = ".h5" }

-- Input 4 -> Dense 3 (relu) -> Dense 2: small, but with a kernel and a bias per layer.
function T.model()
  return dnn.Sequential {
    dnn.layers.Dense { 3, input_shape = { 4 }, activation = "relu", name = "dense" },
    dnn.layers.Dense { 2, name = "dense_1" },
  }
end

local fixed = T.model()

T.calls = {
  { name = "load_model", fn = function(path) return dnn.models.load_model(path) end },
  { name = "load_weights", fn = function(path) return fixed:load_weights(path) end },
  { name = "load_weights by_name", fn = function(path)
    return fixed:load_weights(path, { by_name = true, skip_mismatch = true })
  end },
  { name = "dnn.load", fn = function(path) return dnn.load(path) end },
}

return T
