-- Specs for client:update_many (zoomlive.batch over zoomlive.core.multi),
-- against zoomlive-sim. Behaviour only: orders, counts, attempts, what the
-- simulator saw; never wall-clock durations.
-- Run: busted --lua=lua5.4 spec/batch_spec.lua
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"
local errors = require "zoomlive.errors"
local testing = require "zoomlive.testing"

local EXE = os.getenv("ZOOMLIVE_SIM") or testing.default_exe

local function start_sim(opts)
  opts = opts or {}
  opts.exe = opts.exe or EXE
  if opts.any_meeting == nil then opts.any_meeting = true end
  if opts.qps == nil then opts.qps = 0 end
  return testing.start(opts)
end

local function new_client(sim, extra)
  local o = { base_url = sim.base_url, token = sim.token, backoff = { base = 0.01, cap = 0.05 } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return zoomlive.new(o)
end

-- the /v2 entries of the simulator's log
local function api_log(sim)
  local out = {}
  for _, e in ipairs(sim:requests()) do
    if e.path:find("^/v2/") then out[#out + 1] = e end
  end
  return out
end

local function id_of(path) return path:match("^/v2/%a+/(%d+)/") end

-- ids unique per test, so the 30-second start rule never bites between tests
local next_id = 81000000000
local function ids(n)
  local t = {}
  for i = 1, n do t[i] = next_id + i end
  next_id = next_id + n + 1000
  return t
end

describe("client:update_many", function()
  local sim, c
  before_each(function()
    sim = start_sim()
    c = new_client(sim)
  end)
  after_each(function()
    if c then c:close() end
    if sim then sim:stop() end
  end)

  it("returns results in input order, matched by the simulator's log", function()
    local list = ids(24)
    -- slow down the first items so completions come back out of order
    for k = 1, 3 do
      sim:fault { path = "/v2/meetings/" .. list[k] .. "/livestream/status", latency_ms = 150 }
    end
    local items = {}
    for i, id in ipairs(list) do
      items[i] = (i % 2 == 0) and { id = id, action = "stop" } or { id, "stop" }
    end
    local results, summary = c:update_many(items, { concurrency = 4 })
    assert.are.equal(24, #results)
    assert.are.equal(24, summary.total)
    assert.are.equal(24, summary.ok)
    assert.are.equal(0, summary.failed)
    assert.are.equal(24, summary.attempts)
    local log = api_log(sim)
    assert.are.equal(24, #log)
    local by_tid = {}
    for _, e in ipairs(log) do by_tid[e.tracking_id] = e end
    for i, r in ipairs(results) do
      assert.are.equal(204, r.status)
      assert.is_nil(r.err)
      assert.are.equal(1, r.info.attempts)
      assert.is_number(r.info.elapsed)
      local e = by_tid[r.info.tracking_id]
      assert.is_truthy(e, "no log entry for result " .. i)
      assert.are.equal(tostring(list[i]), id_of(e.path))
      assert.are.equal("PATCH", e.method)
    end
    -- the slow first items finished after later ones: order is by input, not completion
    local pos = {}
    for k, e in ipairs(log) do pos[id_of(e.path)] = k end
    assert.is_true(pos[tostring(list[1])] > pos[tostring(list[5])])
  end)

  it("fails a bad item alone, with client:update's argument error", function()
    local list = ids(6)
    local items = {
      { list[1], "stop" },
      { "12ab", "stop" },                          -- bad id
      { list[3], "launch" },                       -- bad action
      { list[4], "stop", "not a table" },          -- bad settings type
      { list[5], "start", { layout = "mosaic" } }, -- bad settings value
      { list[6], "stop", { display_name = "ok" } },
      "not an item",
      { nil, "stop" },                             -- no id
      { list[6] + 1, 42 },                         -- action of the wrong type
    }
    local results, summary = c:update_many(items)
    assert.are.equal(#items, #results)
    assert.are.equal(204, results[1].status)
    assert.are.equal(204, results[6].status)
    for _, i in ipairs { 2, 3, 4, 5, 7, 8, 9 } do
      local r = results[i]
      assert.is_nil(r.status)
      assert.are.equal("argument", r.err.kind, "item " .. i)
      assert.is_true(errors.is(r.err))
      assert.are.same({ attempts = 0, elapsed = 0 }, { attempts = r.info.attempts, elapsed = r.info.elapsed })
    end
    -- the same error client:update gives for the same value
    local _, uerr = c:update("12ab", "stop")
    assert.are.equal(tostring(uerr), tostring(results[2].err))
    local _, uerr3 = c:update(list[5], "start", { layout = "mosaic" })
    assert.are.equal(tostring(uerr3), tostring(results[5].err))
    assert.are.equal("settings", results[4].err.field)
    assert.are.equal(2, summary.ok)
    assert.are.equal(7, summary.failed)
    assert.are.same({ argument = 7 }, summary.by_kind)
    assert.are.equal(2, #api_log(sim))   -- nothing was sent for the bad ones
  end)

  it("retries a 503 on one meeting within its item while the others go on", function()
    local list = ids(8)
    sim:fault { path = "/v2/meetings/" .. list[3] .. "/livestream/status", status = 503, count = 2 }
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local results, summary = c:update_many(items, { concurrency = 3 })
    for i, r in ipairs(results) do
      assert.are.equal(204, r.status, "item " .. i)
      assert.are.equal(i == 3 and 3 or 1, r.info.attempts, "item " .. i)
    end
    assert.are.equal(8, summary.ok)
    assert.are.equal(10, summary.attempts)
    local seen = 0
    for _, e in ipairs(api_log(sim)) do
      if id_of(e.path) == tostring(list[3]) then seen = seen + 1 end
    end
    assert.are.equal(3, seen)
  end)

  it("gives a failing item client:update's error table after its retries", function()
    local list = ids(3)
    sim:fault { path = "/v2/meetings/" .. list[2] .. "/livestream/status", status = 503 }
    local results, summary = c:update_many({ { list[1], "stop" }, { list[2], "stop" }, { list[3], "stop" } })
    local r = results[2]
    assert.are.equal(503, r.status)
    assert.are.equal("http", r.err.kind)
    assert.are.equal(3, r.err.attempts)
    assert.are.equal(3, r.info.attempts)
    assert.is_string(r.info.tracking_id)
    local _, uerr = c:update(list[2], "stop")
    assert.are.equal(tostring(uerr), tostring(r.err))
    assert.are.same({ http = 1 }, summary.by_kind)
    assert.are.equal(2, summary.ok)
  end)

  it("calls on_progress with done increasing to total", function()
    local list = ids(20)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    items[4] = { "bad", "stop" }
    local calls = {}
    local results = c:update_many(items, {
      concurrency = 3,
      on_progress = function(done, total) calls[#calls + 1] = { done, total } end,
    })
    assert.is_true(#calls >= 2)
    local prev = 0
    for _, p in ipairs(calls) do
      assert.are.equal(20, p[2])
      assert.is_true(p[1] > prev)
      prev = p[1]
    end
    assert.are.equal(20, calls[#calls][1])
    assert.are.equal(20, #results)
  end)

  it("calls on_result once per item, as each finishes, with its final result", function()
    local list = ids(12)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    items[5] = { "bad", "stop" }
    local seen, order, sent_at_first = {}, {}, nil
    local results = c:update_many(items, {
      concurrency = 3,
      on_result = function(i, r)
        assert.is_nil(seen[i])
        seen[i] = r
        order[#order + 1] = i
        -- the first real result comes before the batch has sent everything
        if i ~= 5 and not sent_at_first then sent_at_first = #api_log(sim) end
      end,
    })
    assert.are.equal(12, #order)
    for i = 1, 12 do assert.are.equal(results[i], seen[i]) end
    assert.are.equal(5, order[1])                      -- a bad item is final at once
    assert.are.equal("argument", seen[5].err.kind)
    assert.is_true(sent_at_first < 11, "on_result waited for the whole batch")
  end)

  it("aborts cleanly when on_result raises", function()
    local list = ids(30)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local n = 0
    local results, summary = c:update_many(items, {
      concurrency = 2,
      on_result = function() n = n + 1; if n == 3 then error("stop here") end end,
    })
    assert.are.equal(30, #results)
    assert.matches("on_result raised: .*stop here", summary.aborted)
    assert.is_true(summary.by_kind.aborted > 0)
    assert.are.equal(30, summary.ok + summary.by_kind.aborted)
  end)

  it("aborts cleanly when on_progress raises: what finished, plus errors for the rest", function()
    local list = ids(40)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local results, summary = c:update_many(items, {
      concurrency = 2,
      on_progress = function(done) if done >= 4 then error("enough") end end,
    })
    assert.are.equal(40, #results)
    assert.matches("enough", summary.aborted)
    local ok, aborted = 0, 0
    for _, r in ipairs(results) do
      if r.err then
        assert.are.equal("aborted", r.err.kind)
        assert.matches("enough", tostring(r.err))
        aborted = aborted + 1
      else
        assert.are.equal(204, r.status)
        ok = ok + 1
      end
    end
    assert.is_true(ok >= 4)
    assert.is_true(aborted > 0)
    assert.are.equal(ok, summary.ok)
    assert.are.equal(aborted, summary.by_kind.aborted)
    -- the client is still usable, and so is another batch
    assert.are.equal(204, (c:update(list[40], "stop")))
    local again = c:update_many({ { list[39], "stop" } })
    assert.are.equal(204, again[1].status)
  end)

  it("keeps at most `concurrency` requests in flight", function()
    local latency = 0.15
    sim:fault { path = "/v2/meetings/", latency_ms = latency * 1000 }
    local list = ids(16)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local results, summary = c:update_many(items, { concurrency = 4 })
    assert.are.equal(16, summary.ok)
    assert.are.equal(16, #results)
    -- each request holds its slot for at least `latency` of server time, so
    -- the arrivals within any window shorter than that were all in flight at
    -- once at its end: their number is a lower bound of the concurrency
    local t = {}
    for _, e in ipairs(api_log(sim)) do t[#t + 1] = e.time end
    table.sort(t)
    local most, j = 0, 1
    for i = 1, #t do
      while t[i] - t[j] >= latency * 0.9 do j = j + 1 end
      if i - j + 1 > most then most = i - j + 1 end
    end
    assert.is_true(most <= 4, "at most 4 at once, saw " .. most)
    assert.is_true(most >= 2, "requests overlap")
  end)

  it("paces attempts at `rate`: no 1-second window holds more than rate + 1", function()
    local list = ids(30)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local rate = 20
    local _, summary = c:update_many(items, { concurrency = 8, rate = rate })
    assert.are.equal(30, summary.ok)
    local t = {}
    for _, e in ipairs(api_log(sim)) do t[#t + 1] = e.time end
    table.sort(t)
    assert.are.equal(30, #t)
    local j = 1
    for i = 1, #t do
      while t[i] - t[j] > 1 do j = j + 1 end
      assert.is_true(i - j + 1 <= rate + 1, "window ending at request " .. i .. " holds " .. (i - j + 1))
    end
  end)

  it("starts an item only when the pace lets it send: its deadline does not run meanwhile", function()
    -- 4/s and a 0.1 s deadline: the second item waits 0.25 s for its slot
    -- before it begins, then is sent
    local list = ids(2)
    local dc <close> = new_client(sim, { deadline = 0.1, timeout = 0.1, retries = 0 })
    local results, summary = dc:update_many({ { list[1], "stop" }, { list[2], "stop" } },
      { concurrency = 2, rate = 4 })
    assert.are.equal(2, summary.ok, tostring(results[2].err))
    assert.are.equal(2, #api_log(sim))
  end)

  it("ends a retry whose deadline passes while it waits for the pace, when it passes: nothing sent", function()
    -- A meets a 503; its retry waits for the next pace slot (0.25 s away),
    -- past A's 0.15 s deadline: A ends then, before B's slot comes, with a
    -- timeout and its one attempt; B is sent in that slot
    local list = ids(2)
    sim:fault { path = "/v2/meetings/" .. list[1] .. "/livestream/status", status = 503, count = 1 }
    local dc <close> = new_client(sim, { deadline = 0.15, timeout = 0.15, retries = 2,
      backoff = { base = 0.001, cap = 0.001 } })
    local seen_when_a_ended
    local results, summary = dc:update_many({ { list[1], "stop" }, { list[2], "stop" } },
      { concurrency = 2, rate = 4, on_result = function(i)
        if i == 1 then seen_when_a_ended = #api_log(sim) end
      end })
    local e = results[1].err
    assert.are.equal("timeout", e.kind, tostring(e))
    assert.matches("nothing sent", e.message)
    assert.is_falsy(e.outcome_unknown)
    assert.are.equal(1, results[1].info.attempts)
    assert.are.equal(1, seen_when_a_ended)          -- B not sent yet: A ended at its deadline
    assert.are.equal(204, results[2].status)
    assert.are.equal(1, summary.ok)
    local seen = {}
    for _, x in ipairs(api_log(sim)) do seen[#seen + 1] = id_of(x.path) end
    assert.are.same({ tostring(list[1]), tostring(list[2]) }, seen)
  end)

  it("paces retries too", function()
    local list = ids(10)
    sim:fault { path = "/v2/meetings/", status = 503, count = 4 }
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local rate = 10
    local rc = new_client(sim, { retries = 5 })
    local _, summary = rc:update_many(items, { concurrency = 8, rate = rate })
    rc:close()
    assert.are.equal(10, summary.ok)
    assert.are.equal(14, summary.attempts)
    local t = {}
    for _, e in ipairs(api_log(sim)) do t[#t + 1] = e.time end
    table.sort(t)
    local j = 1
    for i = 1, #t do
      while t[i] - t[j] > 1 do j = j + 1 end
      assert.is_true(i - j + 1 <= rate + 1)
    end
  end)

  it("sends both encodings", function()
    local list = ids(2)
    local jc = new_client(sim, { encoding = "json" })
    local mc = new_client(sim, { encoding = "multipart" })
    local r1 = mc:update_many({ { list[1], "stop", { display_name = "Hall A" } } })
    local r2 = jc:update_many({ { list[2], "stop", { display_name = "Hall B" } } })
    jc:close()
    mc:close()
    assert.are.equal(204, r1[1].status)
    assert.are.equal(204, r2[1].status)
    local log = api_log(sim)
    assert.are.equal(2, #log)
    local byid = {}
    for _, e in ipairs(log) do byid[id_of(e.path)] = e end
    local f, j = byid[tostring(list[1])], byid[tostring(list[2])]
    assert.matches("^multipart/form%-data; boundary=", f.content_type)
    assert.are.same({ action = "stop", settings = { display_name = "Hall A" } }, f.payload)
    assert.matches("^application/json", j.content_type)
    assert.are.same({ action = "stop", settings = { display_name = "Hall B" } }, j.payload)
    assert.are.equal("Hall A", sim:meeting(list[1]).settings.display_name)
  end)

  it("updates webinars (opts.webinar or item.webinar)", function()
    local w = ids(3)
    for _, id in ipairs(w) do sim:set_webinar(id, {}) end
    local m = ids(1)
    local results = c:update_many({ { w[1], "stop" }, { w[2], "stop" } }, { webinar = true })
    assert.are.equal(204, results[1].status)
    assert.are.equal(204, results[2].status)
    local mixed = c:update_many({ { id = w[3], action = "stop", webinar = true }, { m[1], "stop" },
      { w[3], "mode", webinar = true } })
    assert.are.equal(204, mixed[1].status)
    assert.are.equal(204, mixed[2].status)
    assert.are.equal("argument", mixed[3].err.kind)   -- webinars have no "mode"
    local paths = {}
    for _, e in ipairs(api_log(sim)) do paths[e.path] = true end
    assert.is_true(paths["/v2/webinars/" .. w[1] .. "/livestream/status"])
    assert.is_true(paths["/v2/webinars/" .. w[3] .. "/livestream/status"])
    assert.is_true(paths["/v2/meetings/" .. m[1] .. "/livestream/status"])
  end)

  it("does not retry a start answered by the 30-second rule beyond max_retry_wait", function()
    local id = ids(1)[1]
    local results = c:update_many({ { id, "start" }, { id, "start" } }, { concurrency = 1 })
    assert.are.equal(204, results[1].status)
    local r = results[2]
    assert.are.equal(429, r.status)
    assert.are.equal(1, r.info.attempts)
    assert.are.equal(30, r.err.retry_after)
  end)

  it("renews the token once for the whole batch on 401 code 124", function()
    local renewals, current = 0, "expired-token"
    local tc = zoomlive.new { base_url = sim.base_url, backoff = { base = 0.01, cap = 0.05 },
      token = function(stale)
        if stale then
          renewals = renewals + 1
          current = sim.token
        end
        return current
      end }
    local list = ids(6)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local results, summary = tc:update_many(items, { concurrency = 3 })
    tc:close()
    assert.are.equal(6, summary.ok)
    for _, r in ipairs(results) do assert.are.equal(1, r.info.attempts) end
    assert.are.equal(1, renewals)
    local expired = 0
    for _, e in ipairs(api_log(sim)) do
      if e.status == 401 then expired = expired + 1 end
    end
    assert.is_true(expired >= 1 and expired <= 3)   -- at most the first wave
  end)

  it("is zoomlive.update_many with the default client", function()
    zoomlive.set_default(c)
    local list = ids(2)
    local results, summary = zoomlive.update_many({ { list[1], "stop" }, { list[2], "stop" } })
    zoomlive.set_default(nil)
    assert.are.equal(2, summary.ok)
    assert.are.equal(204, results[2].status)
  end)

  it("raises on wrong types of items and options", function()
    assert.has_error(function() c:update_many("nope") end)
    assert.has_error(function() c:update_many({}, "nope") end)
    assert.has_error(function() c:update_many({}, { concurrency = 0 }) end)
    assert.has_error(function() c:update_many({}, { concurrency = 257 }) end)
    assert.has_error(function() c:update_many({}, { concurrency = 1.5 }) end)
    assert.has_error(function() c:update_many({}, { rate = -1 }) end)
    assert.has_error(function() c:update_many({}, { on_progress = 1 }) end)
    assert.has_error(function() c:update_many({}, { deadline = 0 }) end)
    assert.has_error(function() c:update_many({}, { bogus = true }) end)
    local results, summary = c:update_many({})
    assert.are.same({}, results)
    assert.are.equal(0, summary.total)
    local closed = new_client(sim)
    closed:close()
    assert.has_error(function() closed:update_many({ { 1, "stop" } }) end)
  end)

  it("ends items still unfinished at the batch deadline with a timeout", function()
    local list = ids(4)
    sim:fault { path = "/v2/meetings/" .. list[2] .. "/livestream/status", hang = true }
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local results, summary = c:update_many(items, { concurrency = 4, deadline = 0.5 })
    assert.are.equal(3, summary.ok)
    assert.are.equal("timeout", results[2].err.kind)
    assert.is_nil(results[2].status)
  end)
end)

describe("client:update_many and Zoom's daily limit", function()
  it("does not retry a 429 of type Daily-limit", function()
    local sim = start_sim { daily = 3 }
    finally(function() sim:stop() end)
    local c = new_client(sim)
    finally(function() c:close() end)
    local list = ids(6)
    local items = {}
    for i, id in ipairs(list) do items[i] = { id, "stop" } end
    local results, summary = c:update_many(items, { concurrency = 1 })
    assert.are.equal(3, summary.ok)
    assert.are.equal(3, summary.failed)
    assert.are.equal(6, summary.attempts)
    for i = 4, 6 do
      local r = results[i]
      assert.are.equal(429, r.status)
      assert.are.equal(1, r.info.attempts)
      assert.are.equal("Daily-limit", r.err.rate_limit.type)
      assert.is_number(r.err.retry_after)
    end
    assert.are.equal(6, #api_log(sim))
  end)
end)

describe("zoomlive.core.multi", function()
  it("frees everything on close, __gc and __close, and refuses use after close", function()
    local m = core.multi { concurrency = 2 }
    assert.matches("zoomlive.multi", tostring(m))
    m:close()
    m:close()
    assert.matches("closed", tostring(m))
    assert.has_error(function() m:wait(0) end)
    do
      local m2 <close> = core.multi { concurrency = 3 }
      assert.are.equal(3, (m2:counts()))
    end
    assert.has_error(function() core.multi { concurrency = 0 } end)
    assert.has_error(function() core.multi { concurrency = 300 } end)
  end)

  it("reports a refused request through take, like any failed attempt", function()
    local m <close> = core.multi { concurrency = 1 }
    local slot = m:submit { method = "PATCH", url = "http://127.0.0.1:9/x", token = "bad\ntoken", timeout = 1 }
    assert.are.equal(1, slot)
    assert.are.equal(1, m:wait(0))
    local s, r = m:take()
    assert.are.equal(1, s)
    assert.is_nil(r.status)
    assert.are.equal("argument", r.kind)
    assert.is_nil(m:take())
  end)
end)
