-- Faults that field use found, each with its neighbours, against the
-- simulator: 429s told apart, Retry-After against a skewed clock, passing
-- failures of the token endpoint, a token fetch that raised, a lost answer,
-- batch items checked as strictly as arguments. Waits go through the
-- `sleep` hook, which moves the simulator's clock instead of sleeping.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"

local SEED, BIG, LIVE = 68423085, 93398114182, 85746065432

describe("field cases", function()
  local sim

  setup(function() sim = testing.start { qps = 100000, daily = 0 } end)
  teardown(function() sim:stop() end)
  before_each(function()
    sim:reset()
    sim:config { qps = 100000 }
  end)

  local function client(opts)
    local waits = {}
    opts = opts or {}
    if not opts.account_id then opts.token = opts.token or sim.token end
    opts.base_url = opts.base_url or sim.base_url
    opts.sleep = function(s)
      waits[#waits + 1] = s
      sim:advance(s)
    end
    return zoomlive.new(opts), waits
  end

  local function s2s(extra)
    local o = { account_id = "sim-account", client_id = "sim-client-id",
      client_secret = "sim-client-secret", oauth_url = sim.url .. "/oauth/token" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return client(o)
  end

  describe("a per-second 429", function()
    it("on a start is retried after about a second, as on a stop, not taken for the start rule", function()
      sim:config { qps = 1 }
      for _, call in ipairs({ "start", "stop" }) do
        sim:reset()
        sim:config { qps = 1 }
        local c <close>, waits = client()
        assert.are.equal(204, (c:stop(BIG)))            -- takes this second's one request
        local status, err, info = c[call](c, SEED, call == "start" and { display_name = "x" } or nil)
        assert.are.equal(204, status, tostring(err))
        assert.are.equal(2, info.attempts)
        assert.are.equal(1, #waits)
        assert.truthy(waits[1] >= 1 and waits[1] < 3, call .. " waited " .. waits[1])
      end
    end)

    it("whose Retry-After date has passed on a client clock 5 s ahead is never retried at once", function()
      sim:config { qps = 1 }
      sim:_call("POST", "/_sim/clock", { offset = -5 })   -- the server's clock 5 s behind ours
      local c <close>, waits = client { retries = 3 }
      assert.are.equal(204, (c:stop(SEED)))
      local status, _, info = c:stop(BIG)
      assert.are.equal(204, status)
      assert.are.equal(2, info.attempts)
      assert.truthy(waits[1] >= 1, "waited " .. tostring(waits[1]))
    end)
  end)

  it("the start rule's 429 is still read as the start rule: 30 s, or a clear error", function()
    local c <close>, waits = client { max_retry_wait = 40 }
    assert.are.equal(204, (c:start(SEED)))
    assert.are.equal(204, (c:stop(SEED)))
    local status, err, info = c:start(SEED)
    assert.are.equal(204, status, tostring(err))
    assert.are.equal(2, info.attempts)
    assert.are.same({ 30 }, waits)
    local d <close> = client()
    assert.are.equal(204, (d:stop(SEED)))
    status, err = d:start(SEED)
    assert.are.equal(429, status)
    assert.is_true(err.start_rule)
    assert.are.equal(30, err.retry_after)
  end)

  describe("the token endpoint", function()
    for _, f in ipairs({ { status = 503 }, { status = 502 }, { status = 504 }, { reset = "before" },
        { reset = "after" } }) do
      it("is retried after one passing failure (" .. (f.status or ("reset " .. f.reset)) .. ")", function()
        f.path, f.count = "/oauth/token", 1
        sim:fault(f)
        local c <close> = s2s()
        local status, err, info = c:stop(SEED)
        assert.are.equal(204, status, tostring(err))
        assert.are.equal(2, info.attempts)             -- the failed fetch, then the call
      end)
    end

    it("down for good ends the call as a transport error, never kind auth", function()
      sim:fault { path = "/oauth/token", status = 503, count = 100 }
      local c <close> = s2s { retries = 2 }
      local status, err, info = c:stop(SEED)
      assert.is_nil(status)
      assert.are.equal("http", err.kind)
      assert.are.equal(503, err.status)
      assert.are.equal(3, info.attempts)
    end)

    it("refusing the credentials is kind auth at once", function()
      local c <close>, waits = s2s { client_secret = "wrong" }
      local status, err = c:stop(SEED)
      assert.is_nil(status)
      assert.are.equal("auth", err.kind)
      assert.are.same({}, waits)
    end)
  end)

  it("a token fetch that raised leaves the client usable", function()
    local boom = true
    local c <close> = s2s()
    local send = c._tr.send
    c._tr.send = function(spec, token, timeout)
      if boom then
        boom = false
        error("interrupted")
      end
      return send(spec, token, timeout)
    end
    assert.has_error(function() c:stop(SEED) end, "interrupted")
    local status, err = c:stop(SEED)
    assert.are.equal(204, status, tostring(err))
  end)

  describe("a lost answer", function()
    it("makes a start that Zoom applied report outcome_unknown, never a plain failure", function()
      for _, mrw in ipairs({ 10, 40 }) do
        sim:reset()
        sim:fault { meeting = SEED, reset = "after", apply = true, count = 1 }
        local c <close> = client { max_retry_wait = mrw }
        local status, err, info = c:start(SEED, { display_name = "Town hall" })
        assert.are.equal("live", sim:meeting(SEED).status)
        if not (status and status < 300) then
          assert.is_true(err.outcome_unknown, tostring(err))
          assert.is_true(info.outcome_unknown)
          assert.truthy(tostring(err):find("may have been applied", 1, true))
        end
      end
    end)

    it("on a reused connection (libcurl sends again by itself) still says outcome_unknown", function()
      local c <close> = client()
      assert.truthy(c:get(SEED))                     -- the connection is open and will be reused
      sim:fault { meeting = SEED, reset = "after", apply = true, count = 1, method = "PATCH" }
      local status, err, info = c:start(SEED, { display_name = "Town hall" })
      assert.are.equal("live", sim:meeting(SEED).status)
      assert.are.equal(2, info.attempts)             -- both sends are counted
      assert.is_true(info.outcome_unknown)
      if not (status and status < 300) then assert.is_true(err.outcome_unknown, tostring(err)) end
      -- the same in a batch
      sim:reset()
      local b <close> = client()
      assert.truthy(b:get(SEED))
      sim:fault { meeting = SEED, reset = "after", apply = true, count = 1, method = "PATCH" }
      local results = b:update_many({ { BIG, "stop" }, { SEED, "start", { display_name = "x" } } },
        { concurrency = 1 })
      assert.are.equal(204, results[1].status)
      local r = results[2]
      assert.is_true(r.info.outcome_unknown)
      if r.err then assert.is_true(r.err.outcome_unknown, tostring(r.err)) end
    end)

    it("does not mark a call whose request never left", function()
      local gone = testing.start {}
      local url = gone.base_url
      gone:stop()
      local c <close> = client { base_url = url, retries = 1 }
      local status, err, info = c:start(SEED)
      assert.is_nil(status)
      assert.are.equal("transport", err.kind)
      assert.is_nil(err.outcome_unknown)
      assert.is_nil(info.outcome_unknown)
    end)

    it("after a stop is retried and succeeds (a stop repeats safely)", function()
      sim:fault { meeting = SEED, reset = "after", apply = true, count = 1 }
      local c <close> = client()
      local status, err, info = c:stop(SEED)
      assert.are.equal(204, status, tostring(err))
      assert.are.equal(2, info.attempts)
      assert.is_true(info.outcome_unknown)   -- the first attempt's fate was not seen
    end)
  end)

  describe("values at their bounds", function()
    -- (the same on an event loop: loop_spec; luv is loaded by that file only,
    -- as busted reloads modules per file and luv cannot be opened twice)
    it("a client whose default deadline is past a year still calls (blocking, batch)", function()
      local c <close> = client { max_retry_wait = 86400 * 365 }
      assert.are.equal(204, (c:update(SEED, "stop")))
      local results = c:update_many({ { SEED, "stop" } })
      assert.are.equal(204, results[1].status, tostring(results[1].err))
    end)

    it("a float id from 2^53 up is refused even after the integer of that value was used", function()
      local c <close> = client()
      local big = 9007199254740992                       -- 2^53, an integer: a valid id
      assert.is_number((c:update(big, "stop")))          -- sent (the simulator knows no such meeting)
      for _, f in ipairs({ 2.0 ^ 53, 9007199254740993.0, 2.0 ^ 60 }) do
        local st, err = c:update(f, "stop")
        assert.is_nil(st)
        assert.are.equal("argument", err.kind)
        assert.matches("beyond 2%^53", err.message)
      end
      assert.are.equal(204, (c:update(68423085.0, "stop")))   -- an exact float below 2^53 is the integer
    end)
  end)

  describe("batch items", function()
    it("are checked as strictly as arguments: an unknown key or a non-boolean webinar fails alone", function()
      local c <close> = client()
      local results, summary = c:update_many({
        { id = SEED, action = "stop", setting = { display_name = "typo" } },
        { id = BIG, action = "stop", webinar = "yes" },
        { LIVE, "stop" },
      })
      assert.are.equal("argument", results[1].err.kind)
      assert.are.equal("item.setting", results[1].err.field)
      assert.are.equal("argument", results[2].err.kind)
      assert.are.equal("item.webinar", results[2].err.field)
      assert.are.equal(204, results[3].status)
      assert.are.equal(1, summary.ok)
      assert.are.equal(1, #sim:requests())
    end)

    it("always get a result, also when an item's pipeline fails inside", function()
      local c <close> = client { retries = 0 }
      -- the credential source raises for the second item's call
      local calls, token = 0, c._auth.token
      c._auth.token = function(tr)
        calls = calls + 1
        if calls == 2 then error("credential source broke") end
        return token(tr)
      end
      local results, summary = c:update_many({ { SEED, "stop" }, { BIG, "stop" }, { LIVE, "stop" } })
      assert.are.equal(3, summary.total)
      for i = 1, 3 do assert.is_table(results[i]) end
      assert.are.equal(1, summary.by_kind.aborted)
    end)
  end)
end)
