-- Specs for zoomlive.core.driver, the non-blocking driver, run by a plain
-- poll() loop written here against zoomlive-sim: requests and responses as
-- tables, many at a capped concurrency, timers, cancels (waiting, in flight),
-- socket-watch changes, bad specs, and the userdata's life cycle.
-- Behaviour only, never wall-clock durations.
-- Run: busted --lua=lua5.4 spec/driver_core_spec.lua
local core = require "zoomlive.core"
local testing = require "zoomlive.testing"
local sys = require "testsys"

local EXE = os.getenv("ZOOMLIVE_SIM") or testing.default_exe

local WHAT = { ["in"] = "r", out = "w", inout = "rw" }

-- The host: a set of watched descriptors and one poll() per turn.
local function host(d)
  local h = { watch = {}, removed = {}, max_watched = 0 }
  function h.apply()
    for _, c in ipairs(d:changes()) do
      assert.is_true(math.type(c.fd) == "integer" and c.fd >= 0)
      if c.what == "remove" then
        assert.is_not_nil(h.watch[c.fd], "removal of a socket never watched")
        h.watch[c.fd] = nil
        h.removed[#h.removed + 1] = c.fd
      else
        assert.is_not_nil(WHAT[c.what], c.what)
        h.watch[c.fd] = WHAT[c.what]
      end
    end
    local n = 0
    for _ in pairs(h.watch) do n = n + 1 end
    h.watched = n
    if n > h.max_watched then h.max_watched = n end
  end
  function h.turn()
    local t = d:timer()
    local ready = sys.poll(h.watch, t and math.ceil(t * 1000) or 2000)
    if next(ready) == nil then
      d:timeout_action()
    else
      for fd, ev in pairs(ready) do d:socket_action(fd, ev) end
    end
    h.apply()
  end
  -- turns until `want` results were taken into `out` (id -> resp)
  function h.collect(want, out)
    out = out or {}
    local got = 0
    for _ = 1, 20000 do
      while true do
        local id, resp = d:take()
        if not id then break end
        assert.is_nil(out[id], "an id reported twice")
        out[id] = resp
        got = got + 1
      end
      if got >= want then return out end
      h.turn()
    end
    error("no result after many turns")
  end
  -- turns until the only watched socket waits for the answer alone
  function h.until_in_flight()
    for _ = 1, 2000 do
      h.turn()
      local fd, w = next(h.watch)
      if fd and next(h.watch, fd) == nil and w == "r" then return fd end
    end
    error("the request never went out")
  end
  return h
end

describe("core.driver", function()
  local sim, d, h
  local function url(path) return sim.base_url .. path end
  local function get(id)
    return { method = "GET", url = url("/meetings/" .. id .. "/livestream"), token = sim.token }
  end
  local function stop(id)
    return { method = "PATCH", url = url("/meetings/" .. id .. "/livestream/status"), token = sim.token,
             content_type = "application/json", body = '{"action":"stop"}' }
  end

  before_each(function()
    sim = testing.start { exe = EXE, any_meeting = true, qps = 0, daily = 0 }
    d = core.driver { concurrency = 4, timeout = 10 }
    h = host(d)
  end)
  after_each(function()
    if d then d:close() end
    if sim then sim:stop() end
  end)

  it("runs a request table to a response table", function()
    assert.is_nil(d:timer())
    local id = d:submit(stop(85746065432))
    assert.are.equal(1, id)
    h.apply()
    assert.is_true(d:timer() >= 0)
    local res = h.collect(1)
    local r = res[id]
    assert.are.equal(204, r.status)
    assert.are.equal("", r.body)
    assert.is_falsy(r.truncated)
    assert.is_nil(r.kind)
    assert.are.equal("number", type(r.elapsed))
    local last = sim:requests()
    last = last[#last]
    assert.are.equal("PATCH", last.method)
    assert.are.equal("/v2/meetings/85746065432/livestream/status", last.path)
    assert.are.equal('{"action":"stop"}', last.body)
    assert.are.equal(r.tracking_id, last.tracking_id or r.tracking_id)
    assert.is_nil(d:take())
    -- idle again: nothing watched, no timer
    assert.are.equal(0, h.watched)
    assert.is_nil(d:timer())
  end)

  it("answers a GET with its body and headers", function()
    local id = d:submit(get(85746065432))
    local r = h.collect(1)[id]
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find("stream_url", 1, true))
    assert.truthy(r.content_type:find("application/json", 1, true))
  end)

  it("encodes a form as multipart/form-data", function()
    local spec = stop(85746065433)
    spec.body, spec.content_type = nil, nil
    spec.form = { "action", "stop" }
    local id = d:submit(spec)
    local r = h.collect(1)[id]
    assert.are.equal(204, r.status)
    local log = sim:requests()
    local e = log[#log]
    assert.truthy(e.content_type:find("^multipart/form%-data; boundary="))
    assert.are.equal("stop", e.fields.action)
  end)

  it("runs many at the concurrency cap, every id once", function()
    local ids = {}
    for i = 1, 40 do ids[i] = d:submit(stop(91000000000 + i)) end
    local waiting, running, done = d:counts()
    assert.are.same({ 36, 4, 0 }, { waiting, running, done })
    local res = h.collect(40)
    for i = 1, 40 do
      assert.are.equal(204, res[ids[i]].status)
    end
    assert.is_true(h.max_watched >= 1 and h.max_watched <= 4)
    local n = 0
    for _, e in ipairs(sim:requests()) do
      if e.path:find("^/v2/meetings/910000000%d+/livestream/status$") then n = n + 1 end
    end
    assert.are.equal(40, n)
    assert.are.same({ 0, 0, 0 }, { d:counts() })
  end)

  it("ends a transfer on its timer alone", function()
    sim:fault { path = "/v2/meetings/111", hang = true }
    local spec = get(111)
    spec.timeout = 0.3
    local id = d:submit(spec)
    local r = h.collect(1)[id]
    assert.are.equal("timeout", r.kind)
    assert.are.equal(28, r.curl_code)   -- CURLE_OPERATION_TIMEDOUT
    assert.is_nil(r.status)
    assert.is_true(r.sent)
    assert.are.equal("string", type(r.message))
  end)

  it("reports a refused connection as transport, nothing sent", function()
    local id = d:submit { method = "GET", url = "http://127.0.0.1:1/v2/x", token = "t" }
    local r = h.collect(1)[id]
    assert.are.equal("transport", r.kind)
    assert.is_false(r.sent)
  end)

  it("finishes a request the engine refuses at once, as an argument failure", function()
    local spec = get(85746065432)
    spec.token = "bad\r\nX-Injected: 1"
    local id = d:submit(spec)
    local tid, r = d:take()
    assert.are.equal(id, tid)
    assert.are.equal("argument", r.kind)
    assert.is_false(r.sent)
  end)

  describe("cancel", function()
    it("of a waiting transfer: nothing sent, never reported", function()
      local one = core.driver { concurrency = 1 }
      local h1 = host(one)
      sim:fault { path = "/v2/meetings/111", hang = true }
      local a = one:submit(get(111))
      local b = one:submit(get(85746065432))
      assert.are.same({ 1, 1, 0 }, { one:counts() })
      assert.is_false(one:cancel(b))
      assert.is_nil(one:cancel(b))        -- gone
      assert.is_false(one:cancel(a))      -- running, no connection made yet
      h1.apply()
      assert.are.same({ 0, 0, 0 }, { one:counts() })
      assert.are.equal(0, h1.watched)
      assert.is_nil(one:take())
      one:close()
    end)

    it("in flight: may have been sent; the socket stays open until the host lets go", function()
      sim:fault { path = "/v2/meetings/111", hang = true }
      local a = d:submit(get(111))
      local fd = h.until_in_flight()
      assert.is_true(d:cancel(a))
      assert.is_true(sys.isopen(fd))
      h.apply()
      assert.are.same({ fd }, h.removed)
      assert.is_true(sys.isopen(fd))      -- until the next action
      d:timeout_action()
      assert.is_false(sys.isopen(fd))
      assert.is_nil(d:take())
      -- the driver goes on: the next request is answered
      local id = d:submit(get(85746065432))
      assert.are.equal(200, h.collect(1)[id].status)
    end)

    it("of a finished transfer not yet taken drops it", function()
      local id = d:submit(get(85746065432))
      for _ = 1, 2000 do
        h.turn()
        if select(3, d:counts()) == 1 then break end
      end
      assert.is_true(d:cancel(id))
      assert.is_nil(d:take())
    end)

    it("of ids never handed out", function()
      assert.is_nil(d:cancel(0))
      assert.is_nil(d:cancel(-5))
      assert.is_nil(d:cancel(12345))
    end)
  end)

  it("refuses bad specs with clear errors and loses nothing", function()
    local function refuses(spec, pat)
      local ok, err = pcall(d.submit, d, spec)
      assert.is_false(ok)
      assert.truthy(tostring(err):find(pat, 1, true), tostring(err))
    end
    refuses({ url = url("/x") }, "'method' and 'url' are required")
    refuses({ method = "GET" }, "'method' and 'url' are required")
    refuses({ method = "GET", url = 5 }, "request field 'url' must be a string")
    refuses({ method = "GET", url = url("/x\0y") }, "request field 'url' holds a NUL byte")
    refuses({ method = "GET", url = url("/x"), timeout = -1 }, "request field 'timeout'")
    refuses({ method = "GET", url = url("/x"), timeout = "soon" }, "request field 'timeout'")
    refuses({ method = "GET", url = url("/x"), form = { "a" } }, "name, value pairs")
    refuses({ method = "GET", url = url("/x"), form = { "a", 1 } }, "must be strings")
    refuses({ method = "GET", url = url("/x"), form = { "a\r\n", "b" } }, "invalid form field name")
    assert.has_error(function() d:submit("GET") end)
    assert.has_error(function() d:socket_action(3, "x") end)
    assert.has_error(function() d:socket_action(-1, "r") end)
    assert.has_error(function() d:socket_action(3, 9) end)
    -- nothing was queued, and the driver still works
    assert.are.same({ 0, 0, 0 }, { d:counts() })
    local id = d:submit(get(85746065432))
    assert.are.equal(200, h.collect(1)[id].status)
  end)

  it("takes actions with nothing to do, and events on sockets it never gave", function()
    assert.are.same({}, d:changes())
    d:timeout_action()
    d:socket_action(0, "r")      -- stdin: not a socket of the driver's
    d:socket_action(12345, 7)
    assert.are.same({}, d:changes())
    assert.is_nil(d:timer())
    assert.is_nil(d:take())
    assert.are.same({ 0, 0, 0 }, { d:counts() })
    local id = d:submit(get(85746065432))
    assert.are.equal(200, h.collect(1)[id].status)
  end)

  it("refuses bad options", function()
    assert.has_error(function() core.driver { concurrency = 0 } end)
    assert.has_error(function() core.driver { concurrency = 1.5 } end)
    assert.has_error(function() core.driver { timeout = -2 } end)
    assert.has_error(function() core.driver "x" end)
  end)

  it("closes idempotently, with transfers in every state", function()
    sim:fault { path = "/v2/meetings/111", hang = true }
    local x = core.driver { concurrency = 1 }
    local hx = host(x)
    x:submit(get(111))
    x:submit(get(85746065432))
    hx.until_in_flight()
    assert.truthy(tostring(x):find("1 waiting, 1 running", 1, true))
    x:close()
    x:close()
    assert.truthy(tostring(x):find("closed", 1, true))
    assert.has_error(function() x:submit(get(1)) end, "attempt to use a closed zoomlive.driver")
    assert.has_error(function() x:take() end, "attempt to use a closed zoomlive.driver")
    do
      local y <close> = core.driver()
      y:submit(get(85746065432))
    end
    local z = core.driver()
    z:submit(get(111))
    z = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
  end)
end)
