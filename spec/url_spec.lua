-- One URL check for every source (zoomlive.url on libcurl's CURLU):
-- loopback in every spelling the resolver takes, plain http only to
-- loopback unless allow_http, no user info; the base_url and oauth_url
-- options, $ZOOM_API_BASE, $ZOOM_OAUTH_URL and an S2S token response's
-- api_url all pass it. Loopback never goes through a proxy, and tostring
-- says when a proxy is in use.
local zoomlive = require "zoomlive"
local client_mod = require "zoomlive.client"
local url = require "zoomlive.url"
local testing = require "zoomlive.testing"
local support = require "support"

local LUA = os.getenv("ZOOMLIVE_LUA") or "lua5.4"
local shq = support.shq

local function env(t) return function(k) return t[k] end end

describe("zoomlive.url", function()
  it("sees the host libcurl connects to, in its normal form", function()
    for _, u in ipairs { "http://127.1/v2", "http://2130706433/v2", "http://0x7f.1/v2",
        "http://017700000001/v2", "http://127.0.0.1/v2" } do
      local p = assert(url.parse(u))
      assert.equal("127.0.0.1", p.host, u)
      assert.is_true(url.is_loopback(p.host), u)
    end
    assert.equal("[::1]", url.parse("http://[0:0::1]:8/x").host)
    assert.equal(8, url.parse("http://[0:0::1]:8/x").port)
    assert.equal(443, url.parse("https://api.zoom.us/v2").port)
  end)

  it("counts all of 127.0.0.0/8, ::1 and localhost as loopback, nothing else", function()
    for _, u in ipairs { "http://127.255.255.254/", "http://127.0.0.0/", "http://[::1]/",
        "http://localhost/", "http://LOCALHOST./", "http://a.localhost/", "http://127.1.2.3:99/" } do
      local b, p = url.check(u)
      assert.truthy(b, u)
      assert.is_true(p.loopback, u)
    end
    for _, u in ipairs { "http://128.0.0.1/", "http://126.255.255.255/", "http://0.0.0.0/",
        "http://[::2]/", "http://[::ffff:127.0.0.1]/", "http://127.0.0.1.evil.example/",
        "http://localhost.evil.example/", "http://2130706431/", "http://10.0.0.1/" } do
      local b, why = url.check(u)
      assert.is_nil(b, u)
      assert.matches("allow_http", why, 1, true)
      assert.truthy(url.check(u, { allow_http = true }), u)
    end
  end)

  it("refuses user info, fragments, other schemes, spaces and base URL queries", function()
    for u, want in pairs {
      ["http://127.0.0.1:80@elsewhere.example/v2"] = "user info",
      ["https://user:pw@api.zoom.us/v2"] = "user info",
      ["https://user@api.zoom.us/v2"] = "user info",
      ["http://evil.example#@127.0.0.1/v2"] = "fragment",
      ["https://api.zoom.us/v2#x"] = "fragment",
      ["https://api.zoom.us/v2?x=1"] = "query",
      ["ftp://127.0.0.1/v2"] = "scheme",
      ["file:///etc/passwd"] = "URL",
      ["//api.zoom.us/v2"] = "absolute",
      ["https://api.zoom.us /v2"] = "spaces",
      ["https://api.zoom.us/v2\r\nX: 1"] = "control",
      ["https://api.zoom.us/v2\0.evil"] = "control",
    } do
      local b, why = url.check(u)
      assert.is_nil(b, u)
      assert.matches(want, why, 1, true)
    end
    assert.truthy(url.check("https://zoom.us/oauth/token?grant=x", { query = true }))
  end)
end)

describe("every URL source", function()
  local sim
  setup(function() sim = testing.start { qps = 100000, daily = 0, start_cooldown = 0 } end)
  teardown(function() sim:stop() end)

  it("reaches the simulator through every loopback spelling of its address", function()
    local port = sim.base_url:match(":(%d+)/")
    for _, h in ipairs { "127.1", "2130706433", "0x7f.1", "017700000001", "127.0.0.1", "localhost" } do
      local c = zoomlive.new { token = sim.token, base_url = "http://" .. h .. ":" .. port .. "/v2",
        retries = 0 }
      assert.equal(204, c:stop(68423085), h)
      c:close()
    end
  end)

  it("checks base_url, ZOOM_API_BASE, oauth_url and ZOOM_OAUTH_URL alike", function()
    local bad = "http://api.example.com:80/v2"
    local creds = { account_id = "a", client_id = "b", client_secret = "c" }
    local cases = {
      { { token = "t", base_url = bad }, {} , "base_url" },
      { { token = "t" }, { ZOOM_API_BASE = bad }, "base_url" },
      { { base_url = sim.base_url, oauth_url = bad .. "/oauth/token" }, {}, "oauth_url" },
      { { base_url = sim.base_url }, { ZOOM_OAUTH_URL = bad .. "/oauth/token" }, "ZOOM_OAUTH_URL" },
      { { token = "t", base_url = "https://u:p@api.zoom.us/v2" }, {}, "user info" },
      { { base_url = sim.base_url }, { ZOOM_OAUTH_URL = "https://u:p@zoom.us/oauth/token" }, "user info" },
    }
    for i, case in ipairs(cases) do
      local opts = case[1]
      if not opts.token then for k, v in pairs(creds) do opts[k] = v end end
      local ok, e = pcall(client_mod.new, opts, env(case[2]))
      assert.is_false(ok, "case " .. i)
      assert.matches(case[3], tostring(e), 1, true)
      opts.allow_http = true
      if case[3] ~= "user info" then
        local c = client_mod.new(opts, env(case[2]))
        c:close()
      end
    end
  end)

  it("sends the S2S secret to a checked ZOOM_OAUTH_URL only", function()
    local c = client_mod.new({ base_url = sim.base_url, retries = 0 }, env {
      ZOOM_ACCOUNT_ID = "sim-account", ZOOM_CLIENT_ID = "sim-client-id",
      ZOOM_CLIENT_SECRET = "sim-client-secret", ZOOM_OAUTH_URL = sim.url .. "/oauth/token" })
    assert.equal(204, c:stop(68423085))
    c:close()
  end)

  it("uses a token response's api_url only when it passes the same check", function()
    -- the simulator names itself (loopback http): taken
    local c = zoomlive.new { account_id = "sim-account", client_id = "sim-client-id",
      client_secret = "sim-client-secret", oauth_url = sim.url .. "/oauth/token", retries = 0 }
    assert.equal(204, c:stop(68423085))
    assert.equal(sim.url .. "/v2", c:base_url())
    c:close()
    -- a remote plain-http api_url, and one with user info: not taken
    for _, api in ipairs { "http://api.example.com", "https://u:p@api.example.com",
        "http://127.0.0.1@api.example.com" } do
      local srv = support.canned_server(support.json_reply(200,
        '{"access_token":"abc","token_type":"bearer","expires_in":3599,"api_url":"' .. api .. '"}'))
      c = zoomlive.new { account_id = "a", client_id = "b", client_secret = "c",
        oauth_url = srv.url .. "/oauth/token", retries = 0, timeout = 2 }
      assert.is_true(c:check_credentials())
      srv.stop()
      assert.equal(client_mod.DEFAULT_BASE_URL, c:base_url(), api)
      c:close()
    end
  end)
end)

describe("proxies", function()
  local sim
  setup(function() sim = testing.start { qps = 100000, daily = 0, start_cooldown = 0 } end)
  teardown(function() sim:stop() end)

  -- runs `code` in a child lua5.4 with `envs` (sh assignments) and returns its output
  local function child(envs, code)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('package.path = "lua/?.lua;lua/?/init.lua;" .. package.path\n', code)
    f:close()
    local p = assert(io.popen(("env %s %s %s 2>&1"):format(envs, shq(LUA), shq(script))))
    local out = p:read("a")
    p:close()
    os.remove(script)
    return out
  end

  it("never sends a loopback request to the proxy of the environment", function()
    local port = sim.base_url:match(":(%d+)/")
    for _, var in ipairs { "http_proxy", "all_proxy", "ALL_PROXY" } do
      for _, h in ipairs { "127.0.0.1", "127.1", "localhost", "2130706433" } do
        sim:clear_requests()
        local out = child(var .. "=http://127.0.0.1:9 no_proxy= NO_PROXY=", ([[
          local zoomlive = require "zoomlive"
          local c = zoomlive.new { token = %q, base_url = %q, retries = 0 }
          local st, err = c:stop(68423085)
          print(st, err and tostring(err) or "", tostring(c))
        ]]):format(sim.token, "http://" .. h .. ":" .. port .. "/v2"))
        assert.matches("^204", out, nil, var .. " " .. h .. ": " .. out)
        assert.is_nil(out:find("proxy", 1, true), out)
        assert.equal(1, #sim:requests())
      end
    end
  end)

  it("keeps the environment's no_proxy beside loopback", function()
    local out = child("http_proxy=http://127.0.0.1:9 no_proxy=example.invalid", ([[
      local zoomlive = require "zoomlive"
      local c = zoomlive.new { token = %q, base_url = %q, retries = 0 }
      print(c:stop(68423085))
      local d = zoomlive.new { token = "t", base_url = "http://api.example.invalid/v2", allow_http = true,
        retries = 0, connect_timeout = 2 }
      local _, err = d:stop(68423085)
      print(err.kind, err.message)
    ]]):format(sim.token, sim.base_url))
    assert.matches("^204", out)
    -- example.invalid is not sent to the proxy: it fails to resolve instead
    assert.matches("resolve", out)
    assert.is_nil(out:find("port 9", 1, true), out)
  end)

  it("sends remote plain http through a proxy only with allow_http, and tostring says so", function()
    local proxy = support.canned_server(support.json_reply(204, ""))
    local out = child("http_proxy=" .. proxy.url .. " no_proxy= NO_PROXY=", [[
      local zoomlive = require "zoomlive"
      print(pcall(zoomlive.new, { token = "t", base_url = "http://api.example.com/v2" }))
      local c = zoomlive.new { token = "t", base_url = "http://api.example.com/v2", allow_http = true,
        retries = 0 }
      print(tostring(c))
      print(c:stop(68423085))
    ]])
    local log = proxy.log()
    proxy.stop()
    assert.matches("false.-allow_http", out)
    assert.matches("via proxy " .. proxy.url:gsub("%p", "%%%0"), out)
    assert.matches("\n204", out)
    -- the proxy got the absolute URL: the request went through it
    assert.matches("PATCH http://api.example.com/v2/meetings/68423085/livestream/status", log, 1, true)
  end)

  it("tostring names the proxy of an https base URL, never its credentials", function()
    local out = child("https_proxy=http://user:pw@proxy.example:3128 no_proxy= NO_PROXY=", [[
      local zoomlive = require "zoomlive"
      print(tostring(zoomlive.new { token = "t" }))
      print(tostring(zoomlive.new { token = "t", base_url = "http://127.0.0.1:1/v2" }))
    ]])
    assert.matches("via proxy http://proxy.example:3128", out, 1, true)
    assert.is_nil(out:find("pw", 1, true))
    local second = out:match("\n([^\n]*127%.0%.0%.1[^\n]*)")
    assert.is_nil(second:find("proxy", 1, true), second)
  end)
end)
