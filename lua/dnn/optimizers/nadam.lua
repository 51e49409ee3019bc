-- Keras's Nadam (Dozat's momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t), not
-- PyTorch's NAdam momentum_decay).
local Optimizer = require "dnn.optimizers.optimizer"

local Nadam = Optimizer:extend("Nadam")
Nadam.kind = "nadam"
Nadam.default_name = "nadam"
Nadam.hyper = {
  { "learning_rate", 0.001 }, { "beta_1", 0.9 }, { "beta_2", 0.999 }, { "epsilon", 1e-7 },
}

return Nadam
