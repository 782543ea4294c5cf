-- zoomlive.attempt: one outcome in, one decision out. Pure: no network, no
-- simulator, no clock but the numbers passed in.
local attempt = require "zoomlive.attempt"
local request = require "zoomlive.request"
local cjson = require "cjson"

local pipeline = require "zoomlive.pipeline"
local POL = { retries = 3, max_retry_wait = 60, backoff = { base = 0.5, cap = 8 } }
local T = 1700000000          -- a Unix time
local DATE = "Tue, 14 Nov 2023 22:13:20 GMT"   -- = T
local function half() return 0.5 end
local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

local function state(t) t = t or {} t.attempts = t.attempts or 1 t.deadline = t.deadline or 1e9 return t end
-- the clock the classifier reads: fixed readings, a fixed "random" draw
local function classify(req, r, st, now, time)
  local clock = pipeline.clock(function() return now or 0 end, function() return time or T end, half)
  return attempt.classify(req, r, st or state(), POL, clock)
end
local START = request.status_of("meeting", "1", "start", nil, "json")
local STOP = request.status_of("meeting", "1", "stop", nil, "json")
local FORM = request.status_of("meeting", "1", "start", nil, "multipart")
local function r429(msg, extra)
  local r = { status = 429, content_type = "application/json",
    body = cjson.encode { code = 429, message = msg or "You have reached the maximum per-second rate limit for this API." } }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

describe("zoomlive.attempt.classify", function()
  it("is done on 2xx, with the status, or with what the request decodes", function()
    assert.are.same({ "done", 204 }, { classify(STOP, { status = 204, body = "" }) })
    local get = assert(request.get("meeting", "get", 1))
    local v, value = classify(get, { status = 200, body = '{"stream_url":"rtmp://a","stream_key":"k","x":1}' })
    assert.are.equal("done", v)
    assert.are.same({ stream_url = "rtmp://a", stream_key = "k" }, value)
  end)

  it("fails a 2xx that is cut short or that cannot be decoded, with kind protocol", function()
    local v, _, err = classify(STOP, { status = 204, body = "", truncated = true })
    assert.are.equal("fail", v)
    assert.are.equal("protocol", err.kind)
    local get = assert(request.get("meeting", "get", 1))
    v, _, err = classify(get, { status = 200, body = "not json" })
    assert.are.equal("fail", v)
    assert.are.equal("protocol", err.kind)
  end)

  describe("429", function()
    it("tells a per-second 429 on a start from the 30-second start rule", function()
      local v, wait, err = classify(START, r429(nil, { rl_type = "QPS", retry_after = iso(T + 1), date = DATE }))
      assert.are.equal("retry", v)
      assert.are.equal(1, wait)
      assert.is_nil(err.start_rule)
      v, wait, err = classify(START, r429("Too many requests submitted to start the live stream of this "
        .. "meeting: 1. If the live stream has not already started, retry making a new request after 30 seconds.",
        { rl_type = "QPS", retry_after = iso(T + 30), date = DATE }))
      assert.are.equal("retry", v)
      assert.are.equal(30, wait)
      assert.is_true(err.start_rule)
    end)

    it("reads the start rule from its Retry-After alone, and a bare 429 on a start as the rule", function()
      local _, wait, err = classify(START, r429("", { retry_after = iso(T + 30), date = DATE }))
      assert.are.equal(30, wait)
      assert.is_true(err.start_rule)
      _, wait = classify(START, { status = 429, body = "" })
      assert.are.equal(30, wait)
      -- the same bare 429 on a stop is a per-second one: 1 s plus jitter
      _, wait = classify(STOP, { status = 429, body = "" })
      assert.are.equal(1 + 0.5 * 0.5, wait)
    end)

    it("measures a Retry-After date on the server's clock (its Date header)", function()
      -- our clock 5 s ahead of the server's: without Date the wait would be 0
      local _, wait = classify(STOP, r429(nil, { retry_after = iso(T + 1), date = DATE }), nil, 0, T + 5)
      assert.are.equal(1, wait)
      -- and 5 s behind: not 6 s
      _, wait = classify(STOP, r429(nil, { retry_after = iso(T + 2), date = DATE }), nil, 0, T - 5)
      assert.are.equal(2, wait)
    end)

    it("never retries a 429 at once, even when the date has passed", function()
      local v, wait = classify(STOP, r429(nil, { retry_after = iso(T - 10), date = DATE }))
      assert.are.equal("retry", v)
      assert.are.equal(attempt.MIN_429_WAIT, wait)
      v, wait = classify(STOP, r429(nil, { retry_after = "0" }))
      assert.are.equal("retry", v)
      assert.are.equal(attempt.MIN_429_WAIT, wait)
    end)

    it("reads a Retry-After too large to count, or a date far ahead, as a very long wait", function()
      for _, ra in ipairs({ "99999999999999999999999999", "9999-12-31T23:59:59Z", "Fri, 31 Dec 9999 23:59:59 GMT" }) do
        local v, status, err = classify(STOP, r429(nil, { rl_type = "QPS", retry_after = ra, date = DATE }))
        assert.are.equal("fail", v, ra)          -- past max_retry_wait: returned at once
        assert.are.equal(429, status)
        assert.truthy(err.retry_after > 1e9, ra)
      end
    end)

    it("fails a Daily-limit 429 and says when to retry", function()
      local v, status, err = classify(STOP, r429("daily", { rl_type = "Daily-limit",
        retry_after = iso(T + 3600), date = DATE }))
      assert.are.equal("fail", v)
      assert.are.equal(429, status)
      assert.are.equal(3600, err.retry_after)
    end)
  end)

  it("retries transport failures, timeouts, 502/503/504 and a bare 500 with backoff", function()
    for _, r in ipairs({ { kind = "transport", curl_code = 7, message = "refused" },
        { kind = "timeout", curl_code = 28, message = "timed out" },
        { status = 502, body = "" }, { status = 503, body = "" }, { status = 504, body = "" },
        { status = 500, body = "" } }) do
      local v, wait = classify(STOP, r, state { attempts = 2 })
      assert.are.equal("retry", v)
      assert.are.equal(0.5 * 0.5 * 2, wait)   -- rand 0.5 x min(cap, base * 2^1)
    end
  end)

  it("fails a 500 with a Zoom code and any other 4xx", function()
    for _, r in ipairs({ { status = 500, body = '{"code":1,"message":"x"}' }, { status = 404, body = "" },
        { status = 400, body = '{"code":4400,"message":"live"}' } }) do
      local v, status, err = classify(STOP, r)
      assert.are.equal("fail", v)
      assert.are.equal(r.status, status)
      assert.are.equal("http", err.kind)
    end
  end)

  it("asks for a new token once on 401/124, then fails as any 401", function()
    local r = { status = 401, body = '{"code":124,"message":"Invalid access token."}' }
    assert.are.equal("renew", (classify(STOP, r)))
    assert.are.equal("fail", (classify(STOP, r, state { renewed = true })))
  end)

  it("does not count an attempt that ended in a scheduler's queue (never began)", function()
    local st = state { attempts = 2 }
    local v, _, err = classify(STOP, { kind = "timeout", curl_code = 28, sent = false, queued = true,
      message = "deadline reached waiting for a free connection (concurrency): nothing sent" }, st, 2e9)
    assert.are.equal("fail", v)                -- past the deadline: no retry
    assert.are.equal(1, st.attempts)
    assert.are.equal(1, err.attempts)
    assert.is_nil(err.outcome_unknown)
    st = state { attempts = 1 }
    v, _, err = classify(STOP, { kind = "cancelled", final = true, sent = false, queued = true,
      message = "cancelled before it was sent" }, st)
    assert.are.equal("fail", v)
    assert.are.equal(0, err.attempts)
    assert.is_false(err.outcome_unknown)
  end)

  it("gives up a retry past the attempts, max_retry_wait or the deadline", function()
    local r = { status = 503, body = "", retry_after = "20" }
    assert.are.equal("retry", (classify(STOP, r)))
    assert.are.equal("fail", (classify(STOP, r, state { attempts = 4 })))
    assert.are.equal("fail", (classify(STOP, { status = 503, body = "", retry_after = "61" })))
    assert.are.equal("fail", (classify(STOP, r, state { deadline = 15 }, 0)))
  end)

  describe("an answer that was lost", function()
    it("marks the call outcome_unknown once request bytes left", function()
      local st = state()
      assert.are.equal("retry", (classify(START, { kind = "transport", curl_code = 56, message = "reset", sent = true }, st)))
      assert.is_true(st.outcome_unknown)
      st.attempts = 2
      -- the start rule's 429 now likely counts our own lost start: not retried
      local v, _, err = classify(START, r429("Too many requests submitted to start the live stream of this "
        .. "meeting: 1. ... retry making a new request after 30 seconds."), st)
      assert.are.equal("fail", v)
      assert.is_true(err.outcome_unknown)
      assert.truthy(err.message:find("may have been applied", 1, true))
    end)

    it("does not mark a failure before any byte left, nor a GET", function()
      local st = state()
      classify(START, { kind = "transport", curl_code = 7, message = "refused", sent = false }, st)
      assert.is_nil(st.outcome_unknown)
      classify(assert(request.get("meeting", "get", 1)), { kind = "transport", curl_code = 56, sent = true }, st)
      assert.is_nil(st.outcome_unknown)
    end)
  end)

  it("ends a call its scheduler stopped, whatever the kind", function()
    local v, _, err = classify(STOP, { kind = "timeout", final = true, message = "batch deadline" })
    assert.are.equal("fail", v)
    assert.are.equal("timeout", err.kind)
    v, _, err = classify(STOP, { kind = "cancelled", sent = true, message = "cancelled" })
    assert.are.equal("fail", v)
    assert.is_true(err.outcome_unknown)
  end)

  it("makes a token endpoint's refusal kind auth, and retries its passing failures", function()
    local treq = request.token("https://zoom.us/oauth/token", "acct")
    local v, _, err = classify(treq, { status = 400, body = '{"reason":"Invalid client_id or client_secret","error":"invalid_client"}' })
    assert.are.equal("fail", v)
    assert.are.equal("auth", err.kind)
    assert.are.equal("Invalid client_id or client_secret", err.message)
    assert.are.equal("retry", (classify(treq, { status = 503, body = "" })))
    v, _, err = classify(treq, { kind = "transport", curl_code = 7, message = "refused", sent = true })
    assert.are.equal("retry", v)
    assert.truthy(err.message:find("^token endpoint"))
  end)

  it("says which option to change when a server refuses the multipart form (400/300)", function()
    local _, _, err = classify(FORM, { status = 400, body = '{"code":300,"message":"Request Body should be a valid JSON object."}' })
    assert.truthy(err.message:find('encoding = "json"', 1, true))
  end)

  it("keeps server text short and free of control characters", function()
    local _, _, err = classify(STOP, { status = 400, body = cjson.encode { code = 1, message = ("x\n"):rep(3000) } })
    assert.is_nil(err.message:find("[%c]"))
    assert.truthy(#err.message <= attempt.MESSAGE_MAX + 3)
  end)
end)
