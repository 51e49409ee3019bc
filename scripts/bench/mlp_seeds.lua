-- The canonical MLP recipe (examples/fashion_mnist_mlp.lua) for one seed,
-- quiet: prints "seed <s> <test accuracy>".  Used by scripts/bench/mlp_seeds.
local dnn = require "dnn"
local seed = tonumber(arg[1] or "42")
dnn.manual_seed(seed)
local data = dnn.datasets.fashion_mnist()
local x_train = data.train.x:float():view(-1, 784) / 255
local model = dnn.Sequential{
  dnn.layers.Dense{256, activation="relu", input_shape={784}},
  dnn.layers.Dropout{0.2},
  dnn.layers.Dense{10, activation="softmax"},
}
model:compile{optimizer=dnn.optimizers.Adam{learning_rate=1e-3},
              loss="sparse_categorical_crossentropy", metrics={"accuracy"}}
model:fit{x=x_train, y=data.train.y, epochs=5, batch_size=64, validation_split=0.1, verbose=0,
  callbacks={dnn.callbacks.EarlyStopping{monitor="val_loss", patience=2, restore_best_weights=true}}}
local res = model:evaluate{x=data.test.x:float():view(-1, 784) / 255, y=data.test.y, verbose=0}
print(("seed %d %.4f"):format(seed, res.accuracy))
