-- Text from a reply that reaches the caller (error messages, tostring,
-- traces) is bounded and holds no control characters; tostring(err) is one
-- short line. Numeric options refuse NaN and the infinities, and an option
-- value that would be cut short is refused.
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"
local errors = require "zoomlive.errors"
local testing = require "zoomlive.testing"
local support = require "support"
local cjson = require "cjson"

local function clean(s, max)
  assert.is_string(s)
  assert.is_nil(s:find("[%z\1-\31\127]"), ("control character in %q"):format(s:sub(1, 80)))
  assert.truthy(utf8.len(s), "not UTF-8")
  assert.is_true(utf8.len(s) <= max, ("%d > %d characters"):format(utf8.len(s), max))
end

local HOSTILE = string.rep("line one\nline two\r\n\0\27[31mred\27[0m \194\133 \255\254 é ", 100)

local function call_against(reply, opts)
  local srv = support.canned_server(reply, 1)
  opts = opts or {}
  opts.token = opts.token or "t"
  opts.base_url = srv.url .. "/v2"
  opts.retries = 0
  local c = zoomlive.new(opts)
  local st, err, info = c:stop(68423085)
  srv.stop()
  c:close()
  return st, err, info
end

describe("text from a reply", function()
  it("a Zoom message of 3,000 characters with newlines becomes one short line", function()
    local body = cjson.encode { code = 300, message = HOSTILE,
      errors = { { field = HOSTILE, message = HOSTILE } } }
    local st, err = call_against(support.json_reply(400, body))
    assert.equal(400, st)
    assert.equal(300, err.code)
    clean(err.message, errors.MESSAGE_MAX)
    clean(tostring(err), errors.LINE_MAX)
    clean(err.errors[1].field, 100)
    clean(err.errors[1].message, errors.MESSAGE_MAX)
    assert.matches("line one line two", err.message, 1, true)
    assert.matches("é", err.message, 1, true)
  end)

  it("a body that is not JSON is shown bounded and clean", function()
    local body = "<html>" .. HOSTILE .. "</html>"
    local reply = ("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
      .. "Connection: close\r\n\r\n%s"):format(#body, body)
    local st, err = call_against(reply)
    assert.equal(502, st)
    clean(err.message, errors.MESSAGE_MAX)
    clean(tostring(err), errors.LINE_MAX)
    assert.equal(body, err.body)   -- the raw body stays, for the caller who parses it
  end)

  it("header values that reach the caller are printable ASCII", function()
    local reply = "HTTP/1.1 404 X\r\nx-zm-trackingid: rid\27[31m\tred\127 \195\169\255\r\n"
      .. "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    local st, err, info = call_against(reply)
    assert.equal(404, st)
    assert.equal("rid [31m red  ???", err.tracking_id)
    assert.equal(err.tracking_id, info.tracking_id)
  end)

  it("many errors entries are kept to 20", function()
    local list = {}
    for i = 1, 500 do list[i] = { field = "f" .. i, message = "m" } end
    local st, err = call_against(support.json_reply(400, cjson.encode { code = 300, message = "x", errors = list }))
    assert.equal(400, st)
    assert.equal(20, #err.errors)
  end)

  it("a token endpoint's refusal is bounded and clean", function()
    local srv = support.canned_server(support.json_reply(401,
      cjson.encode { reason = HOSTILE, error = "invalid_client" }), 1)
    local c = zoomlive.new { account_id = "a", client_id = "b", client_secret = "c",
      oauth_url = srv.url .. "/oauth/token", base_url = "http://127.0.0.1:9/v2", retries = 0 }
    local st, err = c:stop(68423085)
    srv.stop()
    c:close()
    assert.is_nil(st)
    clean(err.message, errors.MESSAGE_MAX)
    clean(tostring(err), errors.LINE_MAX)
  end)

  it("traces carry bounded, clean reply text", function()
    local traces = {}
    local st = call_against(support.json_reply(400, cjson.encode { code = 300, message = HOSTILE }),
      { debug = function(t) traces[#traces + 1] = t end })
    assert.equal(400, st)
    local resp
    for _, t in ipairs(traces) do if t.event == "response" then resp = t end end
    clean(resp.body, 2000)
  end)

  it("every kind of error prints one line within LINE_MAX", function()
    for _, kind in ipairs { "http", "transport", "timeout", "argument", "auth", "protocol" } do
      local e = errors.new(kind, { status = 500, code = 1, message = HOSTILE, field = HOSTILE,
        curl_code = 7, retry_after = math.huge })
      clean(tostring(e), errors.LINE_MAX)
    end
    clean(errors.text(string.rep("\255", 1000)), errors.MESSAGE_MAX)
    assert.equal("a b", errors.text("a\n\n\tb"))
  end)
end)

describe("numeric options", function()
  local sim
  setup(function() sim = testing.start { qps = 100000, daily = 0 } end)
  teardown(function() sim:stop() end)

  local BAD = { 0 / 0, math.huge, -math.huge }

  it("refuse NaN and the infinities, each one", function()
    local names = { "timeout", "connect_timeout", "deadline", "max_retry_wait", "refresh_margin", "retries" }
    for _, name in ipairs(names) do
      for _, v in ipairs(BAD) do
        local ok, e = pcall(zoomlive.new, { token = "t", base_url = sim.base_url, [name] = v })
        assert.is_false(ok, name .. "=" .. tostring(v))
        assert.matches(name, tostring(e), 1, true)
      end
    end
    for _, k in ipairs { "base", "cap" } do
      for _, v in ipairs(BAD) do
        assert.is_false(pcall(zoomlive.new, { token = "t", base_url = sim.base_url, backoff = { [k] = v } }))
      end
    end
    local c = zoomlive.new { token = sim.token, base_url = sim.base_url }
    for _, k in ipairs { "rate", "deadline", "concurrency" } do
      for _, v in ipairs(BAD) do
        assert.is_false(pcall(c.update_many, c, { { 68423085, "stop" } }, { [k] = v }), k)
      end
    end
    c:close()
    for _, v in ipairs(BAD) do
      assert.is_false(pcall(core.new, { timeout = v }))
      assert.is_false(pcall(core.multi, { connect_timeout = v }))
      assert.is_false(pcall(core.sleep, v))
    end
  end)

  it("refuse values that would be cut short instead of cutting them", function()
    for _, name in ipairs { "timeout", "connect_timeout", "deadline", "max_retry_wait" } do
      assert.is_false(pcall(zoomlive.new, { token = "t", base_url = sim.base_url, [name] = 1e300 }), name)
    end
    assert.is_false(pcall(core.new, { timeout = 1e300 }))
    assert.is_false(pcall(core.new, { max_body = 2 ^ 70 }))
    -- a user agent is sent whole or refused
    local long = string.rep("u", 500)
    local c = zoomlive.new { token = sim.token, base_url = sim.base_url, user_agent = long }
    sim:clear_requests()
    assert.equal(204, c:stop(68423085))
    c:close()
    local h = sim:requests()[1].headers
    assert.equal(long, h["user-agent"] or h["User-Agent"])
    local ok, e = pcall(zoomlive.new, { token = "t", base_url = sim.base_url, user_agent = long .. "u" })
    assert.is_false(ok)
    assert.matches("user_agent", tostring(e), 1, true)
    assert.is_false(pcall(zoomlive.new, { token = "t", base_url = sim.base_url, user_agent = "a\0b" }))
    assert.is_false(pcall(core.new, { cainfo = "/etc/ssl\0/x" }))
  end)
end)
