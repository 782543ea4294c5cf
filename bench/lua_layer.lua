-- lua_layer.lua - the Lua layer's own cost per client:update, without the
-- network: the client's connection is replaced by a stub whose perform_form
-- answers 204 at once.  For profiling (run.sh uses it under callgrind; run
-- it alone for a quick ns/call figure).
-- usage: lua5.4 bench/lua_layer.lua PART N
--   PART: update     client:update(id, "start", settings), all of it
--         validate   validate.id + validate.action + validate.settings only
--         settings   validate.settings only
--         call       client:_call("PATCH", path, nil, nil, "start", json) only
--         stub       the stub's perform_form alone (the floor of a call)
local zoomlive = require "zoomlive"
local validate = require "zoomlive.validate"

local part, n = arg[1] or "update", tonumber(arg[2] or 100000)
local client = zoomlive.new { token = "x", base_url = "http://127.0.0.1:9/v2", retries = 0 }
client._conn:close()
local stub = {}
function stub.perform_form() return 204, "", nil, nil, nil, nil, nil, nil, nil, false, 0, nil end
function stub.close() end
client._conn = stub

local id, settings = 68423085, { active_speaker_name = false, display_name = "Town hall" }
local sj = validate.settings(settings, "meeting", "update")
local path = "/meetings/68423085/livestream/status"
local f
if part == "update" then
  f = function() return client:update(id, "start", settings) end
elseif part == "validate" then
  f = function()
    validate.id(id, "meeting_id", "update", 1)
    validate.action("start", "meeting", "update")
    return validate.settings(settings, "meeting", "update")
  end
elseif part == "settings" then
  f = function() return validate.settings(settings, "meeting", "update") end
elseif part == "call" then
  f = function() return client:_call("PATCH", path, nil, nil, "start", sj) end
elseif part == "stub" then
  f = function() return stub:perform_form("PATCH", path, "x", 30, "action", "start", "settings", sj) end
else
  error("unknown part " .. part)
end
local t0 = os.clock()
for _ = 1, n do f() end
local dt = os.clock() - t0
if n > 0 then print(string.format("%s: %.0f ns/call (CPU)", part, dt / n * 1e9)) end
