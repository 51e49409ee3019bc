-- Keras's AdamW: Adam with decoupled weight decay (v -= v * weight_decay * lr
-- before the Adam step), weight_decay 0.004 unless given.
local Optimizer = require "dnn.optimizers.optimizer"

local AdamW = Optimizer:extend("AdamW")
AdamW.kind = "adam"
AdamW.default_name = "adamw"
AdamW.hyper = {
  { "learning_rate", 0.001 }, { "weight_decay", 0.004 }, { "beta_1", 0.9 }, { "beta_2", 0.999 },
  { "epsilon", 1e-7 }, { "amsgrad", false },
}

return AdamW
