-- Zoom's join tokens for live streaming: client:join_token and
-- client:webinar_join_token (a request builder with a decode, run by the one
-- pipeline), the module functions, traces, and `zoomlive join-token`.
local zoomlive = require "zoomlive"
local request = require "zoomlive.request"
local testing = require "zoomlive.testing"
local cli = require "zoomlive.cli"
local cjson = require "cjson"
local support = require "support"

local MEETING, WEBINAR = 68423085, 81234567890

local function sink()
  local buf = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
      return self
    end,
    flush = function(self) return self end,
    text = function() return table.concat(buf) end,
  }
end

describe("join tokens", function()
  local sim
  setup(function() sim = testing.start { qps = 1000 } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  local function new_client(opts)
    opts = opts or {}
    opts.token, opts.base_url, opts.retries = sim.token, sim.base_url, opts.retries or 0
    return zoomlive.new(opts)
  end

  it("client:join_token and client:webinar_join_token return {token, expire_in}", function()
    local c <close> = new_client()
    local jt, err, info = c:join_token(MEETING)
    assert.is_nil(err)
    assert.matches("^simjt_%x+$", jt.token)
    assert.are.equal(120, jt.expire_in)
    assert.are.equal("integer", math.type(jt.expire_in))
    assert.are.equal(1, info.attempts)
    local log = sim:requests()
    assert.are.same({ "GET", "/v2/meetings/68423085/jointoken/live_streaming" }, { log[1].method, log[1].path })
    local wt = assert(c:webinar_join_token(tostring(WEBINAR)))
    assert.matches("^simjt_%x+$", wt.token)
    assert.are.equal("/v2/webinars/81234567890/jointoken/live_streaming", sim:requests()[2].path)
    -- an id as lua-cjson decodes it
    assert.is_table((c:join_token(68423085.0)))
  end)

  it("follows the usual contract on errors", function()
    local c <close> = new_client()
    local jt, err, info = c:join_token(99999999999)
    assert.is_nil(jt)
    assert.are.same({ "http", 404, 3001 }, { err.kind, err.status, err.code })
    assert.are.equal(1, info.attempts)
    jt, err, info = c:webinar_join_token("12a")
    assert.is_nil(jt)
    assert.are.same({ "argument", "webinar_id" }, { err.kind, err.field })
    assert.are.equal(0, info.attempts)
    assert.are.equal(1, #sim:requests())
    assert.has_error(function() c:join_token({}) end)
    local bad <close> = zoomlive.new { token = "not-the-token", base_url = sim.base_url, retries = 0 }
    jt, err = bad:join_token(MEETING)
    assert.is_nil(jt)
    assert.are.same({ "http", 401, 124 }, { err.kind, err.status, err.code })
    -- a 200 that is no join token: "protocol", and the body is not in the error
    sim:fault { status = 200, malformed_json = true, path = "/v2/meetings/68423085/jointoken" }
    jt, err = c:join_token(MEETING)
    assert.is_nil(jt)
    assert.are.equal("protocol", err.kind)
    -- 503 is retried as for every call
    sim:clear_faults()
    sim:fault { status = 503, count = 1, path = "/v2/meetings/68423085/jointoken" }
    local r <close> = new_client { retries = 1, sleep = function() end }
    jt, err, info = r:join_token(MEETING)
    assert.is_nil(err)
    assert.matches("^simjt_", jt.token)
    assert.are.equal(2, info.attempts)
  end)

  it("decodes only a real join token, and never names the token in a failure", function()
    local req = assert(request.join_token("meeting", "join_token", MEETING))
    assert.are.same({ "GET", "/meetings/68423085/jointoken/live_streaming" }, { req.method, req.path })
    assert.are.same({ token = "abc", expire_in = 120 }, req.decode('{"expire_in":120,"token":"abc"}'))
    for _, body in ipairs({ '{"expire_in":120}', '{"token":"","expire_in":120}', '{"token":"SECRETTOK"}',
                            '{"token":"SECRETTOK","expire_in":"120"}', "[]", "", "null" }) do
      local v, why = req.decode(body)
      assert.is_nil(v, body)
      assert.is_string(why)
      assert.is_nil(why:find("SECRETTOK", 1, true))
    end
  end)

  it("module functions, and a debug trace that shows the token as ***", function()
    local events = {}
    local c <close> = new_client { debug = function(e) events[#events + 1] = e end }
    local jt = assert(c:join_token(MEETING))
    local resp
    for _, e in ipairs(events) do if e.event == "response" then resp = e end end
    assert.matches('"token":"%*%*%*"', resp.body)
    assert.matches('"expire_in":120', resp.body)
    for _, s in ipairs(support.strings(events)) do assert.is_nil(s:find(jt.token, 1, true), s) end
    assert.is_function(zoomlive.join_token)
    assert.is_function(zoomlive.webinar_join_token)
    zoomlive.set_default(new_client())
    finally(function() zoomlive.default():close(); zoomlive.set_default(nil) end)
    assert.matches("^simjt_", assert(zoomlive.join_token(MEETING)).token)
  end)

  describe("zoomlive join-token", function()
    local function run(argv)
      local o, e = sink(), sink()
      local code = cli.main(argv, { stdout = o, stderr = e, isatty = false,
        getenv = function(k)
          if k == "ZOOM_ACCESS_TOKEN" then return sim.token end
          if k == "ZOOM_API_BASE" then return sim.base_url end
        end })
      return code, o.text(), e.text()
    end

    it("shows the token only when asked", function()
      local code, out, err = run { "join-token", tostring(MEETING) }
      assert.are.equal(0, code, err)
      assert.are.equal("68423085:\n  token:      ***\n  expire_in:  120\n", out)
      assert.are.equal("", err)
      code, out = run { "join-token", "--show-token", tostring(MEETING) }
      assert.are.equal(0, code)
      local tok = out:match("token:%s+(simjt_%x+)\n")
      assert.truthy(tok, out)
      code, out = run { "join-token", "--json", "--webinar", tostring(WEBINAR) }
      assert.are.equal(0, code)
      local doc = cjson.decode(out)
      assert.are.same({ token = "***", expire_in = 120 }, doc.join_token)
      assert.are.same({ "webinar", "join-token", true, 200 }, { doc.type, doc.command, doc.ok, doc.status })
      code, out = run { "join-token", "--json", "--show-token", tostring(MEETING) }
      assert.are.equal(0, code)
      assert.matches("^simjt_", cjson.decode(out).join_token.token)
    end)

    it("errors, usage and dry runs never show a token", function()
      local code, out, err = run { "join-token", "99999999999" }
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("HTTP 404 %(Zoom 3001%)", err)
      local _
      code, _, err = run { "get", "--show-token", tostring(MEETING) }
      assert.are.equal(2, code)
      assert.matches("%-%-show%-token does not apply to 'get'", err)
      code, _, err = run { "join-token", "--show-key", tostring(MEETING) }
      assert.are.equal(2, code)
      assert.matches("%-%-show%-key does not apply to 'join%-token'", err)
      sim:clear_requests()
      code, out = run { "join-token", "--dry-run", tostring(MEETING) }
      assert.are.equal(0, code)
      assert.matches("GET http://127%.0%.0%.1:%d+/v2/meetings/68423085/jointoken/live_streaming", out)
      assert.are.equal(0, #sim:requests())
      code, out = run { "--help" }
      assert.are.equal(0, code)
      assert.matches("join%-token", out)
    end)
  end)
end)
