-- Keras's Adagrad: accumulators start at initial_accumulator_value and the
-- update divides by sqrt(accumulator + epsilon).
local Optimizer = require "dnn.optimizers.optimizer"

local Adagrad = Optimizer:extend("Adagrad")
Adagrad.kind = "adagrad"
Adagrad.default_name = "adagrad"
Adagrad.hyper = {
  { "learning_rate", 0.001 }, { "initial_accumulator_value", 0.1 }, { "epsilon", 1e-7 },
}

return Adagrad
