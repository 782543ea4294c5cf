--- zoomlive.attempt: what one attempt's outcome means, decided in one place.
--
-- Pure: the clock readings and the random source come in as arguments, so
-- every decision is unit-tested without a network, a simulator or waiting.
-- Every scheduler (blocking, batch, event loop) calls `classify` on every
-- response or transport failure and does what it says.
--
-- | outcome                                   | verdict | wait                                        |
-- |-------------------------------------------|---------|---------------------------------------------|
-- | 2xx                                       | done    |                                             |
-- | 401 with Zoom code 124 (token expired)    | renew   | once per call, then as any 401              |
-- | transport failure, timeout                | retry   | backoff                                     |
-- | 502, 503, 504                             | retry   | Retry-After if given, else backoff          |
-- | 500 without a Zoom error code             | retry   | backoff                                     |
-- | 429 of the start rule (a `start` refused:  | retry   | 30 s, or a later Retry-After                |
-- |   "retry ... after 30 seconds")           |         |                                             |
-- | 429 of type QPS, or of no stated type     | retry   | Retry-After (on the server's clock), at     |
-- |                                           |         | least 1 s; else 1 s + backoff               |
-- | 429 of type Daily-limit                   | fail    | (err.retry_after tells when)                |
-- | 500 with a Zoom code, any other status    | fail    |                                             |
-- | cancelled                                 | fail    |                                             |
--
-- A retry is given up (verdict fail) when the attempts are spent, the wait
-- exceeds max_retry_wait, or it would end past the call's deadline.
--
-- Once an attempt's outcome is unknown (the request left, no answer came
-- back), the call's final error and info carry `outcome_unknown = true`:
-- Zoom may have applied it. A `start` whose answer was lost is not retried
-- into Zoom's 30-s start rule: the start rule's 429 (or 400/4400, the
-- stream already live) then ends the call with outcome_unknown.
local errors = require "zoomlive.errors"
local validate = require "zoomlive.validate"

local type, tonumber = type, tonumber
local min, max = math.min, math.max

local M = {}

M.START_WAIT = 30   -- Zoom: "retry making a new request after 30 seconds"
M.MIN_429_WAIT = 1  -- a 429 is never retried at once (the per-second window)
M.MESSAGE_MAX = errors.MESSAGE_MAX -- characters of server text an error keeps

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [409] = "Conflict",
  [413] = "Payload Too Large", [415] = "Unsupported Media Type",
  [429] = "Too Many Requests", [500] = "Internal Server Error",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

--- Server text made safe to show (zoomlive.errors.text): control
-- characters become spaces, bytes that are not UTF-8 "?", and at most
-- M.MESSAGE_MAX characters are kept.
local function clean(s)
  return errors.text(s, M.MESSAGE_MAX)
end
M.clean = clean

--- The X-RateLimit-* headers of a response, or nil.
local function rate_limit(r)
  local cat, typ, lim, rem = r.rl_category, r.rl_type, r.rl_limit, r.rl_remaining
  if not (cat or typ or lim or rem) then return nil end
  return { category = cat, type = typ, limit = tonumber(lim), remaining = tonumber(rem) }
end
M.rate_limit = rate_limit

--- A non-2xx answer as an error table of kind "http" (status, code,
-- message, errors, tracking_id, body, rate_limit).
local function http_error(r, decode_json)
  local status, body = r.status, r.body or ""
  local e = { kind = "http", status = status, tracking_id = r.tracking_id, body = body,
    rate_limit = rate_limit(r) }
  local ctype = r.content_type
  if body ~= "" and ((ctype and ctype:find("json", 1, true)) or body:find("^%s*[{%[]")) then
    local ok, doc = pcall(decode_json, body)
    if ok and type(doc) == "table" then
      local code = doc.code
      -- Zoom's codes are integers; a float from JSON is taken only when exact
      if type(code) == "number" then e.code = validate.integer(code, "code") end
      local msg = doc.message
      if type(msg) ~= "string" then msg = doc.reason end    -- OAuth: {reason, error}
      if type(msg) ~= "string" then msg = doc.error end
      if type(msg) == "string" then e.message = clean(msg) end
      if type(doc.errors) == "table" then e.errors = errors.details(doc.errors) end
    end
  end
  if not e.message then
    if body == "" then
      e.message = REASONS[status] or "HTTP error"
    else
      local first = body:match("^%s*([^\r\n]*)") or ""
      e.message = (REASONS[status] or "HTTP error") .. ": unexpected response: " .. clean(first)
    end
  end
  return setmetatable(e, errors.metatable)
end
M.http_error = http_error

local function backoff(attempt, b, rand)
  local cap = b.base * 2 ^ min(attempt, 60)
  if cap > b.cap then cap = b.cap end
  return rand() * cap
end

--- Seconds until a Retry-After value, measured on the server's clock: the
-- response's Date header when it has one, else `time` (Unix seconds).
-- parse(value, now) -> seconds | nil (zoomlive.core.retry_after);
-- getdate(http_date) -> Unix seconds | nil (zoomlive.core.getdate).
local function retry_after(r, time, clock)
  local ra = r.retry_after
  local ref = time
  local d = r.date and clock.getdate(r.date)
  if d then ref = d end
  return clock.retry_after(ra, ref)
end

--- Whether a 429's text speaks of Zoom's start rule (one stream, 30 s)
-- rather than of the account's limits.
function M.says_start_rule(msg)
  return msg:find("start the live stream", 1, true) ~= nil or msg:find("after %d+ seconds") ~= nil
end

-- a 429 answering a `start` under Zoom's start rule, told apart from a
-- per-second 429 by what it says: its message, its Retry-After
local function start_rule(req, e, wait)
  if req.action ~= "start" then return false end
  if M.says_start_rule(e.message or "") then return true end
  if wait and wait >= M.START_WAIT - 5 then return true end
  -- a bare 429 on a start (no text, no headers): the safe reading
  return e.code == nil and wait == nil and not (e.rate_limit and e.rate_limit.type)
end

--- Classifies one attempt's outcome.
-- req: the request (zoomlive.request); r: the response value of the core;
-- st: the call's attempt state, updated here:
--   { attempts = n (this one counted), renewed = bool, outcome_unknown = bool,
--     tracking_id, rate_limit (of the last answer), deadline (monotonic s) }
-- pol: { retries, max_retry_wait, backoff = {base, cap} }
-- clock: { now = fn -> monotonic seconds, time = fn -> Unix seconds,
--   rand = fn -> [0, 1), retry_after = fn, getdate = fn, decode_json = fn }:
--   the clock readings and the random source, read only when a decision
--   needs them, and the pure parsers (zoomlive.core's, lua-cjson's).
-- Returns one of:
--   "done", value           (the status, or what req.decode made of the body)
--   "renew", nil, err       (fetch a new token, then repeat the attempt)
--   "retry", seconds, err   (wait, then repeat)
--   "fail", status|nil, err
function M.classify(req, r, st, pol, clock)
  local status = r.status
  local err, wait
  -- ended waiting for a free connection (a scheduler's queue): the attempt
  -- never began, and is not counted
  if r.queued then st.attempts = st.attempts - 1 end
  local sends = r.sends
  if sends then
    -- libcurl sent the request again on a fresh connection (a reused one
    -- was found dead): each send was an attempt, and the first one's fate
    -- is unknown
    st.attempts = st.attempts + sends - 1
    if req.method ~= "GET" and req.name ~= "token" then st.outcome_unknown = true end
  end
  if r.kind == nil then
    st.tracking_id = r.tracking_id
    st.rate_limit = (r.rl_type or r.rl_category or r.rl_limit or r.rl_remaining) and rate_limit(r) or nil
    if status >= 200 and status < 300 then
      if r.truncated then
        err = errors.new("protocol", { status = status, tracking_id = r.tracking_id,
          message = "response body exceeds the size cap" })
        return M.final(req, st, nil, err)
      end
      local dec = req.decode
      if not dec then return "done", status end
      local v, why = dec(r.body)
      if v == nil then
        err = errors.new(req.name == "token" and "auth" or "protocol", { status = status,
          tracking_id = r.tracking_id, message = why })
        return M.final(req, st, nil, err)
      end
      return "done", v
    end
    err = http_error(r, clock.decode_json)
    if status == 401 and err.code == 124 and not st.renewed and req.name ~= "token" then
      return "renew", nil, err
    end
    local ra = r.retry_after and retry_after(r, clock.time(), clock)
    local rand = clock.rand
    local verdict = "fail"
    if status == 429 then
      local typ = r.rl_type
      if typ and typ:lower():find("daily", 1, true) then
        wait = ra
      elseif start_rule(req, err, ra) then
        err.start_rule = true
        if st.outcome_unknown then
          -- our lost start may be what this rule counts: not retried
          wait = nil
        else
          verdict = "retry"
          -- dates have whole-second granularity (Retry-After and Date
          -- both): within a second of the rule's 30 s is that same 30 s
          wait = (ra and ra > M.START_WAIT + 1) and ra or M.START_WAIT
        end
      else
        verdict = "retry"
        if ra then wait = max(ra, M.MIN_429_WAIT)
        else wait = min(M.MIN_429_WAIT + backoff(st.attempts - 1, pol.backoff, rand),
          max(pol.backoff.cap, M.MIN_429_WAIT)) end
      end
      if wait then err.retry_after = wait end
    elseif status == 502 or status == 503 or status == 504 then
      verdict = "retry"
      wait = ra or backoff(st.attempts - 1, pol.backoff, rand)
      if ra then err.retry_after = ra end
    elseif status == 500 and err.code == nil then
      verdict = "retry"
      wait = backoff(st.attempts - 1, pol.backoff, rand)
    elseif ra then
      err.retry_after = ra
    end
    if req.name == "token" and verdict == "fail" then
      -- the token endpoint refused the credentials: kind "auth"
      err.kind = "auth"
    elseif status == 400 and err.code == 300 and req.form then
      err.message = err.message .. " (this server wants a JSON body: use encoding = \"json\")"
    end
    if verdict == "fail" then return M.final(req, st, status, err) end
  else
    local kind = r.kind
    err = errors.new(kind, { curl_code = r.curl_code, message = clean(r.message or ""), status = status })
    if req.name == "token" then err.message = "token endpoint: " .. err.message end
    if r.sent and req.method ~= "GET" and req.name ~= "token" then st.outcome_unknown = true end
    -- a call ended by its scheduler (cancel, batch deadline, abort)
    if r.final or kind == "cancelled" then return M.final(req, st, nil, err) end
    wait = backoff(st.attempts - 1, pol.backoff, clock.rand)
    status = nil
  end
  -- a retry, within the call's budgets
  if st.attempts > pol.retries or wait > pol.max_retry_wait or clock.now() + wait >= st.deadline then
    return M.final(req, st, status, err)
  end
  err.attempts = st.attempts
  return "retry", wait, err
end

--- The end of a call that failed: err gets attempts and, when an earlier
-- attempt's outcome is unknown, outcome_unknown (Zoom may have applied it).
function M.final(_, st, status, err)
  err.attempts = st.attempts
  -- a cancelled call always says whether a request may have reached Zoom
  if err.kind == "cancelled" and not st.outcome_unknown then err.outcome_unknown = false end
  if st.outcome_unknown then
    err.outcome_unknown = true
    local msg = err.message or ""
    if not msg:find("may have", 1, true) then
      -- said once: a message that already says so (a cancel in flight) is kept
      err.message = msg .. " (a request whose answer was lost may have been applied)"
    end
  end
  return "fail", status, err
end

M.backoff = backoff
M.retry_after = retry_after
M.REASONS = REASONS
return M
