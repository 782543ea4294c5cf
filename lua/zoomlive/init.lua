--- zoomlive: control Zoom live streams from Lua.
--
--   local zoomlive = require "zoomlive"
--   local status, err, info = zoomlive.update(68423085, "start",
--     { active_speaker_name = false, display_name = "Town hall" })
--
-- Return contract (every call):
--   2xx                 status, nil, info        (getters: value, nil, info)
--   other HTTP status   status, err, info        err.kind == "http"
--   no status           nil, err, info           err.kind == "transport" | "timeout"
--                                                | "argument" | "auth" | "protocol"
-- Wrong argument *types* raise, as the standard library does.
local core = require "zoomlive.core"
local cjson = require "cjson"
local client = require "zoomlive.client"
local validate = require "zoomlive.validate"
local errors = require "zoomlive.errors"

local M = {
  _VERSION = "zoomlive " .. core.version,
  version = core.version,
  curl_version = core.curl_version,
  errors = errors,
}

local Client = client.Client
local vid, vaction, vsettings = validate.id, validate.action, validate.settings
local format = string.format

--- zoomlive.new{...}: a client with its own connection, credentials and policy.
function M.new(opts)
  return client.new(opts)
end

local function argfail(e)
  return nil, e, { attempts = 0, elapsed = 0 }
end

local ID_FIELD = { meeting = "meeting_id", webinar = "webinar_id" }

-- kind: "meeting" | "webinar"; the path segment is kind .. "s"
local function status_call(self, kind, fname, id, action, settings)
  local sid, e = vid(id, ID_FIELD[kind], fname, 1)
  if not sid then return argfail(e) end
  local a
  a, e = vaction(action, kind, fname)
  if not a then return argfail(e) end
  local sj
  sj, e = vsettings(settings, kind, fname, a)
  if e then return argfail(e) end
  local status, err, info = self:_call("PATCH", "/" .. kind .. "s/" .. sid .. "/livestream/status",
    nil, nil, a, sj)
  if status and status >= 200 and status < 300 then return status, nil, info end
  return status, err, info
end

local function get_call(self, kind, fname, id)
  local sid, e = vid(id, ID_FIELD[kind], fname, 1)
  if not sid then return argfail(e) end
  local status, body, info = self:_call("GET", "/" .. kind .. "s/" .. sid .. "/livestream")
  if not (status and status >= 200 and status < 300) then return nil, body, info end
  local ok, doc = pcall(cjson.decode, body)
  if not ok or type(doc) ~= "table" then
    return nil, errors.new("protocol", { status = status, tracking_id = info.tracking_id,
      attempts = info.attempts, message = "the live-stream configuration is not a JSON object" }), info
  end
  local cfg = {}
  for _, k in ipairs({ "stream_url", "stream_key", "page_url", "resolution" }) do
    local v = doc[k]
    if type(v) == "string" then cfg[k] = v end
  end
  return cfg, nil, info
end

local function configure_call(self, kind, fname, id, cfg)
  local sid, e = vid(id, ID_FIELD[kind], fname, 1)
  if not sid then return argfail(e) end
  local body
  body, e = validate.stream(cfg, fname)
  if not body then return argfail(e) end
  local status, err, info = self:_call("PATCH", "/" .. kind .. "s/" .. sid .. "/livestream",
    "application/json", body)
  if status and status >= 200 and status < 300 then return status, nil, info end
  return status, err, info
end

--- client:update(meeting_id, action, settings): the seed's call.
function Client:update(id, action, settings)
  return status_call(self, "meeting", "update", id, action, settings)
end
function Client:start(id, settings) return status_call(self, "meeting", "start", id, "start", settings) end
function Client:stop(id) return status_call(self, "meeting", "stop", id, "stop") end
function Client:mode(id, settings) return status_call(self, "meeting", "mode", id, "mode", settings) end
function Client:get(id) return get_call(self, "meeting", "get", id) end
function Client:configure(id, cfg) return configure_call(self, "meeting", "configure", id, cfg) end

function Client:webinar_update(id, action, settings)
  return status_call(self, "webinar", "webinar_update", id, action, settings)
end
function Client:webinar_start(id, settings)
  return status_call(self, "webinar", "webinar_start", id, "start", settings)
end
function Client:webinar_stop(id) return status_call(self, "webinar", "webinar_stop", id, "stop") end
function Client:webinar_get(id) return get_call(self, "webinar", "webinar_get", id) end
function Client:webinar_configure(id, cfg)
  return configure_call(self, "webinar", "webinar_configure", id, cfg)
end

-- The default client, made from the environment on first use.
local default
function M.default()
  if not default or not default._conn then default = client.new({}) end
  return default
end

--- Replaces the default client (e.g. with one made by zoomlive.new).
function M.set_default(c)
  if c ~= nil and getmetatable(c) ~= Client then
    error(format("bad argument #1 to 'set_default' (zoomlive.client expected, got %s)", type(c)), 2)
  end
  default = c
end

for _, name in ipairs({ "update", "start", "stop", "mode", "get", "configure",
    "webinar_update", "webinar_start", "webinar_stop", "webinar_get", "webinar_configure" }) do
  local method = Client[name]
  M[name] = function(...) return method(M.default(), ...) end
end

--- zoomlive.assert(client:stop(id)): raises the error (its one-line text)
-- when a call failed, HTTP errors included; otherwise returns its results.
-- (Plain assert() misses HTTP errors: they come back as status, err.)
function M.assert(status, err, ...)
  if err ~= nil then error(err, 2) end
  return status, err, ...
end

--- Normalises a meeting/webinar id: digits, or nil, err (kind "argument").
function M.normalize_id(v)
  return vid(v, "id", "normalize_id", 1)
end

require("zoomlive.batch").install(Client, M)
return M
