-- Classes for the Lua library: single inheritance, construction by call.
--
--   local class = require "dnn.class"
--   local Animal = class.Object:extend("Animal")
--   function Animal:init(opts) self.name = opts.name end
--   local Dog = Animal:extend("Dog")
--   function Dog:init(opts) Animal.init(self, opts); self.sound = "woof" end
--   local d = Dog{name = "rex"}            -- calling a class runs init
--   d:isinstance(Animal) --> true
--
-- A class is a table of methods; its instances use it as their metatable,
-- so metamethods (__call, __tostring, __add, ...) are ordinary class fields.
-- Lua reads metamethods from the metatable itself, not through __index, so
-- extend() copies the parent's metamethods into the child: define them on a
-- class before extending it.
local class = {}

local Object = {}
Object.__index = Object
Object.__name = "Object"

-- What calling a class does: a fresh instance, then init.
local function construct(cls, ...)
  local obj = setmetatable({}, cls)
  obj:init(...)
  return obj
end

local function class_tostring(cls)
  return "class " .. tostring(rawget(cls, "__name"))
end

setmetatable(Object, { __call = construct, __tostring = class_tostring })

function Object:init() end

-- A subclass (name defaults to the parent's, for messages and printing).
function Object:extend(name)
  if name ~= nil and type(name) ~= "string" then
    error(("extend: the class name must be a string, got %s"):format(type(name)), 2)
  end
  local cls = {}
  for k, v in pairs(self) do
    if type(k) == "string" and k:sub(1, 2) == "__" and k ~= "__getters" then cls[k] = v end
  end
  cls.__index = cls
  cls.__name = name or rawget(self, "__name")
  cls.super = self
  setmetatable(cls, { __index = self, __call = construct, __tostring = class_tostring })
  -- A class with __getters (name -> function(obj)) computes those fields on
  -- read (Keras-style properties such as model.trainable_variables); the
  -- table is inherited, and subclasses may add to it with class.getter.
  if cls.__getters then
    cls.__index = function(obj, k)
      local v = cls[k]
      if v ~= nil then return v end
      local g = cls.__getters[k]
      if g then return g(obj) end
      return nil
    end
  end
  return cls
end

-- Declares a computed field on cls (and its future subclasses): obj.name
-- calls fn(obj).  The class needs its own __getters table (created here).
function class.getter(cls, name, fn)
  local own = rawget(cls, "__getters")
  if not own then
    local inherited = cls.__getters
    own = setmetatable({}, { __index = inherited })
    rawset(cls, "__getters", own)
    cls.__index = function(obj, k)
      local v = cls[k]
      if v ~= nil then return v end
      local g = cls.__getters[k]
      if g then return g(obj) end
      return nil
    end
  end
  own[name] = fn
end

-- The class of an instance (nil for anything else).
function class.of(x)
  if type(x) ~= "table" then return nil end
  local mt = getmetatable(x)
  if type(mt) == "table" and class.is_class(mt) then return mt end
  return nil
end

-- True for Object and its subclasses.
function class.is_class(x)
  if type(x) ~= "table" then return false end
  while x ~= nil do
    if rawequal(x, Object) then return true end
    x = rawget(x, "super")
  end
  return false
end

-- True when cls is sub, or one of sub's ancestors.
function class.is_subclass(sub, cls)
  if type(sub) ~= "table" then return false end
  while sub ~= nil do
    if rawequal(sub, cls) then return true end
    sub = rawget(sub, "super")
  end
  return false
end

-- True when x is an instance of cls or of a subclass of it.
function class.isinstance(x, cls)
  local c = class.of(x)
  return c ~= nil and class.is_subclass(c, cls)
end

function Object:isinstance(cls) return class.isinstance(self, cls) end

-- The name of x's class, or its Lua type.
function class.name(x)
  local c = class.of(x)
  if c then return rawget(c, "__name") end
  return type(x)
end

-- Keras-style arguments: positional values first, then keywords, from either
-- call form, f(a, b, {key=v}) or f{a, b, key=v}.
--   names  the positional arguments in order (they are keywords too)
--   extra  keyword-only names (aliases and the like), optional
-- Returns a table name -> value.  Unknown keywords, too many positional
-- values and a value given both ways raise errors that name fname.  The last
-- argument is the options table when it is a table without a metatable that
-- is the only argument, is empty or has string keys.
function class.kwargs(fname, names, extra, ...)
  local n = select("#", ...)
  local args = { ... }
  local opts = nil
  if n >= 1 and type(args[n]) == "table" and getmetatable(args[n]) == nil then
    -- f{...} (one table), or f(a, b, {key=v}): a last table with keywords (or
    -- empty) holds options; f(a, {1, 2}) passes a list as the last value
    local last, keywords = args[n], n == 1 or next(args[n]) == nil
    for k in pairs(last) do
      if math.type(k) ~= "integer" then keywords = true end
    end
    if keywords then
      opts = last
      n = n - 1
    end
  end
  local known = {}
  for _, k in ipairs(names) do known[k] = true end
  for _, k in ipairs(extra or {}) do known[k] = true end
  local out = {}
  local pos = 0
  local function positional(v)
    pos = pos + 1
    if pos > #names then
      error(("%s: too many positional arguments (%d; it takes %s)"):format(fname, pos,
        #names > 0 and table.concat(names, ", ") or "none"), 0)
    end
    out[names[pos]] = v
  end
  for i = 1, n do positional(args[i]) end
  if opts then
    local len = #opts
    for i = 1, len do positional(opts[i]) end
    for k, v in pairs(opts) do
      if type(k) == "string" then
        if not known[k] then
          local list = {}
          for _, nm in ipairs(names) do list[#list + 1] = nm end
          for _, nm in ipairs(extra or {}) do list[#list + 1] = nm end
          error(("%s: unknown argument '%s' (arguments: %s)"):format(fname, k, table.concat(list, ", ")), 0)
        end
        if out[k] ~= nil then
          error(("%s: argument '%s' given twice (by position and by name)"):format(fname, k), 0)
        end
        out[k] = v
      elseif not (math.type(k) == "integer" and k >= 1 and k <= len) then
        error(("%s: unexpected key %s in the options table"):format(fname, tostring(k)), 0)
      end
    end
  end
  return out
end

class.Object = Object
return class
