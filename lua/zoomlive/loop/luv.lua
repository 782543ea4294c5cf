--- zoomlive.loop.luv: the adapter for libuv through luv (docs/loop.md).
--
--   local client = zoomlive.new{ loop = "luv", ... }
--   coroutine.wrap(function() print(client:stop(id)) end)()
--   uv.run()
--
-- Sockets are watched with uv.new_socket_poll, timers are uv timers; the
-- waiting coroutine is a plain one, resumed from those callbacks (an error
-- it raises afterwards reaches luv as any callback's error would).
--
-- A request on a kept-alive connection watches its socket and lets go of
-- it again, and re-arms a timer or two: poll handles are kept (stopped) per
-- descriptor and timer handles are pooled, so that costs no allocation. A
-- stopped poll handle holds no resource of its descriptor: libuv removes a
-- closed descriptor from its poll set, and starts the handle again on
-- whatever socket then has that number.
local uv = require "luv"
local loop = require "zoomlive.loop"

local ceil = math.ceil

local M = {}

local POOL_MAX = 64   -- idle timer handles kept for reuse

--- M.new() -> adapter (on luv's default loop)
function M.new()
  local polls = {}   -- fd -> uv_poll_t (active or stopped)
  local pool, npool = {}, 0
  local a = { name = "luv" }
  function a.watch(fd, events, on_ready)
    local p = polls[fd]
    if not p then
      p = assert(uv.new_socket_poll(fd))
      polls[fd] = p
    end
    assert(p:start(events, function(err, ev)
      on_ready(err and "e" or ev)
    end))
  end
  function a.unwatch(fd)
    local p = polls[fd]
    if p then p:stop() end
  end
  -- a timer is a token { h = handle }: once fired or cancelled, its
  -- handle goes back to the pool and the token forgets it
  local function release(h)
    if npool < POOL_MAX then
      npool = npool + 1
      pool[npool] = h
    else
      h:close()
    end
  end
  function a.timer(seconds, fn)
    local h
    if npool > 0 then
      h = pool[npool]
      pool[npool] = nil
      npool = npool - 1
    else
      h = assert(uv.new_timer())
    end
    local tok = { h = h }
    local ms = seconds > 0 and ceil(seconds * 1000) or 0
    assert(h:start(ms, 0, function()
      tok.h = nil
      release(h)
      fn()
    end))
    return tok
  end
  function a.cancel(tok)
    local h = tok.h
    if h then
      tok.h = nil
      h:stop()
      release(h)
    end
  end
  -- the client was closed: its handles go
  function a.close()
    for fd, p in pairs(polls) do
      polls[fd] = nil
      p:stop()
      p:close()
    end
    for i = 1, npool do
      pool[i]:close()
      pool[i] = nil
    end
    npool = 0
  end
  a.waiter, a.suspend, a.resume, a.spawn = loop.coroutine.waiter, loop.coroutine.suspend,
    loop.coroutine.resume, loop.coroutine.spawn
  return a
end

return M
