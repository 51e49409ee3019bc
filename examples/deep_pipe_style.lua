-- deep_pipe's training tutorial in dnnlua: the seed's CNN with pyramid
-- pooling, an Infinite batch iterator over load_by_random_id on
-- Fashion-MNIST, an Exponential "weights" policy received by a subclassed
-- model, a TrainLossStop policy, validation, TensorBoard logs and
-- checkpoints.  Run it twice with the same directory: the second run
-- resumes where the first stopped, and ends as an uninterrupted run would.
--
--   dnnlua examples/deep_pipe_style.lua run/ --interrupt-after 2   # dies after 2 epochs
--   dnnlua examples/deep_pipe_style.lua run/                       # resumes at epoch 3
--   tensorboard --logdir run/logs                                  # the curves
--
-- Options: --epochs N (default 4), --interrupt-after K (leave the process
-- as a crash would, right after epoch K's checkpoint), --threads T (2),
-- --short (15 batches an epoch: a quick check for CI).
local dnn = require "dnn"
local T = dnn.train
local L = dnn.layers

local dir, epochs, interrupt_after, threads, short = nil, 4, nil, 2, false
do
  local i = 1
  while arg and arg[i] do
    local a = arg[i]
    if a == "--epochs" then i = i + 1; epochs = math.tointeger(tonumber(arg[i]))
    elseif a == "--interrupt-after" then i = i + 1; interrupt_after = math.tointeger(tonumber(arg[i]))
    elseif a == "--threads" then i = i + 1; threads = math.tointeger(tonumber(arg[i]))
    elseif a == "--short" then short = true
    elseif a:sub(1, 2) == "--" then error("unknown option " .. a)
    else dir = a end
    i = i + 1
  end
end
dir = dir or "deep_pipe_run"
dnn.set_num_threads(threads)
dnn.manual_seed(42)

-- ---- data: one image and one label per id, as deep_pipe's dataset objects ----
local data = dnn.datasets.fashion_mnist()
local train_x = data.train.x -- uint8 (60000, 28, 28): converted per image
local train_y = data.train.y
local function load_image(id) return train_x[id]:float():view(28, 28, 1) / 255 end
local function load_label(id) return train_y[id] end
local ids = {}
for i = 1, train_x:size(1) do ids[i] = i end

local batch_iter = T.Infinite {
  T.load_by_random_id(load_image, load_label, { ids = ids }),
  batch_size = 64, n_iters_per_epoch = short and 15 or 60,
}

-- ---- the seed's architecture: convolutions, then global (pyramid) pooling ----
local architecture = dnn.Sequential {
  L.Conv2D { 16, 3, activation = "relu", input_shape = { 28, 28, 1 } },
  L.MaxPooling2D { 2 },
  L.Conv2D { 32, 3, activation = "relu" },
  L.Conv2D { 64, 3 },
  L.PyramidPooling { pooling = "max", levels = 2 }, -- 1x1 and 2x2 grids: 64 * 5 features
  L.ReLU(),
  L.Dense { 10 },
}

-- The tutorial's WeightedModel: receives the "weights" value policy.
local WeightedModel = T.TrainModel:extend("WeightedModel")
function WeightedModel:do_train_step(x, y, opts)
  if opts.weights ~= self.last_weights then
    print("I received these weights:", opts.weights)
    self.last_weights = opts.weights
  end
  return T.TrainModel.do_train_step(self, x, y, { lr = opts.lr })
end

local model = WeightedModel { architecture, L.Softmax(),
  dnn.losses.SparseCategoricalCrossentropy { from_logits = true }, dnn.optimizers.Adam }

-- ---- validation: accuracy on the first 2000 test images ----
local test_x = data.test.x:narrow(1, 1, 2000):float():view(-1, 28, 28, 1) / 255
local test_y = data.test.y:narrow(1, 1, 2000)
local function validate()
  local correct = 0
  for s = 1, 2000, 500 do
    local p = model:do_inf_step(test_x:narrow(1, s, 500))
    correct = correct + (p:argmax(-1) - 1):eq(test_y:narrow(1, s, 500)):sum():item()
  end
  return { accuracy = correct / 2000 }
end

-- Prints each epoch's validation result.
local Report = T.Policy:extend("Report")
function Report:epoch_finished(epoch, info)
  print(("Epoch %d/%d: train loss %.4f, validation accuracy %.4f"):format(epoch + 1, epochs,
    T.policies.mean(info.train_losses), info.metrics.accuracy))
end

-- A crash on request, right after a checkpoint (as a kill would leave it).
local Crash = T.Policy:extend("Crash")
function Crash:epoch_started(epoch)
  if interrupt_after and epoch == interrupt_after then
    print(("(interrupted after epoch %d: run the same command without --interrupt-after to resume)")
      :format(epoch))
    os.exit(3)
  end
end

local t0 = dnn.monotonic()
local r = T.train_model { model, batch_iter, n_epochs = epochs, lr = 1e-3,
  log_path = dir .. "/logs", checkpoints_path = dir .. "/checkpoints",
  validate = validate,
  policies = { Crash(), T.TrainLossStop(), Report() },
  weights = T.Exponential { initial = 10, multiplier = 0.5 },
}
print(("%s: %d epochs, %d steps%s; %.1f s in this run; final validation accuracy %.4f")
  :format(r.resumed_from and "resumed" or "trained", r.epochs, r.steps, r.stopped and " (stopped early)" or "",
    dnn.monotonic() - t0, validate().accuracy))
