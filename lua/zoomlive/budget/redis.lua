--- zoomlive.budget.redis: one rate budget (and one S2S token) for every
-- process that names the same Redis and key.
--
--   local rb = require "zoomlive.budget.redis"
--   local b = rb.new{ rate = 30, burst = 5, store = "redis://127.0.0.1:6379/0",
--                     key = "zoomlive:acct", share = 10, debug = fn }
--   b:take(now) -> seconds to wait (0 = a slot was taken: go)
--   b:record(resp[, now])
--   b:describe() -> "redis redis://..." | "local (redis down: ...)"
--
-- take() is one round trip: EVALSHA of a GCRA script (redis-cell's
-- algorithm) that reads the server's clock, so every process shares one
-- time line; EVAL when the server answers NOSCRIPT. A 429 for the account
-- is written to Redis as a penalty every take() of every process waits out.
--
-- The connection is non-blocking (zoomlive.hiredis): the connect, AUTH,
-- SELECT and every command wait for the socket through one function,
-- `wait(fd, "r"|"w", seconds) -> true (ready) | false (time ran out) |
-- nil, why`, bounded by `timeout` (0.25 s) per round trip. The wait of a
-- round trip is, first found: the calling scheduler's transport.wait_fd
-- (the pipeline, a batch and a token fetch pass it: on an event loop it
-- watches the socket on the loop and yields), else the store's own, set
-- with b:set_wait(fn) (a client with `loop` sets the loop's), else a
-- poll(2) bounded by `timeout` (a blocking client). A wait that answers
-- nil, "cancelled" (M.CANCELLED: its call was cancelled) abandons the
-- round trip: that connection is closed, Redis is not counted as down.
--
-- The host is an IP address, "localhost" (127.0.0.1, no lookup), or a name
-- that is looked up at each connect with getaddrinfo(3), which blocks: a
-- client with `loop` refuses a name (store.lookup is true for one).
--
-- When Redis fails (refused, reset, timed out, an error reply, a reply of
-- the wrong shape), the budget goes on under a local one at `share`
-- requests per second (default rate/8), says so once through `debug`
-- ({event="budget", state="local", message=}) and in describe(), and tries
-- Redis again at most every `reconnect` seconds (default 2). Nothing
-- raises. Passwords never reach a message.
local cjson = require "cjson"
local lbudget = require "zoomlive.budget.local"

local M = {}

M.DEFAULT_TIMEOUT = 0.25
M.DEFAULT_RECONNECT = 2
M.DEFAULT_SHARE_DIVISOR = 8
--- What a wait answers (nil, M.CANCELLED) when its call was cancelled.
M.CANCELLED = "cancelled"

local type, tonumber, format, floor, max = type, tonumber, string.format, math.floor, math.max

-- KEYS[1] tat, KEYS[2] penalty; ARGV[1] interval (us), ARGV[2] tau (us).
-- Returns {allowed (1|0), wait (us), penalty (1|0)}.
M.GCRA = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local p = redis.call('GET', KEYS[2])
if p then
  local pen = tonumber(string.match(p, '^(%d+)'))
  if pen and pen > now then return {0, pen - now, 1} end
end
local interval, tau = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local wait = tat - tau - now
if wait > 0 then return {0, wait, 0} end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return {1, 0, 0}
]]

-- KEYS[1] penalty; ARGV[1] wait (us), ARGV[2] type. Keeps the later end.
-- Returns the penalty's end in us from now.
M.PENALIZE = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = tonumber(ARGV[1])
local ends = now + wait
local p = redis.call('GET', KEYS[1])
local cur = p and tonumber(string.match(p, '^(%d+)'))
if cur and cur >= ends then return cur - now end
redis.call('SET', KEYS[1], string.format('%.0f', ends) .. ' ' .. ARGV[2], 'PX', math.ceil(wait / 1000) + 1)
return wait
]]

-- KEYS[1] lock; ARGV[1] owner. Deletes the lock only if it is still ours.
M.UNLOCK = [[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
]]

--- Parses "redis://[host][:port][/db]"; returns host, port, db or nil, err.
-- Credentials in the URL are refused: they would end up in messages.
function M.parse_url(url)
  if type(url) ~= "string" then return nil, "store must be a string redis://host:port/db" end
  local rest = url:match("^redis://(.*)$")
  if not rest then return nil, "store must be a redis://host:port/db URL" end
  local hostport, path = rest:match("^([^/]*)(.*)$")
  if hostport:find("@", 1, true) then
    return nil, "store URL must not hold credentials (user:password@)"
  end
  local host, port = hostport:match("^%[(.-)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]*):?(%d*)$") end
  if not host then return nil, "store URL has a bad host:port" end
  if host == "" then host = "127.0.0.1" end
  port = port ~= "" and tonumber(port) or 6379
  if port < 1 or port > 65535 then return nil, "store URL port out of range" end
  local db = 0
  if path ~= "" and path ~= "/" then
    local d = path:match("^/(%d+)$")
    if not d then return nil, "store URL path must be /N, a database number" end
    -- Redis numbers its databases from 0 (16 by default; a server may have
    -- more, up to what a C int holds)
    db = #d <= 10 and math.tointeger(tonumber(d)) or nil
    if not db or db > 2147483647 then return nil, "store URL database number out of range" end
  end
  return host, math.tointeger(port), math.tointeger(db)
end

--- Whether host is an IP address (connected to without a lookup): four
-- dotted decimal bytes, or an IPv6 address (hex digits, ':' and '.';
-- zoomlive.hiredis refuses a malformed one without a lookup).
function M.is_address(host)
  if type(host) ~= "string" then return false end
  if host:find(":", 1, true) then return host:match("^[%x:%.]+$") ~= nil end
  local parts = { host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do
    if #p > 3 or tonumber(p) > 255 or (#p > 1 and p:sub(1, 1) == "0") then return false end
  end
  return true
end

------------------------------------------------------------------------
-- The connections: non-blocking hiredis contexts, each driven round trip
-- by round trip. A round trip holds its connection alone, so callers whose
-- waits yield (coroutines of a batch or an event loop) never read each
-- other's replies: a caller takes an idle connection or opens one, and
-- gives it back after its reply. On any failure every connection is
-- dropped; Redis is tried again at most every `reconnect` seconds.
local Store = {}
Store.__index = Store
Store.__name = "zoomlive.budget.store"
M.Store = Store

local hiredis_ok, hiredis = pcall(require, "zoomlive.hiredis")
local mono = require("zoomlive.core").now

local function default_wait(fd, ev, seconds)
  return hiredis.poll(fd, ev, seconds)
end

--- new_store{url=, password=, username=, timeout=, reconnect=, now=, wait=}
-- -> store | raises on a bad URL. password (and username, for Redis ACLs):
-- sent with AUTH on each new connection; kept in a closure, never in a
-- message. timeout: seconds per round trip (default 0.25); reconnect:
-- seconds between attempts while Redis is down (default 2); wait: the
-- store's own wait (see the top of this file).
-- Fields: url (normalized "redis://host:port/db"), host, port, db,
-- lookup (true when host is a name: connecting looks it up, and blocks),
-- down (why Redis is not in use, or nil).
function M.new_store(opts)
  local host, port, db = M.parse_url(opts.url)
  if not host then error("zoomlive.budget: " .. port, 3) end
  local password, username = opts.password, opts.username
  for name, v in pairs({ password = password, username = username }) do
    if v ~= nil and (type(v) ~= "string" or v == "") then
      error("zoomlive.budget: '" .. name .. "' must be a non-empty string", 3)
    end
  end
  if username and not password then error("zoomlive.budget: 'username' needs a 'password'", 3) end
  local auth
  if password then
    auth = function(conn)
      if username then return conn:append("AUTH", username, password) end
      return conn:append("AUTH", password)
    end
  end
  return setmetatable({
    _auth = auth,
    url = format("redis://%s:%d/%d", host, port, db),
    host = host, port = port, db = db,
    lookup = host ~= "localhost" and not M.is_address(host),
    _connect_host = host == "localhost" and "127.0.0.1" or host,
    timeout = opts.timeout or M.DEFAULT_TIMEOUT,
    reconnect = opts.reconnect or M.DEFAULT_RECONNECT,
    _now = opts.now or require("zoomlive.core").now,
    _wait = opts.wait or default_wait,
    _idle = {},
    _next_try = -math.huge,
    _sha = {},
    down = nil,            -- why Redis is not in use, or nil
  }, Store)
end

--- The store's own wait, for round trips whose caller passes none:
-- fn(fd, "r"|"w", seconds) -> true | false | nil, why (may yield); nil
-- restores the poll(2).
function Store:set_wait(fn) self._wait = fn or default_wait end

local function close_idle(self)
  local idle = self._idle
  for i = #idle, 1, -1 do
    idle[i]:close()
    idle[i] = nil
  end
end

-- conn: the connection of the failed round trip (closed here), or nil
function Store:_fail(why, conn)
  if conn then conn:close() end
  close_idle(self)
  self.down = why
  self._next_try = self._now() + self.reconnect
  return nil, why
end

-- a round trip that did not end: its call was cancelled (only that
-- connection goes), or Redis failed
function Store:_lost(why, conn)
  if why == M.CANCELLED then
    conn:close()
    return nil, why
  end
  return self:_fail(why, conn)
end

-- waits for the socket, bounded by the deadline (on the real monotonic
-- clock: an injected `now` may stand still); true, or nil, why
function Store:_await(conn, ev, deadline, wait)
  local left = deadline - mono()
  local ok, err
  if left > 0 then ok, err = (wait or self._wait)(conn:fd(), ev, left) end
  if ok == nil and err then return nil, err end
  if not ok then return nil, "timed out after " .. self.timeout .. " s" end
  return true
end

-- One round trip for the commands queued on conn (n replies); returns
-- the last reply or nil, why. An error reply comes back as {err=}.
function Store:_roundtrip(conn, n, wait)
  local deadline = mono() + self.timeout
  while true do
    local done, err = conn:flush()
    if done == nil then return nil, err end
    if done then break end
    local ok, why = self:_await(conn, "w", deadline, wait)
    if not ok then return nil, why end
  end
  local reply
  for _ = 1, n do
    while true do
      local got, r = conn:read()
      if got == nil then return nil, r end
      if got then
        reply = r
        break
      end
      local ok, why = self:_await(conn, "r", deadline, wait)
      if not ok then return nil, why end
    end
  end
  return reply
end

--- An open connection for one round trip, or nil, why (no I/O while
-- waiting to reconnect). A new connection's connect, AUTH and SELECT wait
-- through `wait` (the caller's) like the command itself.
function Store:_acquire(wait)
  local idle = self._idle
  local n = #idle
  if n > 0 then
    local conn = idle[n]
    idle[n] = nil
    return conn
  end
  if not hiredis_ok then
    return self:_fail("the zoomlive.hiredis module is not available: " .. tostring(hiredis))
  end
  if self._now() < self._next_try then return nil, self.down end
  local conn, err = hiredis.connect(self._connect_host, self.port)
  if not conn then return self:_fail(err) end
  if self._auth then
    self._auth(conn)
    local r, why = self:_roundtrip(conn, 1, wait)
    if r == nil then return self:_lost(why, conn) end
    -- Redis's answer names no password ("WRONGPASS invalid username-password pair")
    if type(r) == "table" and r.err then return self:_fail("AUTH: " .. r.err, conn) end
    if r ~= "OK" then return self:_fail("AUTH: unexpected reply", conn) end
  end
  if self.db ~= 0 then
    conn:append("SELECT", self.db)
    local r, why = self:_roundtrip(conn, 1, wait)
    if r == nil then return self:_lost(why, conn) end
    if type(r) == "table" and r.err then return self:_fail("SELECT: " .. r.err, conn) end
    if r ~= "OK" then return self:_fail("SELECT: unexpected reply", conn) end
  end
  return conn
end

--- One command (one round trip): the reply (zoomlive.hiredis's: an error
-- reply as {err=}), or nil, why when Redis could not be reached or did not
-- answer within `timeout` (Redis is then down until `reconnect` s pass),
-- or nil, M.CANCELLED when the wait said so.
-- wait: this round trip's way of waiting for the socket (a scheduler's
-- transport.wait_fd), else (nil) the store's
function Store:call(wait, ...)
  local conn, why = self:_acquire(wait)
  if not conn then return nil, why end
  local ok, err = conn:append(...)
  if not ok then return self:_fail(err, conn) end
  local r
  r, err = self:_roundtrip(conn, 1, wait)
  if r == nil then return self:_lost(err, conn) end
  if self.down and self._now() < self._next_try then
    -- another round trip failed while this one waited: this connection
    -- may be as stale; keep to the reconnect schedule
    conn:close()
  else
    self._idle[#self._idle + 1] = conn
    self.down = nil
  end
  return r
end

--- One command waited for by the store's own wait (set_wait; on a client
-- with `loop`, the loop's: then call it from a coroutine the loop runs).
function Store:command(...) return self:call(nil, ...) end

--- A script by its SHA1 (EVALSHA), loaded with EVAL when the server
-- answers NOSCRIPT; one round trip in the usual case.
function Store:eval(script, keys, args, wait)
  local n = #keys
  local argv = { n }
  for i = 1, n do argv[#argv + 1] = keys[i] end
  for i = 1, #args do argv[#argv + 1] = args[i] end
  local sha = self._sha[script]
  local r, err
  if sha then
    r, err = self:call(wait, "EVALSHA", sha, table.unpack(argv))
    if r == nil then return nil, err end
    if not (type(r) == "table" and r.err and r.err:find("^NOSCRIPT")) then
      if type(r) == "table" and r.err then return self:_fail(r.err) end
      return r
    end
  end
  r, err = self:call(wait, "EVAL", script, table.unpack(argv))
  if r == nil then return nil, err end
  if type(r) == "table" and r.err then return self:_fail(r.err) end
  -- the script is in the server's cache now; next time by SHA1
  local s = self:call(wait, "SCRIPT", "LOAD", script)
  if type(s) == "string" then self._sha[script] = s end
  return r
end

--- Closes the idle connections (a round trip under way closes its own).
function Store:close() close_idle(self) end

------------------------------------------------------------------------
-- The shared S2S token: what zoomlive.auth needs of a store.
-- The entry is JSON {access_token, expires_at (Unix s), api_url}; the
-- client secret is never part of it nor of any key.

--- The stored entry for name, or nil[, why].
function Store:token_get(name, wait)
  local r, err = self:call(wait, "GET", name)
  if r == nil then return nil, err end
  if type(r) == "table" and r.err then return nil, r.err end   -- an error reply: the store failed
  if type(r) ~= "string" then return nil end
  local ok, e = pcall(cjson.decode, r)
  if not ok or type(e) ~= "table" or type(e.access_token) ~= "string"
      or type(e.expires_at) ~= "number" then
    return nil
  end
  return e
end

--- Stores the entry, kept by Redis for ttl seconds.
function Store:token_set(name, entry, ttl, wait)
  local r, err = self:call(wait, "SET", name, cjson.encode(entry), "PX", max(1, floor(ttl * 1000)))
  if r == nil then return nil, err end
  if type(r) == "table" and r.err then return nil, r.err end
  return true
end

--- Takes the lock (SET NX PX); owner on success, false when another holds
-- it, nil, why on failure.
function Store:lock(name, owner, ttl, wait)
  local r, err = self:call(wait, "SET", name, owner, "NX", "PX", max(1, floor(ttl * 1000)))
  if r == nil then return nil, err end
  if r == "OK" then return owner end
  if r == false then return false end   -- the nil reply: another holds it
  -- an error reply (NOAUTH, ...) or anything else is no lock at all: the
  -- caller goes on its own instead of waiting for a holder that is not there
  return nil, type(r) == "table" and r.err or "unexpected reply to SET NX"
end

function Store:unlock(name, owner, wait)
  return self:eval(M.UNLOCK, { name }, { owner }, wait)
end

------------------------------------------------------------------------
-- The budget
local Budget = {}
Budget.__index = Budget
Budget.__name = "zoomlive.budget.redis"
M.Budget = Budget

local function us(seconds) return format("%.0f", seconds * 1e6) end

-- the GCRA script's answer, exactly: {allowed 0|1, wait (us) >= 0, penalty 0|1}
local function gcra_reply(r)
  if type(r) ~= "table" or r.err ~= nil or #r ~= 3 or next(r, 3) ~= nil then return false end
  local a, w, p = r[1], r[2], r[3]
  return math.type(a) == "integer" and (a == 0 or a == 1)
    and math.type(w) == "integer" and w >= 0
    and math.type(p) == "integer" and (p == 0 or p == 1)
end

-- a reply's shape for a message: integers shown, anything else by type (a
-- string's text is never shown)
local function shape(r)
  if type(r) ~= "table" then return math.type(r) == "integer" and ("the integer " .. r) or ("a " .. type(r)) end
  if r.err then return "an error reply" end
  local parts = {}
  for i = 1, math.min(#r, 4) do
    local v = r[i]
    parts[i] = math.type(v) == "integer" and tostring(v) or type(v)
  end
  if #r > 4 then parts[5] = "..." end
  return format("an array of %d {%s}", #r, table.concat(parts, ", "))
end

--- new{rate=, burst=, store= URL, key=, share=, password=, username=,
--       timeout=, reconnect=, now=, time=, wait=, debug=}
function M.new(opts)
  local rate, burst = lbudget.check(opts.rate, opts.burst, "zoomlive.budget")
  local key = opts.key or "zoomlive"
  if type(key) ~= "string" or key == "" or key:find("[%c%s]") then
    error("zoomlive.budget: 'key' must be a non-empty string without spaces or control characters", 3)
  end
  local share = opts.share
  if share == nil then
    share = rate / M.DEFAULT_SHARE_DIVISOR
  elseif type(share) ~= "number" or share ~= share or share <= 0 or share > rate then
    error("zoomlive.budget: 'share' must be a number of requests per second in (0, rate]", 3)
  end
  local nowf = opts.now or require("zoomlive.core").now
  local store = M.new_store{ url = opts.store, timeout = opts.timeout, reconnect = opts.reconnect,
    now = nowf, wait = opts.wait, password = opts.password, username = opts.username }
  local tag = "{" .. key .. "}"
  return setmetatable({
    rate = rate, burst = burst, share = share, key = key,
    store = store,
    _tat_key = tag .. ":tat",
    _penalty_key = tag .. ":penalty",
    _token_prefix = tag .. ":token:",
    _interval = us(1 / rate),
    _tau = us((burst - 1) / rate),
    _local = lbudget.new{ rate = share, burst = math.max(1, math.floor(burst * share / rate)),
      now = nowf, time = opts.time },
    _now = nowf,
    _time = opts.time or require("zoomlive.core").time,
    _debug = opts.debug,
    _warned = nil,
  }, Budget)
end

--- The wait of round trips whose caller passes none (Store:set_wait):
-- fn(fd, "r"|"w", seconds) -> true | false | nil, why; it may yield.
function Budget:set_wait(fn) self.store:set_wait(fn) end
function Budget:set_debug(fn) self._debug = fn end

function Budget:_say(state, message)
  if self._debug then
    local ok, err = pcall(self._debug, { event = "budget", state = state, message = message })
    if not ok then io.stderr:write("zoomlive: debug hook failed: ", tostring(err), "\n") end
  end
end

-- warns once per outage (describe() tells the latest reason)
function Budget:_down(why)
  self._why = why or "unexpected reply"   -- describe() says the same as the hook
  if not self._warned then
    self._warned = true
    self:_say("local", format("redis down (%s): %s; calls go on under a local budget of %g/s",
      self.store.url, why, self.share))
  end
end

function Budget:_up()
  self._why = nil
  if self._warned then
    self._warned = nil
    self:_say("redis", "redis back (" .. self.store.url .. "): the shared budget is in force again")
  end
end

--- Seconds to wait before asking again; 0 = go (a slot was taken).
-- now: the client's monotonic seconds (default its clock); tr: the calling
-- scheduler's transport; its wait_fd(fd, "r"|"w", seconds) -> true | false
-- | nil, why, when it has one, waits for Redis's socket (and may yield).
-- Never raises: when Redis fails or answers anything but the script's
-- {allowed 0|1, wait us >= 0, penalty 0|1}, the local share answers.
function Budget:take(now, tr)
  now = now or self._now()
  -- a penalty this process saw holds even if Redis lost it or is down
  local pen = self._local:penalty(now)
  if pen > 0 then return pen end
  local store = self.store
  local r, why = store:eval(M.GCRA, { self._tat_key, self._penalty_key },
    { self._interval, self._tau }, tr and tr.wait_fd)
  if r ~= nil then
    if gcra_reply(r) then
      self:_up()
      if r[1] == 1 then return 0 end
      return max(r[2], 1) / 1e6
    end
    -- not the script's answer (another program under these keys, not a
    -- Redis): Redis fails, as when it does not answer
    why = select(2, store:_fail("unexpected reply to the budget script: " .. shape(r)))
  end
  if why ~= M.CANCELLED then self:_down(why) end
  return self._local:take(now)
end

--- Sees one response; a 429 for the account becomes a penalty here and in
-- Redis. Returns the penalty (seconds, type) or nil. tr: as for take.
function Budget:record(resp, now, tr)
  local wait, typ = lbudget.penalty(resp, self._time())
  if not wait then return nil end
  self._local:penalize(wait, typ, now)
  local r, why = self.store:eval(M.PENALIZE, { self._penalty_key }, { us(wait), typ }, tr and tr.wait_fd)
  if r ~= nil and math.type(r) ~= "integer" then
    r, why = self.store:_fail("unexpected reply to the penalty script: " .. shape(r))
  end
  if r ~= nil then self:_up() elseif why ~= M.CANCELLED then self:_down(why) end
  return wait, typ
end

--- "redis redis://h:p/db" while Redis is in use, else "local (redis down: why)".
function Budget:describe()
  -- down as the connection saw it, or as the budget judged a reply it
  -- could not use (the same state the debug hook reports)
  local why = self.store.down or self._why
  if why then return "local (redis down: " .. tostring(why) .. ")" end
  return "redis " .. self.store.url
end

--- The token store for the S2S token of (account_id, client_id); see
-- zoomlive.auth (the S2S source).
function Budget:token_store(account_id, client_id)
  local store, prefix = self.store, self._token_prefix .. account_id .. ":" .. client_id
  return {
    get = function(wait) return store:token_get(prefix, wait) end,
    set = function(entry, ttl, wait) return store:token_set(prefix, entry, ttl, wait) end,
    lock = function(owner, ttl, wait) return store:lock(prefix .. ":lock", owner, ttl, wait) end,
    unlock = function(owner, wait) return store:unlock(prefix .. ":lock", owner, wait) end,
  }
end

function Budget:close() self.store:close() end
Budget.__close = Budget.close

function Budget:__tostring()
  return format("zoomlive.budget.redis (%g/s, burst %d, %s)", self.rate, self.burst, self:describe())
end

M.available = hiredis_ok
return M
