-- Retries, Zoom's rate limits and bounded time, against the simulator's
-- faults. Waits are observed through the `sleep` hook, never the wall clock:
-- the hook records each requested wait and advances the simulator's clock
-- instead of sleeping.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local core = require "zoomlive.core"

local SEED, BIG = 68423085, 93398114182

describe("resilience", function()
  local sim

  setup(function() sim = testing.start { qps = 100000, daily = 0 } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  -- a client whose waits are recorded (and, when advance is set, passed on
  -- to the simulator's clock instead of slept)
  local function client(opts, advance)
    local waits = {}
    opts = opts or {}
    opts.token = opts.token or sim.token
    opts.base_url = opts.base_url or sim.base_url
    opts.sleep = function(s)
      waits[#waits + 1] = s
      if advance then sim:advance(s) end
    end
    return zoomlive.new(opts), waits
  end

  it("retries 503, 503 and then succeeds: info.attempts == 3", function()
    sim:fault { status = 503, count = 2 }
    local c <close>, waits = client()
    local status, err, info = c:update(SEED, "stop")
    assert.are.equal(204, status)
    assert.is_nil(err)
    assert.are.equal(3, info.attempts)
    assert.are.equal(2, #waits)
    -- full jitter: each wait lies in [0, min(cap, base * 2^attempt)]
    assert.truthy(waits[1] >= 0 and waits[1] <= 0.5)
    assert.truthy(waits[2] >= 0 and waits[2] <= 1.0)
    assert.are.equal(3, #sim:requests())
  end)

  it("retries 502 and 504 too", function()
    for _, code in ipairs({ 502, 504 }) do
      sim:reset()
      sim:fault { status = code, count = 1 }
      local c <close> = client()
      local status, _, info = c:update(SEED, "stop")
      assert.are.equal(204, status)
      assert.are.equal(2, info.attempts)
    end
  end)

  it("gives up after `retries` retries with the last error and its attempt count", function()
    sim:fault { status = 503, count = 10 }
    local c <close>, waits = client { retries = 2 }
    local status, err, info = c:update(SEED, "stop")
    assert.are.equal(503, status)
    assert.are.equal("http", err.kind)
    assert.are.equal(3, err.attempts)
    assert.are.equal(3, info.attempts)
    assert.are.equal(2, #waits)
  end)

  it("retries a connection reset before the request is read", function()
    sim:fault { reset = "before", count = 1 }
    local c <close> = client()
    local status, _, info = c:update(SEED, "stop")
    assert.are.equal(204, status)
    assert.are.equal(2, info.attempts)
  end)

  it("retries a connection reset after the request is read", function()
    sim:fault { reset = "after", count = 1 }
    local c <close> = client()
    local status, _, info = c:update(SEED, "stop")
    assert.are.equal(204, status)
    assert.are.equal(2, info.attempts)
  end)

  it("retries a truncated body", function()
    sim:fault { truncate = true, status = 503, count = 1 }
    local c <close> = client()
    local status, _, info = c:update(SEED, "stop")
    assert.are.equal(204, status)
    assert.are.equal(2, info.attempts)
  end)

  it("never retries a 400", function()
    local c <close>, waits = client()
    local status, err, info = c:update(10000000001, "start")   -- not configured: 400/3000
    assert.are.equal(400, status)
    assert.are.equal(3000, err.code)
    assert.are.equal(1, info.attempts)
    assert.are.equal(0, #waits)
    assert.are.equal(1, #sim:requests())
  end)

  it("never retries a 500 that carries a Zoom error code", function()
    sim:fault { status = 500, count = 5 }
    local c <close>, waits = client()
    local status, err, info = c:update(SEED, "stop")
    assert.are.equal(500, status)
    assert.is_number(err.code)
    assert.are.equal(1, info.attempts)
    assert.are.equal(0, #waits)
  end)

  it("waits for a QPS 429's Retry-After date, about 2 s ahead, exactly once", function()
    sim:config { qps = 0.5 }   -- one request per 2 s
    local c <close>, waits = client({ retries = 2 }, true)
    assert.are.equal(204, (c:update(SEED, "stop")))   -- takes the one token
    local status, err, info = c:update(BIG, "stop")
    assert.are.equal(204, status, tostring(err))
    assert.are.equal(2, info.attempts)
    assert.are.equal(1, #waits)
    -- the date is 2 s ahead, rounded up to a whole second by the header
    assert.truthy(waits[1] > 1.5 and waits[1] <= 3, "waited " .. tostring(waits[1]))
    assert.are.equal(429, sim:requests()[2].status)
  end)

  it("exposes the rate-limit headers as err.rate_limit and retry_after in seconds", function()
    sim:config { qps = 1 }
    local c <close> = client { retries = 0 }
    c:update(SEED, "stop")
    local status, err, info = c:update(BIG, "stop")
    assert.are.equal(429, status)
    assert.are.same({ category = "Light", type = "QPS", limit = 1, remaining = 0 }, err.rate_limit)
    assert.are.same(err.rate_limit, info.rate_limit)
    assert.is_number(err.retry_after)
    assert.truthy(err.retry_after > 0 and err.retry_after <= 2)
  end)

  it("retries a QPS 429 without any rate-limit headers after 1 s plus jitter", function()
    sim:config { qps = 1, ratelimit_headers = false }
    local c <close>, waits = client({ retries = 1 }, true)
    c:update(SEED, "stop")
    local status, _, info = c:update(BIG, "stop")
    assert.are.equal(204, status)
    assert.are.equal(2, info.attempts)
    assert.truthy(waits[1] >= 1 and waits[1] <= 8)
  end)

  it("never retries a daily-limit 429, and says when to come back", function()
    sim:config { daily = 1 }
    local c <close>, waits = client()
    assert.are.equal(204, (c:update(SEED, "stop")))
    local status, err, info = c:update(BIG, "stop")
    assert.are.equal(429, status)
    assert.are.equal("Daily-limit", err.rate_limit.type)
    assert.are.equal(1, info.attempts)
    assert.are.equal(0, #waits)
    assert.is_number(err.retry_after)
    assert.truthy(err.retry_after > 0 and err.retry_after <= 86400)
  end)

  describe("the 30-second rule for start", function()
    it("returns at once with retry_after == 30 under the default max_retry_wait", function()
      local c <close>, waits = client()
      assert.are.equal(204, (c:update(SEED, "start")))
      assert.are.equal(204, (c:update(SEED, "stop")))
      local status, err, info = c:update(SEED, "start")
      assert.are.equal(429, status)
      assert.are.equal(30, err.retry_after)
      assert.are.equal(1, info.attempts)
      assert.are.equal(0, #waits)
      assert.truthy(tostring(err):find("(retry after 30 s)", 1, true))
    end)

    it("waits 30 s and then succeeds with max_retry_wait = 40", function()
      local c <close>, waits = client({ max_retry_wait = 40 }, true)
      assert.are.equal(204, (c:update(SEED, "start")))
      assert.are.equal(204, (c:update(SEED, "stop")))
      local status, err, info = c:update(SEED, "start")
      assert.are.equal(204, status, tostring(err))
      assert.are.equal(2, info.attempts)
      assert.are.same({ 30 }, waits)
    end)

    it("never retries sooner than 30 s, even for a start 429 without headers", function()
      sim:config { ratelimit_headers = false }
      local c <close>, waits = client({ max_retry_wait = 60 }, true)
      c:update(SEED, "start")
      c:update(SEED, "stop")
      assert.are.equal(204, (c:update(SEED, "start")))
      assert.are.same({ 30 }, waits)
    end)
  end)

  describe("bounded time", function()
    it("ends a call to a silent server within its deadline (timeout = 1, retries = 2)", function()
      sim:fault { hang = true, count = 10 }
      local c <close>, waits = client { timeout = 1, retries = 2 }
      local status, err, info = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("timeout", err.kind)
      assert.are.equal(3, info.attempts)
      assert.are.equal(2, #waits)
      -- the derived deadline bounds every attempt: timeout * 3 + 10 * 2
      assert.are.equal(23, c._deadline)
    end)

    it("shortens the last attempt to fit an explicit deadline, and stops there", function()
      sim:fault { hang = true, count = 10 }
      local c <close> = client { timeout = 5, deadline = 1, retries = 5 }
      local status, err = c:update(SEED, "stop")
      assert.is_nil(status)
      assert.are.equal("timeout", err.kind)
      -- one attempt, cut to the deadline (1 s), not the 5 s timeout: libcurl
      -- says which bound it was given
      assert.are.equal(1, err.attempts)
      assert.truthy(err.message:find("after 1%d%d%d milliseconds"), err.message)
    end)

    it("does not sleep past the deadline: a wait that would end after it returns at once", function()
      sim:fault { status = 503, count = 10 }
      local c <close>, waits = client { deadline = 0.2, backoff = { base = 5, cap = 8 }, retries = 5 }
      local status, _, info = c:update(SEED, "stop")
      assert.are.equal(503, status)
      -- with base 5 s a wait fits in 0.2 s only when the jitter draws below 0.2
      assert.truthy(#waits < info.attempts)
      for _, w in ipairs(waits) do assert.truthy(w < 0.2) end
    end)
  end)

  it("reports info on every call: attempts, elapsed, tracking_id, rate_limit", function()
    local c <close> = client()
    local status, err, info = c:update(SEED, "stop")
    assert.are.equal(204, status)
    assert.is_nil(err)
    assert.are.equal(1, info.attempts)
    assert.is_number(info.elapsed)
    assert.is_string(info.tracking_id)
    assert.are.equal(sim:requests()[1].tracking_id, info.tracking_id)
  end)

  it("uses the default sleep in C when none is given", function()
    sim:fault { status = 503, count = 1 }
    local c <close> = zoomlive.new { token = sim.token, base_url = sim.base_url, backoff = { base = 0.01, cap = 0.01 } }
    local status, _, info = c:update(SEED, "stop")
    assert.are.equal(204, status)
    assert.are.equal(2, info.attempts)
  end)

  it("parses Retry-After in all three forms", function()
    local now = 1590883190
    assert.are.equal(10, core.retry_after("2020-05-31T00:00:00Z", now))
    assert.are.equal(10, core.retry_after("Sun, 31 May 2020 00:00:00 GMT", now))
    assert.are.equal(120, core.retry_after("120", now))
    assert.is_nil(core.retry_after("soon", now))
  end)
end)
