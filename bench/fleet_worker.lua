-- One process of the fleet bench (bench/fleet.sh):
--   lua5.4 bench/fleet_worker.lua MODE SIM_PORT N FIRST_ID RATE BURST [REDIS_URL SHARE]
-- MODE: "shared" (the budget on Redis) or "local" (each process its own
-- in-process budget at RATE). Sends N updates (action stop) to meetings
-- FIRST_ID.., one after the other on one client, and prints one line:
--   FLEET ok=.. failed=.. raised=.. requests=.. http429=.. wall=.. budget=.. warnings=..
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"

local mode, port, n, first = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
local rate, burst, redis_url, share = tonumber(arg[5]), tonumber(arg[6]), arg[7], tonumber(arg[8])

local requests, http429, warnings = 0, 0, 0
local budget = { rate = rate, burst = burst }
if mode == "shared" then
  budget.store, budget.key, budget.share = redis_url, "zoomlive:bench", share
end

local client = zoomlive.new{
  base_url = "http://127.0.0.1:" .. port .. "/v2", token = "x",
  budget = budget, retries = 10, max_retry_wait = 30, deadline = 600,
  debug = function(e)
    if e.event == "response" then
      requests = requests + 1
      if e.status == 429 then http429 = http429 + 1 end
    elseif e.event == "failure" then
      requests = requests + 1
    elseif e.event == "budget" then
      warnings = warnings + 1
      io.stderr:write("worker: ", e.message, "\n")
    end
  end,
}

local ok, failed, raised, last_budget = 0, 0, 0, "?"
local t0 = core.now()
for i = 1, n do
  local fine, status, err, info = pcall(client.update, client, first + i - 1, "stop")
  if not fine then
    raised = raised + 1
    io.stderr:write("worker: raised: ", tostring(status), "\n")
  elseif status == 204 then
    ok = ok + 1
  else
    failed = failed + 1
    io.stderr:write("worker: failed: ", tostring(err), "\n")
  end
  if fine and info and info.budget then last_budget = info.budget end
end
local wall = core.now() - t0
print(string.format("FLEET ok=%d failed=%d raised=%d requests=%d http429=%d wall=%.3f warnings=%d budget=%s",
  ok, failed, raised, requests, http429, wall, warnings, (last_budget:gsub("%s", "_"))))
client:close()
