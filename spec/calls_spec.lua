-- Every live-stream call for meetings and webinars, on a client and as a
-- module function with the default client, end to end against zoomlive-sim:
-- start/stop/mode in both encodings, get, configure (all its validation),
-- the webinar calls, Zoom's errors, the error shape, and the stream key
-- kept out of every error.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local cjson = require "cjson"
local strings = require("support").strings
local support = require "support"

local SEED = 68423085            -- configured, started, stopped
local BIG = 93398114182          -- configured, started, stopped
local LIVE = 85746065432         -- live
local UNCONFIGURED = 10000000001
local NOT_STARTED = 10000000002
local FOREIGN_HOST = 10000000003
local UNLICENSED = 10000000004
local NO_HOST = 10000000005
local MISSING = 99999999999

local W_READY = 81234567890      -- ready, stopped
local W_UNCONFIGURED = 82000000001
local W_NOT_STARTED = 82000000002
local W_LIVE = 82000000003
local W_FOREIGN_HOST = 82000000004
local W_UNLICENSED = 82000000005
local W_NO_HOST = 82000000006

local KEY = "sEcReT-sTrEaM-kEy-0123456789"

local function cfg(over)
  local c = { stream_url = "rtmp://live.example.com/app", stream_key = KEY,
    page_url = "https://example.com/live", resolution = "1080p" }
  for k, v in pairs(over or {}) do
    if v == false then c[k] = nil else c[k] = v end
  end
  return c
end


local function assert_no_key(err, key)
  key = key or KEY
  assert.is_nil(tostring(err):find(key, 1, true))
  for _, s in ipairs(strings(err)) do
    assert.is_nil(s:find(key, 1, true), "stream key found in error: " .. s:sub(1, 200))
  end
end

-- the shape update's HTTP errors have
local function assert_http_error(err, info, status, code, message)
  assert.are.equal("http", err.kind)
  assert.are.equal(status, err.status)
  assert.are.equal(code, err.code)
  assert.are.equal("integer", math.type(err.code))
  assert.is_string(err.message)
  if message then assert.are.equal(message, err.message) end
  assert.is_string(err.tracking_id)
  assert.are.equal(err.tracking_id, info.tracking_id)
  assert.is_string(err.body)
  assert.truthy(err.body:find('"code":' .. code, 1, true))
  assert.are.equal(1, err.attempts)
  assert.are.equal(1, info.attempts)
  local line = tostring(err)
  assert.is_nil(line:find("\n", 1, true))
  assert.are.equal(string.format("zoomlive: HTTP %d (Zoom %d) %s", status, code, err.message), line)
end

describe("live-stream calls", function()
  local sim, client

  setup(function()
    sim = testing.start { qps = 100000, daily = 0 }
  end)
  teardown(function()
    if client then client:close() end
    zoomlive.set_default(nil)
    sim:stop()
  end)
  before_each(function()
    sim:reset()
    if client then client:close() end
    client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
  end)

  local function last_request() return support.last_request(sim) end

  -- runs f(call) twice: call(name, ...) is client:name(...), then the module
  -- function zoomlive.name(...) with a default client on the simulator
  local function both_ways(f)
    f(function(name, ...) return client[name](client, ...) end, "client")
    sim:reset()
    local d = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
    zoomlive.set_default(d)
    local ok, e = pcall(f, function(name, ...) return zoomlive[name](...) end, "module")
    zoomlive.set_default(nil)
    d:close()
    if not ok then error(e, 0) end
  end

  describe("meetings", function()
    for _, enc in ipairs({ "multipart", "json" }) do
      describe("with " .. enc .. " bodies", function()
        local c
        before_each(function()
          c = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0, encoding = enc }
        end)
        after_each(function() c:close() end)

        local function sent()
          local r = last_request()
          if enc == "multipart" then
            assert.truthy(r.content_type:match("^multipart/form%-data; boundary="))
            return r.fields.action, r.fields.settings and cjson.decode(r.fields.settings)
          end
          assert.truthy(r.content_type:match("^application/json"))
          return r.fields.action, r.fields.settings
        end

        it("start applies its settings and makes the stream live", function()
          local status, err, info = c:start(BIG, { display_name = "Town hall", layout = "speaker_view",
            active_speaker_name = true, close_caption = "embedded" })
          assert.are.equal(204, status)
          assert.is_nil(err)
          assert.are.equal(1, info.attempts)
          assert.is_string(info.tracking_id)
          local action, settings = sent()
          assert.are.equal("start", action)
          assert.are.same({ display_name = "Town hall", layout = "speaker_view",
            active_speaker_name = true, close_caption = "embedded" }, settings)
          assert.are.equal("/v2/meetings/93398114182/livestream/status", last_request().path)
          local m = sim:meeting(BIG)
          assert.are.equal("live", m.status)
          assert.are.equal("Town hall", m.settings.display_name)
          assert.are.equal("speaker_view", m.settings.layout)
          assert.are.equal(true, m.settings.active_speaker_name)
          assert.are.equal("embedded", m.settings.close_caption)
        end)

        it("start without settings sends only the action", function()
          assert.are.equal(204, (c:start(SEED)))
          local action, settings = sent()
          assert.are.equal("start", action)
          assert.is_nil(settings)
          assert.are.equal("live", sim:meeting(SEED).status)
        end)

        it("stop stops a live stream", function()
          local status, err = c:stop(LIVE)
          assert.are.equal(204, status)
          assert.is_nil(err)
          local action, settings = sent()
          assert.are.equal("stop", action)
          assert.is_nil(settings)
          assert.are.equal("stopped", sim:meeting(LIVE).status)
        end)

        it("mode changes the layout and captions of a live stream", function()
          local status, err = c:mode(LIVE, { layout = "gallery_view", close_caption = "off" })
          assert.are.equal(204, status)
          assert.is_nil(err)
          local action, settings = sent()
          assert.are.equal("mode", action)
          assert.are.same({ layout = "gallery_view", close_caption = "off" }, settings)
          local m = sim:meeting(LIVE)
          assert.are.equal("live", m.status)
          assert.are.equal("gallery_view", m.settings.layout)
          assert.are.equal("off", m.settings.close_caption)
        end)

        it("update takes the three actions", function()
          assert.are.equal(204, (c:update(BIG, "start")))
          assert.are.equal(204, (c:update(BIG, "mode", { layout = "speaker_view" })))
          assert.are.equal(204, (c:update(BIG, "stop")))
          local log = sim:requests()
          assert.are.equal(3, #log)
          assert.are.same({ "start", "mode", "stop" },
            { log[1].payload.action, log[2].payload.action, log[3].payload.action })
          assert.are.equal("speaker_view", sim:meeting(BIG).settings.layout)
        end)
      end)
    end

    it("every method works on the client and as a module function", function()
      both_ways(function(call, how)
        assert.are.equal(204, (call("start", BIG, { display_name = how })), how)
        assert.are.equal(how, sim:meeting(BIG).settings.display_name)
        assert.are.equal(204, (call("mode", BIG, { layout = "gallery_view" })), how)
        assert.are.equal(204, (call("stop", BIG)), how)
        assert.are.equal(204, (call("update", LIVE, "stop")), how)
        assert.are.equal(204, (call("configure", SEED, cfg())), how)
        local got, err, info = call("get", SEED)
        assert.is_nil(err)
        assert.is_string(info.tracking_id)
        assert.are.same({ stream_url = "rtmp://live.example.com/app", stream_key = KEY,
          page_url = "https://example.com/live", resolution = "1080p" }, got)
        local paths = {}
        for i, r in ipairs(sim:requests()) do paths[i] = r.method .. " " .. r.path end
        assert.are.same({
          "PATCH /v2/meetings/93398114182/livestream/status",
          "PATCH /v2/meetings/93398114182/livestream/status",
          "PATCH /v2/meetings/93398114182/livestream/status",
          "PATCH /v2/meetings/85746065432/livestream/status",
          "PATCH /v2/meetings/68423085/livestream",
          "GET /v2/meetings/68423085/livestream",
        }, paths)
      end)
    end)

    it("the module functions use the default client that set_default installed", function()
      local d = zoomlive.new { token = sim.token, base_url = sim.base_url }
      finally(function()
        zoomlive.set_default(nil)
        d:close()
      end)
      zoomlive.set_default(d)
      assert.are.equal(d, zoomlive.default())
      assert.are.equal(204, (zoomlive.stop(SEED)))
      assert.are.equal(1, #sim:requests())
      assert.has_error(function() zoomlive.set_default({}) end)
    end)

    it("refuses settings on a start of a live stream (400/4400)", function()
      local status, err, info = client:start(LIVE, { display_name = "late" })
      assert.are.equal(400, status)
      assert_http_error(err, info, 400, 4400)
    end)

    it("refuses mode without settings before sending, as Zoom's validation would", function()
      local status, err, info = client:mode(LIVE)
      assert.is_nil(status)
      assert.are.equal("argument", err.kind)
      assert.are.equal("settings", err.field)
      assert.are.equal(0, info.attempts)
      assert.are.equal(0, #sim:requests())
      assert.are.equal("live", sim:meeting(LIVE).status)
    end)

    it("refuses mode with a display_name or active_speaker_name before sending", function()
      for _, s in ipairs({ { display_name = "no" }, { active_speaker_name = true, layout = "gallery_view" } }) do
        local status, err = client:mode(LIVE, s)
        assert.is_nil(status)
        assert.are.equal("argument", err.kind)
        assert.truthy(err.field == "settings.display_name" or err.field == "settings.active_speaker_name")
      end
      assert.are.equal(0, #sim:requests())
      -- the simulator, as Zoom, refuses the same body: 400/300 Validation Failed.
      local conn = require("zoomlive.core").new()
      local r = conn:perform { method = "PATCH", url = sim.base_url .. "/meetings/" .. LIVE .. "/livestream/status",
        token = sim.token, content_type = "application/json",
        body = '{"action":"mode","settings":{"display_name":"no"}}' }
      conn:close()
      local st, body = r.status, r.body
      assert.are.equal(400, st)
      assert.are.equal(300, require("cjson").decode(body).code)
    end)

    it("refuses mode on a stopped stream (400/4400)", function()
      local status, err, info = client:mode(SEED, { layout = "gallery_view" })
      assert.are.equal(400, status)
      assert_http_error(err, info, 400, 4400)
      assert.are.equal("follow_host", sim:meeting(SEED).settings.layout)
    end)

    it("refuses bad settings for start and mode before sending", function()
      for _, c in ipairs({
        { "start", "settings.layout", { layout = "grid" } },
        { "mode", "settings.close_caption", { close_caption = "on" } },
        { "start", "settings.colour", { colour = "red" } },
      }) do
        local status, err, info = client[c[1]](client, LIVE, c[3])
        assert.is_nil(status)
        assert.are.equal("argument", err.kind)
        assert.are.equal(c[2], err.field)
        assert.are.equal(0, info.attempts)
      end
      assert.are.equal(0, #sim:requests())
    end)

    describe("Zoom's documented errors, for every call", function()
      local cases = {
        { "an unknown meeting", MISSING, 404, 3001, "Meeting does not exist: 99999999999." },
        { "a host outside the account", FOREIGN_HOST, 400, 1010 },
        { "an unlicensed host", UNLICENSED, 400, 3161,
          "Your user account is not allowed meeting hosting and scheduling capabilities." },
        { "a host that does not exist", NO_HOST, 404, 1001 },
      }
      for _, c in ipairs(cases) do
        it("start, stop, get and configure report " .. c[1], function()
          for _, call in ipairs({
            function() return client:start(c[2]) end,
            function() return client:stop(c[2]) end,
            function() return client:get(c[2]) end,
            function() return client:configure(c[2], cfg()) end,
          }) do
            local status, err, info = call()
            if status ~= nil then assert.are.equal(c[3], status) end
            assert_http_error(err, info, c[3], c[4], c[5])
            assert_no_key(err)
          end
          assert.are.equal(4, #sim:requests())
        end)
      end

      it("start reports a meeting without streaming configured (400/3000)", function()
        local status, err, info = client:start(UNCONFIGURED)
        assert.are.equal(400, status)
        assert_http_error(err, info, 400, 3000,
          "The current meeting is not configured with a custom streaming service.")
      end)

      it("start reports a meeting that has not started (400/3000)", function()
        local status, err, info = client:start(NOT_STARTED)
        assert.are.equal(400, status)
        assert_http_error(err, info, 400, 3000, "Meeting 10000000002 has not started.")
      end)
    end)
  end)

  describe("get", function()
    it("returns the four fields, nil, info", function()
      local got, err, info = client:get(SEED)
      assert.is_nil(err)
      assert.are.same({ stream_url = "rtmp://live.example.com/app", stream_key = "key-68423085",
        page_url = "https://live.example.com/watch/68423085" }, got)
      assert.is_string(info.tracking_id)
      assert.are.equal(1, info.attempts)
      local r = last_request()
      assert.are.equal("GET", r.method)
      assert.are.equal("/v2/meetings/68423085/livestream", r.path)
    end)

    it("returns empty strings for a meeting without streaming configured", function()
      local got, err = client:get(UNCONFIGURED)
      assert.is_nil(err)
      assert.are.equal("", got.stream_url)
      assert.are.equal("", got.stream_key)
      assert.are.equal("", got.page_url)
    end)

    it("returns nil, err, info on an HTTP error", function()
      local got, err, info = client:get(MISSING)
      assert.is_nil(got)
      assert_http_error(err, info, 404, 3001, "Meeting does not exist: 99999999999.")
    end)

    it("returns nil, err of kind protocol for a malformed 200 body", function()
      sim:fault { malformed_json = true, status = 200, count = 1 }
      local got, err, info = client:get(SEED)
      assert.is_nil(got)
      assert.are.equal("protocol", err.kind)
      assert.are.equal(200, err.status)
      assert.is_string(err.message)
      assert.is_string(err.tracking_id)
      assert.are.equal(err.tracking_id, info.tracking_id)
      assert.are.equal(1, err.attempts)
      assert.is_nil(tostring(err):find("\n", 1, true))
      assert.truthy(tostring(err):match("^zoomlive: protocol"))
    end)

    it("returns nil, err with a capped body for a huge error body", function()
      sim:fault { huge_body = 1024 * 1024, count = 1 }
      local got, err = client:get(SEED)
      assert.is_nil(got)
      assert.are.equal("http", err.kind)
      assert.are.equal(500, err.status)
      assert.are.equal(64 * 1024, #err.body)
      assert.is_nil(tostring(err):find("\n", 1, true))
    end)

    it("returns nil, err of kind protocol for a huge 200 body", function()
      sim:fault { huge_body = 1024 * 1024, status = 200, count = 1 }
      local got, err = client:get(SEED)
      assert.is_nil(got)
      assert.are.equal("protocol", err.kind)
      assert.are.equal(200, err.status)
    end)

    it("refuses a bad id as an argument error, sending nothing", function()
      local got, err, info = client:get("12a")
      assert.is_nil(got)
      assert.are.equal("argument", err.kind)
      assert.are.equal("meeting_id", err.field)
      assert.are.equal(0, info.attempts)
      assert.are.equal(0, #sim:requests())
    end)
  end)

  describe("configure", function()
    it("stores the values: the simulator reports them, get returns them", function()
      local status, err, info = client:configure(SEED, cfg())
      assert.are.equal(204, status)
      assert.is_nil(err)
      assert.is_string(info.tracking_id)
      local r = last_request()
      assert.are.equal("PATCH", r.method)
      assert.are.equal("/v2/meetings/68423085/livestream", r.path)
      assert.truthy(r.content_type:match("^application/json"))
      local s = sim:meeting(SEED).stream
      assert.are.equal(true, s.configured)
      assert.are.equal("rtmp://live.example.com/app", s.stream_url)
      assert.are.equal(KEY, s.stream_key)
      assert.are.equal("https://example.com/live", s.page_url)
      assert.are.equal("1080p", s.resolution)
      assert.are.same(cfg(), (client:get(SEED)))
    end)

    it("leaves resolution out when not given", function()
      assert.are.equal(204, (client:configure(SEED, cfg { resolution = false })))
      assert.is_nil(cjson.decode(last_request().body).resolution)
      assert.are.equal(204, (client:configure(SEED, cfg { resolution = "720p" })))
      assert.are.equal("720p", sim:meeting(SEED).stream.resolution)
    end)

    it("makes an unconfigured meeting's stream startable", function()
      assert.are.equal(400, (client:start(UNCONFIGURED)))
      assert.are.equal(204, (client:configure(UNCONFIGURED, cfg())))
      assert.are.equal(true, sim:meeting(UNCONFIGURED).stream.configured)
      local status, err = client:start(UNCONFIGURED)
      assert.are.equal(204, status)
      assert.is_nil(err)
      assert.are.equal("live", sim:meeting(UNCONFIGURED).status)
    end)

    it("accepts the longest values", function()
      local url = "rtmp://live.example.com/" .. string.rep("u", 1024 - #"rtmp://live.example.com/")
      local page = "https://example.com/" .. string.rep("p", 1024 - #"https://example.com/")
      local key = string.rep("k", 512)
      assert.are.equal(1024, #url)
      assert.are.equal(1024, #page)
      local status, err = client:configure(SEED, cfg { stream_url = url, page_url = page, stream_key = key })
      assert.are.equal(204, status)
      assert.is_nil(err)
      local s = sim:meeting(SEED).stream
      assert.are.equal(url, s.stream_url)
      assert.are.equal(page, s.page_url)
      assert.are.equal(key, s.stream_key)
    end)

    local bad = {
      { "stream_url", "too long", { stream_url = "rtmp://x/" .. string.rep("u", 1016) } },
      { "stream_key", "too long", { stream_key = KEY .. string.rep("k", 513 - #KEY) } },
      { "page_url", "too long", { page_url = "https://x/" .. string.rep("p", 1015) } },
      { "stream_url", "missing", { stream_url = false } },
      { "stream_key", "missing", { stream_key = false } },
      { "page_url", "missing", { page_url = false } },
      { "stream_url", "empty", { stream_url = "" } },
      { "stream_key", "empty", { stream_key = "" } },
      { "page_url", "empty", { page_url = "" } },
      { "stream_key", "a number", { stream_key = 42 } },
      { "page_url", "relative", { page_url = "/live" } },
      { "page_url", "without scheme", { page_url = "example.com/live" } },
      { "page_url", "with a space", { page_url = "https://example.com/a b" } },
      { "stream_url", "not a URL", { stream_url = "live.example.com" } },
      { "resolution", "480p", { resolution = "480p" } },
      { "resolution", "1080P", { resolution = "1080P" } },
      { "resolution", "a number", { resolution = 720 } },
      { "bitrate", "an unknown field", { bitrate = 5000 } },
    }
    for _, field in ipairs({ "stream_url", "stream_key", "page_url" }) do
      for _, ch in ipairs({ { "CR", "\r" }, { "LF", "\n" }, { "NUL", "\0" } }) do
        local v = cfg()[field]
        bad[#bad + 1] = { field, "holding " .. ch[1], { [field] = v:sub(1, 10) .. ch[2] .. v:sub(11) } }
      end
    end
    for _, c in ipairs(bad) do
      it("refuses " .. c[1] .. " " .. c[2] .. " before sending, never echoing the key", function()
        local status, err, info = client:configure(SEED, cfg(c[3]))
        assert.is_nil(status)
        assert.are.equal("argument", err.kind)
        assert.are.equal(c[1], err.field)
        assert.are.equal(0, info.attempts)
        assert.truthy(tostring(err):match("^zoomlive: bad argument '" .. c[1] .. "': "))
        assert.is_nil(tostring(err):find("\n", 1, true))
        assert_no_key(err)
        if type(c[3].stream_key) == "string" and #c[3].stream_key > 0 then
          assert_no_key(err, c[3].stream_key)
        end
        assert.are.equal(0, #sim:requests())
        assert.are.equal("key-68423085", sim:meeting(SEED).stream.stream_key)
      end)
    end

    it("raises when the configuration is not a table", function()
      assert.has_error(function() client:configure(SEED, "rtmp://x") end,
        "bad argument #2 to 'configure' (table expected, got string)")
      assert.are.equal(0, #sim:requests())
    end)

    describe("never puts the stream key in an error", function()
      local faults = {
        { "a 503", { status = 503 } },
        { "a 400 from a fault", { status = 400 } },
        { "a malformed body", { malformed_json = true } },
        { "a huge body", { huge_body = 200000 } },
        { "a reset after the body was read", { reset = "after" } },
        { "a truncated answer after applying", { truncate = true, apply = true } },
      }
      for _, f in ipairs(faults) do
        it("when configure meets " .. f[1], function()
          local fault = { meeting = SEED, count = 1 }
          for k, v in pairs(f[2]) do fault[k] = v end
          sim:fault(fault)
          local status, err, info = client:configure(SEED, cfg())
          assert.are_not.equal(204, status)
          assert.is_table(err)
          assert_no_key(err)
          assert_no_key(info)
          assert.are.equal(1, #sim:requests())
        end)
      end

      it("when a get meets a truncated or malformed 200", function()
        assert.are.equal(204, (client:configure(SEED, cfg())))
        sim:fault { meeting = SEED, truncate = true, count = 1 }
        local got, err = client:get(SEED)
        assert.is_nil(got)
        assert_no_key(err)
        sim:fault { meeting = SEED, malformed_json = true, status = 200, count = 1 }
        got, err = client:get(SEED)
        assert.is_nil(got)
        assert_no_key(err)
      end)

      it("when retries give up, with the last error", function()
        local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 2,
          sleep = function() end }
        sim:fault { meeting = SEED, status = 503, count = 5 }
        local status, err = c:configure(SEED, cfg())
        assert.are.equal(503, status)
        assert.are.equal(3, err.attempts)
        assert_no_key(err)
      end)
    end)
  end)

  describe("webinars", function()
    for _, enc in ipairs({ "multipart", "json" }) do
      it("start and stop with " .. enc .. " bodies change the webinar's state", function()
        local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0,
          encoding = enc }
        local settings = { active_speaker_name = true, display_name = "Webinar", close_caption = "off" }
        local status, err, info = c:webinar_start(W_READY, settings)
        assert.are.equal(204, status)
        assert.is_nil(err)
        assert.is_string(info.tracking_id)
        local r = last_request()
        assert.are.equal("/v2/webinars/81234567890/livestream/status", r.path)
        assert.are.equal("start", r.fields.action)
        local fs = r.fields.settings
        if enc == "multipart" then fs = cjson.decode(fs) end
        assert.are.same(settings, fs)
        assert.are.same(settings, r.payload.settings)
        local w = sim:webinar(W_READY)
        assert.are.equal("live", w.status)
        assert.are.equal("Webinar", w.settings.display_name)
        assert.are.equal("off", w.settings.close_caption)
        assert.are.equal(true, w.settings.active_speaker_name)
        assert.are.equal(204, (c:webinar_stop(W_READY)))
        assert.are.equal("stop", last_request().fields.action)
        assert.are.equal("stopped", sim:webinar(W_READY).status)
        assert.are.equal(204, (c:webinar_update(W_LIVE, "stop")))
        assert.are.equal("stopped", sim:webinar(W_LIVE).status)
      end)
    end

    it("every webinar method works on the client and as a module function", function()
      both_ways(function(call, how)
        assert.are.equal(204, (call("webinar_start", W_READY, { display_name = how })), how)
        assert.are.equal(how, sim:webinar(W_READY).settings.display_name)
        assert.are.equal(204, (call("webinar_stop", W_READY)), how)
        assert.are.equal(204, (call("webinar_update", W_LIVE, "stop")), how)
        assert.are.equal(204, (call("webinar_configure", W_READY, cfg())), how)
        local got, err, info = call("webinar_get", W_READY)
        assert.is_nil(err)
        assert.is_string(info.tracking_id)
        assert.are.same(cfg(), got)
        local s = sim:webinar(W_READY).stream
        assert.are.equal(KEY, s.stream_key)
        assert.are.equal("1080p", s.resolution)
        local paths = {}
        for i, r in ipairs(sim:requests()) do paths[i] = r.method .. " " .. r.path end
        assert.are.same({
          "PATCH /v2/webinars/81234567890/livestream/status",
          "PATCH /v2/webinars/81234567890/livestream/status",
          "PATCH /v2/webinars/82000000003/livestream/status",
          "PATCH /v2/webinars/81234567890/livestream",
          "GET /v2/webinars/81234567890/livestream",
        }, paths)
      end)
    end)

    it("has no mode: webinar_update(id, \"mode\") is an argument error", function()
      local status, err, info = client:webinar_update(W_LIVE, "mode", { close_caption = "off" })
      assert.is_nil(status)
      assert.are.equal("argument", err.kind)
      assert.are.equal("action", err.field)
      assert.are.equal(0, info.attempts)
      assert.is_nil(zoomlive.webinar_mode)
      assert.is_nil(client.webinar_mode)
      assert.are.equal(0, #sim:requests())
    end)

    it("refuses layout in webinar settings, before sending", function()
      local status, err = client:webinar_start(W_READY, { layout = "gallery_view" })
      assert.is_nil(status)
      assert.are.equal("argument", err.kind)
      assert.are.equal("settings.layout", err.field)
      assert.truthy(err.message:find("unknown setting", 1, true))
      assert.are.equal(0, #sim:requests())
    end)

    it("refuses a bad webinar id as webinar_id", function()
      local status, err = client:webinar_stop("-5")
      assert.is_nil(status)
      assert.are.equal("webinar_id", err.field)
      local got, gerr = client:webinar_get(0)
      assert.is_nil(got)
      assert.are.equal("webinar_id", gerr.field)
      assert.are.equal(0, #sim:requests())
    end)

    it("validates webinar_configure like configure", function()
      local status, err = client:webinar_configure(W_READY, cfg { page_url = "/relative" })
      assert.is_nil(status)
      assert.are.equal("page_url", err.field)
      status, err = client:webinar_configure(W_READY, cfg { stream_key = KEY .. string.rep("x", 600) })
      assert.is_nil(status)
      assert.are.equal("stream_key", err.field)
      assert_no_key(err)
      assert.are.equal(0, #sim:requests())
    end)

    it("makes an unconfigured webinar startable by configuring it", function()
      assert.are.equal(400, (client:webinar_start(W_UNCONFIGURED)))
      assert.are.equal(204, (client:webinar_configure(W_UNCONFIGURED, cfg())))
      assert.are.equal(204, (client:webinar_start(W_UNCONFIGURED)))
      assert.are.equal("live", sim:webinar(W_UNCONFIGURED).status)
    end)

    local cases = {
      { "an unconfigured webinar", W_UNCONFIGURED, 400, 3000,
        "The current webinar is not configured with a custom streaming service." },
      { "a webinar that has not started", W_NOT_STARTED, 400, 200, "Webinar 82000000002 has not started." },
      { "an unknown webinar", MISSING, 404, 3001, "Webinar does not exist: 99999999999." },
      { "a host outside the account", W_FOREIGN_HOST, 400, 1010 },
      { "an unlicensed host", W_UNLICENSED, 400, 3161 },
      { "a host that does not exist", W_NO_HOST, 404, 1001 },
    }
    for _, c in ipairs(cases) do
      it("webinar_start reports " .. c[1] .. " (" .. c[3] .. "/" .. c[4] .. ")", function()
        local status, err, info = client:webinar_start(c[2])
        assert.are.equal(c[3], status)
        assert_http_error(err, info, c[3], c[4], c[5])
      end)
    end

    for _, c in ipairs({ cases[3], cases[4], cases[5], cases[6] }) do
      it("webinar_get and webinar_configure report " .. c[1], function()
        local got, err, info = client:webinar_get(c[2])
        assert.is_nil(got)
        assert_http_error(err, info, c[3], c[4], c[5])
        local status
        status, err, info = client:webinar_configure(c[2], cfg())
        assert.are.equal(c[3], status)
        assert_http_error(err, info, c[3], c[4], c[5])
        assert_no_key(err)
      end)
    end

    it("reports a meeting id given as a webinar as Zoom does (404/3001)", function()
      local status, err, info = client:webinar_stop(SEED)
      assert.are.equal(404, status)
      assert_http_error(err, info, 404, 3001, "Webinar does not exist: 68423085.")
    end)
  end)
end)
