--- zoomlive.budget.local: an in-process rate budget, shared by every call
-- that holds the same object (one client, its batches, its coroutines).
--
--   local budget = require("zoomlive.budget.local").new{ rate = 30, burst = 5 }
--   local wait = budget:take(now)     -- seconds to wait before trying again; 0 = go
--   budget:record(resp, now)          -- every response; a 429 sets a penalty
--
-- The pacing is GCRA (the generic cell rate algorithm, as in redis-cell): a
-- "theoretical arrival time" tat moves forward by 1/rate per request taken;
-- a request may go when tat - (burst - 1)/rate <= now. take() takes a slot
-- only when it answers 0; otherwise nothing is taken and the caller asks
-- again after the wait.
--
-- A 429 that speaks for the whole account (X-RateLimit-Type QPS or
-- Daily-limit, or a bare 429) sets a penalty: until Retry-After (Zoom sends
-- an ISO-8601 date; at least 1 s for a QPS 429), or 1 s for a QPS 429
-- without it, or the next UTC midnight for a Daily-limit without it. Every take() of this budget waits
-- the penalty out. The 429 Zoom answers to a second start of one stream
-- within 30 s belongs to that stream, not to the account: it sets none.
--
-- Pure: the clocks are given (`now` monotonic seconds, `time` Unix
-- seconds); no I/O.
local attempt = require "zoomlive.attempt"

local M = {}

local Budget = {}
Budget.__index = Budget
Budget.__name = "zoomlive.budget.local"
M.Budget = Budget

local type, max, floor, huge = type, math.max, math.floor, math.huge

M.QPS_PENALTY = attempt.MIN_429_WAIT  -- seconds, a QPS 429 without Retry-After
M.MAX_PENALTY = 86400 + 60 -- seconds, never wait longer than a day on one answer

local function positive(v, name, where)
  if type(v) ~= "number" or v ~= v or v <= 0 or v == huge then
    error(where .. ": '" .. name .. "' must be a positive number", 3)
  end
  return v
end

--- Checks rate and burst as the client option gives them; returns them.
-- rate: requests per second (> 0); burst: requests that may go at once
-- (integer >= 1, default 1).
function M.check(rate, burst, where)
  where = where or "zoomlive.budget"
  positive(rate, "rate", where)
  if burst == nil then burst = 1 end
  if type(burst) ~= "number" or math.tointeger(burst) == nil or burst < 1 then
    error(where .. ": 'burst' must be an integer >= 1", 3)
  end
  return rate, math.tointeger(burst)
end

local function default_time() return require("zoomlive.core").time() end

local parsers  -- zoomlive.core's pure parsers, loaded on first need

--- The account-wide penalty a response asks for: seconds, type
-- ("QPS" | "Daily-limit"), or nil when it asks for none.
-- resp: the pipeline's response value ({status=, retry_after=, rl_type=,
-- body=, date=}); retry_after is the header's text (a date or
-- delta-seconds, measured on the server's clock: the response's Date when
-- it has one, as zoomlive.attempt measures it) or a number of seconds.
-- time: Unix seconds now. clock: { retry_after =, getdate = } (defaults:
-- zoomlive.core's).
function M.penalty(resp, time, clock)
  if type(resp) ~= "table" or resp.status ~= 429 then return nil end
  local body = resp.body
  -- the per-stream start rule ("Too many requests submitted to start the
  -- live stream of this meeting") is not an account limit
  if type(body) == "string" and attempt.says_start_rule(body) then return nil end
  local typ = resp.rl_type
  if not (type(typ) == "string" and typ:lower():find("daily", 1, true)) then typ = "QPS"
  else typ = "Daily-limit" end
  local wait
  local ra = resp.retry_after
  if type(ra) == "number" then
    wait = ra
  elseif type(ra) == "string" then
    if not clock then
      if not parsers then
        local core = require "zoomlive.core"
        parsers = { retry_after = core.retry_after, getdate = core.getdate }
      end
      clock = parsers
    end
    wait = attempt.retry_after(resp, time, clock)
  end
  if not wait or wait ~= wait then
    if typ == "Daily-limit" then
      wait = (floor(time / 86400) + 1) * 86400 - time
    else
      wait = M.QPS_PENALTY
    end
  end
  -- a per-second 429 holds at least 1 s, as zoomlive.attempt waits: a date
  -- read on a clock ahead of Zoom's must not make it nothing
  if typ == "QPS" and wait < M.QPS_PENALTY then wait = M.QPS_PENALTY end
  if wait < 0 then wait = 0 end
  if wait > M.MAX_PENALTY then wait = M.MAX_PENALTY end
  return wait, typ
end

--- new{rate=, burst=, now=, time=}: rate in requests per second, burst as
-- in check(); now: monotonic seconds function (used by record when no
-- `now` is passed); time: Unix seconds function (Retry-After dates).
function M.new(opts)
  opts = opts or {}
  local rate, burst = M.check(opts.rate, opts.burst, "zoomlive.budget.local")
  local nowf = opts.now or require("zoomlive.core").now
  return setmetatable({
    rate = rate,
    burst = burst,
    _interval = 1 / rate,
    _tau = (burst - 1) / rate,
    _tat = -huge,
    _penalty_until = -huge,
    _penalty_type = nil,
    _now = nowf,
    _time = opts.time or default_time,
  }, Budget)
end

--- Seconds to wait before asking again; 0 means a slot was taken: go.
function Budget:take(now)
  now = now or self._now()
  if now < self._penalty_until then return self._penalty_until - now end
  local tat = max(self._tat, now)
  local allow_at = tat - self._tau
  -- within a nanosecond counts as on time (float sums of the interval)
  if allow_at - now > 1e-9 then return allow_at - now end
  self._tat = tat + self._interval
  return 0
end

--- Sets a penalty: every take() waits until now + seconds.
function Budget:penalize(seconds, typ, now)
  now = now or self._now()
  local until_ = now + seconds
  if until_ > self._penalty_until then
    self._penalty_until = until_
    self._penalty_type = typ
  end
end

--- Sees one response; a 429 for the account sets the penalty.
-- Returns the penalty set (seconds, type) or nil.
function Budget:record(resp, now)
  local wait, typ = M.penalty(resp, self._time())
  if not wait then return nil end
  self:penalize(wait, typ, now)
  return wait, typ
end

--- Seconds of penalty left (0 when none) and its type.
function Budget:penalty(now)
  now = now or self._now()
  local left = self._penalty_until - now
  if left <= 0 then return 0 end
  return left, self._penalty_type
end

--- What this budget is, for info.budget.
function Budget.describe() return "local" end

function Budget:__tostring()
  return string.format("zoomlive.budget.local (%g/s, burst %d)", self.rate, self.burst)
end

return M
