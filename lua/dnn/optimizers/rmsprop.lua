-- Keras's RMSprop: v = rho v + (1 - rho) g^2; v -= lr g / sqrt(v + epsilon) (epsilon
-- inside the root, unlike PyTorch), with momentum and the centered variant.
local Optimizer = require "dnn.optimizers.optimizer"

local RMSprop = Optimizer:extend("RMSprop")
RMSprop.kind = "rmsprop"
RMSprop.default_name = "rmsprop"
RMSprop.hyper = {
  { "learning_rate", 0.001 }, { "rho", 0.9 }, { "momentum", 0.0 }, { "epsilon", 1e-7 },
  { "centered", false },
}

return RMSprop
