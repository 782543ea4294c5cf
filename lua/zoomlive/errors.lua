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

--- The longest message an error keeps (characters); tostring(err) stays
-- within M.LINE_MAX.
M.MESSAGE_MAX = 200
M.LINE_MAX = 400

--- Text from a reply, made fit to show: every control character (C0, DEL,
-- C1) becomes a space, runs of blanks one space, bytes that are not UTF-8
-- a "?", and the result is cut to `max` characters with "..." at a
-- character boundary.
-- @param s the text (a non-string goes through `tostring`)
-- @tparam[opt] integer max characters kept (default `MESSAGE_MAX`, 200)
-- @treturn string the text, fit to show on one line
-- @usage print(errors.text(body, 80))
function M.text(s, max)
  max = max or M.MESSAGE_MAX
  if type(s) ~= "string" then s = tostring(s) end
  if #s > 4 * max + 16 then s = s:sub(1, 4 * max + 16) end   -- bounded work
  local out, n, i, len = {}, 0, 1, #s
  while i <= len and n <= max do
    local c = s:byte(i)
    local w = c < 0x80 and 1 or c >= 0xC2 and c <= 0xDF and 2 or c >= 0xE0 and c <= 0xEF and 3
      or c >= 0xF0 and c <= 0xF4 and 4 or 0
    local ch = w > 0 and s:sub(i, i + w - 1) or nil
    if ch and w > 1 and (#ch < w or not utf8.len(ch)) then ch = nil end
    if not ch then
      out[#out + 1], i = "?", i + 1
    else
      local cp = w == 1 and c or utf8.codepoint(ch)
      if cp < 32 or cp == 127 or (cp >= 0x80 and cp < 0xA0) then ch = " " end
      out[#out + 1], i = ch, i + w
    end
    n = n + 1
  end
  local t = table.concat(out):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if n > max or i <= len then
    local cut = {}
    local k = 0
    for _, cp in utf8.codes(t) do
      k = k + 1
      if k > max - 3 then break end
      cut[#cut + 1] = utf8.char(cp)
    end
    t = table.concat(cut) .. "..."
  end
  return t
end
local text = M.text

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
    -- a field when one is named; else the message says it (a raised
    -- "bad argument #1 to 'stop' ..." caught for a call made with submit)
    s = e.field and ("zoomlive: bad argument '" .. tostring(e.field) .. "': " .. tostring(e.message))
      or ("zoomlive: " .. tostring(e.message))
  elseif k == "transport" or k == "timeout" then
    s = "zoomlive: " .. k
    if e.curl_code then s = s .. " (curl " .. tostring(e.curl_code) .. ")" end
    s = s .. ": " .. tostring(e.message)
  else
    s = "zoomlive: " .. tostring(k)
    if e.code then s = s .. " (Zoom " .. tostring(e.code) .. ")" end
    s = s .. ": " .. tostring(e.message)
  end
  local ra = e.retry_after
  if type(ra) == "number" and ra == ra and ra < math.huge and ra > -math.huge then
    s = s .. " (retry after " .. fmt_seconds(e.retry_after) .. ")"
  end
  -- one short line, whatever the fields hold
  return text(s, M.LINE_MAX)
end

--- The metatable of every error table (`__name` `"zoomlive.error"`, `__tostring`).
M.metatable = mt

--- Makes an error table of `kind` from the fields in `t`. A message (which
-- may hold text from a reply) is kept bounded and free of control characters.
-- @tparam string kind `"http"`, `"transport"`, `"timeout"`, `"argument"`, `"auth"`, `"protocol"`, ...
-- @tparam[opt] table t the fields (`message`, `status`, `code`, ...); taken over, not copied
-- @treturn table t (or a new table), with `kind` set and the errors' metatable
-- @usage local e = errors.new("auth", { message = "set ZOOM_ACCESS_TOKEN" })
function M.new(kind, t)
  t = t or {}
  t.kind = kind
  if t.message ~= nil then t.message = text(t.message) end
  return setmetatable(t, mt)
end

--- Makes an error of kind `"argument"`: a value was wrong, nothing was sent.
-- @tparam string field the name of the wrong value (`"meeting_id"`, `"settings.layout"`, ...)
-- @tparam string message what is wrong with it
-- @treturn table the error
-- @usage return nil, errors.argument("meeting_id", "must be a positive integer")
function M.argument(field, message)
  return setmetatable({ kind = "argument", field = field, message = text(message) }, mt)
end

--- Zoom's `errors` array from a reply, kept to its first 20 entries of
-- `{field =, message =}` strings, each made fit to show by `text`.
-- @tparam table list the decoded `errors` array
-- @treturn table the list, bounded and clean
-- @usage err.errors = errors.details(doc.errors)
function M.details(list)
  local out = {}
  for i = 1, 20 do
    local d = list[i]
    if type(d) ~= "table" then break end
    out[i] = { field = type(d.field) == "string" and text(d.field, 100) or nil,
      message = type(d.message) == "string" and text(d.message) or nil }
  end
  return out
end

--- Tells an error table made by this module from any other value.
-- @param v any value
-- @treturn boolean true when v is a zoomlive error table
-- @usage if errors.is(err) then print(err.kind) end
function M.is(v)
  return getmetatable(v) == mt
end

return M
