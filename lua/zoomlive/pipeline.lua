--- zoomlive.pipeline: the one way a request goes to the wire and back.
--
--   status|value, err, info = pipeline.run(client, request, transport)
--
-- For each attempt: a token (zoomlive.auth), a slot of the client's rate
-- budget (if it has one), the request value (zoomlive.request.spec), one
-- send, one response value, one decision (zoomlive.attempt.classify), and
-- then done, a wait, a renewed token or the end. Schedulers differ only in
-- the transport they pass:
--
--   transport = { send = function(request, token, timeout, deadline) -> response,
--                                 -- zoomlive.core's value; token and timeout
--                                 -- (seconds) are the attempt's; deadline: the
--                                 -- seconds left to the call, for a scheduler
--                                 -- that may queue the send (time queued counts)
--                 sleep = function(seconds) -> nil | stop,
--                 wait_fd = function(fd, "r"|"w", seconds) -> ready | nil,
--                                 -- optional: how a shared budget waits for its socket
--                 item = n | nil }                      -- batch index, for traces
--
-- The blocking scheduler sends on the client's connection and sleeps with
-- the `sleep` hook; the batch and event-loop schedulers run each call in a
-- coroutine whose send and sleep yield. A scheduler ends a call early by
-- answering a pending send, or a sleep, with a stop value
-- { kind = "cancelled" | "timeout" | "aborted", message =, sent = bool,
--   final = true }: the call then ends with that error.
local core = require "zoomlive.core"
local cjson = require "cjson"
local errors = require "zoomlive.errors"
local attempt = require "zoomlive.attempt"
local request = require "zoomlive.request"

local classify, final, describe = attempt.classify, attempt.final, request.describe
local format = string.format

local M = {}
local _

--- The clock a client's classifier reads: its `now`, `time` and random
-- source, and the pure parsers (made once per client).
function M.clock(now, time, rand)
  return { now = now, time = time, rand = rand, retry_after = core.retry_after,
    getdate = core.getdate, decode_json = cjson.decode }
end

local function trace(c, t)
  local ok, err = pcall(c._debug, t)
  if not ok then io.stderr:write("zoomlive: debug hook failed: ", tostring(err), "\n") end
end

-- the call's state becomes its info: { attempts, elapsed, tracking_id,
-- rate_limit, outcome_unknown, budget }; budget: what the rate budget's
-- describe() says (e.g. "local (redis down: ...)")
local function info_of(st, elapsed)
  st.deadline, st.elapsed = nil, elapsed
  if st.renewed then st.renewed = nil end
  local b = st.budget
  if b then st.budget = b.describe and b:describe() or nil end
  return st
end

-- a reply body in a trace: at most this many characters, no control characters
local TRACE_BODY_MAX = 2000
local text = errors.text

-- text from a reply reaches the hook bounded and clean (zoomlive.errors.text)
local function trace_response(c, tr, st, r, req)
  if r.kind == nil then
    trace(c, { event = "response", item = tr.item, attempt = st.attempts, status = r.status,
      tracking_id = r.tracking_id and text(r.tracking_id),
      retry_after = r.retry_after and text(r.retry_after),
      content_type = r.content_type and text(r.content_type),
      body = req.name ~= "token" and text(request.redact(r.body), TRACE_BODY_MAX) or nil })
  else
    trace(c, { event = "failure", item = tr.item, attempt = st.attempts, kind = r.kind,
      curl_code = r.curl_code, message = r.message and text(r.message) })
  end
end

--- A token for the next attempt: the credential source's, or the token
-- endpoint's answer judged as any attempt's (retried on 5xx and resets,
-- within the call's budgets). Returns token | nil, err.
-- (token, err, r: the credential source's first answer, already asked)
local function obtain(c, tr, st, token, err, r)
  local auth = c._auth
  while true do
    if token then return token end
    if err then
      err.attempts = st.attempts
      return nil, err
    end
    if not r.final then st.attempts = st.attempts + 1 end
    local verdict, a
    verdict, a, err = classify(auth.request, r, st, c._policy, c._clock)
    if verdict ~= "retry" then return nil, err end
    r = tr.sleep(a)
    if r then
      _, _, err = classify(auth.request, r, st, c._policy, c._clock)
      return nil, err
    end
    token, err, r = auth.token(tr)
  end
end

--- Makes sure the client can have a token now (an S2S fetch, with the same
-- retries as a call). Returns token | nil, err.
function M.credentials(c, tr)
  tr = tr or c._tr
  return obtain(c, tr, { attempts = 0, deadline = c._now() + c._deadline }, c._auth.token(tr))
end

--- Runs one call to its end. Returns
--   status|value, nil, info           on success (value: what req.decode made)
--   status, err, info                 on an HTTP error (getters: nil, err, info)
--   nil, err, info                    when no status came back
-- info = { attempts, elapsed (s), tracking_id, rate_limit, outcome_unknown }
-- The request itself is what the transport sends (its url set once); the
-- token and timeout of each attempt go beside it, so no request table ever
-- holds a token.
function M.run(c, req, tr)
  local now = c._now
  local t0 = now()
  -- made with room for every field it will hold (no rehash as it grows)
  -- (the fields of a failed call, rate_limit, outcome_unknown, renewed, are
  -- left to grow it: a success stays small)
  local st = { attempts = 0, deadline = t0 + c._deadline, elapsed = nil, tracking_id = nil }
  local auth, debug, budget, pol, clock = c._auth, c._debug, c._budget, c._policy, c._clock
  local verdict, a, err, r
  local base = c._base_url
  -- the clock at this attempt's start: the call's start for the first one
  -- (no clock read); nil once time may have passed (a token fetch, a wait)
  local t = t0
  if budget then st.budget = budget end   -- info tells which budget was in force
  while true do
    local token, terr, tr_r = auth.token(tr)
    if not token then
      t = nil
      token, err = obtain(c, tr, st, token, terr, tr_r)
      if not token then
        if st.outcome_unknown and not err.outcome_unknown then _, _, err = final(req, st, nil, err) end
        return nil, err, info_of(st, now() - t0)
      end
    end
    -- a base URL the user set is fixed; an S2S token's api_url may change
    if not (base and req.url) then req.url = (base or c:base_url()) .. req.path end
    if not t then t = now() end
    local remaining = st.deadline - t
    local held       -- seconds the budget holds the next request, past the deadline
    if budget then
      local w = budget:take(t, tr)
      if w > 0 then
        if w >= remaining then remaining, held = 0, w
        else
          r = tr.sleep(w)
          if r then goto judge end
          goto continue
        end
      end
    end
    if remaining <= 0 then
      err = errors.new("timeout", { message = format("deadline of %g s reached", c._deadline) })
      if held then
        -- the rate budget (a 429 or Daily-limit penalty of the account) says when
        err.retry_after = held
        err.message = format("deadline of %g s reached: the rate budget holds requests for %s s more",
          c._deadline, held >= 10 and format("%.0f", held) or format("%.2f", held))
      end
      _, _, err = final(req, st, nil, err)
      return nil, err, info_of(st, now() - t0)
    end
    st.attempts = st.attempts + 1
    if debug then
      trace(c, { event = "request", item = tr.item, attempt = st.attempts, method = req.method,
        url = req.url, content_type = request.content_type(req), body = describe(req) })
    end
    do
      local tmo = c._timeout
      r = tr.send(req, token, tmo < remaining and tmo or remaining, remaining)
    end
    if debug then trace_response(c, tr, st, r, req) end
    if budget then budget:record(r, now(), tr) end
    ::judge::
    verdict, a, err = classify(req, r, st, pol, clock)
    if verdict == "done" then return a, nil, info_of(st, now() - t0) end
    if verdict == "renew" then
      st.renewed = true
      if auth.renew(token) then
        st.attempts = st.attempts - 1    -- the repeat with a fresh token replaces it
        goto continue
      end
      verdict, a, err = final(req, st, r.status, err)
    end
    if verdict == "retry" then
      r = tr.sleep(a)
      if r then goto judge end
    else
      if req.decode then a = nil end     -- getters: nil, err
      return a, err, info_of(st, now() - t0)
    end
    ::continue::
    t = nil
  end
end

return M
