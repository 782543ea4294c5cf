-- The examples run as part of the tests, so they cannot rot: each is run as
-- a user would run it, against the simulator, and its output checked.
local testing = require "zoomlive.testing"

local shq = require("support").shq

local function run(sim, script, args, env)
  local vars = {
    "LUA_PATH=" .. shq(package.path), "LUA_CPATH=" .. shq(package.cpath),
    "ZOOM_API_BASE=" .. shq(sim.base_url),
  }
  for k, v in pairs(env or {}) do vars[#vars + 1] = k .. "=" .. shq(v) end
  local cmd = string.format("env -u ZOOM_ACCESS_TOKEN -u ZOOM_ACCOUNT_ID %s %s %s %s 2>&1; echo \"exit=$?\"",
    table.concat(vars, " "), os.getenv("ZOOMLIVE_LUA") or "lua5.4", shq(script), args or "")
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return out, code
end

describe("examples", function()
  local sim
  setup(function() sim = testing.start { qps = 100000, daily = 0 } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  it("demo.lua starts and stops a stream and shows the error cases", function()
    local out, code = run(sim, "examples/demo.lua", "", { ZOOM_ACCESS_TOKEN = sim.token })
    assert.are.equal(0, code, out)
    assert.truthy(out:find("start the live stream%s+%-> 204"), out)
    assert.truthy(out:find("stop the live stream%s+%-> 204"), out)
    assert.truthy(out:find("HTTP 404 %(Zoom 3001%) Meeting does not exist: 99999999999%."), out)
    assert.truthy(out:find("bad argument 'action'", 1, true), out)
    assert.truthy(out:find("bad argument 'settings.display_name'", 1, true), out)
    assert.is_nil(out:find(sim.token, 1, true))
    local stream_key = sim:meeting(68423085).stream.stream_key
    assert.is_nil(out:find(stream_key, 1, true), "the demo printed the stream key")
  end)

  it("quickstart.lua starts and stops the meeting it is given", function()
    local out, code = run(sim, "examples/quickstart.lua", "93398114182", { ZOOM_ACCESS_TOKEN = sim.token })
    assert.are.equal(0, code, out)
    assert.truthy(out:find("started (HTTP 204, 1 attempt(s))", 1, true), out)
    assert.truthy(out:find("stopped", 1, true), out)
    out, code = run(sim, "examples/quickstart.lua", "99999999999", { ZOOM_ACCESS_TOKEN = sim.token })
    assert.are.equal(1, code, out)
    assert.truthy(out:find("Zoom refused: zoomlive: HTTP 404", 1, true), out)
  end)

  it("s2s.lua runs unattended on Server-to-Server OAuth credentials", function()
    local out, code = run(sim, "examples/s2s.lua", "68423085 93398114182", {
      ZOOM_ACCOUNT_ID = "sim-account", ZOOM_CLIENT_ID = "sim-client-id",
      ZOOM_CLIENT_SECRET = "sim-client-secret", ZOOM_OAUTH_URL = sim.url .. "/oauth/token" })
    assert.are.equal(0, code, out)
    assert.truthy(out:find("auth=s2s", 1, true), out)
    assert.truthy(out:find("68423085: started", 1, true), out)
    assert.truthy(out:find("93398114182: started", 1, true), out)
    assert.is_nil(out:find("sim-client-secret", 1, true))
    local n = 0
    for _, r in ipairs(sim:requests()) do if r.path == "/oauth/token" then n = n + 1 end end
    assert.are.equal(1, n)
  end)

  it("webhook_receiver.lua logs verified live-stream events and refuses forged ones", function()
    local zoomlive = require "zoomlive"
    local secret = "example-webhook-secret"
    local cmd = string.format("env LUA_PATH=%s LUA_CPATH=%s ZOOM_WEBHOOK_SECRET=%s %s examples/webhook_receiver.lua 0 127.0.0.1 2 120 2>&1",
      shq(package.path), shq(package.cpath), shq(secret), os.getenv("ZOOMLIVE_LUA") or "lua5.4")
    local p = assert(io.popen(cmd))
    local first = p:read("l")
    local url = first and first:match("^listening on (http://127%.0%.0%.1:%d+/)$")
    assert.truthy(url, first)
    -- a forged delivery: a signature made with another secret
    local body = '{"event":"meeting.live_streaming_started","event_ts":1,"payload":{"object":{"id":1}}}'
    local forged = require("zoomlive.webhook").sign("not-the-secret", body)
    local c = io.popen(string.format("curl -s -o /dev/null -w '%%{http_code}' -m 10 -H %s -H %s --data-binary %s %s",
      shq("x-zm-signature: " .. forged["x-zm-signature"]),
      shq("x-zm-request-timestamp: " .. forged["x-zm-request-timestamp"]), shq(body), shq(url)))
    assert.are.equal("401", c:read("a"))
    c:close()
    sim:config { webhook_url = url, webhook_secret = secret }
    local client <close> = zoomlive.new { token = sim.token, base_url = sim.base_url }
    zoomlive.assert(client:start(68423085))
    zoomlive.assert(client:stop(68423085))
    local out = p:read("a")   -- the receiver exits after two events
    p:close()
    assert.truthy(out:find("POST / -> 401 (zoomlive: webhook: x-zm-signature does not match", 1, true), out)
    assert.truthy(out:find("meeting 68423085 started at %d%d%d%d%-%d%d%-%d%dT"), out)
    assert.truthy(out:find("meeting 68423085 stopped at", 1, true), out)
    assert.is_nil(out:find("meeting 1 started", 1, true), out)
    assert.is_nil(out:find(sim:meeting(68423085).stream.stream_key, 1, true), "the receiver printed the stream key")
  end)
end)
