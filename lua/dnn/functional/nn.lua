-- dnn.F: the nn functions.
local dnn = require "dnn"
local F = dnn.F
return F
