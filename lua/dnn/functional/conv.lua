-- dnn.F: the conv functions.
local dnn = require "dnn"
local F = dnn.F
return F
