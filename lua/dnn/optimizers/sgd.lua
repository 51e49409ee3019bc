-- Keras's SGD: plain, with momentum (m = momentum * m - lr * g; v += m) or
-- Nesterov momentum (v += momentum * m - lr * g).
local Optimizer = require "dnn.optimizers.optimizer"

local SGD = Optimizer:extend("SGD")
SGD.kind = "sgd"
SGD.default_name = "SGD"
SGD.hyper = {
  { "learning_rate", 0.01 }, { "momentum", 0.0 }, { "nesterov", false },
}

return SGD
