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
local vid = validate.id
local format = string.format

--- zoomlive.new{...}: a client with its own connection, credentials and policy.
function M.new(opts)
  return client.new(opts)
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

for _, name in ipairs(client.CALLS) do
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
