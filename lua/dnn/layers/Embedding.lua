-- Embedding{input_dim, output_dim, embeddings_initializer="uniform"}: rows of the
-- (input_dim, output_dim) table at 0-based integer ids.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local Embedding = Layer:extend("Embedding")

function Embedding:init(...)
  local a = Layer.parse_args(Embedding, { "input_dim", "output_dim" }, { "embeddings_initializer",
    "embeddings_regularizer", "mask_zero", "input_length" }, ...)
  -- input_dim is the vocabulary size here, not Layer's input_dim= (an input
  -- shape); the input shape is (input_length,) when given, as in Keras
  local base = {}
  for k, v in pairs(a) do base[k] = v end
  base.input_dim = nil
  if base.input_shape == nil and base.batch_input_shape == nil and math.type(a.input_length) == "integer" then
    base.input_shape = { a.input_length }
  end
  Layer.init(self, base)
  for _, k in ipairs({ "input_dim", "output_dim" }) do
    if math.type(a[k]) ~= "integer" or a[k] < 1 then
      error(("Embedding: %s must be a positive integer, got %s"):format(k, tostring(a[k])), 3)
    end
  end
  self.input_dim, self.output_dim = a.input_dim, a.output_dim
  self.embeddings_initializer = a.embeddings_initializer or dnn.initializers.RandomUniform()
  self.embeddings_regularizer = a.embeddings_regularizer
  -- kept for get_config only (dnnlua has no masks; the input shape comes from the data)
  self.mask_zero, self.input_length = a.mask_zero == true, a.input_length
end

function Embedding:build()
  self.embeddings = self:add_weight { name = "embeddings", shape = { self.input_dim, self.output_dim },
    initializer = self.embeddings_initializer, regularizer = self.embeddings_regularizer }
  self.built = true
end

function Embedding:call(ids) return dnn.F.embedding(ids, self.embeddings) end

-- Keras 2.15 gives every Embedding an input shape ((input_length,) or
-- (None,)), so batch_input_shape is always written.
function Embedding:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.batch_input_shape = c.batch_input_shape or { S.null, S.opt(self.input_length) }
  c.input_dim, c.output_dim = self.input_dim, self.output_dim
  c.embeddings_initializer = S.serialize_initializer(self.embeddings_initializer, self.name, "embeddings_initializer")
  c.embeddings_regularizer = S.serialize_regularizer(self.embeddings_regularizer, self.name, "embeddings_regularizer")
  c.activity_regularizer, c.embeddings_constraint = S.null, S.null
  c.mask_zero = self.mask_zero == true
  c.input_length = S.opt(self.input_length)
  return c
end

function Embedding._config_to_args(c, who, custom_objects)
  local S = require "dnn.layers.serialization"
  S.require_keys(c, { "input_dim", "output_dim" }, who)
  S.check(c, who, { input_dim = "posint", output_dim = "posint", mask_zero = "bool" })
  if c.input_length ~= nil and math.type(c.input_length) ~= "integer" and not S.is_int_list(c.input_length) then
    error(("%s: 'input_length' must be an integer, a list of them or null, got %s")
      :format(who, S.describe(c.input_length)), 0)
  end
  S.refuse(c, { "activity_regularizer", "embeddings_constraint", "sparse" }, who)
  c.embeddings_initializer = S.deserialize_initializer(c.embeddings_initializer, who, "embeddings_initializer",
    custom_objects)
  c.embeddings_regularizer = S.deserialize_regularizer(c.embeddings_regularizer, who, "embeddings_regularizer",
    custom_objects)
end

-- mask_zero and input_length are kept for the config (dnnlua has no masks).
function Embedding._config_after(layer, c)
  layer.mask_zero = c.mask_zero == true
  layer.input_length = c.input_length
end

return Embedding
