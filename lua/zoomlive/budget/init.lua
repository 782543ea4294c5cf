--- zoomlive.budget: the rate budget every attempt of every call takes a
-- slot from before it is sent (the client option `budget`).
--
--   zoomlive.new{ ..., budget = { rate = 30, burst = 5 } }              -- this process
--   zoomlive.new{ ..., budget = { rate = 30, burst = 5, share = 10,      -- the fleet
--                                 store = "redis://10.0.0.5:6379/0", key = "zoomlive:acme" } }
--
-- Fields: rate (requests per second, required), burst (requests at once,
-- default 1), store (a redis:// URL; absent: in-process), key (the Redis
-- key prefix naming the account, default "zoomlive:" .. account_id or
-- "zoomlive:default"), share (requests per second this process may send
-- while Redis is down, default rate/8), timeout (seconds per Redis round
-- trip, default 0.25), reconnect (seconds between attempts to reach Redis
-- again, default 2), password and username (Redis AUTH; never in a message).
-- An object with take/record methods (and optionally describe) is used as
-- it is.
--
-- Budget objects: b:take(now) -> seconds to wait (0 = go; ask again after
-- a wait), b:record(resp[, now]), b:describe() -> text for info.budget.
local M = {}

local OPTIONS = { rate = true, burst = true, store = true, key = true, share = true,
  timeout = true, reconnect = true, password = true, username = true }

--- new(opt, ctx) -> budget object. ctx: { now = fn, time = fn, debug = fn,
-- account_id = string|nil }. Raises on a bad option (the message starts
-- with "zoomlive.budget:").
function M.new(opt, ctx)
  ctx = ctx or {}
  if type(opt) == "table" and type(opt.take) == "function" and type(opt.record) == "function" then
    return opt
  end
  if type(opt) ~= "table" then
    error("zoomlive.budget: option 'budget' must be a table {rate=, burst=, store=, key=, share=}", 3)
  end
  for k in pairs(opt) do
    if not OPTIONS[k] then error("zoomlive.budget: unknown budget field '" .. tostring(k) .. "'", 3) end
  end
  for _, k in ipairs({ "timeout", "reconnect" }) do
    local v = opt[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge) then
      error("zoomlive.budget: '" .. k .. "' must be a positive number of seconds", 3)
    end
  end
  if opt.store == nil then
    if opt.key ~= nil or opt.share ~= nil or opt.password ~= nil or opt.username ~= nil then
      error("zoomlive.budget: 'key', 'share', 'password' and 'username' need a 'store'", 3)
    end
    return require("zoomlive.budget.local").new{ rate = opt.rate, burst = opt.burst,
      now = ctx.now, time = ctx.time }
  end
  local key = opt.key
  if key == nil then
    local a = ctx.account_id
    key = "zoomlive:" .. ((type(a) == "string" and a ~= "" and not a:find("[%c%s]")) and a or "default")
  end
  return require("zoomlive.budget.redis").new{ rate = opt.rate, burst = opt.burst,
    store = opt.store, key = key, share = opt.share, timeout = opt.timeout,
    password = opt.password, username = opt.username,
    reconnect = opt.reconnect, now = ctx.now, time = ctx.time, debug = ctx.debug }
end

return M
