--- zoomlive.webhook: trust Zoom's webhook events (live stream started,
-- stopped), answer Zoom's URL validation, and wait for an event.
--
--   local webhook = require "zoomlive.webhook"
--   local ok, err = webhook.verify(secret, headers, raw_body)   -- true | nil, err
--   local event = assert(webhook.parse(raw_body))
--   print(event.name, event.id)      -- "meeting.live_streaming_started", "93398114182"
--
-- Zoom signs every delivery (Zoom's "Verify webhook events"):
--   x-zm-signature = "v0=" .. hex(HMAC-SHA256(secret, "v0:" .. x-zm-request-timestamp
--                                                      .. ":" .. raw_body))
-- The HMAC is OpenSSL's (zoomlive.core.hmac_sha256_hex), compared in constant
-- time (CRYPTO_memcmp). Errors are tables (zoomlive.errors) of kind
-- "webhook" with a `reason`, or "argument"; they never hold the secret, the
-- signature or a stream key.
local core = require "zoomlive.core"
local cjson = require "cjson"
local errors = require "zoomlive.errors"
local validate = require "zoomlive.validate"

local M = {}

--- Seconds a request timestamp may be away from now (Zoom: 5 minutes).
M.TOLERANCE = 300
--- The largest body parse() and the listener accept, in bytes.
M.MAX_BODY = 1024 * 1024

local type, format, tointeger = type, string.format, math.tointeger
local hmac_hex, equal_consttime = core.hmac_sha256_hex, core.equal_consttime

local function fail(reason, message)
  return nil, errors.new("webhook", { reason = reason, message = message })
end

local function check_secret(secret, fname)
  if type(secret) ~= "string" then
    error(format("bad argument #1 to '%s' (string expected, got %s)", fname,
      secret == nil and "no value" or type(secret)), 3)
  end
  if secret == "" then
    return nil, errors.argument("secret", "must not be empty (Zoom's app \"Secret Token\")")
  end
  return true
end

-- The value of header `name` (lower case) in `headers`, whatever the case
-- of its key; several keys that differ only in case, or a list value, are
-- ambiguous and refused.
local function header(headers, name)
  local found, n = nil, 0
  for k, v in pairs(headers) do
    if type(k) == "string" and #k == #name and k:lower() == name then
      found, n = v, n + 1
    end
  end
  if n == 0 then return nil, "missing" end
  if n > 1 or type(found) ~= "string" then return nil, "ambiguous" end
  return found
end
M.header = header

--- Checks a delivery's signature and timestamp.
-- secret: Zoom app's Secret Token (string). headers: a table of header name
-- -> value (names in any case). raw_body: the body exactly as received.
-- opts: the current Unix time in seconds (a number), or a table
-- {now = seconds, tolerance = seconds (default 300)}.
-- Returns true, or nil, err: kind "webhook" with reason "missing_header",
-- "bad_format", "stale", "future" or "bad_signature"; kind "argument" for an
-- empty secret or a bad tolerance.
function M.verify(secret, headers, raw_body, opts)
  local ok, e = check_secret(secret, "verify")
  if not ok then return nil, e end
  if type(headers) ~= "table" then
    error("bad argument #2 to 'verify' (table expected, got " .. type(headers) .. ")", 2)
  end
  if type(raw_body) ~= "string" then
    error("bad argument #3 to 'verify' (string expected, got " .. type(raw_body) .. ")", 2)
  end
  local now, tolerance
  if type(opts) == "number" then
    now = opts
  elseif type(opts) == "table" then
    now, tolerance = opts.now, opts.tolerance
  elseif opts ~= nil then
    error("bad argument #4 to 'verify' (number or table expected, got " .. type(opts) .. ")", 2)
  end
  tolerance = tolerance or M.TOLERANCE
  if type(tolerance) ~= "number" or tolerance ~= tolerance or tolerance < 0 or tolerance == math.huge then
    return nil, errors.argument("tolerance", "must be a finite number of seconds >= 0")
  end
  if now == nil then now = core.time() end
  if type(now) ~= "number" or now ~= now then
    return nil, errors.argument("now", "must be a Unix time in seconds")
  end

  local sig, why = header(headers, "x-zm-signature")
  if not sig then
    if why == "missing" then return fail("missing_header", "no x-zm-signature header") end
    return fail("bad_format", "more than one x-zm-signature header")
  end
  local ts
  ts, why = header(headers, "x-zm-request-timestamp")
  if not ts then
    if why == "missing" then return fail("missing_header", "no x-zm-request-timestamp header") end
    return fail("bad_format", "more than one x-zm-request-timestamp header")
  end
  if not ts:match("^%d+$") or #ts > 15 then
    return fail("bad_format", "x-zm-request-timestamp is not Unix seconds")
  end
  if not (#sig == 67 and sig:match("^v0=%x+$")) then
    return fail("bad_format", "x-zm-signature is not v0= and 64 hex digits")
  end
  local age = now - tonumber(ts)
  if age > tolerance then
    return fail("stale", format("the request timestamp is %.15g s old (tolerance %g s)", math.floor(age), tolerance))
  elseif -age > tolerance then
    return fail("future", format("the request timestamp is %.15g s ahead (tolerance %g s)", math.floor(-age), tolerance))
  end
  local want = "v0=" .. hmac_hex(secret, "v0:" .. ts .. ":" .. raw_body)
  if not equal_consttime(want, sig:lower()) then
    return fail("bad_signature", "x-zm-signature does not match the body and the secret")
  end
  return true
end

--- Signs a body as Zoom does: the headers to send with it (for tests and
-- for relays). timestamp: Unix seconds (default now).
function M.sign(secret, raw_body, timestamp)
  local ok, e = check_secret(secret, "sign")
  if not ok then return nil, e end
  local t = timestamp or core.time()
  if type(t) ~= "number" or t ~= t or t < 0 or t >= 1e15 then
    return nil, errors.argument("timestamp", "must be Unix seconds")
  end
  local ts = format("%.0f", math.floor(t))
  return {
    ["x-zm-request-timestamp"] = ts,
    ["x-zm-signature"] = "v0=" .. hmac_hex(secret, "v0:" .. ts .. ":" .. raw_body),
  }
end

-- JSON integers of 16 digits and more (beyond 2^53 a double loses digits)
-- become strings before lua-cjson reads the text; everything else is left
-- as it was. Strings in the text are skipped over, escapes included.
local function big_integers_as_strings(raw)
  if not raw:find("%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d") then return raw end
  local out, copied, pos = {}, 1, 1
  while true do
    local s = raw:find('["%d]', pos)
    if not s then break end
    if raw:byte(s) == 34 then
      local i = s + 1
      while true do
        local q = raw:find('["\\]', i)
        if not q then i = #raw + 1; break end
        if raw:byte(q) == 92 then i = q + 2 else i = q + 1; break end
      end
      pos = i
    else
      local _, b = raw:find("^%d+", s)
      local prev = s > 1 and raw:sub(s - 1, s - 1) or ""
      if b - s + 1 >= 16 and not raw:find("^[%.eE]", b + 1) and not prev:find("[%.eE%+%-]") then
        out[#out + 1] = raw:sub(copied, s - 1)
        out[#out + 1] = '"' .. raw:sub(s, b) .. '"'
        copied = b + 1
      end
      pos = b + 1
    end
  end
  out[#out + 1] = raw:sub(copied)
  return table.concat(out)
end

local function decode(raw_body, fname)
  if type(raw_body) ~= "string" then
    error(format("bad argument to '%s' (string expected, got %s)", fname, type(raw_body)), 3)
  end
  if #raw_body > M.MAX_BODY then return fail("bad_body", "the body is larger than " .. M.MAX_BODY .. " bytes") end
  local ok, doc = false, nil
  if raw_body:find("^%s*{") then ok, doc = pcall(cjson.decode, big_integers_as_strings(raw_body)) end
  if not ok or type(doc) ~= "table" then return fail("bad_body", "the body is not a JSON object") end
  return doc
end

--- The answer to Zoom's endpoint.url_validation request: a JSON text
-- {"plainToken": ..., "encryptedToken": hex(HMAC-SHA256(secret, plainToken))}
-- to send with status 200. Verify the request first (Zoom signs it too).
-- Returns body, or nil, err (kind "webhook", reason "bad_body" or
-- "not_url_validation"; kind "argument" for an empty secret).
function M.url_validation(secret, raw_body)
  local ok, e = check_secret(secret, "url_validation")
  if not ok then return nil, e end
  local doc
  doc, e = decode(raw_body, "url_validation")
  if not doc then return nil, e end
  if doc.event ~= "endpoint.url_validation" then
    return fail("not_url_validation", "the event is not endpoint.url_validation")
  end
  local plain = type(doc.payload) == "table" and doc.payload.plainToken
  if type(plain) ~= "string" or plain == "" or #plain > 1024 then
    return fail("bad_body", "payload.plainToken is missing or not a string of 1 to 1024 bytes")
  end
  return format('{"plainToken":%s,"encryptedToken":"%s"}', validate.json(plain), hmac_hex(secret, plain))
end

-- ---------------------------------------------------------------- events

local secret_keys = setmetatable({}, { __mode = "k" })   -- event -> stream key

local Event = {}
Event.__index = Event
Event.__name = "zoomlive.webhook.event"

--- The stream key the event carried (nil if none). It is kept out of the
-- event table, so printing or serialising the event never shows it.
function Event:stream_key()
  return secret_keys[self]
end

Event.__tostring = function(ev)
  local s = "zoomlive.webhook.event " .. tostring(ev.name)
  if ev.kind and ev.id then s = s .. " " .. ev.kind .. " " .. ev.id end
  if ev.event_ts then s = s .. format(" event_ts %.0f", ev.event_ts) end
  if ev.stream and ev.stream.stream_key then s = s .. " stream_key ***" end
  return s
end

local function str(v) if type(v) == "string" then return v end end

local function id_digits(v)
  if type(v) == "number" then v = tointeger(v) end
  if v == nil then return nil end
  local ok, d = pcall(validate.id, v, "id", "parse", 1)
  if ok then return d end
end

--- Reads an event from its raw JSON body (verify it first).
-- Returns an event table:
--   name       "meeting.live_streaming_started", ...
--   event_ts   Zoom's event time, milliseconds since the epoch (number)
--   time       the same in seconds
--   kind       "meeting" | "webinar" (from the name), id = exact decimal
--              digits (ids beyond 2^53 keep every digit), uuid, host_id,
--              topic, account_id, operator, operator_id
--   stream     for live-stream events: {service, stream_url, page_url,
--              resolution, stream_key = "***" when Zoom sent one,
--              date_time (text), at (Unix seconds)}
--   plain_token  for endpoint.url_validation
-- The stream key itself: event:stream_key(). tostring(event) is one line.
-- Or nil, err (kind "webhook", reason "bad_body").
function M.parse(raw_body)
  local doc, e = decode(raw_body, "parse")
  if not doc then return nil, e end
  local name = doc.event
  if type(name) ~= "string" or name == "" then return fail("bad_body", "the body has no event name") end
  local ev = { name = name }
  local ts = doc.event_ts
  if type(ts) == "string" then ts = tonumber(ts) end
  if type(ts) == "number" and ts >= 0 and ts < 1e18 then   -- finite, plausible
    ev.event_ts, ev.time = math.tointeger(ts) or ts, ts / 1000
  end
  local payload = type(doc.payload) == "table" and doc.payload or {}
  ev.account_id, ev.operator, ev.operator_id =
    str(payload.account_id), str(payload.operator), str(payload.operator_id)
  if name == "endpoint.url_validation" then ev.plain_token = str(payload.plainToken) end
  ev.kind = name:match("^(meeting)%.") or name:match("^(webinar)%.")
  local obj = type(payload.object) == "table" and payload.object or nil
  local key
  if obj then
    ev.id = id_digits(obj.id)
    if obj.id ~= nil and not ev.id then
      return fail("bad_body", "payload.object.id is not a positive 64-bit integer")
    end
    ev.uuid, ev.host_id, ev.topic = str(obj.uuid), str(obj.host_id), str(obj.topic)
    local ls = type(obj.live_streaming) == "table" and obj.live_streaming or nil
    if ls then
      local st = { service = str(ls.service), date_time = str(ls.date_time) }
      if st.date_time then st.at = core.parse_date(st.date_time) end
      local cs = type(ls.custom_live_streaming_settings) == "table" and ls.custom_live_streaming_settings or {}
      st.stream_url, st.page_url, st.resolution = str(cs.stream_url), str(cs.page_url), str(cs.resolution)
      key = str(cs.stream_key)
      if key then st.stream_key = "***" end
      ev.stream = st
    end
  end
  setmetatable(ev, Event)
  secret_keys[ev] = key
  return ev
end

-- ---------------------------------------------------------------- handler

local function json_error(reason)
  return format('{"error":"%s"}', reason)
end

local Handler = {}
Handler.__index = Handler
Handler.__name = "zoomlive.webhook.handler"
Handler.__tostring = function(h)
  return format("zoomlive.webhook.handler (tolerance %g s)", h._tolerance)
end

--- What an HTTP server does with one webhook request, without the I/O:
--   local h = webhook.handler{ secret = S, tolerance = 300, now = fn }
--   local r = h:handle(method, headers, raw_body)
--   -- r.status, r.content_type, r.body: the answer to send (200/204 within 3 s)
--   -- r.event: a verified, new event (nil for URL validation, refusals and
--   --          repeats); r.err: why a request was refused; r.duplicate: a
--   --          delivery seen before (Zoom retries; answer it, act once)
-- now: a function returning Unix seconds (default the system clock).
function M.handler(opts)
  if type(opts) ~= "table" then error("bad argument #1 to 'handler' (table expected)", 2) end
  local ok, e = check_secret(opts.secret, "handler")
  if not ok then error(tostring(e), 2) end
  local tol = opts.tolerance or M.TOLERANCE
  if type(tol) ~= "number" or tol ~= tol or tol < 0 or tol == math.huge then
    error("bad option 'tolerance' (a finite number of seconds >= 0 expected)", 2)
  end
  if opts.now ~= nil and type(opts.now) ~= "function" then
    error("bad option 'now' (function expected)", 2)
  end
  local secret = opts.secret
  local h = setmetatable({ _tolerance = tol, _now = opts.now or core.time,
    _seen = {}, _seen_order = {}, _seen_max = opts.remember or 4096 }, Handler)
  -- the secret stays in this closure, out of the handler table
  function h._verify(headers, raw_body, now)
    return M.verify(secret, headers, raw_body, { now = now, tolerance = tol })
  end
  function h._validation(raw_body) return M.url_validation(secret, raw_body) end
  return h
end

function Handler:_remember(key)
  if self._seen[key] then return false end
  local order = self._seen_order
  order[#order + 1] = key
  self._seen[key] = true
  if #order > self._seen_max then
    self._seen[table.remove(order, 1)] = nil
  end
  return true
end

function Handler:handle(method, headers, raw_body)
  if method ~= "POST" then
    return { status = 405, content_type = "application/json", body = json_error("method"),
      err = errors.new("webhook", { reason = "method", message = "webhooks are POSTed" }) }
  end
  local ok, err = self._verify(headers, raw_body, self._now())
  if not ok then
    return { status = err.kind == "argument" and 500 or 401, content_type = "application/json",
      body = json_error(err.reason or err.kind), err = err }
  end
  local ev
  ev, err = M.parse(raw_body)
  if not ev then
    return { status = 400, content_type = "application/json", body = json_error(err.reason), err = err }
  end
  if ev.name == "endpoint.url_validation" then
    local body
    body, err = self._validation(raw_body)
    if not body then
      return { status = 400, content_type = "application/json", body = json_error(err.reason), err = err }
    end
    return { status = 200, content_type = "application/json", body = body }
  end
  -- Zoom retries a delivery it saw no 200/204 for: act on each event once
  local key = ev.name .. "\0" .. tostring(ev.event_ts) .. "\0" .. tostring(ev.id)
  if not self:_remember(key) then
    return { status = 204, body = "", duplicate = true }
  end
  return { status = 204, body = "", event = ev }
end

--- webhook.listener{...}: a small HTTP server that receives Zoom's
-- deliveries and waits for one event; see lua/zoomlive/webhook/listener.lua.
function M.listener(opts)
  return require("zoomlive.webhook.listener").new(opts, M)
end

return M
