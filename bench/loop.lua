-- loop.lua - the event-loop targets, against zoomlive-sim (bench/loop.sh).
-- usage: lua5.4 bench/loop.lua SIM_EXE [CALLS_CONCURRENCY]
--
-- 1. 100 calls (client:stop of distinct meetings) through the luv adapter,
--    the simulator answering after 200 ms, while the host runs a 1 ms
--    repeating timer: the longest gap between two ticks (goal <= 5 ms), and
--    the time of the 100 calls against the ideal for their concurrency,
--    ceil(100 / c) * 200 ms (goal <= 1.2x).
-- 2. 1,000 updates (update_many, concurrency 32) on the loop client's
--    driver, the simulator answering after 20 ms: time against the ideal
--    1000 * 20 ms / 32 (goal <= 1.10x).
-- Prints one line per target:
--   LOOP target=calls n= conc= ok= elapsed= ideal= ratio= max_gap_ms= p99_gap_ms= ticks=
--        cb_max_ms= cb_cpu_max_ms=   (the longest zoomlive callback: wall, CPU)
--        baseline_gap_ms=            (the longest gap of the timer alone, no calls)
--        burst_ms= burst_cpu_ms=     (the host callback starting the 100 calls)
--   LOOP target=batch n= conc= ok= elapsed= ideal= ratio=
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local uv = require "luv"

local exe = assert(arg[1], "usage: loop.lua SIM_EXE [CALLS_CONCURRENCY]")
local CALLS, CALLS_LAT, CALLS_CONC = 100, 0.200, tonumber(arg[2]) or 25
local BATCH, BATCH_LAT, BATCH_CONC = 1000, 0.020, 32

local sim = testing.start { exe = exe, any_meeting = true, qps = 0, daily = 0, start_cooldown = 0 }

-- the luv adapter, each of its callbacks timed (wall and CPU): how long
-- zoomlive itself holds the loop
local cb_max, cb_cpu_max = 0, 0
local function timed_adapter()
  local a = require("zoomlive.loop.luv").new()
  local function timed(fn)
    return function(...)
      local t0, c0 = uv.hrtime(), os.clock()
      fn(...)
      local dt, dc = (uv.hrtime() - t0) / 1e6, (os.clock() - c0) * 1000
      if dt > cb_max then cb_max = dt end
      if dc > cb_cpu_max then cb_cpu_max = dc end
    end
  end
  local watch, timer = a.watch, a.timer
  a.watch = function(fd, ev, cb) return watch(fd, ev, timed(cb)) end
  a.timer = function(s, fn) return timer(s, timed(fn)) end
  a.name = "luv (timed)"
  return a
end

-- runs fn as a coroutine inside the luv loop; returns when the loop is idle
local function in_loop(fn)
  local t = uv.new_timer()
  t:start(1, 0, function()
    t:close()
    coroutine.wrap(fn)()
  end)
  uv.run()
end

-- the machine's own noise: the 1 ms timer alone, for as long as the calls take
local function ticker_alone(seconds)
  local tick, ticks, last, max_gap = uv.new_timer(), 0, nil, 0
  tick:start(1, 1, function()
    local now = uv.hrtime()
    if last and (now - last) / 1e6 > max_gap then max_gap = (now - last) / 1e6 end
    last = now
    ticks = ticks + 1
    if ticks >= seconds * 1000 then
      tick:stop()
      tick:close()
    end
  end)
  uv.run()
  return max_gap
end
local baseline = ticker_alone(math.ceil(CALLS / CALLS_CONC) * CALLS_LAT)

-- 1. calls, 200 ms latency, the host's 1 ms timer
sim:reset()
sim:fault { path = "/v2/meetings/", latency_ms = math.floor(CALLS_LAT * 1000) }
do
  local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, loop = timed_adapter(),
    concurrency = CALLS_CONC }
  local tick = uv.new_timer()
  local ticks, last, max_gap, gaps = 0, nil, 0, {}
  tick:start(1, 1, function()
    local now = uv.hrtime()
    if last then
      local g = (now - last) / 1e6
      if g > max_gap then max_gap = g end
      gaps[#gaps + 1] = g
    end
    last = now
    ticks = ticks + 1
  end)
  local ok, done, t0, t1 = 0, 0, nil, nil
  local burst, burst_cpu = 0, 0    -- the host's callback that starts the 100 calls
  -- the calls start once the ticker runs
  local start = uv.new_timer()
  start:start(20, 0, function()
    start:close()
    t0 = uv.hrtime()
    local c0 = os.clock()
    for i = 1, CALLS do
      coroutine.wrap(function()
        local s = c:stop(85000000000 + i)
        if s == 204 then ok = ok + 1 end
        done = done + 1
        if done == CALLS then
          t1 = uv.hrtime()
          -- a few more ticks after the last call, then the host stops
          local stop = uv.new_timer()
          stop:start(20, 0, function()
            stop:close()
            tick:stop()
            tick:close()
          end)
        end
      end)()
    end
    burst = (uv.hrtime() - t0) / 1e6
    burst_cpu = (os.clock() - c0) * 1000
  end)
  uv.run()
  local elapsed = (t1 - t0) / 1e9
  local ideal = math.ceil(CALLS / CALLS_CONC) * CALLS_LAT
  table.sort(gaps)
  local p99 = gaps[math.max(1, math.ceil(#gaps * 0.99))] or 0
  print(string.format("LOOP target=calls n=%d conc=%d ok=%d elapsed=%.3f ideal=%.3f ratio=%.3f "
    .. "max_gap_ms=%.2f p99_gap_ms=%.2f ticks=%d cb_max_ms=%.2f cb_cpu_max_ms=%.2f baseline_gap_ms=%.2f burst_ms=%.2f burst_cpu_ms=%.2f",
    CALLS, CALLS_CONC, ok, elapsed, ideal, elapsed / ideal, max_gap, p99, ticks, cb_max, cb_cpu_max, baseline, burst, burst_cpu))
end

-- 2. update_many, 20 ms latency, concurrency 32, on the loop's driver
sim:reset()
sim:fault { path = "/v2/meetings/", latency_ms = math.floor(BATCH_LAT * 1000) }
do
  local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, loop = "luv",
    concurrency = BATCH_CONC }
  local items = {}
  local settings = { active_speaker_name = false, display_name = "Town hall" }
  for i = 1, BATCH do items[i] = { 86000000000 + i, "start", settings } end
  local elapsed, ok
  in_loop(function()
    local t0 = uv.hrtime()
    local _, summary = c:update_many(items, { concurrency = BATCH_CONC })
    elapsed = (uv.hrtime() - t0) / 1e9
    ok = summary.ok
  end)
  local ideal = BATCH * BATCH_LAT / BATCH_CONC
  print(string.format("LOOP target=batch n=%d conc=%d ok=%d elapsed=%.3f ideal=%.3f ratio=%.3f",
    BATCH, BATCH_CONC, ok, elapsed, ideal, elapsed / ideal))
end
sim:stop()
