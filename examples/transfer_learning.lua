-- Transfer learning and fine-tuning on Fashion-MNIST (DSS's "start with
-- weights from a previously trained model"):
--   1. pretrain an MLP on classes 0-4 and save it (one .h5 file);
--   2. load it, keep its feature layers, put a new head on top for classes
--      5-9, freeze the features and train the head;
--   3. unfreeze and fine-tune everything with a lower learning rate.
--   scripts/dnnlua examples/transfer_learning.lua [--short]
local dnn = require "dnn"
local L = dnn.layers
local short = arg and arg[1] == "--short"
dnn.manual_seed(3)

local data = dnn.datasets.fashion_mnist()
local function subset(split, lo, hi)
  local y = data[split].y
  local idx = y:ge(lo):logical_and(y:le(hi)):nonzero():select(2, 1)
  local x = data[split].x:index_select(1, idx):float():view(-1, 784) / 255
  return x, y:index_select(1, idx) - lo -- labels 0..4 in both tasks
end
local xa, ya = subset("train", 0, 4)
local xa_test, ya_test = subset("test", 0, 4)
local xb, yb = subset("train", 5, 9)
local xb_test, yb_test = subset("test", 5, 9)
if short then xa, ya, xb, yb = xa:narrow(1, 1, 6000), ya:narrow(1, 1, 6000), xb:narrow(1, 1, 6000), yb:narrow(1, 1, 6000) end

-- 1. pretraining on classes 0-4
local base = dnn.Sequential{
  L.Dense{256, activation="relu", input_shape={784}, name="features_1"},
  L.Dense{128, activation="relu", name="features_2"},
  L.Dense{5, activation="softmax", name="head_a"},
}
base:compile{optimizer="adam", loss="sparse_categorical_crossentropy", metrics={"accuracy"}}
base:fit{x=xa, y=ya, epochs=2, batch_size=64, verbose=0}
local acc_a = base:evaluate{x=xa_test, y=ya_test, verbose=0}.accuracy
local path = os.tmpname() .. ".h5"
base:save(path)

-- 2. a new head on the loaded features, features frozen
local loaded = dnn.models.load_model(path)
os.remove(path)
local model = dnn.Sequential{
  loaded:get_layer("features_1"),
  loaded:get_layer("features_2"),
  L.Dense{5, activation="softmax", name="head_b"},
}
for _, name in ipairs({ "features_1", "features_2" }) do model:get_layer(name).trainable = false end
model:compile{optimizer=dnn.optimizers.Adam{learning_rate=1e-3}, loss="sparse_categorical_crossentropy",
  metrics={"accuracy"}}
model:fit{x=xb, y=yb, epochs=2, batch_size=64, verbose=0}
local acc_frozen = model:evaluate{x=xb_test, y=yb_test, verbose=0}.accuracy

-- 3. fine-tuning everything with a smaller learning rate
for _, name in ipairs({ "features_1", "features_2" }) do model:get_layer(name).trainable = true end
model:compile{optimizer=dnn.optimizers.Adam{learning_rate=1e-4}, loss="sparse_categorical_crossentropy",
  metrics={"accuracy"}}
model:fit{x=xb, y=yb, epochs=1, batch_size=64, verbose=0}
local acc_tuned = model:evaluate{x=xb_test, y=yb_test, verbose=0}.accuracy

print(("Pretrained accuracy on classes 0-4: %.4f"):format(acc_a))
print(("Transfer accuracy on classes 5-9 (frozen features, new head): %.4f"):format(acc_frozen))
print(("Transfer accuracy on classes 5-9 after fine-tuning: %.4f"):format(acc_tuned))
return { pretrained = acc_a, frozen = acc_frozen, tuned = acc_tuned }
