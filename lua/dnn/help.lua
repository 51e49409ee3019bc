-- dnn.help: one-line signatures and descriptions of the dnn API.
local help = {}
return help
