--- zoomlive.validate: everything Zoom's spec says about arguments, checked
-- before a byte is sent. Value errors return nil, err (kind "argument");
-- wrong types for the function itself raise, as the standard library does.
local cjson = require "cjson"
local errors = require "zoomlive.errors"

local M = {}

local tointeger, type, format = math.tointeger, type, string.format
local argument = errors.argument

--- A JSON value as compact text, with "/" left unescaped (lua-cjson writes
-- "\/", which is valid JSON but unreadable in URLs and dry runs).
local function json(v)
  local s = cjson.encode(v)
  if s:find("\\/", 1, true) then s = s:gsub("\\/", "/") end
  return s
end
M.json = json

local mtype, huge = math.type, math.huge
-- 2^53: from here on, not every integer has a float of its own, so an
-- integral float (lua-cjson decodes every JSON number as one) may already
-- be another number than the one written: 12345678901234567 decodes to
-- 12345678901234568.
local EXACT_LIMIT = 2.0 ^ 53
M.EXACT_LIMIT = EXACT_LIMIT

-- An argument error when the float v cannot stand for an integer exactly
-- (NaN, infinities, magnitudes from 2^53 up); nil otherwise.
local function inexact(field, v)
  if v ~= v or v == huge or v == -huge then
    return argument(field, "must be a positive 64-bit integer, got " .. tostring(v))
  end
  if v >= EXACT_LIMIT or v <= -EXACT_LIMIT then
    return argument(field, format("%.17g is a float beyond 2^53 and may not be the number "
      .. "that was written (JSON decoders give floats): pass the id as a string or an integer", v))
  end
end

--- A number that came from decoded JSON (or any caller) as a Lua integer,
-- or nil, err: floats are taken only when integral and below 2^53 in
-- magnitude, and the result must lie in [lo, hi].
function M.integer(v, field, lo, hi)
  if type(v) ~= "number" then
    return nil, argument(field, "must be an integer, got " .. type(v))
  end
  if mtype(v) == "float" then
    local e = inexact(field, v)
    if e then return nil, e end
  end
  local n = tointeger(v)
  if not n then return nil, argument(field, format("must be an integer, got %.17g", v)) end
  if (lo and n < lo) or (hi and n > hi) then
    return nil, argument(field, format("must be from %d to %d, got %d", lo or math.mininteger,
      hi or math.maxinteger, n))
  end
  return n
end

--- A finite number in [lo, hi] (seconds, rates, sizes from JSON or options),
-- or nil, err: NaN and the infinities are refused.
function M.finite(v, field, lo, hi)
  if type(v) ~= "number" then
    return nil, argument(field, "must be a number, got " .. type(v))
  end
  if v ~= v or v == huge or v == -huge then
    return nil, argument(field, "must be a finite number, got " .. tostring(v))
  end
  if (lo and v < lo) or (hi and v > hi) then
    return nil, argument(field, format("must be from %.17g to %.17g, got %.17g", lo or -huge, hi or huge, v))
  end
  return v
end

local id_digits, id_count = {}, 0

--- Normalises a meeting or webinar id to its decimal digits.
-- Accepts Lua integers, integral floats (lua-cjson decodes every number as a
-- float) and digit strings; the result is a positive int64 as a string.
function M.id(v, field, fname, argn)
  -- an id seen before (scripts start and stop the same meetings): its
  -- digits are known; only valid ids are ever stored, under the value given
  local sid = id_digits[v]
  if sid then return sid end
  local t = type(v)
  local n
  if t == "number" then
    if mtype(v) == "float" then
      local e = inexact(field, v)
      if e then return nil, e end
    end
    n = tointeger(v)
    if not n then
      return nil, argument(field, format("must be a positive 64-bit integer, got %.17g", v))
    end
  elseif t == "string" then
    if not v:match("^%d+$") or #v > 19 then
      return nil, argument(field, format("must be a positive 64-bit integer, got %q", v:sub(1, 40)))
    end
    n = tointeger(tonumber(v))
    if not n then
      return nil, argument(field, "must be a positive 64-bit integer, got " .. v)
    end
  else
    error(format("bad argument #%d to '%s' (%s expected, got %s)",
      argn or 1, fname or "?", field, t == "nil" and "no value" or t), 4)
  end
  if n <= 0 then
    return nil, argument(field, "must be a positive 64-bit integer, got " .. format("%d", n))
  end
  -- remembered under the value given (a number, or a string of digits
  -- that may carry leading zeros); bounded: afresh past 4096 entries. A
  -- number from 2^53 up is not: a float key equal to it would find it (Lua
  -- keys 2.0^53 and 2^53 alike), and such floats must be refused
  sid = id_digits[n]
  if not sid then sid = format("%d", n) end
  if t == "string" or n < EXACT_LIMIT then
    if id_count >= 4096 then id_digits, id_count = {}, 0 end
    id_digits[v] = sid
    id_count = id_count + 1
  end
  return sid
end

M.ACTIONS = {
  meeting = { start = true, stop = true, mode = true },
  webinar = { start = true, stop = true },
}
M.LAYOUTS = { follow_host = true, gallery_view = true, speaker_view = true }
M.CAPTIONS = { ["burnt-in"] = true, embedded = true, off = true }
M.RESOLUTIONS = { ["720p"] = true, ["1080p"] = true }

-- settings keys in the order they are encoded, per kind
M.SETTINGS = {
  meeting = { "active_speaker_name", "display_name", "layout", "close_caption" },
  webinar = { "active_speaker_name", "display_name", "close_caption" },
}
local allowed = {}
for kind, keys in pairs(M.SETTINGS) do
  allowed[kind] = {}
  for _, k in ipairs(keys) do allowed[kind][k] = true end
end

local function one_of(set)
  local t = {}
  for k in pairs(set) do t[#t + 1] = k end
  table.sort(t)
  return table.concat(t, ", ")
end

function M.action(action, kind, fname)
  if M.ACTIONS[kind][action] then return action end   -- the keys are the valid strings
  if type(action) ~= "string" then
    error(format("bad argument #2 to '%s' (string expected, got %s)",
      fname or "update", action == nil and "no value" or type(action)), 4)
  end
  if not M.ACTIONS[kind][action] then
    return nil, argument("action", format("must be one of %s, got %q",
      one_of(M.ACTIONS[kind]), action:sub(1, 40)))
  end
  return action
end

local function check_text(field, v, max)
  if type(v) ~= "string" then
    return argument(field, "must be a string, got " .. type(v))
  end
  local n = utf8.len(v)
  if not n then return argument(field, "is not valid UTF-8") end
  if n < 1 or n > max then
    return argument(field, format("must be 1 to %d characters, got %d", max, n))
  end
end

-- A JSON string: plain text is quoted as is; anything with a quote, a
-- backslash or a control byte goes through lua-cjson.
local function jstr(v)
  if v:find('[%c"\\]') then return json(v) end
  return '"' .. v .. '"'
end

local MODE_KEYS = { layout = true, close_caption = true }
-- settings table -> { kind, mode, the four values, key count, JSON }; weak keys
local memo = setmetatable({}, { __mode = "k" })

--- Checks a settings table and returns its compact JSON text, or nil when
-- there are no settings. Keys are encoded in a fixed order, so the same
-- settings always give the same bytes. action "mode" takes only layout and
-- close_caption, and needs one of them.
function M.settings(s, kind, fname, action)
  local mode = action == "mode"
  -- the same table as last time, unchanged: its JSON is known (callers often
  -- reuse one settings table for many meetings); only tables are remembered
  local m = memo[s]
  if m then
    if m[1] == kind and m[2] == mode and m[3] == s.active_speaker_name and m[4] == s.display_name
        and m[5] == s.layout and m[6] == s.close_caption then
      local n = 0
      for _ in next, s do n = n + 1 end
      if n == m[7] then return m[8] end
    end
  end
  if s ~= nil and type(s) ~= "table" then
    error(format("bad argument #3 to '%s' (table expected, got %s)", fname or "update", type(s)), 4)
  end
  if s == nil then
    if mode then return nil, argument("settings", "action mode needs settings with layout or close_caption") end
    return nil
  end
  local asn, dn, layout, cc = s.active_speaker_name, s.display_name, s.layout, s.close_caption
  local ok = allowed[kind]
  local nkeys = 0
  for k in pairs(s) do
    nkeys = nkeys + 1
    if type(k) ~= "string" or not ok[k] then
      return nil, argument("settings." .. tostring(k),
        "unknown setting; known: " .. table.concat(M.SETTINGS[kind], ", "))
    end
    if mode and not MODE_KEYS[k] then
      return nil, argument("settings." .. k, "cannot change with action mode (only layout and close_caption)")
    end
  end
  if mode and layout == nil and cc == nil then
    return nil, argument("settings", "action mode needs settings with layout or close_caption")
  end
  local j, sep = "{", ""
  if asn ~= nil then
    if type(asn) ~= "boolean" then
      return nil, argument("settings.active_speaker_name", "must be a boolean, got " .. type(asn))
    end
    j, sep = j .. (asn and '"active_speaker_name":true' or '"active_speaker_name":false'), ","
  end
  if dn ~= nil then
    local e = check_text("settings.display_name", dn, 50)
    if e then return nil, e end
    j, sep = j .. sep .. '"display_name":' .. jstr(dn), ","
  end
  if layout ~= nil then
    if not (type(layout) == "string" and M.LAYOUTS[layout]) then
      return nil, argument("settings.layout", "must be one of " .. one_of(M.LAYOUTS))
    end
    j, sep = j .. sep .. '"layout":"' .. layout .. '"', ","
  end
  if cc ~= nil then
    if not (type(cc) == "string" and M.CAPTIONS[cc]) then
      return nil, argument("settings.close_caption", "must be one of " .. one_of(M.CAPTIONS))
    end
    j = j .. sep .. '"close_caption":"' .. cc .. '"'
  end
  j = j .. "}"
  memo[s] = { kind, mode, asn, dn, layout, cc, nkeys, j }
  return j
end

--- Checks a live-stream configuration; returns its JSON body.
function M.stream(c, fname)
  if type(c) ~= "table" then
    error(format("bad argument #2 to '%s' (table expected, got %s)", fname or "configure", type(c)), 4)
  end
  local known = { stream_url = 1, stream_key = 2, page_url = 3, resolution = 4 }
  for k in pairs(c) do
    if not known[k] then
      return nil, argument(tostring(k), "unknown field; known: stream_url, stream_key, page_url, resolution")
    end
  end
  local function text(field, max)
    local v = c[field]
    if v == nil then return argument(field, "is required") end
    if type(v) ~= "string" then return argument(field, "must be a string, got " .. type(v)) end
    if #v < 1 or #v > max then return argument(field, format("must be 1 to %d characters, got %d", max, #v)) end
    if v:find("[%z\r\n]") then return argument(field, "must not hold CR, LF or NUL") end
  end
  -- never echo the stream key's value in a message: it is a secret
  local e = text("stream_url", 1024) or text("stream_key", 512) or text("page_url", 1024)
  if e then return nil, e end
  if not c.page_url:match("^[%a][%w+.-]*://[^%s/?#]+[^%s]*$") then
    return nil, argument("page_url", "must be an absolute URI such as https://example.com/live")
  end
  if not c.stream_url:match("^[%a][%w+.-]*://[^%s]+$") then
    return nil, argument("stream_url", "must be a URL such as rtmp://live.example.com/app")
  end
  if c.resolution ~= nil and not M.RESOLUTIONS[c.resolution] then
    return nil, argument("resolution", "must be 720p or 1080p")
  end
  local body = format('{"stream_url":%s,"stream_key":%s,"page_url":%s',
    json(c.stream_url), json(c.stream_key), json(c.page_url))
  if c.resolution then body = body .. ',"resolution":' .. json(c.resolution) end
  return body .. "}"
end

return M
