-- The simulator under stress: its request log is valid JSON (UTF-8, bytes
-- that are not UTF-8 escaped as \xNN) whatever bytes a client sent, and its
-- health endpoint answers while slow clients hold connections within its
-- limits (--max-connections, fitted to the open-file limit; more are
-- refused at once, never left waiting).
local socket = require "socket"
local cjson = require "cjson"
local testing = require "zoomlive.testing"
local support = require "support"

local SIM = os.getenv("ZOOMLIVE_SIM") or testing.default_exe or "build/bin/zoomlive-sim"

-- one raw exchange: send bytes, read until the server closes (HTTP/1.0)
local function raw(port, bytes, timeout)
  local c = assert(socket.connect("127.0.0.1", port))
  c:settimeout(timeout or 5)
  c:send(bytes)
  local out, err, partial = c:receive("*a")
  c:close()
  return out or (partial ~= "" and partial or nil), err
end

local function body_of(resp)
  return resp:match("\r\n\r\n(.*)$")
end

-- status of GET /_sim/health (nil when no answer), and how the read ended
local function health_raw(port, timeout)
  local resp, err = raw(port, "GET /_sim/health HTTP/1.0\r\n\r\n", timeout)
  return resp and resp:match("^HTTP/1%.%d (%d+)"), err
end

local BAD = "\255\254 \192\175 \237\160\128 \245\128\128\128 \0 \195"   -- invalid, overlong, surrogate, > U+10FFFF, NUL, cut

describe("the simulator's request log", function()
  local sim, port
  setup(function()
    sim = testing.start { qps = 100000, daily = 0, any_meeting = true }
    port = tonumber(sim.url:match(":(%d+)$"))
  end)
  teardown(function() sim:stop() end)

  it("stays valid JSON and UTF-8 whatever bytes a client sent", function()
    sim:clear_requests()
    local json_body = '{"action":"start","settings":{"display_name":"' .. BAD:gsub("%z", "") .. '"},"'
      .. "\255key" .. '":1}'
    local sends = {
      -- header values and names, a query, a path with escapes that decode to junk
      "PATCH /v2/meetings/68423085/livestream/status?x=%FF%C0%AF&%ED%A0%80=1 HTTP/1.0\r\n"
        .. "Authorization: Bearer sim-token\r\nX-Junk: " .. BAD:gsub("%z", "") .. "\r\n"
        .. "Content-Type: application/json\r\nContent-Length: " .. #json_body .. "\r\n\r\n" .. json_body,
      -- a multipart body with junk in a field's name and value
      (function()
        local b = "--B\r\nContent-Disposition: form-data; name=\"act\255ion\"\r\n\r\nst\192art\0x\r\n"
          .. "--B\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nstop\r\n--B--\r\n"
        return "PATCH /v2/meetings/%FF%FE/livestream/status HTTP/1.0\r\nAuthorization: Bearer sim-token\r\n"
          .. "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: " .. #b .. "\r\n\r\n" .. b
      end)(),
      -- a body that is not JSON at all
      "PATCH /v2/meetings/68423085/livestream HTTP/1.0\r\nAuthorization: Bearer sim-token\r\n"
        .. "Content-Type: application/json\r\nContent-Length: " .. #BAD .. "\r\n\r\n" .. BAD,
    }
    for _, s in ipairs(sends) do assert.truthy(raw(port, s)) end
    local resp = assert(raw(port, "GET /_sim/requests HTTP/1.0\r\n\r\n"))
    local text = body_of(resp)
    assert.truthy(utf8.len(text), "the log is not valid UTF-8")
    local log = cjson.decode(text)
    assert.equal(#sends, #log)
    local all = table.concat(support.strings(log), "\n")
    assert.truthy(all:find("\\xFF", 1, true), "invalid bytes are shown escaped")
    assert.truthy(all:find("\\xC0\\xAF", 1, true), "an overlong form is escaped")
    assert.truthy(all:find("\\xED\\xA0\\x80", 1, true), "a surrogate is escaped")
    -- every string, keys included, is valid UTF-8 once decoded
    for _, s in ipairs(support.strings(log)) do assert.truthy(utf8.len(s), s) end
  end)
end)

describe("the simulator's health endpoint under slow clients", function()
  local function slow_clients(port, n, kind)
    local held = {}
    for i = 1, n do
      local c = assert(socket.connect("127.0.0.1", port))
      if kind == "body" then
        c:send("PATCH /v2/meetings/1/livestream/status HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
      else
        c:send("PATCH /v2/meetings/1/livestream/status HTTP/1.1\r\nHost: x\r\n")
      end
      held[i] = c
    end
    return held
  end
  local function release(held) for _, c in ipairs(held) do c:close() end end

  it("answers while 600 slow clients hold connections (limit 1024)", function()
    local sim = testing.start {}
    local port = tonumber(sim.url:match(":(%d+)$"))
    assert.equal(1024, sim:health().max_connections)
    local a = slow_clients(port, 300, "header")
    local b = slow_clients(port, 300, "body")
    assert.equal("200", (health_raw(port)))
    release(a); release(b)
    sim:stop()
  end)

  it("fits its limit to a low open-file limit, answers below it, refuses at once above it", function()
    local wrapper = os.tmpname()
    local f = assert(io.open(wrapper, "w"))
    f:write("#!/bin/sh\nulimit -n 256 || exit 1\nexec " .. support.shq(SIM) .. ' "$@"\n')
    f:close()
    os.execute("chmod +x " .. support.shq(wrapper))
    local sim = testing.start { exe = wrapper, args = { "--connection-timeout", "30" } }
    local port = tonumber(sim.url:match(":(%d+)$"))
    local h = sim:health()
    assert.equal(30, h.connection_timeout)
    local limit = h.max_connections
    assert.is_true(limit <= 256 - 32, "limit " .. limit)
    assert.is_true(limit >= 200, "limit " .. limit)
    -- within the limit: the health check still answers
    local held = slow_clients(port, limit - 2, "header")
    assert.equal("200", (health_raw(port)))
    -- past it: a new connection is closed at once, not left waiting
    local more = slow_clients(port, 10, "header")
    local code, how = health_raw(port, 20)
    assert.is_nil(code)
    assert.equal("closed", how)   -- refused, not a read that timed out
    release(more); release(held)
    -- and once the slow clients have left, it answers again (their threads
    -- end as the closes arrive: a few attempts, no sleeping)
    local ok
    for _ = 1, 1000 do
      if health_raw(port) == "200" then ok = true break end
    end
    assert.is_true(ok)
    sim:stop()
    os.remove(wrapper)
  end)
end)
