-- The Keras seed in dnnlua (DESIGN.md's canonical script): an MLP on
-- Fashion-MNIST with compile / fit / evaluate.
--   scripts/dnnlua examples/fashion_mnist_mlp.lua           5 epochs (>= 87% test accuracy)
--   scripts/dnnlua examples/fashion_mnist_mlp.lua --short   1 epoch (CI)
local dnn = require "dnn"
local short = arg and arg[1] == "--short"

dnn.manual_seed(42)
local data = dnn.datasets.fashion_mnist()          -- {train={x=,y=}, test={x=,y=}}, uint8
local x_train = data.train.x:float():view(-1, 784) / 255
local model = dnn.Sequential{
  dnn.layers.Dense{256, activation="relu", input_shape={784}},
  dnn.layers.Dropout{0.2},
  dnn.layers.Dense{10, activation="softmax"},
}
model:compile{optimizer=dnn.optimizers.Adam{learning_rate=1e-3},
              loss="sparse_categorical_crossentropy", metrics={"accuracy"}}
model:summary()
local history = model:fit{x=x_train, y=data.train.y, epochs=short and 1 or 5, batch_size=64,
  validation_split=0.1,
  callbacks={dnn.callbacks.EarlyStopping{monitor="val_loss", patience=2,
                                         restore_best_weights=true}}}
local res = model:evaluate{x=data.test.x:float():view(-1, 784) / 255, y=data.test.y}
print(res.loss, res.accuracy)
print(("Test accuracy: %.4f"):format(res.accuracy))
model:save("fmnist.h5")                            -- architecture, weights, compile config, optimizer state
local again = dnn.models.load_model("fmnist.h5")
local x_test = data.test.x:float():view(-1, 784) / 255
local same = again:predict(x_test, {verbose=0}):equal(model:predict(x_test, {verbose=0}))
print(("Reloaded from fmnist.h5: predictions %s"):format(same and "identical" or "DIFFER"))
return { accuracy = res.accuracy, history = history, reloaded_identical = same }
