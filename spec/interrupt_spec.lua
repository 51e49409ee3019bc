-- Ctrl-C during fit: the current batch finishes, on_train_end gets
-- logs.interrupted = true, and fit returns the History marked interrupted.
local RUNNER = os.getenv("DNNLUA") or "/work/main/build/dnnlua"

local SCRIPT = [[
local dnn = require "dnn"
local L = dnn.layers
local flag = arg[1]
local x, y = dnn.randn(256, 8), dnn.randn(256, 1)
local m = dnn.Sequential { L.Dense { 64, activation = "relu", input_shape = { 8 } }, L.Dense { 1 } }
m:compile { optimizer = "sgd", loss = "mse" }
local ended, batches = nil, 0
local cb = {
  on_train_batch_end = function()
    batches = batches + 1
    if batches == 1 then local f = io.open(flag, "w"); f:write("go"); f:close() end
  end,
  on_train_end = function(_, logs) ended = logs end,
}
local h = m:fit { x = x, y = y, epochs = 100000, batch_size = 8, verbose = 0, callbacks = { cb } }
print("interrupted=" .. tostring(h.interrupted) .. " logs=" .. tostring(ended and ended.interrupted))
print("epochs=" .. #h.history.loss)
m:fit { x = x, y = y, epochs = 1, verbose = 0 } -- the model still trains afterwards
print("still works")
]]

describe("Ctrl-C during fit", function()
  it("stops after the batch, reports interrupted and leaves the model usable", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local script, flag, out = dir .. "/fit.lua", dir .. "/started", dir .. "/out"
    local f = assert(io.open(script, "w"))
    f:write(SCRIPT)
    f:close()
    local cmd = ([[
%s %s %s > %s 2>&1 &
pid=$!
for i in $(seq 1 600); do [ -f %s ] && break; sleep 0.05; done
sleep 0.2
kill -INT $pid
wait $pid
echo "rc=$?" >> %s
]]):format(RUNNER, script, flag, out, flag, out)
    assert(os.execute(cmd))
    local text = assert(io.open(out)):read("a")
    os.execute("rm -rf " .. dir)
    assert.truthy(text:find("interrupted=true logs=true", 1, true), text)
    assert.truthy(text:find("still works", 1, true), text)
    assert.truthy(text:find("rc=0", 1, true), text)
    local epochs = tonumber(text:match("epochs=(%d+)"))
    assert.is_true(epochs ~= nil and epochs < 100000, text)
  end)
end)
