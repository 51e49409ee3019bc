-- Training on the GPU end to end (the CUDA issue's parity checks beyond the
-- op table of cuda_spec.lua):
--   * fit copies nothing between host and device beyond each batch's inputs
--     (host -> device) and the scalars the progress bar shows (device ->
--     host), counted by dnn.cuda.memory_stats();
--   * the Fashion-MNIST MLP trained one epoch on the CPU and on the GPU from
--     the same weights reaches the same test accuracy within 0.5 point;
--   * deep_pipe's TrainModel:to("cuda") trains on CPU batches as on the CPU.
-- Every case carries #gpu and is pending where dnn.cuda.is_available() is
-- false; what can run without a GPU (the recipes themselves, on the CPU) runs.
-- The data: dnn.datasets.fashion_mnist from DNN_FMNIST_DIR when set (the GPU
-- machine gets a slice carried by scripts/gpu_machine_deps), else the Debian
-- package's directory.
local dnn = require "dnn"

local G = require "support.gpu"
local FMNIST_DIR = os.getenv("DNN_FMNIST_DIR")

local function need_gpu() return G.need(pending) end

local function mlp(seed)
  dnn.manual_seed(seed)
  local model = dnn.Sequential {
    dnn.layers.Dense { 256, activation = "relu", input_shape = { 784 } },
    dnn.layers.Dropout { 0.2 },
    dnn.layers.Dense { 10, activation = "softmax" },
  }
  model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 1e-3 },
                  loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return model
end

local function copies()
  local s = dnn.cuda.memory_stats()
  return s.h2d_copies, s.d2h_copies
end

-- The canonical MLP trained one epoch on device from seed 42 (same initial
-- weights, same shuffling and dropout stream on both devices), and its test
-- accuracy.
local function fmnist_one_epoch(device, data)
  local model = mlp(42)
  if device ~= "cpu" then model:to(device) end
  dnn.manual_seed(7)
  model:fit { x = data.x_train, y = data.y_train, epochs = 1, batch_size = 64, verbose = 0 }
  return model:evaluate { x = data.x_test, y = data.y_test, verbose = 0 }.accuracy
end

local function fmnist()
  local ok, d = pcall(dnn.datasets.fashion_mnist, FMNIST_DIR)
  if not ok then return nil, d end
  return {
    x_train = d.train.x:float():view(-1, 784) / 255, y_train = d.train.y,
    x_test = d.test.x:float():view(-1, 784) / 255, y_test = d.test.y,
  }
end

describe("CUDA training", function()
  it("#gpu fit copies only each batch's inputs to the device and the progress bar's scalars back", function()
    if not need_gpu() then return end
    local n, n_val, batch = 512, 128, 64
    local x, y = dnn.randn(n, 784), dnn.randint(0, 10, { n })
    local xv, yv = dnn.randn(n_val, 784), dnn.randint(0, 10, { n_val })
    local model = mlp(1):to("cuda")
    -- one step first: the optimizer's slots are made at its first update
    model:train_on_batch(x:narrow(1, 1, batch), y:narrow(1, 1, batch))
    dnn.cuda.synchronize()
    local h0, d0 = copies()
    local epochs = 2
    model:fit { x = x, y = y, epochs = epochs, batch_size = batch, validation_data = { xv, yv }, verbose = 0 }
    local h1, d1 = copies()
    local train_batches, val_batches = epochs * n // batch, epochs * n_val // batch
    local batches = train_batches + val_batches
    -- x and y of every batch, nothing else (weights and optimizer state stay)
    assert.is_true(h1 - h0 <= 2 * batches,
      ("%d host-to-device copies for %d batches (at most x and y of each)"):format(h1 - h0, batches))
    assert.is_true(h1 - h0 >= batches, ("only %d host-to-device copies for %d batches"):format(h1 - h0, batches))
    -- the logs' loss and accuracy, one scalar each per batch
    assert.is_true(d1 - d0 <= 2 * batches,
      ("%d device-to-host copies for %d batches (at most loss and accuracy of each)"):format(d1 - d0, batches))
    assert.equal("cuda:0", model.layers[1].kernel.device)
  end)

  it("#gpu trains the Fashion-MNIST MLP one epoch to the CPU's test accuracy within 0.5 point", function()
    if not need_gpu() then return end
    local data, err = fmnist()
    assert.is_not_nil(data, err)
    local cpu = fmnist_one_epoch("cpu", data)
    local gpu = fmnist_one_epoch("cuda", data)
    print(("\nFashion-MNIST MLP, 1 epoch, %d training images: test accuracy cpu %.4f cuda %.4f")
      :format(data.x_train:size(1), cpu, gpu))
    assert.is_true(cpu > 0.7, ("the CPU run only reached %.4f"):format(cpu))
    assert.is_true(math.abs(gpu - cpu) <= 0.005, ("cpu %.4f vs cuda %.4f"):format(cpu, gpu))
  end)

  it("#gpu TrainModel:to('cuda') trains on CPU batches as on the CPU", function()
    if not need_gpu() then return end
    local function run(device)
      dnn.manual_seed(5)
      local net = dnn.Sequential { dnn.layers.Dense { 16, activation = "relu", input_shape = { 8 } },
                                   dnn.layers.Dense { 3 } }
      local m = dnn.train.TrainModel { net, activation = "softmax",
        loss = dnn.losses.SparseCategoricalCrossentropy { from_logits = true }, optimizer = "adam" }
      local x, y = dnn.randn(32, 8), dnn.randint(0, 3, { 32 })
      m:do_inf_step(x) -- builds the weights on the CPU
      if device ~= "cpu" then m:to(device) end
      local losses = {}
      for i = 1, 5 do losses[i] = m:do_train_step(x, y, { lr = 1e-2 }) end
      local p = m:do_inf_step(x)
      return losses, p
    end
    local lc, pc = run("cpu")
    local lg, pg = run("cuda")
    assert.equal("cpu", pg.device) -- results come back where the inputs were
    for i = 1, 5 do assert.is_true(math.abs(lc[i] - lg[i]) <= 1e-5 * math.max(1, math.abs(lc[i])), i) end
    assert.is_true((pc - pg):abs():max():item() < 1e-5)
  end)

  -- Without a GPU: the recipes above are valid on the CPU.
  it("runs the copy-count recipe on the CPU (no copies there)", function()
    local model = mlp(1):to("cpu")
    local h = model:fit { x = dnn.randn(128, 784), y = dnn.randint(0, 10, { 128 }), epochs = 1, batch_size = 64,
                          validation_data = { dnn.randn(64, 784), dnn.randint(0, 10, { 64 }) }, verbose = 0 }
    assert.equal(1, #h.history.loss)
    assert.equal("cpu", model.layers[1].kernel.device)
  end)

  it("runs the TrainModel recipe on the CPU with :to('cpu')", function()
    local net = dnn.Sequential { dnn.layers.Dense { 3, input_shape = { 8 } } }
    local m = dnn.train.TrainModel { net, loss = "mse", optimizer = "sgd" }:to("cpu")
    local x, y = dnn.randn(4, 8), dnn.randn(4, 3)
    local before = m:do_train_step(x, y, { lr = 0.1 })
    local after
    for _ = 1, 20 do after = m:do_train_step(x, y, { lr = 0.1 }) end
    assert.is_true(after < before)
    local ok, err = pcall(m.to, m, "tpu")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("TrainModel:to", 1, true), err)
  end)
end)
