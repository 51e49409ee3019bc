-- TensorBoard event files (src/io/tfevents.c): records and CRCs checked by
-- an independent decoder written here in plain Lua (bitwise CRC-32C,
-- protobuf varints), the logs of train_model and of the Keras TensorBoard
-- callback, and -- when the tensorboard Python package is installed -- a
-- second reading by TensorBoard itself.
local dnn = require "dnn"
local check = require "support.check"
local tf = dnn.core.tfevents
local T = dnn.train

-- ---------- an independent reader ----------

local function crc32c(s)
  local crc = 0xFFFFFFFF
  for i = 1, #s do
    crc = crc ~ s:byte(i)
    for _ = 1, 8 do
      if crc & 1 == 1 then crc = (crc >> 1) ~ 0x82F63B78 else crc = crc >> 1 end
    end
  end
  return crc ~ 0xFFFFFFFF
end

local function mask(c) return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xFFFFFFFF end

-- The data of every record, the length and data CRCs checked.
local function read_records(path)
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("a")
  f:close()
  local out, pos = {}, 1
  while pos <= #bytes do
    assert(#bytes - pos + 1 >= 12, "truncated record header at byte " .. (pos - 1))
    local head = bytes:sub(pos, pos + 7)
    local len = string.unpack("<I8", head)
    local hcrc = string.unpack("<I4", bytes, pos + 8)
    assert(hcrc == mask(crc32c(head)), "bad length CRC at byte " .. (pos - 1))
    local data = bytes:sub(pos + 12, pos + 11 + len)
    assert(#data == len, "truncated record data")
    local dcrc = string.unpack("<I4", bytes, pos + 12 + len)
    assert(dcrc == mask(crc32c(data)), "bad data CRC at byte " .. (pos - 1))
    out[#out + 1] = data
    pos = pos + 16 + len
  end
  return out
end

local function varint(s, pos)
  local v, shift = 0, 0
  while true do
    local b = s:byte(pos)
    pos = pos + 1
    if shift < 64 then v = v | ((b & 0x7F) << shift) end
    shift = shift + 7
    if b < 0x80 then return v, pos end
  end
end

-- Protobuf fields of a message: list of {field, wire, value}.
local function fields(s)
  local out, pos = {}, 1
  while pos <= #s do
    local key
    key, pos = varint(s, pos)
    local field, wire = key >> 3, key & 7
    local v
    if wire == 0 then
      v, pos = varint(s, pos)
    elseif wire == 1 then
      v, pos = s:sub(pos, pos + 7), pos + 8
    elseif wire == 2 then
      local n
      n, pos = varint(s, pos)
      v, pos = s:sub(pos, pos + n - 1), pos + n
    elseif wire == 5 then
      v, pos = s:sub(pos, pos + 3), pos + 4
    else
      error("unexpected wire type " .. wire)
    end
    out[#out + 1] = { field, wire, v }
  end
  return out
end

-- Event{wall_time=1 double, step=2 int64, file_version=3, summary=5}.
local function parse_event(data)
  local ev = { step = 0, values = {} }
  for _, f in ipairs(fields(data)) do
    local field, wire, v = f[1], f[2], f[3]
    if field == 1 then
      assert(wire == 1); ev.wall_time = string.unpack("<d", v)
    elseif field == 2 then
      assert(wire == 0); ev.step = v
    elseif field == 3 then
      assert(wire == 2); ev.file_version = v
    elseif field == 5 then
      for _, sv in ipairs(fields(v)) do
        assert(sv[1] == 1 and sv[2] == 2)
        local val = {}
        for _, vf in ipairs(fields(sv[3])) do
          if vf[1] == 1 then val.tag = vf[3] elseif vf[1] == 2 then val.simple_value = string.unpack("<f", vf[3]) end
        end
        ev.values[#ev.values + 1] = val
      end
    end
  end
  return ev
end

local function read_events(path)
  local evs = {}
  for _, d in ipairs(read_records(path)) do evs[#evs + 1] = parse_event(d) end
  return evs
end

-- {tag = {{step, value}, ...}} of the scalar events after the first.
local function scalars(path)
  local evs = read_events(path)
  assert(evs[1].file_version == "brain.Event:2", "the first record is not the file version")
  local out = {}
  for i = 2, #evs do
    for _, v in ipairs(evs[i].values) do
      out[v.tag] = out[v.tag] or {}
      table.insert(out[v.tag], { evs[i].step, v.simple_value })
    end
  end
  return out
end

local function f32(x) return (string.unpack("<f", string.pack("<f", x))) end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function only_file(dir)
  local names = assert(tf.listdir(dir))
  local out = {}
  for _, n in ipairs(names) do if n:match("^events%.out%.tfevents%.") then out[#out + 1] = n end end
  assert(#out == 1, ("expected one event file in %s, found %d"):format(dir, #out))
  return dir .. "/" .. out[1]
end

describe("CRC-32C", function()
  it("gives the standard check value and RFC 3720's test vectors", function()
    assert.are.equal(0xE3069283, tf.crc32c("123456789"))
    assert.are.equal(0, tf.crc32c(""))
    assert.are.equal(0x8A9136AA, tf.crc32c(string.rep("\0", 32)))
    assert.are.equal(0x62A8AB43, tf.crc32c(string.rep("\255", 32)))
    local inc = {}
    for i = 0, 31 do inc[#inc + 1] = string.char(i) end
    assert.are.equal(0x46DD794E, tf.crc32c(table.concat(inc)))
  end)

  it("agrees with a bitwise implementation on every length up to 100", function()
    local s = {}
    for i = 1, 100 do s[i] = string.char((i * 37 + 11) % 256) end
    s = table.concat(s)
    for n = 0, 100 do assert.are.equal(crc32c(s:sub(1, n)), tf.crc32c(s:sub(1, n)), "length " .. n) end
  end)

  it("is not zlib's CRC-32", function()
    assert.are_not.equal(0xCBF43926, tf.crc32c("123456789"))
  end)

  it("masks as TensorFlow does", function()
    for _, c in ipairs({ 0, 1, 0xE3069283, 0xFFFFFFFF, 0x12345678 }) do
      assert.are.equal(mask(c), tf.mask(c))
    end
  end)
end)

describe("Event encoding", function()
  it("encodes wall_time, step and a tagged float32 scalar", function()
    local ev = parse_event(tf.encode_scalar("train/loss", 0.1, 42, 1700000000.25))
    assert.are.equal(1700000000.25, ev.wall_time)
    assert.are.equal(42, ev.step)
    assert.are.equal(1, #ev.values)
    assert.are.equal("train/loss", ev.values[1].tag)
    assert.are.equal(f32(0.1), ev.values[1].simple_value)
  end)

  it("leaves step 0 out (the proto3 default) and writes negative and large steps", function()
    local bytes = tf.encode_scalar("a", 1, 0, 1.0)
    assert.is_nil(bytes:find("\16", 10, true)) -- no field-2 key after the double
    assert.are.equal(0, parse_event(bytes).step)
    assert.are.equal(-3, parse_event(tf.encode_scalar("a", 1, -3, 1.0)).step)
    assert.are.equal(1 << 40, parse_event(tf.encode_scalar("a", 1, 1 << 40, 1.0)).step)
  end)

  it("handles tags longer than one varint byte", function()
    local tag = string.rep("x", 300)
    local ev = parse_event(tf.encode_scalar(tag, 2.5, 1, 1.0))
    assert.are.equal(tag, ev.values[1].tag)
    assert.are.equal(2.5, ev.values[1].simple_value)
  end)
end)

describe("Event files", function()
  it("frames records with masked CRCs, file version first, in a TensorBoard-named file", function()
    local dir = tmpdir() .. "/nested/logs"
    local w = tf.create(dir, "", 1700000000.5)
    w:scalar("loss", 0.5, 0, 1700000001.0)
    w:scalar("loss", 0.25, 1, 1700000002.0)
    w:scalar("acc", 0.75, 1, 1700000002.5)
    local path = w:path()
    w:close()
    assert.truthy(path:match("/events%.out%.tfevents%.1700000000%.[^/]+$"), path)
    local evs = read_events(path)
    assert.are.equal(4, #evs)
    assert.are.equal("brain.Event:2", evs[1].file_version)
    assert.are.equal(1700000000.5, evs[1].wall_time)
    local s = scalars(path)
    assert.are.same({ { 0, 0.5 }, { 1, 0.25 } }, s.loss)
    assert.are.same({ { 1, 0.75 } }, s.acc)
    os.execute("rm -rf '" .. dir:match("^(.*)/nested") .. "'")
  end)

  it("gives a second file in the same second another name", function()
    local dir = tmpdir()
    local a = tf.create(dir, "", 1700000000.0)
    local b = tf.create(dir, "", 1700000000.0)
    assert.are_not.equal(a:path(), b:path())
    a:close(); b:close()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("append cuts the file back to a record boundary and continues", function()
    local dir = tmpdir()
    local w = tf.create(dir)
    w:scalar("x", 1, 0)
    w:scalar("x", 2, 1)
    w:flush()
    local path, size = w:path(), w:size()
    w:scalar("x", 3, 2) -- logged after the "checkpoint": dropped on resume
    w:close()
    local w2 = tf.append(path, size)
    w2:scalar("x", 30, 2)
    w2:close()
    assert.are.same({ { 0, 1 }, { 1, 2 }, { 2, 30 } }, scalars(path).x)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("append refuses damaged records and short files", function()
    local dir = tmpdir()
    local w = tf.create(dir)
    w:scalar("x", 1, 0)
    w:flush()
    local path, size = w:path(), w:size()
    w:close()
    check.fails_with(function() tf.append(path, size + 100) end, "fewer than the", "expected")
    check.fails_with(function() tf.append(path, size - 3) end, "end inside a record")
    local f = assert(io.open(path, "r+b"))
    f:seek("set", size - 6)
    f:write("\255")
    f:close()
    check.fails_with(function() tf.append(path, size) end, "bad data checksum")
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("reports bad arguments instead of crashing", function()
    check.fails_with(function() tf.create("") end, "log directory is empty")
    check.fails_with(function() tf.create("/proc/no/such/dir") end, "cannot create the log directory")
    local dir = tmpdir()
    local w = tf.create(dir)
    check.fails_with(function() w:scalar("", 1, 0) end, "a tag must hold")
    check.fails_with(function() w:scalar("a\0b", 1, 0) end, "NUL")
    w:close()
    check.fails_with(function() w:scalar("x", 1, 0) end, "closed")
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

-- A fake model whose losses are known: 1/(step+1).
local function fake_model()
  local m = { steps = 0 }
  function m:do_train_step() self.steps = self.steps + 1; return 1 / self.steps end
  return m
end

local function batches() return { { 1 }, { 2 }, { 3 } } end

describe("train_model logs", function()
  it("hold train loss per step, epoch means, policy values and validation metrics, as in the CSV", function()
    local dir = tmpdir()
    T.train_model { fake_model(), batches, n_epochs = 2, lr = T.Exponential { initial = 1, multiplier = 0.5 },
      log_path = dir, validate = function() return { acc = 0.5, auc = 0.25 } end }
    local s = scalars(only_file(dir))
    assert.are.equal(6, #s["train/loss_step"])
    for k, p in ipairs(s["train/loss_step"]) do
      assert.are.equal(k - 1, p[1])
      assert.are.equal(f32(1 / k), p[2])
    end
    assert.are.same({ { 0, f32((1 + 1 / 2 + 1 / 3) / 3) }, { 1, f32((1 / 4 + 1 / 5 + 1 / 6) / 3) } }, s["train/loss"])
    assert.are.same({ { 0, 1 }, { 1, 0.5 } }, s["policies/lr"])
    assert.are.same({ { 0, 0.5 }, { 1, 0.5 } }, s["val/metrics/acc"])
    assert.are.same({ { 0, 0.25 }, { 1, 0.25 } }, s["val/metrics/auc"])
    -- the CSV holds the same scalars, at full precision
    local rows = {}
    for line in io.lines(dir .. "/scalars.csv") do rows[#rows + 1] = line end
    assert.are.equal("wall_time,tag,step,value", rows[1])
    local n = 0
    for tag, list in pairs(s) do n = n + #list end
    assert.are.equal(n, #rows - 1)
    local tag, step, value = rows[4]:match("^[%d.]+,([^,]+),(%d+),(.+)$")
    assert.are.equal("train/loss_step", tag)
    assert.are.equal("2", step)
    assert.are.equal(1 / 3, tonumber(value))
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("dnn.callbacks.TensorBoard", function()
  it("writes Keras's train/ and validation/ files with epoch_ and evaluation_ tags", function()
    local dir = tmpdir()
    dnn.manual_seed(3)
    local x, y = dnn.randn(64, 4), dnn.randn(64, 1)
    local m = dnn.Sequential { dnn.layers.Dense { 1, input_shape = { 4 } } }
    m:compile { optimizer = "sgd", loss = "mse", metrics = { "mae" } }
    local h = m:fit { x = x, y = y, epochs = 3, batch_size = 16, verbose = 0, validation_split = 0.25,
      callbacks = { dnn.callbacks.TensorBoard { log_dir = dir, update_freq = 2 } } }
    local train = scalars(only_file(dir .. "/train"))
    local val = scalars(only_file(dir .. "/validation"))
    for e = 1, 3 do
      assert.are.same({ e - 1, f32(h.history.loss[e]) }, train.epoch_loss[e])
      assert.are.same({ e - 1, f32(h.history.mae[e]) }, train.epoch_mae[e])
      assert.are.same({ e - 1, f32(h.history.val_loss[e]) }, val.epoch_loss[e])
      assert.are.same({ e * 3, f32(h.history.val_loss[e]) }, val.evaluation_loss_vs_iterations[e])
    end
    -- 3 batches an epoch, every 2nd batch: updates 2, 4, 6, 8
    local steps = {}
    for _, p in ipairs(train.batch_loss) do steps[#steps + 1] = p[1] end
    assert.are.same({ 2, 4, 6, 8 }, steps)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("checks its arguments", function()
    check.fails_with(function() dnn.callbacks.TensorBoard { update_freq = 0 } end, "update_freq")
    check.fails_with(function() dnn.callbacks.TensorBoard { log_dir = 3 } end, "log_dir")
  end)
end)

local has_tb = os.execute("/usr/bin/python3 -c 'import tensorboard' >/dev/null 2>&1")
if has_tb then
  describe("TensorBoard itself", function()
    it("reads train_model's event file", function()
      local dir = tmpdir()
      T.train_model { fake_model(), batches, n_epochs = 2, lr = 0.5, log_path = dir }
      local py = dir .. "/read.py"
      local f = assert(io.open(py, "w"))
      f:write([[
import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1]); acc.Reload()
for e in acc.Scalars("train/loss_step"): print(e.step, repr(e.value))
]])
      f:close()
      local p = io.popen("/usr/bin/python3 " .. py .. " " .. dir)
      local out = p:read("a")
      p:close()
      local n = 0
      for step, v in out:gmatch("(%d+) ([%d.e-]+)") do
        n = n + 1
        assert.are.equal(n - 1, tonumber(step))
        assert.are.equal(f32(1 / n), tonumber(v))
      end
      assert.are.equal(6, n)
      os.execute("rm -rf '" .. dir .. "'")
    end)
  end)
else
  pending("TensorBoard itself reading the files: the tensorboard Python package is not installed "
    .. "for /usr/bin/python3 (pip install tensorboard to run this check)")
end
