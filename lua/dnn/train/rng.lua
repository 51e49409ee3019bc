-- Random streams whose state a checkpoint can hold.
--
-- Generator: xoshiro256** in Lua 5.4's 64-bit integers (wrapping arithmetic,
-- logical shifts), seeded through splitmix64 -- the sampler of
-- load_by_random_id and Infinite's shuffles.  Its state is four integers, so
-- it saves exactly and costs nothing to copy.
--
-- Stream: a second state of dnn's global Philox generator.  Code run with
-- stream:run(fn) draws its random numbers (dnn.rand, dropout, augmentation in a
-- loader) from the stream, not from the training's global stream, so data
-- loading and training never interleave their draws: a batch source replayed
-- after a restart sees exactly the numbers it saw the first time.
local dnn = require "dnn"
local class = require "dnn.class"

local M = {}

-- ---------- Generator ----------

local Generator = class.Object:extend("Generator")
M.Generator = Generator

local function splitmix(x)
  x = x + (-7046029254386353131) -- 0x9E3779B97F4A7C15
  local z = x
  z = (z ~ (z >> 30)) * (-4658895280553007687) -- 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * (-7723592293110705685) -- 0x94D049BB133111EB
  return x, z ~ (z >> 31)
end

local function rotl(x, k) return (x << k) | (x >> (64 - k)) end

-- Generator(seed): seed an integer (any, negative too).
function Generator:init(seed)
  if math.type(seed) ~= "integer" then
    error(("Generator: the seed must be an integer, got %s"):format(tostring(seed)), 3)
  end
  local x, s = seed, {}
  for i = 1, 4 do x, s[i] = splitmix(x) end
  self.s = s
end

-- The next 64 random bits (a Lua integer, any sign).
function Generator:next_int()
  local s = self.s
  local result = rotl(s[2] * 5, 7) * 9
  local t = s[2] << 17
  s[3] = s[3] ~ s[1]
  s[4] = s[4] ~ s[2]
  s[2] = s[2] ~ s[3]
  s[1] = s[1] ~ s[4]
  s[3] = s[3] ~ t
  s[4] = rotl(s[4], 45)
  return result
end

-- A float uniform in [0, 1) with 53 random bits.
function Generator:random()
  return (self:next_int() >> 11) * 0x1p-53
end

-- An integer uniform in [0, n) (1 <= n < 2^63), without modulo bias: 63-bit
-- draws at or above the largest multiple of n are drawn again.
function Generator:below(n)
  local threshold = math.maxinteger - math.maxinteger % n
  while true do
    local r = self:next_int() >> 1
    if r < threshold then return r % n end
  end
end

-- A random permutation of 1..n (Fisher-Yates).
function Generator:permutation(n)
  local p = {}
  for i = 1, n do p[i] = i end
  for i = n, 2, -1 do
    local j = self:below(i) + 1
    p[i], p[j] = p[j], p[i]
  end
  return p
end

function Generator:get_state() return { self.s[1], self.s[2], self.s[3], self.s[4] } end

function Generator:set_state(st)
  if type(st) ~= "table" or #st ~= 4 then
    error("Generator.set_state: expected the four integers get_state returned", 2)
  end
  for i = 1, 4 do
    if math.type(st[i]) ~= "integer" then
      error("Generator.set_state: expected the four integers get_state returned", 2)
    end
  end
  self.s = { st[1], st[2], st[3], st[4] }
end

-- An integer seed drawn from dnn's global generator (so a run seeded with
-- dnn.manual_seed gets the same derived seeds every time).
function M.draw_seed()
  local r = dnn.randint(0, 1 << 31, { 2 }, { dtype = "int64" })
  return (math.tointeger(r[1]) << 31) | math.tointeger(r[2])
end

-- random_state as deep_pipe takes it: nil (a seed drawn from the global
-- generator), an integer seed, or a Generator (shared, not copied).
function M.generator(random_state, who)
  if random_state == nil then return Generator(M.draw_seed()) end
  if math.type(random_state) == "integer" then return Generator(random_state) end
  if class.isinstance(random_state, Generator) then return random_state end
  error(("%s: random_state must be nil, an integer seed or a dnn.train.Generator, got %s")
    :format(who, class.name(random_state)), 3)
end

-- ---------- Stream ----------

local Stream = class.Object:extend("Stream")
M.Stream = Stream

-- Stream(seed): a Philox state of its own; seed nil draws one.
function Stream:init(seed)
  seed = seed or M.draw_seed()
  local saved = dnn.get_rng_state()
  dnn.manual_seed(seed)
  self.state = dnn.get_rng_state()
  dnn.set_rng_state(saved)
end

-- Runs fn(...) with the stream as dnn's generator; returns what fn returns.
-- Errors pass through, with the training's generator put back first.
function Stream:run(fn, ...)
  local saved = dnn.get_rng_state()
  dnn.set_rng_state(self.state)
  local r = table.pack(pcall(fn, ...))
  self.state = dnn.get_rng_state()
  dnn.set_rng_state(saved)
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

function Stream:get_state() return self.state:clone() end

function Stream:set_state(t)
  if not dnn.is_tensor(t) or t:numel() ~= 16 then
    error("Stream.set_state: expected the 16-byte tensor get_state returned", 2)
  end
  self.state = t:clone()
end

-- True when two saved states are the same bytes.
function M.same_state(a, b)
  if not (dnn.is_tensor(a) and dnn.is_tensor(b)) or a:numel() ~= b:numel() then return false end
  for i = 1, a:numel() do
    if a[i] ~= b[i] then return false end
  end
  return true
end

return M
