-- Transfer learning as the issue describes it: load a trained model, reuse
-- its layers under a new head, freeze them (trainable=false), train the
-- head, unfreeze and fine-tune with a lower learning rate.
local dnn = require "dnn"
local L = dnn.layers

local function snapshot(layer)
  local out = {}
  for i, w in ipairs(layer:get_weights()) do out[i] = w:clone() end
  return out
end

local function same(a, b)
  for i = 1, #a do
    if not a[i]:equal(b[i]) then return false end
  end
  return true
end

describe("transfer learning", function()
  it("frozen loaded layers do not move, the new head does; unfrozen they fine-tune", function()
    dnn.manual_seed(5)
    local x = dnn.randn(64, 6)
    local y = x:sum(2):gt(0):long()
    local base = dnn.Sequential {
      L.Dense { 12, activation = "relu", input_shape = { 6 }, name = "feat" },
      L.Dense { 2, activation = "softmax", name = "head_a" },
    }
    base:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
    base:fit { x = x, y = y, epochs = 2, batch_size = 16, verbose = 0 }
    local path = os.tmpname() .. ".h5"
    base:save(path)
    local loaded = dnn.models.load_model(path)
    os.remove(path)

    local feat = loaded:get_layer("feat")
    local model = dnn.Sequential { feat, L.Dense { 3, activation = "softmax", name = "head_b" } }
    feat.trainable = false
    model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 1e-2 }, loss = "sparse_categorical_crossentropy" }
    assert.equal(2, #model.trainable_variables) -- the head's kernel and bias
    assert.equal(2, #model.non_trainable_variables)
    local f0, h0 = snapshot(feat), snapshot(model:get_layer("head_b"))
    local y3 = (x:select(2, 1):gt(0):long() + x:select(2, 2):gt(0):long())
    model:fit { x = x, y = y3, epochs = 2, batch_size = 16, verbose = 0 }
    assert.is_true(same(f0, snapshot(feat)), "a frozen layer changed")
    assert.is_false(same(h0, snapshot(model:get_layer("head_b"))), "the head did not train")

    feat.trainable = true
    model:compile { optimizer = dnn.optimizers.Adam { learning_rate = 1e-4 }, loss = "sparse_categorical_crossentropy" }
    assert.equal(4, #model.trainable_variables)
    model:fit { x = x, y = y3, epochs = 1, batch_size = 16, verbose = 0 }
    assert.is_false(same(f0, snapshot(feat)), "the unfrozen layer did not fine-tune")
  end)

  it("a frozen whole model inside a new model (Keras's base_model.trainable = false)", function()
    dnn.manual_seed(6)
    local inner = dnn.Sequential { L.Dense { 4, input_shape = { 3 }, name = "inner_d" } }
    inner.trainable = false
    local inp = dnn.Input { shape = { 3 } }
    local out = L.Dense { 1, name = "top" }(inner(inp))
    local model = dnn.Model { inputs = inp, outputs = out }
    model:compile { optimizer = "sgd", loss = "mse" }
    local w0 = snapshot(inner:get_layer("inner_d"))
    model:fit { x = dnn.randn(16, 3), y = dnn.randn(16, 1), epochs = 1, batch_size = 8, verbose = 0 }
    assert.is_true(same(w0, snapshot(inner:get_layer("inner_d"))))
    assert.equal(2, #model.trainable_variables)
  end)
end)
