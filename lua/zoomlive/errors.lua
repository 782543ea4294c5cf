--- The error tables every call returns.
-- An error is a plain table with a `kind` field and a `__tostring` that
-- gives one short line, e.g.
-- `zoomlive: HTTP 404 (Zoom 3001) Meeting does not exist: 85746065432.`
--
-- Kinds and their fields:
--
--  * `"http"`: Zoom (or a proxy) answered with a non-2xx status: `status`,
--    and from Zoom's JSON body `code`, `message`, `errors`; `tracking_id`
--    (the `x-zm-trackingid` header), `body` (raw, capped), `rate_limit`,
--    `retry_after` (seconds), `attempts`;
--  * `"transport"`: no status came back (refused, DNS, TLS, reset, cut
--    short): `curl_code`, `message` (libcurl's text);
--  * `"timeout"`: the time bound ran out;
--  * `"argument"`: a value was wrong and nothing was sent: `field`, `message`;
--  * `"auth"`: no usable credentials, or the token endpoint refused them
--    (Zoom's `code` 4700-4706);
--  * `"protocol"`: a 2xx answer whose body cannot be used;
--  * `"aborted"`, `"cancelled"`: a batch or a scheduler ended the call early;
--  * `"webhook"`: `zoomlive.webhook` refused a delivery (`reason` says why).
--
-- Any kind may carry `outcome_unknown = true`: an attempt's request left but
-- its answer was lost, so Zoom may have applied it.
--
-- Secrets never enter an error: messages are built from statuses, Zoom's
-- codes and texts, libcurl's texts and field names, never from tokens.
-- @module zoomlive.errors
-- @usage
-- local status, err = client:stop(68423085)
-- if err and err.kind == "http" and err.code == 3001 then print("no such meeting") end
local M = {}

local mt = { __name = "zoomlive.error" }

local function fmt_seconds(s)
  if s == math.floor(s) then return string.format("%d s", s) end
  return string.format("%.1f s", s)
end

mt.__tostring = function(e)
  local k = e.kind
  local s
  if k == "http" then
    s = "zoomlive: HTTP " .. tostring(e.status)
    if e.code then s = s .. " (Zoom " .. tostring(e.code) .. ")" end
    s = s .. " " .. tostring(e.message)
  elseif k == "argument" then
    s = "zoomlive: bad argument '" .. tostring(e.field) .. "': " .. tostring(e.message)
  elseif k == "transport" or k == "timeout" then
    s = "zoomlive: " .. k
    if e.curl_code then s = s .. " (curl " .. tostring(e.curl_code) .. ")" end
    s = s .. ": " .. tostring(e.message)
  else
    s = "zoomlive: " .. tostring(k)
    if e.code then s = s .. " (Zoom " .. tostring(e.code) .. ")" end
    s = s .. ": " .. tostring(e.message)
  end
  if e.retry_after then s = s .. " (retry after " .. fmt_seconds(e.retry_after) .. ")" end
  return s
end

--- The metatable of every error table (`__name` `"zoomlive.error"`, `__tostring`).
M.metatable = mt

--- Makes an error table of `kind` from the fields in `t`.
-- @tparam string kind `"http"`, `"transport"`, `"timeout"`, `"argument"`, `"auth"`, `"protocol"`, ...
-- @tparam[opt] table t the fields (`message`, `status`, `code`, ...); taken over, not copied
-- @treturn table t (or a new table), with `kind` set and the errors' metatable
-- @usage local e = errors.new("auth", { message = "set ZOOM_ACCESS_TOKEN" })
function M.new(kind, t)
  t = t or {}
  t.kind = kind
  return setmetatable(t, mt)
end

--- Makes an error of kind `"argument"`: a value was wrong, nothing was sent.
-- @tparam string field the name of the wrong value (`"meeting_id"`, `"settings.layout"`, ...)
-- @tparam string message what is wrong with it
-- @treturn table the error
-- @usage return nil, errors.argument("meeting_id", "must be a positive integer")
function M.argument(field, message)
  return setmetatable({ kind = "argument", field = field, message = message }, mt)
end

--- Tells an error table made by this module from any other value.
-- @param v any value
-- @treturn boolean true when v is a zoomlive error table
-- @usage if errors.is(err) then print(err.kind) end
function M.is(v)
  return getmetatable(v) == mt
end

return M
