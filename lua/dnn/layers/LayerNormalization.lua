-- LayerNormalization{axis=-1 (or a list), epsilon=1e-3, center=true, scale=true}
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local LN = Layer:extend("LayerNormalization")

function LN:init(...)
  local a = Layer.parse_args(LN, { "axis" }, { "epsilon", "center", "scale", "beta_initializer",
    "gamma_initializer", "beta_regularizer", "gamma_regularizer" }, ...)
  Layer.init(self, a)
  self.axis = a.axis or -1
  self.epsilon = a.epsilon or 1e-3
  self.center, self.scale = a.center ~= false, a.scale ~= false
  self.beta_initializer, self.gamma_initializer = a.beta_initializer or "zeros", a.gamma_initializer or "ones"
end

function LN:build(input_shape)
  local axes = type(self.axis) == "table" and self.axis or { self.axis }
  local shape = {}
  for _, ax in ipairs(axes) do
    local a = ax < 0 and #input_shape + 1 + ax or ax
    if a < 2 or a > #input_shape then
      error(("LayerNormalization: axis %d does not fit input shape %s (axes are 1-based, -1 the last; not the batch axis)")
        :format(ax, tostring(input_shape)), 0)
    end
    shape[#shape + 1] = input_shape[a]
  end
  if self.scale then self.gamma = self:add_weight { name = "gamma", shape = shape, initializer = self.gamma_initializer } end
  if self.center then self.beta = self:add_weight { name = "beta", shape = shape, initializer = self.beta_initializer } end
  self.built = true
end

function LN:call(x)
  return dnn.F.layer_norm(x, self.gamma, self.beta, { axis = self.axis, epsilon = self.epsilon })
end

-- Keras 2.15's config; like BatchNormalization, a built layer writes its
-- axes as a list of positive 0-based axes ([1] for (batch, features)).
function LN:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  local axes = type(self.axis) == "table" and self.axis or { self.axis }
  local rank = self._build_input_shape and #self._build_input_shape
  if self.built and rank then
    c.axis = {}
    for i, a in ipairs(axes) do c.axis[i] = S.axis_to_keras_built(a, rank) end
  elseif type(self.axis) == "table" then
    c.axis = {}
    for i, a in ipairs(axes) do c.axis[i] = S.axis_to_keras(a) end
  else
    c.axis = S.axis_to_keras(self.axis)
  end
  c.epsilon, c.center, c.scale = self.epsilon, self.center, self.scale
  c.beta_initializer = S.serialize_initializer(self.beta_initializer, self.name, "beta_initializer")
  c.gamma_initializer = S.serialize_initializer(self.gamma_initializer, self.name, "gamma_initializer")
  c.beta_regularizer, c.gamma_regularizer, c.beta_constraint, c.gamma_constraint = S.null, S.null, S.null, S.null
  return c
end

function LN._config_to_args(c, who, custom_objects)
  local S = require "dnn.layers.serialization"
  S.check(c, who, { axis = "axes", epsilon = "positive", center = "bool", scale = "bool" })
  S.refuse(c, { "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "rms_scaling" }, who)
  if type(c.axis) == "table" then
    local axes = {}
    for i, k in ipairs(c.axis) do axes[i] = S.axis_from_keras(k, who) end
    c.axis = axes -- kept a list, so get_config writes a list again
  elseif c.axis ~= nil then
    c.axis = S.axis_from_keras(c.axis, who)
  end
  c.beta_initializer = S.deserialize_initializer(c.beta_initializer, who, "beta_initializer", custom_objects)
  c.gamma_initializer = S.deserialize_initializer(c.gamma_initializer, who, "gamma_initializer", custom_objects)
end

return LN
