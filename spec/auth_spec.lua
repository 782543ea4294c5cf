-- Credentials: Server-to-Server OAuth and the token's whole life, against
-- the simulator's /oauth/token.
local zoomlive = require "zoomlive"
local client_mod = require "zoomlive.client"
local testing = require "zoomlive.testing"
local core = require "zoomlive.core"
local strings = require("support").strings

local SEED, BIG = 68423085, 93398114182
local SECRET = "sim-client-secret"

local function assert_no_secret(v, secrets)
  for _, s in ipairs(strings(v)) do
    for _, secret in ipairs(secrets) do
      assert.is_nil(s:find(secret, 1, true), "a secret leaked into: " .. s)
    end
  end
end

local function token_requests(sim)
  local n = 0
  for _, r in ipairs(sim:requests()) do
    if r.path == "/oauth/token" then n = n + 1 end
  end
  return n
end

describe("credentials", function()
  local sim

  setup(function() sim = testing.start { qps = 100000, daily = 0 } end)
  teardown(function() sim:stop() end)
  before_each(function()
    sim:reset()
    sim:config { token_ttl = 3599, invalidate_old_tokens = false }
  end)

  local function s2s(extra, env)
    local opts = {
      account_id = "sim-account", client_id = "sim-client-id", client_secret = SECRET,
      oauth_url = sim.url .. "/oauth/token", base_url = sim.base_url,
    }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return client_mod.new(opts, function(k) return env and env[k] end)
  end

  describe("Server-to-Server OAuth", function()
    it("fetches the token once across many calls", function()
      local c <close> = s2s()
      for _ = 1, 5 do assert.are.equal(204, (c:update(SEED, "stop"))) end
      assert.are.equal(1, token_requests(sim))
      local tok = sim:requests()[1]
      assert.are.equal("POST", tok.method)
      assert.are.equal("Basic ***", tok.headers.authorization)
      assert.are.equal("account_credentials", tok.fields.grant_type)
      assert.are.equal("sim-account", tok.fields.account_id)
      for i = 2, 6 do
        assert.truthy(sim:requests()[i].headers.authorization:match("^Bearer "))
      end
    end)

    it("fetches once for a whole batch of concurrent calls", function()
      local c <close> = s2s()
      local items = {}
      for i = 1, 20 do items[i] = { 90000000000 + i, "stop" } end
      sim:config { any_meeting = true }
      local results, summary = c:update_many(items, { concurrency = 8 })
      assert.are.equal(20, summary.ok, tostring(results[1].err))
      assert.are.equal(1, token_requests(sim))
    end)

    it("fetches once when a batch meets 401/124 on many items at the same time", function()
      sim:config { invalidate_old_tokens = true, any_meeting = true }
      local a <close> = s2s()
      local b <close> = s2s()
      assert.are.equal(204, (a:update(SEED, "stop")))
      assert.are.equal(204, (b:update(SEED, "stop")))   -- a's token is now invalid
      local items = {}
      for i = 1, 16 do items[i] = { 90000000000 + i, "stop" } end
      local _, summary = a:update_many(items, { concurrency = 8 })
      assert.are.equal(16, summary.ok)
      assert.are.equal(3, token_requests(sim))   -- a, b, and one renewal for the batch
    end)

    it("refreshes a 2-second token before it expires: no call sees a 401", function()
      sim:config { token_ttl = 2 }
      -- the client's clock and the simulator's move together, 0.5 s a step
      local t = 1000
      local c <close> = s2s { now = function() return t end }
      for _ = 1, 7 do
        assert.are.equal(204, (c:update(SEED, "stop")))
        t = t + 0.5       -- the margin is min(60, ttl / 2): refreshed after 1 s
        sim:advance(0.5)
      end
      for _, r in ipairs(sim:requests()) do assert.are_not.equal(401, r.status) end
      assert.truthy(token_requests(sim) >= 2)
    end)

    it("fetches anew once after a 401/124 when another client took a newer token", function()
      sim:config { invalidate_old_tokens = true }
      local a <close> = s2s()
      local b <close> = s2s()
      assert.are.equal(204, (a:update(SEED, "stop")))
      assert.are.equal(204, (b:update(SEED, "stop")))   -- invalidates a's token
      local status, err, info = a:update(BIG, "stop")
      assert.are.equal(204, status, tostring(err))
      assert.are.equal(1, info.attempts)
      assert.are.equal(3, token_requests(sim))
      local statuses = {}
      for _, r in ipairs(sim:requests()) do statuses[#statuses + 1] = r.status end
      assert.are.same({ 200, 204, 200, 204, 401, 200, 204 }, statuses)
    end)

    it("returns the second 401/124 to the caller", function()
      local n = 0
      local c <close> = zoomlive.new { base_url = sim.base_url,
        token = function() n = n + 1; return "never-valid-" .. n end }
      local status, err = c:update(SEED, "stop")
      assert.are.equal(401, status)
      assert.are.equal(124, err.code)
      assert.are.equal(2, n)   -- the first, then one renewal
      assert.are.equal(2, #sim:requests())
    end)

    it("gives kind auth with Zoom's code for a wrong secret", function()
      local c <close> = s2s { client_secret = "wrong-secret-value" }
      local status, err, info = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.truthy(err.code == 4702 or err.code == 4704, "code " .. tostring(err.code))
      assert.are.equal(1, info.attempts)   -- the token request, refused: not repeated
      assert_no_secret({ err, tostring(err), c, tostring(c) }, { "wrong-secret-value" })
      assert.are.equal(1, #sim:requests())   -- nothing but the token request
    end)

    it("gives kind auth for an unknown account", function()
      local c <close> = s2s { account_id = "nobody" }
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.is_number(err.code)
    end)

    it("gives kind auth for a token endpoint that is unreachable or malformed", function()
      local c <close> = s2s { oauth_url = sim.url .. "/v2/not-a-token-endpoint" }
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      sim:fault { path = "/oauth/token", malformed_json = true, status = 200, count = 1 }
      local d <close> = s2s()
      status, err = d:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.truthy(err.message:find("malformed", 1, true))
    end)

    it("uses the token response's api_url only when no base URL was set", function()
      local c <close> = client_mod.new({
        account_id = "sim-account", client_id = "sim-client-id", client_secret = SECRET,
        oauth_url = sim.url .. "/oauth/token" }, function() return nil end)
      assert.are.equal("https://api.zoom.us/v2", c:base_url())
      assert.are.equal(204, (c:update(SEED, "stop")))   -- api_url = the simulator
      assert.are.equal(sim.url .. "/v2", c:base_url())
      local d <close> = s2s { base_url = "http://127.0.0.2:1/v2" }
      d._auth.token(d._tr)
      assert.are.equal("http://127.0.0.2:1/v2", d:base_url())
    end)

    it("never shows the client secret or a token in tostring, errors or the client table", function()
      local c <close> = s2s()
      assert.are.equal(204, (c:update(SEED, "stop")))
      local tokens = {}
      local conn = core.new()
      local r = conn:perform { method = "POST", url = sim.url .. "/oauth/token",
        content_type = "application/x-www-form-urlencoded",
        body = "grant_type=account_credentials&account_id=sim-account",
        timeout = 5, basic = "sim-client-id:" .. SECRET }
      conn:close()
      local st, body = r.status, r.body
      assert.are.equal(200, st)
      tokens[1] = require("cjson").decode(body).access_token
      assert_no_secret({ c, tostring(c) }, { SECRET, tokens[1] })
      local _, err = c:update(99999999999, "stop")
      assert_no_secret({ err }, { SECRET, tokens[1] })
    end)
  end)

  describe("token providers", function()
    it("calls a function for the token, and caches it until its expiry", function()
      local calls = 0
      local c <close> = zoomlive.new { base_url = sim.base_url,
        token = function() calls = calls + 1; return sim.token, core.time() + 3600 end }
      for _ = 1, 3 do assert.are.equal(204, (c:update(SEED, "stop"))) end
      assert.are.equal(1, calls)
    end)

    it("calls it every time when it gives no expiry", function()
      local calls = 0
      local c <close> = zoomlive.new { base_url = sim.base_url,
        token = function() calls = calls + 1; return sim.token end }
      for _ = 1, 3 do assert.are.equal(204, (c:update(SEED, "stop"))) end
      assert.are.equal(3, calls)
    end)

    it("passes the stale token after a 401/124 and retries with the new one", function()
      local seen = {}
      local c <close> = zoomlive.new { base_url = sim.base_url,
        token = function(stale)
          seen[#seen + 1] = stale or "none"
          if stale then return sim.token end
          return "old-token"
        end }
      assert.are.equal(204, (c:update(SEED, "stop")))
      assert.are.same({ "none", "old-token" }, seen)
    end)

    it("turns a provider failure into kind auth", function()
      local c <close> = zoomlive.new { base_url = sim.base_url, token = function() error("vault down") end }
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.truthy(err.message:find("vault down", 1, true))
      local d <close> = zoomlive.new { base_url = sim.base_url, token = function() return "bad\r\ntoken" end }
      status, err = d:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.are.equal(0, #sim:requests())
    end)
  end)

  describe("precedence", function()
    local env_token = { ZOOM_ACCESS_TOKEN = "env-token" }
    local env_s2s = { ZOOM_ACCOUNT_ID = "sim-account", ZOOM_CLIENT_ID = "sim-client-id",
      ZOOM_CLIENT_SECRET = SECRET }
    local env_both = { ZOOM_ACCESS_TOKEN = "env-token", ZOOM_ACCOUNT_ID = "sim-account",
      ZOOM_CLIENT_ID = "sim-client-id", ZOOM_CLIENT_SECRET = SECRET }
    local function make(opts, env)
      opts.base_url = sim.base_url
      return client_mod.new(opts, function(k) return env[k] end)
    end

    it("1. an explicit token beats S2S options and the environment", function()
      local c <close> = make({ token = "explicit", account_id = "a", client_id = "b", client_secret = "c" }, env_both)
      assert.are.equal("token", c._auth.kind)
      assert.are.equal("explicit", c._auth.token())
    end)

    it("2. S2S options beat ZOOM_ACCESS_TOKEN", function()
      local c <close> = make({ account_id = "sim-account", client_id = "sim-client-id", client_secret = SECRET,
        oauth_url = sim.url .. "/oauth/token" }, env_both)
      assert.are.equal("s2s", c._auth.kind)
      assert.are.equal(204, (c:update(SEED, "stop")))
      assert.are.equal(1, token_requests(sim))
    end)

    it("3. ZOOM_ACCESS_TOKEN beats the S2S variables", function()
      local c <close> = make({}, env_both)
      assert.are.equal("token", c._auth.kind)
      assert.are.equal("env-token", c._auth.token())
      local d <close> = make({}, env_token)
      assert.are.equal("env-token", d._auth.token())
    end)

    it("4. the S2S variables are used last", function()
      local c <close> = make({ oauth_url = sim.url .. "/oauth/token" }, env_s2s)
      assert.are.equal("s2s", c._auth.kind)
      assert.are.equal(204, (c:update(SEED, "stop")))
    end)

    it("5. with nothing, a call returns kind auth saying what to set", function()
      local c <close> = make({}, {})
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.truthy(err.message:find("ZOOM_ACCOUNT_ID", 1, true))
    end)

    it("refuses half-given S2S options, and credentials with CR, LF or NUL", function()
      assert.has_error(function() make({ account_id = "a", client_id = "b" }, {}) end)
      assert.has_error(function() make({ token = "a\nb" }, {}) end)
      assert.has_error(function() make({ account_id = "a", client_id = "b", client_secret = "c\0d" }, {}) end)
      local ok, msg = pcall(make, { account_id = "a", client_id = "b", client_secret = "sec\r\nret" }, {})
      assert.is_false(ok)
      assert.is_nil(tostring(msg):find("sec\r\nret", 1, true))
    end)
  end)
end)
