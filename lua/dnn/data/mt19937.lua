-- numpy's legacy RandomState (MT19937) for the few draws whose exact values
-- users compare across libraries: Keras shuffles the files of
-- image_dataset_from_directory with np.random.RandomState(seed).shuffle, and
-- scikit-learn's train_test_split draws with RandomState(random_state).
-- Reproducing them bit for bit gives the same training/validation files and
-- the same train/test rows as in Python for the same seed.
--
--   local rs = RandomState(seed)   -- seed: integer 0 .. 2^32-1
--   rs:next32()                    -- genrand_int32
--   rs:interval(max)               -- numpy's random_interval: uniform 0..max
--   rs:shuffle(list)               -- in place, numpy's algorithm
--   rs:permutation(n)              -- {0..n-1} shuffled (0-based values)
--   rs:choice(list, size)          -- without replacement, as numpy draws it
local M = {}

local RandomState = {}
RandomState.__index = RandomState

function M.RandomState(seed)
  if math.type(seed) ~= "integer" or seed < 0 or seed > 0xffffffff then
    error(("RandomState: the seed must be an integer in 0..2^32-1, got %s"):format(tostring(seed)), 2)
  end
  local mt = {}
  local s = seed
  for i = 0, 623 do
    mt[i] = s
    s = (1812433253 * (s ~ (s >> 30)) + i + 1) & 0xffffffff
  end
  return setmetatable({ mt = mt, pos = 624 }, RandomState)
end

local function generate(mt)
  for k = 0, 623 do
    local y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff)
    local v = mt[(k + 397) % 624] ~ (y >> 1)
    if y & 1 == 1 then v = v ~ 0x9908b0df end
    mt[k] = v
  end
end

function RandomState:next32()
  if self.pos >= 624 then
    generate(self.mt)
    self.pos = 0
  end
  local y = self.mt[self.pos]
  self.pos = self.pos + 1
  y = y ~ (y >> 11)
  y = y ~ ((y << 7) & 0x9d2c5680)
  y = y ~ ((y << 15) & 0xefc60000)
  y = y ~ (y >> 18)
  return y & 0xffffffff
end

-- numpy/random/src/distributions: the smallest mask covering max, rejection.
function RandomState:interval(max)
  if max == 0 then return 0 end
  if max > 0xffffffff then error("RandomState:interval: ranges above 2^32 are not needed here", 2) end
  local mask = max
  mask = mask | (mask >> 1)
  mask = mask | (mask >> 2)
  mask = mask | (mask >> 4)
  mask = mask | (mask >> 8)
  mask = mask | (mask >> 16)
  local v
  repeat v = self:next32() & mask until v <= max
  return v
end

function RandomState:shuffle(list)
  for i = #list - 1, 1, -1 do
    local j = self:interval(i)
    list[i + 1], list[j + 1] = list[j + 1], list[i + 1]
  end
  return list
end

function RandomState:permutation(n)
  local p = {}
  for i = 1, n do p[i] = i - 1 end
  return self:shuffle(p)
end

function RandomState:choice(list, size)
  local idx = self:permutation(#list)
  local out = {}
  for i = 1, size do out[i] = list[idx[i] + 1] end
  return out
end

return M
