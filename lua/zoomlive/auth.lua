--- zoomlive.auth: where a client's bearer token comes from.
--
-- Precedence (first match wins):
--   1. opts.token            a string, or a function returning token[, expires_at]
--   2. opts.account_id + opts.client_id + opts.client_secret   (S2S OAuth)
--   3. env ZOOM_ACCESS_TOKEN
--   4. env ZOOM_ACCOUNT_ID + ZOOM_CLIENT_ID + ZOOM_CLIENT_SECRET   (S2S OAuth)
-- With none, every call returns nil, err of kind "auth".
--
-- Secrets (client secret, tokens) live only in closures here: they are in no
-- table a caller can print, and never in an error message.
local cjson = require "cjson"
local errors = require "zoomlive.errors"
local core = require "zoomlive.core"
local validate = require "zoomlive.validate"
local url = require "zoomlive.url"

local M = {}

M.DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"

local function header_safe(s)
  return not s:find("[%z\r\n]")
end

local function check_secret(name, v)
  if type(v) ~= "string" then
    error("zoomlive: option '" .. name .. "' must be a string, got " .. type(v), 4)
  end
  if v == "" then error("zoomlive: option '" .. name .. "' is empty", 4) end
  if not header_safe(v) then
    error("zoomlive: option '" .. name .. "' holds CR, LF or NUL", 4)
  end
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function none(why)
  return {
    kind = "none",
    token = function() return nil, errors.new("auth", { message = why }) end,
    renew = function() return false end,
  }
end

local function static(token)
  return {
    kind = "token",
    token = function() return token end,
    renew = function() return false end,
  }
end

-- opts.token as a function: fn(stale) -> token[, expires_at (Unix seconds)]
local function provider(fn, margin)
  local cached, expires_at
  local function call(stale)
    local ok, tok, exp = pcall(fn, stale)
    if not ok then
      return nil, errors.new("auth", { message = "token provider failed: " .. tostring(tok) })
    end
    if type(tok) ~= "string" or tok == "" or not header_safe(tok) then
      return nil, errors.new("auth", { message = "token provider returned no usable token (a non-empty string without CR, LF or NUL)" })
    end
    if exp ~= nil and type(exp) ~= "number" then
      return nil, errors.new("auth", { message = "token provider's second result (expires_at) must be a number" })
    end
    cached, expires_at = tok, exp
    return tok
  end
  local renewed   -- a token renew() fetched, for the very next request
  return {
    kind = "provider",
    token = function()
      if renewed then
        local t = renewed
        renewed = nil
        return t
      end
      if cached and expires_at and core.time() < expires_at - margin then return cached end
      return call(nil)
    end,
    renew = function(stale)
      local tok = call(stale)
      if tok ~= nil and tok ~= stale then
        renewed = tok
        return true
      end
      return false
    end,
  }
end

-- Server-to-Server OAuth: fetched on first need, cached with its expiry,
-- fetched again when fewer than `margin` seconds remain (at most half the
-- lifetime, so short-lived tokens are still reused), and once more after a
-- 401/124.
local function s2s(account_id, client_id, client_secret, oauth_url, margin, client)
  local token, expires, api_url
  local fetching = false
  local basic = client_id .. ":" .. client_secret
  local body = "grant_type=account_credentials&account_id=" .. urlencode(account_id)

  local function fail(msg, t)
    t = t or {}
    t.message = msg
    return nil, errors.new("auth", t)
  end

  local function fetch()
    if fetching then return fail("token fetch already in progress") end
    fetching = true
    local conn = client:_connection()
    local status, rbody, tid, cmsg =
      conn:perform("POST", oauth_url, nil, "application/x-www-form-urlencoded", body,
        client._timeout, basic)
    fetching = false
    if not status then
      -- on failure: nil, kind, curl code, message
      return fail("token endpoint unreachable (" .. rbody .. "): " .. tostring(cmsg),
        { cause = rbody, curl_code = tid })
    end
    local ok, doc = pcall(cjson.decode, rbody)
    if type(doc) ~= "table" then ok = false end
    if status ~= 200 then
      local code = ok and tonumber(doc.code) or nil
      local msg = ok and (doc.message or doc.reason or doc.error) or nil
      if type(msg) ~= "string" then msg = "token endpoint answered HTTP " .. status end
      return fail(msg, { status = status, code = code and math.tointeger(code) or code,
        tracking_id = tid })
    end
    if not ok or type(doc.access_token) ~= "string" or doc.access_token == ""
        or not header_safe(doc.access_token) then
      return fail("malformed token response (no access_token)", { status = status, tracking_id = tid })
    end
    -- a number from decoded JSON: finite, positive, at most 31 days
    local ttl = 3599
    if doc.expires_in ~= nil then
      ttl = validate.finite(tonumber(doc.expires_in) or 0 / 0, "expires_in", 1, 31 * 86400)
      if not ttl then
        return fail("malformed token response (expires_in is not a number of seconds from 1 to 2678400)",
          { status = status, tracking_id = tid })
      end
    end
    token = doc.access_token
    expires = core.now() + ttl
    local m = math.min(margin, ttl / 2)
    expires = expires - m
    -- a regional API URL passes the same check as a base_url option; one
    -- that fails it is not used (calls go to the default base URL)
    if type(doc.api_url) == "string" then
      api_url = url.check(doc.api_url, { allow_http = client._allow_http })
    end
    return token
  end

  return {
    kind = "s2s",
    token = function()
      if token and core.now() < expires then return token end
      return fetch()
    end,
    renew = function(stale)
      if token ~= stale and token and core.now() < expires then return true end
      token = nil
      return fetch() ~= nil
    end,
    api_url = function() return api_url end,
  }
end

--- Builds the credential source for a client from its options and env.
function M.from(opts, getenv, client)
  local margin = opts.refresh_margin or 60
  -- the option or $ZOOM_OAUTH_URL, as the client checked it (zoomlive.url)
  local oauth_url = client and client._oauth_url or M.DEFAULT_OAUTH_URL
  local t = opts.token
  if t ~= nil then
    if type(t) == "function" then return provider(t, margin) end
    check_secret("token", t)
    return static(t)
  end
  local a, i, s = opts.account_id, opts.client_id, opts.client_secret
  if a ~= nil or i ~= nil or s ~= nil then
    if a == nil or i == nil or s == nil then
      error("zoomlive: S2S OAuth needs account_id, client_id and client_secret together", 3)
    end
    check_secret("account_id", a)
    check_secret("client_id", i)
    check_secret("client_secret", s)
    return s2s(a, i, s, oauth_url, margin, client)
  end
  local et = getenv("ZOOM_ACCESS_TOKEN")
  if et and et ~= "" then
    if not header_safe(et) then error("zoomlive: ZOOM_ACCESS_TOKEN holds CR, LF or NUL", 3) end
    return static(et)
  end
  a, i, s = getenv("ZOOM_ACCOUNT_ID"), getenv("ZOOM_CLIENT_ID"), getenv("ZOOM_CLIENT_SECRET")
  if a and i and s and a ~= "" and i ~= "" and s ~= "" then
    for _, v in ipairs({ a, i, s }) do
      if not header_safe(v) then error("zoomlive: a ZOOM_* credential holds CR, LF or NUL", 3) end
    end
    return s2s(a, i, s, oauth_url, margin, client)
  end
  return none("no credentials: set ZOOM_ACCESS_TOKEN, or ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID "
    .. "and ZOOM_CLIENT_SECRET (Server-to-Server OAuth), or pass token or "
    .. "account_id/client_id/client_secret to zoomlive.new")
end

return M
