--- zoomlive.client: the Client class. A client holds one reused libcurl
-- connection, its credentials and its retry policy; every method validates
-- and builds its request (zoomlive.request) and runs it through the one
-- pipeline (zoomlive.pipeline) on the blocking scheduler: the client's
-- connection, and the `sleep` hook between attempts.
local core = require "zoomlive.core"
local auth = require "zoomlive.auth"
local urls = require "zoomlive.url"
local request = require "zoomlive.request"
local pipeline = require "zoomlive.pipeline"
local errors = require "zoomlive.errors"

local tointeger, type, format = math.tointeger, type, string.format

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
  now = true, time = true, loop = true, concurrency = true, budget = true,
  cainfo = true, capath = true, insecure = true, allow_http = true, debug = true,
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

  local enc = opts.encoding or "json"
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
  for _, k in ipairs({ "sleep", "now", "time" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then opt_error("option '" .. k .. "' must be a function") end
  end
  self._sleep = opts.sleep or core.sleep
  self._now = opts.now or core.now     -- monotonic seconds: attempts, deadlines, token expiry
  self._time = opts.time or core.time  -- Unix seconds: Retry-After dates, token providers' expiry
  self._rand = core.random             -- jitter
  self._clock = pipeline.clock(self._now, self._time, self._rand)
  -- requests built for this client's blocking calls, reused when a call is
  -- made again (one call at a time: the blocking scheduler)
  self._reqs = request.cache()
  self._policy = { retries = self._retries, max_retry_wait = mrw, backoff = self._backoff }
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
  local conn = core.new(self._conn_opts)
  self._conn = conn
  -- the blocking scheduler: send on this connection, sleep with the hook
  local sleep = self._sleep
  self._tr = {
    send = conn:sender(),   -- conn:perform bound to conn
    sleep = function(s) sleep(s) end,
  }
  -- the event-loop scheduler (zoomlive.loop): a driver on the host's loop
  if opts.loop ~= nil then
    self._loop = require("zoomlive.loop").from_options(self, opts.loop, opts.concurrency, opt_error)
  elseif opts.concurrency ~= nil then
    opt_error("option 'concurrency' needs option 'loop'")
  end
  local allow_http = self._allow_http
  -- the rate budget (zoomlive.budget): in-process, or shared on Redis
  if opts.budget ~= nil then
    local okb, b = pcall(require("zoomlive.budget").new, opts.budget, { now = self._now,
      time = self._time, account_id = opts.account_id or getenv("ZOOM_ACCOUNT_ID"),
      debug = self._debug and function(t) self:_trace(t) end })
    if not okb then opt_error(tostring(b):gsub("^[^:]*:%d+: ", "")) end
    self._budget = b
    -- a budget built here is closed with the client; one passed in is the caller's
    self._budget_owned = b ~= opts.budget
    local lp, store = self._loop, type(b) == "table" and rawget(b, "store")
    if lp and type(store) == "table" and store.lookup then
      -- getaddrinfo(3) would block the loop at every connect
      opt_error(format("budget store %s names its host: a client with loop takes an IP address "
        .. "or localhost (a name lookup would block the loop)", tostring(store.url)))
    end
    if lp and self._budget_owned and b.set_wait then
      -- round trips made outside a call (b:take() from the host's code)
      -- wait on the loop too; calls pass their own transport.wait_fd
      b:set_wait(function(fd, events, seconds) return lp:wait_fd(fd, events, seconds) end)
    end
  end
  local budget = self._budget
  self._auth = auth.from(opts, getenv, {
    now = self._now, time = self._time,
    -- the S2S token is shared through the budget's store, when it has one
    token_store = budget and budget.token_store and function(a, i) return budget:token_store(a, i) end,
    timeout = function() return self._timeout end,
    oauth_url = self._oauth_url,
    check_url = function(u)
      local b = check_base(u, allow_http)
      return b
    end,
  })
  return self
end

--- client:budget() -> the client's rate budget object (zoomlive.budget), or nil
function Client:budget() return self._budget end

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
  if self._loop then self._loop:close() end
  local b = self._budget
  if b and self._budget_owned and b.close then b:close() end
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

function Client:_trace(t)
  local ok, err = pcall(self._debug, t)
  if not ok then io.stderr:write("zoomlive: debug hook failed: ", tostring(err), "\n") end
end

-- runs a built request on the blocking scheduler (or, with `loop`, on the
-- event-loop scheduler, in the caller's coroutine)
local function run(self, req, e)
  if self._loop then return self._loop:run(req, e, req and req.name) end
  if not req then return nil, e, { attempts = 0, elapsed = 0 } end
  if not self._conn then error("attempt to use a closed zoomlive.client", 2) end
  return pipeline.run(self, req, self._tr)
end
M.run = run

--- client:check_credentials() -> true | nil, err
-- Makes sure a token can be had now: a token or provider is asked, an S2S
-- token is fetched (with the retries of a call) unless one is cached.
function Client:check_credentials()
  if not self._conn then error("attempt to use a closed zoomlive.client", 2) end
  local token, err
  if self._loop then token, err = self._loop:credentials()
  else token, err = pipeline.credentials(self) end
  if token then return true end
  return nil, err
end

--- client:update(meeting_id, action, settings) -> status, err, info
-- PATCH /meetings/{meetingId}/livestream/status. action: "start" | "stop" |
-- "mode"; settings: { active_speaker_name = bool, display_name = string
-- (1-50 characters), layout =, close_caption = }. 204, nil, info on success.
function Client:update(id, action, settings)
  return run(self, request.status("meeting", "update", id, action, settings, self.encoding, self._reqs))
end
function Client:start(id, settings)
  return run(self, request.status("meeting", "start", id, "start", settings, self.encoding, self._reqs))
end
function Client:stop(id)
  return run(self, request.status("meeting", "stop", id, "stop", nil, self.encoding, self._reqs))
end
function Client:mode(id, settings)
  return run(self, request.status("meeting", "mode", id, "mode", settings, self.encoding, self._reqs))
end
--- client:get(meeting_id) -> { stream_url, stream_key, page_url, resolution }, nil, info
function Client:get(id) return run(self, request.get("meeting", "get", id)) end
--- client:configure(meeting_id, { stream_url, stream_key, page_url[, resolution] }) -> 204, nil, info
function Client:configure(id, cfg) return run(self, request.configure("meeting", "configure", id, cfg)) end

--- client:join_token(meeting_id) -> { token = string, expire_in = seconds }, nil, info
-- GET /meetings/{meetingId}/jointoken/live_streaming: lets a bot built on
-- Zoom's Meeting SDK join and start the stream. The token is a credential:
-- keep it out of logs (zoomlive's traces show it as ***).
function Client:join_token(id) return run(self, request.join_token("meeting", "join_token", id)) end

function Client:webinar_update(id, action, settings)
  return run(self, request.status("webinar", "webinar_update", id, action, settings, self.encoding, self._reqs))
end
function Client:webinar_start(id, settings)
  return run(self, request.status("webinar", "webinar_start", id, "start", settings, self.encoding, self._reqs))
end
function Client:webinar_stop(id)
  return run(self, request.status("webinar", "webinar_stop", id, "stop", nil, self.encoding, self._reqs))
end
function Client:webinar_get(id) return run(self, request.get("webinar", "webinar_get", id)) end
function Client:webinar_configure(id, cfg)
  return run(self, request.configure("webinar", "webinar_configure", id, cfg))
end
--- client:webinar_join_token(webinar_id): GET /webinars/{webinarId}/jointoken/live_streaming
function Client:webinar_join_token(id)
  return run(self, request.join_token("webinar", "webinar_join_token", id))
end

--- client:submit(name, ..., on_done) -> handle (a client made with `loop`)
-- Starts the call `name` ("update", "get", ..., "update_many") with the
-- arguments given, without waiting; on_done(status, err, info) gets its
-- results. handle:cancel() ends it: on_done then gets nil, err of kind
-- "cancelled" (err.outcome_unknown: a request may have reached Zoom).
function Client:submit(name, ...)
  if not self._loop then
    error("client:submit needs a client made with zoomlive.new{ loop = ... }", 2)
  end
  return self._loop:submit(self, name, ...)
end

--- client:cancel(co) -> bool (a client made with `loop`)
-- Cancels the call coroutine `co` is waiting in (made directly, not through
-- submit): it returns nil, err of kind "cancelled" there. False when `co`
-- waits in no call of this client.
function Client:cancel(co)
  if not self._loop then
    error("client:cancel needs a client made with zoomlive.new{ loop = ... }", 2)
  end
  if type(co) ~= "thread" then
    error("bad argument #1 to 'cancel' (coroutine expected, got " .. type(co) .. ")", 2)
  end
  return self._loop:cancel_co(co)
end

--- The names of the methods that make one call each (module functions too).
M.CALLS = { "update", "start", "stop", "mode", "get", "configure", "join_token",
  "webinar_update", "webinar_start", "webinar_stop", "webinar_get", "webinar_configure",
  "webinar_join_token" }

M.http_error = require("zoomlive.attempt").http_error
M.redact = request.redact
M.errors = errors

--- Normalised path segment for an id; returns digits or nil, err.
function M.id(v, fname, what)
  return require("zoomlive.validate").id(v, what or "meeting_id", fname, 1)
end

return M
