-- Seeds for the read_csv fuzz target, written into a folder (normally
-- spec/fixtures/fuzz/read_csv/):
--   scripts/bench/fuzz/run --seeds read_csv   (or: dnnlua this-file DIR)
-- Small CSV texts covering the dialect (header, quotes, doubled quotes,
-- CRLF, BOM, blank lines, empty cells, text columns, ';') and its errors
-- (ragged rows, bad numbers, an unterminated quote).  The CSV fixtures in
-- spec/fixtures/io/csv are seeds too, through read_csv.seeds.
local out = assert(arg and arg[1], "usage: make_seeds_read_csv.lua DIR")

local seeds = {
  ["seed-basic.csv"] = "a,b,c\n1,2,3\n4.5,-6e2,7\n",
  ["seed-ints.csv"] = "a,b\n1,2\n-3,4\n255,0\n",
  ["seed-quoted.csv"] = '\239\187\191a,"b, quoted","c ""q"""\r\n1,"2",3\r\n\r\n4," 5 ","6"\r\n',
  ["seed-semicolon.csv"] = "a;b\n1;2\n3;4",
  ["seed-empty-cells.csv"] = "a,b\n1,\n,2\n",
  ["seed-text.csv"] = "name,a,b\nx,1,2\n\"y\nz\",3,4\n",
  ["seed-special.csv"] = "a,b\nnan,inf\n-inf,1e-320\n",
  ["seed-ragged.csv"] = "a,b\n1,2,3\n",
  ["seed-bad-number.csv"] = "a,b\n1,two\n",
  ["seed-unterminated.csv"] = 'a,b\n1,"2\n',
  ["seed-noheader.csv"] = "1,2\n3,4\n",
}
for name, text in pairs(seeds) do
  local f = assert(io.open(out .. "/" .. name, "wb"))
  f:write(text)
  f:close()
end
