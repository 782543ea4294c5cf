-- zoomlive-sim's simulated behaviours (docs/simulator.md) that the other
-- specs do not already reach through zoomlive, driven through the zoomlive
-- client: state transitions, settings, mode, the start cooldown, fixtures,
-- --any-meeting, per-meeting and latency faults, the request log's masking,
-- tracking ids, garbage on the wire and many keep-alive connections.
local zoomlive = require "zoomlive"
local client_mod = require "zoomlive.client"
local testing = require "zoomlive.testing"
local cjson = require "cjson"
local strings = require("support").strings

local SEED = 68423085            -- configured, started, stopped
local BIG = 93398114182          -- configured, started, stopped
local LIVE = 85746065432         -- live
local NOT_STARTED = 10000000002
local W_READY = 81234567890      -- ready, stopped
local W_LIVE = 82000000003       -- ready, live

local TOKEN = "sim-behaviour-token-5f3a9c"


local function b64(s)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

describe("zoomlive-sim through zoomlive", function()
  local sim, client

  setup(function()
    sim = testing.start { qps = 100000, daily = 0, token = TOKEN }
  end)
  teardown(function()
    if client then client:close() end
    sim:stop()
  end)
  before_each(function()
    sim:reset()
    if client then client:close() end
    client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
  end)

  describe("stream state", function()
    it("a webinar goes live on start and stopped on stop", function()
      assert.are.equal("stopped", sim:webinar(W_READY).status)
      assert.are.equal(204, (client:webinar_start(W_READY)))
      local w = sim:webinar(W_READY)
      assert.are.equal("live", w.status)
      assert.is_number(w.last_start)
      assert.are.equal(204, (client:webinar_stop(W_READY)))
      assert.are.equal("stopped", sim:webinar(W_READY).status)
      assert.are.equal("live", sim:webinar(W_LIVE).status)
      assert.are.equal(204, (client:webinar_stop(W_LIVE)))
      assert.are.equal("stopped", sim:webinar(W_LIVE).status)
    end)

    it("stop on a stopped stream is 204 and changes nothing", function()
      local before = sim:meeting(SEED)
      assert.are.equal("stopped", before.status)
      assert.are.equal(204, (client:stop(SEED)))
      assert.are.equal(204, (client:stop(SEED)))
      assert.are.same(before, sim:meeting(SEED))
      assert.are.equal(204, (client:webinar_stop(W_READY)))
      assert.are.equal("stopped", sim:webinar(W_READY).status)
    end)

    it("start stores its settings first, visible in sim:meeting() and kept after stop", function()
      local settings = { active_speaker_name = true, display_name = "Caf\195\169 live",
        layout = "speaker_view", close_caption = "embedded" }
      assert.are.equal(204, (client:start(BIG, settings)))
      local m = sim:meeting(BIG)
      assert.are.equal("live", m.status)
      assert.are.same(settings, m.settings)
      assert.are.equal(204, (client:stop(BIG)))
      assert.are.same(settings, sim:meeting(BIG).settings)
    end)

    it("start with only some settings leaves the others as they were", function()
      assert.are.equal(204, (client:start(SEED, { display_name = "Only this" })))
      assert.are.same({ active_speaker_name = false, display_name = "Only this",
        layout = "follow_host", close_caption = "burnt-in" }, sim:meeting(SEED).settings)
    end)

    it("stop with settings on a live stream is refused with 400/4400 and the stream stays live", function()
      local status, err = client:update(LIVE, "stop", { display_name = "bye" })
      assert.are.equal(400, status)
      assert.are.equal(4400, err.code)
      local m = sim:meeting(LIVE)
      assert.are.equal("live", m.status)
      assert.are.equal("", m.settings.display_name)
    end)

    it("webinar start with settings on a live webinar is refused with 400/4400", function()
      local status, err = client:webinar_start(W_LIVE, { display_name = "late" })
      assert.are.equal(400, status)
      assert.are.equal(4400, err.code)
    end)
  end)

  describe("mode", function()
    it("changes the layout and captions of a live stream, nothing else", function()
      local before = sim:meeting(LIVE)
      assert.are.equal(204, (client:mode(LIVE, { layout = "gallery_view" })))
      local m = sim:meeting(LIVE)
      assert.are.equal("live", m.status)
      assert.are.equal("gallery_view", m.settings.layout)
      assert.are.equal(before.settings.close_caption, m.settings.close_caption)
      assert.are.equal(before.settings.display_name, m.settings.display_name)
      assert.are.equal(before.last_start, m.last_start)
      assert.are.equal(204, (client:mode(LIVE, { close_caption = "embedded" })))
      m = sim:meeting(LIVE)
      assert.are.equal("gallery_view", m.settings.layout)
      assert.are.equal("embedded", m.settings.close_caption)
    end)

    it("is refused on a stopped stream with 400/4400, settings unchanged", function()
      local before = sim:meeting(BIG).settings
      local status, err = client:mode(BIG, { layout = "gallery_view" })
      assert.are.equal(400, status)
      assert.are.equal("http", err.kind)
      assert.are.equal(4400, err.code)
      assert.are.same(before, sim:meeting(BIG).settings)
      assert.are.equal("stopped", sim:meeting(BIG).status)
    end)

    it("is not subject to the start cooldown", function()
      assert.are.equal(204, (client:start(BIG)))
      for _, layout in ipairs({ "gallery_view", "speaker_view", "follow_host" }) do
        assert.are.equal(204, (client:mode(BIG, { layout = layout })))
      end
      assert.are.equal("follow_host", sim:meeting(BIG).settings.layout)
    end)
  end)

  describe("the start cooldown", function()
    it("a start on a live stream after the cooldown, without settings, is 204", function()
      assert.are.equal(204, (client:start(BIG)))
      local first = sim:meeting(BIG).last_start
      local status, err = client:start(BIG)
      assert.are.equal(429, status)
      assert.are.equal(429, err.status)
      sim:advance(31)
      status, err = client:start(BIG)
      assert.are.equal(204, status)
      assert.is_nil(err)
      local m = sim:meeting(BIG)
      assert.are.equal("live", m.status)
      assert.truthy(m.last_start >= first + 31)
    end)

    it("a start 1 s before the cooldown ends is still 429, at the end 204", function()
      assert.are.equal(204, (client:start(BIG)))
      sim:advance(29)
      assert.are.equal(429, (client:start(BIG)))
      sim:advance(1.5)
      assert.are.equal(204, (client:start(BIG)))
    end)

    it("the cooldown 429 carries QPS rate-limit headers with limit 1, remaining 0", function()
      assert.are.equal(204, (client:start(BIG)))
      local status, err, info = client:start(BIG)
      assert.are.equal(429, status)
      assert.are.same({ type = "QPS", limit = 1, remaining = 0, category = err.rate_limit.category },
        err.rate_limit)
      assert.are.same(err.rate_limit, info.rate_limit)
      assert.are.equal(30, err.retry_after)
    end)

    it("a webinar's cooldown 429 names the webinar", function()
      assert.are.equal(204, (client:webinar_start(W_READY)))
      assert.are.equal(204, (client:webinar_stop(W_READY)))
      local status, err = client:webinar_start(W_READY)
      assert.are.equal(429, status)
      assert.truthy(err.message:find("webinar: 81234567890", 1, true))
      assert.is_nil(err.message:find("meeting", 1, true))
    end)

    it("is per stream: another meeting starts at once", function()
      assert.are.equal(204, (client:start(BIG)))
      assert.are.equal(204, (client:start(SEED)))
    end)

    it("only accepted starts start it", function()
      -- refused with 4400: no cooldown begins
      assert.are.equal(400, (client:start(LIVE, { display_name = "x" })))
      assert.are.equal(204, (client:stop(LIVE)))
      assert.are.equal(204, (client:start(LIVE)))
      -- refused with 3000 (not started): no cooldown either
      assert.are.equal(400, (client:start(NOT_STARTED)))
      sim:set_meeting(NOT_STARTED, { started = true })
      assert.are.equal(204, (client:start(NOT_STARTED)))
    end)

    it("start_cooldown = 0 disables it", function()
      sim:config { start_cooldown = 0 }
      assert.are.equal(204, (client:start(BIG)))
      assert.are.equal(204, (client:stop(BIG)))
      assert.are.equal(204, (client:start(BIG)))
    end)
  end)

  describe("fixtures and --any-meeting", function()
    it("loads a fixtures file: its meeting, a generated range, and the built-ins", function()
      local path = os.tmpname()
      local second
      finally(function()
        if second then second:stop() end
        os.remove(path)
      end)
      local f = assert(io.open(path, "wb"))
      f:write(cjson.encode {
        meetings = { { id = 555000222, started = true,
          stream = { configured = true, stream_url = "rtmp://fixture.example/app", stream_key = "fx-key",
            page_url = "https://fixture.example/p", resolution = "720p" },
          settings = { display_name = "From file", layout = "gallery_view" } } },
        webinars = { ["777000222"] = { status = "live" } },
        generate = { meetings = { first = 42000000000, count = 100 } },
      })
      f:close()
      second = testing.start { fixtures = path, qps = 100000, daily = 0 }
      local c <close> = zoomlive.new { token = second.token, base_url = second.base_url, retries = 0 }

      local got, err = c:get(555000222)
      assert.is_nil(err)
      assert.are.same({ stream_url = "rtmp://fixture.example/app", stream_key = "fx-key",
        page_url = "https://fixture.example/p", resolution = "720p" }, got)
      assert.are.equal("gallery_view", second:meeting(555000222).settings.layout)
      assert.are.equal(204, (c:start(555000222)))
      assert.are.equal("From file", second:meeting(555000222).settings.display_name)

      assert.are.equal(204, (c:webinar_stop(777000222)))
      assert.are.equal("stopped", second:webinar(777000222).status)

      -- the generated range: first and last exist, ready; one past does not
      assert.are.equal(204, (c:start(42000000000)))
      assert.are.equal("live", second:meeting(42000000000).status)
      got = c:get(42000000099)
      assert.are.equal("key-42000000099", got.stream_key)
      local status, gerr = c:start(42000000100)
      assert.are.equal(404, status)
      assert.are.equal(3001, gerr.code)

      -- built-ins are still there
      assert.are.equal(204, (c:stop(LIVE)))
      -- the first simulator knows none of it
      local s1, e1 = client:get(555000222)
      assert.is_nil(s1)
      assert.are.equal(3001, e1.code)
    end)

    it("reset restores the fixtures file's state", function()
      local path = os.tmpname()
      local second
      finally(function()
        if second then second:stop() end
        os.remove(path)
      end)
      local f = assert(io.open(path, "wb"))
      f:write('{"defaults": false, "meetings": [{"id": 555000333}]}')
      f:close()
      second = testing.start { fixtures = path, qps = 100000, daily = 0 }
      local c <close> = zoomlive.new { token = second.token, base_url = second.base_url, retries = 0 }
      assert.are.equal(204, (c:start(555000333)))
      assert.are.equal("live", second:meeting(555000333).status)
      second:reset()
      assert.are.equal("stopped", second:meeting(555000333).status)
      -- "defaults": false drops the built-ins
      local status, err = c:stop(SEED)
      assert.are.equal(404, status)
      assert.are.equal(3001, err.code)
    end)

    it("--any-meeting makes every well-formed meeting id ready", function()
      local any = testing.start { any_meeting = true, qps = 100000, daily = 0 }
      finally(function() any:stop() end)
      local c <close> = zoomlive.new { token = any.token, base_url = any.base_url, retries = 0 }
      for _, id in ipairs({ 1, 123456789, 98765432101, math.maxinteger }) do
        assert.are.equal(204, (c:start(id)), tostring(id))
        assert.are.equal(204, (c:stop(id)), tostring(id))
        local got, err = c:get(id)
        assert.is_nil(err)
        assert.are.equal(string.format("key-%d", id), got.stream_key)
      end
      assert.are.equal(true, any:config().any_meeting)
      -- built-in fixtures keep their own state
      assert.are.equal(400, (c:start(NOT_STARTED)))
    end)
  end)

  describe("faults", function()
    it("a per-meeting fault affects only that meeting", function()
      sim:fault { meeting = SEED, status = 503, count = 1 }
      assert.are.equal(204, (client:stop(BIG)))
      assert.are.equal(204, (client:webinar_stop(W_READY)))
      local status, err = client:stop(SEED)
      assert.are.equal(503, status)
      assert.are.equal("http", err.kind)
      assert.are.equal(204, (client:stop(SEED)))
      local log = sim:requests()
      assert.are.same({ 204, 204, 503, 204 }, { log[1].status, log[2].status, log[3].status, log[4].status })
      assert.is_nil(log[1].fault)
      assert.is_not_nil(log[3].fault)
    end)

    it("a per-webinar fault affects only that webinar, and all its paths", function()
      sim:fault { webinar = W_READY, status = 502, count = 2 }
      assert.are.equal(204, (client:stop(SEED)))
      assert.are.equal(204, (client:webinar_stop(W_LIVE)))
      assert.are.equal(502, (client:webinar_stop(W_READY)))
      local got, err = client:webinar_get(W_READY)
      assert.is_nil(got)
      assert.are.equal(502, err.status)
      assert.is_table((client:webinar_get(W_READY)))
    end)

    it("a fault limited to a method leaves other methods alone", function()
      sim:fault { meeting = SEED, method = "GET", status = 503 }
      assert.are.equal(204, (client:stop(SEED)))
      assert.are.equal(204, (client:configure(SEED, { stream_url = "rtmp://x/app", stream_key = "k",
        page_url = "https://x/p" })))
      local got, err = client:get(SEED)
      assert.is_nil(got)
      assert.are.equal(503, err.status)
    end)

    it("a fault with apply changes the state though the answer is lost", function()
      sim:fault { meeting = BIG, status = 503, apply = true, count = 1 }
      local status = client:start(BIG)
      assert.are.equal(503, status)
      assert.are.equal("live", sim:meeting(BIG).status)
    end)

    it("latency does not change results", function()
      sim:fault { latency_ms = 30 }
      local status, err, info = client:start(BIG, { display_name = "slow" })
      assert.are.equal(204, status)
      assert.is_nil(err)
      assert.are.equal(1, info.attempts)
      assert.are.equal("slow", sim:meeting(BIG).settings.display_name)
      local got = client:get(SEED)
      assert.are.equal("key-68423085", got.stream_key)
      local s2, e2 = client:start(10000000001)
      assert.are.equal(400, s2)
      assert.are.equal(3000, e2.code)
      local log = sim:requests()
      assert.are.equal(3, #log)
      assert.are.same({ 204, 200, 400 }, { log[1].status, log[2].status, log[3].status })
    end)

    it("latency combines with an effect: the effect decides the result", function()
      sim:fault { latency_ms = 20, status = 503, count = 1, meeting = SEED }
      assert.are.equal(503, (client:stop(SEED)))
      assert.are.equal(204, (client:stop(SEED)))
    end)
  end)

  describe("the request log", function()
    it("masks bearer tokens in every entry", function()
      client:start(BIG, { display_name = "x" })
      client:stop(BIG)
      client:get(SEED)
      client:configure(SEED, { stream_url = "rtmp://x/app", stream_key = "k", page_url = "https://x/p" })
      client:webinar_start(W_READY)
      client:start(99999999999)
      local bad <close> = zoomlive.new { token = "wrong-token-77aa", base_url = sim.base_url, retries = 0 }
      assert.are.equal(401, (bad:stop(SEED)))
      local log = sim:requests()
      assert.are.equal(7, #log)
      for _, r in ipairs(log) do
        assert.are.equal("Bearer ***", r.headers.authorization)
        for _, s in ipairs(strings(r)) do
          assert.is_nil(s:find(TOKEN, 1, true), "token in the log: " .. s)
          assert.is_nil(s:find("wrong-token-77aa", 1, true), "token in the log: " .. s)
        end
      end
    end)

    it("masks Basic credentials and never logs the issued access token", function()
      local c <close> = client_mod.new({ account_id = "sim-account", client_id = "sim-client-id",
        client_secret = "sim-client-secret", oauth_url = sim.url .. "/oauth/token",
        base_url = sim.base_url, retries = 0 }, function() return nil end)
      assert.are.equal(204, (c:stop(SEED)))
      local log = sim:requests()
      assert.are.equal(2, #log)
      assert.are.equal("/oauth/token", log[1].path)
      assert.are.equal("Basic ***", log[1].headers.authorization)
      assert.are.equal("Bearer ***", log[2].headers.authorization)
      local basic = b64("sim-client-id:sim-client-secret")
      for _, r in ipairs(log) do
        for _, s in ipairs(strings(r)) do
          assert.is_nil(s:find("sim-client-secret", 1, true))
          assert.is_nil(s:find(basic, 1, true))
          assert.is_nil(s:match("%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x"),
            "something like a 64-hex token in the log: " .. s)
        end
      end
    end)
  end)

  it("gives each response its own x-zm-trackingid, the one the log shows", function()
    local seen, ids = {}, {}
    local calls = {
      function() return client:start(BIG) end,
      function() return client:start(BIG) end,            -- 429
      function() return client:stop(BIG) end,
      function() return client:get(SEED) end,
      function() return client:get(99999999999) end,       -- 404
      function() return client:webinar_stop(W_READY) end,
      function() return client:stop(SEED) end,
      function() return client:stop(SEED) end,
    }
    for i, call in ipairs(calls) do
      local _, _, info = call()
      local tid = info.tracking_id
      assert.is_string(tid)
      assert.truthy(tid:match("^v=2%.0;clid=sim;rid=SIM_%x+$"), tid)
      assert.is_nil(seen[tid], "tracking id repeated: " .. tid)
      seen[tid] = true
      ids[i] = tid
    end
    local log = sim:requests()
    assert.are.equal(#calls, #log)
    for i, r in ipairs(log) do assert.are.equal(ids[i], r.tracking_id) end
  end)

  it("survives a burst of 200 malformed raw requests; zoomlive still gets 204", function()
    local socket = require "socket"
    local garbage = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "PATCH /v2/meetings/68423085/livestream/status HTTP/9.9\r\n\r\n",
      "\0\1\2\3\255\254\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /v2/meetings/1/livestream/status HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort",
      "GET /" .. string.rep("a", 9000) .. " HTTP/1.1\r\n",
      "",
    }
    for i = 1, 200 do
      local s = assert(socket.tcp())
      s:settimeout(5)
      assert(s:connect("127.0.0.1", sim.port))
      local g = garbage[(i - 1) % #garbage + 1]
      if g ~= "" then s:send(g) end
      s:close()
    end
    local status, err = client:stop(SEED)
    assert.are.equal(204, status)
    assert.is_nil(err)
    assert.are.equal(204, (client:start(BIG)))
    assert.are.equal("ok", sim:health().status)
  end)

  it("serves 64 concurrent keep-alive connections: 64 clients, two calls each, all 204", function()
    local clients = {}
    finally(function()
      for _, c in ipairs(clients) do c:close() end
    end)
    for i = 1, 64 do
      clients[i] = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
    end
    -- each client's connection stays open after its first call
    for i, c in ipairs(clients) do
      local status, err = c:stop(i % 2 == 0 and SEED or BIG)
      assert.are.equal(204, status, tostring(err))
    end
    for i, c in ipairs(clients) do
      local status, err = c:stop(i % 2 == 0 and SEED or BIG)
      assert.are.equal(204, status, tostring(err))
    end
    local log = sim:requests()
    assert.are.equal(128, #log)
    for _, r in ipairs(log) do assert.are.equal(204, r.status) end
  end)
end)
