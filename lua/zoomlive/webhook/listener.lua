--- zoomlive.webhook.listener: a small HTTP server that receives Zoom's
-- webhook deliveries, answers URL validation, verifies every event, and
-- lets a script wait (bounded) for one of them.
--
--   local webhook = require "zoomlive.webhook"
--   local l <close> = webhook.listener { port = 8080, host = "0.0.0.0", secret = S }
--   assert(client:start(id))
--   local ev, err = l:wait("meeting.live_streaming_started", id, 60)
--
-- Options:
--   secret     Zoom app's Secret Token (required)
--   host       address to listen on (default "127.0.0.1"; "0.0.0.0" for all)
--   port       default 0: the system picks one (see l:port(), l:url())
--   path       answer only this request path (default: any)
--   tolerance  seconds a request timestamp may be off (default 300)
--   backend    "socket" (LuaSocket, blocking waits; the default) or "luv"
--              (libuv: the listener lives on a uv loop beside the host's
--              other handles)
--   loop       the luv module to use with backend "luv" (default require "luv")
--   on_event   function(event) called for every verified new event
--   log        function(line) told about every request (no secrets)
--   now        function -> Unix seconds, for signature timestamps (default
--              the system clock)
--   clock      function -> monotonic seconds, for wait() deadlines (socket
--              backend; default zoomlive.core.now)
--   poll       the longest single socket wait inside wait(), seconds (0.25)
--   max_body   largest request body accepted, bytes (default 1 MiB)
--
-- Events not yet waited for are kept (up to 1000) so that an event arriving
-- before wait() is called is not lost.
local core = require "zoomlive.core"
local errors = require "zoomlive.errors"
local validate = require "zoomlive.validate"

local M = {}

local format, type = string.format, type
local REASONS = { [200] = "OK", [204] = "No Content", [400] = "Bad Request", [401] = "Unauthorized",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout",
  [411] = "Length Required", [413] = "Content Too Large", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented" }
local HEAD_MAX = 16 * 1024
local IDLE = 10          -- seconds a connection may take to send its request
local QUEUE_MAX = 1000
local CONNS_MAX = 128    -- open connections; more wait in the kernel's backlog

-- ------------------------------------------------------------- HTTP bytes

--- Reads one HTTP/1.1 request from the bytes received so far.
-- Returns nil when more bytes are needed; a request {method, target,
-- headers, body}; or false, status for a request that cannot be served.
function M.parse_request(buf, max_body)
  -- the head ends at an empty line: CR LF CR LF, or bare LFs (RFC 9112
  -- lets a server take LF alone as a line end)
  local hend, bstart = buf:find("\r\n\r\n", 1, true), nil
  local lf = buf:find("\n\n", 1, true)
  if lf and (not hend or lf < hend) then hend, bstart = lf, lf + 2
  elseif hend then bstart = hend + 4 end
  if not hend then
    if #buf > HEAD_MAX then return false, 431 end
    return nil
  end
  if hend > HEAD_MAX then return false, 431 end
  local head = buf:sub(1, hend - 1)
  local method, target, rest = head:match("^(%u+) (%S+) HTTP/1%.[01]\r?\n?(.*)$")
  if not method then return false, 400 end
  local headers = {}
  for line in rest:gmatch("[^\r\n]+") do
    local name, value = line:match("^([%w%-!#$%%&'*+.^_`|~]+):[ \t]*(.-)[ \t]*$")
    if not name then return false, 400 end
    name = name:lower()
    local old = headers[name]
    if old == nil then headers[name] = value
    elseif type(old) == "table" then old[#old + 1] = value
    else headers[name] = { old, value } end   -- a repeated header is ambiguous
  end
  if headers["transfer-encoding"] then return false, 501 end
  local cl = headers["content-length"]
  local n = 0
  if cl ~= nil then
    if type(cl) ~= "string" or not cl:match("^%d+$") or #cl > 12 then return false, 400 end
    n = tonumber(cl)
  elseif method == "POST" then
    return false, 411
  end
  if n > max_body then return false, 413 end
  if #buf < bstart - 1 + n then return nil end
  return { method = method, target = target, headers = headers, body = buf:sub(bstart, bstart - 1 + n) }
end

local function response(status, ctype, body)
  body = body or ""
  local h = { format("HTTP/1.1 %d %s\r\n", status, REASONS[status] or "Status"),
    format("Content-Length: %d\r\n", #body), "Connection: close\r\n" }
  if ctype and body ~= "" then h[#h + 1] = "Content-Type: " .. ctype .. "\r\n" end
  h[#h + 1] = "\r\n"
  h[#h + 1] = body
  return table.concat(h)
end
M.response = response

-- -------------------------------------------------------------- listener

local Listener = {}
Listener.__index = Listener
Listener.__name = "zoomlive.webhook.listener"

Listener.__tostring = function(l)
  if l._closed then return "zoomlive.webhook.listener (closed)" end
  return format("zoomlive.webhook.listener %s (%s, %d queued)", l:url(), l._backend, #l._queue)
end

-- One complete request: the answer's bytes. Verified new events are queued,
-- offered to waiters and to on_event.
function Listener:_serve(req)
  if self._path and req.target:gsub("%?.*$", "") ~= self._path then
    return response(404, "application/json", '{"error":"path"}')
  end
  local r = self._handler:handle(req.method, req.headers, req.body)
  if self._log then
    -- the target as sent, control bytes and non-ASCII shown as ?, cut at 200
    local target = req.target:sub(1, 200):gsub("[%c\128-\255]", "?")
    local ok, e = pcall(self._log, format("%s %s -> %d%s%s", req.method, target, r.status,
      r.event and (" " .. tostring(r.event)) or "", r.err and (" (" .. tostring(r.err) .. ")") or ""))
    if not ok then io.stderr:write("zoomlive.webhook.listener: log raised: ", tostring(e), "\n") end
  end
  if r.event then self:_deliver(r.event) end
  return response(r.status, r.content_type, r.body)
end

function Listener:_deliver(ev)
  if self._on_event then
    local ok, e = pcall(self._on_event, ev)
    if not ok then io.stderr:write("zoomlive.webhook.listener: on_event raised: ", tostring(e), "\n") end
  end
  -- a luv waiter takes it at once
  for i, w in ipairs(self._waiters) do
    if w.name == ev.name and (w.id == nil or w.id == ev.id) then
      table.remove(self._waiters, i)
      w.done(ev)
      return
    end
  end
  local q = self._queue
  q[#q + 1] = ev
  if #q > QUEUE_MAX then table.remove(q, 1) end
end

-- the first queued event that matches, taken out of the queue
function Listener:_take(name, id)
  for i, ev in ipairs(self._queue) do
    if ev.name == name and (id == nil or ev.id == id) then
      table.remove(self._queue, i)
      return ev
    end
  end
end

local function check_wait_args(name, id, timeout, fname)
  if type(name) ~= "string" then
    error(format("bad argument #1 to '%s' (event name expected, got %s)", fname, type(name)), 3)
  end
  local sid
  if id ~= nil then
    local e
    sid, e = validate.id(id, "id", fname, 2)
    if not sid then return nil, e end
  end
  if type(timeout) ~= "number" then
    error(format("bad argument #3 to '%s' (seconds expected, got %s)", fname, type(timeout)), 3)
  end
  if timeout ~= timeout or timeout < 0 or timeout == math.huge then
    return nil, errors.argument("timeout", "must be a finite number of seconds >= 0")
  end
  return sid or false
end

local function timeout_error(name, sid, timeout)
  return errors.new("timeout", { event = name, id = sid or nil,
    message = format("no verified %s%s arrived within %g s", name, sid and (" for " .. sid) or "", timeout) })
end

--- Waits until a verified event `name` (for meeting/webinar `id`, or any
-- when id is nil) has arrived, at most `timeout` seconds.
-- Returns the event (see zoomlive.webhook.parse), or nil, err: kind
-- "timeout" (err.event, err.id say what was awaited), "argument".
-- With the socket backend the listener serves requests only while a
-- wait() or step() runs. With the luv backend it runs the uv loop until
-- then; call it only outside the loop's callbacks (inside, use expect()).
function Listener:wait(name, id, timeout)
  if self._closed then error("attempt to use a closed zoomlive.webhook.listener", 2) end
  local sid, e = check_wait_args(name, id, timeout, "wait")
  if sid == nil then return nil, e end
  sid = sid or nil
  local ev = self:_take(name, sid)
  if ev then return ev end
  if self._backend == "luv" then return self:_luv_wait(name, sid, timeout) end
  local deadline = self._clock() + timeout
  while true do
    local left = deadline - self._clock()
    if left <= 0 then return nil, timeout_error(name, sid, timeout) end
    self:step(math.min(left, self._poll))
    ev = self:_take(name, sid)
    if ev then return ev end
  end
end

--- All events received and not yet taken by wait(), oldest first (the
-- queue is emptied).
function Listener:drain()
  local q = self._queue
  self._queue = {}
  return q
end

function Listener:port() return self._port end
function Listener:url()
  local host = self._host
  if host == "0.0.0.0" or host == "*" then host = "127.0.0.1" end
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  return format("http://%s:%d%s", host, self._port, self._path or "/")
end

-- ------------------------------------------------------ socket backend

local function socket_open(self, opts)
  local socket = require "socket"
  local srv, err = socket.bind(self._host, opts.port or 0, 64)
  if not srv then return nil, err end
  srv:settimeout(0)
  self._socket, self._srv, self._conns = socket, srv, {}
  local _, port = srv:getsockname()
  self._port = tonumber(port)
  return true
end

local function drop(self, c)
  c.sock:close()
  for i, x in ipairs(self._conns) do
    if x == c then table.remove(self._conns, i) break end
  end
end

local function send_all(c, bytes)
  c.sock:settimeout(1)   -- the answer is small; a peer that does not read it loses it
  c.sock:send(bytes)
end

--- Socket backend: serves what is ready, waiting at most `max_wait`
-- seconds for something to happen. Returns the number of requests served.
function Listener:step(max_wait)
  if self._closed then error("attempt to use a closed zoomlive.webhook.listener", 2) end
  if self._backend ~= "socket" then error("step() belongs to the socket backend", 2) end
  local rd = { #self._conns < CONNS_MAX and self._srv or nil }
  for _, c in ipairs(self._conns) do rd[#rd + 1] = c.sock end
  local ready = self._socket.select(rd, nil, max_wait or 0)
  local served = 0
  local now = self._clock()
  if ready[self._srv] then
    for _ = 1, math.min(64, CONNS_MAX - #self._conns) do
      local s = self._srv:accept()
      if not s then break end
      s:settimeout(0)
      self._conns[#self._conns + 1] = { sock = s, buf = "", since = now }
    end
  end
  for _, c in ipairs({ table.unpack(self._conns) }) do
    if ready[c.sock] then
      local data, err, partial = c.sock:receive(65536)
      data = data or partial
      if data and #data > 0 then c.buf = c.buf .. data end
      local req, status = M.parse_request(c.buf, self._max_body)
      if req then
        send_all(c, self:_serve(req))
        drop(self, c)
        served = served + 1
      elseif req == false then
        send_all(c, response(status))
        drop(self, c)
      elseif err == "closed" then
        drop(self, c)
      end
    elseif now - c.since > IDLE then
      send_all(c, response(408))
      drop(self, c)
    end
  end
  return served
end

--- Socket backend, for a host's own event loop: the file descriptors to
-- watch for reading (the listening socket and each open connection). When
-- one is readable, call step(0), then take fds() again (connections come
-- and go). A loop timer of about a second calling step(0) also closes idle
-- connections.
function Listener:fds()
  if self._closed then error("attempt to use a closed zoomlive.webhook.listener", 2) end
  if self._backend ~= "socket" then error("fds() belongs to the socket backend", 2) end
  local t = { self._srv:getfd() }
  for _, c in ipairs(self._conns) do t[#t + 1] = c.sock:getfd() end
  return t
end

-- --------------------------------------------------------- luv backend

local function luv_open(self, opts)
  local uv = opts.loop or require "luv"
  local tcp = uv.new_tcp()
  local ok, err = tcp:bind(self._host, opts.port or 0)
  if not ok then tcp:close() return nil, err end
  ok, err = tcp:listen(64, function(lerr)
    if lerr then return end
    local client = uv.new_tcp()
    if not tcp:accept(client) then client:close() return end
    if self._open >= CONNS_MAX then client:close() return end
    self._open = self._open + 1
    local buf = ""
    local timer = uv.new_timer()
    local function finish(bytes)
      if timer:is_closing() then return end
      self._open = self._open - 1
      timer:stop()
      timer:close()
      client:read_stop()
      if bytes then client:write(bytes, function() client:close() end)
      else client:close() end
    end
    timer:start(IDLE * 1000, 0, function() finish(response(408)) end)
    client:read_start(function(rerr, chunk)
      if rerr or not chunk then finish(nil) return end
      buf = buf .. chunk
      local req, status = M.parse_request(buf, self._max_body)
      if req then finish(self:_serve(req))
      elseif req == false then finish(response(status)) end
    end)
  end)
  if not ok then tcp:close() return nil, err end
  self._uv, self._tcp = uv, tcp
  self._port = tcp:getsockname().port
  return true
end

--- luv backend, for a host whose uv loop runs: calls callback(event) once
-- the verified event arrives, or callback(nil, err) after `timeout`
-- seconds (kind "timeout"). Returns a cancel function.
function Listener:expect(name, id, timeout, callback)
  if self._closed then error("attempt to use a closed zoomlive.webhook.listener", 2) end
  if self._backend ~= "luv" then error("expect() belongs to the luv backend", 2) end
  if type(callback) ~= "function" then error("bad argument #4 to 'expect' (function expected)", 2) end
  local sid, e = check_wait_args(name, id, timeout, "expect")
  if sid == nil then callback(nil, e) return function() end end
  sid = sid or nil
  local ev = self:_take(name, sid)
  if ev then callback(ev) return function() end end
  local timer = self._uv.new_timer()
  local w
  local function cancel()
    for i, x in ipairs(self._waiters) do
      if x == w then table.remove(self._waiters, i) break end
    end
    if not timer:is_closing() then timer:stop() timer:close() end
  end
  w = { name = name, id = sid, done = function(got, e2) cancel() callback(got, e2) end }
  self._waiters[#self._waiters + 1] = w
  timer:start(math.ceil(timeout * 1000), 0, function()
    cancel()
    callback(nil, timeout_error(name, sid, timeout))
  end)
  return cancel
end

function Listener:_luv_wait(name, sid, timeout)
  local result, err, done = nil, nil, false
  self:expect(name, sid, timeout, function(ev, e) result, err, done = ev, e, true end)
  while not done do self._uv.run("once") end
  return result, err
end

-- ----------------------------------------------------------------- life

--- Stops listening and closes every connection. Idempotent; also __gc
-- and __close.
function Listener:close()
  if self._closed then return end
  self._closed = true
  if self._backend == "socket" then
    for _, c in ipairs(self._conns) do c.sock:close() end
    self._conns = {}
    self._srv:close()
  else
    for _, w in ipairs({ table.unpack(self._waiters) }) do
      w.done(nil, errors.new("cancelled", { message = "the webhook listener was closed" }))
    end
    if not self._tcp:is_closing() then self._tcp:close() end
  end
end
Listener.__close = Listener.close
Listener.__gc = Listener.close

--- webhook.listener{...} (see the options above). Raises on wrong option
-- types; returns nil, err when the address cannot be bound.
function M.new(opts, webhook)
  if type(opts) ~= "table" then error("bad argument #1 to 'listener' (table expected)", 3) end
  local known = { secret = 1, host = 1, port = 1, path = 1, tolerance = 1, backend = 1, loop = 1,
    on_event = 1, log = 1, now = 1, clock = 1, poll = 1, max_body = 1 }
  for k in pairs(opts) do
    if not known[k] then error("zoomlive.webhook.listener: unknown option '" .. tostring(k) .. "'", 3) end
  end
  local backend = opts.backend or "socket"
  if backend ~= "socket" and backend ~= "luv" then
    error("zoomlive.webhook.listener: backend must be \"socket\" or \"luv\"", 3)
  end
  for _, k in ipairs({ "on_event", "log", "now", "clock" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      error("zoomlive.webhook.listener: option '" .. k .. "' must be a function", 3)
    end
  end
  if opts.path ~= nil and (type(opts.path) ~= "string" or opts.path:sub(1, 1) ~= "/") then
    error("zoomlive.webhook.listener: option 'path' must start with /", 3)
  end
  local self = setmetatable({
    _backend = backend, _host = opts.host or "127.0.0.1", _path = opts.path,
    _handler = webhook.handler { secret = opts.secret, tolerance = opts.tolerance, now = opts.now },
    _on_event = opts.on_event, _log = opts.log,
    _clock = opts.clock or core.now, _poll = opts.poll or 0.25,
    _max_body = opts.max_body or webhook.MAX_BODY,
    _queue = {}, _waiters = {}, _open = 0,
  }, Listener)
  local ok, err
  if backend == "socket" then ok, err = socket_open(self, opts) else ok, err = luv_open(self, opts) end
  if not ok then
    self._closed = true
    return nil, errors.new("transport", { message = format("cannot listen on %s port %s: %s",
      self._host, tostring(opts.port or 0), tostring(err)) })
  end
  return self
end

return M
