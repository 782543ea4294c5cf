-- zoomlive_seq.lua - sequential client:update(id, "start", settings) on one
-- client, the seed's call, in the multipart form (the seed's) or the JSON form.
-- usage: lua5.4 bench/zoomlive_seq.lua BASE_URL N WARMUP [mem|-] [multipart|json]
--   prints  RESULT name=zoomlive n=N secs=S cpu_us=U hwm_kb=K  (name=zoomlive_json: JSON)
--   with "mem": also  MEM calls=1000 hwm_kb=K  after 1,000 calls (warm-up
--   included) and  MEM calls=N hwm_kb=K  at the end.
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"

local base, n, warm, mode = arg[1], tonumber(arg[2]), tonumber(arg[3] or 200), arg[4]
local encoding = arg[5] or os.getenv("BENCH_ENCODING") or "multipart"   -- named always: the bench measures both forms
assert(base and n and (encoding == "multipart" or encoding == "json"),
  "usage: zoomlive_seq.lua BASE_URL N WARMUP [mem|-] [multipart|json]")

local function hwm_kb()
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or -1
end

local client = zoomlive.new { token = "x", base_url = base, retries = 0, encoding = encoding }
local id = 68423085
local settings = { active_speaker_name = false, display_name = "Town hall" }

local function one()
  local status, err = client:update(id, "start", settings)
  if status ~= 204 then
    io.stderr:write("zoomlive_seq: ", tostring(status), " ", tostring(err), "\n")
    os.exit(1)
  end
end

for _ = 1, warm do one() end
local calls = warm
local cpu0, t0 = os.clock(), core.now()   -- os.clock: process user+sys CPU
for _ = 1, n do
  one()
  calls = calls + 1
  if mode == "mem" and calls == 1000 then
    print(string.format("MEM calls=%d hwm_kb=%d", calls, hwm_kb()))
  end
end
local secs, cpu = core.now() - t0, os.clock() - cpu0
if mode == "mem" then print(string.format("MEM calls=%d hwm_kb=%d", calls, hwm_kb())) end
print(string.format("RESULT name=%s n=%d secs=%.6f cpu_us=%.0f hwm_kb=%d",
  encoding == "json" and "zoomlive_json" or "zoomlive", n, secs, cpu * 1e6, hwm_kb()))
client:close()
