-- zoomlive_batch.lua - the batch targets, against zoomlive-sim:
--   client:update_many(items, {concurrency=, rate=}) -> results, summary
-- usage: lua5.4 bench/zoomlive_batch.lua SIM_PORT N CONCURRENCY RATE|- [label]
-- Every item starts the live stream of a distinct meeting (the simulator runs
-- with --any-meeting), so no item meets "already live" or the start
-- cool-down.  The number of 429s is taken from the simulator's request log
-- (GET /_sim/requests), not from the summary.
-- Prints one line:
--   BATCH label=L n=N ok=K failed=F elapsed=S http429=H summary429=X
-- or, when the client has no update_many:
--   BATCH label=L SKIP
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"
local cjson = require "cjson"

local port, n, conc, rate, label = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4], arg[5] or "batch"
assert(port and n and conc, "usage: zoomlive_batch.lua SIM_PORT N CONCURRENCY RATE|- [label]")
rate = tonumber(rate)   -- "-" -> nil: no rate limit

local sim = "http://127.0.0.1:" .. port
local client = zoomlive.new { token = "x", base_url = sim .. "/v2", encoding = "multipart" }
if type(client.update_many) ~= "function" then
  print("BATCH label=" .. label .. " SKIP")
  return
end

local ctl = core.new { timeout = 30, max_body = 64 * 1024 * 1024 }   -- the log is large
local function sim_call(method, path)
  local r = ctl:perform { method = method, url = sim .. path }
  if not r.status or r.kind or r.truncated then
    error("simulator control " .. path .. ": " .. tostring(r.body or r.message))
  end
  return r.status, r.body
end
sim_call("DELETE", "/_sim/requests")

local items = {}
local settings = { active_speaker_name = false, display_name = "Town hall" }
for i = 1, n do items[i] = { 85000000000 + i, "start", settings } end

local t0 = core.now()
local results, summary = client:update_many(items, { concurrency = conc, rate = rate })
local wall = core.now() - t0
summary = summary or {}

local ok, failed, first_err = 0, 0, nil
for i = 1, n do
  local r = results[i]
  if r and r.status and r.status >= 200 and r.status < 300 and r.err == nil then
    ok = ok + 1
  else
    failed = failed + 1
    if not first_err and r then first_err = tostring(r.err or r.status) end
  end
end

local _, body = sim_call("GET", "/_sim/requests")
local log = cjson.decode(body)
local h429, seen = 0, 0
for _, e in ipairs(log) do
  if type(e.path) == "string" and e.path:find("^/v2/meetings/%d+/livestream/status") then
    seen = seen + 1
    if e.status == 429 then h429 = h429 + 1 end
  end
end

print(string.format("BATCH label=%s n=%d ok=%d failed=%d elapsed=%.3f wall=%.3f http429=%d requests=%d summary_ok=%s summary429=%s%s",
  label, n, ok, failed, tonumber(summary.elapsed) or wall, wall, h429, seen, tostring(summary.ok),
  tostring(summary.http_429), first_err and (" first_error=" .. first_err:gsub("%s", "_")) or ""))
client:close()
ctl:close()
