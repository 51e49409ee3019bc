-- The background worker pool (src/io/prefetch.c) and PrefetchSequence
-- (lua/dnn/data/prefetch.lua): jobs finish without the main thread, errors
-- are deterministic, cancelled jobs are safe, and the sequence keeps the
-- next batches queued.  Reference values are the PNGs the spec writes.
local dnn = require "dnn"
local check = require "support.check"
local core = dnn.core

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

describe("the image worker pool", function()
  local dir, paths
  setup(function()
    dir = tmpdir()
    paths = {}
    for i = 1, 40 do
      paths[i] = ("%s/img%02d.png"):format(dir, i)
      dnn.io.write_png(paths[i], dnn.full({ 6, 5, 1 }, i):byte())
    end
  end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  local function submit(pool, list, h, w)
    return pool:submit_images("spec", list, 1, h or 6, w or 5, "bilinear", false, false, false, 0, 0)
  end

  it("decodes a batch into a float32 (N, H, W, C) tensor", function()
    local pool = core.image_pool(2)
    assert.are.equal(2, pool:threads())
    local job = submit(pool, { paths[3], paths[1], paths[7] })
    local x, waited = job:wait()
    assert.are.equal("float32", x.dtype)
    assert.are.same({ 3, 6, 5, 1 }, { x:size(1), x:size(2), x:size(3), x:size(4) })
    assert.are.same({ 3, 1, 7 }, { x[{ 1, 1, 1, 1 }], x[{ 2, 3, 2, 1 }], x[{ 3, 6, 5, 1 }] })
    assert.is_true(waited >= 0)
    assert.is_true(job:done())
    job:close()
    check.fails_with(function() job:wait() end, "closed")
  end)

  it("finishes jobs on its own threads while the main thread does other work", function()
    local pool = core.image_pool(1)
    local job = submit(pool, paths, 64, 64)
    local t0 = dnn.monotonic()
    while not job:done() and dnn.monotonic() - t0 < 20 do
      local a = dnn.randn(64, 64)
      a = a:matmul(a) -- main-thread work, never a wait on the job
    end
    assert.is_true(job:done())
    local x, waited = job:wait()
    assert.is_true(waited < 0.05)
    assert.are.equal(40, x:size(1))
    assert.are.equal(17, x[{ 17, 30, 30, 1 }])
  end)

  it("keeps many jobs apart", function()
    local pool = core.image_pool(3)
    local jobs = {}
    for j = 1, 10 do
      local list = {}
      for k = 1, 4 do list[k] = paths[(j * 4 + k) % 40 + 1] end
      jobs[j] = { submit(pool, list), list }
    end
    for j = 10, 1, -1 do -- waited in reverse order
      local x = jobs[j][1]:wait()
      for k = 1, 4 do
        local want = tonumber(jobs[j][2][k]:match("img(%d+)"))
        assert.are.equal(want, x[{ k, 1, 1, 1 }])
      end
    end
  end)

  it("reports the first failing file of a batch, whatever the thread timing", function()
    local pool = core.image_pool(4)
    for _ = 1, 5 do
      local list = { paths[1], dir .. "/missing_b.png", paths[2], dir .. "/missing_a.png" }
      local job = submit(pool, list)
      check.fails_with(function() job:wait() end, "spec: ", "missing_b.png", "no such file")
    end
  end)

  it("cancels queued work when a job is closed or collected", function()
    local pool = core.image_pool(1)
    local big = {}
    for i = 1, 400 do big[i] = paths[(i - 1) % 40 + 1] end
    for _ = 1, 5 do
      local j = submit(pool, big, 128, 128)
      j:close() -- untaken images are dropped, running ones finish first
    end
    for _ = 1, 5 do submit(pool, big, 128, 128) end
    collectgarbage()
    collectgarbage()
    local x = submit(pool, { paths[9] }):wait()
    assert.are.equal(9, x[{ 1, 1, 1, 1 }])
  end)

  it("checks its arguments", function()
    local pool = core.image_pool(1)
    check.fails_with(function() core.image_pool(0) end, "workers must be 1..256")
    check.fails_with(function() pool:submit_images("spec", { 1 }, 1, 2, 2) end, "paths[1] is not a string")
    check.fails_with(function() pool:submit_images("spec", {}, 2, 2, 2) end, "channels must be 1, 3 or 4")
    check.fails_with(function() pool:submit_images("spec", {}, 1, 0, 2) end, "image_size")
    check.fails_with(function() pool:submit_images("spec", {}, 1, 2, 2, "cubic") end, "interpolation")
  end)
end)

describe("PrefetchSequence", function()
  local dir
  setup(function()
    dir = tmpdir()
    for c = 0, 1 do
      os.execute("mkdir -p " .. q(dir .. "/c" .. c))
      for i = 1, 25 do
        dnn.io.write_png(("%s/c%d/%02d.png"):format(dir, c, i), dnn.full({ 4, 4, 1 }, i + 100 * c):byte())
      end
    end
  end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  local function queued(seq)
    local ks = {}
    for k in pairs(seq._jobs) do ks[#ks + 1] = k end
    table.sort(ks)
    return ks
  end

  it("keeps the next `prefetch` batches queued and serves them", function()
    local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 4, 4 }, color_mode = "grayscale",
      batch_size = 5, seed = 4, prefetch = 3, verbose = false })
    assert.are.equal(10, seq:len())
    assert.are.same({ 1, 2, 3 }, queued(seq)) -- queued at creation
    seq:get(1)
    assert.are.same({ 2, 3, 4 }, queued(seq))
    seq:get(2)
    assert.are.same({ 3, 4, 5 }, queued(seq))
    seq:get(9) -- a jump: the window moves, stale jobs are dropped
    assert.are.same({ 10 }, queued(seq))
    seq:get(10)
    assert.are.same({}, queued(seq))
    assert.are.equal(4, seq.batches_served)
    assert.are.equal(3, seq.prefetch_hits) -- 1, 2 and 10 were queued; 9 was not
    seq:on_epoch_end()
    assert.are.same({ 1, 2, 3 }, queued(seq))
    seq:reset_stats()
    assert.are.equal(0, seq.batches_served)
  end)

  it("queues batches in the order given by prefetch_order (fit's batch shuffling)", function()
    local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 4, 4 }, color_mode = "grayscale",
      batch_size = 5, seed = 4, prefetch = 2, verbose = false })
    assert.is_true(seq.keeps_batch_order)
    local order = { 7, 3, 10, 1, 2, 4, 5, 6, 8, 9 }
    seq:prefetch_order(order)
    assert.are.same({ 3, 7 }, queued(seq))
    local plain = dnn.data.image_dataset_from_directory(dir, { image_size = { 4, 4 }, color_mode = "grayscale",
      batch_size = 5, seed = 4, prefetch = 0, verbose = false })
    for k, b in ipairs(order) do
      local x = seq:get(b)
      assert.is_true(x:equal(plain:get(b)))
      local want = {}
      for j = k + 1, math.min(#order, k + 2) do want[#want + 1] = order[j] end
      table.sort(want)
      assert.are.same(want, queued(seq))
    end
    assert.are.equal(10, seq.prefetch_hits)
    seq:on_epoch_end() -- the hint is for one epoch
    assert.are.same({ 1, 2 }, queued(seq))
  end)

  it("gives the same batches with and without prefetching", function()
    local function all(depth)
      local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 4, 4 }, color_mode = "grayscale",
        batch_size = 7, seed = 8, prefetch = depth, verbose = false })
      local out = {}
      for e = 1, 2 do
        for i = 1, seq:len() do
          local x, y = seq:get(i)
          out[#out + 1] = { x:view(-1):totable(), y:totable() }
        end
        seq:on_epoch_end()
      end
      return out, seq
    end
    local a, sa = all(0)
    local b, sb = all(5)
    assert.are.same(a, b)
    assert.are.equal(0, sa.prefetch_hits)
    assert.are.equal(2 * sb:len(), sb.prefetch_hits) -- every batch was queued before it was asked for
  end)

  it("restores the epoch order from get_state / set_state", function()
    local seq = dnn.data.image_dataset_from_directory(dir, { image_size = { 4, 4 }, color_mode = "grayscale",
      batch_size = 50, seed = 5, verbose = false })
    seq:on_epoch_end()
    seq:on_epoch_end()
    local state = seq:get_state()
    local x2 = seq:get(1)
    local other = dnn.data.image_dataset_from_directory(dir, { image_size = { 4, 4 }, color_mode = "grayscale",
      batch_size = 50, seed = 5, verbose = false })
    other:set_state(state)
    assert.is_true(other:get(1):eq(x2):all():item())
    assert.are.equal(2, state.epoch)
  end)

  it("rejects a bad prefetch depth or worker count", function()
    check.fails_with(function()
      dnn.data.image_dataset_from_directory(dir, { prefetch = -1, verbose = false })
    end, "depth must be a non-negative integer")
    check.fails_with(function()
      dnn.data.image_dataset_from_directory(dir, { workers = 0, verbose = false })
    end, "workers must be an integer in 1..64")
  end)
end)
