-- Keras's Adamax: u = max(beta_2 u, |g|); v -= lr m / ((1 - beta_1^t) (u + epsilon)).
local Optimizer = require "dnn.optimizers.optimizer"

local Adamax = Optimizer:extend("Adamax")
Adamax.kind = "adamax"
Adamax.default_name = "adamax"
Adamax.hyper = {
  { "learning_rate", 0.001 }, { "beta_1", 0.9 }, { "beta_2", 0.999 }, { "epsilon", 1e-7 },
}

return Adamax
