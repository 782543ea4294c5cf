--- zoomlive.client: a client holds one reused libcurl connection, its
-- credentials and its retry policy; every live-stream call goes through
-- Client:_call, which validates nothing (the callers did), sends, retries
-- as zoomlive.policy says within the budgets, and shapes the results.
local core = require "zoomlive.core"
local cjson = require "cjson"
local errors = require "zoomlive.errors"
local validate = require "zoomlive.validate"
local policy = require "zoomlive.policy"
local auth = require "zoomlive.auth"
local urls = require "zoomlive.url"

local now, tointeger, type, format = core.now, math.tointeger, type, string.format

local M = {}
local Client = {}
Client.__index = Client
Client.__name = "zoomlive.client"

M.DEFAULT_BASE_URL = "https://api.zoom.us/v2"
M.Client = Client

-- every option a client takes; anything else raises
local OPTIONS = {
  token = true, base_url = true, encoding = true, timeout = true,
  connect_timeout = true, user_agent = true,
  account_id = true, client_id = true, client_secret = true, oauth_url = true,
  refresh_margin = true,
  retries = true, backoff = true, max_retry_wait = true, deadline = true, sleep = true,
  cainfo = true, capath = true, insecure = true, allow_http = true, debug = true,
}

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [409] = "Conflict",
  [413] = "Payload Too Large", [415] = "Unsupported Media Type",
  [429] = "Too Many Requests", [500] = "Internal Server Error",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local function opt_error(msg) error("zoomlive.new: " .. msg, 4) end

-- Seconds options: finite, positive, at most a year (the core keeps them
-- as milliseconds in a C long; a larger value would be cut, so it is refused)
local YEAR = 86400 * 365
local function positive(opts, name, dflt)
  local v = opts[name]
  if v == nil then return dflt end
  if type(v) ~= "number" or v ~= v or v <= 0 or v > YEAR then
    opt_error(format("option '%s' must be a positive number of seconds, at most %d", name, YEAR))
  end
  return v
end

--- Checks a base URL (zoomlive.url, the one URL check); returns it
-- without trailing slashes, or nil, why.
local function check_base(u, allow_http)
  return (urls.check(u, { allow_http = allow_http }))
end
M.check_base = function(u, allow_http)
  local b, why = urls.check(u, { allow_http = allow_http })
  return b, why
end

function M.new(opts, getenv)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 3)
  end
  getenv = getenv or os.getenv
  for k in pairs(opts) do
    if not OPTIONS[k] then opt_error("unknown option '" .. tostring(k) .. "'") end
  end
  local self = setmetatable({}, Client)

  local enc = opts.encoding or "multipart"
  if enc ~= "multipart" and enc ~= "json" then
    opt_error("option 'encoding' must be \"multipart\" or \"json\"")
  end
  self.encoding = enc
  self._allow_http = opts.allow_http and true or false
  self.insecure = opts.insecure and true or false

  local base = opts.base_url
  if base == nil then
    base = getenv("ZOOM_API_BASE")
    if base == "" then base = nil end   -- an empty variable counts as unset
  end
  if base ~= nil then
    if type(base) ~= "string" then opt_error("option 'base_url' must be a string") end
    local b, why = urls.check(base, { allow_http = self._allow_http })
    if not b then opt_error("base_url " .. why) end
    self._base_url = b
  end

  self._timeout = positive(opts, "timeout", 30)
  self._connect_timeout = positive(opts, "connect_timeout", 10)
  local retries = opts.retries
  if retries == nil then retries = 2 end
  if tointeger(retries) == nil or retries < 0 or retries > 100 then
    opt_error("option 'retries' must be an integer from 0 to 100")
  end
  self._retries = tointeger(retries)
  local bo = opts.backoff or {}
  if type(bo) ~= "table" then opt_error("option 'backoff' must be a table {base=, cap=}") end
  for k in pairs(bo) do
    if k ~= "base" and k ~= "cap" then opt_error("option 'backoff' takes only base and cap") end
  end
  self._backoff = { base = positive(bo, "base", 0.5), cap = positive(bo, "cap", 8) }
  local mrw = opts.max_retry_wait
  if mrw == nil then mrw = 10 end
  if type(mrw) ~= "number" or mrw ~= mrw or mrw < 0 or mrw > YEAR then
    opt_error("option 'max_retry_wait' must be a number of seconds from 0 to " .. YEAR)
  end
  self._max_retry_wait = mrw
  -- default deadline: every attempt may use its whole timeout, every wait
  -- its whole allowance
  self._deadline = positive(opts, "deadline",
    self._timeout * (self._retries + 1) + mrw * self._retries)
  local sleep = opts.sleep
  if sleep ~= nil and type(sleep) ~= "function" then opt_error("option 'sleep' must be a function") end
  self._sleep = sleep or core.sleep
  if opts.debug ~= nil and type(opts.debug) ~= "function" then
    opt_error("option 'debug' must be a function")
  end
  self._debug = opts.debug
  for _, k in ipairs({ "user_agent", "cainfo", "capath" }) do
    local v = opts[k]
    if v ~= nil and type(v) ~= "string" then opt_error("option '" .. k .. "' must be a string") end
    if k == "user_agent" and v and v:find("[%z\r\n]") then
      opt_error("option 'user_agent' holds CR, LF or NUL")
    end
  end
  local rm = opts.refresh_margin
  if rm ~= nil and (type(rm) ~= "number" or rm ~= rm or rm < 0 or rm > YEAR) then
    opt_error("option 'refresh_margin' must be a number of seconds from 0 to " .. YEAR)
  end
  -- the token endpoint: the option, else $ZOOM_OAUTH_URL, through the same check
  local oauth = opts.oauth_url
  if oauth == nil then
    oauth = getenv("ZOOM_OAUTH_URL")
    if oauth == "" then oauth = nil end
  end
  if oauth ~= nil then
    if type(oauth) ~= "string" then opt_error("option 'oauth_url' must be a string") end
    local u, why = urls.check(oauth, { allow_http = self._allow_http, query = true })
    if not u then opt_error((opts.oauth_url and "oauth_url " or "ZOOM_OAUTH_URL ") .. why) end
    self._oauth_url = oauth
  end

  -- the transport options, kept for the batch driver's own handles
  self._conn_opts = {
    timeout = self._timeout,
    connect_timeout = self._connect_timeout,
    user_agent = opts.user_agent,
    cainfo = opts.cainfo,
    capath = opts.capath,
    insecure = self.insecure,
    -- replies that TLS does not authenticate get a fresh libcurl handle per
    -- transfer (libcurl < 8.1.0: curl #11101, see SECURITY.md)
    fresh_handles = self.insecure or self._allow_http,
  }
  self._conn = core.new(self._conn_opts)
  self._auth = auth.from(opts, getenv, self)
  return self
end

function Client:_connection()
  local c = self._conn
  if not c then error("attempt to use a closed zoomlive.client", 3) end
  return c
end

--- The base URL in force: the user's, else the regional api_url an S2S
-- token response named, else Zoom's default.
function Client:base_url()
  if self._base_url then return self._base_url end
  local api = self._auth.api_url and self._auth.api_url()
  if api and check_base(api, self._allow_http) then return api .. "/v2" end
  return M.DEFAULT_BASE_URL
end

function Client:close()
  local c = self._conn
  if c then
    self._conn = nil
    c:close()
  end
end
Client.__close = Client.close
Client.__gc = Client.close

function Client:__tostring()
  local base = self:base_url()
  local proxy = urls.proxy_for(base)   -- as libcurl reads the environment
  local s = format("zoomlive.client (%s, %s, auth=%s%s%s)", base, self.encoding,
    self._auth and self._auth.kind or "?", proxy and (", via proxy " .. proxy) or "",
    self.insecure and ", INSECURE: TLS verification off" or "")
  if not self._conn then s = s .. " (closed)" end
  return s
end

-- Shapes a non-2xx answer into an error table.
local function http_error(status, body, tid, ctype)
  local e = { kind = "http", status = status, tracking_id = tid, body = body }
  if body ~= "" and ((ctype and ctype:find("json", 1, true)) or body:find("^%s*[{%[]")) then
    local ok, doc = pcall(cjson.decode, body)
    if ok and type(doc) == "table" then
      local code = doc.code
      -- Zoom's codes are integers; a float from JSON is taken only when exact
      if type(code) == "number" then e.code = validate.integer(code, "code") end
      -- text from the reply: bounded, no control characters (zoomlive.errors.text)
      if type(doc.message) == "string" then e.message = errors.text(doc.message) end
      if type(doc.errors) == "table" then e.errors = errors.details(doc.errors) end
    end
  end
  if not e.message then
    if body == "" then
      e.message = REASONS[status] or "HTTP error"
    else
      local first = body:match("^%s*([^\r\n]*)") or ""
      e.message = errors.text((REASONS[status] or "HTTP error") .. ": unexpected response: " .. first)
    end
  end
  return setmetatable(e, errors.metatable)
end
M.http_error = http_error

local function rate_limit(cat, typ, lim, rem)
  if not (cat or typ or lim or rem) then return nil end
  return { category = cat, type = typ, limit = tonumber(lim), remaining = tonumber(rem) }
end

-- info, built once at the end (one table of the right size)
local function info_of(attempts, t0, tid, rl)
  return { attempts = attempts, elapsed = now() - t0, tracking_id = tid, rate_limit = rl }
end

-- A trace for the debug hook: never the Authorization header, never a key.
-- Every JSON string value of a "stream_key" member becomes "***"; escapes
-- (\" and \\) inside the value are skipped over, not taken for its end.
local function redact(s)
  if not s or not s:find("stream_key", 1, true) then return s end
  local out, pos = {}, 1
  while true do
    local a, b = s:find('"stream_key"%s*:%s*"', pos)
    if not a then break end
    local i = b + 1
    while i <= #s do
      local c = s:byte(i)
      if c == 92 then i = i + 2          -- backslash: skip the escaped byte
      elseif c == 34 then break          -- the closing quote
      else i = i + 1 end
    end
    out[#out + 1] = s:sub(pos, b) .. '***"'
    pos = i + 1
  end
  out[#out + 1] = s:sub(pos)
  return table.concat(out)
end
M.redact = redact

-- a reply body in a trace: at most this many characters, no control characters
local TRACE_BODY_MAX = 2000

function Client:_trace(t)
  local ok, err = pcall(self._debug, t)
  if not ok then io.stderr:write("zoomlive: debug hook failed: ", tostring(err), "\n") end
end

--- Sends one logical call, with retries.
-- path: below the base URL; action/settings_json: the live-stream status
-- body (encoded as the client's encoding), or ctype/body for other calls.
-- Returns status, body, info | status, err, info | nil, err, info
function Client:_call(method, path, ctype, body, action, settings_json)
  local conn = self._conn
  if not conn then error("attempt to use a closed zoomlive.client", 3) end
  local form = action and self.encoding == "multipart"
  if action and not form then
    body = settings_json and ('{"action":"' .. action .. '","settings":' .. settings_json .. "}")
      or ('{"action":"' .. action .. '"}')
    ctype = "application/json"
  end
  local t0 = now()
  local deadline = t0 + self._deadline
  local attempts, renewed = 0, false
  local last_tid, last_rl      -- of the last answer, for info
  local timeout = self._timeout
  while true do
    local token, aerr = self._auth.token()
    if not token then
      aerr.attempts = attempts
      return nil, aerr, info_of(attempts, t0, last_tid, last_rl)
    end
    local url = (self._base_url or self:base_url()) .. path
    local remaining = deadline - now()
    if remaining <= 0 then
      return nil, errors.new("timeout", { message = format("deadline of %g s reached", self._deadline),
        attempts = attempts }), info_of(attempts, t0, last_tid, last_rl)
    end
    local tmo = timeout < remaining and timeout or remaining
    attempts = attempts + 1
    if self._debug then
      self:_trace { event = "request", attempt = attempts, method = method, url = url,
        content_type = form and "multipart/form-data" or ctype,
        body = form and ("action=" .. action .. (settings_json and (" settings=" .. settings_json) or ""))
          or redact(body) }
    end
    local status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc
    if form then
      if settings_json then
        status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc =
          conn:perform_form(method, url, token, tmo, "action", action, "settings", settings_json)
      else
        status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc =
          conn:perform_form(method, url, token, tmo, "action", action)
      end
    else
      status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc =
        conn:perform(method, url, token, ctype, body, tmo)
    end
    if self._debug then
      if status then
        self:_trace { event = "response", attempt = attempts, status = status, tracking_id = tid,
          retry_after = ra and errors.text(ra), content_type = rctype and errors.text(rctype),
          body = errors.text(redact(rbody), TRACE_BODY_MAX) }
      else
        self:_trace { event = "failure", attempt = attempts, kind = rbody, curl_code = tid,
          message = errors.text(ra) }
      end
    end
    if status and status >= 200 and status < 300 then
      local info = info_of(attempts, t0, tid, (cat or typ or lim or rem) and rate_limit(cat, typ, lim, rem))
      if trunc then
        return nil, errors.new("protocol", { status = status, tracking_id = tid, attempts = attempts,
          message = "response body exceeds the size cap" }), info
      end
      return status, rbody, info
    end

    local err, o
    if status then
      err = http_error(status, rbody, tid, rctype)
      err.rate_limit = rate_limit(cat, typ, lim, rem)
      last_tid, last_rl = tid, err.rate_limit
      if status == 401 and err.code == 124 and not renewed then
        renewed = true
        if self._auth.renew(token) then
          attempts = attempts - 1    -- the refreshed retry replaces this attempt
          goto continue
        end
      end
      o = { status = status, code = err.code, rl_type = typ, action = action,
        retry_after = ra and core.retry_after(ra) or nil }
    else
      -- rbody = kind, tid = curl code, ra = libcurl's message; a 6th value
      -- (typ) is the status of a reply that broke off mid-body
      err = errors.new(rbody, { curl_code = tid, message = ra, status = typ })
      o = { kind = rbody }
    end
    do
      local verdict, wait = policy.decide(o, attempts - 1, self._backoff)
      -- retry_after tells the caller what the server asked for (a 429, or a
      -- Retry-After header), never our own backoff
      if wait and (status == 429 or o.retry_after) then err.retry_after = wait end
      err.attempts = attempts
      if verdict == "fail" or attempts > self._retries or wait > self._max_retry_wait
          or now() + wait >= deadline then
        return status, err, info_of(attempts, t0, last_tid, last_rl)
      end
      self._sleep(wait)
    end
    ::continue::
  end
end

--- Normalised path segment for an id; returns digits or nil, err.
function M.id(v, fname, what)
  return validate.id(v, what or "meeting_id", fname, 1)
end

return M
