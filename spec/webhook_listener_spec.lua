-- The whole loop: zoomlive-sim posts signed live-stream events (its own
-- OpenSSL HMAC and libcurl) to zoomlive.webhook.listener; a script starts a
-- stream and waits for the verified event. Forged, stale and missing events.
local zoomlive = require "zoomlive"
local webhook = require "zoomlive.webhook"
local listener_mod = require "zoomlive.webhook.listener"
local testing = require "zoomlive.testing"
local support = require "support"

local SECRET = "sim-webhook-secret"
local MEETING, WEBINAR = 68423085, 81234567890
local BIG = "9007199254740993"      -- 2^53 + 1: a double cannot hold it

-- a clock that moves `step` seconds every time it is read: wait() deadlines
-- pass without sleeping
local function fake_clock(step)
  local t = 0
  return function() t = t + step; return t end
end

local function deliveries(sim, event)
  local out = {}
  for _, d in ipairs(sim:webhooks().deliveries) do
    if event == nil or d.event == event then out[#out + 1] = d end
  end
  return out
end

-- the deliveries once none is queued or being sent (the simulator records
-- the answer after the receiver has handed over the event)
local function settled(sim)
  for _ = 1, 5000 do
    local d = deliveries(sim)
    local busy = false
    for _, x in ipairs(d) do if x.state == "queued" or x.state == "sending" then busy = true end end
    if not busy then return d end
  end
  error("the simulator's deliveries did not settle")
end

-- serves the listener until the sim reports the delivery `seq` finished
local function serve_until_done(sim, l, seq)
  for _ = 1, 400 do
    l:step(0.05)
    for _, d in ipairs(sim:webhooks().deliveries) do
      if d.seq == seq and d.state ~= "queued" and d.state ~= "sending" then return d end
    end
  end
  error("the simulator never finished delivery " .. seq)
end

describe("webhook listener with zoomlive-sim", function()
  local l, sim, client
  setup(function()
    l = assert(webhook.listener { secret = SECRET })
    sim = testing.start { qps = 1000, start_cooldown = 0, webhook_url = l:url(), webhook_secret = SECRET }
    client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
  end)
  teardown(function()
    if client then client:close() end
    if sim then sim:stop() end
    if l then l:close() end
  end)
  before_each(function()
    sim:reset()
    l:drain()
  end)

  it("configure, start, the verified started event, stop, the verified stopped event", function()
    assert.are.equal(204, zoomlive.assert(client:configure(MEETING, { stream_url = "rtmp://cdn.example.com/live",
      stream_key = "sk-e2e-SECRET", page_url = "https://example.com/hall", resolution = "1080p" })))
    assert.are.equal(204, zoomlive.assert(client:start(MEETING, { display_name = "Hall A" })))
    local ev, err = l:wait("meeting.live_streaming_started", MEETING, 30)
    assert.is_nil(err)
    assert.are.equal("meeting.live_streaming_started", ev.name)
    assert.are.equal(tostring(MEETING), ev.id)
    assert.are.equal("Hall A", ev.topic)
    assert.are.equal("rtmp://cdn.example.com/live", ev.stream.stream_url)
    assert.are.equal("1080p", ev.stream.resolution)
    assert.are.equal("sk-e2e-SECRET", ev:stream_key())
    assert.are.equal("number", type(ev.stream.at))
    assert.are.equal(math.floor(ev.time), ev.stream.at)
    for _, s in ipairs(support.strings(ev)) do assert.is_nil(s:find("SECRET", 1, true)) end

    assert.are.equal(204, zoomlive.assert(client:stop(MEETING)))
    ev, err = l:wait("meeting.live_streaming_stopped", MEETING, 30)
    assert.is_nil(err)
    assert.are.equal(tostring(MEETING), ev.id)
    local d = settled(sim)
    assert.are.equal(2, #d)
    assert.are.same({ "sent", 204, "sent", 204 }, { d[1].state, d[1].status, d[2].state, d[2].status })
  end)

  it("a webinar's events, and an id beyond 2^53 with every digit", function()
    sim:set_meeting(BIG, {})
    assert.are.equal(204, zoomlive.assert(client:webinar_start(WEBINAR)))
    local ev = assert(l:wait("webinar.live_streaming_started", WEBINAR, 30))
    assert.are.same({ "webinar", tostring(WEBINAR) }, { ev.kind, ev.id })
    assert.are.equal(204, zoomlive.assert(client:start(BIG)))
    ev = assert(l:wait("meeting.live_streaming_started", BIG, 30))
    assert.are.equal(BIG, ev.id)
  end)

  it("an event that arrived before wait() is kept; another id's event does not satisfy it", function()
    sim:set_meeting(85746065432, { status = "stopped" })
    assert.are.equal(204, zoomlive.assert(client:start(85746065432)))
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    local ev = assert(l:wait("meeting.live_streaming_started", MEETING, 30))
    assert.are.equal(tostring(MEETING), ev.id)
    ev = assert(l:wait("meeting.live_streaming_started", 85746065432, 30))
    assert.are.equal("85746065432", ev.id)
  end)

  it("the event follows the configured delay on the simulator's clock", function()
    sim:config { webhook_delay = 60 }
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    local d = deliveries(sim, "meeting.live_streaming_started")
    assert.are.same({ 1, "queued" }, { #d, d[1].state })
    assert.are.equal(0, l:step(0))
    sim:advance(60)   -- the event is due now; its timestamp is 60 s ahead, within 300 s
    local ev = assert(l:wait("meeting.live_streaming_started", MEETING, 30))
    assert.are.equal(tostring(MEETING), ev.id)
  end)

  it("a failed delivery is sent again later: the same event, signed anew", function()
    -- nothing listens on port 1: the first POST is refused
    sim:config { webhook_url = "http://127.0.0.1:1/", webhook_retries = 2, webhook_retry_delay = 100 }
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    local d
    for _ = 1, 5000 do
      d = deliveries(sim)[1]
      if d.attempts == 1 and d.state == "queued" then break end
    end
    assert.are.same({ 1, "queued" }, { d.attempts, d.state })
    assert.is_string(d.error)
    sim:config { webhook_url = l:url() }
    sim:advance(100)   -- within the receiver's 300 s tolerance
    local ev = assert(l:wait("meeting.live_streaming_started", MEETING, 30))
    -- the event keeps its own time (100 s before the retry was due), so a
    -- receiver can tell a retry from a new event
    assert.is_true(math.abs(ev.event_ts - (d.due - 100) * 1000) < 1000)
    d = settled(sim)[1]
    assert.are.same({ 2, "sent", 204 }, { d.attempts, d.state, d.status })
  end)

  it("a stream that fails to go live: no started event, and wait() times out clearly", function()
    sim:set_meeting(MEETING, { fails_to_go_live = true, status = "stopped" })
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    -- the simulator decided, before answering 204, that no event follows
    local d = deliveries(sim, "meeting.live_streaming_started")
    assert.are.same({ 1, "suppressed" }, { #d, d[1].state })
    local slow = assert(webhook.listener { secret = SECRET, clock = fake_clock(7), poll = 0 })
    finally(function() slow:close() end)
    local ev, err = slow:wait("meeting.live_streaming_started", MEETING, 30)
    assert.is_nil(ev)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("meeting.live_streaming_started", err.event)
    assert.are.equal(tostring(MEETING), err.id)
    assert.are.equal("zoomlive: timeout: no verified meeting.live_streaming_started for 68423085 arrived within 30 s",
      tostring(err))
  end)

  it("refuses events signed with another secret and events with a stale or future timestamp", function()
    local fake = fake_clock(7)
    local lines = {}
    local strict = assert(webhook.listener { secret = SECRET, clock = fake, poll = 0.05,
      log = function(line) lines[#lines + 1] = line end })
    finally(function() strict:close() end)
    sim:config { webhook_url = strict:url(), webhook_secret = "a-forger-s-secret" }
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    local d = serve_until_done(sim, strict, deliveries(sim)[1].seq)
    assert.are.same({ "failed", 401 }, { d.state, d.status })
    local ev, err = strict:wait("meeting.live_streaming_started", MEETING, 30)
    assert.is_nil(ev)
    assert.are.equal("timeout", err.kind)
    assert.matches("POST / %-> 401 %(zoomlive: webhook: x%-zm%-signature does not match", lines[1])

    -- the right secret, but the simulator's clock 1000 s ahead of ours
    sim:config { webhook_secret = SECRET }
    sim:advance(1000)
    assert.are.equal(204, zoomlive.assert(client:stop(MEETING)))
    d = serve_until_done(sim, strict, deliveries(sim, "meeting.live_streaming_stopped")[1].seq)
    assert.are.same({ "failed", 401 }, { d.state, d.status })
    assert.are.equal(0, #strict:drain())
    -- and 1000 s behind
    sim:advance(-2000)
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    d = serve_until_done(sim, strict, deliveries(sim, "meeting.live_streaming_started")[2].seq)
    assert.are.same({ "failed", 401 }, { d.state, d.status })
    assert.are.equal(0, #strict:drain())
    assert.are.equal(3, #lines)
    assert.matches("401 %(zoomlive: webhook: the request timestamp is %d+ s ahead", lines[2])
    assert.matches("401 %(zoomlive: webhook: the request timestamp is %d+ s old", lines[3])
    for _, line in ipairs(lines) do
      assert.is_nil(line:find(SECRET, 1, true))
      assert.is_nil(line:find("key-68423085", 1, true))
    end
  end)

  it("answers Zoom's URL validation as the simulator's own HMAC expects", function()
    local r = sim:validate_webhook()
    local seq = r.deliveries[#r.deliveries].seq
    local d = serve_until_done(sim, l, seq)
    assert.are.same({ "validated", 200 }, { d.state, d.status })
    -- a listener with another secret answers, but wrongly: the check fails
    local other = assert(webhook.listener { secret = "not-the-app-secret" })
    finally(function() other:close() end)
    sim:config { webhook_url = other:url() }
    r = sim:validate_webhook()
    d = serve_until_done(sim, other, r.deliveries[#r.deliveries].seq)
    -- unsigned with its secret, the request itself is refused first
    assert.are.same({ "failed", 401 }, { d.state, d.status })
  end)
end)

describe("webhook listener (luv backend)", function()
  local uv = require "luv"
  -- runs the uv loop until cond() holds; a 30 s uv timer bounds it
  local function run_until(cond)
    local expired = false
    local timer = uv.new_timer()
    timer:start(30000, 0, function() expired = true end)
    while not cond() and not expired do uv.run("once") end
    timer:stop()
    timer:close()
    assert.is_false(expired, "the loop never saw the event")
  end
  it("waits on the uv loop, and calls back from it with expect()", function()
    local l = assert(webhook.listener { secret = SECRET, backend = "luv" })
    local sim = testing.start { qps = 1000, start_cooldown = 0, webhook_url = l:url(), webhook_secret = SECRET }
    local client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
    finally(function() client:close(); sim:stop(); l:close() end)
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    local ev = assert(l:wait("meeting.live_streaming_started", MEETING, 30))
    assert.are.equal(tostring(MEETING), ev.id)

    assert.are.equal(204, zoomlive.assert(client:stop(MEETING)))
    local got, gerr, called = nil, nil, 0
    l:expect("meeting.live_streaming_stopped", MEETING, 30, function(e, err)
      got, gerr, called = e, err, called + 1
    end)
    run_until(function() return called > 0 end)
    assert.are.equal(1, called)
    assert.is_nil(gerr)
    assert.are.equal("meeting.live_streaming_stopped", got.name)
  end)

  it("the socket backend driven by a loop: uv polls on listener:fds(), step(0) when readable", function()
    local got = {}
    local l = assert(webhook.listener { secret = SECRET, on_event = function(ev) got[#got + 1] = ev end })
    local sim = testing.start { qps = 1000, start_cooldown = 0, webhook_url = l:url(), webhook_secret = SECRET }
    local client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
    local polls = {}
    local function sync()
      local want = {}
      for _, fd in ipairs(l:fds()) do want[fd] = true end
      for fd, p in pairs(polls) do
        if not want[fd] then p:stop(); p:close(); polls[fd] = nil end
      end
      for fd in pairs(want) do
        if not polls[fd] then
          local p = uv.new_poll(fd)
          p:start("r", function() l:step(0); sync() end)
          polls[fd] = p
        end
      end
    end
    finally(function()
      for _, p in pairs(polls) do p:stop(); p:close() end
      uv.run("nowait")
      client:close(); sim:stop(); l:close()
    end)
    sync()
    assert.are.equal(1, #l:fds())
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    run_until(function() return #got > 0 end)
    assert.are.equal("meeting.live_streaming_started", got[1].name)
    assert.are.equal(tostring(MEETING), got[1].id)
    assert.are.equal(204, zoomlive.assert(client:stop(MEETING)))
    run_until(function() return #got > 1 end)
    assert.are.equal("meeting.live_streaming_stopped", got[2].name)
  end)

  it("a pending expect() ends with an error when the listener closes", function()
    local l = assert(webhook.listener { secret = SECRET, backend = "luv" })
    local got, err
    l:expect("meeting.live_streaming_started", MEETING, 30, function(e, e2) got, err = e, e2 end)
    l:close()
    assert.is_nil(got)
    assert.are.equal("cancelled", err.kind)
    uv.run("nowait")
  end)
end)

describe("webhook listener: hostile and odd clients", function()
  local socket = require "socket"

  -- sends raw bytes to the listener, serves it, and returns what came back
  local function exchange(l, bytes, steps)
    local c = assert(socket.connect("127.0.0.1", l:port()))
    c:settimeout(0)
    if bytes ~= "" then assert(c:send(bytes)) end
    local got = ""
    for _ = 1, steps or 50 do
      l:step(0.05)
      local data, err, partial = c:receive(65536)
      got = got .. (data or partial or "")
      if err == "closed" then break end
    end
    c:close()
    return got
  end

  it("answers bad requests with the right status and closes", function()
    local l = assert(webhook.listener { secret = SECRET, path = "/zoom" })
    finally(function() l:close() end)
    local cases = {
      { "garbage\r\n\r\n", "^HTTP/1%.1 400 " },
      { "POST /zoom HTTP/1.1\r\nbad header line\r\n\r\n", "^HTTP/1%.1 400 " },
      { "BREW /zoom HTTP/1.1\r\n\r\n", "^HTTP/1%.1 405 " },
      { "POST /zoom HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", "^HTTP/1%.1 413 " },
      { "POST /zoom HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "^HTTP/1%.1 501 " },
      { "POST /zoom HTTP/1.1\r\n\r\n", "^HTTP/1%.1 411 " },
      { "POST /other HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "^HTTP/1%.1 404 " },
      { "GET /zoom HTTP/1.1\r\n\r\n", "^HTTP/1%.1 405 " },
      { "POST /zoom HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "^HTTP/1%.1 401 " },
      { "POST /zoom?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "^HTTP/1%.1 401 " },
      { "POST /zoom HTTP/1.1\r\nX: " .. ("y"):rep(20000), "^HTTP/1%.1 431 " },
    }
    for i, c in ipairs(cases) do
      local got = exchange(l, c[1])
      assert.matches(c[2], got, 1, false, "case " .. i)
      assert.matches("Connection: close\r\n", got, 1, false, "case " .. i)
    end
    assert.are.equal(0, #l:drain())
  end)

  it("logs a request target without control bytes, and survives a log or on_event that raises", function()
    local lines = {}
    local l = assert(webhook.listener { secret = SECRET, log = function(line) lines[#lines + 1] = line end })
    finally(function() l:close() end)
    local got = exchange(l, "POST /a\27[2Jb\1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    assert.matches("^HTTP/1%.1 401 ", got)
    assert.matches("^POST /a%?%[2Jb%? %-> 401 ", lines[1])
    local bad = assert(webhook.listener { secret = SECRET, log = function() error("log broke") end,
      on_event = function() error("on_event broke") end })
    finally(function() bad:close() end)
    local body = '{"event":"meeting.live_streaming_started","event_ts":1,"payload":{"object":{"id":7}}}'
    local h = webhook.sign(SECRET, body)
    local req = string.format("POST / HTTP/1.1\r\nx-zm-signature: %s\r\nx-zm-request-timestamp: %s\r\n" ..
      "Content-Length: %d\r\n\r\n%s", h["x-zm-signature"], h["x-zm-request-timestamp"], #body, body)
    got = exchange(bad, req)
    assert.matches("^HTTP/1%.1 204 ", got)
    local ev = assert(bad:wait("meeting.live_streaming_started", 7, 0))
    assert.are.equal("7", ev.id)
  end)

  it("a client that sends nothing is answered 408 once the idle time has passed on its clock", function()
    local l = assert(webhook.listener { secret = SECRET, clock = fake_clock(3), poll = 0 })
    finally(function() l:close() end)
    local got = exchange(l, "", 20)
    assert.matches("^HTTP/1%.1 408 ", got)
    assert.are.equal(1, #l:fds())   -- the connection is gone
  end)

  it("a stalled client does not hold up a delivery", function()
    local l = assert(webhook.listener { secret = SECRET })
    local sim = testing.start { qps = 1000, webhook_url = l:url(), webhook_secret = SECRET }
    local client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
    local idle = assert(socket.connect("127.0.0.1", l:port()))
    finally(function() idle:close(); client:close(); sim:stop(); l:close() end)
    assert(idle:send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part of it"))
    assert.are.equal(204, zoomlive.assert(client:start(MEETING)))
    local ev = assert(l:wait("meeting.live_streaming_started", MEETING, 30))
    assert.are.equal(tostring(MEETING), ev.id)
    assert.are.equal(2, #l:fds())   -- the stalled one is still open, waiting for its body
  end)
end)

describe("webhook listener: requests and arguments", function()
  it("reads requests carefully", function()
    local p = listener_mod.parse_request
    assert.is_nil(p("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 100))
    local r = p("POST /hook?x=1 HTTP/1.1\r\nX-Zm-Signature: a\r\nContent-Length: 2\r\n\r\nab", 100)
    assert.are.same({ method = "POST", target = "/hook?x=1", body = "ab",
      headers = { ["x-zm-signature"] = "a", ["content-length"] = "2" } }, r)
    local twice = p("POST / HTTP/1.1\r\nA: 1\r\na: 2\r\nContent-Length: 0\r\n\r\n", 100)
    assert.are.same({ "1", "2" }, twice.headers.a)
    assert.are.same({ false, 411 }, { p("POST / HTTP/1.1\r\n\r\n", 100) })
    assert.are.same({ false, 413 }, { p("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 100) })
    assert.are.same({ false, 501 }, { p("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100) })
    assert.are.same({ false, 400 }, { p("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 100) })
    assert.are.same({ false, 400 }, { p("BAD\r\n\r\n", 100) })
    assert.are.same({ false, 431 }, { p(("x"):rep(17000), 100) })
    -- bare LF line ends are taken too (RFC 9112 allows it), body included
    local lf = p("POST /hook HTTP/1.1\nX-Zm-Signature: a\nContent-Length: 2\n\nab", 100)
    assert.are.same({ method = "POST", target = "/hook", body = "ab",
      headers = { ["x-zm-signature"] = "a", ["content-length"] = "2" } }, lf)
    assert.is_nil(p("POST / HTTP/1.1\nContent-Length: 5\n\nab", 100))
  end)

  it("refuses bad options and arguments", function()
    assert.has_error(function() webhook.listener { secret = SECRET, prot = 1 } end)
    assert.has_error(function() webhook.listener { secret = "" } end)
    assert.has_error(function() webhook.listener { secret = SECRET, backend = "epoll" } end)
    local l = assert(webhook.listener { secret = SECRET })
    finally(function() l:close() end)
    local ev, err = l:wait("meeting.live_streaming_started", "12a", 1)
    assert.is_nil(ev)
    assert.are.same({ "argument", "id" }, { err.kind, err.field })
    ev, err = l:wait("meeting.live_streaming_started", MEETING, -1)
    assert.is_nil(ev)
    assert.are.same({ "argument", "timeout" }, { err.kind, err.field })
    assert.has_error(function() l:wait("x", MEETING) end)
    assert.has_error(function() l:wait(nil, MEETING, 1) end)
    -- the port is taken: nil, err
    local again, e2 = webhook.listener { secret = SECRET, port = l:port() }
    assert.is_nil(again)
    assert.are.equal("transport", e2.kind)
    l:close()
    assert.matches("closed", tostring(l))
    assert.has_error(function() l:wait("x", nil, 1) end)
  end)
end)
