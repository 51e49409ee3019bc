-- dnn.regularizers: weight penalties that join the loss (Keras's L1, L2,
-- L1L2).  An instance is callable: penalty = reg(weight) (a 0-d tensor).
local dnn = require "dnn"
local class = require "dnn.class"

local R = {}

local Regularizer = class.Object:extend("Regularizer")
R.Regularizer = Regularizer

local L1L2 = Regularizer:extend("L1L2")
R.L1L2 = L1L2
function L1L2:init(...)
  local a = class.kwargs("L1L2", { "l1", "l2" }, nil, ...)
  self.l1, self.l2 = a.l1 or 0.0, a.l2 or 0.0
end
function L1L2:__call(w)
  local p = nil
  if self.l1 ~= 0 then p = w:abs():sum() * self.l1 end
  if self.l2 ~= 0 then
    local q = w:square():sum() * self.l2
    p = p and p + q or q
  end
  return p or (w:sum() * 0)
end
-- Keras 2.15 keeps the factors as float32 and writes float(...) of them
-- (0.01 -> 0.009999999776482582); configs here match.
local function f32(x) return (string.unpack("f", string.pack("f", x))) end
function L1L2:get_config() return { l1 = f32(self.l1), l2 = f32(self.l2) } end

-- Keras's defaults: L1(0.01), L2(0.01)
local L1 = L1L2:extend("L1")
R.L1 = L1
function L1:init(...)
  local a = class.kwargs("L1", { "l1" }, nil, ...)
  self.l1, self.l2 = a.l1 or 0.01, 0.0
end
function L1:get_config() return { l1 = f32(self.l1) } end

local L2 = L1L2:extend("L2")
R.L2 = L2
function L2:init(...)
  local a = class.kwargs("L2", { "l2" }, nil, ...)
  self.l1, self.l2 = 0.0, a.l2 or 0.01
end
function L2:get_config() return { l2 = f32(self.l2) } end

R.l1, R.l2, R.l1_l2 = L1, L2, L1L2

function R.get(x)
  if x == nil then return nil end
  if type(x) == "string" then
    local map = { l1 = L1, l2 = L2, l1_l2 = L1L2, L1 = L1, L2 = L2, L1L2 = L1L2 }
    if not map[x] then error(("regularizers.get: unknown regularizer '%s' (known: l1, l2, l1_l2)"):format(x), 2) end
    return map[x]()
  end
  if type(x) == "function" then return x end
  if class.is_class(x) then return x() end
  if type(x) == "table" then return x end
  error(("regularizers.get: expected a name, a regularizer or a function, got %s"):format(type(x)), 2)
end

dnn.regularizers = R
return R
