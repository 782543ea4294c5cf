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
local request = require "zoomlive.request"
local validate = require "zoomlive.validate"

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
local function provider(fn, margin, time)
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
      if cached and expires_at and time() < expires_at - margin then return cached end
      return call(nil)
    end,
    renew = function(stale)
      if cached ~= nil and cached ~= stale then return true end   -- renewed meanwhile
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
-- 401/124. The fetch goes through the calling scheduler's transport; its
-- answer, when it is not a token, goes back to the pipeline to be judged as
-- any attempt's (a 5xx or a reset is retried; a refusal is kind "auth").
-- Calls that need the token while a fetch is under way (coroutines of a
-- batch or an event loop) wait for that fetch and share its outcome.
--
-- With a token store (cfg.token_store, the shared budget's: zoomlive.budget
-- .redis), the token is shared by every process of the fleet: a process
-- that finds no fresh token in the store takes its lock (SET NX PX) and
-- fetches, the others wait for the stored token; after a 401/124 the stale
-- token is replaced once, by whoever takes the lock first. The store holds
-- {access_token, expires_at (Unix s), ttl, api_url}, never the client
-- secret. When the store fails, this process fetches on its own.
M.SHARED_POLL = 0.05      -- seconds between looks at the store while another process fetches
M.SHARED_LOCK_TTL = 10    -- seconds a fetch may hold the store's lock
M.SHARED_WAIT = 3         -- seconds at most this process waits for another's fetch; then it
                          -- fetches on its own (a holder that died, a lock that never clears)

local owner_seq = 0
local function owner_id()
  owner_seq = owner_seq + 1
  return string.format("%s-%d-%d", tostring({}):match("0x(%x+)") or "t",
    math.random(0, 0x7fffffff), owner_seq)
end

local function s2s(account_id, client_id, client_secret, oauth_url, margin, cfg)
  local token, expires, api_url, ttl_seen
  local fetching = false
  local gen, last_err, last_resp = 0, nil, nil   -- the outcome of fetch number `gen`
  local basic = client_id .. ":" .. client_secret
  local treq = request.token(oauth_url, urlencode(account_id))
  local now = cfg.now

  local function fail(msg, t)
    t = t or {}
    t.message = msg
    return errors.new("auth", t)
  end

  local function accept(r)
    local ok, doc = pcall(cjson.decode, r.body)
    if not ok or type(doc) ~= "table" or type(doc.access_token) ~= "string"
        or doc.access_token == "" or not header_safe(doc.access_token) then
      return nil, fail("malformed token response (no access_token)", { status = r.status,
        tracking_id = r.tracking_id })
    end
    -- a number from decoded JSON: finite, from 1 s to 31 days (1e300 or -5
    -- would make a token live for ever or never)
    local ttl = 3599
    if doc.expires_in ~= nil then
      ttl = validate.finite(tonumber(doc.expires_in) or 0 / 0, "expires_in", 1, 31 * 86400)
      if not ttl then
        return nil, fail("malformed token response (expires_in is not a number of seconds from 1 to 2678400)",
          { status = r.status, tracking_id = r.tracking_id })
      end
    end
    ttl_seen = ttl
    token = doc.access_token
    expires = now() + ttl - math.min(margin, ttl / 2)
    api_url = nil
    if type(doc.api_url) == "string" and cfg.check_url then
      local u = cfg.check_url(doc.api_url)
      if u then api_url = u end
    end
    return token
  end

  -- one request to the token endpoint: token | nil, err | nil, nil, response
  local function remote(tr)
    local r = tr.send(request.spec(treq, nil, nil, cfg.timeout(), basic))
    if r.status == 200 and r.kind == nil then return accept(r) end
    return nil, nil, r
  end

  local store = cfg.token_store and cfg.token_store(account_id, client_id)
  local condemned   -- the token a 401/124 refused: never taken from the store again

  local function usable(e)
    if type(e) ~= "table" or e.access_token == condemned or type(e.expires_at) ~= "number"
        or type(e.access_token) ~= "string" or e.access_token == ""
        or not header_safe(e.access_token) then
      return false
    end
    local ttl = tonumber(e.ttl) or 0
    local left = e.expires_at - cfg.time()
    -- a token lives at most 31 days (as a fetched one may): a store entry
    -- claiming more is not believed
    return left > math.min(margin, ttl / 2) and left <= 31 * 86400
  end

  local function adopt(e)
    local ttl = tonumber(e.ttl) or 0
    token = e.access_token
    expires = now() + (e.expires_at - cfg.time()) - math.min(margin, ttl / 2)
    api_url = nil
    if type(e.api_url) == "string" and cfg.check_url then api_url = cfg.check_url(e.api_url) end
    return token
  end

  -- the fleet's token: from the store, or fetched under its lock
  local function shared(tr)
    local waited = 0
    while true do
      local w = tr.wait_fd
      local e, why = store.get(w)
      if why then return remote(tr) end               -- the store failed: on our own
      if usable(e) then return adopt(e) end
      local me = owner_id()
      local got = store.lock(me, M.SHARED_LOCK_TTL, w)
      if got == nil then return remote(tr) end
      if got then
        e = store.get(w)                               -- stored between our look and our lock?
        if usable(e) then
          store.unlock(me, w)
          return adopt(e)
        end
        local ok, t, err, r = pcall(remote, tr)
        if ok and t then
          store.set({ access_token = t, expires_at = cfg.time() + ttl_seen, ttl = ttl_seen,
            api_url = api_url }, ttl_seen, w)
        end
        store.unlock(me, w)
        if not ok then error(t, 0) end
        return t, err, r
      end
      -- another process is fetching; a holder that never stores is waited
      -- out only as long as its lock lives
      if waited > M.SHARED_WAIT then return remote(tr) end
      local stop = tr.sleep(M.SHARED_POLL)
      if stop then return nil, nil, stop end
      waited = waited + M.SHARED_POLL
    end
  end

  local function fetch(tr)
    fetching = true
    gen = gen + 1
    local ok, t, e, r = pcall(store and shared or remote, tr)
    fetching = false
    if not ok then error(t, 0) end           -- the flag is clear: the client lives on
    -- a fetch its own call's scheduler stopped (cancelled) is no outcome
    -- to share: the calls waiting for it fetch again
    last_err, last_resp = e, (r and not r.final) and r or nil
    return t, e, r
  end

  local function copy(e)
    if not e then return nil end
    local c = {}
    for k, v in pairs(e) do c[k] = v end
    return setmetatable(c, getmetatable(e))
  end

  return {
    kind = "s2s",
    request = treq,
    token = function(tr)
      while true do
        if token and now() < expires then return token end
        if not fetching then return fetch(tr) end
        -- another call of this client is fetching: wait, and share its outcome
        local mine = gen
        repeat
          local stop = tr.sleep(0.005)
          if stop then return nil, nil, stop end
        until not fetching or gen ~= mine
        if token and now() < expires then return token end
        if not fetching and gen == mine and (last_err or last_resp) then
          return nil, copy(last_err), last_resp
        end
      end
    end,
    renew = function(stale)
      -- a token other than the stale one (fetched meanwhile, or being
      -- fetched) serves; otherwise the next token() fetches
      if token == stale then token = nil end
      condemned = stale
      return true
    end,
    api_url = function() return api_url end,
  }
end

--- Builds the credential source for a client from its options and env.
-- cfg: { now = monotonic seconds fn, time = Unix seconds fn,
--        timeout = fn -> seconds (of a token fetch), check_url = fn(url) -> url|nil,
--        oauth_url = the token endpoint (the option or $ZOOM_OAUTH_URL, checked by
--        the client with zoomlive.url) | nil for Zoom's }
function M.from(opts, getenv, cfg)
  local margin = opts.refresh_margin or 60
  local oauth_url = cfg.oauth_url or M.DEFAULT_OAUTH_URL
  local t = opts.token
  if t ~= nil then
    if type(t) == "function" then return provider(t, margin, cfg.time) end
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
    return s2s(a, i, s, oauth_url, margin, cfg)
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
    return s2s(a, i, s, oauth_url, margin, cfg)
  end
  return none("no credentials: set ZOOM_ACCESS_TOKEN, or ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID "
    .. "and ZOOM_CLIENT_SECRET (Server-to-Server OAuth) in the environment "
    .. "(from Lua, zoomlive.new also takes token, or account_id, client_id and client_secret)")
end

return M
