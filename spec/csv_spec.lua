-- dnn.io.read_csv.
-- Reference: spec/fixtures/io/csv/*.csv and csv.lua, the rows Python's csv
-- module reads from them (scripts/make_fixtures_io.py); the numbers are
-- those strings through tonumber.
local dnn = require "dnn"
local check = require "support.check"

local ROOT = os.getenv("DNN_ROOT") or "."
local DIR = ROOT .. "/spec/fixtures/io/csv/"
local REF = dofile(ROOT .. "/spec/fixtures/io/csv.lua")

local function shape(t)
  local s, out = t:size(), {}
  for i = 1, t:dim() do out[i] = s[i] end
  return out
end

-- The reference rows (header dropped) as numbers, columns picked by index.
local function numbers(name, cols, skip_header)
  local out = {}
  for r, row in ipairs(REF[name].rows) do
    if r > 1 or not skip_header then
      local line = {}
      for j, c in ipairs(cols) do line[j] = assert(tonumber(row[c])) end
      out[#out + 1] = line
    end
  end
  return out
end

local function tmpfile(text)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb"))
  f:write(text)
  f:close()
  return p
end

describe("dnn.io.read_csv", function()
  it("reads every column of a headed file as float32 with the names", function()
    local t, names = dnn.io.read_csv(DIR .. "simple.csv")
    assert.are.equal("float32", t.dtype)
    assert.are.same({ "a", "b", "c" }, names)
    check.close(t, numbers("simple.csv", { 1, 2, 3 }, true))
  end)

  it("picks columns by name, in the order asked, skipping text columns", function()
    local t, names = dnn.io.read_csv(DIR .. "text_cols.csv", { columns = { "lon", "lat" }, dtype = "float64" })
    assert.are.same({ "lon", "lat" }, names)
    assert.are.equal("float64", t.dtype)
    assert.are.same(numbers("text_cols.csv", { 3, 2 }, true), t:totable())
  end)

  it("picks columns by 1-based number and accepts one name", function()
    local t = dnn.io.read_csv(DIR .. "simple.csv", { columns = { 3, 1 } })
    check.close(t, numbers("simple.csv", { 3, 1 }, true))
    local b = dnn.io.read_csv { DIR .. "simple.csv", columns = "b" }
    assert.are.same({ 3, 1 }, shape(b))
  end)

  it("handles quotes, doubled quotes, CRLF, a BOM, blank lines and spaces", function()
    local t, names = dnn.io.read_csv(DIR .. "quoted.csv", { columns = { "id", "score" } })
    assert.are.same({ "id", "score" }, names)
    assert.are.same(numbers("quoted.csv", { 1, 3 }, true), t:totable())
    local _, all = dnn.io.read_csv(DIR .. "quoted.csv", { columns = { 1 } })
    assert.are.same({ "id" }, all)
    check.fails_with(function() dnn.io.read_csv(DIR .. "quoted.csv", { columns = { 'weird "col"' } }) end,
      'quoted.csv:2: column 4 ("weird "col""): cannot read "x" as a number')
  end)

  it("reads files without a header, with another delimiter and no final newline", function()
    local t, names = dnn.io.read_csv(DIR .. "noheader.csv", { header = false, delimiter = ";", dtype = "int64" })
    assert.is_nil(names)
    assert.are.equal("int64", t.dtype)
    assert.are.same(numbers("noheader.csv", { 1, 2 }), t:totable())
  end)

  it("reads integer dtypes exactly and checks their range", function()
    local t = dnn.io.read_csv(DIR .. "ints.csv", { dtype = "int32" })
    assert.are.same({ { 1, -2 }, { 2147483647, 0 } }, t:totable())
    local big = dnn.io.read_csv(tmpfile("x\n9007199254740993\n"), { dtype = "int64" })
    assert.are.equal(9007199254740993, big[{ 1, 1 }])
    check.fails_with(function() dnn.io.read_csv(DIR .. "notint.csv", { dtype = "int32" }) end,
      "read_csv: ", "notint.csv:3: column 1 (\"x\"): 2.5 is not an integer (dtype int32)")
    check.fails_with(function() dnn.io.read_csv(DIR .. "toobig.csv", { dtype = "uint8" }) end,
      "toobig.csv:3: column 1 (\"x\"): 300 is out of range for uint8 (0..255)")
  end)

  it("returns (0, columns) for a header without rows", function()
    local t, names = dnn.io.read_csv(DIR .. "header_only.csv")
    assert.are.same({ 0, 3 }, shape(t))
    assert.are.same({ "a", "b", "c" }, names)
  end)

  it("fills empty cells with na= and rejects them otherwise", function()
    check.fails_with(function() dnn.io.read_csv(DIR .. "empty_cell.csv") end,
      "empty_cell.csv:2: column 2 (\"b\") is empty", "na=")
    local t = dnn.io.read_csv(DIR .. "empty_cell.csv", { na = -1 })
    assert.are.same({ { 1, -1 }, { 2, 3 } }, t:totable())
    local n = dnn.io.read_csv(DIR .. "empty_cell.csv", { na = 0 / 0 })
    assert.is_true(n[{ 1, 2 }] ~= n[{ 1, 2 }])
  end)

  it("names file, line and column for a non-numeric cell", function()
    check.fails_with(function() dnn.io.read_csv(DIR .. "badcell.csv") end,
      "read_csv: " .. DIR .. "badcell.csv:4: column 2 (\"b\"): cannot read \"eight\" as a number")
    -- the same cell in a column that is not chosen is never parsed
    local t = dnn.io.read_csv(DIR .. "badcell.csv", { columns = { "a", "c" } })
    assert.are.same({ { 1, 3 }, { 4, 6 }, { 7, 9 } }, t:totable())
  end)

  it("names file and line for a ragged row", function()
    check.fails_with(function() dnn.io.read_csv(DIR .. "ragged.csv") end,
      "read_csv: " .. DIR .. "ragged.csv:3: 2 fields, but the header (line 1) has 3")
    check.fails_with(function() dnn.io.read_csv(tmpfile("\n1,2\n3\n"), { header = false, columns = { 1 } }) end,
      ":3: 1 field, but the first row (line 2) has 2")
  end)

  it("reports broken quoting with the line", function()
    check.fails_with(function() dnn.io.read_csv(DIR .. "unterminated.csv") end,
      "unterminated.csv:2: column 2: a quoted field opened on this line is never closed")
    check.fails_with(function() dnn.io.read_csv(DIR .. "after_quote.csv") end,
      "after_quote.csv:2: column 2: unexpected 'x' after the closing quote")
  end)

  it("reports missing files, empty files and unknown columns", function()
    check.fails_with(function() dnn.io.read_csv(DIR .. "nope.csv") end, "read_csv: ", "nope.csv: no such file")
    check.fails_with(function() dnn.io.read_csv(DIR) end, "read_csv: ", "is a directory")
    check.fails_with(function() dnn.io.read_csv(DIR .. "empty.csv") end, "empty.csv: the file is empty")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { columns = { "a", "zz" } }) end,
      "simple.csv: no column named \"zz\" (the header has: a, b, c)")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { columns = { 4 } }) end,
      "simple.csv: column 4 is out of range (the file has 3 columns)")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { columns = { 0 } }) end, "1-based")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { columns = { "a", 2 } }) end,
      "all names", "or all 1-based")
    check.fails_with(function() dnn.io.read_csv(DIR .. "noheader.csv", { header = false, columns = { "a" } }) end,
      "header=false")
  end)

  it("checks its options", function()
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { dtype = "bool" }) end, "dtype must be")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { delimiter = ";;" }) end, "one character")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { header = "yes" }) end, "header must be")
    check.fails_with(function() dnn.io.read_csv(DIR .. "simple.csv", { bogus = 1 }) end, "unknown argument 'bogus'")
    check.fails_with(function() dnn.io.read_csv(DIR .. "empty_cell.csv", { dtype = "int32", na = 0.5 }) end,
      "na=0.5 does not fit dtype int32")
  end)

  it("reads a large generated file (values checked against the writer)", function()
    local lines, n = { "i,sq,half" }, 5000
    for i = 1, n do lines[#lines + 1] = ("%d,%d,%.1f"):format(i, i * i, i / 2) end
    local t = dnn.io.read_csv(tmpfile(table.concat(lines, "\n") .. "\n"), { dtype = "float64" })
    assert.are.same({ n, 3 }, shape(t))
    local col = t:select(2, 2)
    assert.are.equal(n * (n + 1) * (2 * n + 1) / 6, col:sum():item())
    assert.are.equal(2500.0, t[{ n, 3 }])
  end)
end)
