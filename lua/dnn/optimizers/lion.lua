-- Keras's Lion: v -= lr sign(beta_1 m + (1 - beta_1) g); m = beta_2 m + (1 - beta_2) g.
local Optimizer = require "dnn.optimizers.optimizer"

local Lion = Optimizer:extend("Lion")
Lion.kind = "lion"
Lion.default_name = "lion"
Lion.hyper = {
  { "learning_rate", 0.001 }, { "beta_1", 0.9 }, { "beta_2", 0.99 },
}

return Lion
