-- dnn.train: deep_pipe-style training -- train_model with policies, batch
-- iterators, resumable checkpoints and TensorBoard logs.
--
--   local T = dnn.train
--   local model = T.TrainModel{net, activation=dnn.layers.Softmax(),
--     loss=dnn.losses.SparseCategoricalCrossentropy(), optimizer=dnn.optimizers.Adam}
--   local it = T.Infinite{T.load_by_random_id(load_x, load_y, {ids=ids}),
--                         batch_size=100, batches_per_epoch=200}
--   T.train_model{model, it, n_epochs=10, lr=1e-3, log_path="run/logs",
--     checkpoints_path="run/checkpoints", policies={T.TrainLossStop()}}
--
-- Files: train_model.lua (the loop, resume), policies.lua, batch_iter.lua,
-- TrainModel.lua, checkpoints.lua, logger.lua (event file + CSV), rng.lua.
local dnn = require "dnn"

local T = {}
dnn.train = T

local P = require "dnn.train.policies"
for _, k in ipairs({ "Policy", "ValuePolicy", "Constant", "Exponential", "Schedule", "Switch", "LambdaEpoch",
  "DecreasingOnPlateau", "EarlyStopping", "LossStop", "TrainLossStop", "TimeProfiler", "Progress", "TQDM" }) do
  T[k] = P[k]
end
T.policies = P

local B = require "dnn.train.batch_iter"
for _, k in ipairs({ "Infinite", "load_by_random_id", "sample", "unpack_args", "multiply", "apply_at",
  "combine_batches", "combine_to_arrays", "combine_pad" }) do
  T[k] = B[k]
end

local R = require "dnn.train.rng"
T.Generator = R.Generator

T.TrainModel = require "dnn.train.TrainModel"
T.train_model = require("dnn.train.train_model").train_model
T.Checkpoints = require "dnn.train.checkpoints"

local ok, help = pcall(require, "dnn.help")
if ok and type(help) == "table" and help.add then
  local S = "deep_pipe-style training"
  help.add("dnn.train.train_model", "dnn.train.train_model{model, batch_iter, n_epochs=, lr=, log_path=, "
    .. "checkpoints_path=, validate=, policies={...}, <name>=<value policy>}",
    "deep_pipe's train_model: policies, TensorBoard/CSV logs, checkpoints; rerun with the same "
    .. "checkpoints_path to resume exactly.", S)
  help.add("dnn.train.TrainModel", "dnn.train.TrainModel{architecture, activation=, loss=, optimizer=}",
    "A network with its loss and optimizer: do_train_step(x, y, {lr=}) -> loss, do_inf_step(x).", S)
  help.add("dnn.train.Infinite", "dnn.train.Infinite{source, transformers..., batch_size=, batches_per_epoch=}",
    "deep_pipe's batch iterator: batches drawn from an endless source; it() iterates one epoch.", S)
  help.add("dnn.train.load_by_random_id", "dnn.train.load_by_random_id(loaders..., {ids=, weights=, random_state=})",
    "An endless source of loader(id) for ids drawn at random (weighted).", S)
  help.add("dnn.train.Exponential", "dnn.train.Exponential{initial, multiplier, step_length=1, floordiv=true}",
    "Value policy: initial * multiplier^(epoch // step_length), clipped to [min_value, max_value].", S)
end

return T
