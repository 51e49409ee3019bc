-- BatchNormalization{axis=-1, momentum=0.99, epsilon=1e-3, center=true, scale=true,
--   beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
--   moving_variance_initializer="ones"}: batch statistics while training (and the moving
-- averages updated), the moving statistics in inference.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local BN = Layer:extend("BatchNormalization")

function BN:init(...)
  local a = Layer.parse_args(BN, { "axis" }, { "momentum", "epsilon", "center", "scale", "beta_initializer",
    "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
    "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized" }, ...)
  Layer.init(self, a)
  self.axis = a.axis or -1
  self.momentum, self.epsilon = a.momentum or 0.99, a.epsilon or 1e-3
  self.center, self.scale = a.center ~= false, a.scale ~= false
  self.beta_initializer, self.gamma_initializer = a.beta_initializer or "zeros", a.gamma_initializer or "ones"
  self.moving_mean_initializer = a.moving_mean_initializer or "zeros"
  self.moving_variance_initializer = a.moving_variance_initializer or "ones"
  self.beta_regularizer, self.gamma_regularizer = a.beta_regularizer, a.gamma_regularizer
end

function BN:build(input_shape)
  local ax = self.axis < 0 and #input_shape + 1 + self.axis or self.axis
  if ax < 1 or ax > #input_shape then
    error(("BatchNormalization: axis %d is out of range for input shape %s (axes are 1-based, -1 the last)")
      :format(self.axis, tostring(input_shape)), 0)
  end
  if ax == 1 then
    error("BatchNormalization: axis 1 is the batch axis; normalise over features (axes are 1-based, -1 the last)", 0)
  end
  local c = input_shape[ax]
  if self.scale then
    self.gamma = self:add_weight { name = "gamma", shape = { c }, initializer = self.gamma_initializer,
      regularizer = self.gamma_regularizer }
  end
  if self.center then
    self.beta = self:add_weight { name = "beta", shape = { c }, initializer = self.beta_initializer,
      regularizer = self.beta_regularizer }
  end
  self.moving_mean = self:add_weight { name = "moving_mean", shape = { c },
    initializer = self.moving_mean_initializer, trainable = false }
  self.moving_variance = self:add_weight { name = "moving_variance", shape = { c },
    initializer = self.moving_variance_initializer, trainable = false }
  self.built = true
end

function BN:call(x, opts)
  -- a frozen BatchNormalization runs in inference mode (Keras 2 and 3 do the same)
  local training = opts.training and self.trainable
  return dnn.F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
    { training = training and true or false, momentum = self.momentum, epsilon = self.epsilon, axis = self.axis })
end

-- Keras 2.15's config.  Keras resolves axis at build (validate_axis): a
-- built layer writes the list of positive 0-based axes ([3] for images), an
-- unbuilt one the axis as given (-1).
function BN:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  local rank = self._build_input_shape and #self._build_input_shape
  if self.built and rank then
    c.axis = { S.axis_to_keras_built(self.axis, rank) }
  elseif self._axis_list then -- from a config that gave it as a list ([1])
    c.axis = { S.axis_to_keras(self.axis) }
  else
    c.axis = S.axis_to_keras(self.axis)
  end
  c.momentum, c.epsilon, c.center, c.scale = self.momentum, self.epsilon, self.center, self.scale
  for _, k in ipairs({ "beta_initializer", "gamma_initializer", "moving_mean_initializer",
    "moving_variance_initializer" }) do
    c[k] = S.serialize_initializer(self[k], self.name, k)
  end
  c.beta_regularizer = S.serialize_regularizer(self.beta_regularizer, self.name, "beta_regularizer")
  c.gamma_regularizer = S.serialize_regularizer(self.gamma_regularizer, self.name, "gamma_regularizer")
  c.beta_constraint, c.gamma_constraint = S.null, S.null
  return c
end

function BN._config_to_args(c, who, custom_objects)
  local S = require "dnn.layers.serialization"
  S.refuse(c, { "beta_constraint", "gamma_constraint", "renorm", "renorm_clipping", "virtual_batch_size",
    "synchronized" }, who)
  c.renorm_momentum = nil
  S.check(c, who, { axis = "axes", momentum = "number", epsilon = "positive", center = "bool", scale = "bool" })
  if type(c.axis) == "table" then
    if #c.axis ~= 1 then
      error(("%s: axis %s: dnnlua normalises over one axis"):format(who, require("dnn.json").encode(c.axis)), 0)
    end
    c.axis = c.axis[1]
  end
  if c.axis ~= nil then c.axis = S.axis_from_keras(c.axis, who) end
  for _, k in ipairs({ "beta_initializer", "gamma_initializer", "moving_mean_initializer",
    "moving_variance_initializer" }) do
    c[k] = S.deserialize_initializer(c[k], who, k, custom_objects)
  end
  c.beta_regularizer = S.deserialize_regularizer(c.beta_regularizer, who, "beta_regularizer", custom_objects)
  c.gamma_regularizer = S.deserialize_regularizer(c.gamma_regularizer, who, "gamma_regularizer", custom_objects)
end

-- An axis given as a list ([3], as Keras writes a built layer's) is written
-- back as a list.
function BN._config_after(layer, _, cfg)
  if type(cfg.axis) == "table" then layer._axis_list = true end
end

return BN
