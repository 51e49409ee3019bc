-- The REPL: how values print and what Tab offers (dnn.repl), the help
-- entries (dnn.help), and the dnnlua REPL itself driven in a terminal
-- through tmux, checking what a person sees.
local dnn = require "dnn"
local repl = require "dnn.repl"
local help = require "dnn.help"

local DNNLUA = os.getenv("DNNLUA") or "/work/main/build/dnnlua"

-- What f writes to io.output, as a string.
local function captured(f, ...)
  local tmp = io.tmpfile()
  local old = io.output()
  io.output(tmp)
  local ok, err = pcall(f, ...)
  io.output(old)
  tmp:seek("set")
  local s = tmp:read("a")
  tmp:close()
  assert(ok, err)
  return s
end

describe("dnn.repl.format", function()
  it("shows a table's array part, then keys sorted: numbers, strings, others", function()
    assert.equal("{3, 4, [10] = 0, a = 1, b = 2, [true] = 5}", repl.format({ b = 2, a = 1, 3, 4, [10] = 0, [true] = 5 }))
    assert.equal('{["a b"] = 1, ["end"] = 3, x_1 = 2}', repl.format({ ["a b"] = 1, x_1 = 2, ["end"] = 3 }))
    assert.equal("{}", repl.format({}))
  end)

  it("quotes strings inside tables (newlines escaped) but not at the top level", function()
    assert.equal('{"x\\ny", s = "q\\"uote"}', repl.format({ "x\ny", s = 'q"uote' }))
    assert.equal("plain text", repl.format("plain text"))
  end)

  it("nests tables and stops at the depth limit", function()
    assert.equal("{a = {b = {c = 1}}}", repl.format({ a = { b = { c = 1 } } }))
    assert.equal("{a = {b = {...}}}", repl.format({ a = { b = { c = 1 } } }, { depth = 1 }))
  end)

  it("marks cycles instead of following them", function()
    local t = { name = "root" }
    t.self = t
    t.child = { parent = t }
    local s = repl.format(t, { width = 200 })
    assert.matches('^{child = {parent = <cycle: table: [%w]+>}, name = "root", self = <cycle: table: [%w]+>}$', s)
  end)

  it("shows at most `items` entries per table and says how many are left", function()
    local big = {}
    for i = 1, 100 do big[i] = i end
    local s = repl.format(big, { items = 5 })
    assert.equal("{1, 2, 3, 4, 5, ... (95 more)}", s)
  end)

  it("breaks a table that does not fit the width into indented lines", function()
    local t = { alpha = string.rep("a", 30), beta = string.rep("b", 30), gamma = { 1, 2 } }
    local expected = table.concat({
      "{",
      '  alpha = "' .. string.rep("a", 30) .. '",',
      '  beta = "' .. string.rep("b", 30) .. '",',
      "  gamma = {1, 2},",
      "}",
    }, "\n")
    assert.equal(expected, repl.format(t))
  end)

  it("prints a tensor in full at the top level and briefly inside a table", function()
    local t = dnn.ones(2, 3)
    assert.equal(tostring(t), repl.format(t))
    assert.equal("{w = <dnn.Tensor float32 2x3>}", repl.format({ w = t }))
    assert.equal("{loss = <dnn.Tensor float64 [] = 0.5>}", repl.format({ loss = dnn.tensor(0.5, { dtype = "float64" }) }))
  end)

  it("shows the help overview for the help function itself", function()
    assert.equal(help.text(), repl.format(help.help))
  end)

  it("uses __tostring where a table has one (shapes)", function()
    assert.equal("{shape = [2, 3]}", repl.format({ shape = dnn.ones(2, 3):size() }))
  end)
end)

describe("dnn.repl.show", function()
  it("separates several results with tabs, as print does", function()
    assert.equal("1\ta\tnil\t{1}\n", captured(repl.show, 1, "a", nil, { 1 }))
  end)

  it("puts results on their own lines when one takes several lines", function()
    local t = dnn.ones(1)
    assert.equal(tostring(t) .. "\n7\n", captured(repl.show, t, 7))
  end)
end)

describe("dnn.repl.complete", function()
  -- completion walks the globals, where dnnlua has put dnn
  local had_dnn
  before_each(function()
    had_dnn = rawget(_G, "dnn")
    rawset(_G, "dnn", dnn)
  end)
  after_each(function()
    rawset(_G, "dnn", had_dnn)
    rawset(_G, "repl_spec_t", nil)
    rawset(_G, "repl_spec_obj", nil)
    rawset(_G, "repl_spec_s", nil)
  end)

  local function all_start_with(list, prefix)
    for _, s in ipairs(list) do
      if s:sub(1, #prefix) ~= prefix then return false end
    end
    return #list > 0
  end

  local function contains(list, x)
    for _, s in ipairs(list) do
      if s == x then return true end
    end
    return false
  end

  it("completes dnn.ze to dnn.zeros (in-place aliases are not offered)", function()
    local c = repl.complete("dnn.ze")
    assert.is_true(contains(c, "dnn.zeros"))
    assert.is_true(contains(c, "dnn.zeros_like"))
    assert.is_true(all_start_with(c, "dnn.zeros"), table.concat(c, " "))
    assert.is_true(contains(repl.complete("dnn.zero_"), "dnn.zero_"))
  end)

  it("completes fields of nested tables", function()
    assert.same({ "dnn.io.read_csv", "dnn.io.read_idx", "dnn.io.read_png" }, repl.complete("dnn.io.re"))
    assert.same({ "dnn.datasets.fashion_mnist" }, repl.complete("dnn.datasets.fa"))
  end)

  it("completes tensor methods after : and properties after .", function()
    rawset(_G, "repl_spec_t", dnn.ones(2))
    local c = repl.complete("repl_spec_t:ad")
    assert.is_true(contains(c, "repl_spec_t:add"))
    assert.is_true(contains(c, "repl_spec_t:add_"))
    assert.is_true(contains(c, "repl_spec_t:addmm"))
    assert.is_true(all_start_with(c, "repl_spec_t:add"))
    assert.same({ "repl_spec_t.shape" }, repl.complete("repl_spec_t.sha"))
  end)

  it("completes globals and keywords", function()
    assert.is_true(contains(repl.complete("pri"), "print"))
    assert.is_true(contains(repl.complete("whi"), "while"))
    assert.same({ "string.format" }, repl.complete("string.form"))
  end)

  it("follows __index tables for methods and string methods", function()
    local Base = {}
    Base.__index = Base
    function Base.greet() end
    Base.count = 3
    rawset(_G, "repl_spec_obj", setmetatable({}, Base))
    assert.same({ "repl_spec_obj:greet" }, repl.complete("repl_spec_obj:g"))
    assert.same({ "repl_spec_obj.count" }, repl.complete("repl_spec_obj.co"))
    rawset(_G, "repl_spec_s", "text")
    assert.same({ "repl_spec_s:upper" }, repl.complete("repl_spec_s:upp"))
  end)

  it("offers nothing for unknown names or expressions", function()
    assert.same({}, repl.complete("no_such_global_xyz.a"))
    assert.same({}, repl.complete("f(x).a"))
  end)
end)

describe("dnn.help", function()
  it("gives the signature and description of a function value or its name", function()
    local want = "dnn.zeros(size..., {dtype=})\n  Tensor of zeros; size as integers or a table."
    assert.equal(want, help.text(dnn.zeros))
    assert.equal(want, help.text("dnn.zeros"))
    assert.equal(want, help.text("zeros"))
    assert.equal(want, help.text("?zeros"))
  end)

  it("finds tensor methods as Tensor:sum, t:sum, sum, dnn.sum and the function", function()
    for _, x in ipairs { "Tensor:sum", "t:sum", "x:sum", "Tensor.sum", "sum", "dnn.sum", dnn.sum, dnn.core.methods.sum } do
      local s = help.text(x)
      assert.matches("^t:sum%(", s)
      assert.matches("Sum of all elements", s, 1, true)
    end
    assert.matches("^t%.shape\n", help.text("x.shape"))
  end)

  it("finds dnn.io and dnn.datasets entries by short name and lists a module", function()
    assert.matches("^dnn%.io%.read_idx%(path%)", help.text("read_idx"))
    assert.matches("^dnn%.io%.read_idx%(path%)", help.text(dnn.io.read_idx))
    local io_text = help.text(dnn.io)
    assert.matches("dnn.io.read_idx(path)", io_text, 1, true)
    assert.matches("dnn.io.write_idx(path, t)", io_text, 1, true)
    assert.matches("dnn.datasets.fashion_mnist(", help.text("fashion_mnist"), 1, true)
  end)

  it("describes a tensor: dtype, shape, device, contiguity", function()
    local s = help.text(dnn.zeros(2, 3, { dtype = "int64" }))
    assert.matches("dtype int64, shape [2, 3] (6 elements), device cpu, contiguous", s, 1, true)
    assert.matches('help("Tensor")', s, 1, true)
    assert.matches("not contiguous", help.text(dnn.zeros(2, 3):t()), 1, true)
  end)

  it("prints an overview with no argument and the API by topic for dnn", function()
    assert.matches("help(dnn.zeros)", help.text(), 1, true)
    assert.matches("?dnn.zeros", help.text(), 1, true)
    local topics = help.text(dnn)
    assert.matches("Creating tensors:", topics, 1, true)
    assert.matches("Reductions:", topics, 1, true)
    assert.matches("Tensor methods", help.text("Tensor"), 1, true)
  end)

  it("says there is no help for an unknown name and suggests close ones", function()
    assert.equal("no help for 'zerso'; did you mean dnn.zeros, Tensor:zero_?", help.text("zerso"))
    assert.equal("no help for 'qqqqqqq'", help.text("qqqqqqq"))
    assert.matches("got nil", help.text(nil), 1, true)
  end)

  it("points to the Lua manual for standard functions", function()
    assert.matches("manual.html#pdf-print", help.text(print), 1, true)
    assert.matches("manual.html#pdf-string.format", help.text("string.format"), 1, true)
  end)

  it("prints through help(), dnn.help(...) and dnn.help.help(...)", function()
    local want = help.text("zeros") .. "\n"
    assert.equal(want, captured(help.help, "zeros"))
    assert.equal(want, captured(dnn.help, "zeros"))
    assert.equal(want, captured(function() dnn.help.help(dnn.zeros) end))
  end)

  it("takes new entries with help.add", function()
    help.add("dnn.repl_spec_fn", "dnn.repl_spec_fn(x)", "A test entry.", "Testing")
    assert.equal("dnn.repl_spec_fn(x)\n  A test entry.", help.text("repl_spec_fn"))
    help.entries["dnn.repl_spec_fn"] = nil
  end)

  it("has an entry for every function of dnn.core, every tensor method, dnn.io and dnn.datasets", function()
    local missing = {}
    local function check(name)
      if #help.resolve(name) == 0 then missing[#missing + 1] = name end
    end
    for k, v in pairs(dnn.core) do
      if type(v) == "function" then check("dnn." .. k) end
    end
    for k in pairs(dnn.core.methods) do check("Tensor:" .. k) end
    for k, v in pairs(dnn.io) do
      if type(v) == "function" then check("dnn.io." .. k) end
    end
    for k, v in pairs(dnn.datasets) do
      if type(v) == "function" then check("dnn.datasets." .. k) end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("keeps every entry to a one-line signature and a one-line description", function()
    for name, e in pairs(help.entries) do
      assert.is_true(type(e.sig) == "string" and e.sig ~= "" and not e.sig:find("\n"), name)
      assert.is_true(type(e.doc) == "string" and e.doc ~= "" and not e.doc:find("\n"), name)
    end
  end)
end)

-- ---------------------------------------------------------------- terminal

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

local function sleep(s) os.execute("sleep " .. s) end

local function clock() -- seconds, wall time (os.clock is CPU time)
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

-- A dnnlua REPL in a tmux pane of its own server (its own socket), so the
-- pane gets this process's environment (DNNLUA_HISTORY, ASAN_OPTIONS) and
-- nothing leaks into a user's tmux.
local Term = {}
Term.__index = Term
local session_counter = 0

function Term.start(dir, history)
  session_counter = session_counter + 1
  local self = setmetatable({}, Term)
  self.sock = dir .. "/tmux" .. session_counter .. ".sock" -- a fresh server each time
  self.name = "dnnlua_spec_" .. session_counter
  local cmd = "DNNLUA_HISTORY=" .. q(history) .. " " .. q(DNNLUA) .. "; echo \"[exit $?]\"; sleep 600"
  local out, ok = sh("tmux -S " .. q(self.sock) .. " new-session -d -s " .. self.name .. " -x 200 -y 50 " .. q(cmd))
  assert(ok, "could not start tmux (scripts/setup installs it): " .. out)
  return self
end

function Term:tmux(args) return sh("tmux -S " .. q(self.sock) .. " " .. args) end

-- Types text literally (tmux would read "end" as the End key).
function Term:type(text) self:tmux("send-keys -t " .. self.name .. " -l -- " .. q(text)) end
function Term:key(name) self:tmux("send-keys -t " .. self.name .. " " .. name) end
function Term:line(text)
  self:type(text)
  self:key("Enter")
end

function Term:screen()
  local out = self:tmux("capture-pane -p -J -S -1000 -t " .. self.name)
  return (out:gsub("[ \t]+\n", "\n"))
end

-- Polls the screen until check(screen) is true; fails with the screen.
function Term:wait(check, what, timeout)
  local deadline = clock() + (timeout or 20)
  local s
  repeat
    s = self:screen()
    if check(s) then return s end
    sleep(0.05)
  until clock() > deadline
  error("timed out waiting for " .. what .. "; the screen was:\n" .. s, 2)
end

function Term:wait_text(text, timeout)
  return self:wait(function(s) return s:find(text, 1, true) ~= nil end, "'" .. text .. "'", timeout)
end

-- The last non-empty line of the screen.
local function last_line(s)
  local last = ""
  for l in s:gmatch("[^\n]+") do last = l end
  return last
end

function Term:wait_prompt(prompt)
  prompt = prompt or ">"
  return self:wait(function(s) return last_line(s) == prompt end, "the prompt '" .. prompt .. "'")
end

-- The screen after the last echo of `line` at the prompt.
local function after(s, line)
  local at, pos = nil, 1
  while true do
    local i = s:find("> " .. line, pos, true)
    if not i then break end
    at, pos = i, i + 1
  end
  return at and s:sub(at + 2 + #line) or nil
end

-- Types a line and waits for the output that follows it and the next prompt.
function Term:run(line, expect)
  self:line(line)
  return self:wait(function(s)
    local out = after(s, line)
    return out ~= nil and out:find("\n", 1, true) ~= nil and out:find(expect, 1, true) ~= nil and last_line(s) == ">"
  end, "'" .. expect .. "' after '" .. line .. "'")
end

function Term:close() self:tmux("kill-server") end

describe("the dnnlua REPL in a terminal", function()
  local dir, term, history

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. q(dir)))
    history = dir .. "/history"
    term = Term.start(dir, history)
    term:wait_text("help(obj) or ?name for help")
    term:wait_prompt()
  end)

  after_each(function()
    if term then term:close() end
    term = nil
    os.execute("rm -rf " .. q(dir))
  end)

  it("prints a banner with the version and how to get help", function()
    local s = term:screen()
    assert.matches("dnnlua %d+%.%d+%.%d+ %(.-Lua 5%.4.-%) %-%- help%(obj%) or %?name for help", s)
  end)

  it("prints the value of an expression", function()
    local s = term:run("1+1", "2")
    assert.matches("> 1%+1\n2\n>", s)
    s = term:run("1, 'a', nil", "nil")
    assert.matches("> 1, 'a', nil\n1%s+a%s+nil\n", s)
  end)

  it("prints a tensor with its footer", function()
    local s = term:run("dnn.ones(2,2)", "[dnn.Tensor of dtype float32 and size 2x2]")
    assert.matches("> dnn%.ones%(2,2%)\n 1 1\n 1 1\n%[dnn%.Tensor of dtype float32 and size 2x2%]\n", s)
  end)

  it("prints a table readably", function()
    local s = term:run("{b = 2, a = {1, 2}, 'x'}", '{"x", a = {1, 2}, b = 2}')
    assert.matches('\n{"x", a = {1, 2}, b = 2}\n', s, 1, true)
  end)

  it("continues an unfinished chunk under the >> prompt", function()
    term:line("for i=1,2 do")
    term:wait_prompt(">>")
    term:line("print('i=' .. i)")
    term:wait_prompt(">>")
    local s = term:run("end", "i=2")
    assert.matches("> for i=1,2 do\n>> print%('i=' %.%. i%)\n>> end\ni=1\ni=2\n>", s)
  end)

  it("shows an error with a traceback and stays usable", function()
    local s = term:run("error('boom')", "stack traceback:")
    assert.matches("stdin:1: boom", s, 1, true)
    s = term:run("dnn.ones(2,3) + dnn.ones(4,5)", "stack traceback:")
    assert.matches("add:", after(s, "dnn.ones(2,3) + dnn.ones(4,5)"), 1, true)
    s = term:run("1+2", "3")
    assert.matches("> 1%+2\n3\n>", s)
  end)

  it("completes dnn.ze<Tab> to dnn.zeros and t:ad<Tab> to t:add", function()
    term:type("dnn.ze")
    term:key("Tab")
    term:wait(function(s) return last_line(s) == "> dnn.zeros" end, "'> dnn.zeros'")
    term:line("(2)")
    term:wait(function(s)
      local out = after(s, "dnn.zeros(2)")
      return out and out:find(" 0 0\n[dnn.Tensor of dtype float32 and size 2]\n", 1, true) and last_line(s) == ">"
    end, "dnn.zeros(2) to run")
    term:run("t = dnn.ones(2)", "")
    term:type("t:ad")
    term:key("Tab")
    term:wait(function(s) return last_line(s) == "> t:add" end, "'> t:add'")
    term:line("(1)")
    term:wait(function(s)
      local out = after(s, "t:add(1)")
      return out and out:find(" 2 2\n[dnn.Tensor of dtype float32 and size 2]\n", 1, true) and last_line(s) == ">"
    end, "t:add(1) to run")
  end)

  it("shows help with ?name, ? name and help(fn)", function()
    local sig = "dnn.zeros(size..., {dtype=})"
    term:run("?dnn.zeros", sig)
    term:run("? zeros", sig)
    local s = term:run("help(dnn.zeros)", sig)
    assert.matches("Tensor of zeros; size as integers or a table.", after(s, "help(dnn.zeros)"), 1, true)
  end)

  it("interrupts a running statement with Ctrl-C and keeps its state", function()
    term:run("kept = 41", "")
    term:line("print('looping') while true do end")
    term:wait_text("looping\n")
    term:key("C-c")
    term:wait_text("interrupted!")
    term:wait_prompt()
    local s = term:run("kept + 1", "42")
    assert.matches("> kept %+ 1\n42\n", s)
  end)

  it("clears the line on Ctrl-C at the prompt and exits on Ctrl-D", function()
    term:type("half typed")
    term:wait(function(s) return last_line(s) == "> half typed" end, "the typed text")
    term:key("C-c")
    term:wait(function(s) return s:find("> half typed^C\n>", 1, true) ~= nil and last_line(s) == ">" end,
      "a fresh prompt after ^C")
    term:run("1+1", "2")
    term:key("C-d")
    term:wait_text("[exit 0]")
  end)

  it("keeps history in the file across sessions (Up recalls it)", function()
    term:run("hist_value = 6 * 7", "")
    term:line("for i = 1, 1 do")
    term:wait_prompt(">>")
    term:run("end", "")
    term:key("C-d")
    term:wait_text("[exit 0]")
    local f = assert(io.open(history))
    local saved = f:read("a")
    f:close()
    assert.matches("hist_value = 6 * 7", saved, 1, true)
    term:close()

    term = Term.start(dir, history)
    term:wait_prompt()
    term:key("Up")
    term:key("Up")
    term:wait(function(s) return last_line(s) == "> hist_value = 6 * 7" end, "the recalled line")
    term:key("Enter")
    term:wait_prompt()
    local s = term:run("hist_value", "42")
    assert.matches("> hist_value\n42\n", s)
  end)
end)
