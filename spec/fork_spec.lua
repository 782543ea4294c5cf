-- Specs for the fork rule: after fork(), a child that uses a client (or a
-- core.driver) made before the fork never shares its parent's connection or
-- random state. Parent and child ask for different meetings at the same
-- time over what was one keep-alive connection; each must get its own
-- answer, and their multipart boundaries and retry jitter must differ.
-- Run: busted --lua=lua5.4 spec/fork_spec.lua
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"
local testing = require "zoomlive.testing"
local sys = require "testsys"

local EXE = os.getenv("ZOOMLIVE_SIM") or testing.default_exe
local A, B = 85746065432, 85746065433

-- Runs fn in a child; returns the string it returned (or its error).
local function in_child(fn)
  local r, w = sys.pipe()
  local pid = sys.fork()
  if pid == 0 then
    sys.close(r)
    local ok, out = pcall(fn)
    sys.write(w, (ok and "ok " or "error ") .. tostring(out))
    sys.close(w)
    sys._exit(0)
  end
  sys.close(w)
  return {
    result = function()
      local parts = {}
      while true do
        local s = sys.read(r, 4096)
        if s == "" then break end
        parts[#parts + 1] = s
      end
      sys.close(r)
      assert.are.equal(0, sys.waitpid(pid))
      local text = table.concat(parts)
      assert.truthy(text:find("^ok "), text)
      return text:sub(4)
    end,
  }
end

-- what a process draws from zoomlive's random numbers
local function draws()
  local _, ctype = core.multipart { "action", "stop" }
  return ctype:match("boundary=(%w+)") .. " " .. string.format("%.17g", core.backoff(40, 1, 1e12))
end

describe("after fork()", function()
  local sim
  before_each(function()
    sim = testing.start { exe = EXE, any_meeting = true, qps = 0, daily = 0 }
    -- both requests are in flight at once: a shared connection would cross them
    sim:fault { path = "/v2/meetings/", latency_ms = 300 }
  end)
  after_each(function()
    if sim then sim:stop() end
  end)

  it("a client's child gets its own answers over its own connection", function()
    local c = zoomlive.new { base_url = sim.base_url, token = sim.token }
    local v = assert(c:get(A))   -- the keep-alive connection exists now
    assert.are.equal("key-" .. A, v.stream_key)
    local child = in_child(function()
      local got, err = c:get(B)
      assert(got, tostring(err))
      c:close()                  -- no goodbye on the parent's connection
      return got.stream_key
    end)
    local mine, err = c:get(A)
    assert.is_nil(err)
    assert.are.equal("key-" .. A, mine.stream_key)
    assert.are.equal("key-" .. B, child.result())
    -- the parent's client goes on working after the child is gone
    local again = assert(c:get(A))
    assert.are.equal("key-" .. A, again.stream_key)
    c:close()
  end)

  it("a core.multi's child (update_many's engine) gets its own answers over its own connection", function()
    local m = core.multi { concurrency = 1 }
    local function key(id)
      m:submit({ method = "GET", url = sim.base_url .. "/meetings/" .. id .. "/livestream" }, sim.token)
      while m:wait(1) == 0 do end
      local _, r = m:take()
      assert(r.status == 200, tostring(r.message))
      return (r.body:match('"stream_key":"([^"]*)"'))
    end
    assert.are.equal("key-" .. A, key(A))   -- the keep-alive connection exists now
    local child = in_child(function() return key(B) end)
    assert.are.equal("key-" .. A, key(A))
    assert.are.equal("key-" .. B, child.result())
    assert.are.equal("key-" .. A, key(A))   -- the parent's multi goes on working
    m:close()
  end)

  it("a child draws its own multipart boundaries and jitter", function()
    local before = draws()   -- the generator is seeded before the fork
    assert.are.equal("string", type(before))
    local child = in_child(draws)
    local parent = draws()
    local theirs = child.result()
    local pb, pj = parent:match("^(%w+) (.+)$")
    local cb, cj = theirs:match("^(%w+) (.+)$")
    assert.are.equal(24, #pb)   -- ZL_BOUNDARY_LEN
    assert.are.equal(24, #cb)
    assert.are_not.equal(pb, cb)
    assert.are_not.equal(pj, cj)
  end)

  it("a core.driver's child starts afresh and gets its own answers", function()
    local d = core.driver { concurrency = 2 }
    local watch = {}
    local function run(want)
      local out = {}
      for _ = 1, 20000 do
        local id, resp = d:take()
        if id then
          out[id] = resp
          want = want - 1
          if want == 0 then return out end
        else
          local t = d:timer()
          local ready = sys.poll(watch, t and math.ceil(t * 1000) or 2000)
          if next(ready) == nil then d:timeout_action() end
          for fd, ev in pairs(ready) do d:socket_action(fd, ev) end
        end
        for _, ch in ipairs(d:changes()) do
          watch[ch.fd] = ch.what ~= "remove" and ({ ["in"] = "r", out = "w", inout = "rw" })[ch.what] or nil
        end
      end
      error("no answer")
    end
    local function get(id)
      return d:submit { method = "GET", url = sim.base_url .. "/meetings/" .. id .. "/livestream",
                        token = sim.token }
    end
    local first = get(A)
    assert.truthy(run(1)[first].body:find("key-" .. A, 1, true))
    local child = in_child(function()
      -- the inherited watch set is the parent's: the child's driver says
      -- which sockets to drop and which to watch
      local id = get(B)
      local body = run(1)[id].body
      d:close()
      return body:match('"stream_key"%s*:%s*"([^"]+)"')
    end)
    local id = get(A)
    local body = run(1)[id].body
    assert.truthy(body:find('"key-' .. A .. '"', 1, true), body)
    assert.are.equal("key-" .. B, child.result())
    d:close()
  end)

  it("a driver forked with a call in flight: the child lets go, the parent's call completes", function()
    local d = core.driver { concurrency = 2 }
    local watch = {}
    local function drain()
      local removed = {}
      for _, ch in ipairs(d:changes()) do
        if ch.what == "remove" then removed[#removed + 1] = ch.fd end
        watch[ch.fd] = ch.what ~= "remove" and ({ ["in"] = "r", out = "w", inout = "rw" })[ch.what] or nil
      end
      return removed
    end
    local function turn()
      local t = d:timer()
      local ready = sys.poll(watch, t and math.ceil(t * 1000) or 2000)
      if next(ready) == nil then d:timeout_action() end
      for fd, ev in pairs(ready) do d:socket_action(fd, ev) end
      drain()
    end
    local call = d:submit { method = "GET", url = sim.base_url .. "/meetings/" .. A .. "/livestream",
                            token = sim.token }
    local fd
    for _ = 1, 2000 do   -- until the request is out and the answer awaited (300 ms away)
      turn()
      local f, w = next(watch)
      if f and w == "r" and next(watch, f) == nil then fd = f break end
    end
    assert.is_not_nil(fd)
    local child = in_child(function()
      d:timeout_action()                 -- the child's first call starts it afresh
      local removed = drain()
      local id, resp = d:take()
      d:close()
      return table.concat({ tostring(removed[1] == fd and #removed == 1), tostring(id == call),
                            tostring(resp.kind), tostring(resp.sent),
                            tostring(resp.message:find("forked", 1, true) ~= nil) }, " ")
    end)
    -- cancelled, not a transport failure: a failure would be retried, and
    -- the child would send again what the parent carries on
    assert.are.equal("true true cancelled true true", child.result())
    local resp
    for _ = 1, 2000 do
      local id, r = d:take()
      if id then assert.are.equal(call, id) resp = r break end
      turn()
    end
    assert.are.equal(200, resp.status)
    assert.truthy(resp.body:find("key-" .. A, 1, true))
    d:close()
  end)
end)
