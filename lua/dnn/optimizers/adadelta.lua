-- Keras's Adadelta: learning_rate 0.001 and rho 0.95 by default (PyTorch: 1.0, 0.9).
local Optimizer = require "dnn.optimizers.optimizer"

local Adadelta = Optimizer:extend("Adadelta")
Adadelta.kind = "adadelta"
Adadelta.default_name = "adadelta"
Adadelta.hyper = {
  { "learning_rate", 0.001 }, { "rho", 0.95 }, { "epsilon", 1e-7 },
}

return Adadelta
