-- The shared budget and token on a real redis-server, across lua5.4
-- processes (spec/fleet_worker.lua), against zoomlive-sim.
local testing = require "zoomlive.testing"
local tr = require "zoomlive.testing.redis"
local rb = require "zoomlive.budget.redis"
local core = require "zoomlive.core"
local support = require "support"

local LUA = os.getenv("ZOOMLIVE_LUA") or "lua5.4"

local function parse(text)
  local t = {}
  for k, v in text:gmatch("(%S+) ([^\n]*)\n") do
    if t[k] == nil then t[k] = v
    elseif type(t[k]) == "table" then t[k][#t[k] + 1] = v
    else t[k] = { t[k], v } end
  end
  return t
end

-- Runs n workers together (they meet at a barrier in Redis); returns their
-- parsed outputs.
local function fleet(r, key, n, mode, ...)
  local extra = {}
  for _, a in ipairs({ ... }) do extra[#extra + 1] = support.shq(a) end
  r:command("DEL", key .. ":ready", key .. ":go")
  local files, parts = {}, {}
  for i = 1, n do
    files[i] = os.tmpname()
    parts[#parts + 1] = table.concat({ support.shq(LUA), "spec/fleet_worker.lua", support.shq(mode),
      support.shq(r.url), support.shq(key), table.concat(extra, " "), ">", support.shq(files[i]), "2>&1 &" }, " ")
  end
  parts[#parts + 1] = "wait"
  local pipe = io.popen(table.concat(parts, "\n"), "r")
  -- the workers are up when all have counted themselves in
  local ready = 0
  for _ = 1, 400 do
    ready = tonumber(r:command("GET", key .. ":ready") or 0) or 0
    if ready >= n then break end
    os.execute("sleep 0.025")
  end
  for _ = 1, n do r:command("RPUSH", key .. ":go", "go") end
  pipe:read("a")
  pipe:close()
  local outs = {}
  for i = 1, n do
    local f = io.open(files[i])
    local text = f:read("a")
    f:close()
    os.remove(files[i])
    outs[i] = parse(text)
    outs[i].text = text
  end
  assert.are.equal(n, ready)
  return outs
end

local function run_one(r, key, mode, ...)
  local args = { support.shq(LUA), "spec/fleet_worker.lua", support.shq(mode), support.shq(r.url), support.shq(key) }
  for _, a in ipairs({ ... }) do args[#args + 1] = support.shq(a) end
  local p = io.popen(table.concat(args, " ") .. " 2>&1")
  local text = p:read("a")
  p:close()
  local t = parse(text)
  t.text = text
  return t
end

describe("the shared budget on Redis", function()
  local env = support.redis_and_sim { qps = 1000 }
  setup(env.start)
  teardown(env.stop)
  local r, sim
  before_each(function() r, sim = env.r, env.sim end)
  before_each(function()
    r:command("FLUSHALL")
    sim:reset()
  end)

  it("grants one burst to three processes together, not one each", function()
    -- a rate so low that no slot comes back during the test: only the burst
    local outs = fleet(r, "acct-a", 3, "takes", 0.001, 5, 10)
    local total = 0
    for _, o in ipairs(outs) do
      assert.matches("^redis redis://", o.budget, nil, false)
      total = total + assert(tonumber(o.granted), o.text)
    end
    assert.are.equal(5, total)
    -- another key is another account with its own burst
    outs = fleet(r, "acct-b", 2, "takes", 0.001, 4, 10)
    assert.are.equal(4, tonumber(outs[1].granted) + tonumber(outs[2].granted))
  end)

  it("keeps the pace on the server's clock: one interval between slots", function()
    local b = rb.new{ rate = 0.01, burst = 1, store = r.url, key = "pace" }
    assert.are.equal(0, b:take())
    local w = b:take()
    assert.is_true(w > 99 and w <= 100, tostring(w))
    -- a second process is told the same wait (within the time between the calls)
    local o = run_one(r, "pace", "wait", 0.01)
    local w2 = assert(tonumber(o.wait), o.text)
    assert.is_true(w2 > 95 and w2 <= w, o.text)
    b:close()
  end)

  local function client(key)
    return require("zoomlive").new{ base_url = sim.base_url, token = sim.token,
      budget = { rate = 30, store = r.url, key = key } }
  end

  it("a QPS 429 seen by one process makes another wait its Retry-After", function()
    sim:config{ qps = 0.01 }   -- one request, then the next token in 100 s
    local c = client("acct-q")
    assert.is_table((c:get(68423085)))
    local v, err, info = c:get(68423085)
    assert.is_nil(v)
    assert.are.equal("redis " .. r.url, info.budget)
    -- the 429 went into the budget: the client sent nothing more into it
    local log = sim:requests()
    assert.are.equal(2, #log)
    assert.are.equal(429, log[2].status)
    assert.is_truthy(err.kind == "timeout" or err.status == 429, tostring(err))
    local o = run_one(r, "acct-q", "wait", 30)
    local w = assert(tonumber(o.wait), o.text)
    assert.is_true(w > 80 and w <= 101, o.text)
    -- a budget of another account is not held back
    assert.are.equal(0, tonumber(run_one(r, "acct-other", "wait", 30).wait))
    c:close()
  end)

  it("a Daily-limit 429 holds every process until the next UTC midnight", function()
    sim:config{ daily = 1 }
    local c = client("acct-d")
    assert.is_table((c:get(68423085)))
    assert.is_nil((c:get(68423085)))
    assert.are.equal(2, #sim:requests())
    local to_midnight = (math.floor(core.time() / 86400) + 1) * 86400 - core.time()
    local outs = fleet(r, "acct-d", 2, "takes", 30, 5, 3)
    for _, o in ipairs(outs) do assert.are.equal(0, tonumber(o.granted)) end
    local w = assert(tonumber(run_one(r, "acct-d", "wait", 30).wait))
    assert.is_true(math.abs(w - to_midnight) < 5, w .. " vs " .. to_midnight)
    c:close()
  end)

  it("a batch takes its slots from the shared budget too", function()
    -- another budget of the account has spent 2 of the burst of 5 already
    local other = rb.new{ rate = 0.001, burst = 5, store = r.url, key = "acct-batch" }
    assert.are.equal(0, other:take())
    assert.are.equal(0, other:take())
    other:close()
    local c = require("zoomlive").new{ base_url = sim.base_url, token = sim.token, retries = 0,
      budget = { rate = 0.001, burst = 5, store = r.url, key = "acct-batch" } }
    local items = {}
    for i = 1, 6 do items[i] = { 68423085, "stop" } end
    local results = c:update_many(items, { concurrency = 3 })
    local ok, timeouts = 0, 0
    for _, res in ipairs(results) do
      if res.status == 204 then ok = ok + 1
      elseif res.err and res.err.kind == "timeout" then timeouts = timeouts + 1 end
      if res.info then assert.are.equal("redis " .. r.url, res.info.budget) end
    end
    -- three slots were left; the rest would wait ~1000 s, past the deadline
    assert.are.equal(3, ok)
    assert.are.equal(3, timeouts)
    assert.are.equal(3, #sim:requests())
    c:close()
  end)

  it("the per-stream start cooldown does not hold the account", function()
    local b = rb.new{ rate = 30, store = r.url, key = "acct-c" }
    assert.is_nil(b:record({ status = 429, rl_type = "QPS", retry_after = 30,
      body = '{"code":429,"message":"Too many requests submitted to start the live stream of this meeting: 1."}' }))
    assert.are.equal(0, tonumber(run_one(r, "acct-c", "wait", 30).wait))
    b:close()
  end)
end)

describe("the shared S2S token on Redis", function()
  local env = support.redis_and_sim { qps = 1000, invalidate_old_tokens = true }
  setup(env.start)
  teardown(env.stop)
  local r, sim
  before_each(function() r, sim = env.r, env.sim end)
  before_each(function()
    r:command("FLUSHALL")
    sim:reset()
  end)

  local function count(pred)
    local n = 0
    for _, e in ipairs(sim:requests()) do
      if pred(e) then n = n + 1 end
    end
    return n
  end
  local function token_fetches() return count(function(e) return e.path == "/oauth/token" end) end
  local KEY = "{tok}:token:sim-account:sim-client-id"

  it("one fetch for four workers starting together; the secret is not stored", function()
    local outs = fleet(r, "tok", 4, "token", sim.url)
    for _, o in ipairs(outs) do
      assert.are.equal("200", o.status, o.text)
      assert.are.equal("1", o.attempts, o.text)
      assert.matches("^redis redis://", o.budget)
    end
    assert.are.equal(1, token_fetches())
    for _, k in ipairs(r:command("KEYS", "*")) do
      assert.is_nil(k:find("sim-client-secret", 1, true))
      local v = r:command("GET", k)
      if type(v) == "string" then assert.is_nil(v:find("sim-client-secret", 1, true)) end
    end
    local entry = require("cjson").decode(r:command("GET", KEY))
    assert.are.equal(64, #entry.access_token)
    assert.are.equal(3599, entry.ttl)
    assert.is_true(math.abs(entry.expires_at - (core.time() + 3599)) < 30)
    -- kept with its expiry
    local ttl = r:command("PTTL", KEY)
    assert.is_true(ttl > 3500 * 1000 and ttl <= 3599 * 1000, tostring(ttl))
  end)

  it("at expiry, one new fetch for the fleet", function()
    fleet(r, "tok", 3, "token", sim.url)
    assert.are.equal(1, token_fetches())
    -- an hour later for the workers and the simulator alike
    sim:advance(3600)
    local outs = fleet(r, "tok", 3, "token", sim.url, 3600)
    for _, o in ipairs(outs) do
      assert.are.equal("200", o.status, o.text)
      assert.are.equal("1", o.attempts, o.text)
    end
    assert.are.equal(2, token_fetches())
  end)

  it("a 401/124 replaces the stale token once for the whole fleet", function()
    fleet(r, "tok", 2, "token", sim.url)
    assert.are.equal(1, token_fetches())
    local stored = r:command("GET", KEY)
    -- another fetch outside the fleet invalidates the stored token
    local conn = core.new{}
    assert.are.equal(200, conn:perform{ method = "POST", url = sim.url .. "/oauth/token",
      content_type = "application/x-www-form-urlencoded",
      body = "grant_type=account_credentials&account_id=sim-account",
      basic = "sim-client-id:sim-client-secret", timeout = 5 }.status)
    conn:close()
    sim:clear_requests()
    local outs = fleet(r, "tok", 4, "token", sim.url)
    for _, o in ipairs(outs) do
      assert.are.equal("200", o.status, o.text)
      assert.are.equal("1", o.attempts, o.text)   -- the repeat with the new token replaces the 401
    end
    -- each worker met the 401 unless it started after the token was
    -- replaced (then it found the new one in the store)
    local refused = count(function(e) return e.status == 401 end)
    assert.is_true(refused >= 1 and refused <= 4, tostring(refused))
    assert.are.equal(1, token_fetches())
    assert.are_not.equal(stored, r:command("GET", KEY))
  end)
end)

describe("the shared budget when Redis fails", function()
  local env = support.redis_and_sim { qps = 1000 }
  setup(env.start)
  teardown(env.stop)
  local r, sim
  before_each(function() r, sim = env.r, env.sim end)

  it("a client's calls go on while Redis is down, and use it again when it is back", function()
    sim:reset()
    local t, events = 100, {}
    local c = require("zoomlive").new{ base_url = sim.base_url, token = sim.token,
      now = function() return t end, sleep = function(s) t = t + s end,
      budget = { rate = 50, burst = 5, share = 10, store = r.url, key = "client-down" },
      debug = function(e) if e.event == "budget" then events[#events + 1] = e end end }
    local st, err, info = c:stop(68423085)
    assert.are.equal(204, st, tostring(err))
    assert.are.equal("redis " .. r.url, info.budget)
    r:signal("KILL")
    for _ = 1, 5 do
      st, err, info = c:stop(68423085)
      assert.are.equal(204, st, tostring(err))
      assert.matches("^local %(redis down: ", info.budget)
    end
    assert.are.equal(1, #events)
    assert.are.equal("local", events[1].state)
    assert.matches("local budget of 10/s", events[1].message)
    r:restart()
    t = t + 3
    st, err, info = c:stop(68423085)
    assert.are.equal(204, st, tostring(err))
    assert.are.equal("redis " .. r.url, info.budget)
    assert.are.equal("redis", events[#events].state)
    assert.are.equal(7, #sim:requests())
    c:close()
  end)

  it("S2S clients fetch their own token while the store is down", function()
    sim:reset()
    local port = r.port
    r:signal("KILL")
    local c = require("zoomlive").new{ base_url = sim.base_url, oauth_url = sim.url .. "/oauth/token",
      account_id = "sim-account", client_id = "sim-client-id", client_secret = "sim-client-secret",
      budget = { rate = 1000, store = "redis://127.0.0.1:" .. port .. "/0", key = "tok-down" } }
    for _ = 1, 2 do
      local v, err, info = c:get(68423085)
      assert.is_table(v, tostring(err))
      assert.matches("^local %(redis down: ", info.budget)
    end
    local fetches = 0
    for _, e in ipairs(sim:requests()) do
      if e.path == "/oauth/token" then fetches = fetches + 1 end
    end
    assert.are.equal(1, fetches)
    c:close()
    r:restart()
  end)

  it("goes on under a local share, warns once, and comes back with Redis", function()
    local t = 100
    local msgs = {}
    local b = rb.new{ rate = 40, burst = 4, share = 2, store = r.url, key = "down", reconnect = 5,
      now = function() return t end, debug = function(e) msgs[#msgs + 1] = e end }
    assert.are.equal(0, b:take())
    assert.matches("^redis redis://127%.0%.0%.1:%d+/0$", b:describe())

    r:signal("STOP")                 -- frozen: the round trip times out
    assert.are.equal(0, b:take())    -- the local share's first slot
    assert.matches("^local %(redis down: timed out after 0%.25 s%)$", b:describe())
    assert.are.equal(1, #msgs)
    assert.are.equal("budget", msgs[1].event)
    assert.are.equal("local", msgs[1].state)
    assert.matches("redis down", msgs[1].message)
    assert.matches("local budget of 2/s", msgs[1].message)
    -- the local share paces at 2/s; no Redis I/O before `reconnect` s pass
    assert.is_near(0.5, b:take(), 1e-9)
    t = t + 0.5
    assert.are.equal(0, b:take())
    assert.are.equal(1, #msgs)

    r:signal("KILL")
    r:restart()                      -- same port, empty
    t = t + 1
    b:take()                         -- still local: reconnect not due
    assert.matches("^local", b:describe())
    assert.are.equal(0, r:command("EXISTS", "{down}:tat"))
    t = t + 5
    assert.are.equal(0, b:take())    -- Redis again
    assert.matches("^redis ", b:describe())
    assert.are.equal(2, #msgs)
    assert.are.equal("redis", msgs[2].state)
    assert.matches("redis back", msgs[2].message)

    r:signal("KILL")                 -- the open connection breaks
    assert.are.equal(0, b:take())
    assert.matches("^local %(redis down: ", b:describe())
    t = t + 5
    b:take()                         -- the reconnect is refused
    assert.matches("^local %(redis down: .*refused", b:describe())
    assert.are.equal(3, #msgs)       -- one warning for this outage, whatever its reasons
    assert.are.equal("local", msgs[3].state)
    r:restart()
    t = t + 5
    assert.are.equal(0, b:take())
    assert.matches("^redis ", b:describe())
    b:close()
  end)

  it("records a 429 while Redis is down and still honours it here", function()
    local t = 100
    local b = rb.new{ rate = 40, store = "redis://127.0.0.1:" .. r.port .. "/0", key = "down2",
      now = function() return t end }
    r:signal("KILL")
    assert.are.equal(5, (b:record({ status = 429, retry_after = 5 })))
    assert.is_near(5, b:take(), 1e-9)
    assert.matches("^local %(redis down", b:describe())
    r:restart()
    b:close()
  end)
end)

describe("the simulator's account limit", function()
  local sim
  setup(function()
    sim = testing.start{ qps = 0.01, args = { "--token", "tok-a", "--token", "tok-b" } }
  end)
  teardown(function() if sim then sim:stop() end end)

  -- n curl processes at once, each on its own connection, alternating tokens
  local function burst(n)
    local parts = {}
    for i = 1, n do
      parts[#parts + 1] = ("curl -s -o /dev/null -w '%%{http_code}\\n' -H %s %s &"):format(
        support.shq("Authorization: Bearer " .. (i % 2 == 0 and "tok-a" or "tok-b")),
        support.shq(sim.base_url .. "/meetings/68423085/livestream"))
    end
    parts[#parts + 1] = "wait"
    local p = io.popen(table.concat(parts, "\n"))
    local counts = {}
    for line in p:lines() do counts[line] = (counts[line] or 0) + 1 end
    p:close()
    return counts
  end

  it("is one bucket for every connection and token of the account", function()
    sim:reset()
    assert.are.same({ ["200"] = 1, ["429"] = 9 }, burst(10))
    -- the bucket refills at qps for everyone: 100 s give one more request
    sim:advance(100)
    assert.are.same({ ["200"] = 1, ["429"] = 7 }, burst(8))
    assert.are.equal(18, #sim:requests())
  end)
end)

describe("a Redis with a password", function()
  local r
  local PW = "s3cret-redis-pw"
  setup(function() r = tr.start{ password = PW } end)
  teardown(function() if r then r:stop() end end)

  it("is used with password (AUTH), and refused ones never show the password", function()
    local b = rb.new{ rate = 1, burst = 2, store = r.url, key = "pw", password = PW }
    assert.are.equal(0, b:take())
    assert.are.equal("redis " .. r.url, b:describe())
    assert.are.equal(1, tonumber(r:command("EXISTS", "{pw}:tat")))
    b:close()
    local msgs = {}
    for _, o in ipairs({ { password = "wrong", says = "AUTH: WRONGPASS" }, { says = "NOAUTH" } }) do
      local bad = rb.new{ rate = 1, store = r.url, key = "pw2", password = o.password,
        debug = function(e) msgs[#msgs + 1] = e.message end }
      assert.are.equal(0, bad:take())       -- the local share
      assert.matches("^local %(redis down: ", bad:describe())
      assert.matches(o.says, bad:describe(), 1, true)
      assert.matches(o.says, msgs[#msgs], 1, true)
      bad:close()
    end
    assert.are.equal(2, #msgs)
    for _, m in ipairs(msgs) do assert.is_nil(m:find(PW, 1, true)) end
  end)

  it("an S2S client whose store answers NOAUTH fetches its own token at once, never waiting", function()
    local sim2 = testing.start { qps = 1000 }
    local waits = {}
    local c = require("zoomlive").new{ base_url = sim2.base_url, oauth_url = sim2.url .. "/oauth/token",
      account_id = "sim-account", client_id = "sim-client-id", client_secret = "sim-client-secret",
      sleep = function(sec) waits[#waits + 1] = sec end,
      budget = { rate = 1000, store = r.url, key = "noauth" } }   -- no password: NOAUTH
    local st, err, info = c:stop(68423085)
    assert.are.equal(204, st, tostring(err))
    assert.are.same({}, waits)                  -- no wait for a lock holder that is not there
    assert.matches("^local %(redis down: .*NOAUTH", info.budget)
    c:close()
    sim2:stop()
  end)
end)
