-- examples/loop_luv.lua: zoomlive inside a libuv (luv) program. The host's
-- own timer keeps ticking while the calls wait; one call is cancelled.
--   ZOOM_ACCESS_TOKEN=... lua5.4 examples/loop_luv.lua 85746065432 93398114182
local zoomlive = require "zoomlive"
local uv = require "luv"

local meetings = { ... }
assert(#meetings > 0, "usage: loop_luv.lua MEETING_ID...")

local client <close> = zoomlive.new { loop = "luv", concurrency = 8 }

-- the host's own work: a timer every 10 ms
local ticks = 0
local ticker = uv.new_timer()
ticker:start(10, 10, function() ticks = ticks + 1 end)

-- calls from a coroutine: each yields while it waits
local pending = #meetings
for _, id in ipairs(meetings) do
  coroutine.wrap(function()
    local status, err = client:get(id)
    if err then
      print(id .. ": " .. tostring(err))
    else
      print(id .. ": " .. (status.stream_url or "no stream URL set"))
    end
    pending = pending - 1
    if pending == 0 then
      ticker:stop()
      ticker:close()
    end
  end)()
end

-- a call from plain code, with a handle; cancelled before it is sent
local h = client:submit("stop", meetings[1], function(_, err)
  print("submitted stop: " .. (err and err.kind or "done")
    .. (err and err.outcome_unknown and " (may have reached Zoom)" or ""))
end)
h:cancel()

uv.run()
print("host timer ticks while the calls ran: " .. ticks)
