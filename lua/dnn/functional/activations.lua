-- dnn.F: the activations functions.
local dnn = require "dnn"
local F = dnn.F
return F
