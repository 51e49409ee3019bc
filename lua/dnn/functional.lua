-- dnn.functional (alias dnn.F): neural-network ops as functions.  Each area
-- adds its functions from its own file under lua/dnn/functional/.
local dnn = require "dnn"
local F = {}
dnn.functional = F
dnn.F = F
for _, area in ipairs({ "activations", "nn", "conv", "losses" }) do
  require("dnn.functional." .. area)
end
return F
