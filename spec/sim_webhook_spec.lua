-- zoomlive-sim's join-token routes (driven with the curl tool) and its
-- webhook deliveries, received by a Python HTTP server and checked with
-- Python's hmac: neither side is zoomlive's code.
local testing = require "zoomlive.testing"
local cjson = require "cjson"
local support = require "support"
local shq = support.shq

local function curl(sim, method, path, token)
  local cmd = string.format("curl -s -m 10 -X %s -D - %s %s", method,
    token and ("-H " .. shq("Authorization: Bearer " .. token)) or "", shq(sim.url .. path))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local head, body = out:match("^(.-)\r\n\r\n(.*)$")
  local status = tonumber(head:match("^HTTP/1%.1 (%d+)"))
  return status, body, head
end

describe("zoomlive-sim join tokens", function()
  local sim
  setup(function() sim = testing.start { qps = 1000 } end)
  teardown(function() sim:stop() end)

  it("answers a meeting's and a webinar's join token for live streaming", function()
    for _, path in ipairs({ "/v2/meetings/68423085/jointoken/live_streaming",
                            "/v2/webinars/81234567890/jointoken/live_streaming" }) do
      local status, body, head = curl(sim, "GET", path, sim.token)
      assert.are.equal(200, status, body)
      assert.truthy(head:lower():find("content-type: application/json", 1, true))
      local doc = cjson.decode(body)
      assert.are.equal(120, doc.expire_in)
      assert.matches("^simjt_%x+$", doc.token)
      local _, again = curl(sim, "GET", path, sim.token)
      assert.are_not.equal(doc.token, cjson.decode(again).token)
    end
  end)

  it("answers Zoom's errors for this call", function()
    local cases = {
      { "GET", "/v2/meetings/12a/jointoken/live_streaming", sim.token, 400, 300 },
      { "GET", "/v2/meetings/99999999999/jointoken/live_streaming", sim.token, 404, 3001 },
      { "GET", "/v2/webinars/99999999999/jointoken/live_streaming", sim.token, 404, 3001 },
      { "GET", "/v2/meetings/68423085/jointoken/live_streaming", "wrong", 401, 124 },
      { "GET", "/v2/meetings/68423085/jointoken/local_recording", sim.token, 404, 404 },
      { "POST", "/v2/meetings/68423085/jointoken/live_streaming", sim.token, 405, 405 },
    }
    for i, c in ipairs(cases) do
      local status, body, head = curl(sim, c[1], c[2], c[3])
      assert.are.equal(c[4], status, "case " .. i)
      assert.are.equal(c[5], cjson.decode(body).code, "case " .. i)
      if c[4] == 405 then assert.truthy(head:find("Allow: GET\r\n", 1, true)) end
    end
  end)
end)

-- a Python HTTP server that records each POST (headers and body, base64)
-- as a JSON line in `file`, and answers 204
local PY_SERVER = [[
import base64, http.server, json, sys
out = open(sys.argv[1], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        out.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": base64.b64encode(body).decode()}) + "\n")
        out.flush()
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
]]

describe("zoomlive-sim webhook deliveries", function()
  local sim, py, file, pid
  local SECRET = "py-check-secret"

  setup(function()
    file = os.tmpname()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(PY_SERVER)
    f:close()
    py = assert(io.popen("exec sh -c 'echo $$; exec python3 \"$0\" \"$1\"' " .. shq(script) .. " " .. shq(file)))
    pid = assert(tonumber(py:read("l")))
    local port = assert(tonumber(py:read("l")))
    os.remove(script)
    sim = testing.start { qps = 1000, start_cooldown = 0, webhook_url = "http://127.0.0.1:" .. port .. "/zoom",
      webhook_secret = SECRET }
  end)
  teardown(function()
    if sim then sim:stop() end
    if pid then os.execute("kill " .. pid) end
    if py then py:close() end
    os.remove(file)
  end)

  local function wait_sent(n)
    for _ = 1, 5000 do   -- each look is a request to the simulator; no sleeping
      local d = sim:webhooks().deliveries
      local done = 0
      for _, x in ipairs(d) do if x.state ~= "queued" and x.state ~= "sending" then done = done + 1 end end
      if done >= n then return d end
    end
    error("deliveries did not finish")
  end

  local function received()
    local out = {}
    for line in io.lines(file) do
      local r = cjson.decode(line)
      r.body = require("mime").unb64(r.body)
      out[#out + 1] = r
    end
    return out
  end

  local function py_hmac(key, msg)
    local kp, mp = os.tmpname(), os.tmpname()
    local f = io.open(kp, "wb"); f:write(key); f:close()
    f = io.open(mp, "wb"); f:write(msg); f:close()
    local p = io.popen("python3 -c " .. shq("import hmac,hashlib,sys;print(hmac.new(open(sys.argv[1],'rb').read()," ..
      "open(sys.argv[2],'rb').read(),hashlib.sha256).hexdigest())") .. " " .. kp .. " " .. mp)
    local hex = p:read("l")
    p:close()
    os.remove(kp); os.remove(mp)
    return hex
  end

  it("posts started and stopped events that Python's hmac verifies", function()
    local function patch(id, action)
      local p = io.popen(string.format("curl -s -o /dev/null -w '%%{http_code}' -m 10 -X PATCH -H %s -H %s --data %s %s",
        shq("Authorization: Bearer " .. sim.token), shq("Content-Type: application/json"),
        shq('{"action":"' .. action .. '"}'), shq(sim.base_url .. "/meetings/" .. id .. "/livestream/status")))
      local code = p:read("a")
      p:close()
      return code
    end
    assert.are.equal("204", patch("68423085", "start"))
    assert.are.equal("204", patch("68423085", "start"))    -- already live: no second event
    assert.are.equal("204", patch("68423085", "stop"))
    local d = wait_sent(2)
    assert.are.equal(2, #d)
    assert.are.same({ "sent", 204, "sent", 204 }, { d[1].state, d[1].status, d[2].state, d[2].status })
    local got = received()
    assert.are.equal(2, #got)
    for i, name in ipairs({ "meeting.live_streaming_started", "meeting.live_streaming_stopped" }) do
      local r = got[i]
      assert.are.equal("/zoom", r.path)
      local ts = r.headers["x-zm-request-timestamp"]
      assert.matches("^%d+$", ts)
      assert.are.equal("v0=" .. py_hmac(SECRET, "v0:" .. ts .. ":" .. r.body), r.headers["x-zm-signature"])
      assert.matches("^application/json", r.headers["content-type"])
      local doc = cjson.decode(r.body)
      assert.are.equal(name, doc.event)
      assert.are.equal(68423085, doc.payload.object.id)
      assert.are.equal("key-68423085", doc.payload.object.live_streaming.custom_live_streaming_settings.stream_key)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", doc.payload.object.live_streaming.date_time)
      assert.is_true(math.abs(doc.event_ts / 1000 - tonumber(ts)) < 2)
    end
    -- the id of a meeting beyond 2^53 is written with every digit
    sim:set_meeting("9007199254740993", {})
    assert.are.equal("204", patch("9007199254740993", "start"))
    wait_sent(3)
    got = received()
    assert.truthy(got[3].body:find('"id":9007199254740993,', 1, true), got[3].body)
    -- the config shows whether a secret is set, never the secret
    local cfg = sim:config()
    assert.is_true(cfg.webhook_secret_set)
    assert.is_nil(cjson.encode(cfg):find(SECRET, 1, true))
    assert.is_nil(cjson.encode(sim:webhooks()):find("key-68423085", 1, true))
  end)

  it("refuses a webhook URL without a secret, and bad values", function()
    local exe = os.getenv("ZOOMLIVE_SIM") or testing.default_exe or "zoomlive-sim"
    for _, args in ipairs({ "--webhook-url http://127.0.0.1:1/", "--webhook-url ftp://x/ --webhook-secret s",
                            "--webhook-delay -1", "--webhook-secret ''" }) do
      local p = io.popen(shq(exe) .. " " .. args .. " 2>&1; echo \"exit=$?\"")
      local out = p:read("a")
      p:close()
      assert.matches("exit=2", out, 1, true)
    end
    assert.has_error(function() sim:config { webhook_url = "gopher://x/" } end)
    assert.has_error(function() sim:config { webhook_delay = -1 } end)
  end)
end)
