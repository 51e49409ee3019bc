-- Embedding{input_dim, output_dim, embeddings_initializer="uniform"}: rows of the
-- (input_dim, output_dim) table at 0-based integer ids.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local Embedding = Layer:extend("Embedding")

function Embedding:init(...)
  local a = Layer.parse_args(Embedding, { "input_dim", "output_dim" }, { "embeddings_initializer",
    "embeddings_regularizer", "mask_zero", "input_length" }, ...)
  Layer.init(self, a)
  for _, k in ipairs({ "input_dim", "output_dim" }) do
    if math.type(a[k]) ~= "integer" or a[k] < 1 then
      error(("Embedding: %s must be a positive integer, got %s"):format(k, tostring(a[k])), 3)
    end
  end
  self.input_dim, self.output_dim = a.input_dim, a.output_dim
  self.embeddings_initializer = a.embeddings_initializer or dnn.initializers.RandomUniform()
  self.embeddings_regularizer = a.embeddings_regularizer
end

function Embedding:build()
  self.embeddings = self:add_weight { name = "embeddings", shape = { self.input_dim, self.output_dim },
    initializer = self.embeddings_initializer, regularizer = self.embeddings_regularizer }
  self.built = true
end

function Embedding:call(ids) return dnn.F.embedding(ids, self.embeddings) end

function Embedding:get_config()
  local c = Layer.get_config(self)
  c.input_dim, c.output_dim = self.input_dim, self.output_dim
  return c
end

return Embedding
