-- Keras's Adam: v -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon),
-- and AMSGrad (the running maximum of v).
local Optimizer = require "dnn.optimizers.optimizer"

local Adam = Optimizer:extend("Adam")
Adam.kind = "adam"
Adam.default_name = "adam"
Adam.hyper = {
  { "learning_rate", 0.001 }, { "beta_1", 0.9 }, { "beta_2", 0.999 }, { "epsilon", 1e-7 },
  { "amsgrad", false },
}

return Adam
