--- zoomlive.request: every call of the API as one request value, built in
-- one place from validated arguments. Pure: no clock, no network.
--
-- A request is a table:
--
--   { name     = "update" | "get" | "configure" | ... (the method's name),
--     method   = "PATCH" | "GET" | "POST",
--     path     = "/meetings/68423085/livestream/status"   (below the base URL),
--     kind     = "meeting" | "webinar",  id = "68423085" (digits),
--     action   = "start" | "stop" | "mode" | nil,
--     content_type = "application/json" | nil,  body = "..." | nil,
--     form     = { "action", "start", "settings", "{...}" } | nil  (multipart),
--     decode   = nil | function(body) -> value | nil, message   (getters) }
--
-- `M.spec` turns it into the value the C core sends (see zoomlive.core):
-- the request table of `conn:perform`, with the URL, token and timeout of
-- one attempt. The blocking call, the batch, the event-loop driver and the
-- command's dry run all send (or show) exactly what these functions build.
local cjson = require "cjson"
local validate = require "zoomlive.validate"

local type = type
local vid, vaction, vsettings, vstream = validate.id, validate.action, validate.settings, validate.stream

local M = {}

local FIELD = { meeting = "meeting_id", webinar = "webinar_id" }
local PLURAL = { meeting = "/meetings/", webinar = "/webinars/" }
M.JSON = "application/json"

--- The live-stream status update (PATCH .../livestream/status) from
-- validated values. encoding: "json" (default) or "multipart".
-- (Every request table is made with room for the fields the pipeline sets
-- on it for each attempt, url, token and timeout: growing a table later
-- costs a rehash on every call.)
function M.status_of(kind, sid, action, settings_json, encoding, name)
  local path = PLURAL[kind] .. sid .. "/livestream/status"
  if encoding == "multipart" then
    return { name = name or "update", method = "PATCH", kind = kind, id = sid, action = action,
      path = path, url = nil, token = nil, timeout = nil,
      form = settings_json and { "action", action, "settings", settings_json } or { "action", action } }
  end
  return { name = name or "update", method = "PATCH", kind = kind, id = sid, action = action,
    path = path, url = nil, token = nil, timeout = nil, content_type = M.JSON,
    body = settings_json and ('{"action":"' .. action .. '","settings":' .. settings_json .. "}")
      or ('{"action":"' .. action .. '"}') }
end

--- A cache of built requests, for a caller that runs one request at a time
-- (the blocking client): the same call made again (same method, id, action
-- and settings) reuses its request table instead of building it anew.
-- Bounded: it starts afresh past `max` requests.
function M.cache(max)
  return { n = 0, max = max or 512 }
end

local NONE = {}   -- the key of "no settings"

--- Validates and builds a status update.
-- Returns request | nil, err (kind "argument"); wrong argument types raise,
-- naming `fname` and the caller's argument, as the standard library does.
-- cache: an M.cache() or nil.
function M.status(kind, fname, id, action, settings, encoding, cache)
  local sid, e = vid(id, FIELD[kind], fname, 1)
  if not sid then return nil, e end
  local a
  a, e = vaction(action, kind, fname)
  if not a then return nil, e end
  local sj
  sj, e = vsettings(settings, kind, fname, a)
  if e then return nil, e end
  if not cache then return M.status_of(kind, sid, a, sj, encoding, fname) end
  -- fname decides kind and, with action, the rest; encoding is the client's
  local k = sj or NONE
  local byname = cache[fname]
  local byid = byname and byname[sid]
  local bya = byid and byid[a]
  local r = bya and bya[k]
  if r then return r end
  if not byname then byname = {}; cache[fname] = byname end
  if not byid then byid = {}; byname[sid] = byid end
  if cache.n >= cache.max then
    for key in pairs(cache) do
      if key ~= "n" and key ~= "max" then cache[key] = nil end
    end
    cache.n = 0
    byid = {}
    cache[fname] = { [sid] = byid }
    bya = nil
  end
  if not bya then bya = {}; byid[a] = bya end
  r = M.status_of(kind, sid, a, sj, encoding, fname)
  bya[k] = r
  cache.n = cache.n + 1
  return r
end

-- the configuration a getter returns: the four documented fields, strings only
local function decode_stream(body)
  local ok, doc = pcall(cjson.decode, body)
  if not ok or type(doc) ~= "table" then return nil, "the live-stream configuration is not a JSON object" end
  local cfg = {}
  for _, k in ipairs({ "stream_url", "stream_key", "page_url", "resolution" }) do
    local v = doc[k]
    if type(v) == "string" then cfg[k] = v end
  end
  return cfg
end

--- GET .../livestream: the stream configuration ({stream_url, stream_key,
-- page_url, resolution}, strings).
function M.get(kind, fname, id)
  local sid, e = vid(id, FIELD[kind], fname, 1)
  if not sid then return nil, e end
  return { name = fname, method = "GET", kind = kind, id = sid, url = nil, token = nil, timeout = nil,
    path = PLURAL[kind] .. sid .. "/livestream", decode = decode_stream }
end

-- a join token: {token = string, expire_in = seconds}; the token itself
-- never enters the message of a failure
local function decode_join_token(body)
  local ok, doc = pcall(cjson.decode, body)
  if not ok or type(doc) ~= "table" then return nil, "the join token answer is not a JSON object" end
  local token, expire = doc.token, doc.expire_in
  if type(token) ~= "string" or token == "" then return nil, "the join token answer has no token" end
  if type(expire) ~= "number" or expire ~= expire or expire < 0 then
    return nil, "the join token answer has no expire_in (seconds)"
  end
  return { token = token, expire_in = math.tointeger(expire) or expire }
end

--- GET .../jointoken/live_streaming: a join token that lets a Meeting SDK
-- bot join and start streaming ({token, expire_in = seconds}). The token is
-- a credential: traces show it as *** (M.redact).
function M.join_token(kind, fname, id)
  local sid, e = vid(id, FIELD[kind], fname, 1)
  if not sid then return nil, e end
  return { name = fname, method = "GET", kind = kind, id = sid,
    path = PLURAL[kind] .. sid .. "/jointoken/live_streaming", decode = decode_join_token }
end

--- PATCH .../livestream with a JSON configuration.
function M.configure(kind, fname, id, cfg)
  local sid, e = vid(id, FIELD[kind], fname, 1)
  if not sid then return nil, e end
  local body
  body, e = vstream(cfg, fname)
  if not body then return nil, e end
  return { name = fname, method = "PATCH", kind = kind, id = sid, url = nil, token = nil, timeout = nil,
    path = PLURAL[kind] .. sid .. "/livestream", content_type = M.JSON, body = body }
end

--- The S2S OAuth token request (POST to the token endpoint). The client
-- secret is not in it: the caller passes it as `basic` to M.spec.
function M.token(oauth_url, account_id_encoded)
  return { name = "token", method = "POST", url = oauth_url,
    content_type = "application/x-www-form-urlencoded",
    body = "grant_type=account_credentials&account_id=" .. account_id_encoded }
end

--- The value the C core sends for one attempt of req.
-- base: the API base URL (ignored when req.url is absolute); token: bearer
-- token or nil; timeout: seconds for this attempt; basic: "id:secret" or nil.
function M.spec(req, base, token, timeout, basic)
  return { method = req.method, url = req.url or (base .. req.path), token = token, basic = basic,
    content_type = req.content_type, body = req.body, form = req.form, timeout = timeout }
end

-- Every JSON string value of a "stream_key" member (a stream key) or of a
-- "token" member (a join token) becomes "***"; escapes (\" and \\) inside
-- the value are skipped over, not taken for its end.
local function redact_member(s, member)
  if not s or not s:find(member, 1, true) then return s end
  local out, pos = {}, 1
  local pattern = '"' .. member .. '"%s*:%s*"'
  while true do
    local a, b = s:find(pattern, pos)
    if not a then break end
    local i = b + 1
    while i <= #s do
      local c = s:byte(i)
      if c == 92 then i = i + 2          -- backslash: skip the escaped byte
      elseif c == 34 then break          -- the closing quote
      else i = i + 1 end
    end
    out[#out + 1] = s:sub(pos, b) .. '***"'
    pos = i + 1
  end
  out[#out + 1] = s:sub(pos)
  return table.concat(out)
end
local function redact(s)
  return redact_member(redact_member(s, "stream_key"), "token")
end
M.redact = redact

--- A printable account of req's body for traces and dry runs: the JSON body
-- with stream keys masked, or the form's fields as name=value.
function M.describe(req)
  local f = req.form
  if f then
    local parts = {}
    for i = 1, #f, 2 do parts[#parts + 1] = f[i] .. "=" .. f[i + 1] end
    return table.concat(parts, " ")
  end
  if req.name == "token" then return nil end     -- account id only, but keep it out
  return redact(req.body)
end

--- The content type a trace shows (a form's boundary is chosen per attempt).
function M.content_type(req)
  return req.form and "multipart/form-data" or req.content_type
end

M.FIELD = FIELD
return M
