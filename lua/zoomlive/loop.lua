--- zoomlive.loop: the event-loop scheduler. A client made with
-- `zoomlive.new{ loop = "luv" | "cqueues" | adapter }` runs every call
-- through the one pipeline (zoomlive.pipeline) inside the caller's
-- coroutine, over a non-blocking driver (zoomlive.core.driver) that the
-- host's loop runs:
--
--   transport.send(spec, token, timeout, deadline)  submits to the driver, then suspends the caller
--                         until the response is taken;
--   transport.sleep(s)    arms a loop timer, then suspends the caller
--                         (retry waits, pacing, a shared token fetch);
--   transport.wait_fd(fd, events, s)  watches a shared budget's Redis
--                         socket on the loop, then suspends the caller:
--                         true (ready), false (s passed), or nil,
--                         "cancelled" (the call was cancelled meanwhile).
--
-- The same wait serves the items of update_many (the batch hands their
-- Redis sockets to its engine: Engine:watch_fd) and, through
-- loop:wait_fd, a shared budget's round trips made outside a call (a
-- client with `loop` sets it as the budget's own wait). No Redis round
-- trip of a client with `loop` waits anywhere but on the loop.
--
-- The driver's socket-watch changes and its timer go to the host loop
-- through the adapter (docs/loop.md):
--
--   adapter = {
--     watch   = function(fd, events, on_ready) end,  -- events "r" | "w" | "rw";
--                                                     -- again for a new mask;
--                                                     -- on_ready(events) when ready
--     unwatch = function(fd) end,                    -- before the socket closes
--     timer   = function(seconds, fn) -> handle end, -- fn() once, from the loop
--     cancel  = function(handle) end,                -- a timer not yet fired
--     -- optional (plain coroutines when absent):
--     waiter  = function() -> w | nil, why end,      -- may the running code wait?
--     suspend = function(w) end,                     -- until resume(w) (may return early)
--     resume  = function(w) end,
--     spawn   = function(fn) end,                    -- run fn where it may wait
--     close   = function() end,                      -- optional: the client closed
--   }
--
-- A call ended early (handle:cancel(), client:close()) gets the pipeline's
-- stop value { kind = "cancelled", final = true, sent = bool, message }:
-- it returns nil, err of kind "cancelled", err.outcome_unknown saying
-- whether a request that changes something may have reached Zoom.
local core = require "zoomlive.core"
local pipeline = require "zoomlive.pipeline"

local type, format, tointeger = type, string.format, math.tointeger
local running, isyieldable, costatus = coroutine.running, coroutine.isyieldable, coroutine.status

local M = {}

M.DEFAULT_CONCURRENCY = 16
M.MAX_CONCURRENCY = 1024

local EVENTS = { ["in"] = "r", out = "w", inout = "rw" }

-- ---- the plain-coroutine half of an adapter ---------------------------------

local function co_waiter()
  local co, main = running()
  if main then return nil, "called from the main thread, not a coroutine" end
  if not isyieldable() then return nil, "this coroutine cannot yield here" end
  return co
end

-- What a waiting call yields (whoever resumed the coroutine gets it), and
-- what the loop resumes it with: a resume by other code (a coroutine nested
-- in a loop coroutine, e.g. a coroutine.wrap iterator) is told apart and
-- raises a clear error instead of losing the call.
local WAITING = setmetatable({}, { __name = "zoomlive.waiting",
  __tostring = function() return "zoomlive: a call waiting on the event loop" end })
local WAKE = {}

local function co_suspend()
  if coroutine.yield(WAITING) ~= WAKE then
    error("zoomlive: a coroutine whose call waits on the event loop was resumed by other code; "
      .. "make calls from a coroutine only the loop resumes while they wait (not from a "
      .. "coroutine.wrap iterator or another coroutine you resume yourself)", 3)
  end
end

-- resumes a waiting coroutine; its own error (it died after our call
-- returned) is raised where the loop called us, as any callback's would be
local function co_resume(co)
  if costatus(co) ~= "suspended" then return end
  local ok, err = coroutine.resume(co, WAKE)
  if not ok then error(debug.traceback(co, tostring(err)), 0) end
end

local function co_spawn(fn) co_resume(coroutine.create(fn)) end

local REQUIRED = { "watch", "unwatch", "timer", "cancel" }
local OPTIONAL = { "waiter", "suspend", "resume", "spawn" }

--- An adapter from the client's `loop` option: "luv", "cqueues" or a table.
-- Returns adapter | nil, why.
function M.adapter(spec)
  if spec == "luv" or spec == "cqueues" then
    local ok, mod = pcall(require, "zoomlive.loop." .. spec)
    if not ok then return nil, format("cannot load the %s adapter: %s", spec, tostring(mod)) end
    return mod.new()
  end
  if type(spec) ~= "table" then
    return nil, "must be \"luv\", \"cqueues\" or an adapter table (see docs/loop.md)"
  end
  local a = {}
  for _, k in ipairs(REQUIRED) do
    if type(spec[k]) ~= "function" then return nil, format("adapter has no function '%s'", k) end
    a[k] = spec[k]
  end
  local n = 0
  for _, k in ipairs(OPTIONAL) do
    if spec[k] ~= nil then
      if type(spec[k]) ~= "function" then return nil, format("adapter field '%s' must be a function", k) end
      n = n + 1
    end
  end
  if n ~= 0 and n ~= #OPTIONAL then
    return nil, "adapter must give all of waiter, suspend, resume and spawn, or none"
  end
  a.waiter = spec.waiter or co_waiter
  a.suspend = spec.suspend or co_suspend
  a.resume = spec.resume or co_resume
  a.spawn = spec.spawn or co_spawn
  if spec.close ~= nil and type(spec.close) ~= "function" then
    return nil, "adapter field 'close' must be a function"
  end
  a.close = spec.close
  a.name = type(spec.name) == "string" and spec.name or "custom"
  return a
end
M.coroutine = { waiter = co_waiter, suspend = co_suspend, resume = co_resume, spawn = co_spawn }

-- ---- the loop: one driver, its watches and timer ---------------------------

local Loop = {}
Loop.__index = Loop

--- M.new(client, adapter, concurrency) -> loop
function M.new(client, adapter, concurrency)
  local o = client._conn_opts
  local d = core.driver {
    concurrency = concurrency, timeout = o.timeout, connect_timeout = o.connect_timeout,
    user_agent = o.user_agent, cainfo = o.cainfo, capath = o.capath, insecure = o.insecure,
    fresh_handles = o.fresh_handles,
  }
  local self = setmetatable({
    client = client, adapter = adapter, d = d, now = core.now,
    concurrency = concurrency,   -- requests in flight at once (the driver's cap)
    owners = {},      -- driver id -> the call or batch waiting for it
    watched = {},     -- fd -> events the adapter watches it for
    calls = {},       -- live calls (set)
    engines = {},     -- live update_many batches (set)
    handles = setmetatable({}, { __mode = "k" }),   -- coroutine -> submit handle
    running = setmetatable({}, { __mode = "k" }),   -- coroutine -> its call or batch
    pumping = false, again = false,
  }, Loop)
  self.on_timer = function()
    self.dtimer = nil
    if not self.d then return end
    self.d:timeout_action()
    self:pump()
  end
  return self
end

-- the changes and the timer of the driver, to the adapter
function Loop:apply()
  local d = self.d
  local t = self:apply_changes()
  -- a timer due now is run here, a few times at most, rather than through
  -- the loop: a 0 s timer is a turn of the loop per request otherwise
  for _ = 1, 4 do
    if t ~= 0 then break end
    d:timeout_action()
    t = self:apply_changes()
  end
  self:arm(t)
end

function Loop:apply_changes()
  local d, a, watched = self.d, self.adapter, self.watched
  for _, c in ipairs(d:changes()) do
    local fd = c.fd
    if c.what == "remove" then
      if watched[fd] then
        watched[fd] = nil
        a.unwatch(fd)
      end
    else
      local ev = EVENTS[c.what]
      if watched[fd] ~= ev then
        watched[fd] = ev
        a.watch(fd, ev, function(events)
          if self.d and watched[fd] then
            self.d:socket_action(fd, events or "e")
            self:pump()
          end
        end)
      end
    end
  end
  return d:timer()
end

function Loop:arm(t)
  local d, a = self.d, self.adapter
  -- an idle driver keeps no timer: the host's loop may end; the next
  -- submit arms it again
  if t and next(self.owners) == nil then
    local w, r, f = d:counts()
    if w + r + f == 0 then t = nil end
  end
  if t == nil then
    if self.dtimer then
      a.cancel(self.dtimer)
      self.dtimer = nil
    end
  else
    local due = self.now() + t
    -- keep an armed timer that is due within a millisecond of the new time
    if not (self.dtimer and math.abs(self.ddue - due) < 0.001) then
      if self.dtimer then a.cancel(self.dtimer) end
      self.ddue = due
      self.dtimer = a.timer(t, self.on_timer)
    end
  end
end

-- After every driver call: apply its changes, hand finished transfers to
-- their owners. Re-entrant: a call resumed here may submit again.
function Loop:pump()
  if self.pumping then
    self.again = true
    return
  end
  self.pumping = true
  local first_err
  repeat
    self.again = false
    local ok, err = pcall(self.apply, self)
    if not ok then first_err = first_err or err end
    local d = self.d
    while d do
      local ok2, id, resp = pcall(d.take, d)
      if not ok2 then first_err = first_err or id break end
      if not id then break end
      local owner = self.owners[id]
      self.owners[id] = nil
      if owner then
        ok2, err = pcall(owner.deliver, owner, id, resp)
        if not ok2 then first_err = first_err or err end
      end
      d = self.d
    end
  until not self.again or not self.d
  self.pumping = false
  -- an error of a coroutine resumed here (its own, after our call
  -- returned) is raised from a loop callback of its own, never into the
  -- call or callback that happened to pump
  if first_err then self.adapter.timer(0, function() error(first_err, 0) end) end
end

function Loop:submit_spec(owner, spec, token, timeout, deadline)
  local d = self.d
  if not d or self.closed then error("attempt to use a closed zoomlive.client", 3) end
  local id = d:submit(spec, token, timeout, deadline)
  self.owners[id] = owner
  return id             -- the owner notes it, then pumps
end

-- cancels a driver transfer; returns whether request bytes may have left,
-- and whether it was still waiting for a connection (never started)
function Loop:cancel_id(id)
  self.owners[id] = nil
  local d = self.d
  if not d then return true, false end
  local sent, waiting = d:cancel(id)
  self:pump()
  return sent ~= false, waiting == true
end

-- the clear error of a call made where it cannot wait
function Loop:check_waiter(fname, level)
  local w, why = self.adapter.waiter()
  if w then return w end
  error(format("zoomlive: %s on a client with loop = %q must be called from a coroutine the loop runs (%s); "
    .. "use client:submit(name, ..., on_done) from plain code", fname or "a call", self.adapter.name,
    why or "no waiter"), level or 3)
end

-- ---- one call: the pipeline's transport over the loop ----------------------

local Call = {}
Call.__index = Call

local function stop(sent, message)
  return { kind = "cancelled", final = true, sent = sent, message = message }
end

-- what a wait for a Redis socket answers (nil, CANCELLED) when its call
-- ends meanwhile (zoomlive.budget.redis.CANCELLED)
local CANCELLED = "cancelled"
M.CANCELLED = CANCELLED

local function new_call(loop, w)
  local call = setmetatable({ loop = loop, w = w, state = "run" }, Call)
  call.tr = {
    send = function(spec, token, timeout, deadline)
      if call.stopped then return call.stopped end
      call.state = "send"
      call.ready = false
      call.id = loop:submit_spec(call, spec, token, timeout, deadline)
      loop:pump()
      local v = call:wait()
      call.state = "run"
      return v
    end,
    sleep = function(s)
      if call.stopped then return call.stopped end
      call.state = "sleep"
      call.ready = false
      call.timer = loop.adapter.timer(s, function()
        call.timer = nil
        call:wake(nil)
      end)
      local v = call:wait()
      call.state = "run"
      return v
    end,
    -- a shared budget's Redis socket (zoomlive.budget.redis): watched on
    -- the host loop, bounded by a loop timer; true when ready, false when
    -- the time ran out, nil, "cancelled" when the call was cancelled
    wait_fd = function(fd, events, seconds)
      if call.stopped then return nil, CANCELLED end
      local a = loop.adapter
      call.state = "wait_fd"
      call.ready = false
      local over = false
      local timer
      local function finish(v)
        if over then return end
        over = true
        call.fd_finish = nil
        a.unwatch(fd)
        if timer then a.cancel(timer) timer = nil end
        call:wake(v)
      end
      call.fd_finish = finish
      a.watch(fd, events, function() finish(true) end)
      timer = a.timer(seconds, function() timer = nil finish(false) end)
      local v = call:wait()
      call.state = "run"
      if v == CANCELLED then return nil, CANCELLED end
      return v == true
    end,
  }
  loop.calls[call] = true
  return call
end

function Call:wait()
  local a = self.loop.adapter
  while not self.ready do
    self.suspended = true
    a.suspend(self.w)
    self.suspended = false
  end
  local v = self.value
  self.value = nil
  return v
end

function Call:wake(v)
  if self.ready then return end
  self.ready, self.value = true, v
  if self.suspended then self.loop.adapter.resume(self.w) end
end

function Call:deliver(id, resp)
  if self.id == id then
    self.id = nil
    self:wake(resp)
  end
end

--- Ends the call early. Returns true when it was still running.
function Call:cancel(message)
  if self.state == "done" or self.stopped then return false end
  local loop = self.loop
  if self.state == "send" and self.id then
    local id = self.id
    self.id = nil
    local sent, waiting = loop:cancel_id(id)
    self.stopped = stop(false, message or "cancelled before it was sent")
    local v = stop(sent, message or (sent and "cancelled while in flight"
      or "cancelled before it was sent"))
    v.queued = waiting or nil   -- the attempt never began: not counted
    self:wake(v)
  elseif self.state == "wait_fd" then
    self.stopped = stop(false, message or "cancelled before it was sent")
    if self.fd_finish then self.fd_finish(CANCELLED) end
  elseif self.state == "sleep" then
    if self.timer then
      loop.adapter.cancel(self.timer)
      self.timer = nil
    end
    self.stopped = stop(false, message or "cancelled before it was sent")
    self:wake(stop(nil, message or "cancelled while waiting (to retry, or for a token)"))
  else
    -- not started, or running now: its next send or wait ends it
    self.stopped = stop(false, message or "cancelled before it was sent")
  end
  return true
end

-- runs `fn(transport)` as a call of this loop in the running coroutine
function Loop:call(w, fn)
  local call = new_call(self, w)
  local co = running()
  self.running[co] = call
  local h = self.handles[co]
  if h then
    h.call = call
    if h.cancelled then call.stopped = stop(false, "cancelled before it was sent") end
  end
  local ok, a, b, c = pcall(fn, call.tr)
  call.state = "done"
  self.calls[call] = nil
  self.running[co] = nil
  if h then h.call = nil end
  if not ok then error(a, 0) end
  if b and b.kind == "cancelled" then
    b.outcome_unknown = b.outcome_unknown == true
    if c then c.outcome_unknown = b.outcome_unknown or nil end
  end
  return a, b, c
end

--- The loop scheduler's run: one built request, in the caller's coroutine.
function Loop:run(req, e, fname)
  local w = self:check_waiter(fname)
  if not req then return nil, e, { attempts = 0, elapsed = 0 } end
  if self.closed then error("attempt to use a closed zoomlive.client", 3) end
  local client = self.client
  return self:call(w, function(tr) return pipeline.run(client, req, tr) end)
end

--- loop:wait_fd(fd, events, seconds) -> true | false | nil, why
-- Waits on the loop for socket fd ("r" or "w") at most `seconds`, from any
-- coroutine the loop runs: in a call of this loop, through that call (a
-- cancel ends the wait: nil, "cancelled"). Never blocks: from anywhere
-- else (the main thread, a coroutine the loop does not run) it raises, as
-- a call made there does. The wait of a shared budget's round trips made
-- outside a call (a client with `loop` sets it on its budget).
function Loop:wait_fd(fd, events, seconds)
  local call = self.running[running()]
  if call and call.tr then return call.tr.wait_fd(fd, events, seconds) end
  local w = self:check_waiter("a Redis round trip of the shared budget", 3)
  if self.closed then return nil, "the client was closed" end
  local a = self.adapter
  local st = {}
  local timer
  local function finish(v)
    if st.over then return end
    st.over, st.value = true, v
    a.unwatch(fd)
    if timer then
      a.cancel(timer)
      timer = nil
    end
    if st.suspended then a.resume(w) end
  end
  a.watch(fd, events, function() finish(true) end)
  timer = a.timer(seconds, function()
    timer = nil
    finish(false)
  end)
  while not st.over do
    st.suspended = true
    a.suspend(w)
    st.suspended = false
  end
  return st.value
end

--- check_credentials on the loop.
function Loop:credentials()
  local w = self:check_waiter("check_credentials", 4)
  if self.closed then error("attempt to use a closed zoomlive.client", 3) end
  local client = self.client
  local token, err = self:call(w, function(tr) return pipeline.credentials(client, tr) end)
  return token, err
end

-- ---- update_many on the driver: core.multi's interface over the loop --------
-- batch.lua schedules exactly as on core.multi: submit, cancel, wait, take.

local Engine = {}
Engine.__index = Engine

function Loop:engine()
  local w = self:check_waiter("update_many")
  local e = setmetatable({ loop = self, w = w, mine = {}, q = {}, qh = 1, qt = 0 }, Engine)
  local h = self.handles[running()]
  if h then
    h.call = e
    if h.cancelled then e.stop_reason = "cancelled" end
  end
  self.engines[e] = true
  self.running[running()] = e
  return e
end

function Engine:submit(spec, token, timeout, deadline)
  local id = self.loop:submit_spec(self, spec, token, timeout, deadline)
  self.mine[id] = true
  self.loop:pump()
  return id
end

function Engine:cancel(id)
  if self.mine[id] then
    self.mine[id] = nil
    return self.loop:cancel_id(id)
  end
  return nil
end

function Engine:deliver(id, resp)
  if not self.mine[id] then return end
  self.mine[id] = nil
  self.qt = self.qt + 1
  self.q[self.qt] = { id, resp }
  self:wake()
end

function Engine:wake()
  self.ready = true
  if self.suspended then self.loop.adapter.resume(self.w) end
end

--- wait(seconds): until a transfer of this batch finished or `seconds`
-- passed; always lets the loop run once.
function Engine:wait(s)
  if self.qh <= self.qt or self.stop_reason then return end
  local a = self.loop.adapter
  self.ready = false
  local t = a.timer(s or 0, function()
    self.t = nil
    self:wake()
  end)
  self.t = t
  while not self.ready do
    self.suspended = true
    a.suspend(self.w)
    self.suspended = false
  end
  if self.t then
    a.cancel(self.t)
    self.t = nil
  end
end

--- The batch's items wait for a shared budget's Redis socket here: fd is
-- watched on the loop for `events` until unwatch_fd; on_ready() is then
-- called from the loop (at most once) and the batch's wait returns.
function Engine:watch_fd(fd, events, on_ready)
  self.fds = self.fds or {}
  self.fds[fd] = true
  self.loop.adapter.watch(fd, events, function()
    if self.fds[fd] then
      on_ready()
      self:wake()
    end
  end)
end

function Engine:unwatch_fd(fd)
  if self.fds and self.fds[fd] then
    self.fds[fd] = nil
    self.loop.adapter.unwatch(fd)
  end
end

function Engine:take()
  if self.qh > self.qt then return nil end
  local r = self.q[self.qh]
  self.q[self.qh] = nil
  self.qh = self.qh + 1
  return r[1], r[2]
end

--- A submit handle's cancel: the batch ends its items as cancelled.
function Engine:cancel_batch()
  if self.stop_reason then return false end
  self.stop_reason = "cancelled"
  self:wake()
  return true
end

function Engine:close()
  for fd in pairs(self.fds or {}) do self:unwatch_fd(fd) end
  for id in pairs(self.mine) do
    self.mine[id] = nil
    if self.loop.d then self.loop:cancel_id(id) end
  end
  if self.t then
    self.loop.adapter.cancel(self.t)
    self.t = nil
  end
  self.loop.engines[self] = nil
  if self.loop.running[running()] == self then self.loop.running[running()] = nil end
  local h = self.loop.handles[running()]
  if h and h.call == self then h.call = nil end
end
Engine.__close = Engine.close

-- ---- submit: a call from plain code, with a handle --------------------------

local Handle = {}
Handle.__index = Handle
Handle.__name = "zoomlive.call"

--- handle:cancel() -> true when the call was still running.
-- Its on_done then gets nil, err (kind "cancelled").
function Handle:cancel()
  if self.done or self.cancelled then return false end
  self.cancelled = true
  local c = self.call
  if c then
    if c.cancel_batch then return c:cancel_batch() end
    return c:cancel()
  end
  return true
end

function Handle:__tostring()
  return format("zoomlive.call (%s, %s)", self.name, self.done and "done"
    or self.cancelled and "cancelled" or "running")
end

--- loop:submit(client, name, ..., on_done) -> handle
function Loop:submit(client, name, ...)
  local n = select("#", ...)
  local on_done
  if n > 0 then on_done = select(n, ...) end
  if not M.SUBMITTABLE then
    M.SUBMITTABLE = { update_many = true, check_credentials = true }
    for _, k in ipairs(require("zoomlive.client").CALLS) do M.SUBMITTABLE[k] = true end
  end
  if type(name) ~= "string" or not M.SUBMITTABLE[name] or type(client[name]) ~= "function" then
    error(format("bad argument #1 to 'submit' (the name of a call expected, got %s)",
      type(name) == "string" and format("%q", name) or type(name)), 3)
  end
  if type(on_done) ~= "function" then
    error(format("bad argument #%d to 'submit' (function on_done expected, got %s)", n + 1,
      on_done == nil and "no value" or type(on_done)), 3)
  end
  if self.closed then error("attempt to use a closed zoomlive.client", 3) end
  local args = table.pack(...)
  args.n = n - 1
  local h = setmetatable({ name = name, loop = self }, Handle)
  local handles = self.handles
  local returned = false     -- submit has returned the handle
  local adapter = self.adapter
  adapter.spawn(function()
    handles[running()] = h
    local ok, a, b, c
    if h.cancelled and name ~= "update_many" then
      ok, a, b, c = true, nil, require("zoomlive.errors").new("cancelled",
        { attempts = 0, message = "cancelled before it was sent", outcome_unknown = false }),
        { attempts = 0, elapsed = 0 }
    else
      ok, a, b, c = pcall(client[name], client, table.unpack(args, 1, args.n))
    end
    handles[running()] = nil
    h.done = true
    if not ok and self.closed then
      -- closed before the call began: cancelled, nothing sent
      a, b, c = nil, require("zoomlive.errors").new("cancelled", { attempts = 0, outcome_unknown = false,
        message = "the client was closed before the call was sent" }), { attempts = 0, elapsed = 0 }
    elseif not ok then
      -- a call that raises: wrong argument types are kind "argument"; any
      -- other fault (an adapter or a hook that raised) is not the caller's
      -- input: kind "aborted", saying so
      local msg = (tostring(a):gsub("^[^:\n]*:%d+: ", ""))
      local argument = msg:find("^bad argument") or msg:find("^zoomlive: bad argument")
      a, b, c = nil, require("zoomlive.errors").new(argument and "argument" or "aborted", { attempts = 0,
        message = argument and msg or ("internal error: " .. msg) }), { attempts = 0, elapsed = 0 }
    end
    -- on_done never runs before submit has returned: a call that ended at
    -- once (bad arguments, a closed client) reports on the loop's next turn
    if returned then return on_done(a, b, c) end
    adapter.timer(0, function() on_done(a, b, c) end)
  end)
  returned = true
  return h
end

--- Cancels the call (or update_many) coroutine `co` is waiting in.
-- Returns true when there was one; the call then returns nil, err of kind
-- "cancelled" in `co`.
function Loop:cancel_co(co)
  local c = self.running[co]
  if not c then return false end
  if c.cancel_batch then return c:cancel_batch() end
  return c:cancel()
end

--- Closes the driver; unfinished calls end as cancelled.
function Loop:close()
  if self.closed then return end
  self.closed = true     -- calls resumed below cannot start new ones
  local list = {}
  for call in pairs(self.calls) do list[#list + 1] = call end
  for _, call in ipairs(list) do call:cancel("the client was closed") end
  for e in pairs(self.engines) do e:cancel_batch() end
  for fd in pairs(self.watched) do
    self.watched[fd] = nil
    self.adapter.unwatch(fd)
  end
  if self.dtimer then
    self.adapter.cancel(self.dtimer)
    self.dtimer = nil
  end
  local d = self.d
  self.d = nil
  d:close()
  if self.adapter.close then self.adapter.close() end
end

--- Checks the client options `loop` and `concurrency`; returns the loop.
function M.from_options(client, spec, concurrency, opt_error)
  local a, why = M.adapter(spec)
  if not a then opt_error("option 'loop' " .. why) end
  if concurrency == nil then concurrency = M.DEFAULT_CONCURRENCY end
  if tointeger(concurrency) == nil or concurrency < 1 or concurrency > M.MAX_CONCURRENCY then
    opt_error(format("option 'concurrency' must be an integer from 1 to %d", M.MAX_CONCURRENCY))
  end
  return M.new(client, a, tointeger(concurrency))
end

return M
