-- The seed's call, end to end against zoomlive-sim: every line of the
-- return contract, both encodings, Zoom's documented errors, ids, and the
-- request on the wire as a parser we did not write decodes it.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local cjson = require "cjson"

local SEED = 68423085            -- configured, started, stopped
local BIG = 93398114182          -- 11 digits, configured, started, stopped
local LIVE = 85746065432         -- a stream that is live
local UNCONFIGURED = 10000000001
local NOT_STARTED = 10000000002
local FOREIGN_HOST = 10000000003
local UNLICENSED = 10000000004
local NO_HOST = 10000000005
local MISSING = 99999999999

local function lua_cmd()
  return os.getenv("ZOOMLIVE_LUA") or "lua5.4"
end

local shq = require("support").shq
local support = require "support"

describe("zoomlive.update", function()
  local sim, client

  setup(function()
    sim = testing.start { qps = 100000, daily = 0 }
  end)
  teardown(function()
    if client then client:close() end
    sim:stop()
  end)
  before_each(function()
    sim:reset()
    if client then client:close() end
    -- the multipart form, as Zoom's older spec declared it; JSON is the default
    client = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0, encoding = "multipart" }
  end)

  local function last_request() return support.last_request(sim) end

  describe("on success", function()
    it("starts with multipart/form-data: 204, nil, and the fields the simulator decoded", function()
      local status, err, info = client:update(SEED, "start",
        { active_speaker_name = false, display_name = "Town hall" })
      assert.are.equal(204, status)
      assert.is_nil(err)
      assert.are.equal(1, info.attempts)
      assert.is_string(info.tracking_id)
      local r = last_request()
      assert.are.equal("PATCH", r.method)
      assert.are.equal("/v2/meetings/68423085/livestream/status", r.path)
      assert.truthy(r.content_type:match("^multipart/form%-data; boundary="))
      assert.are.equal("start", r.fields.action)
      assert.are.same({ active_speaker_name = false, display_name = "Town hall" },
        cjson.decode(r.fields.settings))
      assert.are.equal("live", sim:meeting(SEED).status)
      assert.are.equal("Town hall", sim:meeting(SEED).settings.display_name)
    end)

    it("sends the headers the contract names, the token masked in the log", function()
      assert.are.equal(204, (client:update(SEED, "stop")))
      local h = last_request().headers
      assert.truthy(h.authorization:match("^Bearer "))
      assert.is_nil(h.authorization:find(sim.token, 1, true))
      assert.are.equal("application/json", h.accept)
      assert.truthy(h["user-agent"]:match("^zoomlive/%d+%.%d+%.%d+$"), h["user-agent"])
    end)

    it("leaves the settings part out when no settings are given", function()
      assert.are.equal(204, (client:update(SEED, "stop")))
      local r = last_request()
      assert.are.equal(1, #r.parts)
      assert.are.equal("action", r.parts[1].name)
      assert.are.equal("stop", r.parts[1].value)
    end)

    it("sends Zoom's current JSON body by default", function()
      local j <close> = zoomlive.new { token = sim.token, base_url = sim.base_url }
      assert.are.equal("json", j.encoding)
      assert.are.equal(204, (j:update(SEED, "start", { display_name = "Town hall" })))
      local r = last_request()
      assert.truthy(r.content_type:match("^application/json"))
      assert.are.same({ action = "start", settings = { display_name = "Town hall" } }, r.fields)
    end)

    it("sends Zoom's current JSON body with encoding = \"json\"", function()
      local j <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, encoding = "json" }
      assert.are.equal(204, (j:update(SEED, "start", { layout = "gallery_view", close_caption = "off" })))
      local r = last_request()
      assert.truthy(r.content_type:match("^application/json"))
      assert.are.equal("start", r.fields.action)
      assert.are.same({ layout = "gallery_view", close_caption = "off" }, r.fields.settings)
      assert.are.equal("gallery_view", sim:meeting(SEED).settings.layout)
    end)

    it("gives the simulator identical fields from curl --form and from zoomlive", function()
      local settings = '{"active_speaker_name":true,"display_name":"Caf\195\169 \\"quoted\\" / slash"}'
      local cmd = table.concat({ "curl -sS -o /dev/null -w '%{http_code}' -X PATCH",
        "-H", shq("Authorization: Bearer " .. sim.token),
        "--form", shq("action=start"), "--form", shq("settings=" .. settings),
        shq(sim.base_url .. "/meetings/" .. BIG .. "/livestream/status") }, " ")
      local p = assert(io.popen(cmd))
      local code = p:read("a")
      p:close()
      assert.are.equal("204", code)
      local from_curl = last_request()
      sim:reset()
      assert.are.equal(204, (client:update(BIG, "start",
        { active_speaker_name = true, display_name = "Caf\195\169 \"quoted\" / slash" })))
      local from_us = last_request()
      assert.are.same(from_curl.fields.action, from_us.fields.action)
      assert.are.same(cjson.decode(from_curl.fields.settings), cjson.decode(from_us.fields.settings))
      assert.are.equal(#from_curl.parts, #from_us.parts)
      for i, part in ipairs(from_curl.parts) do assert.are.equal(part.name, from_us.parts[i].name) end
    end)

    it("reuses one client for many calls", function()
      for _ = 1, 5 do
        assert.are.equal(204, (client:update(SEED, "stop")))
      end
      assert.are.equal(5, select(2, last_request()))
    end)
  end)

  describe("meeting ids", function()
    local forms = {
      { "an integer", 93398114182 },
      { "an integral float, as lua-cjson decodes it", 93398114182.0 },
      { "a float from cjson.decode", cjson.decode('{"id":93398114182}').id },
      { "a digit string", "93398114182" },
    }
    for _, f in ipairs(forms) do
      it("reach the path as plain digits when given as " .. f[1], function()
        assert.are.equal(204, (client:update(f[2], "stop")))
        assert.are.equal("/v2/meetings/93398114182/livestream/status", last_request().path)
      end)
    end

    it("accepts the largest int64", function()
      local status, err = client:update(math.maxinteger, "stop")
      assert.are.equal(404, status)
      assert.are.equal(3001, err.code)
      assert.are.equal("/v2/meetings/9223372036854775807/livestream/status", last_request().path)
    end)

    local bad = { 1.5, -3, 0, "12a", "", "-5", " 12", "1e5", 2 ^ 63, "9223372036854775808",
      0 / 0, math.huge, math.mininteger }
    for _, v in ipairs(bad) do
      it("refuses " .. string.format("%q", tostring(v)) .. " as an argument error, sending nothing", function()
        local status, err, info = client:update(v, "start")
        assert.is_nil(status)
        assert.are.equal("argument", err.kind)
        assert.are.equal("meeting_id", err.field)
        assert.are.equal(0, info.attempts)
        assert.are.equal(0, #sim:requests())
      end)
    end
  end)

  describe("argument values", function()
    local cases = {
      { "action", SEED, "Start" },
      { "action", SEED, "pause" },
      { "action", SEED, "" },
      { "settings.display_name", SEED, "start", { display_name = "" } },
      { "settings.display_name", SEED, "start", { display_name = string.rep("x", 51) } },
      { "settings.display_name", SEED, "start", { display_name = "\255\254" } },
      { "settings.display_name", SEED, "start", { display_name = 42 } },
      { "settings.active_speaker_name", SEED, "start", { active_speaker_name = "false" } },
      { "settings.layout", SEED, "start", { layout = "grid" } },
      { "settings.close_caption", SEED, "start", { close_caption = "on" } },
      { "settings.display_nmae", SEED, "start", { display_nmae = "typo" } },
      { "settings.1", SEED, "start", { "positional" } },
    }
    for _, c in ipairs(cases) do
      it("refuses a bad " .. c[1] .. " (" .. tostring(c[3]) .. ") before sending", function()
        local status, err = client:update(c[2], c[3], c[4])
        assert.is_nil(status)
        assert.are.equal("argument", err.kind)
        assert.are.equal(c[1], err.field)
        assert.truthy(tostring(err):match("^zoomlive: bad argument '" .. c[1]:gsub("%.", "%%.") .. "'"))
        assert.are.equal(0, #sim:requests())
      end)
    end

    it("sees every change to a settings table that is reused between calls", function()
      local s = { display_name = "One" }
      assert.are.equal(204, (client:update(SEED, "stop", s)))
      s.display_name = "Two"
      assert.are.equal(204, (client:update(SEED, "stop", s)))
      s.active_speaker_name = true
      assert.are.equal(204, (client:update(SEED, "stop", s)))
      s.display_name = nil
      assert.are.equal(204, (client:update(SEED, "stop", s)))
      local log = sim:requests()
      assert.are.same({ display_name = "One" }, cjson.decode(log[1].fields.settings))
      assert.are.same({ display_name = "Two" }, cjson.decode(log[2].fields.settings))
      assert.are.same({ display_name = "Two", active_speaker_name = true }, cjson.decode(log[3].fields.settings))
      assert.are.same({ active_speaker_name = true }, cjson.decode(log[4].fields.settings))
      s.typo = 1
      local status, err = client:update(SEED, "stop", s)
      assert.is_nil(status)
      assert.are.equal("settings.typo", err.field)
      s.typo = nil
      s.display_name = string.rep("x", 51)
      status, err = client:update(SEED, "stop", s)
      assert.is_nil(status)
      assert.are.equal("settings.display_name", err.field)
      assert.are.equal(4, #sim:requests())
    end)

    it("counts display_name in UTF-8 characters, not bytes", function()
      local fifty = string.rep("\195\169", 50)   -- 50 characters, 100 bytes
      assert.are.equal(204, (client:update(SEED, "start", { display_name = fifty })))
      local status, err = client:update(BIG, "start", { display_name = fifty .. "x" })
      assert.is_nil(status)
      assert.are.equal("settings.display_name", err.field)
    end)

    it("raises for wrong argument types, as the standard library does", function()
      assert.has_error(function() client:update(SEED, "start", 5) end,
        "bad argument #3 to 'update' (table expected, got number)")
      assert.has_error(function() client:update(SEED, nil) end)
      assert.has_error(function() client:update(nil, "start") end)
      assert.has_error(function() client:update({}, "start") end)
      assert.has_error(function() zoomlive.new(5) end, "bad argument #1 to 'new' (table expected, got number)")
      assert.are.equal(0, #sim:requests())
    end)

    it("raises on an unknown option name", function()
      assert.has_error(function() zoomlive.new { tokne = "x" } end, "zoomlive.new: unknown option 'tokne'")
      assert.has_error(function() zoomlive.new { encoding = "xml" } end)
      assert.has_error(function() zoomlive.new { timeout = -1 } end)
    end)
  end)

  describe("Zoom's documented errors", function()
    local cases = {
      { "an unknown meeting", MISSING, 404, 3001, "Meeting does not exist: 99999999999." },
      { "a meeting without streaming configured", UNCONFIGURED, 400, 3000 },
      { "a meeting whose session has not started", NOT_STARTED, 400, 3000 },
      { "a host outside the account", FOREIGN_HOST, 400, 1010 },
      { "a host not allowed to host", UNLICENSED, 400, 3161,
        "Your user account is not allowed meeting hosting and scheduling capabilities." },
      { "a host that does not exist", NO_HOST, 404, 1001 },
    }
    for _, c in ipairs(cases) do
      it("returns status, err for " .. c[1], function()
        local status, err, info = client:update(c[2], "start")
        assert.are.equal(c[3], status)
        assert.are.equal("http", err.kind)
        assert.are.equal(c[3], err.status)
        assert.are.equal(c[4], err.code)
        assert.are.equal(math.type(err.code), "integer")
        if c[5] then assert.are.equal(c[5], err.message) end
        assert.is_string(err.tracking_id)
        assert.are.equal(err.tracking_id, info.tracking_id)
        assert.are.equal(1, err.attempts)
        assert.truthy(err.body:find('"code":' .. c[4], 1, true))
        assert.are.equal(string.format("zoomlive: HTTP %d (Zoom %d) %s", c[3], c[4], err.message),
          tostring(err))
      end)
    end

    it("refuses settings for a live stream", function()
      local status, err = client:update(LIVE, "start", { display_name = "too late" })
      assert.are.equal(400, status)
      assert.are.equal(4400, err.code)
    end)

    it("returns 429 with Zoom's message for a start repeated within 30 s", function()
      assert.are.equal(204, (client:update(BIG, "start")))
      assert.are.equal(204, (client:update(BIG, "stop")))
      local status, err = client:update(BIG, "start")
      assert.are.equal(429, status)
      assert.truthy(err.message:find("Too many requests submitted to start the live stream", 1, true))
      assert.are.equal(30, err.retry_after)
    end)

    it("passes Zoom's validation errors array through", function()
      -- our validation stops "Start"; a raw request shows the simulator's answer
      local conn = require("zoomlive.core").new()
      local r = conn:perform { method = "PATCH", url = sim.base_url .. "/meetings/" .. SEED .. "/livestream/status",
        token = sim.token, content_type = "application/json", body = '{"action":"Start"}' }
      conn:close()
      assert.are.equal(400, r.status)
      local err = require("zoomlive.attempt").http_error(r, require("cjson").decode)
      assert.are.equal(300, err.code)
      assert.are.equal("Validation Failed.", err.message)
      assert.are.equal("action", err.errors[1].field)
    end)

    it("reports 401/124 for a wrong token", function()
      local bad <close> = zoomlive.new { token = "not-the-token", base_url = sim.base_url }
      local status, err = bad:update(SEED, "stop")
      assert.are.equal(401, status)
      assert.are.equal(124, err.code)
      assert.are.equal("zoomlive: HTTP 401 (Zoom 124) Invalid access token.", tostring(err))
      assert.is_nil(tostring(err):find("not-the-token", 1, true))
      for _, v in pairs(err) do
        if type(v) == "string" then assert.is_nil(v:find("not-the-token", 1, true)) end
      end
    end)

    it("gives a useful message for an empty error body", function()
      sim:fault { status = 503, count = 1 }
      local status, err = client:update(SEED, "stop")
      assert.are.equal(503, status)
      assert.are.equal("http", err.kind)
      assert.is_string(err.message)
      assert.truthy(#err.message > 0)
    end)

    it("gives a useful message for a non-JSON or malformed body", function()
      sim:fault { malformed_json = true, status = 400, count = 1 }
      local status, err = client:update(SEED, "stop")
      assert.are.equal(400, status)
      assert.is_nil(err.code)
      assert.truthy(err.message:match("^Bad Request: unexpected response: "))
      assert.truthy(#err.body > 0)
    end)

    it("caps err.body at 64 KiB", function()
      sim:fault { huge_body = 1024 * 1024, status = 500, count = 1 }
      local status, err = client:update(SEED, "stop")
      assert.are.equal(500, status)
      assert.are.equal(64 * 1024, #err.body)
    end)
  end)

  describe("when no status comes back", function()
    it("reports a refused port as kind transport with curl's code", function()
      -- a port that was free a moment ago: bind, learn it, close it
      local socket = require "socket"
      local s = assert(socket.bind("127.0.0.1", 0))
      local _, port = s:getsockname()
      s:close()
      local c <close> = zoomlive.new { token = "t", base_url = "http://127.0.0.1:" .. port .. "/v2", retries = 0 }
      local status, err, info = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("transport", err.kind)
      assert.are.equal(7, err.curl_code)
      assert.is_string(err.message)
      assert.are.equal(1, info.attempts)
      assert.truthy(tostring(err):match("^zoomlive: transport %(curl 7%): "))
    end)

    it("reports a server that never answers as kind timeout", function()
      sim:fault { hang = true, count = 1 }
      local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, timeout = 1, retries = 0 }
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("timeout", err.kind)
      assert.are.equal(28, err.curl_code)
    end)

    it("reports a connection reset as kind transport", function()
      sim:fault { reset = "after", count = 1 }
      local status, err = client:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("transport", err.kind)
      assert.is_number(err.curl_code)
    end)
  end)

  describe("the client object", function()
    it("closes idempotently, and raises when used after close", function()
      local c = zoomlive.new { token = "t", base_url = sim.base_url }
      c:close()
      c:close()
      assert.truthy(tostring(c):match("%(closed%)$"))
      assert.has_error(function() c:update(SEED, "stop") end, "attempt to use a closed zoomlive.client")
    end)

    it("works as a to-be-closed variable", function()
      local ref
      do
        local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url }
        ref = c
        assert.are.equal(204, (c:update(SEED, "stop")))
      end
      assert.truthy(tostring(ref):match("%(closed%)$"))
    end)

    it("never shows the token in tostring", function()
      local c <close> = zoomlive.new { token = "secret-token-123", base_url = sim.base_url }
      assert.is_nil(tostring(c):find("secret-token-123", 1, true))
      assert.truthy(tostring(c):match("^zoomlive%.client %(http://127%.0%.0%.1:%d+/v2, json, auth=token%)$"))
    end)

    it("returns nil, err of kind auth when there are no credentials", function()
      local c <close> = require("zoomlive.client").new({ base_url = sim.base_url }, function() return nil end)
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.truthy(err.message:find("ZOOM_ACCESS_TOKEN", 1, true))
      assert.are.equal(0, #sim:requests())
    end)
  end)

  describe("the default client", function()
    it("is made from the environment on first use", function()
      local script = [[
        local z = require "zoomlive"
        local s, e = z.update(68423085, "start", { display_name = "from env" })
        local s2 = z.update(68423085, "stop")
        io.write(tostring(s), " ", tostring(e), " ", tostring(s2))
      ]]
      local cmd = string.format("LUA_PATH=%s LUA_CPATH=%s ZOOM_API_BASE=%s ZOOM_ACCESS_TOKEN=%s %s -e %s",
        shq(package.path), shq(package.cpath), shq(sim.base_url), shq(sim.token), lua_cmd(), shq(script))
      local p = assert(io.popen(cmd))
      local out = p:read("a")
      p:close()
      assert.are.equal("204 nil 204", out)
      assert.are.equal(2, #sim:requests())
    end)
  end)
end)
