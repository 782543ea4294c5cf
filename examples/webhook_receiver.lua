-- examples/webhook_receiver.lua: receive Zoom's live-stream events.
-- Answers Zoom's URL validation, refuses anything not signed with your app's
-- Secret Token, and logs each verified live-stream event once.
--
--   ZOOM_WEBHOOK_SECRET=... lua5.4 examples/webhook_receiver.lua [PORT [HOST [COUNT [SECONDS]]]]
--
-- PORT defaults to 8080 (0: any free port), HOST to 0.0.0.0 (every address);
-- it stops after COUNT events or SECONDS seconds when they are given.
-- Put it behind your HTTPS reverse proxy and give Zoom that URL as the
-- app's event notification endpoint.
local webhook = require "zoomlive.webhook"
local core = require "zoomlive.core"

local secret = os.getenv("ZOOM_WEBHOOK_SECRET")
if not secret or secret == "" then
  io.stderr:write("set ZOOM_WEBHOOK_SECRET to the app's Secret Token\n")
  os.exit(2)
end
local port = tonumber(arg[1] or 8080)
local host = arg[2] or "0.0.0.0"
local count = tonumber(arg[3] or math.huge)
local seconds = tonumber(arg[4] or math.huge)

local LIVE = {
  ["meeting.live_streaming_started"] = "started", ["meeting.live_streaming_stopped"] = "stopped",
  ["webinar.live_streaming_started"] = "started", ["webinar.live_streaming_stopped"] = "stopped",
}
local seen = 0

local listener, err = webhook.listener {
  secret = secret, host = host, port = port,
  -- every request, refusals included (never a secret or a stream key)
  log = function(line) io.stderr:write(line, "\n") end,
  on_event = function(ev)
    if LIVE[ev.name] then
      local s = ev.stream or {}
      -- tostring(ev) and ev.stream show the stream key as ***; ev:stream_key() has it
      print(string.format("%s %s %s at %s (event_ts %.0f) stream_url=%s",
        ev.kind, ev.id, LIVE[ev.name], s.date_time or "?", ev.event_ts or 0, s.stream_url or "?"))
    else
      print("other event: " .. tostring(ev))
    end
    io.stdout:flush()
    seen = seen + 1
  end,
}
if not listener then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print("listening on " .. listener:url())
io.stdout:flush()

local deadline = core.now() + seconds
while seen < count and core.now() < deadline do
  listener:step(math.min(1, math.max(0, deadline - core.now())))
  listener:drain()   -- events were logged by on_event; nothing waits for them here
end
listener:close()
