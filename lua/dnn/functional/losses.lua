-- dnn.F: the losses functions.  The losses live in dnn.losses (functions and
-- Keras's Loss classes, lua/dnn/losses.lua); their functional forms are also
-- dnn.F.<name>, per-sample like Keras's loss functions.
local dnn = require "dnn"
local F = dnn.F
local losses = require "dnn.losses"
dnn.losses = losses

for _, name in ipairs({
  "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
  "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
  "mean_squared_logarithmic_error", "huber", "hinge", "squared_hinge", "categorical_hinge",
  "kl_divergence", "poisson", "cosine_similarity", "log_cosh",
}) do
  F[name] = losses[name]
end
return F
