-- The dnnlua executable as a command: scripts and their arguments, exit
-- codes and tracebacks, -e, -l, -i, --version, --help, stdin.
local DNNLUA = os.getenv("DNNLUA") or "/work/main/build/dnnlua"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Runs a shell command; returns its output (stdout and stderr unless
-- keep_stderr_apart) and exit code.
local function run(cmd, keep_stderr_apart)
  local p = assert(io.popen(cmd .. (keep_stderr_apart and "" or " 2>&1"), "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local function dnnlua(args, opts)
  opts = opts or {}
  local cmd = q(DNNLUA) .. " " .. args
  if opts.stdin then cmd = "printf '%s' " .. q(opts.stdin) .. " | " .. cmd end
  if opts.env then cmd = opts.env .. " " .. cmd end
  return run(cmd, opts.stderr_apart)
end

local tmpdir
local function write(name, text)
  local path = tmpdir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("dnnlua command line", function()
  setup(function()
    tmpdir = os.tmpname()
    os.remove(tmpdir)
    assert(os.execute("mkdir -p " .. q(tmpdir)))
  end)
  teardown(function() os.execute("rm -rf " .. q(tmpdir)) end)

  it("runs a script with its arguments in the global arg and in ...", function()
    local script = write("args.lua", [[
      print("n=" .. #arg, "0=" .. arg[0], "1=" .. arg[1], "2=" .. arg[2])
      print("interp=" .. tostring(arg[-1] ~= nil))
      print("varargs=" .. table.concat({...}, ","))
      print("dnn=" .. tostring(dnn.is_tensor(dnn.zeros(2))))
    ]])
    local out, code = dnnlua(q(script) .. " alpha 'b c'")
    assert.equal(0, code)
    assert.matches("n=2\t0=" .. script:gsub("%p", "%%%0") .. "\t1=alpha\t2=b c\n", out)
    assert.matches("interp=true", out, 1, true)
    assert.matches("varargs=alpha,b c", out, 1, true)
    assert.matches("dnn=true", out, 1, true)
  end)

  it("exits non-zero with the message and a traceback when a script fails", function()
    local script = write("fail.lua", [[
      local function inner() error("kaboom in inner") end
      local function outer() inner() end
      outer()
    ]])
    local out, code = dnnlua(q(script))
    assert.is_not.equal(0, code)
    assert.matches("fail.lua:1: kaboom in inner", out, 1, true)
    assert.matches("stack traceback:", out, 1, true)
    assert.matches("'inner'", out, 1, true)
    assert.matches("in local 'outer'", out, 1, true)
  end)

  it("reports a dnn error with the op's message and exits non-zero", function()
    local script = write("shape.lua", "local x = dnn.ones(2, 3) + dnn.ones(4, 5)\n")
    local out, code = dnnlua(q(script))
    assert.is_not.equal(0, code)
    assert.matches("add: .*%[2, ?3%].*%[4, ?5%]", out)
    assert.matches("stack traceback:", out, 1, true)
  end)

  it("exits non-zero on a syntax error, naming the file", function()
    local script = write("syntax.lua", "local x = = 1\n")
    local out, code = dnnlua(q(script))
    assert.is_not.equal(0, code)
    assert.matches("syntax.lua:1:", out, 1, true)
  end)

  it("exits non-zero when the script does not exist", function()
    local out, code = dnnlua(q(tmpdir .. "/missing.lua"))
    assert.is_not.equal(0, code)
    assert.matches("cannot open", out, 1, true)
  end)

  it("runs -e chunks in order, with dnn and help loaded", function()
    local out, code = dnnlua([[-e 'x = 6' -e 'print(x * 7)' -e 'print(dnn.ones(2, 3):sum():item())' -e 'help("zeros")']])
    assert.equal(0, code)
    assert.matches("^42\n6%.0\n", out)
    assert.matches("dnn.zeros(size..., {dtype=})", out, 1, true)
  end)

  it("exits non-zero when -e fails", function()
    local out, code = dnnlua([[-e 'error("bad -e")']])
    assert.is_not.equal(0, code)
    assert.matches("bad -e", out, 1, true)
    assert.matches("stack traceback:", out, 1, true)
  end)

  it("requires -l modules into globals (mod, g=mod, mod-suffix)", function()
    write("mymod.lua", "return {answer = 42}\n")
    write("mymod-v2.lua", "return {answer = 43}\n")
    local env = "LUA_PATH=" .. q(tmpdir .. "/?.lua;;")
    local out, code = dnnlua([[-l mymod -l g=mymod -l mymod-v2 -e 'print(mymod.answer, g.answer, rawequal(g, package.loaded.mymod))']],
      { env = env })
    assert.equal(0, code)
    assert.equal("43\t42\ttrue\n", out) -- mymod-v2 went into the global mymod, last
    local out2, code2 = dnnlua("-l no_such_module_xyz -e 'print(1)'", { env = env })
    assert.is_not.equal(0, code2)
    assert.matches("module 'no_such_module_xyz' not found", out2, 1, true)
  end)

  it("-i runs the script, then reads statements from piped input in its state", function()
    local script = write("state.lua", "base = 40\nprint('script ran')\n")
    local out, code = dnnlua("-i " .. q(script), { stdin = "base + 2\nfor i = 1, 2 do\nprint('i=' .. i)\nend\nerror('oops')\nbase * 2\n" })
    assert.equal(0, code)
    assert.matches("script ran", out, 1, true)
    assert.matches("help(obj) or ?name for help", out, 1, true)
    assert.matches("42\n", out, 1, true)
    assert.matches("i=1\n", out, 1, true)
    assert.matches("i=2\n", out, 1, true)
    assert.matches("oops", out, 1, true)
    assert.matches("80\n", out, 1, true) -- the error did not end the session
    assert.truthy(out:find("i=2", 1, true) < out:find("oops", 1, true))
  end)

  it("prints the version with --version and -v", function()
    for _, flag in ipairs { "--version", "-v" } do
      local out, code = dnnlua(flag)
      assert.equal(0, code)
      assert.matches("^dnnlua %d+%.%d+%.%d+ %(.*Lua 5%.4[%.%d]*%)\n$", out)
    end
  end)

  it("prints usage with --help and exits 0; a bad option prints usage and fails", function()
    local out, code = dnnlua("--help")
    assert.equal(0, code)
    assert.matches("usage: ", out, 1, true)
    assert.matches("-e stat", out, 1, true)
    assert.matches("-i ", out, 1, true)
    local out2, code2 = dnnlua("--no-such-flag")
    assert.is_not.equal(0, code2)
    assert.matches("usage: ", out2, 1, true)
  end)

  it("runs stdin as one chunk when it is not a terminal (no banner, no prompt)", function()
    local out, code = dnnlua("", { stdin = "local x = 6\nprint(x * 7)\nprint(dnn.zeros(3):numel())\n" })
    assert.equal(0, code)
    assert.equal("42\n3\n", out)
    local out2, code2 = dnnlua("", { stdin = "error('stdin failed')\n" })
    assert.is_not.equal(0, code2)
    assert.matches("stdin failed", out2, 1, true)
  end)

  it("runs stdin given as - with the following arguments", function()
    local out, code = dnnlua("- x y", { stdin = "print(#arg, arg[1], arg[2], ...)\n" })
    assert.equal(0, code)
    assert.equal("2\tx\ty\tx\ty\n", out)
  end)
end)
