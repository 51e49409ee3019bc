-- Dropout{rate, seed=nil}: inverted dropout while training, identity otherwise.
local dnn = require "dnn"
local Layer = require "dnn.layers.Layer"

local Dropout = Layer:extend("Dropout")

function Dropout:init(...)
  local a = Layer.parse_args(Dropout, { "rate" }, { "seed", "noise_shape" }, ...)
  Layer.init(self, a)
  if type(a.rate) ~= "number" or a.rate < 0 or a.rate >= 1 then
    error(("Dropout: rate must be a number in [0, 1), got %s"):format(tostring(a.rate)), 3)
  end
  self.rate, self.seed = a.rate, a.seed
end

function Dropout:call(x, opts)
  if not opts.training or self.rate == 0 then return x end
  return dnn.F.dropout(x, self.rate, { training = true })
end
function Dropout:compute_output_shape(s) return s end

function Dropout:get_config()
  local S = require "dnn.layers.serialization"
  local c = Layer.get_config(self)
  c.rate, c.noise_shape, c.seed = self.rate, S.null, S.opt(self.seed)
  return c
end

function Dropout._config_to_args(c, who)
  local S = require "dnn.layers.serialization"
  S.require_keys(c, { "rate" }, who)
  S.check(c, who, { rate = "rate", seed = "int" })
  S.refuse(c, { "noise_shape" }, who)
end

return Dropout
