-- A fleet worker for spec/fleet_spec.lua: one lua5.4 process of the fleet.
--   lua5.4 spec/fleet_worker.lua MODE REDIS_URL KEY [args...]
-- It waits at a barrier in Redis (INCR KEY:ready, then BLPOP KEY:go) so the
-- workers of one test act together, then does MODE and prints its results
-- on stdout, one "name value" per line.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local build = os.getenv("ZOOMLIVE_BUILD_DIR") or "build"
package.cpath = build .. "/lib/?.so;" .. package.cpath

local core = require "zoomlive.core"
local cjson = require "cjson"
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
  -- token SIM_URL [TIME_OFFSET]: the shared S2S token, then one call with it
  -- (renewed once on 401/124); prints the call's status and the fetches made
  local sim_url, offset = arg[4], tonumber(arg[5] or "0")
  local b = rb.new{ rate = 1000, store = url, key = key, timeout = 2 }
  local conn = core.new{}
  local fetches = 0
  local shared = require("zoomlive.budget.token").shared{
    store = b:token_store("sim-account", "sim-client-id"),
    time = function() return core.time() + offset end,
    fetch = function()
      fetches = fetches + 1
      local status, body = conn:perform("POST", sim_url .. "/oauth/token", nil,
        "application/x-www-form-urlencoded", "grant_type=account_credentials&account_id=sim-account",
        5, "sim-client-id:sim-client-secret")
      if status ~= 200 then return nil, "token endpoint: " .. tostring(status) end
      local doc = cjson.decode(body)
      return doc.access_token, doc.expires_in, doc.api_url
    end,
  }
  barrier()
  local function call(tok)
    return (conn:perform("GET", sim_url .. "/v2/meetings/68423085/livestream", tok, nil, nil, 5))
  end
  local tok = assert(shared.token())
  local status = call(tok)
  if status == 401 then
    out("renewed", tostring(shared.renew(tok)))
    tok = assert(shared.token())
    status = call(tok)
  end
  out("status", status)
  out("fetches", fetches)
else
  io.stderr:write("fleet_worker: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end
