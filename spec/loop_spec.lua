-- Specs for the event-loop scheduler (zoomlive.loop) with its luv and
-- cqueues adapters, against zoomlive-sim: calls that yield while the host's
-- loop keeps running (a 1 ms repeating timer counts its ticks), the usual
-- results, retries on loop timers, cancellation (in flight, during a retry
-- wait, before sending), the error outside a coroutine, one shared S2S
-- token fetch, update_many and submit on the loop's driver.
-- Behaviour only: no wall-clock duration is asserted, nothing sleeps.
-- Assertions run after the loop returns (an error inside a luv callback
-- would end the process).
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local uv = require "luv"
local cqueues = require "cqueues"

local EXE = os.getenv("ZOOMLIVE_SIM") or testing.default_exe
local SEED = 85746065432
local SECRET = "sim-client-secret"

-- runs the luv loop until `fn` (run as a coroutine) has returned; returns
-- its results. A guard ends a loop that would hang.
local function luv_run(fn)
  local done, res = false, nil
  coroutine.wrap(function()
    res = table.pack(fn())
    done = true
  end)()
  local timed_out = false
  local guard = uv.new_timer()
  guard:start(60000, 0, function() timed_out = true end)
  guard:unref()
  while not done and not timed_out and uv.loop_alive() do uv.run("once") end
  guard:close()
  uv.run("nowait")
  assert(done, timed_out and "the loop did not finish" or "the loop ran dry before the call returned")
  return table.unpack(res, 1, res.n)
end

-- a 1 ms repeating timer of the host
local function ticker()
  local t = { n = 0, h = uv.new_timer() }
  t.h:start(1, 1, function() t.n = t.n + 1 end)
  function t.stop()
    if not t.h:is_closing() then t.h:stop() t.h:close() end
  end
  return t
end

-- resumes the running coroutine after the luv loop ran once more (1 ms: a
-- 0 ms timer started by a timer runs in the same turn)
local function next_turn()
  local co = coroutine.running()
  local t = uv.new_timer()
  t:start(1, 0, function() t:close() coroutine.resume(co) end)
  coroutine.yield()
end

-- requests the simulator answered (a hung request of an earlier test is
-- logged, status 0, only once the simulator notices its client left)
local function count_paths(sim, pat)
  local n = 0
  for _, r in ipairs(sim:requests()) do
    if r.path:find(pat) and (r.status or 0) > 0 then n = n + 1 end
  end
  return n
end

describe("the event-loop scheduler", function()
  local sim
  setup(function() sim = testing.start { exe = EXE, any_meeting = true, qps = 0, daily = 0 } end)
  teardown(function() sim:stop() end)
  before_each(function()
    sim:reset()
    sim:clear_faults()
  end)

  local function client(extra)
    local o = { token = sim.token, base_url = sim.base_url, loop = "luv" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return zoomlive.new(o)
  end

  describe("with luv", function()
    it("yields while calls wait on a slow server: the host's 1 ms timer keeps firing", function()
      sim:fault { path = "/v2/meetings/", latency_ms = 300 }
      local c <close> = client { concurrency = 4 }
      local tick = ticker()
      local results, ticks_while_waiting = {}, nil
      luv_run(function()
        local pending = 6
        local me = coroutine.running()
        local at_submit = tick.n
        for i = 1, 6 do
          coroutine.wrap(function()
            results[i] = table.pack(c:stop(SEED + i))
            if i == 1 then ticks_while_waiting = tick.n - at_submit end
            pending = pending - 1
            if pending == 0 then coroutine.resume(me) end
          end)()
        end
        -- every call is waiting now: none returned before the loop ran
        assert(pending == 6)
        coroutine.yield()
      end)
      tick.stop()
      for i = 1, 6 do
        local s, err, info = table.unpack(results[i], 1, 3)
        assert.are.equal(204, s)
        assert.is_nil(err)
        assert.are.equal(1, info.attempts)
      end
      -- a blocked loop would have counted none while the first call waited
      assert.is_true(ticks_while_waiting >= 10, "ticks while waiting: " .. tostring(ticks_while_waiting))
      assert.are.equal(6, count_paths(sim, "^/v2/meetings/%d+/livestream/status$"))
    end)

    it("returns the usual results: a getter's value, an HTTP error", function()
      sim:fault { path = "/v2/meetings/404404404", status = 404 }
      local c <close> = client()
      local got, miss = luv_run(function()
        return table.pack(c:get(SEED)), table.pack(c:stop(404404404))
      end)
      assert.are.equal("table", type(got[1]))
      assert.is_string(got[1].stream_url)
      assert.is_nil(got[2])
      assert.are.equal(404, miss[1])
      assert.are.equal("http", miss[2].kind)
      assert.are.equal(1, miss[3].attempts)
      -- argument errors come back as from the blocking client
      local s, err = luv_run(function() return c:update("x1", "start") end)
      assert.is_nil(s)
      assert.are.equal("argument", err.kind)
    end)

    it("retries on the loop: the wait is a timer, the host keeps running", function()
      sim:fault { path = "/v2/meetings/" .. SEED, status = 503, count = 1 }
      local c <close> = client { backoff = { base = 0.05, cap = 0.05 } }
      local s, err, info = luv_run(function() return c:stop(SEED) end)
      assert.are.equal(204, s)
      assert.is_nil(err)
      assert.are.equal(2, info.attempts)
    end)

    it("raises a clear error when called outside a coroutine", function()
      local c <close> = client()
      for _, f in ipairs({
        function() return c:stop(SEED) end,
        function() return c:get(SEED) end,
        function() return c:update("bad id", "start") end,
        function() return c:check_credentials() end,
        function() return c:update_many({ { SEED, "stop" } }) end,
      }) do
        local ok, msg = pcall(f)
        assert.is_false(ok)
        assert.truthy(tostring(msg):find("must be called from a coroutine the loop runs", 1, true), msg)
        assert.truthy(tostring(msg):find("client:submit", 1, true), msg)
      end
      assert.are.equal(0, count_paths(sim, "^/v2/"))
    end)

    describe("cancel", function()
      it("in flight: nil, err 'cancelled', outcome unknown", function()
        sim:fault { path = "/v2/meetings/" .. SEED, hang = true, count = 1 }
        local c <close> = client()
        local out, first, second
        luv_run(function()
          local me = coroutine.running()
          local h = c:submit("stop", SEED, function(...)
            out = table.pack(...)
            if coroutine.status(me) == "suspended" then coroutine.resume(me) end
          end)
          -- until the request went out and only its answer is awaited
          for _ = 1, 100000 do
            local fd, w = next(c._loop.watched)
            if fd and w == "r" and next(c._loop.watched, fd) == nil then break end
            next_turn()
          end
          first, second = h:cancel(), h:cancel()
          if not out then coroutine.yield() end
        end)
        assert.is_true(first)
        assert.is_false(second)
        local s, err, info = table.unpack(out, 1, 3)
        assert.is_nil(s)
        assert.are.equal("cancelled", err.kind)
        assert.is_true(err.outcome_unknown)
        assert.is_true(info.outcome_unknown)
        assert.are.equal(1, info.attempts)
        assert.truthy(tostring(err):find("in flight", 1, true))
        -- the driver lets go of the socket and the client goes on
        assert.is_nil(next(c._loop.watched))
        assert.are.equal(204, (luv_run(function() return c:stop(SEED) end)))
      end)

      it("during a retry wait: nothing more is sent, the outcome is known", function()
        sim:config { qps = 0.1 }                 -- one request per 10 s: the others get a 429
        local handles, outs, cancels = {}, {}, 0
        -- a call that got a 429 waits (Retry-After, about 10 s): cancel it
        -- at the next turn of the loop
        local c <close> = client { max_retry_wait = 60, debug = function(ev)
          if ev.event == "response" and ev.status == 429 then
            local t = uv.new_timer()
            t:start(1, 0, function()
              t:close()
              for _, h in ipairs(handles) do
                if h.call and h.call.state == "sleep" and h:cancel() then cancels = cancels + 1 end
              end
            end)
          end
        end }
        luv_run(function()
          local me = coroutine.running()
          for i = 1, 3 do
            handles[i] = c:submit("stop", SEED + i, function(...)
              outs[i] = table.pack(...)
              if outs[1] and outs[2] and outs[3] and coroutine.status(me) == "suspended" then
                coroutine.resume(me)
              end
            end)
          end
          if not (outs[1] and outs[2] and outs[3]) then coroutine.yield() end
        end)
        assert.is_true(cancels >= 2, "calls cancelled while waiting: " .. cancels)
        local n = 0
        for i = 1, 3 do
          local s, err, info = table.unpack(outs[i], 1, 3)
          if s ~= 204 then
            n = n + 1
            assert.is_nil(s)
            assert.are.equal("cancelled", err.kind)
            assert.is_false(err.outcome_unknown)
            assert.truthy(err.message:find("while waiting", 1, true))
            assert.are.equal(1, info.attempts)
            assert.are.equal(1, count_paths(sim, "^/v2/meetings/" .. (SEED + i)))
          end
        end
        assert.are.equal(cancels, n)
      end)

      it("before sending: a call queued behind the concurrency cap never reaches the server", function()
        sim:fault { path = "/v2/meetings/" .. SEED, hang = true }
        local c <close> = client { concurrency = 1 }
        local outs = {}
        luv_run(function()
          local me = coroutine.running()
          local function done(i)
            return function(...)
              outs[i] = table.pack(...)
              if outs[1] and outs[2] and coroutine.status(me) == "suspended" then coroutine.resume(me) end
            end
          end
          local h1 = c:submit("stop", SEED, done(1))
          local h2 = c:submit("stop", SEED + 7, done(2))
          next_turn()
          assert(h2:cancel())
          assert(h1:cancel())
          if not (outs[1] and outs[2]) then coroutine.yield() end
        end)
        local s, err, info = table.unpack(outs[2], 1, 3)
        assert.is_nil(s)
        assert.are.equal("cancelled", err.kind)
        assert.is_false(err.outcome_unknown)
        assert.is_nil(info.outcome_unknown)
        assert.truthy(err.message:find("before it was sent", 1, true))
        assert.are.equal("cancelled", outs[1][2].kind)
        assert.are.equal(0, count_paths(sim, "^/v2/meetings/" .. (SEED + 7)))
      end)

      it("of a direct call, through the coroutine it waits in", function()
        sim:fault { path = "/v2/meetings/" .. SEED, hang = true, count = 1 }
        local c <close> = client()
        local out, idle, cancelled
        luv_run(function()
          local me = coroutine.running()
          local co = coroutine.create(function()
            out = table.pack(c:stop(SEED))
            if coroutine.status(me) == "suspended" then coroutine.resume(me) end
          end)
          coroutine.resume(co)
          idle = c:cancel(coroutine.create(function() end))
          for _ = 1, 100000 do
            local fd, w = next(c._loop.watched)
            if fd and w == "r" then break end
            next_turn()
          end
          cancelled = c:cancel(co)
          if not out then coroutine.yield() end
        end)
        assert.is_false(idle)
        assert.is_true(cancelled)
        assert.is_nil(out[1])
        assert.are.equal("cancelled", out[2].kind)
        assert.is_true(out[2].outcome_unknown)
        assert.has_error(function() c:cancel("x") end)
        local b <close> = zoomlive.new { token = "x" }
        assert.has_error(function() b:cancel(coroutine.running()) end,
          "client:cancel needs a client made with zoomlive.new{ loop = ... }")
      end)

      it("by closing the client: the waiting calls end as cancelled", function()
        sim:fault { path = "/v2/meetings/" .. SEED, latency_ms = 5000 }
        local c = client()
        local out
        luv_run(function()
          local me = coroutine.running()
          c:submit("get", SEED, function(...)
            out = table.pack(...)
            if coroutine.status(me) == "suspended" then coroutine.resume(me) end
          end)
          next_turn()
          c:close()
          if not out then coroutine.yield() end
        end)
        assert.is_nil(out[1])
        assert.are.equal("cancelled", out[2].kind)
        assert.truthy(out[2].message:find("closed", 1, true))
        assert.has_error(function() c:submit("get", SEED, function() end) end,
          "attempt to use a closed zoomlive.client")
      end)
    end)

    it("shares one S2S token fetch among concurrent calls", function()
      sim:fault { path = "/oauth/token", latency_ms = 200 }
      local c <close> = zoomlive.new { loop = "luv", account_id = "sim-account",
        client_id = "sim-client-id", client_secret = SECRET, oauth_url = sim.url .. "/oauth/token",
        base_url = sim.base_url }
      local results = {}
      luv_run(function()
        local me, pending = coroutine.running(), 5
        for i = 1, 5 do
          coroutine.wrap(function()
            results[i] = table.pack(c:stop(SEED + i))
            pending = pending - 1
            if pending == 0 and coroutine.status(me) == "suspended" then coroutine.resume(me) end
          end)()
        end
        if pending > 0 then coroutine.yield() end
      end)
      for i = 1, 5 do assert.are.equal(204, results[i][1], tostring(results[i][2])) end
      assert.are.equal(1, count_paths(sim, "^/oauth/token$"))
      assert.are.equal(5, count_paths(sim, "^/v2/meetings/%d+/livestream/status$"))
    end)

    it("cancelling the call that fetches the token leaves the others to fetch it", function()
      sim:fault { path = "/oauth/token", hang = true, count = 1 }   -- the first fetch hangs
      local c <close> = zoomlive.new { loop = "luv", account_id = "sim-account",
        client_id = "sim-client-id", client_secret = SECRET, oauth_url = sim.url .. "/oauth/token",
        base_url = sim.base_url }
      local outs = {}
      luv_run(function()
        local me = coroutine.running()
        local function done(i)
          return function(...)
            outs[i] = table.pack(...)
            if outs[1] and outs[2] and outs[3] and coroutine.status(me) == "suspended" then
              coroutine.resume(me)
            end
          end
        end
        local h1 = c:submit("stop", SEED + 1, done(1))   -- fetches the token
        c:submit("stop", SEED + 2, done(2))              -- wait for that fetch
        c:submit("get", SEED, done(3))
        for _ = 1, 100000 do
          local fd, w = next(c._loop.watched)
          if fd and w == "r" then break end
          next_turn()
        end
        h1:cancel()
        if not (outs[1] and outs[2] and outs[3]) then coroutine.yield() end
      end)
      -- the cancelled call was the one fetching the token
      assert.are.equal("cancelled", outs[1][2].kind)
      assert.truthy(outs[1][2].message:find("token endpoint", 1, true), outs[1][2].message)
      assert.are.equal(204, outs[2][1], tostring(outs[2][2]))
      assert.are.equal("table", type(outs[3][1]), tostring(outs[3][2]))
      -- one more fetch served both (the hung one is logged once the
      -- simulator notices its client left, which may be later)
      local answered = 0
      for _, r in ipairs(sim:requests()) do
        if r.path == "/oauth/token" and r.status == 200 and not r.fault then answered = answered + 1 end
      end
      assert.are.equal(1, answered)
      -- the cancelled call never sent its own request
      assert.are.equal(0, count_paths(sim, "^/v2/meetings/" .. (SEED + 1)))
    end)

    it("checks credentials on the loop", function()
      local c <close> = zoomlive.new { loop = "luv", account_id = "sim-account",
        client_id = "sim-client-id", client_secret = SECRET, oauth_url = sim.url .. "/oauth/token",
        base_url = sim.base_url }
      local bad <close> = zoomlive.new { loop = "luv", account_id = "sim-account",
        client_id = "sim-client-id", client_secret = "wrong-secret", oauth_url = sim.url .. "/oauth/token",
        base_url = sim.base_url }
      local ok, e1, nok, e2 = luv_run(function()
        local a, b = c:check_credentials()
        local x, y = bad:check_credentials()
        return a, b, x, y
      end)
      assert.is_true(ok, tostring(e1))
      assert.is_nil(nok)
      assert.are.equal("auth", e2.kind)
    end)

    it("runs update_many on the client's driver while the loop keeps running", function()
      sim:fault { path = "/v2/meetings/", latency_ms = 50 }
      local c <close> = client { concurrency = 8 }
      local items = {}
      for i = 1, 12 do items[i] = { SEED + i, i % 2 == 0 and "stop" or "start" } end
      items[13] = { "not-an-id", "stop" }
      local tick = ticker()
      local results, summary = luv_run(function() return c:update_many(items, { concurrency = 4 }) end)
      tick.stop()
      assert.are.equal(13, summary.total)
      assert.are.equal(12, summary.ok)
      for i = 1, 12 do assert.are.equal(204, results[i].status) end
      assert.are.equal("argument", results[13].err.kind)
      assert.are.equal(12, count_paths(sim, "^/v2/meetings/%d+/livestream/status$"))
      assert.is_true(tick.n >= 10, "ticks: " .. tick.n)
    end)

    -- submits update_many, cancels its handle once a request is in flight
    -- (its socket watched for the answer); returns on_done's values
    local function cancel_in_flight(c, items, opts)
      local out
      luv_run(function()
        local me = coroutine.running()
        local h = c:submit("update_many", items, opts, function(...)
          out = table.pack(...)
          if coroutine.status(me) == "suspended" then coroutine.resume(me) end
        end)
        for _ = 1, 100000 do
          local fd, w = next(c._loop.watched)
          if fd and w == "r" then break end
          next_turn()
        end
        h:cancel()
        if not out then coroutine.yield() end
      end)
      return out
    end

    it("submits update_many, and cancels it in flight", function()
      sim:fault { path = "/v2/meetings/", hang = true }
      local c <close> = client()
      local out = cancel_in_flight(c, { { SEED, "stop" }, { SEED + 1, "stop" } }, { concurrency = 1 })
      local results, summary = out[1], out[2]
      assert.are.equal(2, summary.total)
      assert.are.equal(0, summary.ok)
      assert.are.equal(2, summary.by_kind.cancelled)
      assert.is_true(results[1].err.outcome_unknown)
      assert.is_false(results[2].err.outcome_unknown)
    end)

    it("cancelling update_many marks only the items that may have left as outcome unknown", function()
      -- the loop runs one request at a time; the batch asks for 4: the rest
      -- wait, never sent, and say false. (Under a slow sanitizer the first
      -- item may fail and wait to retry, letting the second one start: at
      -- most two may then have left.)
      sim:fault { path = "/v2/meetings/", hang = true }
      local c <close> = client { concurrency = 1 }
      local items = {}
      for i = 1, 6 do items[i] = { SEED + 20 + i, "stop" } end
      local out = cancel_in_flight(c, items, { concurrency = 4 })
      local results, summary = out[1], out[2]
      assert.are.equal(6, summary.by_kind.cancelled)
      local unknown = 0
      for i = 1, 6 do
        local e = results[i].err
        assert.is_boolean(e.outcome_unknown, "item " .. i)
        if e.outcome_unknown then unknown = unknown + 1 end
        if i > 2 then assert.is_false(e.outcome_unknown, "item " .. i) end
      end
      assert.is_true(results[1].err.outcome_unknown)
      assert.is_true(unknown <= 2, unknown)
    end)

    it("closing the client ends a running update_many's items as cancelled", function()
      sim:fault { path = "/v2/meetings/", hang = true }
      local c = client()
      local out
      luv_run(function()
        local me = coroutine.running()
        c:submit("update_many", { { SEED, "stop" }, { SEED + 1, "stop" }, { SEED + 2, "stop" } },
          { concurrency = 2 }, function(...)
            out = table.pack(...)
            if coroutine.status(me) == "suspended" then coroutine.resume(me) end
          end)
        next_turn()
        c:close()
        if not out then coroutine.yield() end
      end)
      local results, summary = out[1], out[2]
      assert.are.equal(3, summary.by_kind.cancelled)
      for i = 1, 3 do assert.are.equal("cancelled", results[i].err.kind) end
      local ok, msg = pcall(luv_run, function() return c:stop(SEED) end)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("closed zoomlive.client", 1, true), msg)
    end)

    it("keeps at most `concurrency` requests in flight", function()
      sim:fault { path = "/v2/meetings/", latency_ms = 50 }
      local luv_adapter = require("zoomlive.loop.luv").new()
      local watched, most = {}, 0
      local counting = {
        watch = function(fd, ev, cb)
          watched[fd] = true
          local n = 0
          for _ in pairs(watched) do n = n + 1 end
          if n > most then most = n end
          return luv_adapter.watch(fd, ev, cb)
        end,
        unwatch = function(fd)
          watched[fd] = nil
          return luv_adapter.unwatch(fd)
        end,
        timer = luv_adapter.timer, cancel = luv_adapter.cancel,
      }
      local c <close> = client { loop = counting, concurrency = 2 }
      local results = {}
      luv_run(function()
        local me, pending = coroutine.running(), 6
        for i = 1, 6 do
          coroutine.wrap(function()
            results[i] = c:stop(SEED + i)
            pending = pending - 1
            if pending == 0 and coroutine.status(me) == "suspended" then coroutine.resume(me) end
          end)()
        end
        if pending > 0 then coroutine.yield() end
      end)
      for i = 1, 6 do assert.are.equal(204, results[i]) end
      assert.is_true(most >= 1 and most <= 2, "sockets watched at once: " .. most)
    end)

    it("retries and paces update_many items on loop timers", function()
      sim:fault { path = "/v2/meetings/" .. (SEED + 2), status = 503, count = 1 }
      local c <close> = client { backoff = { base = 0.02, cap = 0.02 } }
      local items = {}
      for i = 1, 5 do items[i] = { SEED + i, "stop" } end
      local results, summary = luv_run(function()
        return c:update_many(items, { concurrency = 2, rate = 200 })
      end)
      assert.are.equal(5, summary.ok)
      assert.are.equal(2, results[2].info.attempts)
      assert.are.equal(6, summary.attempts)
      assert.are.equal(6, count_paths(sim, "^/v2/meetings/%d+/livestream/status$"))
    end)

    it("ends a submitted call with wrong argument types as kind 'argument'", function()
      local c <close> = client()
      local out
      luv_run(function()
        c:submit("stop", {}, function(...) out = table.pack(...) end)
      end)
      assert.is_nil(out[1])
      assert.are.equal("argument", out[2].kind)
      assert.are.equal(0, out[3].attempts)
      assert.are.equal(0, count_paths(sim, "^/v2/"))
    end)

    it("calls with a default deadline past a year (a client with long waits allowed)", function()
      local c <close> = client { timeout = 200 * 86400 }
      local st, err = luv_run(function() return c:update(SEED, "stop") end)
      assert.are.equal(204, st, tostring(err))
    end)

    it("names on_done when submit is given none", function()
      local c <close> = client()
      for _, args in ipairs({ { "stop" }, { "stop", SEED } }) do
        local ok, err = pcall(c.submit, c, table.unpack(args))
        assert.is_false(ok)
        assert.matches("function on_done expected", err)
      end
    end)

    it("runs on_done only after submit has returned, even for a call that ends at once", function()
      local c <close> = client()
      local calls, h_at_done = {}, {}
      luv_run(function()
        local h1, h2
        h1 = c:submit("stop", {}, function(_, err)              -- bad argument type
          calls[#calls + 1] = err.kind
          h_at_done[1] = h1
        end)
        h2 = c:submit("update", 0, "start", nil, function(_, err)   -- bad value
          calls[#calls + 1] = err.kind
          h_at_done[2] = h2
        end)
        assert.are.equal(0, #calls)       -- neither ran inside submit
        assert.is_false(h1:cancel())     -- already over: nothing to cancel
        next_turn()
      end)
      assert.are.same({ "argument", "argument" }, calls)
      assert.is_table(h_at_done[1])
      assert.is_table(h_at_done[2])
      assert.are.equal(0, count_paths(sim, "^/v2/"))
    end)

    it("counts the time queued behind concurrency in the deadline: nothing sent past it", function()
      -- one slot. B's first attempt meets a 503 after 100 ms; A, submitted
      -- 20 ms after B began, queues, then takes the slot and hangs; B's retry
      -- queues behind A. B's deadline (from B's start) passes 20 ms before
      -- A's (from A's start): B ends with kind "timeout" while still queued,
      -- its retry never sent
      local B, A = SEED + 2, SEED + 1
      sim:fault { path = "/v2/meetings/" .. B .. "/livestream/status", status = 503, count = 1,
        latency_ms = 100 }
      sim:fault { path = "/v2/meetings/" .. A .. "/livestream/status", hang = true }
      local c <close> = client { concurrency = 1, deadline = 0.5, timeout = 0.5, retries = 3,
        backoff = { base = 0.001, cap = 0.001 } }
      local order, out = {}, {}
      luv_run(function()
        c:submit("stop", B, function(...) out.B = table.pack(...) order[#order + 1] = "B" end)
        local co, t = coroutine.running(), uv.new_timer()
        t:start(20, 0, function() t:close() coroutine.resume(co) end)
        coroutine.yield()
        c:submit("stop", A, function(...) out.A = table.pack(...) order[#order + 1] = "A" end)
        while #order < 2 do next_turn() end
      end)
      assert.are.same({ "B", "A" }, order)
      assert.is_nil(out.B[1])
      assert.are.equal("timeout", out.B[2].kind, tostring(out.B[2]))
      assert.matches("nothing sent", out.B[2].message)
      assert.is_falsy(out.B[2].outcome_unknown)
      assert.are.equal(1, out.B[3].attempts)   -- the 503; the queued retry never began
      assert.are.equal("timeout", out.A[2].kind)
      local sent_b = 0
      for _, r in ipairs(sim:requests()) do
        if r.path:find("/meetings/" .. B, 1, true) then sent_b = sent_b + 1 end
      end
      assert.are.equal(1, sent_b)            -- the 503; the retry never left
    end)

    it("raises a waiting coroutine's own later error from a loop callback, not into other calls", function()
      local luv_adapter = require("zoomlive.loop.luv").new()
      local caught = {}
      local function guarded(fn)
        return function(...)
          local ok, e = pcall(fn, ...)
          if not ok then caught[#caught + 1] = tostring(e) end
        end
      end
      local host = {
        watch = function(fd, ev, cb) return luv_adapter.watch(fd, ev, guarded(cb)) end,
        unwatch = luv_adapter.unwatch,
        timer = function(s, fn) return luv_adapter.timer(s, guarded(fn)) end,
        cancel = luv_adapter.cancel,
      }
      local c <close> = client { loop = host }
      local others = {}
      luv_run(function()
        local me, pending = coroutine.running(), 4
        local function finish()
          pending = pending - 1
          if pending == 0 and coroutine.status(me) == "suspended" then coroutine.resume(me) end
        end
        coroutine.wrap(function()
          c:stop(SEED)
          finish()
          error("the host's own mistake")
        end)()
        for i = 1, 3 do
          coroutine.wrap(function()
            others[i] = table.pack(c:stop(SEED + i))
            finish()
          end)()
        end
        if pending > 0 then coroutine.yield() end
        next_turn()
      end)
      for i = 1, 3 do assert.are.equal(204, others[i][1], tostring(others[i][2])) end
      assert.are.equal(1, #caught)
      assert.truthy(caught[1]:find("the host's own mistake", 1, true), caught[1])
    end)

    it("takes an adapter table of the documented shape", function()
      local luv_adapter = require("zoomlive.loop.luv").new()
      local mine = { name = "mine", calls = 0 }
      for _, k in ipairs({ "watch", "unwatch", "timer", "cancel" }) do
        mine[k] = function(...)
          mine.calls = mine.calls + 1
          return luv_adapter[k](...)
        end
      end
      local c <close> = client { loop = mine }
      local s = luv_run(function() return c:stop(SEED) end)
      assert.are.equal(204, s)
      assert.is_true(mine.calls > 0)
      local ok, msg = pcall(c.stop, c, SEED)
      assert.is_false(ok)
      assert.truthy(msg:find('loop = "mine"', 1, true))
    end)
  end)

  describe("with cqueues", function()
    local function cq_run(fn)
      local cq = cqueues.new()
      local res
      cq:wrap(function() res = table.pack(fn(cq)) end)
      assert(cq:loop(60))
      assert(res, "the controller stopped before the call returned")
      return table.unpack(res, 1, res.n)
    end

    it("sends submitted calls in the order they were submitted", function()
      -- one at a time, so that the server sees them in the order they start
      -- (requests in flight together may arrive in any order)
      for _, conc in ipairs({ 1 }) do
        sim:reset()
        local cq = cqueues.new()
        local c <close> = client { loop = require("zoomlive.loop.cqueues").new(cq), concurrency = conc }
        local done = 0
        local ids = {}
        for i = 1, 6 do ids[i] = SEED + 100 + i end
        for i = 1, 6 do
          c:submit(i % 2 == 1 and "stop" or "get", ids[i], function() done = done + 1 end)
        end
        assert(cq:loop(60))
        assert.are.equal(6, done)
        local seen = {}
        for _, r in ipairs(sim:requests()) do seen[#seen + 1] = tonumber(r.path:match("/meetings/(%d+)/")) end
        assert.are.same(ids, seen, "concurrency " .. conc)
      end
    end)

    it("yields while calls wait: a 1 ms sleeper keeps running", function()
      sim:fault { path = "/v2/meetings/", latency_ms = 300 }
      local c <close> = client { loop = "cqueues" }
      local ticks, results = 0, {}
      cq_run(function(cq)
        local done = 0
        for i = 1, 4 do
          cq:wrap(function()
            results[i] = table.pack(c:stop(SEED + i))
            done = done + 1
          end)
        end
        local first
        while done < 4 do
          cqueues.sleep(0.001)
          ticks = ticks + 1
          if done == 0 then first = ticks end
        end
        return first
      end)
      for i = 1, 4 do
        assert.are.equal(204, results[i][1])
        assert.are.equal(1, results[i][3].attempts)
      end
      assert.is_true(ticks >= 10, "ticks: " .. ticks)
    end)

    it("runs update_many, getters and submit", function()
      local c <close> = client { loop = "cqueues" }
      local results, summary, got, sub = cq_run(function()
        local r, s = c:update_many({ { SEED, "stop" }, { SEED + 1, "start" } }, { concurrency = 2 })
        local v = c:get(SEED)
        local out
        local cond = require("cqueues.condition").new()
        c:submit("stop", SEED + 2, function(...)
          out = table.pack(...)
          cond:signal()
        end)
        while not out do cond:wait() end
        return r, s, v, out
      end)
      assert.are.equal(2, summary.ok)
      assert.are.equal(204, results[2].status)
      assert.is_string(got.stream_url)
      assert.are.equal(204, sub[1])
    end)

    it("cancels a submitted call before it starts: nothing is sent", function()
      local c <close> = client { loop = "cqueues" }
      local out
      cq_run(function()
        local h = c:submit("stop", SEED + 9, function(...) out = table.pack(...) end)
        assert(h:cancel())
      end)
      assert.is_nil(out[1])
      assert.are.equal("cancelled", out[2].kind)
      assert.is_false(out[2].outcome_unknown)
      assert.are.equal(0, count_paths(sim, "^/v2/meetings/" .. (SEED + 9)))
    end)

    it("cancels a call in flight from another coroutine", function()
      sim:fault { path = "/v2/meetings/" .. SEED, hang = true }
      local c <close> = client { loop = "cqueues" }
      local out, cancelled
      cq_run(function(cq)
        local h = c:submit("stop", SEED, function(...) out = table.pack(...) end)
        cq:wrap(function()
          for _ = 1, 100000 do
            local fd, w = next(c._loop.watched)
            if fd and w == "r" then break end
            cqueues.sleep(0.001)
          end
          cancelled = h:cancel()
        end)
      end)
      assert.is_true(cancelled)
      assert.is_nil(out[1])
      assert.are.equal("cancelled", out[2].kind)
      assert.is_true(out[2].outcome_unknown)
      assert.is_nil(next(c._loop.watched))
    end)

    it("leaves nothing behind: the controller is empty once the work is done", function()
      -- timers zoomlive cancelled before their coroutine first ran used to
      -- sleep their whole length (10 s and more) in the controller
      local c <close> = client { loop = "cqueues" }
      local cq = cqueues.new()
      local r
      cq:wrap(function()
        r = select(2, c:update_many({ { SEED, "stop" }, { SEED + 1, "stop" } }))
      end)
      for _ = 1, 10000 do
        assert(cq:step(0.01))
        if r then break end
      end
      assert.are.equal(2, r.ok)
      -- a few steps for the coroutines ending now, none for a sleeping timer
      for _ = 1, 20 do
        if cq:count() == 0 then break end
        assert(cq:step(0))
      end
      assert.are.equal(0, cq:count())
    end)

    it("raises a clear error from a nested plain coroutine and from another controller", function()
      local c <close> = client { loop = "cqueues" }
      local nested_ok, nested_msg
      cq_run(function()
        assert.are.equal(204, (c:stop(SEED)))   -- binds the client to this controller
        nested_ok, nested_msg = coroutine.wrap(function() return pcall(c.stop, c, SEED) end)()
      end)
      assert.is_false(nested_ok)
      assert.truthy(nested_msg:find("must be called from a coroutine the loop runs", 1, true), nested_msg)
      local other = cqueues.new()
      local ok, msg
      other:wrap(function() ok, msg = pcall(c.stop, c, SEED) end)
      assert(other:loop(5))
      assert.is_false(ok)
      assert.truthy(msg:find("another cqueues controller", 1, true), msg)
    end)

    it("reports a call submitted then closed before it began as cancelled, nothing sent", function()
      local c = client { loop = "cqueues" }
      local out
      cq_run(function()
        c:submit("stop", SEED + 7, function(...) out = table.pack(...) end)
        c:close()
      end)
      assert.is_nil(out[1])
      assert.are.equal("cancelled", out[2].kind)
      assert.is_false(out[2].outcome_unknown)
      assert.are.equal(0, count_paths(sim, "^/v2/meetings/" .. (SEED + 7)))
    end)

    it("raises a clear error outside a controller's coroutine", function()
      local c <close> = client { loop = "cqueues" }
      local ok, msg = pcall(c.stop, c, SEED)
      assert.is_false(ok)
      assert.truthy(msg:find("must be called from a coroutine the loop runs", 1, true), msg)
      assert.truthy(msg:find("cqueues", 1, true), msg)
    end)
  end)

  describe("options", function()
    it("refuses a bad loop, concurrency without loop, and submit on a blocking client", function()
      local function refuses(o, pat)
        o.token = "x"
        local ok, msg = pcall(zoomlive.new, o)
        assert.is_false(ok)
        assert.truthy(tostring(msg):find(pat, 1, true), msg)
      end
      refuses({ loop = "tk" }, "option 'loop' must be \"luv\", \"cqueues\" or an adapter table")
      refuses({ loop = {} }, "option 'loop' adapter has no function 'watch'")
      refuses({ loop = { watch = print, unwatch = print, timer = print, cancel = print, waiter = print } },
        "all of waiter, suspend, resume and spawn, or none")
      refuses({ concurrency = 4 }, "option 'concurrency' needs option 'loop'")
      refuses({ loop = "luv", concurrency = 0 }, "option 'concurrency' must be an integer")
      local b <close> = zoomlive.new { token = "x" }
      assert.has_error(function() b:submit("stop", 1, function() end) end,
        "client:submit needs a client made with zoomlive.new{ loop = ... }")
      local c <close> = zoomlive.new { token = "x", loop = "luv" }
      assert.has_error(function() c:submit("nope", function() end) end)
      assert.has_error(function() c:submit("stop", 1) end)
    end)
  end)
end)

describe("examples/loop_luv.lua", function()
  it("gets streams while the host's timer ticks, and cancels a submitted call", function()
    local sim = testing.start { exe = EXE, qps = 0, daily = 0 }
    sim:fault { path = "/v2/meetings/", latency_ms = 100 }
    local shq = require("support").shq
    local cmd = string.format("env LUA_PATH=%s LUA_CPATH=%s ZOOM_API_BASE=%s ZOOM_ACCESS_TOKEN=%s %s %s %s %s 2>&1; echo \"exit=$?\"",
      shq(package.path), shq(package.cpath), shq(sim.base_url), shq(sim.token),
      os.getenv("ZOOMLIVE_LUA") or "lua5.4", "examples/loop_luv.lua", "68423085", "99999999999")
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    local requests = sim:requests()
    sim:stop()
    assert.truthy(out:find("exit=0", 1, true), out)
    assert.truthy(out:find("68423085: rtmp://", 1, true), out)
    assert.truthy(out:find("99999999999: zoomlive: HTTP 404", 1, true), out)
    assert.truthy(out:find("submitted stop: cancelled\n", 1, true), out)
    local ticks = tonumber(out:match("host timer ticks while the calls ran: (%d+)"))
    assert.is_true(ticks ~= nil and ticks >= 5, out)
    for _, r in ipairs(requests) do assert.are.equal("GET", r.method) end
  end)
end)
