-- dnn.json (lua/dnn/json.lua): the JSON of model configs.  Encoding must
-- give what Python's json.dumps(value, sort_keys=True[, indent=2]) gives
-- (Keras writes model_config and to_json with json.dumps), decoding must
-- keep what a Keras config distinguishes (1 vs 1.0, [] vs {}).
-- Reference: spec/fixtures/config/json_cases.json and floats.json, written by
-- scripts/make_fixtures_config.py with Python's json module.
local dnn = require "dnn"
local json = require "dnn.json"
local cjson = require "cjson"

local ROOT = os.getenv("DNN_ROOT") or "."
local FIX = ROOT .. "/spec/fixtures/config/"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local CASES = cjson.decode(read(FIX .. "json_cases.json"))
local FLOATS = cjson.decode(read(FIX .. "floats.json"))

local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(err)
end

local function assert_error(frags, f, ...)
  local err = error_of(f, ...)
  for _, frag in ipairs(frags) do
    assert(err:find(frag, 1, true), ("error %q lacks %q"):format(err, frag))
  end
  return err
end

describe("json.encode / json.decode against Python's json module", function()
  for _, c in ipairs(CASES) do
    it(c.id .. ": decode then encode gives json.dumps(sort_keys=True), compact and with indent=2", function()
      local v = json.decode(c.text)
      assert.are.equal(c.dumps, json.encode(v))
      assert.are.equal(c.indent, json.encode(v, { indent = 2 }))
      -- and what we write reads back to the same text
      assert.are.equal(c.dumps, json.encode(json.decode(json.encode(v))))
    end)
  end

  it("spells floats as Python's repr (shortest round trip; 1e-05, 1e+16, 0.0001, 100.0) for 1500 values", function()
    assert.is_true(#FLOATS.values > 1000)
    local bad = {}
    for i, h in ipairs(FLOATS.values) do
      local x = tonumber(h) -- C99 hex float: exact
      local got = json.encode(x)
      if got ~= FLOATS["repr"][i] then bad[#bad + 1] = ("%s: %s vs %s"):format(h, got, FLOATS["repr"][i]) end
      assert.are.equal(x, json.decode(got)) -- and reads back to the same double
    end
    assert.are.same({}, bad)
  end)
end)

describe("json values", function()
  it("keeps integers and floats apart both ways (1 vs 1.0, 1e1 is a float)", function()
    local v = json.decode('{"a": 1, "b": 1.0, "c": 1e1, "d": -0, "e": -0.0, "f": 9223372036854775807}')
    assert.are.equal("integer", math.type(v.a))
    assert.are.equal("float", math.type(v.b))
    assert.are.equal("float", math.type(v.c))
    assert.are.equal(10.0, v.c)
    assert.are.equal("integer", math.type(v.d))
    assert.are.equal("float", math.type(v.e))
    assert.are.equal(-math.huge, 1 / v.e) -- the sign of -0.0 survives
    assert.are.equal(math.maxinteger, v.f)
    assert.are.equal("[1, 1.0, 1e-05, 0.0001, 100.0, -0.0, 1e+16, 9223372036854775807]",
      json.encode({ 1, 1.0, 1e-5, 1e-4, 100.0, -0.0, 1e16, math.maxinteger }))
  end)

  it("integers past 64 bits become floats (Python keeps them exact: a documented difference)", function()
    local v = json.decode("[18446744073709551616, -99999999999999999999]")
    assert.are.equal("float", math.type(v[1]))
    assert.are.equal(2.0 ^ 64, v[1])
    assert.are.equal(-1e20, v[2])
  end)

  it("tells [] from {} and writes empty tables as {} unless marked with json.array", function()
    local v = json.decode('{"list": [], "obj": {}}')
    assert.is_true(json.is_array(v.list))
    assert.is_false(json.is_array(v.obj))
    assert.are.equal('{"list": [], "obj": {}}', json.encode(v))
    assert.are.equal("{}", json.encode({}))
    assert.are.equal("[]", json.encode(json.array({})))
    assert.are.equal("[1, 2]", json.encode(json.array({ 1, 2 })))
    assert.are.equal("[]", json.encode(json.array({}), { indent = 2 }))
    assert.are.equal("{}", json.encode({}, { indent = 4 }))
  end)

  it("writes NaN and the infinities as Python does, and reads them back", function()
    assert.are.equal("[NaN, Infinity, -Infinity]", json.encode({ 0 / 0, math.huge, -math.huge }))
    local v = json.decode("[NaN, Infinity, -Infinity]")
    assert.is_true(v[1] ~= v[1])
    assert.are.equal(math.huge, v[2])
    assert.are.equal(-math.huge, v[3])
  end)

  it("escapes as Python's ensure_ascii: \\n by name, controls and non-ASCII as \\u, past U+FFFF as a surrogate pair",
    function()
      assert.are.equal([["a\"b\\c/"]], json.encode('a"b\\c/'))
      assert.are.equal([["\n\t\r\b\f\u0000\u001f\u007f"]], json.encode("\n\t\r\b\f\0\31\127"))
      assert.are.equal([["\u00e9\u20ac\ud83d\ude00"]], json.encode("é€😀"))
      -- escapes and surrogate pairs decode to UTF-8
      assert.are.equal("é€😀", json.decode([["\u00e9\u20AC\ud83d\ude00"]]))
      -- a lone surrogate goes in and comes back out unchanged (as in Python)
      assert.are.equal([["\ud800x"]], json.encode(json.decode([["\ud800x"]])))
      -- keys too, sorted by code point (UTF-8 byte order)
      assert.are.equal([[{"Z": 1, "a": 2, "\u00e9": 3}]], json.encode({ ["é"] = 3, a = 2, Z = 1 }))
    end)

  it("refuses strings that are not UTF-8 both ways, naming the place", function()
    assert_error({ "json.encode", "$.layers[0].name", "not valid UTF-8" }, json.encode,
      { layers = { { name = "bad\255" } } })
    assert_error({ "json.decode", "invalid UTF-8", "line 1, column 5" }, json.decode, '["ab\200"]')
  end)

  it("indent=2 lays out objects and lists as Python (\",\" at line ends, \": \" after keys)", function()
    assert.are.equal('{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "c": true\n}',
      json.encode({ a = { 1, { b = json.null } }, c = true }, { indent = 2 }))
  end)
end)

describe("json errors", function()
  it("give the line, column and character of a syntax error", function()
    assert_error({ "json.decode", "unexpected ','", "line 3, column 4" }, json.decode, '{\n  "a": [1,\n 2,, 3]}')
    assert_error({ "expected ':' after the key \"a\"", "line 1, column 6" }, json.decode, '{"a" 1}')
    assert_error({ "trailing comma before ']'" }, json.decode, "[1, 2,]")
    assert_error({ "unterminated string" }, json.decode, '["abc')
    assert_error({ "unexpected end of input" }, json.decode, "[1, ")
    assert_error({ "after the JSON value", "line 2, column 1" }, json.decode, "{}\nx")
    assert_error({ "invalid \\u escape" }, json.decode, [["\u12"]])
    assert_error({ "control character" }, json.decode, '["a\nb"]')
    assert_error({ "unexpected 'nan'" }, json.decode, "[nan]")
    assert_error({ "expected a string, got nil" }, json.decode, nil)
  end)

  it("limit nesting to 1000 levels both ways instead of overflowing the stack", function()
    local deep = json.decode(("["):rep(1000) .. ("]"):rep(1000))
    assert.are.equal(("["):rep(1000) .. ("]"):rep(1000), (json.encode(deep):gsub(" ", "")))
    assert_error({ "nesting deeper than 1000", "column 1001" }, json.decode, ("["):rep(1001) .. ("]"):rep(1001))
    assert_error({ "nesting deeper than 1000" }, json.decode, ("["):rep(200000))
    local t, cur = {}, nil
    cur = t
    for _ = 1, 1000 do
      cur[1] = {}
      cur = cur[1]
    end
    assert_error({ "json.encode", "nesting deeper than 1000", "$[0][0]" }, json.encode, t)
  end)

  it("refuse cycles, functions, tensors and mixed tables, naming the path", function()
    local t = { name = "x" }
    t.self = t
    assert_error({ "json.encode", "$.self", "contains itself" }, json.encode, t)
    assert_error({ "a function at $.f" }, json.encode, { f = print })
    assert_error({ "a tensor at $[1]" }, json.encode, { 1, dnn.zeros(2) })
    assert_error({ "mixes list items" }, json.encode, { 1, 2, x = 3 })
    assert_error({ "key 1.5" }, json.encode, { [1.5] = 1 })
    assert_error({ "indent must be a non-negative integer" }, json.encode, {}, { indent = -1 })
    -- a table used twice (not a cycle) is fine
    local shared = { 1 }
    assert.are.equal('{"a": [1], "b": [1]}', json.encode({ a = shared, b = shared }))
  end)
end)
