-- dnn.F: the losses functions.
local dnn = require "dnn"
local F = dnn.F
return F
