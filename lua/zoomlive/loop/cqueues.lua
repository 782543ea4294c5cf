--- zoomlive.loop.cqueues: the adapter for cqueues (docs/loop.md).
--
--   local cq = cqueues.new()
--   local client = zoomlive.new{ loop = "cqueues", ... }
--   cq:wrap(function() print(client:stop(id)) end)
--   assert(cq:loop())
--
-- Calls wait on a cqueues condition variable, so they must run in a
-- coroutine the controller runs (cq:wrap). Each watched socket and each
-- timer is a small coroutine of the same controller: the one of the first
-- call, or the one given to M.new(cq).
local cqueues = require "cqueues"
local condition = require "cqueues.condition"

local M = {}

--- M.new([cq]) -> adapter
function M.new(cq)
  local a = { name = "cqueues" }
  local watchers = {}   -- fd -> { pollfd, events, on_ready, wake, live }

  local function controller()
    if not cq then
      cq = cqueues.running()
      if not cq then
        error("zoomlive: the cqueues adapter has no controller yet: make the first call from a "
          .. "coroutine the controller runs, or pass one: require('zoomlive.loop.cqueues').new(cq)", 0)
      end
    end
    return cq
  end

  function a.watch(fd, events, on_ready)
    local w = watchers[fd]
    if w then
      w.events, w.on_ready = events, on_ready
      w.wake:signal()
      return
    end
    w = { pollfd = fd, events = events, on_ready = on_ready, wake = condition.new(), live = true }
    watchers[fd] = w
    controller():wrap(function()
      while w.live do
        local r1, r2 = cqueues.poll(w, w.wake)
        if not w.live then break end
        if r1 == w or r2 == w then w.on_ready(w.events) end
      end
    end)
  end

  function a.unwatch(fd)
    local w = watchers[fd]
    if w then
      watchers[fd] = nil
      w.live = false
      w.wake:signal()
      cqueues.cancel(fd)   -- the descriptor closes soon: cqueues forgets it
    end
  end

  function a.timer(seconds, fn)
    local t = { live = true, wake = condition.new() }
    controller():wrap(function()
      -- cancelled before this coroutine first ran: a signal then was lost,
      -- and polling would sleep the whole time
      if not t.live then return end
      cqueues.poll(t.wake, seconds)
      if t.live then
        t.live = false
        fn()
      end
    end)
    return t
  end

  function a.cancel(t)
    if t.live then
      t.live = false
      t.wake:signal()
    end
  end

  function a.waiter()
    -- the second result is true only in a coroutine the controller runs
    -- itself, not in a plain coroutine nested in one
    local c, own = cqueues.running()
    if not c or not own or not coroutine.isyieldable() then
      return nil, "not in a coroutine a cqueues controller runs"
    end
    if cq and c ~= cq then
      return nil, "in a coroutine of another cqueues controller than this client's (one client, one controller)"
    end
    if not cq then cq = c end
    return { cond = condition.new() }
  end
  function a.suspend(w) w.cond:wait() end
  function a.resume(w) w.cond:signal() end
  -- Calls start in the order they were submitted: a controller runs the
  -- coroutines it was given at one step last first, so each new coroutine
  -- runs the oldest call not yet begun, whichever of them runs first.
  local pending, head, tail = {}, 1, 0
  function a.spawn(fn)
    local ctl = controller()   -- raises (nothing queued) when there is none
    tail = tail + 1
    pending[tail] = fn
    local ok, err = pcall(ctl.wrap, ctl, function()
      local f = pending[head]
      pending[head] = nil
      head = head + 1
      return f()
    end)
    if not ok then
      pending[tail] = nil
      tail = tail - 1
      error(err, 0)
    end
  end
  return a
end

return M
