--- zoomlive.loop.luv: the adapter for libuv through luv (docs/loop.md).
--
--   local client = zoomlive.new{ loop = "luv", ... }
--   coroutine.wrap(function() print(client:stop(id)) end)()
--   uv.run()
--
-- Sockets are watched with uv.new_socket_poll, timers are uv timers; the
-- waiting coroutine is a plain one, resumed from those callbacks (an error
-- it raises afterwards reaches luv as any callback's error would).
local uv = require "luv"
local loop = require "zoomlive.loop"

local ceil = math.ceil

local M = {}

--- M.new() -> adapter (on luv's default loop)
function M.new()
  local polls = {}   -- fd -> uv_poll_t
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
    if p then
      polls[fd] = nil
      p:stop()
      p:close()
    end
  end
  function a.timer(seconds, fn)
    local t = assert(uv.new_timer())
    local ms = seconds > 0 and ceil(seconds * 1000) or 0
    assert(t:start(ms, 0, function()
      t:close()
      fn()
    end))
    return t
  end
  function a.cancel(t)
    if not t:is_closing() then
      t:stop()
      t:close()
    end
  end
  a.waiter, a.suspend, a.resume, a.spawn = loop.coroutine.waiter, loop.coroutine.suspend,
    loop.coroutine.resume, loop.coroutine.spawn
  return a
end

return M
