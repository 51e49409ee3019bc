-- Keras's Ftrl (follow the regularized leader, McMahan et al. 2013), with online
-- L2, shrinkage L2 and beta.
local Optimizer = require "dnn.optimizers.optimizer"

local Ftrl = Optimizer:extend("Ftrl")
Ftrl.kind = "ftrl"
Ftrl.default_name = "ftrl"
Ftrl.hyper = {
  { "learning_rate", 0.001 }, { "learning_rate_power", -0.5 }, { "initial_accumulator_value", 0.1 },
  { "l1_regularization_strength", 0.0 }, { "l2_regularization_strength", 0.0 },
  { "l2_shrinkage_regularization_strength", 0.0 }, { "beta", 0.0 },
}

return Ftrl
