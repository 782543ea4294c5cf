--- zoomlive.budget.token: one Server-to-Server OAuth token for a fleet.
--
--   local shared = require("zoomlive.budget.token").shared{
--     store = budget:token_store(account_id, client_id),
--     fetch = function() return access_token, expires_in, api_url end,  -- or nil, err
--     time = core.time, sleep = fn, margin = 60 }
--   shared.token([sleep]) -> token | nil, err
--   shared.renew(stale[, sleep]) -> true | false, err
--   shared.api_url() -> the api_url of the token in use, or nil
--
-- The token lives in the store as {access_token, expires_at (Unix s), ttl,
-- api_url} and expires there with it; the client secret never does. A
-- process that finds no fresh token takes a lock (SET NX PX) and fetches;
-- the others wait, polling the store, and use what it stored: one fetch for
-- the fleet, also at expiry. After a 401/124, renew(stale) replaces the
-- stale token once: whoever finds a token other than the stale one in the
-- store uses it instead of fetching.
--
-- When the store fails, each process fetches and caches its own token, as
-- a lone client does; nothing raises.
--
-- store: { get() -> entry | nil[, why], set(entry, ttl) -> true | nil, why,
--          lock(owner, ttl) -> owner | false | nil, why, unlock(owner) }
local M = {}

M.LOCK_TTL = 10      -- seconds a fetch may hold the lock
M.POLL = 0.05        -- seconds between looks at the store while another fetches

local counter = 0
local function owner_id()
  counter = counter + 1
  return string.format("%s-%d-%d-%d", tostring({}):match("0x(%x+)") or "t", os.time(),
    math.random(0, 0x7fffffff), counter)
end

function M.shared(o)
  local store, fetch = o.store, o.fetch
  local time = o.time or require("zoomlive.core").time
  local margin = o.margin or 60
  local lock_ttl = o.lock_ttl or M.LOCK_TTL
  local poll = o.poll or M.POLL
  local default_sleep = o.sleep or require("zoomlive.core").sleep
  local cached   -- the entry in use

  local function fresh(e)
    if not e then return false end
    local m = math.min(margin, (e.ttl or 0) / 2)
    return time() < e.expires_at - m
  end

  local function fetch_entry()
    local tok, ttl, api_url = fetch()
    if not tok then return nil, ttl end
    ttl = tonumber(ttl) or 3599
    return { access_token = tok, expires_at = time() + ttl, ttl = ttl, api_url = api_url }
  end

  -- this process alone: no store to share through
  local function own(stale)
    if cached and cached.access_token ~= stale and fresh(cached) then return cached end
    local e, err = fetch_entry()
    if not e then return nil, err end
    cached = e
    return e
  end

  local function usable(e, stale)
    return e and e.access_token ~= stale and fresh(e)
  end

  local function obtain(stale, sleep)
    local waited, max_wait = 0, lock_ttl + 1
    while true do
      local e, why = store.get()
      if why then return own(stale) end
      if usable(e, stale) then
        cached = e
        return e
      end
      local me = owner_id()
      local got = store.lock(me, lock_ttl)
      if got == nil then return own(stale) end
      if got then
        -- another may have stored one between our look and our lock
        e = store.get()
        if usable(e, stale) then
          store.unlock(me)
          cached = e
          return e
        end
        local err
        e, err = fetch_entry()
        if e then
          store.set(e, e.ttl)
          cached = e
        end
        store.unlock(me)
        return e, err
      end
      if waited >= max_wait then return own(stale) end   -- a holder that never stores
      sleep(poll)
      waited = waited + poll
    end
  end

  return {
    token = function(sleep)
      if fresh(cached) then return cached.access_token end
      local e, err = obtain(nil, sleep or default_sleep)
      if not e then return nil, err end
      return e.access_token
    end,
    renew = function(stale, sleep)
      if usable(cached, stale) then return true end
      cached = nil
      local e, err = obtain(stale, sleep or default_sleep)
      return e ~= nil, err
    end,
    api_url = function() return cached and cached.api_url or nil end,
  }
end

return M
