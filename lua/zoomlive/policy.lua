--- zoomlive.policy: what is retried, and how long each wait is.
-- Pure functions over one attempt's outcome, shared by the blocking client
-- and the batch driver. The client enforces the budgets (retries,
-- max_retry_wait, deadline); this module only decides.
--
-- | outcome                                  | retried? | wait                                  |
-- |------------------------------------------|----------|---------------------------------------|
-- | 2xx                                      | done     |                                       |
-- | cancelled (the host asked for an abort)  | never    |                                       |
-- | transport failure, timeout               | yes      | backoff                               |
-- | 502, 503, 504                            | yes      | Retry-After if given, else backoff    |
-- | 500 without a Zoom error code            | yes      | backoff                               |
-- | 429 answering a `start`                  | yes      | 30 s, or a later Retry-After          |
-- | 429 of type QPS, or of no stated type    | yes      | Retry-After if given, else 1 s + backoff |
-- | 429 of type Daily-limit                  | never    | (err.retry_after tells when)          |
-- | 500 with a Zoom code, any other status   | never    |                                       |
local core = require "zoomlive.core"

local M = {}

M.START_WAIT = 30   -- Zoom: "retry making a new request after 30 seconds"

--- Decides on one outcome.
-- o: { status = n|nil, kind = "transport"|"timeout"|nil, code = zoom code|nil,
--      rl_type = header|nil, retry_after = seconds|nil, action = string|nil }
-- Returns "done" | "retry", wait | "fail", retry_after_or_nil
function M.decide(o, attempt, backoff)
  local status = o.status
  if status and status >= 200 and status < 300 then return "done" end
  if o.kind == "cancelled" then return "fail" end   -- the host asked to stop
  local base, cap = backoff.base, backoff.cap
  if not status then
    return "retry", core.backoff(attempt, base, cap)
  end
  local ra = o.retry_after
  if status == 429 then
    if o.rl_type and o.rl_type:lower():find("daily", 1, true) then
      return "fail", ra
    end
    if o.action == "start" then
      -- Retry-After dates have whole-second granularity: one within a
      -- second of Zoom's 30 s is that same 30 s, rounded up
      if ra and ra >= M.START_WAIT + 1 then return "retry", ra end
      return "retry", M.START_WAIT
    end
    if ra then return "retry", ra end
    return "retry", math.min(1 + core.backoff(attempt, base, cap), math.max(cap, 1))
  end
  if status == 502 or status == 503 or status == 504 then
    return "retry", ra or core.backoff(attempt, base, cap)
  end
  if status == 500 and o.code == nil then
    return "retry", core.backoff(attempt, base, cap)
  end
  return "fail", ra
end

return M
