-- zoomlive.webhook: signatures checked against Python's hmac module and the
-- openssl command (implementations we did not write), URL validation,
-- event parsing (exact ids, redacted stream keys) and the request handler.
local webhook = require "zoomlive.webhook"
local cjson = require "cjson"
local support = require "support"

local SECRET = "whsec-Test_0123456789"
local TS = 1764460800   -- 2025-11-30T00:00:00Z

local function tmpfile(content)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

-- hex(HMAC-SHA256(key, msg)) by Python's hmac module
local function py_hmac(key, msg)
  local kp, mp = tmpfile(key), tmpfile(msg)
  local p = assert(io.popen("python3 -c " .. support.shq(
    "import hmac,hashlib,sys;" ..
    "k=open(sys.argv[1],'rb').read();m=open(sys.argv[2],'rb').read();" ..
    "print(hmac.new(k,m,hashlib.sha256).hexdigest())") .. " " .. kp .. " " .. mp))
  local out = p:read("a")
  p:close()
  os.remove(kp); os.remove(mp)
  local hex = out:match("^(%x+)\n$")
  assert(hex and #hex == 64, "python3 hmac gave: " .. out)
  return hex
end

-- Zoom's signature header for (ts, body), computed by Python
local function zoom_headers(secret, ts, body)
  return {
    ["x-zm-request-timestamp"] = tostring(ts),
    ["x-zm-signature"] = "v0=" .. py_hmac(secret, "v0:" .. ts .. ":" .. body),
  }
end

local STARTED = [[{"event": "meeting.live_streaming_started", "event_ts": 1764460800123,
 "payload": {"account_id": "AcC0unt", "operator": "host@example.com", "operator_id": "u1",
  "object": {"id": 93398114182, "uuid": "4444AAAiAAAAAiAiAiiAii==", "host_id": "x1yCzABCDEfg",
   "topic": "Town hall \u00e9 12345678901234567890",
   "live_streaming": {"service": "Custom_Live_Streaming_Service",
    "custom_live_streaming_settings": {"stream_url": "rtmp://live.example.com/app",
     "stream_key": "sk-SECRET-\"quoted\"-KEY", "page_url": "https://example.com/live", "resolution": "720p"},
    "date_time": "2025-11-30T00:00:00Z"}}}}]]

describe("zoomlive.core HMAC and comparison", function()
  local core = require "zoomlive.core"
  it("hmac_sha256_hex agrees with Python's hmac, NUL and high bytes included", function()
    for _, kv in ipairs({ { "k", "" }, { "", "m" }, { "a\0b", "c\0d\255" }, { ("K"):rep(200), ("m"):rep(100000) } }) do
      assert.are.equal(py_hmac(kv[1], kv[2]), core.hmac_sha256_hex(kv[1], kv[2]))
    end
    assert.has_error(function() core.hmac_sha256_hex(nil, "m") end)
    assert.has_error(function() core.hmac_sha256_hex("k", {}) end)
  end)
  it("equal_consttime compares whole strings", function()
    assert.is_true(core.equal_consttime("v0=abc", "v0=abc"))
    assert.is_false(core.equal_consttime("v0=abc", "v0=abd"))
    assert.is_false(core.equal_consttime("v0=abc", "v0=ab"))
    assert.is_false(core.equal_consttime("a\0b", "a\0c"))
    assert.is_true(core.equal_consttime("", ""))
    assert.has_error(function() core.equal_consttime("a") end)
  end)
  it("parse_date reads ISO-8601 and HTTP dates", function()
    assert.are.equal(1590883200, core.parse_date("2020-05-31T00:00:00Z"))
    assert.are.equal(1590883200, core.parse_date("Sun, 31 May 2020 00:00:00 GMT"))
    assert.is_nil(core.parse_date("yesterday"))
    assert.is_nil(core.parse_date("2020-05-31T00:00:00Z\0junk"))
  end)
end)

describe("webhook.verify", function()
  it("accepts a delivery signed by Python's hmac", function()
    local h = zoom_headers(SECRET, TS, STARTED)
    assert.is_true(webhook.verify(SECRET, h, STARTED, TS))
    assert.is_true(webhook.verify(SECRET, h, STARTED, { now = TS + 299.5 }))
  end)

  it("agrees with `openssl dgst -sha256 -hmac` on the signed message", function()
    local mp = tmpfile("v0:" .. TS .. ":" .. STARTED)
    local p = assert(io.popen("openssl dgst -sha256 -hmac " .. support.shq(SECRET) .. " -r " .. mp))
    local out = p:read("a")
    p:close()
    os.remove(mp)
    local hex = assert(out:match("^(%x+)"))
    assert.are.equal(64, #hex)
    local h = { ["x-zm-request-timestamp"] = tostring(TS), ["x-zm-signature"] = "v0=" .. hex }
    assert.is_true(webhook.verify(SECRET, h, STARTED, TS))
    assert.are.equal(hex, require("zoomlive.core").hmac_sha256_hex(SECRET, "v0:" .. TS .. ":" .. STARTED))
  end)

  it("refuses a tampered body, a re-encoded body and a wrong secret", function()
    local h = zoom_headers(SECRET, TS, STARTED)
    local tampered = STARTED:gsub("93398114182", "93398114183")
    local ok, err = webhook.verify(SECRET, h, tampered, TS)
    assert.is_nil(ok)
    assert.are.same({ "webhook", "bad_signature" }, { err.kind, err.reason })
    -- the same event re-encoded is not the raw body Zoom signed
    ok, err = webhook.verify(SECRET, h, cjson.encode(cjson.decode(STARTED)), TS)
    assert.is_nil(ok)
    assert.are.equal("bad_signature", err.reason)
    -- one byte appended
    ok, err = webhook.verify(SECRET, h, STARTED .. "\n", TS)
    assert.is_nil(ok)
    assert.are.equal("bad_signature", err.reason)
    -- signed with another secret (Python), checked with ours; and the reverse
    local other = zoom_headers("another-secret", TS, STARTED)
    ok, err = webhook.verify(SECRET, other, STARTED, TS)
    assert.is_nil(ok)
    assert.are.equal("bad_signature", err.reason)
    ok, err = webhook.verify(SECRET .. "x", h, STARTED, TS)
    assert.is_nil(ok)
    assert.are.equal("bad_signature", err.reason)
    -- the timestamp is part of what is signed
    local moved = { ["x-zm-request-timestamp"] = tostring(TS + 1), ["x-zm-signature"] = h["x-zm-signature"] }
    ok, err = webhook.verify(SECRET, moved, STARTED, TS)
    assert.is_nil(ok)
    assert.are.equal("bad_signature", err.reason)
    for _, s in ipairs(support.strings(err)) do
      assert.is_nil(s:find(SECRET, 1, true))
      assert.is_nil(s:find(h["x-zm-signature"]:sub(4), 1, true))
    end
  end)

  it("refuses stale and future timestamps beyond the tolerance (default 300 s, configurable)", function()
    local h = zoom_headers(SECRET, TS, STARTED)
    assert.is_true(webhook.verify(SECRET, h, STARTED, TS + 300))
    assert.is_true(webhook.verify(SECRET, h, STARTED, TS - 300))
    local ok, err = webhook.verify(SECRET, h, STARTED, TS + 301)
    assert.is_nil(ok)
    assert.are.same({ "webhook", "stale" }, { err.kind, err.reason })
    assert.matches("301 s old", tostring(err))
    ok, err = webhook.verify(SECRET, h, STARTED, TS - 301)
    assert.is_nil(ok)
    assert.are.same({ "webhook", "future" }, { err.kind, err.reason })
    ok, err = webhook.verify(SECRET, h, STARTED, { now = TS + 11, tolerance = 10 })
    assert.is_nil(ok)
    assert.are.equal("stale", err.reason)
    assert.is_true(webhook.verify(SECRET, h, STARTED, { now = TS + 3000, tolerance = 3600 }))
    -- a timestamp in milliseconds is far in the future of a clock in seconds
    local ms = zoom_headers(SECRET, TS * 1000, STARTED)
    ok, err = webhook.verify(SECRET, ms, STARTED, TS)
    assert.is_nil(ok)
    assert.are.equal("future", err.reason)
    -- the default clock is the system's: a timestamp of now passes, one of 2025 does not
    local now = os.time()
    assert.is_true(webhook.verify(SECRET, zoom_headers(SECRET, now, STARTED), STARTED))
    ok, err = webhook.verify(SECRET, zoom_headers(SECRET, 1000000000, STARTED), STARTED)
    assert.is_nil(ok)
    assert.are.equal("stale", err.reason)
  end)

  it("finds the headers whatever their case", function()
    local h = zoom_headers(SECRET, TS, STARTED)
    local variants = {
      { ["X-Zm-Signature"] = h["x-zm-signature"], ["X-Zm-Request-Timestamp"] = h["x-zm-request-timestamp"] },
      { ["X-ZM-SIGNATURE"] = h["x-zm-signature"], ["x-ZM-request-TIMESTAMP"] = h["x-zm-request-timestamp"] },
    }
    for _, v in ipairs(variants) do assert.is_true(webhook.verify(SECRET, v, STARTED, TS)) end
    -- upper-case hex digits are the same signature
    local up = { ["x-zm-signature"] = "v0=" .. h["x-zm-signature"]:sub(4):upper(),
                 ["x-zm-request-timestamp"] = h["x-zm-request-timestamp"] }
    assert.is_true(webhook.verify(SECRET, up, STARTED, TS))
    -- the same header twice under different cases is ambiguous
    local twice = { ["x-zm-signature"] = h["x-zm-signature"], ["X-Zm-Signature"] = h["x-zm-signature"],
                    ["x-zm-request-timestamp"] = h["x-zm-request-timestamp"] }
    local ok, err = webhook.verify(SECRET, twice, STARTED, TS)
    assert.is_nil(ok)
    assert.are.equal("bad_format", err.reason)
  end)

  it("says which header is missing or malformed", function()
    local h = zoom_headers(SECRET, TS, STARTED)
    local sig, ts = h["x-zm-signature"], h["x-zm-request-timestamp"]
    local cases = {
      { {}, "missing_header", "x%-zm%-signature" },
      { { ["x-zm-signature"] = sig }, "missing_header", "x%-zm%-request%-timestamp" },
      { { ["x-zm-request-timestamp"] = ts }, "missing_header", "x%-zm%-signature" },
      { { ["x-zm-signature"] = sig, ["x-zm-request-timestamp"] = "17644608OO" }, "bad_format", "timestamp" },
      { { ["x-zm-signature"] = sig, ["x-zm-request-timestamp"] = "-1" }, "bad_format", "timestamp" },
      { { ["x-zm-signature"] = sig, ["x-zm-request-timestamp"] = "" }, "bad_format", "timestamp" },
      { { ["x-zm-signature"] = "v1=" .. sig:sub(4), ["x-zm-request-timestamp"] = ts }, "bad_format", "signature" },
      { { ["x-zm-signature"] = sig:sub(1, -2), ["x-zm-request-timestamp"] = ts }, "bad_format", "signature" },
      { { ["x-zm-signature"] = sig:sub(1, -2) .. "g", ["x-zm-request-timestamp"] = ts }, "bad_format", "signature" },
      { { ["x-zm-signature"] = sig:sub(4), ["x-zm-request-timestamp"] = ts }, "bad_format", "signature" },
      { { ["x-zm-signature"] = { sig, sig }, ["x-zm-request-timestamp"] = ts }, "bad_format", "signature" },
    }
    for i, c in ipairs(cases) do
      local ok, err = webhook.verify(SECRET, c[1], STARTED, TS)
      assert.is_nil(ok, "case " .. i)
      assert.are.equal("webhook", err.kind, "case " .. i)
      assert.are.equal(c[2], err.reason, "case " .. i)
      assert.matches(c[3], tostring(err), 1, false, "case " .. i)
    end
  end)

  it("gives argument errors for bad values and raises for wrong types", function()
    local h = zoom_headers(SECRET, TS, STARTED)
    local ok, err = webhook.verify("", h, STARTED, TS)
    assert.is_nil(ok)
    assert.are.same({ "argument", "secret" }, { err.kind, err.field })
    ok, err = webhook.verify(SECRET, h, STARTED, { now = TS, tolerance = -1 })
    assert.is_nil(ok)
    assert.are.same({ "argument", "tolerance" }, { err.kind, err.field })
    ok, err = webhook.verify(SECRET, h, STARTED, { now = TS, tolerance = 0 / 0 })
    assert.is_nil(ok)
    assert.are.same({ "argument", "tolerance" }, { err.kind, err.field })
    assert.has_error(function() webhook.verify(nil, h, STARTED) end)
    assert.has_error(function() webhook.verify(SECRET, "headers", STARTED) end)
    assert.has_error(function() webhook.verify(SECRET, h, nil) end)
    assert.has_error(function() webhook.verify(SECRET, h, STARTED, "now") end)
  end)

  it("sign() makes headers that Python's hmac agrees with", function()
    local h = webhook.sign(SECRET, STARTED, TS)
    assert.are.same(zoom_headers(SECRET, TS, STARTED), h)
  end)
end)

describe("webhook.url_validation", function()
  it("answers plainToken with Python's HMAC of it", function()
    for _, plain in ipairs({ "qgg8vlvZRS6UYooatFL8Aw", "with \"quotes\" and \\ and é", ("x"):rep(1024) }) do
      local body = cjson.encode({ event = "endpoint.url_validation", event_ts = 1764460800000,
        payload = { plainToken = plain } })
      local answer = assert(webhook.url_validation(SECRET, body))
      local doc = cjson.decode(answer)
      assert.are.same({ plainToken = plain, encryptedToken = py_hmac(SECRET, plain) }, doc)
    end
  end)

  it("refuses bodies that are not a URL validation", function()
    local cases = {
      { "not json", "bad_body" },
      { "[1,2]", "bad_body" },
      { STARTED, "not_url_validation" },
      { '{"event":"endpoint.url_validation","payload":{}}', "bad_body" },
      { '{"event":"endpoint.url_validation","payload":{"plainToken":""}}', "bad_body" },
      { '{"event":"endpoint.url_validation","payload":{"plainToken":12}}', "bad_body" },
      { '{"event":"endpoint.url_validation","payload":{"plainToken":"' .. ("x"):rep(1025) .. '"}}', "bad_body" },
    }
    for i, c in ipairs(cases) do
      local body, err = webhook.url_validation(SECRET, c[1])
      assert.is_nil(body, "case " .. i)
      assert.are.same({ "webhook", c[2] }, { err.kind, err.reason }, "case " .. i)
    end
    local _, err = webhook.url_validation("", '{"event":"endpoint.url_validation","payload":{"plainToken":"a"}}')
    assert.are.equal("argument", err.kind)
  end)
end)

describe("webhook.parse", function()
  it("reads a live-stream event: name, exact id, stream settings, times", function()
    local ev = assert(webhook.parse(STARTED))
    assert.are.equal("meeting.live_streaming_started", ev.name)
    assert.are.equal("meeting", ev.kind)
    assert.are.equal("93398114182", ev.id)
    assert.are.equal(1764460800123, ev.event_ts)
    assert.are.equal(1764460800.123, ev.time)
    assert.are.equal("4444AAAiAAAAAiAiAiiAii==", ev.uuid)
    assert.are.equal("x1yCzABCDEfg", ev.host_id)
    assert.are.equal("Town hall é 12345678901234567890", ev.topic)   -- digits in strings untouched
    assert.are.equal("AcC0unt", ev.account_id)
    assert.are.equal("host@example.com", ev.operator)
    assert.are.same({ service = "Custom_Live_Streaming_Service", stream_url = "rtmp://live.example.com/app",
      page_url = "https://example.com/live", resolution = "720p", stream_key = "***",
      date_time = "2025-11-30T00:00:00Z", at = 1764460800 }, ev.stream)
    assert.are.equal('sk-SECRET-"quoted"-KEY', ev:stream_key())
  end)

  it("keeps every digit of ids beyond 2^53, and of the largest int64", function()
    for _, id in ipairs({ "9007199254740993", "9223372036854775807", "1234567890123456" }) do
      local body = '{"event":"webinar.live_streaming_stopped","event_ts":1764460800123,' ..
        '"payload":{"object":{"id":' .. id .. ',"topic":"' .. id .. '"}}}'
      local ev = assert(webhook.parse(body))
      assert.are.equal(id, ev.id)
      assert.are.equal("webinar", ev.kind)
      assert.are.equal(id, ev.topic)
    end
    -- an id given as a string, and a float-looking integral id
    assert.are.equal("85746065432", webhook.parse('{"event":"meeting.x","payload":{"object":{"id":"85746065432"}}}').id)
    -- ids that are no meeting id
    for _, bad in ipairs({ "-5", "1.5", "0", '"12a"', "9223372036854775808", "[1]" }) do
      local ev, err = webhook.parse('{"event":"meeting.x","payload":{"object":{"id":' .. bad .. '}}}')
      assert.is_nil(ev, bad)
      assert.are.same({ "webhook", "bad_body" }, { err.kind, err.reason }, bad)
    end
  end)

  it("takes odd numbers without raising", function()
    for _, ts in ipairs({ "1e300", "-5", "NaN", '"12"', "1.5" }) do
      local ev = assert(webhook.parse('{"event":"meeting.x","event_ts":' .. ts .. ',"payload":{"object":{"id":5}}}'))
      assert.is_string(tostring(ev))
    end
    local ev = webhook.parse('{"event":"meeting.x","event_ts":1e300}')
    assert.is_nil(ev.event_ts)
    ev = webhook.parse('{"event":"meeting.x","event_ts":"1764460800123"}')
    assert.are.equal(1764460800123, ev.event_ts)
    local h = webhook.sign(SECRET, STARTED, TS)
    local ok, err = webhook.verify(SECRET, h, STARTED, 1e300)
    assert.is_nil(ok)
    assert.matches("s old", tostring(err))
    ok, err = webhook.verify(SECRET, h, STARTED, -1e300)
    assert.is_nil(ok)
    assert.are.equal("future", err.reason)
    ok, err = webhook.verify(SECRET, h, STARTED, 0 / 0)
    assert.is_nil(ok)
    assert.are.same({ "argument", "now" }, { err.kind, err.field })
    local s, e2 = webhook.sign(SECRET, STARTED, -1)
    assert.is_nil(s)
    assert.are.equal("timestamp", e2.field)
  end)

  it("never raises on mangled bodies (seeded byte flips, cuts and junk)", function()
    local seed = 20261130
    local function rnd(n)   -- a small LCG: the same inputs on every run
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    end
    local h = webhook.sign(SECRET, STARTED, TS)
    local parsed = 0
    for _ = 1, 1500 do
      local b = STARTED
      local op = rnd(3)
      if op == 0 then
        local i = rnd(#b) + 1
        b = b:sub(1, i - 1) .. string.char(rnd(256)) .. b:sub(i + 1)
      elseif op == 1 then
        b = b:sub(1, rnd(#b))
      else
        local i = rnd(#b) + 1
        b = b:sub(1, i) .. ("9"):rep(rnd(40)) .. b:sub(i + 1)
      end
      local ev = webhook.parse(b)
      if ev then
        parsed = parsed + 1
        assert.is_string(tostring(ev))
      end
      if b ~= STARTED then assert.is_nil((webhook.verify(SECRET, h, b, TS))) end
      webhook.url_validation(SECRET, b)
    end
    assert.is_true(parsed > 0)
  end)

  it("never shows the stream key when the event is printed or walked", function()
    local ev = assert(webhook.parse(STARTED))
    local line = tostring(ev)
    assert.matches("^zoomlive.webhook.event meeting.live_streaming_started meeting 93398114182", line)
    for _, s in ipairs(support.strings(ev)) do
      assert.is_nil(s:find("SECRET", 1, true), s)
    end
    assert.is_nil(cjson.encode(ev):find("SECRET", 1, true))
  end)

  it("refuses what is no event", function()
    for _, body in ipairs({ "", "null", "12", "[]", "{}", '{"event":""}', '{"event":5}', "{", ('x'):rep(10) }) do
      local ev, err = webhook.parse(body)
      assert.is_nil(ev, body)
      assert.are.same({ "webhook", "bad_body" }, { err.kind, err.reason }, body)
    end
    assert.has_error(function() webhook.parse(nil) end)
  end)
end)

describe("webhook.handler", function()
  local now = TS
  local h = webhook.handler { secret = SECRET, now = function() return now end }

  it("answers a signed URL validation, and refuses an unsigned one", function()
    local body = '{"payload":{"plainToken":"abc"},"event_ts":1764460800000,"event":"endpoint.url_validation"}'
    local r = h:handle("POST", zoom_headers(SECRET, TS, body), body)
    assert.are.equal(200, r.status)
    assert.are.equal("application/json", r.content_type)
    assert.are.same({ plainToken = "abc", encryptedToken = py_hmac(SECRET, "abc") }, cjson.decode(r.body))
    assert.is_nil(r.event)
    r = h:handle("POST", {}, body)
    assert.are.equal(401, r.status)
    assert.are.equal("missing_header", r.err.reason)
    assert.is_nil(r.body:find("abc", 1, true))
  end)

  it("gives a verified event once; a repeated delivery is answered but flagged", function()
    local r = h:handle("POST", zoom_headers(SECRET, TS, STARTED), STARTED)
    assert.are.equal(204, r.status)
    assert.are.equal("93398114182", r.event.id)
    r = h:handle("POST", zoom_headers(SECRET, TS + 3, STARTED), STARTED)
    now = TS + 3
    assert.are.equal(204, r.status)
    assert.is_nil(r.event)
    assert.is_true(r.duplicate)
  end)

  it("refuses forged, stale and malformed deliveries and other methods", function()
    now = TS
    local forged = STARTED:gsub("started", "stopped")
    local r = h:handle("POST", zoom_headers(SECRET, TS, STARTED), forged)
    assert.are.same({ 401, "bad_signature" }, { r.status, r.err.reason })
    now = TS + 301
    r = h:handle("POST", zoom_headers(SECRET, TS, STARTED), STARTED)
    assert.are.same({ 401, "stale" }, { r.status, r.err.reason })
    now = TS
    r = h:handle("POST", zoom_headers(SECRET, TS, "{nope"), "{nope")
    assert.are.same({ 400, "bad_body" }, { r.status, r.err.reason })
    r = h:handle("GET", {}, "")
    assert.are.equal(405, r.status)
    assert.has_error(function() webhook.handler { secret = "" } end)
    assert.has_error(function() webhook.handler { secret = SECRET, tolerance = -1 } end)
    assert.is_nil(tostring(h):find(SECRET, 1, true))
  end)
end)
