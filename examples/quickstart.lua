-- examples/quickstart.lua: a script to copy. Start a stream, stop it, and
-- handle every kind of failure.
--   ZOOM_ACCESS_TOKEN=... lua5.4 examples/quickstart.lua 85746065432
local zoomlive = require "zoomlive"

local meeting = assert(arg[1], "usage: quickstart.lua MEETING_ID")

local client <close> = zoomlive.new {
  timeout = 15,              -- seconds per attempt
  -- token = "...",          -- default: ZOOM_ACCESS_TOKEN, or S2S variables
}

local status, err, info = client:start(meeting, { display_name = "Town hall", active_speaker_name = true })
if not err then
  print("started (HTTP " .. status .. ", " .. info.attempts .. " attempt(s))")
elseif err.kind == "http" and err.status == 429 and err.retry_after then
  print("Zoom asks us to wait " .. err.retry_after .. " s before starting again")
elseif err.kind == "http" then
  -- Zoom's own code and message, plus the id Zoom support asks for
  print(string.format("Zoom refused: %s (tracking id %s)", tostring(err), tostring(err.tracking_id)))
  os.exit(1)
else
  -- "transport", "timeout", "argument", "auth": no status came back
  print("no answer: " .. tostring(err))
  os.exit(1)
end

-- zoomlive.assert raises on any failure, HTTP errors included (plain assert
-- would let "404, err" through, as 404 is a true value)
zoomlive.assert(client:stop(meeting))
print("stopped")
