-- lua_layer.lua - the Lua layer's own cost per client:update, without the
-- network: the client's blocking transport sends to a stand-in whose
-- perform answers 204 at once.  For profiling (run.sh uses it under callgrind; run
-- it alone for a quick ns/call figure).
-- usage: lua5.4 bench/lua_layer.lua PART N
--   PART: update     client:update(id, "start", settings), all of it
--         validate   validate.id + validate.action + validate.settings only
--         build      request.status (validation and building) only
--         settings   validate.settings only
--         call       pipeline.run(client, request) only (validation and building done)
--         stub       the stand-in's perform alone (the floor of a call)
local zoomlive = require "zoomlive"
local validate = require "zoomlive.validate"
local request = require "zoomlive.request"
local pipeline = require "zoomlive.pipeline"

local part, n = arg[1] or "update", tonumber(arg[2] or 100000)
local client = zoomlive.new { token = "x", base_url = "http://127.0.0.1:9/v2", retries = 0, encoding = "multipart" }
local stub = {}
function stub.perform(_, spec) return { status = 204, body = "", elapsed = 0, spec = spec } end
client._tr.send = function(spec) return stub:perform(spec) end

local id, settings = 68423085, { active_speaker_name = false, display_name = "Town hall" }
local req = assert(request.status("meeting", "update", id, "start", settings, client.encoding))
local spec = request.spec(req, "http://127.0.0.1:9/v2", "x", 30)
local f
if part == "update" then
  f = function() return client:update(id, "start", settings) end
elseif part == "validate" then
  f = function()
    validate.id(id, "meeting_id", "update", 1)
    validate.action("start", "meeting", "update")
    return validate.settings(settings, "meeting", "update")
  end
elseif part == "build" then
  f = function() return request.status("meeting", "update", id, "start", settings, "multipart") end
elseif part == "settings" then
  f = function() return validate.settings(settings, "meeting", "update") end
elseif part == "call" then
  f = function() return pipeline.run(client, req, client._tr) end
elseif part == "stub" then
  f = function() return stub:perform(spec) end
else
  error("unknown part " .. part)
end
if os.getenv("LL_NOGC") then collectgarbage("stop") end
local t0 = os.clock()
for _ = 1, n do f() end
local dt = os.clock() - t0
if n > 0 then print(string.format("%s: %.0f ns/call (CPU)", part, dt / n * 1e9)) end
