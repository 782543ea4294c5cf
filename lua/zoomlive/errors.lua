--- zoomlive.errors: the error tables every call returns.
-- An error is a plain table with a `kind` field and a `__tostring` that
-- prints one short line. Kinds:
--   "http"      Zoom (or a proxy) answered with a non-2xx status
--   "transport" no status came back: refused, DNS, TLS, reset, cut short
--   "timeout"   the time bound ran out
--   "argument"  a value was wrong; nothing was sent
--   "auth"      no usable credentials, or the token endpoint refused them
--   "webhook"   zoomlive.webhook refused a delivery (err.reason says why)
-- Secrets never enter an error: messages are built from statuses, Zoom's
-- codes and texts, libcurl's texts and field names, never from tokens.
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

M.metatable = mt

--- Makes an error table of `kind` from the fields in `t` (which it takes over).
function M.new(kind, t)
  t = t or {}
  t.kind = kind
  return setmetatable(t, mt)
end

function M.argument(field, message)
  return setmetatable({ kind = "argument", field = field, message = message }, mt)
end

--- True when v is an error table made here.
function M.is(v)
  return getmetatable(v) == mt
end

return M
