-- zoomlive.budget.local and zoomlive.budget: the in-process budget (pure,
-- clocks injected) and the construction from the client option.
local lbudget = require "zoomlive.budget.local"
local budget = require "zoomlive.budget"

local function clock(t0)
  local t = t0 or 1000
  return function() return t end, function(dt) t = t + dt end
end

describe("zoomlive.budget.local", function()
  it("lets a burst go at once, then one request per interval", function()
    local now, advance = clock()
    local b = lbudget.new{ rate = 10, burst = 3, now = now }
    assert.are.equal(0, b:take(now()))
    assert.are.equal(0, b:take(now()))
    assert.are.equal(0, b:take(now()))
    local w = b:take(now())
    assert.is_near(0.1, w, 1e-9)
    -- asking again without waiting takes nothing: the same wait
    assert.is_near(0.1, b:take(now()), 1e-9)
    advance(0.05)
    assert.is_near(0.05, b:take(now()), 1e-9)
    advance(0.05)
    assert.are.equal(0, b:take(now()))
    assert.is_near(0.1, b:take(now()), 1e-9)
  end)

  it("paces N requests over (N - burst) / rate seconds, never faster", function()
    local now, advance = clock()
    local b = lbudget.new{ rate = 40, burst = 5, now = now }
    local sent, t0 = 0, now()
    while sent < 105 do
      local w = b:take(now())
      if w == 0 then sent = sent + 1 else advance(w) end
    end
    assert.is_near(100 / 40, now() - t0, 1e-6)
  end)

  it("does not bank unused time beyond the burst", function()
    local now, advance = clock()
    local b = lbudget.new{ rate = 10, burst = 2, now = now }
    advance(3600)
    assert.are.equal(0, b:take(now()))
    assert.are.equal(0, b:take(now()))
    assert.is_true(b:take(now()) > 0)
  end)

  it("honours a QPS 429's Retry-After date for every caller of the budget", function()
    local now, advance = clock()
    local t = 1780000000
    local b = lbudget.new{ rate = 100, burst = 10, now = now, time = function() return t end }
    local wait, typ = b:record({ status = 429, rl_type = "QPS",
      retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", t + 3) })
    assert.are.equal(3, wait)
    assert.are.equal("QPS", typ)
    assert.is_near(3, b:take(now()), 1e-9)
    advance(2)
    assert.is_near(1, b:take(now()), 1e-9)
    local left, ptype = b:penalty(now())
    assert.is_near(1, left, 1e-9)
    assert.are.equal("QPS", ptype)
    advance(1)
    assert.are.equal(0, b:take(now()))
  end)

  it("measures a Retry-After date on the server's clock (its Date header)", function()
    local server = 1780000000
    local resp = { status = 429, rl_type = "QPS",
      date = os.date("!%a, %d %b %Y %H:%M:%S GMT", server),
      retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", server + 3) }
    -- this machine's clock runs 100 s ahead: the wait is still 3 s
    assert.are.equal(3, (lbudget.penalty(resp, server + 100)))
  end)

  it("takes Retry-After as delta-seconds text or a number", function()
    local now = clock()
    local b = lbudget.new{ rate = 100, now = now, time = function() return 1780000000 end }
    assert.are.equal(7, (b:record({ status = 429, retry_after = "7" })))
    assert.are.equal(2.5, (lbudget.penalty({ status = 429, retry_after = 2.5 }, 0)))
  end)

  it("a QPS 429 without Retry-After waits 1 s; a bare 429 counts as QPS", function()
    assert.are.same({ lbudget.QPS_PENALTY, "QPS" },
      { lbudget.penalty({ status = 429, rl_type = "QPS" }, 1780000000) })
    assert.are.same({ lbudget.QPS_PENALTY, "QPS" },
      { lbudget.penalty({ status = 429, body = "" }, 1780000000) })
  end)

  it("a Daily-limit 429 without Retry-After waits until the next UTC midnight", function()
    local t = 1780000000 -- 2026-05-28T20:26:40Z
    local wait, typ = lbudget.penalty({ status = 429, rl_type = "Daily-limit" }, t)
    assert.are.equal("Daily-limit", typ)
    assert.are.equal(0, (t + wait) % 86400)
    assert.is_true(wait > 0 and wait <= 86400)
  end)

  it("a Daily-limit Retry-After keeps its date; a later penalty is never shortened", function()
    local now = clock()
    local t = 1780000000
    local b = lbudget.new{ rate = 10, now = now, time = function() return t end }
    b:record({ status = 429, rl_type = "Daily-limit", retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", t + 5000) })
    b:record({ status = 429, rl_type = "QPS", retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", t + 1) })
    local left, typ = b:penalty(now())
    assert.are.equal(5000, left)
    assert.are.equal("Daily-limit", typ)
  end)

  it("the start cooldown of one stream is not an account penalty", function()
    local body = '{"code":429,"message":"Too many requests submitted to start the live stream of this '
      .. 'meeting: 68423085. If the live stream has not already started, retry making a new request after 30 seconds."}'
    assert.is_nil(lbudget.penalty({ status = 429, rl_type = "QPS", retry_after = 30, body = body }, 0))
  end)

  it("other answers set no penalty", function()
    local now = clock()
    local b = lbudget.new{ rate = 1, now = now }
    for _, r in ipairs({ { status = 204 }, { status = 503, retry_after = "5" }, { status = 401 },
        { kind = "timeout", curl_code = 28 }, {} }) do
      assert.is_nil(b:record(r))
    end
    assert.are.equal(0, b:take(now()))
  end)

  it("a QPS 429 holds at least 1 s, even read on a clock ahead of Zoom's", function()
    local t = 1780000000
    -- no Date header; Retry-After already past on this clock (5 s ahead)
    assert.are.equal(1, (lbudget.penalty({ status = 429, rl_type = "QPS",
      retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", t - 4) }, t)))
    assert.are.equal(1, (lbudget.penalty({ status = 429, retry_after = "0" }, t)))
    assert.are.equal(1, (lbudget.penalty({ status = 429, retry_after = 0.2 }, t)))
  end)

  it("a past Daily-limit date sets no wait; a far one is capped at a day", function()
    local t = 1780000000
    assert.are.equal(0, (lbudget.penalty({ status = 429, rl_type = "Daily-limit",
      retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", t - 10) }, t)))
    assert.are.equal(lbudget.MAX_PENALTY,
      (lbudget.penalty({ status = 429, retry_after = os.date("!%Y-%m-%dT%H:%M:%SZ", t + 9 * 86400) }, t)))
  end)

  it("refuses bad rates and bursts with a clear message", function()
    for _, o in ipairs({ {}, { rate = 0 }, { rate = -1 }, { rate = 0 / 0 }, { rate = math.huge },
        { rate = "30" }, { rate = 1, burst = 0 }, { rate = 1, burst = 1.5 }, { rate = 1, burst = "2" } }) do
      local ok, err = pcall(lbudget.new, o)
      assert.is_false(ok)
      assert.matches("zoomlive.budget.local: '%a+' must be", err)
    end
  end)
end)

describe("zoomlive.budget.new (the client option)", function()
  it("builds an in-process budget without a store", function()
    local now = clock()
    local b = budget.new({ rate = 5, burst = 2 }, { now = now })
    assert.are.equal("zoomlive.budget.local", getmetatable(b).__name)
    assert.are.equal("local", b:describe())
    assert.are.equal(0, b:take(now()))
  end)

  it("uses an object with take and record as it is", function()
    local obj = { take = function() return 0 end, record = function() end }
    assert.are.equal(obj, budget.new(obj))
  end)

  it("builds a Redis budget for a redis:// store, keyed by the account", function()
    local b = budget.new({ rate = 5, store = "redis://127.0.0.1:1/2" }, { account_id = "acme" })
    assert.are.equal("zoomlive.budget.redis", getmetatable(b).__name)
    assert.are.equal("zoomlive:acme", b.key)
    assert.are.equal(5 / 8, b.share)
    assert.are.equal("redis://127.0.0.1:1/2", b.store.url)
    b:close()
  end)

  it("refuses bad options, naming them", function()
    local cases = {
      { 5, "must be a table" },
      { { rate = 5, stor = "redis://x" }, "unknown budget field 'stor'" },
      { { rate = 5, key = "k" }, "need a 'store'" },
      { { rate = 5, password = "p" }, "need a 'store'" },
      { { rate = 5, store = "redis://host", password = 7 }, "'password' must be a non-empty string" },
      { { rate = 5, store = "redis://host", username = "u" }, "'username' needs a 'password'" },
      { { rate = 5, store = "http://x" }, "redis://host:port/db" },
      { { rate = 5, store = "redis://u:p@host/0" }, "must not hold credentials" },
      { { rate = 5, store = "redis://host:99999/0" }, "port out of range" },
      { { rate = 5, store = "redis://host/x" }, "database number" },
      { { rate = 5, store = "redis://host", share = 6 }, "'share' must be" },
      { { rate = 5, store = "redis://host", key = "a b" }, "'key' must be" },
      { { rate = 5, store = "redis://host", timeout = 0 }, "'timeout' must be" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(budget.new, c[1])
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
  end)

  it("parses redis:// URLs", function()
    local rb = require "zoomlive.budget.redis"
    assert.are.same({ "127.0.0.1", 6379, 0 }, { rb.parse_url("redis://") })
    assert.are.same({ "10.0.0.5", 6380, 3 }, { rb.parse_url("redis://10.0.0.5:6380/3") })
    assert.are.same({ "::1", 6379, 0 }, { rb.parse_url("redis://[::1]/") })
    assert.are.same({ "127.0.0.1", 6379, 2147483647 }, { rb.parse_url("redis://127.0.0.1/2147483647") })
    for _, db in ipairs({ "2147483648", "9223372036854775808", "99999999999999999999" }) do
      local h, why = rb.parse_url("redis://127.0.0.1/" .. db)
      assert.is_nil(h)
      assert.are.equal("store URL database number out of range", why)
    end
  end)
end)

describe("the client option budget", function()
  local testing = require "zoomlive.testing"
  local zoomlive = require "zoomlive"
  local sim
  setup(function() sim = testing.start{ qps = 1000 } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  local function fake()
    local t = 500
    local slept = {}
    return function() return t end, function(s) slept[#slept + 1] = s; t = t + s end, slept
  end

  it("paces every attempt of a blocking client; info tells the budget", function()
    local now, sleep, slept = fake()
    local c = zoomlive.new{ base_url = sim.base_url, token = sim.token, now = now, sleep = sleep,
      budget = { rate = 4, burst = 2 } }
    for _ = 1, 5 do
      local st, err, info = c:stop(68423085)
      assert.are.equal(204, st, tostring(err))
      assert.are.equal("local", info.budget)
    end
    assert.are.same({ 0.25, 0.25, 0.25 }, slept)
    assert.are.equal(5, #sim:requests())
    c:close()
  end)

  it("a 429's Retry-After holds the next calls of the client", function()
    local now, sleep, slept = fake()
    local c = zoomlive.new{ base_url = sim.base_url, token = sim.token, now = now, sleep = sleep,
      retries = 0, budget = { rate = 100, burst = 10 } }
    sim:fault{ status = 429, count = 1 }
    local st = c:stop(68423085)
    assert.are.equal(429, st)
    -- the simulator's fault 429 carries no headers: a QPS penalty of 1 s
    assert.are.equal(204, (c:stop(68423085)))
    assert.are.same({ 1 }, slept)
    c:close()
  end)

  it("a Daily-limit penalty past the deadline ends the call at once, saying when", function()
    local now, sleep, slept = fake()
    local c = zoomlive.new{ base_url = sim.base_url, token = sim.token, now = now, sleep = sleep,
      time = function() return 1800000000 end, retries = 0, budget = { rate = 100, burst = 10 } }
    c:budget():record({ status = 429, rl_type = "Daily-limit", retry_after = "3600" }, now())
    local st, err, info = c:stop(68423085)
    assert.is_nil(st)
    assert.are.equal("timeout", err.kind)
    assert.are.equal(3600, err.retry_after)
    assert.matches("rate budget holds requests for 3600 s more", err.message)
    assert.are.equal(0, info.attempts)
    assert.are.same({}, slept)              -- no wait that could not end in time
    assert.are.same({}, sim:requests())     -- nothing sent
    c:close()
  end)

  it("batches take their slots from the same budget", function()
    local inner = lbudget.new{ rate = 1000, burst = 3 }
    local granted, recorded = 0, 0
    local counting = {
      take = function(_, t)
        local w = inner:take(t)
        if w == 0 then granted = granted + 1 end
        return w
      end,
      record = function(_, r, t) recorded = recorded + 1; return inner:record(r, t) end,
    }
    local c = zoomlive.new{ base_url = sim.base_url, token = sim.token, budget = counting }
    local items = {}
    for i = 1, 6 do items[i] = { 68423085, "stop" } end
    local results = c:update_many(items, { concurrency = 2 })
    for _, res in ipairs(results) do assert.are.equal(204, res.status) end
    assert.are.equal(6, granted)
    assert.are.equal(6, recorded)
    c:close()
  end)

  it("bad budget options raise from zoomlive.new, naming the field", function()
    for _, case in ipairs({
      { { rate = 0 }, "'rate' must be a positive number" },
      { { rate = 5, sotre = "x" }, "unknown budget field 'sotre'" },
      { "fast", "option 'budget' must be a table" },
    }) do
      local ok, err = pcall(zoomlive.new, { token = "t", budget = case[1] })
      assert.is_false(ok)
      assert.matches("zoomlive.new: ", err, 1, true)
      assert.matches(case[2], err, 1, true)
    end
  end)
end)

describe("a Redis budget without the hiredis module", function()
  it("goes on under the local share and says why", function()
    local support = require "support"
    local lua = os.getenv("ZOOMLIVE_LUA") or "lua5.4"
    local code = [[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      package.cpath = (os.getenv("ZOOMLIVE_BUILD_DIR") or "build") .. "/lib/?.so;" .. package.cpath
      package.preload["zoomlive.hiredis"] = function() error("not built") end
      local msgs = {}
      local b = require("zoomlive.budget").new({ rate = 8, burst = 1, store = "redis://127.0.0.1:1/0" },
        { debug = function(e) msgs[#msgs + 1] = e.message end })
      io.write(b:take(), "\n", b:describe(), "\n", tostring(msgs[1]), "\n", tostring(b:take() > 0), "\n")
    ]]
    local p = io.popen(support.shq(lua) .. " -e " .. support.shq(code) .. " 2>&1")
    local out = p:read("a")
    p:close()
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("0", lines[1], out)
    assert.matches("^local %(redis down: the zoomlive.hiredis module is not available", lines[2])
    assert.matches("local budget of 1/s", lines[3])
    assert.are.equal("true", lines[4])
  end)
end)
