-- Specs for zoomlive-sim, the Zoom API simulator, and zoomlive.testing.
-- Run: ZOOMLIVE_SIM=build/bin/zoomlive-sim busted --lua=lua5.4 spec/sim_spec.lua
-- (LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/lib/?.so;;").
-- Requests are made with the curl command-line tool, so the simulator is
-- judged by a client we did not write.
local cjson = require "cjson"
local socket = require "socket"
local testing = require "zoomlive.testing"

-- the simulator zoomlive.testing would start (ZOOMLIVE_SIM, a build's, or PATH's)
local EXE = os.getenv("ZOOMLIVE_SIM") or testing.default_exe or "zoomlive-sim"
local SEED = 68423085

local shq = require("support").shq

local function read_file(p)
  local f = io.open(p, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- curl(args...) -> {status, body, headers (lower-case), exit, time}
local function curl(...)
  local bodyf, hdrf = os.tmpname(), os.tmpname()
  local args = {}
  for i = 1, select("#", ...) do args[#args + 1] = shq((select(i, ...))) end
  local cmd = ("curl -s -o %s -D %s -w '%%{http_code} %%{time_total}' %s; echo \" $?\""):format(
    shq(bodyf), shq(hdrf), table.concat(args, " "))
  local p = io.popen(cmd, "r")
  local out = p:read("a")
  p:close()
  local code, t, exit = out:match("(%d+) ([%d%.]+) (%d+)")
  local r = { status = tonumber(code), time = tonumber(t), exit = tonumber(exit),
              body = read_file(bodyf), headers = {} }
  for line in read_file(hdrf):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then r.headers[k:lower()] = v end
  end
  os.remove(bodyf)
  os.remove(hdrf)
  if r.body ~= "" then
    local ok, v = pcall(cjson.decode, r.body)
    if ok then r.json = v end
  end
  return r
end

local function bearer(tok) return "Authorization: Bearer " .. (tok or "sim-token") end

local function status_url(sim, kind, id) return ("%s/%s/%s/livestream/status"):format(sim.base_url, kind, id) end

local function patch_form(sim, kind, id, action, settings, tok)
  local a = { "-X", "PATCH", "-H", bearer(tok), "--form-string", "action=" .. action }
  if settings then
    a[#a + 1] = "--form-string"
    a[#a + 1] = "settings=" .. settings
  end
  a[#a + 1] = status_url(sim, kind, id)
  return curl(table.unpack(a))
end

local function patch_json(sim, kind, id, tbl, tok)
  return curl("-X", "PATCH", "-H", bearer(tok), "-H", "Content-Type: application/json",
              "--data-binary", cjson.encode(tbl), status_url(sim, kind, id))
end

local function assert_zoom_error(r, status, code, message)
  assert.are.equal(status, r.status, r.body)
  assert.is_table(r.json, r.body)
  assert.are.equal(code, r.json.code, r.body)
  if message then assert.are.equal(message, r.json.message) end
  assert.are.equal("application/json;charset=UTF-8", r.headers["content-type"])
  assert.is_string(r.headers["x-zm-trackingid"])
end

local function field_errors(r)
  local set = {}
  for _, e in ipairs(r.json.errors or {}) do set[e.field] = e.message end
  return set
end

describe("zoomlive-sim process", function()
  it("prints the port alone on the first line and exits 0 on SIGTERM", function()
    local p = io.popen("sh -c 'echo $$; exec \"$0\" \"$@\"' " .. shq(EXE) .. " --port 0", "r")
    local pid = p:read("l")
    local port = p:read("l")
    finally(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
    assert.matches("^%d+$", port)
    assert.is_true(tonumber(port) > 0)
    local r = curl("http://127.0.0.1:" .. port .. "/_sim/health")
    assert.are.equal(200, r.status)
    os.execute("kill " .. pid)
    local rest = p:read("a")
    local ok, how, code = p:close()
    assert.are.equal("", rest) -- nothing else on stdout
    assert.is_true(ok, tostring(how) .. " " .. tostring(code))
  end)

  it("lists every flag in --help and rejects bad flags with exit 2", function()
    local p = io.popen(shq(EXE) .. " --help", "r")
    local help = p:read("a")
    p:close()
    for _, flag in ipairs{ "--port", "--bind", "--tls-cert", "--tls-key", "--verbose", "--fixtures",
                            "--any-meeting", "--token", "--client-id", "--client-secret",
                            "--account-id", "--token-ttl", "--invalidate-old-tokens", "--api-url",
                            "--qps", "--daily", "--start-cooldown", "--no-ratelimit-headers",
                            "--latency-ms", "--fail-status", "--reset", "--hang", "--truncate",
                            "--malformed-json", "--huge-body", "--fail-count", "--fail-rate",
                            "--fail-path", "--fault", "--seed" } do
      assert.is_truthy(help:find(flag, 1, true), flag)
    end
    for _, bad in ipairs{ "--bogus", "--qps abc", "--reset sideways", "--fail-count 2" } do
      local ok, how, code = os.execute(shq(EXE) .. " " .. bad .. " >/dev/null 2>&1")
      assert.is_nil(ok)
      assert.are.same({ "exit", 2 }, { how, code }, bad)
    end
  end)

  it("stops within a second while a connection hangs", function()
    local sim = testing.start{ args = { "--hang", "--fail-path", "/v2/" } }
    finally(function() sim:stop() end)
    os.execute("curl -s -m 20 -o /dev/null -H " .. shq(bearer()) .. " "
               .. shq(sim.base_url .. "/meetings/1/livestream") .. " >/dev/null 2>&1 &")
    local seen = false
    for _ = 1, 200 do -- bounded poll: the hang is logged before the wait
      local log = sim:requests()
      if log[1] and log[1].fault == "hang" then seen = true break end
      socket.select(nil, nil, 0.01)
    end
    assert.is_true(seen)
    -- true only when it exited by itself on SIGTERM within stop()'s bounded
    -- wait (otherwise stop() kills it and returns false)
    assert.is_true(sim:stop())
  end)
end)

describe("zoomlive-sim routes", function()
  local sim
  setup(function() sim = testing.start{ qps = 1000, daily = 0 } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  it("starts the seed meeting with multipart and answers 204 with a tracking id", function()
    local r = patch_form(sim, "meetings", SEED, "start", '{"active_speaker_name":false,"display_name":"dolore ullamco irur"}')
    assert.are.equal(204, r.status, r.body)
    assert.are.equal("", r.body)
    assert.matches("%S", r.headers["x-zm-trackingid"])
    local m = sim:meeting(SEED)
    assert.are.equal("live", m.status)
    assert.are.equal("dolore ullamco irur", m.settings.display_name)
    assert.is_false(m.settings.active_speaker_name)
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "stop").status)
    assert.are.equal("stopped", sim:meeting(SEED).status)
  end)

  it("gives every response a fresh x-zm-trackingid, /_sim included", function()
    local seen = {}
    for _, url in ipairs{ sim.base_url .. "/meetings/1/livestream", sim.url .. "/_sim/health",
                          sim.url .. "/nowhere", sim.base_url .. "/meetings/1/livestream" } do
      local r = curl("-H", bearer(), url)
      local id = r.headers["x-zm-trackingid"]
      assert.is_string(id)
      assert.is_nil(seen[id])
      seen[id] = true
    end
  end)

  it("decodes multipart and JSON bodies identically", function()
    local settings = { active_speaker_name = true, display_name = "Ünïcødé ✓", layout = "gallery_view",
                       close_caption = "embedded" }
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "stop", cjson.encode(settings)).status)
    assert.are.equal(204, patch_json(sim, "meetings", SEED, { action = "stop", settings = settings }).status)
    local log = sim:requests()
    assert.are.equal(2, #log)
    assert.matches("^multipart/form%-data; boundary=", log[1].content_type)
    assert.are.equal("application/json", log[2].content_type)
    assert.are.same(log[1].payload, log[2].payload)
    assert.are.same(settings, log[2].payload.settings)
    assert.are.equal("stop", log[1].fields.action)
    assert.are.same(settings, cjson.decode(log[1].fields.settings))
    assert.are.same({ "action", "settings" }, { log[1].parts[1].name, log[1].parts[2].name })
    assert.are.equal("Ünïcødé ✓", sim:meeting(SEED).settings.display_name)
  end)

  it("returns Zoom's documented errors", function()
    local cases = {
      { "meetings", 99, 404, 3001, "Meeting does not exist: 99." },
      { "webinars", 99, 404, 3001, "Webinar does not exist: 99." },
      { "meetings", "abc", 400, 300, "Invalid meetingId." },
      { "meetings", "99999999999999999999", 400, 300, "Invalid meetingId." },
      { "meetings", "", 400, 300, "Invalid meetingId." },
      { "webinars", "12a", 400, 300, "Invalid webinarId." },
      { "meetings", 10000000001, 400, 3000 },
      { "meetings", 10000000002, 400, 3000 },
      { "webinars", 82000000001, 400, 3000, "The current webinar is not configured with a custom streaming service." },
      { "webinars", 82000000002, 400, 200, "Webinar 82000000002 has not started." },
      { "meetings", 10000000003, 400, 1010, "User does not belong to this account: sim-account." },
      { "webinars", 82000000004, 400, 1010, "User does not belong to this account: sim-account." },
      { "meetings", 10000000004, 400, 3161, "Your user account is not allowed meeting hosting and scheduling capabilities." },
      { "meetings", 10000000005, 404, 1001, "User simhost10000000005 does not exist." },
      { "webinars", 82000000006, 404, 1001 },
    }
    for _, c in ipairs(cases) do
      local r = patch_form(sim, c[1], c[2], "start")
      assert_zoom_error(r, c[3], c[4], c[5])
    end
  end)

  it("validates action and settings case-sensitively", function()
    local r = patch_form(sim, "meetings", SEED, "Start")
    assert_zoom_error(r, 400, 300, "Validation Failed.")
    assert.is_string(field_errors(r).action)
    r = patch_json(sim, "meetings", SEED, { action = "start", settings = {
      layout = "grid", close_caption = "on", display_name = string.rep("x", 51),
      active_speaker_name = "yes", colour = "red" } })
    assert_zoom_error(r, 400, 300, "Validation Failed.")
    local e = field_errors(r)
    for _, f in ipairs{ "settings.layout", "settings.close_caption", "settings.display_name",
                        "settings.active_speaker_name", "settings.colour" } do
      assert.is_string(e[f], f)
    end
    r = patch_json(sim, "meetings", SEED, { settings = {} })
    assert.is_string(field_errors(r).action)
    r = patch_form(sim, "meetings", SEED, "start", "start{\"display_name\":\"x\"}") -- the seed's bug
    assert.is_string(field_errors(r).settings)
    -- webinars: no mode, no layout
    assert.is_string(field_errors(patch_form(sim, "webinars", 81234567890, "mode", '{"layout":"gallery_view"}')).action)
    assert.is_string(field_errors(patch_form(sim, "webinars", 81234567890, "start", '{"layout":"gallery_view"}'))["settings.layout"])
    assert.are.equal("stopped", sim:meeting(SEED).status)
  end)

  it("counts display_name in characters, not bytes", function()
    assert.are.equal(204, patch_json(sim, "meetings", SEED, { action = "stop", settings = {
      display_name = string.rep("é", 50) } }).status)
    local r = patch_json(sim, "meetings", SEED, { action = "stop", settings = { display_name = string.rep("é", 51) } })
    assert.is_string(field_errors(r)["settings.display_name"])
    r = patch_json(sim, "meetings", SEED, { action = "stop", settings = { display_name = "" } })
    assert.is_string(field_errors(r)["settings.display_name"])
  end)

  it("refuses settings on a live stream, and mode on a stopped one", function()
    local live = 85746065432
    assert_zoom_error(patch_form(sim, "meetings", live, "start", '{"display_name":"x"}'), 400, 4400)
    assert_zoom_error(patch_form(sim, "meetings", live, "stop", '{"display_name":"x"}'), 400, 4400)
    assert_zoom_error(patch_form(sim, "meetings", SEED, "mode", '{"layout":"speaker_view"}'), 400, 4400)
    assert.are.equal(204, patch_form(sim, "meetings", live, "mode", '{"layout":"speaker_view","close_caption":"off"}').status)
    local m = sim:meeting(live)
    assert.are.same({ "speaker_view", "off", "live" }, { m.settings.layout, m.settings.close_caption, m.status })
    assert.is_string(field_errors(patch_form(sim, "meetings", live, "mode", '{"display_name":"x"}'))["settings.display_name"])
    -- stop of a stopped stream is idempotent
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "stop").status)
  end)

  it("rejects other content types and broken bodies clearly", function()
    local url = status_url(sim, "meetings", SEED)
    assert_zoom_error(curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: text/plain", "-d", "action=start", url), 415, 415)
    assert_zoom_error(curl("-X", "PATCH", "-H", bearer(), "-d", "action=start", url), 415, 415)
    local r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: multipart/form-data", "-d", "x", url)
    assert_zoom_error(r, 400, 300)
    assert.matches("boundary", r.json.message)
    r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: multipart/form-data; boundary=abc",
             "--data-binary", "--abc\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nstart", url)
    assert_zoom_error(r, 400, 300)
    r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: application/json", "-d", "{\"action\":", url)
    assert_zoom_error(r, 400, 300, "Request Body should be a valid JSON object.")
    local big = os.tmpname()
    local f = io.open(big, "wb")
    f:write(string.rep("x", 2 * 1024 * 1024))
    f:close()
    r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: application/json", "--data-binary", "@" .. big, url)
    os.remove(big)
    assert_zoom_error(r, 413, 413)
  end)

  it("reads and configures the stream", function()
    local url = sim.base_url .. "/meetings/10000000001/livestream"
    local r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: application/json", "--data-binary",
                   cjson.encode{ stream_url = "rtmp://a/b", stream_key = "k", page_url = "not a uri", resolution = "4k" }, url)
    assert_zoom_error(r, 400, 300, "Validation Failed.")
    assert.are.same({ true, true }, { field_errors(r).page_url ~= nil, field_errors(r).resolution ~= nil })
    r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: application/json", "--data-binary", "{}", url)
    assert.are.same({ true, true, true }, { field_errors(r).stream_url ~= nil, field_errors(r).stream_key ~= nil, field_errors(r).page_url ~= nil })
    r = curl("-X", "PATCH", "-H", bearer(), "-H", "Content-Type: application/json", "--data-binary",
             cjson.encode{ stream_url = "rtmp://a/b", stream_key = "k", page_url = "https://p/x", resolution = "1080p" }, url)
    assert.are.equal(204, r.status, r.body)
    r = curl("-H", bearer(), url)
    assert.are.equal(200, r.status)
    assert.are.equal("application/json;charset=UTF-8", r.headers["content-type"])
    assert.are.same({ stream_url = "rtmp://a/b", stream_key = "k", page_url = "https://p/x", resolution = "1080p" }, r.json)
    assert.are.equal(204, patch_form(sim, "meetings", 10000000001, "start").status) -- now configured
    r = curl("-H", bearer(), sim.base_url .. "/webinars/81234567890/livestream")
    assert.are.equal(200, r.status)
    assert.is_nil(r.json.resolution)
    assert_zoom_error(curl("-X", "DELETE", "-H", bearer(), url), 405, 405)
  end)

  it("answers 401/124 without a valid bearer token", function()
    local url = sim.base_url .. "/meetings/68423085/livestream"
    assert_zoom_error(curl(url), 401, 124, "Invalid access token.")
    assert_zoom_error(curl("-H", bearer("nope"), url), 401, 124, "Invalid access token.")
    assert_zoom_error(curl(url .. "?access_token=sim-token"), 401, 124)
    assert_zoom_error(curl("-H", "Authorization: Basic c2ltLXRva2Vu", url), 401, 124)
  end)

  it("logs requests with masked credentials", function()
    patch_form(sim, "meetings", SEED, "stop")
    curl("-u", "sim-client-id:sim-client-secret", "-d", "grant_type=account_credentials&account_id=sim-account",
         sim.url .. "/oauth/token?x=1")
    curl(sim.url .. "/_sim/health")
    local log = sim:requests()
    assert.are.equal(2, #log) -- /_sim excluded
    assert.are.equal("Bearer ***", log[1].headers.authorization)
    assert.are.equal("PATCH", log[1].method)
    assert.are.equal("/v2/meetings/68423085/livestream/status", log[1].path)
    assert.are.equal(204, log[1].status)
    assert.is_number(log[1].time)
    assert.is_true(log[1].body_size > 0)
    assert.are.equal("Basic ***", log[2].headers.authorization)
    assert.are.equal("1", log[2].query.x)
    assert.are.equal("account_credentials", log[2].fields.grant_type)
    assert.is_nil(cjson.encode(log):find("sim-client-secret", 1, true))
    assert.is_nil(cjson.encode(log):find("sim-token", 1, true))
    sim:clear_requests()
    assert.are.same(0, #sim:requests())
  end)

  it("creates, merges and reads state through /_sim", function()
    local m = sim:set_meeting(123456789012, { started = false, stream = { configured = true } })
    assert.is_false(m.started)
    assert_zoom_error(patch_form(sim, "meetings", 123456789012, "start"), 400, 3000)
    sim:set_meeting(123456789012, { started = true })
    assert.are.equal(204, patch_form(sim, "meetings", 123456789012, "start").status)
    sim:set_webinar(81234567890, { status = "live" })
    assert.are.equal("live", sim:webinar(81234567890).status)
    sim:reset()
    assert.are.equal("stopped", sim:webinar(81234567890).status)
    assert.has_error(function() sim:meeting(123456789012) end)
  end)
end)

describe("zoomlive-sim OAuth", function()
  local sim
  setup(function() sim = testing.start{ qps = 1000, token_ttl = 60 } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  local function token(user, form)
    return curl("-u", user or "sim-client-id:sim-client-secret", "-d",
                form or "grant_type=account_credentials&account_id=sim-account", sim.url .. "/oauth/token")
  end
  local function get_with(tok)
    return curl("-H", bearer(tok), sim.base_url .. "/meetings/68423085/livestream")
  end

  it("issues tokens that work until they expire", function()
    local r = token()
    assert.are.equal(200, r.status, r.body)
    assert.are.equal("bearer", r.json.token_type)
    assert.are.equal(60, r.json.expires_in)
    assert.matches("meeting:write:admin", r.json.scope)
    assert.are.equal(sim.url, r.json.api_url)
    assert.matches("^%w+$", r.json.access_token)
    assert.are.equal(200, get_with(r.json.access_token).status)
    local r2 = token()
    assert.are_not.equal(r.json.access_token, r2.json.access_token)
    assert.are.equal(200, get_with(r.json.access_token).status) -- old tokens stay valid by default
    sim:advance(61)
    assert_zoom_error(get_with(r2.json.access_token), 401, 124, "Invalid access token.")
    assert.are.equal(200, get_with("sim-token").status)
  end)

  it("accepts grant_type and account_id in the query string", function()
    local r = curl("-X", "POST", "-u", "sim-client-id:sim-client-secret",
                   sim.url .. "/oauth/token?grant_type=account_credentials&account_id=sim-account")
    assert.are.equal(200, r.status, r.body)
  end)

  it("invalidates older tokens when configured to", function()
    sim:config{ invalidate_old_tokens = true }
    local a = token().json.access_token
    local b = token().json.access_token
    assert_zoom_error(get_with(a), 401, 124)
    assert.are.equal(200, get_with(b).status)
  end)

  it("answers the token endpoint's errors", function()
    local r = token("sim-client-id:wrong")
    assert.are.same({ 401, "invalid_client", 4702 }, { r.status, r.json.error, r.json.code })
    assert.is_string(r.json.reason)
    r = token("someone:sim-client-secret")
    assert.are.same({ 401, "invalid_client", 4704 }, { r.status, r.json.error, r.json.code })
    r = curl("-d", "grant_type=account_credentials&account_id=sim-account", sim.url .. "/oauth/token")
    assert.are.same({ 401, 4704 }, { r.status, r.json.code })
    r = token(nil, "grant_type=client_credentials&account_id=sim-account")
    assert.are.same({ 400, "unsupported_grant_type", 4700 }, { r.status, r.json.error, r.json.code })
    r = token(nil, "grant_type=account_credentials")
    assert.are.same({ 400, 4706 }, { r.status, r.json.code })
    r = token(nil, "grant_type=account_credentials&account_id=other")
    assert.are.same({ 400, 4706 }, { r.status, r.json.code })
  end)
end)

describe("zoomlive-sim rate limits", function()
  local ISO = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"
  local function epoch_of(iso) -- UTC
    local y, mo, d, h, mi, s = iso:match("(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z")
    local days = 0
    local function leap(yy) return (yy % 4 == 0 and yy % 100 ~= 0) or yy % 400 == 0 end
    for yy = 1970, tonumber(y) - 1 do days = days + (leap(yy) and 366 or 365) end
    local mdays = { 31, leap(tonumber(y)) and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
    for m = 1, tonumber(mo) - 1 do days = days + mdays[m] end
    days = days + tonumber(d) - 1
    return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
  end

  it("answers 429 with Zoom's headers when the QPS bucket is empty", function()
    local sim = testing.start{ qps = 2 }
    finally(function() sim:stop() end)
    local url = sim.base_url .. "/meetings/68423085/livestream"
    local limited
    for _ = 1, 6 do
      local r = curl("-H", bearer(), url)
      if r.status == 429 then limited = r break end
      assert.are.equal(200, r.status)
    end
    assert.is_table(limited)
    assert_zoom_error(limited, 429, 429,
      "You have reached the maximum per-second rate limit for this API. Try again later.")
    local h = limited.headers
    assert.are.same({ "Light", "QPS", "2", "0" },
      { h["x-ratelimit-category"], h["x-ratelimit-type"], h["x-ratelimit-limit"], h["x-ratelimit-remaining"] })
    assert.matches(ISO, h["retry-after"])
    local now = sim:clock().now
    local at = epoch_of(h["retry-after"])
    assert.is_true(at >= math.floor(now) and at <= now + 1.5, h["retry-after"] .. " vs " .. now)
    sim:advance(1) -- the bucket refills with sim time
    assert.are.equal(200, curl("-H", bearer(), url).status)
  end)

  it("allows single requests at a fractional QPS", function()
    local sim = testing.start{ qps = 0.5 }
    finally(function() sim:stop() end)
    local url = sim.base_url .. "/meetings/68423085/livestream"
    assert.are.equal(200, curl("-H", bearer(), url).status)
    local r = curl("-H", bearer(), url)
    assert.are.equal(429, r.status)
    assert.are.equal("0.5", r.headers["x-ratelimit-limit"])
    local wait = epoch_of(r.headers["retry-after"]) - sim:clock().now
    assert.is_true(wait > 1 and wait <= 3, "wait " .. wait)
    sim:advance(2)
    assert.are.equal(200, curl("-H", bearer(), url).status)
  end)

  it("enforces the daily cap until the next UTC midnight", function()
    local sim = testing.start{ qps = 1000, daily = 3 }
    finally(function() sim:stop() end)
    local url = sim.base_url .. "/meetings/68423085/livestream"
    for _ = 1, 3 do assert.are.equal(200, curl("-H", bearer(), url).status) end
    local r = curl("-H", bearer(), url)
    assert.are.equal(429, r.status)
    assert.are.equal("Daily-limit", r.headers["x-ratelimit-type"])
    assert.are.equal("3", r.headers["x-ratelimit-limit"])
    local now = sim:clock().now
    assert.are.equal(math.floor(now / 86400 + 1) * 86400, epoch_of(r.headers["retry-after"]))
    sim:advance(86400)
    assert.are.equal(200, curl("-H", bearer(), url).status)
  end)

  it("drops Retry-After and X-RateLimit-* with --no-ratelimit-headers", function()
    local sim = testing.start{ qps = 1, no_ratelimit_headers = true }
    finally(function() sim:stop() end)
    local url = sim.base_url .. "/meetings/68423085/livestream"
    local limited
    for _ = 1, 4 do
      local r = curl("-H", bearer(), url)
      if r.status == 429 then limited = r break end
    end
    assert.is_table(limited)
    assert.are.equal(429, limited.json.code)
    for k in pairs(limited.headers) do assert.is_nil(k:match("^x%-ratelimit") or k:match("^retry%-after"), k) end
    assert.is_string(limited.headers["x-zm-trackingid"])
  end)

  it("refuses a second start within the cooldown until the clock advances", function()
    local sim = testing.start{ qps = 1000 }
    finally(function() sim:stop() end)
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "start").status)
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "stop").status)
    local r = patch_form(sim, "meetings", SEED, "start")
    assert_zoom_error(r, 429, 429, "Too many requests submitted to start the live stream of this meeting: "
      .. "68423085. If the live stream has not already started, retry making a new request after 30 seconds.")
    local last = sim:meeting(SEED).last_start
    assert.are.equal(math.ceil(last + 30), epoch_of(r.headers["retry-after"]))
    assert.are.equal("QPS", r.headers["x-ratelimit-type"])
    assert.are.equal("stopped", sim:meeting(SEED).status)
    sim:advance(30)
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "start").status)
    sim:config{ start_cooldown = 0 }
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "start").status) -- start on live: idempotent
  end)
end)

describe("zoomlive-sim faults", function()
  local sim, url
  setup(function()
    sim = testing.start{ qps = 0 }
    url = sim.base_url .. "/meetings/68423085/livestream"
  end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  local function get() return curl("-m", "2", "-H", bearer(), url) end

  it("resets the connection before the body is read", function()
    sim:fault{ reset = "before", count = 1 }
    local r = patch_form(sim, "meetings", SEED, "start")
    assert.is_true(r.exit == 56 or r.exit == 52, "curl exit " .. r.exit)
    assert.are.equal("stopped", sim:meeting(SEED).status) -- never processed
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "start").status) -- count expired
    assert.are.equal("reset_before", sim:requests()[1].fault)
  end)

  it("resets after the body, optionally after applying the request", function()
    sim:fault{ reset = "after", count = 1, apply = true }
    local r = patch_form(sim, "meetings", SEED, "start")
    assert.is_true(r.exit == 56 or r.exit == 52, "curl exit " .. r.exit)
    assert.are.equal("live", sim:meeting(SEED).status) -- processed, answer lost
    local log = sim:requests()
    assert.are.same({ "reset_after", 0, "start" }, { log[1].fault, log[1].status, log[1].fields.action })
  end)

  it("truncates, hangs, and sends malformed or huge bodies", function()
    sim:fault{ truncate = true, count = 1 }
    assert.are.equal(18, get().exit)
    sim:fault{ hang = true, count = 1 }
    local r = curl("-m", "0.5", "-H", bearer(), url)
    assert.are.equal(28, r.exit)
    sim:fault{ malformed_json = true, count = 1 }
    r = get()
    assert.are.equal(400, r.status)
    assert.is_nil(r.json)
    assert.matches('^{"code": 3001, "message": "Meeting do', r.body)
    sim:fault{ huge_body = 3000000, count = 1 }
    r = get()
    assert.are.equal(500, r.status)
    assert.are.equal(3000000, #r.body)
    assert.are.equal(200, get().status)
  end)

  it("answers error statuses for N requests, scoped", function()
    sim:fault{ status = 503, count = 2, meeting = SEED }
    assert_zoom_error(get(), 503, 503)
    assert.are.equal(200, curl("-H", bearer(), sim.base_url .. "/meetings/93398114182/livestream").status)
    assert_zoom_error(get(), 503, 503)
    assert.are.equal(200, get().status)
    sim:fault{ status = 502, path = "/v2/webinars/" }
    assert.are.equal(200, get().status)
    assert.are.equal(502, curl("-H", bearer(), sim.base_url .. "/webinars/81234567890/livestream").status)
    assert.are.equal(1, #sim:faults())
    sim:clear_faults()
    assert.are.equal(0, #sim:faults())
  end)

  it("adds latency without blocking other connections", function()
    sim:fault{ latency_ms = 1500, meeting = 93398114182 }
    local done_file = os.tmpname()
    os.remove(done_file)
    os.execute("(curl -s -o /dev/null -H " .. shq(bearer()) .. " "
      .. shq(sim.base_url .. "/meetings/93398114182/livestream") .. "; touch " .. shq(done_file) .. ") &")
    local r = get()
    assert.are.equal(200, r.status)
    -- the fast request ended while the delayed one was still held
    local f = io.open(done_file)
    if f then f:close() end
    assert.is_nil(f, "the delayed request finished before the other one")
    finally(function() os.remove(done_file) end)
    r = curl("-H", bearer(), sim.base_url .. "/meetings/93398114182/livestream")
    assert.are.equal(200, r.status)
    assert.is_true(r.time >= 1.5)
  end)

  it("applies a fault at a rate", function()
    sim:fault{ status = 500, rate = 0.5 }
    local counts = {}
    for _ = 1, 40 do
      local s = get().status
      counts[s] = (counts[s] or 0) + 1
    end
    assert.is_true((counts[500] or 0) > 0 and (counts[200] or 0) > 0)
  end)

  it("takes faults from the command line", function()
    local s2 = testing.start{ args = { "--fail-status", "504", "--fail-count", "1" } }
    finally(function() s2:stop() end)
    local u = s2.base_url .. "/meetings/68423085/livestream"
    assert.are.equal(504, curl("-H", bearer(), u).status)
    assert.are.equal(200, curl("-H", bearer(), u).status)
  end)
end)

describe("zoomlive-sim robustness", function()
  local sim
  setup(function() sim = testing.start{ qps = 0, daily = 0 } end)
  teardown(function() sim:stop() end)

  it("survives a burst of 200 malformed raw requests", function()
    local garbage = {
      "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "\0\1\2\3\255\254\r\n\r\n",
      "PATCH /v2/meetings/1/livestream/status HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX: " .. string.rep("a", 300000) .. "\r\n\r\n",
      "POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "PATCH /v2/meetings/1/livestream/status HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 10\r\n\r\n--b\r\n",
      "GET /%zz%00 HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
    }
    for i = 1, 200 do
      local c = assert(socket.tcp())
      c:settimeout(2)
      assert(c:connect("127.0.0.1", sim.port))
      c:send(garbage[(i % #garbage) + 1])
      if i % 3 == 0 then -- sometimes read a little, sometimes just leave
        c:settimeout(0.05)
        c:receive("*l")
      end
      c:close()
    end
    local r = curl("-H", bearer(), sim.base_url .. "/meetings/68423085/livestream")
    assert.are.equal(200, r.status)
  end)

  it("serves 64 concurrent keep-alive connections", function()
    local conns = {}
    finally(function() for _, c in ipairs(conns) do c:close() end end)
    for i = 1, 64 do
      local c = assert(socket.tcp())
      c:settimeout(5)
      assert(c:connect("127.0.0.1", sim.port))
      conns[i] = c
    end
    local req = "GET /v2/meetings/68423085/livestream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sim-token\r\n\r\n"
    for round = 1, 2 do
      for _, c in ipairs(conns) do assert(c:send(req)) end
      for i, c in ipairs(conns) do
        local line = assert(c:receive("*l"))
        assert.are.equal("HTTP/1.1 200 OK", line, "conn " .. i .. " round " .. round)
        local len
        repeat
          local h = assert(c:receive("*l"))
          len = len or tonumber(h:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)"))
        until h == ""
        assert(c:receive(len))
      end
    end
  end)

  it("serves curl --parallel with 64 connections", function()
    local urls = {}
    for i = 1, 128 do urls[i] = "-o /dev/null " .. shq(sim.base_url .. "/meetings/" .. (90000000000 + i) .. "/livestream") end
    local p = io.popen("curl -s --parallel --parallel-max 64 -w '%{http_code}\\n' -H "
                       .. shq(bearer()) .. " " .. table.concat(urls, " ") .. " 2>/dev/null", "r")
    local out = p:read("a")
    p:close()
    local n = 0
    for code in out:gmatch("%d+") do
      assert.are.equal("404", code) -- no fixtures here: well-formed but unknown
      n = n + 1
    end
    assert.are.equal(128, n)
  end)
end)

describe("zoomlive-sim fixtures and flags", function()
  it("loads a fixtures file with lists, maps and generated ranges", function()
    local sim = testing.start{ fixtures = "spec/fixtures/sim_fixtures.json" }
    finally(function() sim:stop() end)
    local r = curl("-H", bearer(), sim.base_url .. "/meetings/555000111/livestream")
    assert.are.same({ stream_url = "rtmp://fixture.example/app", stream_key = "fixture-key",
                      page_url = "https://fixture.example/p", resolution = "1080p" }, r.json)
    assert.are.equal("gallery_view", sim:meeting(555000111).settings.layout)
    assert_zoom_error(patch_form(sim, "meetings", "9223372036854775807", "start"), 400, 3000)
    assert_zoom_error(patch_form(sim, "meetings", "9223372036854775808", "start"), 400, 300)
    assert_zoom_error(patch_form(sim, "webinars", 777000111, "start"), 400, 3161)
    assert.are.equal(204, patch_form(sim, "meetings", 90000004999, "start").status)
    assert_zoom_error(patch_form(sim, "meetings", 90000005000, "start"), 404, 3001)
    assert.are.equal("live", sim:webinar(91000000003).status)
    assert.are.equal(204, patch_form(sim, "meetings", SEED, "start").status) -- defaults kept
  end)

  it("makes every well-formed meeting id exist with --any-meeting", function()
    local sim = testing.start{ any_meeting = true, qps = 0 }
    finally(function() sim:stop() end)
    for _, id in ipairs{ 1, 424242, 123456789012345 } do
      assert.are.equal(204, patch_form(sim, "meetings", id, "start").status)
    end
    assert_zoom_error(patch_form(sim, "webinars", 424242, "start"), 404, 3001)
  end)

  it("accepts extra tokens and refuses a bad fixtures file", function()
    local sim = testing.start{ token = "abc", args = { "--token", "def" } }
    finally(function() sim:stop() end)
    local url = sim.base_url .. "/meetings/68423085/livestream"
    assert.are.equal(200, curl("-H", bearer("abc"), url).status)
    assert.are.equal(200, curl("-H", bearer("def"), url).status)
    assert.are.equal(401, curl("-H", bearer("sim-token"), url).status)
    assert.has_error(function() testing.start{ fixtures = "spec/fixtures/does-not-exist.json" } end)
  end)

  it("serves HTTPS with --tls-cert/--tls-key", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. shq(dir) .. " && openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout "
      .. shq(dir .. "/key.pem") .. " -out " .. shq(dir .. "/cert.pem") .. " >/dev/null 2>&1"))
    local sim = testing.start{ tls_cert = dir .. "/cert.pem", tls_key = dir .. "/key.pem" }
    finally(function() sim:stop(); os.execute("rm -rf " .. shq(dir)) end)
    assert.matches("^https://", sim.url)
    local r = curl("--cacert", dir .. "/cert.pem", "-H", bearer(), sim.base_url .. "/meetings/68423085/livestream")
    assert.are.equal(200, r.status)
    assert.are.equal("live", (function()
      assert.are.equal(204, curl("--cacert", dir .. "/cert.pem", "-X", "PATCH", "-H", bearer(), "--form-string", "action=start",
        status_url(sim, "meetings", SEED)).status)
      return sim:meeting(SEED).status
    end)())
  end)
end)

describe("zoomlive.testing", function()
  it("starts, reports and stops idempotently", function()
    local sim = testing.start{ qps = 1000, args = { "--token-ttl", "2" } }
    assert.matches("^http://127%.0%.0%.1:%d+/v2$", sim.base_url)
    assert.are.equal(sim.url .. "/v2", sim.base_url)
    assert.are.equal("sim-token", sim.token)
    assert.is_number(sim.pid)
    assert.are.equal("ok", sim:health().status)
    assert.are.equal(2, sim:config().token_ttl)
    assert.are.equal(50, sim:config{ qps = 50 }.qps)
    local id = sim:fault{ status = 503, count = 2, path = "/v2/meetings/1/" }
    assert.is_number(id)
    assert.are.same({ id + 1, id + 2 }, sim:fault{ { latency_ms = 1 }, { hang = true, path = "/nowhere" } })
    sim:remove_fault(id)
    assert.are.equal(2, #sim:faults())
    assert.are.equal(30, sim:advance(30).offset)
    assert.is_true(sim:stop())
    assert.is_true(sim:stop())
    assert.has_error(function() sim:health() end)
    assert.has_error(function() testing.start{ exe = "/nonexistent/zoomlive-sim" } end)
    assert.has_error(function() testing.start{ args = { "--bogus" } } end)
  end)

  it("works with <close>", function()
    local pid
    do
      local sim <close> = testing.start{}
      pid = sim.pid
      assert.are.equal("ok", sim:health().status)
    end
    local ok = os.execute("kill -0 " .. pid .. " 2>/dev/null")
    assert.is_falsy(ok)
  end)
end)
