-- A fleet worker for spec/fleet_spec.lua: one lua5.4 process of the fleet.
--   lua5.4 spec/fleet_worker.lua MODE REDIS_URL KEY [args...]
-- It waits at a barrier in Redis (INCR KEY:ready, then BLPOP KEY:go) so the
-- workers of one test act together, then does MODE and prints its results
-- on stdout, one "name value" per line.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local build = os.getenv("ZOOMLIVE_BUILD_DIR") or "build"
package.cpath = build .. "/lib/?.so;" .. package.cpath

local core = require "zoomlive.core"
local rb = require "zoomlive.budget.redis"

local mode, url, key = arg[1], arg[2], arg[3]

local function out(k, v) io.write(k, " ", tostring(v), "\n") end

-- the barrier, on its own connection with a long timeout
local function barrier()
  local s = rb.new_store{ url = url, timeout = 20 }
  assert(s:command("INCR", key .. ":ready"))
  local r, err = s:command("BLPOP", key .. ":go", 15)
  assert(type(r) == "table", "barrier: " .. tostring(err))
  s:close()
end

if mode == "takes" then
  -- takes RATE BURST N: N takes, no waiting; prints how many were granted
  local rate, burst, n = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  local b = rb.new{ rate = rate, burst = burst, store = url, key = key, timeout = 2 }
  barrier()
  local granted = 0
  for _ = 1, n do
    if b:take() == 0 then granted = granted + 1 end
  end
  out("granted", granted)
  out("budget", b:describe())
elseif mode == "wait" then
  -- wait RATE: one take; prints the wait it was told
  local b = rb.new{ rate = tonumber(arg[4]), store = url, key = key, timeout = 2 }
  out("wait", string.format("%.6f", b:take()))
  out("budget", b:describe())
elseif mode == "token" then
  -- token SIM_URL [TIME_OFFSET]: a client on S2S OAuth sharing its token
  -- through the budget's store; one call; prints its outcome
  local sim_url, offset = arg[4], tonumber(arg[5] or "0")
  local zoomlive = require "zoomlive"
  local c = zoomlive.new{ base_url = sim_url .. "/v2", oauth_url = sim_url .. "/oauth/token",
    account_id = "sim-account", client_id = "sim-client-id", client_secret = "sim-client-secret",
    budget = { rate = 1000, store = url, key = key, timeout = 2 },
    time = function() return core.time() + offset end }
  barrier()
  local v, err, info = c:get(68423085)
  out("status", v and 200 or (err and err.status or err and err.kind))
  out("attempts", info.attempts)
  out("budget", info.budget)
else
  io.stderr:write("fleet_worker: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end
