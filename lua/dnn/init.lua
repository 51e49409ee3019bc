-- The dnn module: the C core (dnn.core) plus the Lua library around it.
local core = require "dnn.core"

local dnn = {}
for k, v in pairs(core) do dnn[k] = v end

-- every tensor method is also a function: dnn.add(a, b) == a:add(b)
for name, fn in pairs(core.methods) do
  if dnn[name] == nil then dnn[name] = fn end
end

dnn.core = core
package.loaded.dnn = dnn -- submodules may require "dnn" while we load

require "dnn.tensor"
require "dnn.autograd"
require "dnn.functional"
require "dnn.initializers"
require "dnn.regularizers"
require "dnn.layers"
dnn.io = require "dnn.io"
require "dnn.serialize"
dnn.datasets = require "dnn.datasets"
dnn.optimizers = require "dnn.optimizers"
dnn.data = require "dnn.data"
require "dnn.metrics"
require "dnn.callbacks"
require "dnn.callbacks.dss"
require "dnn.models"
dnn.distributed = require "dnn.distributed" -- data-parallel replicas (mpirun)
require "dnn.train"
require "dnn.cuda" -- dnn.set_default_device (dnn.cuda itself comes from the C core)
dnn.help = require "dnn.help"

return dnn
