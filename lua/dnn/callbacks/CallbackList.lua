-- Calls a hook on every callback in order.  Callbacks may be instances of
-- dnn.callbacks.Callback subclasses or plain Lua tables with some of the hook
-- functions (missing hooks are skipped).
local class = require "dnn.class"

local CallbackList = class.Object:extend("CallbackList")

function CallbackList:init(callbacks, opts)
  self.callbacks = {}
  for _, cb in ipairs(callbacks or {}) do self.callbacks[#self.callbacks + 1] = cb end
  opts = opts or {}
  if opts.model then self:set_model(opts.model) end
  if opts.params then self:set_params(opts.params) end
end

function CallbackList:append(cb) self.callbacks[#self.callbacks + 1] = cb end

function CallbackList:set_model(model)
  self.model = model
  for _, cb in ipairs(self.callbacks) do
    if type(cb.set_model) == "function" then cb:set_model(model) else cb.model = model end
  end
end

function CallbackList:set_params(params)
  self.params = params
  for _, cb in ipairs(self.callbacks) do
    if type(cb.set_params) == "function" then cb:set_params(params) else cb.params = params end
  end
end

-- Errors in a callback name it (its class, or "callback N" for plain tables).
function CallbackList:call(hook, ...)
  for i, cb in ipairs(self.callbacks) do
    local fn = cb[hook]
    if type(fn) == "function" then
      local ok, err = pcall(fn, cb, ...)
      if not ok then
        local who = class.of(cb) and class.name(cb) or ("callback " .. i)
        if type(err) == "table" then error(err, 0) end -- structured signals pass through
        error(("%s.%s: %s"):format(who, hook, tostring(err)), 0)
      end
    end
  end
end

return CallbackList
