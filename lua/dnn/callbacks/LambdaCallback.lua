-- LambdaCallback (Keras): a callback made of plain functions.
--
--   dnn.callbacks.LambdaCallback{
--     on_epoch_end = function(epoch, logs) print(epoch, logs.loss) end,
--     on_train_end = function(logs) ... end,
--   }
--
-- As in Keras the functions get the hook's arguments without the callback:
-- on_epoch_begin/on_epoch_end(epoch, logs), on_batch_begin/on_batch_end
-- (batch, logs) and on_train_begin/on_train_end(logs); Keras's **kwargs
-- become the other hook names (on_train_batch_end, on_test_begin, ...).
-- on_batch_* and on_train_batch_* are the same hook (give one of them).
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"

local LambdaCallback = Callback:extend("LambdaCallback")

local ARGS = { "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
  "on_train_begin", "on_train_end" }
local EXTRA = { "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
  "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
  "on_predict_batch_begin", "on_predict_batch_end" }
local ALIAS = { on_batch_begin = "on_train_batch_begin", on_batch_end = "on_train_batch_end" }

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

function LambdaCallback:init(...)
  local a = class.kwargs("LambdaCallback", ARGS, EXTRA, ...)
  for short, long in pairs(ALIAS) do
    if a[short] ~= nil and a[long] ~= nil then
      error(("LambdaCallback: %s and %s are the same hook; give one of them"):format(short, long), 0)
    end
  end
  for name, fn in pairs(a) do
    if not callable(fn) then
      error(("LambdaCallback: %s must be a function, got %s"):format(name, type(fn)), 0)
    end
    local hook = function(_, ...) return fn(...) end
    local long = ALIAS[name] or name
    self[long] = hook
    for short, l in pairs(ALIAS) do
      if l == long then self[short] = hook end
    end
  end
end

return LambdaCallback
