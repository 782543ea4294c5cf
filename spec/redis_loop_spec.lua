-- The shared budget on Redis never blocks an event loop (issue #13): on a
-- client with loop = "luv" or "cqueues", a Redis that accepts but does not
-- answer (stopped with SIGSTOP), with or without AUTH and SELECT, before
-- the first call or during a run, costs the calls `timeout` on the loop and
-- then they go on under the local share; the host's 1 ms timer never
-- stalls (gaps measured on the loop's clock), and no Redis round trip
-- waits in poll(2) with a time (hiredis.poll is watched). Redis continued
-- or restarted is used again, reached without blocking either. A reply of
-- the wrong shape to the budget script is a Redis failure, never a verdict.
--
-- A gap is measured less the time the kernel kept this process waiting
-- for a CPU meanwhile (run_delay in /proc/self/schedstat; 0 where it
-- cannot be read): other processes on a busy machine delay the timer
-- without our code holding the loop; a round trip waiting in poll(2) is a
-- sleep, not a run-queue wait, and counts whole.
--
-- Signals go through testsys.kill (one system call: a shell would stall the
-- loop the spec measures). Nothing sleeps: the budget's reconnect schedule
-- is passed by moving the client's clock (`now`) between calls.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local tredis = require "zoomlive.testing.redis"
local hiredis = require "zoomlive.hiredis"
local rb = require "zoomlive.budget.redis"
local core = require "zoomlive.core"
local sys = require "testsys"
local support = require "support"
local uv = require "luv"
local cqueues = require "cqueues"

local SEED = 68423085
-- Under a sanitizer or valgrind (ZOOMLIVE_SLOWDOWN, set by
-- scripts/ci-sanitizers.sh) every Lua step is that many times slower: the
-- bounds scale with it. A blocking wait still shows: it holds the loop for
-- the whole TIMEOUT, far past MAX_GAP at any scale.
local SLOW = tonumber(os.getenv("ZOOMLIVE_SLOWDOWN") or "") or 1
local MAX_GAP = 0.005 * SLOW   -- seconds: the host's 1 ms timer never waits longer
local TIMEOUT = 0.2 * SLOW     -- the budget's round-trip timeout in these specs
local RECONNECT = 1

-- hiredis.poll with a time: the budget's blocking wait. None may happen
-- while a loop runs.
local polls = { on = false, n = 0 }
local real_poll = hiredis.poll
setup(function()
  hiredis.poll = function(fd, ev, seconds)
    if polls.on and seconds > 0 then polls.n = polls.n + 1 end
    return real_poll(fd, ev, seconds)
  end
end)
teardown(function() hiredis.poll = real_poll end)

-- ---- the two loops, each with a 1 ms host timer measuring its gaps ---------

-- seconds this process has waited on a run queue (for a CPU) so far
local function run_delay()
  local f = io.open("/proc/self/schedstat")
  if not f then return 0 end
  local line = f:read("l")
  f:close()
  local d = line and line:match("^%d+ (%d+)")
  return d and tonumber(d) / 1e9 or 0
end

-- a gap meter: tick(now) at each timer tick (now in seconds, the loop's
-- clock); worst is the longest gap less the run-queue wait within it
local function meter()
  local m = { worst = 0, raw = 0, ticks = 0 }
  local last, last_rd
  function m.tick(now)
    local rd = run_delay()
    if last then
      local gap = now - last
      if gap > m.raw then m.raw = gap end
      local held = gap - (rd - last_rd)
      if held > m.worst then m.worst = held end
    end
    last, last_rd, m.ticks = now, rd, m.ticks + 1
  end
  return m
end

local loops = {}

-- runs fn(pause) as a coroutine on luv until it returns; pause(s) waits on
-- a loop timer. Returns fn's results and the gap meter of a 1 ms repeating
-- timer, read on luv's clock (uv.now).
function loops.luv(fn)
  collectgarbage()   -- earlier tests' garbage is not this run's
  uv.update_time()
  local m = meter()
  local tick = uv.new_timer()
  tick:start(1, 1, function() m.tick(uv.now() / 1000) end)
  local function pause(s)
    local co = coroutine.running()
    local t = uv.new_timer()
    t:start(math.ceil(s * 1000), 0, function() t:close() coroutine.resume(co) end)
    coroutine.yield()
  end
  local done, res, err = false, nil, nil
  polls.on, polls.n = true, 0
  coroutine.wrap(function()
    local ok, e = pcall(function() res = table.pack(fn(pause)) end)
    if not ok then err = e end
    done = true
  end)()
  local guard, timed_out = uv.new_timer(), false
  guard:start(60000, 0, function() timed_out = true end)
  guard:unref()
  while not done and not timed_out and uv.loop_alive() do uv.run("once") end
  polls.on = false
  tick:stop(); tick:close(); guard:close()
  uv.run("nowait")
  assert(done, "the loop did not finish")
  if err then error(err, 0) end
  return res, m
end

-- the same on a cqueues controller: a coroutine sleeping 1 ms at a time,
-- its gaps read on cqueues.monotime. One controller for every run (a
-- client stays with the controller it first ran on).
local CQ = cqueues.new()
function loops.cqueues(fn)
  collectgarbage()
  local cq = CQ
  local done, res, err = false, nil, nil
  local m = meter()
  cq:wrap(function()
    while not done do
      cqueues.sleep(0.001)
      m.tick(cqueues.monotime())
    end
  end)
  cq:wrap(function()
    local ok, e = pcall(function() res = table.pack(fn(cqueues.sleep)) end)
    if not ok then err = e end
    done = true
  end)
  polls.on, polls.n = true, 0
  local ok, e = cq:loop(60)
  polls.on = false
  assert(ok, tostring(e))
  assert(done, "the controller stopped before the work was done")
  if err then error(err, 0) end
  return res, m
end

-- runs fns (each a function()) at once as coroutines of the loop; returns
-- when all have ended, with their results in order
local spawn = {}
function spawn.luv(fns, pause)
  local out, left = {}, #fns
  for i, f in ipairs(fns) do
    coroutine.wrap(function()
      out[i] = table.pack(f())
      left = left - 1
    end)()
  end
  while left > 0 do pause(0.001) end
  return out
end
function spawn.cqueues(fns, pause)
  local out, left = {}, #fns
  local cq = cqueues.running()
  for i, f in ipairs(fns) do
    cq:wrap(function()
      out[i] = table.pack(f())
      left = left - 1
    end)
  end
  while left > 0 do pause(0.001) end
  return out
end

-- min_ticks: how often the timer must have fired at least (a run that
-- waited out Redis's silence lasts far longer than a millisecond)
local function check_loop(kind, m, min_ticks)
  assert.is_true(m.ticks >= (min_ticks or 1), kind .. ": the host's timer hardly ran (" .. m.ticks .. " ticks)")
  assert.is_true(m.worst <= MAX_GAP, ("%s: the host's 1 ms timer was held %.1f ms (%.1f ms with the "
    .. "time this process waited for a CPU)"):format(kind, m.worst * 1000, m.raw * 1000))
  assert.are.equal(0, polls.n, kind .. ": a Redis round trip waited in poll(2)")
end

for _, kind in ipairs({ "luv", "cqueues" }) do
  describe("a shared budget on a " .. kind .. " loop", function()
    local PW = "loop-redis-pw-" .. kind
    local sim, plain, locked
    setup(function()
      sim = testing.start { qps = 1000, any_meeting = true }
      plain = tredis.start()
      locked = tredis.start { password = PW }
    end)
    teardown(function()
      for _, r in ipairs({ plain, locked }) do
        if r then
          sys.kill(r.pid, "CONT")
          r:stop()
        end
      end
      if sim then sim:stop() end
    end)
    before_each(function() sim:reset() end)

    -- a client whose clock can be moved on (past the reconnect schedule)
    local function client(r, o)
      o = o or {}
      local skew = { s = 0 }
      local url = r.url:gsub("/0$", "/" .. (o.db or 0))
      local opts = { base_url = sim.base_url, loop = kind, concurrency = 8,
        now = function() return core.now() + skew.s end,
        budget = { rate = 1000, burst = 10, store = url, key = o.key or kind,
          password = o.password, timeout = TIMEOUT, reconnect = RECONNECT } }
      if o.s2s then
        opts.oauth_url = sim.url .. "/oauth/token"
        opts.account_id, opts.client_id, opts.client_secret = "sim-account", "sim-client-id", "sim-client-secret"
      else
        opts.token = sim.token
      end
      local c = zoomlive.new(opts)
      return c, skew, url
    end

    -- n calls at once (stop, get, and an update_many of two), each result
    -- checked; returns the info.budget each saw
    local function calls(c, pause)
      local fns = {
        function() return c:stop(SEED) end,
        function() return c:stop(SEED + 1) end,
        function() return c:get(SEED) end,
        function()
          local res, sum = c:update_many({ { SEED + 2, "stop" }, { SEED + 3, "stop" } })
          return sum.ok == 2 and 204 or nil, res[1].err or res[2].err, res[1].info, res[2].info
        end,
      }
      local seen = {}
      for i, r in ipairs(spawn[kind](fns, pause)) do
        assert.is_truthy(r[1], "call " .. i .. ": " .. tostring(r[2]))
        assert.is_nil(r[2])
        seen[#seen + 1] = r[3].budget
        if r[4] then seen[#seen + 1] = r[4].budget end
      end
      return seen
    end

    local function all_match(pat, list)
      for _, b in ipairs(list) do assert.matches(pat, b) end
    end

    local function scenario(r, o)
      local c, skew, url = client(r, o)
      local res, m = loops[kind](function(pause)
        local out = {}
        -- stopped before the first call: connect, AUTH, SELECT, the script
        -- and the token's look-up wait on the loop, then the local share
        assert(sys.kill(r.pid, "STOP"))
        out.stopped = calls(c, pause)
        out.desc = c:budget():describe()
        -- continued: used again once the reconnect time has come
        assert(sys.kill(r.pid, "CONT"))
        skew.s = skew.s + RECONNECT + 0.1
        out.back = calls(c, pause)
        -- stopped during a run: the open connections wait out `timeout`
        assert(sys.kill(r.pid, "STOP"))
        out.stopped2 = calls(c, pause)
        assert(sys.kill(r.pid, "CONT"))
        skew.s = skew.s + RECONNECT + 0.1
        out.back2 = calls(c, pause)
        return out
      end)
      check_loop(kind, m, 100)   -- four times `timeout` of silence at least
      local out = res[1]
      local down = "^local %(redis down: timed out after " .. TIMEOUT .. " s%)$"
      all_match(down, out.stopped)
      assert.matches(down, out.desc)
      all_match("^redis " .. url:gsub("%p", "%%%0") .. "$", out.back)
      all_match(down, out.stopped2)
      all_match("^redis ", out.back2)
      return c, skew, url
    end

    it("Redis stopped before the first call and during a run: the loop never stalls", function()
      local c = scenario(plain, { key = kind .. "-plain" })
      c:close()
    end)

    it("the same with AUTH (requirepass), SELECT 3 and a shared S2S token", function()
      local c = scenario(locked, { key = kind .. "-auth", password = PW, db = 3, s2s = true })
      assert.is_true(locked:command("EXISTS", "{" .. kind .. "-auth}:tat") == 0)   -- db 0 untouched
      c:close()
    end)

    it("Redis restarted: the store reconnects without blocking", function()
      local c, skew, url = client(plain, { key = kind .. "-restart" })
      local res, m = loops[kind](function(pause) return calls(c, pause) end)
      check_loop(kind, m)
      all_match("^redis ", res[1])
      plain:signal("KILL")                 -- between the loop's runs: a shell
      plain:restart()
      res, m = loops[kind](function(pause)
        local before = calls(c, pause)       -- the old connections break
        skew.s = skew.s + RECONNECT + 0.1
        return before, calls(c, pause)
      end)
      check_loop(kind, m)
      all_match("^local %(redis down: ", res[1])
      all_match("^redis " .. url:gsub("%p", "%%%0") .. "$", res[2])
      c:close()
    end)

    it("a call or batch cancelled while it waits for Redis ends at once; Redis is not counted down", function()
      local events = {}
      local c = client(plain, { key = kind .. "-cancel" })
      c:budget():set_debug(function(e) events[#events + 1] = e end)
      local res, m = loops[kind](function(pause)
        assert(sys.kill(plain.pid, "STOP"))
        local out = {}
        local h1 = c:submit("stop", SEED, function(...) out.call = table.pack(...) end)
        local h2 = c:submit("update_many", { { SEED, "stop" }, { SEED + 1, "stop" } },
          function(...) out.batch = table.pack(...) end)
        pause(0.02)                          -- both are waiting for Redis's reply now
        out.waiting = not out.call and not out.batch
        h1:cancel()
        h2:cancel()
        while not (out.call and out.batch) do pause(0.001) end
        assert(sys.kill(plain.pid, "CONT"))
        return out
      end)
      check_loop(kind, m)
      local out = res[1]
      assert.is_true(out.waiting)
      assert.are.equal("cancelled", out.call[2].kind)
      assert.is_false(out.call[2].outcome_unknown)
      local results, sum = out.batch[1], out.batch[2]
      assert.are.equal(2, sum.failed)
      for _, r in ipairs(results) do assert.are.equal("cancelled", r.err.kind) end
      assert.matches("^redis ", c:budget():describe())
      assert.are.same({}, events)
      assert.are.equal(0, #sim:requests())   -- nothing was sent
      c:close()
    end)

    it("round trips made outside a call wait on the loop too, or raise outside it", function()
      local c = client(plain, { key = kind .. "-direct" })
      local b = c:budget()
      local res, m = loops[kind](function()
        assert(sys.kill(plain.pid, "STOP"))
        local r, why = b.store:command("PING")
        assert(sys.kill(plain.pid, "CONT"))
        return r, why
      end)
      check_loop(kind, m, 50)
      assert.is_nil(res[1])
      assert.are.equal("timed out after " .. TIMEOUT .. " s", res[2])
      -- where the loop cannot wait (here: a callback from C, which cannot
      -- yield): an error, never a blocking wait
      -- (stopped: the reply cannot be there before the round trip waits)
      local c2 = client(plain, { key = kind .. "-direct2" })
      polls.on, polls.n = true, 0
      local ok, err
      assert(sys.kill(plain.pid, "STOP"))
      string.gsub("x", "x", function()
        ok, err = pcall(function() return c2:budget().store:command("PING") end)
      end)
      assert(sys.kill(plain.pid, "CONT"))
      polls.on = false
      assert.is_false(ok)
      assert.matches("coroutine", tostring(err))
      assert.are.equal(0, polls.n)
      c:close()
      c2:close()
    end)
  end)
end

describe("a shared budget's store host", function()
  it("is an IP address or localhost on a client with loop; a name is refused at zoomlive.new", function()
    for _, loop in ipairs({ "luv", "cqueues" }) do
      local ok, err = pcall(zoomlive.new, { token = "t", loop = loop,
        budget = { rate = 10, store = "redis://redis.internal:6379/0" } })
      assert.is_false(ok)
      assert.matches("zoomlive.new: budget store redis://redis.internal:6379/0 names its host", err, 1, true)
      assert.matches("IP address or localhost", err, 1, true)
      for _, store in ipairs({ "redis://localhost:1/0", "redis://10.0.0.5", "redis://[::1]:6379/2" }) do
        zoomlive.new({ token = "t", loop = loop, budget = { rate = 10, store = store } }):close()
      end
    end
    -- a blocking client may name its host (the look-up blocks only its caller)
    zoomlive.new({ token = "t", budget = { rate = 10, store = "redis://redis.internal:6379/0" } }):close()
  end)

  it("tells addresses from names", function()
    for _, h in ipairs({ "127.0.0.1", "10.0.0.5", "255.255.255.255", "::1", "fe80::1", "::ffff:10.0.0.1" }) do
      assert.is_true(rb.is_address(h), h)
    end
    for _, h in ipairs({ "localhost", "redis.internal", "10.0.0", "256.0.0.1", "010.0.0.1", "1.2.3.4.5", "" }) do
      assert.is_false(rb.is_address(h), h)
    end
    assert.is_false(rb.new_store{ url = "redis://localhost/0" }.lookup)
    assert.is_true(rb.new_store{ url = "redis://redis.internal/0" }.lookup)
    assert.is_false(rb.new_store{ url = "redis://[::1]/0" }.lookup)
  end)

  it("connects to an address without waiting: a refusal shows on the first write", function()
    local s = support.resp_server({ "+OK\r\n" })
    local port = s.port
    s.stop()
    local c = assert(hiredis.connect("127.0.0.1", port))
    assert(c:append("PING"))
    local done, err = c:flush()
    if done == false then   -- the connect was still under way
      assert.is_true(real_poll(c:fd(), "w", 2))
      done, err = c:flush()
    end
    assert.is_nil(done)
    assert.matches("refused", err)
    c:close()
    assert.are.same({ nil, "connect: not an IPv6 address" }, { hiredis.connect("1:2:zz", 6379) })
  end)
end)

describe("a reply of the wrong shape to the budget script", function()
  local BAD = {
    { "*2\r\n:1\r\n:2\r\n", "an array of 2 {1, 2}" },
    { "*3\r\n:2\r\n:0\r\n:0\r\n", "an array of 3 {2, 0, 0}" },
    { "*3\r\n:0\r\n:-5\r\n:0\r\n", "an array of 3 {0, -5, 0}" },
    { "*3\r\n:0\r\n:5\r\n:2\r\n", "an array of 3 {0, 5, 2}" },
    { "*3\r\n$1\r\n1\r\n:0\r\n:0\r\n", "an array of 3 {string, 0, 0}" },
    { "*3\r\n:1\r\n:0\r\n*0\r\n", "an array of 3 {1, 0, table}" },
    { "*4\r\n:1\r\n:0\r\n:0\r\n:0\r\n", "an array of 4 {1, 0, 0, 0}" },
    { ":1\r\n", "the integer 1" },
    { "$6\r\nsecret\r\n", "a string" },
    { "*-1\r\n", "a boolean" },
  }
  local GOOD = { "*3\r\n:1\r\n:0\r\n:0\r\n", "*3\r\n:0\r\n:5000\r\n:0\r\n" }

  it("is refused as a failure of Redis: the budget goes local and says why", function()
    local replies = { GOOD[1], GOOD[2] }
    for _, b in ipairs(BAD) do replies[#replies + 1] = b[1] end
    local s = support.resp_server(replies)
    local function budget(msgs)
      return rb.new { rate = 10, burst = 2, store = s.url, key = "shape",
        debug = function(e) msgs[#msgs + 1] = e end }
    end
    -- the fake answers the script's own shapes as Redis would
    local msgs = {}
    local ok1, ok2 = budget(msgs), budget(msgs)
    assert.are.equal(0, ok1:take())
    assert.are.equal(0.005, ok2:take())
    assert.matches("^redis ", ok1:describe())
    assert.are.same({}, msgs)
    ok1:close(); ok2:close()
    for _, b in ipairs(BAD) do
      msgs = {}
      local bud = budget(msgs)
      assert.are.equal(0, bud:take())       -- the local share's first slot, not the reply
      local why = "unexpected reply to the budget script: " .. b[2]
      assert.are.equal("local (redis down: " .. why .. ")", bud:describe())
      assert.are.equal(1, #msgs)
      assert.are.equal("local", msgs[1].state)
      assert.matches(why, msgs[1].message, 1, true)
      assert.is_nil(msgs[1].message:find("secret", 1, true))
      -- Redis is not asked again before `reconnect` s: the local share paces
      assert.is_true(bud:take() > 0)
      bud:close()
    end
    s.stop()
  end)

  it("a reply too large to be zoomlive's is refused before Lua sees it; an error's text is cut", function()
    local big_array = "*100000\r\n" .. string.rep(":1\r\n", 100000)
    local big_string = "$" .. (1024 * 1024) .. "\r\n" .. string.rep("x", 1024 * 1024) .. "\r\n"
    local long_error = "-ERR " .. string.rep("e", 100000) .. "\r\n"
    local s = support.resp_server({ big_array, big_string, long_error })
    local msgs = {}
    local function budget()
      return rb.new { rate = 10, burst = 2, store = s.url, key = "large",
        debug = function(e) msgs[#msgs + 1] = e end }
    end
    for _ = 1, 2 do                                  -- the array, then the string
      local bud = budget()
      assert.are.equal(0, bud:take())
      assert.matches("too large to be one of zoomlive's", bud:describe(), 1, true)
      bud:close()
    end
    local bud = budget()                             -- the error reply
    assert.are.equal(0, bud:take())
    assert.is_true(#bud:describe() < 400, #bud:describe())
    for _, m in ipairs(msgs) do assert.is_true(#m.message < 500, #m.message) end
    bud:close()
    s.stop()
  end)

  it("on a loop client too: the call goes on under the local share, info.budget says why", function()
    local sim = testing.start { qps = 1000 }
    local s = support.resp_server({ BAD[1][1] })
    local c = zoomlive.new { token = sim.token, base_url = sim.base_url, loop = "luv",
      budget = { rate = 10, store = s.url, key = "shape-loop" } }
    local res, m = loops.luv(function() return c:stop(SEED) end)
    check_loop("luv", m)
    assert.are.equal(204, res[1], tostring(res[2]))
    assert.are.equal("local (redis down: unexpected reply to the budget script: an array of 2 {1, 2})",
      res[3].budget)
    c:close()
    s.stop()
    sim:stop()
  end)
end)
