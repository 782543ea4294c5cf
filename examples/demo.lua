-- examples/demo.lua: the main job, end to end. `make demo` runs it against
-- zoomlive-sim; pointed at Zoom (ZOOM_API_BASE unset, real credentials in
-- the environment) it does the same to a real meeting.
local zoomlive = require "zoomlive"

local meeting = tonumber(arg and arg[1]) or 68423085   -- a meeting the simulator knows

local function step(title, ...)
  local result, err, info = ...
  local took = info and string.format(" [%d attempt%s, %.1f ms]", info.attempts,
    info.attempts == 1 and "" or "s", (info.elapsed or 0) * 1000) or ""
  if err then
    print(string.format("%-44s -> %s%s", title, tostring(err), took))
    if err.tracking_id then print(string.format("%-44s    tracking id %s", "", err.tracking_id)) end
  else
    print(string.format("%-44s -> %s%s", title, type(result) == "table" and "ok" or tostring(result), took))
  end
  return result, err
end

print("zoomlive " .. zoomlive.version .. " (libcurl " .. zoomlive.curl_version .. ")")
print("client: " .. tostring(zoomlive.default()))
print()

local cfg = step("get the stream configuration", zoomlive.get(meeting))
if cfg then
  print(string.format("%-44s    url %s, page %s, key %s", "", cfg.stream_url, cfg.page_url,
    cfg.stream_key and "(set, not shown)" or "(none)"))
end
step("start the live stream", zoomlive.update(meeting, "start",
  { active_speaker_name = false, display_name = "Town hall" }))
step("change settings while live (Zoom refuses)", zoomlive.update(meeting, "stop",
  { display_name = "Renamed while live" }))
step("switch the layout of the running stream", zoomlive.mode(meeting, { layout = "gallery_view" }))
step("stop the live stream", zoomlive.update(meeting, "stop"))
step("start a meeting that does not exist", zoomlive.update(99999999999, "start"))
step("a case-wrong action (nothing is sent)", zoomlive.update(meeting, "Start"))
step("a 51-character display name (nothing sent)", zoomlive.update(meeting, "start",
  { display_name = string.rep("x", 51) }))
