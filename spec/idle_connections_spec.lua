-- Dropped clients do not hold sockets until the garbage collector runs: at
-- most core.idle_max (ZL_IDLE_MAX) connection objects keep a connection open
-- between requests, process-wide; each holds its socket and the two of
-- libcurl's wakeup pair. The file descriptors are counted in /proc/<pid>/fd
-- of a child lua5.4 that makes the clients with its collector stopped, so
-- that nothing is freed (a child: under the sanitizers, thousands of
-- handles in busted's own process made LeakSanitizer's tracer crash at exit).
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"
local testing = require "zoomlive.testing"
local support = require "support"

local LUA = os.getenv("ZOOMLIVE_LUA") or "lua5.4"
local IDLE_MAX = core.idle_max
local BOUND = 3 * IDLE_MAX + 8

-- fds(): the child's open file descriptors (/proc/<pid>/fd)
local FDS = [[
local function fds()
  local st = assert(io.open("/proc/self/stat"))
  local pid = st:read("n")
  st:close()
  local p = assert(io.popen("ls /proc/" .. pid .. "/fd | wc -l"))
  local n = tonumber(p:read("a"))
  p:close()
  return n
end
]]

-- runs `code` (with SIM_TOKEN, SIM_BASE and fds() defined) in a child lua5.4,
-- under `ulimit -n` when given; returns its output
local function child(sim, code, nofile)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(('package.path = "lua/?.lua;lua/?/init.lua;" .. package.path\n'
    .. 'local SIM_TOKEN, SIM_BASE = %q, %q\n'):format(sim.token, sim.base_url), FDS, code)
  f:close()
  local cmd = (nofile and ("ulimit -n " .. nofile .. " && ") or "") .. "exec " .. support.shq(LUA)
    .. " " .. support.shq(script)
  local p = assert(io.popen("sh -c " .. support.shq(cmd) .. " 2>&1"))
  local out = p:read("a")
  p:close()
  os.remove(script)
  return out
end

describe("idle connections", function()
  local sim
  setup(function()
    sim = testing.start { qps = 1000000, daily = 0, start_cooldown = 0, any_meeting = true }
  end)
  teardown(function() sim:stop() end)

  it("3,000 clients dropped without close() hold at most the pool's cap of sockets", function()
    local out = child(sim, [[
      local zoomlive = require "zoomlive"
      local before = fds()
      collectgarbage("stop")
      local peak, failed = 0, 0
      for i = 1, 3000 do
        local c = zoomlive.new { token = SIM_TOKEN, base_url = SIM_BASE, retries = 0 }
        if c:stop(68423085) ~= 204 then failed = failed + 1 end
        if i % 250 == 0 then
          local n = fds() - before
          if n > peak then peak = n end
        end
      end
      print(("RESULT failed=%d peak=%d after=%d"):format(failed, peak, fds() - before))
    ]])
    local failed, peak, after = out:match("RESULT failed=(%d+) peak=(%-?%d+) after=(%-?%d+)")
    assert.truthy(failed, out)
    assert.equal(0, tonumber(failed))
    assert.is_true(tonumber(peak) <= BOUND, "peak " .. peak .. " fds above the start")
    assert.is_true(tonumber(after) <= BOUND, after .. " fds above the start")
  end)

  it("a connection whose last request was refused before sending stays counted in the pool", function()
    -- each object: one good request (a connection), then one refused before
    -- sending (CR/LF in the token): the refused one keeps its place in the
    -- pool, so the pool still closes the idle connections past its cap
    local out = child(sim, [[
      local core = require "zoomlive.core"
      local before = fds()
      local keep, refused = {}, 0
      local req = { method = "PATCH", url = SIM_BASE .. "/meetings/68423085/livestream/status",
        content_type = "application/json", body = '{"action":"stop"}' }
      for i = 1, 4 * ]] .. IDLE_MAX .. [[ do
        local c = core.new {}
        keep[i] = c
        assert(c:perform(req, SIM_TOKEN).status == 204)
        if c:perform(req, "bad\ntoken").kind == "argument" then refused = refused + 1 end
      end
      print(("RESULT refused=%d after=%d"):format(refused, fds() - before))
    ]])
    local refused, after = out:match("RESULT refused=(%d+) after=(%-?%d+)")
    assert.truthy(refused, out)
    assert.equal(4 * IDLE_MAX, tonumber(refused))
    assert.is_true(tonumber(after) <= BOUND, after .. " fds above the start (bound " .. BOUND .. ")")
  end)

  it("a client used again after losing its connection connects again", function()
    local first = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
    assert.equal(204, first:stop(68423085))
    local others = {}
    for i = 1, IDLE_MAX + 5 do
      others[i] = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
      assert.equal(204, others[i]:stop(68423085))
    end
    assert.equal(204, first:stop(68423085))
    assert.equal(204, first:update(68423085, "start", { display_name = "again" }))
    first:close()
    for _, c in ipairs(others) do c:close() end
  end)

  it("3,000 dropped clients under a 256-descriptor limit all succeed, and the host can still open files",
      function()
    local out = child(sim, [[
      local zoomlive = require "zoomlive"
      collectgarbage("stop")
      local failed = 0
      for _ = 1, 3000 do
        local c = zoomlive.new { token = SIM_TOKEN, base_url = SIM_BASE, retries = 0 }
        if c:stop(68423085) ~= 204 then failed = failed + 1 end
      end
      local p = io.popen("echo popen-ok")
      local got = p and p:read("a") or "popen failed"
      if p then p:close() end
      print(("RESULT failed=%d %s"):format(failed, got))
    ]], 256)
    assert.matches("RESULT failed=0 popen%-ok\n", out)
  end)
end)
