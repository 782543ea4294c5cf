-- zoomlive.hiredis, the non-blocking binding over hiredis, against a real
-- redis-server; and the budget's round trips driven by a caller's loop.
local hiredis = require "zoomlive.hiredis"
local tr = require "zoomlive.testing.redis"
local support = require "support"
local rb = require "zoomlive.budget.redis"

-- one command, driven with hiredis.poll; returns got, reply | nil, err
local function roundtrip(c, ...)
  assert(c:append(...))
  while true do
    local done, err = c:flush()
    if done == nil then return nil, err end
    if done then break end
    assert(hiredis.poll(c:fd(), "w", 2))
  end
  while true do
    local got, r = c:read()
    if got == nil then return nil, r end
    if got then return true, r end
    assert(hiredis.poll(c:fd(), "r", 2), "no reply within 2 s")
  end
end

describe("zoomlive.hiredis", function()
  local r
  setup(function() r = tr.start() end)
  teardown(function() if r then r:stop() end end)

  it("maps every reply type", function()
    local c = assert(hiredis.connect("127.0.0.1", r.port))
    assert.are.same({ true, "OK" }, { roundtrip(c, "SET", "k", "v") })
    assert.are.same({ true, "v" }, { roundtrip(c, "GET", "k") })
    assert.are.same({ true, false }, { roundtrip(c, "GET", "missing") })
    assert.are.same({ true, 3 }, { roundtrip(c, "RPUSH", "l", "a", 2, "c") })
    assert.are.same({ true, { "a", "2", "c" } }, { roundtrip(c, "LRANGE", "l", 0, -1) })
    assert.are.same({ true, { 1, { "x", false } } },
      { roundtrip(c, "EVAL", "return {1, {'x', false}}", 0) })
    local ok, e = roundtrip(c, "NOSUCHCOMMAND")
    assert.is_true(ok)
    assert.matches("^ERR unknown command", e.err)
    c:close()
  end)

  it("keeps binary arguments and replies whole", function()
    local c = assert(hiredis.connect("127.0.0.1", r.port))
    local blob = "a\0b\r\nc" .. string.rep("\255", 60000)
    assert.are.same({ true, "OK" }, { roundtrip(c, "SET", "bin", blob) })
    local _, v = roundtrip(c, "GET", "bin")
    assert.are.equal(blob, v)
    -- past 64 KiB a reply is none of zoomlive's: refused, not copied into Lua
    assert.are.same({ true, "OK" }, { roundtrip(c, "SET", "big", string.rep("x", 70000)) })
    local ok, err = roundtrip(c, "GET", "big")
    assert.is_nil(ok)
    assert.matches("too large to be one of zoomlive's", err, 1, true)
    c:close()
  end)

  it("answers a refused connection with nil, err and no signal", function()
    local port = r.port
    r:signal("KILL")
    local c = assert(hiredis.connect("127.0.0.1", port))
    c:append("PING")
    local done, err = c:flush()
    if done ~= nil then   -- the refusal may show at the read
      hiredis.poll(c:fd(), "r", 1)
      done, err = c:read()
    end
    assert.is_nil(done)
    assert.matches("refused", err)
    c:close()
    r:restart()
  end)

  it("survives writing to a server that went away (no SIGPIPE)", function()
    local c = assert(hiredis.connect("127.0.0.1", r.port))
    assert.is_true((roundtrip(c, "PING")))
    r:signal("KILL")
    local failed
    for _ = 1, 50 do   -- the first writes may still land in the socket buffer
      c:append("SET", "x", string.rep("y", 65536))
      local done, err = c:flush()
      if done == nil then failed = err break end
      local got, e = c:read()
      if got == nil then failed = e break end
    end
    assert.is_string(failed)
    c:close()
    r:restart()
  end)

  it("refuses misuse with errors, never crashes", function()
    local c = assert(hiredis.connect("127.0.0.1", r.port))
    assert.has_error(function() c:append() end)
    assert.has_error(function() c:append("SET", {}, "x") end)
    assert.has_error(function() hiredis.poll(c:fd(), "x", 1) end)
    assert.has_error(function() hiredis.connect("127.0.0.1", 70000) end)
    c:close()
    c:close()
    assert.is_nil(c:fd())
    assert.has_error(function() c:append("PING") end, "attempt to use a closed zoomlive.hiredis connection")
    assert.matches("closed", tostring(c))
  end)

  it("poll times out on a silent socket", function()
    local c = assert(hiredis.connect("127.0.0.1", r.port))
    assert.is_true((roundtrip(c, "PING")))
    assert.is_false(hiredis.poll(c:fd(), "r", 0.01))
    c:close()
  end)
end)

describe("the budget's round trips under a caller's loop", function()
  local r
  setup(function() r = tr.start() end)
  teardown(function() if r then r:stop() end end)

  it("yields to the loop while Redis answers (set_wait)", function()
    local b = rb.new{ rate = 10, burst = 2, store = r.url, key = "loop", timeout = 10 }
    local waits = 0
    -- the caller's loop: each take runs in a coroutine; its wait yields the
    -- descriptor, and the loop polls it and resumes
    b:set_wait(function(fd, ev, seconds)
      waits = waits + 1
      return coroutine.yield(fd, ev, seconds)
    end)
    local results = {}
    local cos = {}
    for i = 1, 3 do
      cos[i] = coroutine.create(function() results[i] = b:take() end)
    end
    -- a stopped server accepts (the kernel does) but does not answer: every
    -- take is in flight at once, each waiting for its reply
    r:signal("STOP")
    local pending = {}
    for i = 1, 3 do
      pending[i] = { coroutine.resume(cos[i]) }
      assert.are.equal("suspended", coroutine.status(cos[i]))
    end
    assert.are.equal(3, waits)
    r:signal("CONT")
    -- run the loop until all are done (one at a time: one connection)
    local rounds = 0
    for i = 1, 3 do
      local p = pending[i]
      while coroutine.status(cos[i]) == "suspended" do
        rounds = rounds + 1
        assert(rounds < 1000)
        local _, fd, ev, seconds = table.unpack(p)
        local ready = hiredis.poll(fd, ev, seconds)
        p = { coroutine.resume(cos[i], ready) }
        assert.is_true(p[1], tostring(p[2]))
      end
    end
    assert.are.equal(0, results[1])
    assert.are.equal(0, results[2])
    assert.is_true(results[3] > 0 and results[3] <= 0.1)
    b:close()
  end)
end)

describe("a scheduler's transport.wait_fd", function()
  local pipeline = require "zoomlive.pipeline"
  local request = require "zoomlive.request"
  local env = support.redis_and_sim { qps = 1000 }
  setup(env.start)
  teardown(env.stop)
  local r, sim
  before_each(function() r, sim = env.r, env.sim end)

  it("waits for the shared budget's socket (the pipeline passes the transport)", function()
    local c = require("zoomlive").new{ base_url = sim.base_url, token = sim.token,
      budget = { rate = 100, store = r.url, key = "wait-fd", timeout = 10 } }
    local conn = require("zoomlive.core").new{}
    local waited = 0
    local transport = {
      send = function(spec, token, timeout) return conn:perform(spec, token, timeout) end,
      sleep = function() end,
      -- the server is stopped until the first wait: without this hook's
      -- poll no reply could come
      wait_fd = function(fd, ev, seconds)
        waited = waited + 1
        if waited == 1 then r:signal("CONT") end
        return hiredis.poll(fd, ev, seconds)
      end,
    }
    r:signal("STOP")
    local v, err, info = pipeline.run(c, request.get("meeting", "get", 68423085), transport)
    assert.is_table(v, tostring(err))
    assert.are.equal("redis " .. r.url, info.budget)
    assert.is_true(waited >= 1)
    conn:close()
    c:close()
  end)

  it("on an event loop (luv) the loop keeps running while Redis answers", function()
    local uv = require "luv"
    local c = require("zoomlive").new{ base_url = sim.base_url, token = sim.token, loop = "luv",
      budget = { rate = 100, store = r.url, key = "luv-loop", timeout = 10 } }
    -- the server is stopped; only a timer of the host loop lets it go on:
    -- a round trip that held the loop would wait out its 10 s and give up
    r:signal("STOP")
    local fired = false
    local t = uv.new_timer()
    t:start(20, 0, function()
      fired = true
      t:close()
      r:signal("CONT")
    end)
    local res
    coroutine.wrap(function() res = table.pack(c:get(68423085)) end)()
    local guard = uv.new_timer()
    local timed_out = false
    guard:start(60000, 0, function() timed_out = true end)
    guard:unref()
    while not res and not timed_out and uv.loop_alive() do uv.run("once") end
    guard:close()
    uv.run("nowait")
    assert.is_true(fired)
    assert.is_table(res, "the call did not finish")
    assert.is_table(res[1], tostring(res[2]))
    assert.are.equal("redis " .. r.url, res[3].budget)
    c:close()
  end)

  it("on an event loop (cqueues) likewise", function()
    local cqueues = require "cqueues"
    local c = require("zoomlive").new{ base_url = sim.base_url, token = sim.token, loop = "cqueues",
      budget = { rate = 100, store = r.url, key = "cq-loop", timeout = 10 } }
    local q = cqueues.new()
    r:signal("STOP")
    local fired, res = false, nil
    q:wrap(function()
      cqueues.sleep(0.02)
      fired = true
      r:signal("CONT")
    end)
    q:wrap(function() res = table.pack(c:get(68423085)) end)
    assert(q:loop(60))
    assert.is_true(fired)
    assert.is_table(res, "the call did not finish")
    assert.is_table(res[1], tostring(res[2]))
    assert.are.equal("redis " .. r.url, res[3].budget)
    c:close()
  end)
end)
