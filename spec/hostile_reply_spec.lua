-- A reply the core cannot take (a header line over libcurl's 100 KiB limit)
-- is a failed attempt of kind "transport", on every path: a call, a batch
-- item, a token fetch. Nothing raises.
local zoomlive = require "zoomlive"
local support = require "support"

local function reply_with_header(kib, status)
  return ("HTTP/1.1 %d X\r\nX-Big: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    :format(status or 204, string.rep("h", kib * 1024))
end

describe("a reply the core cannot take", function()
  it("is a transport error for the call, with a clear message", function()
    for _, status in ipairs { 204, 429, 500 } do
      local srv = support.canned_server(reply_with_header(110, status), 1)
      local c = zoomlive.new { token = "t", base_url = srv.url .. "/v2", retries = 0 }
      local ok, st, err, info = pcall(c.stop, c, 68423085)
      srv.stop()
      c:close()
      assert.is_true(ok, tostring(st))
      assert.is_nil(st)
      assert.equal("transport", err.kind)
      assert.matches("could not be taken", err.message, 1, true)
      assert.equal(1, info.attempts)
      assert.is_true(#tostring(err) < 300)
    end
  end)

  it("is not hit below the limit (90 KiB header line)", function()
    local srv = support.canned_server(reply_with_header(90, 204), 1)
    local c = zoomlive.new { token = "t", base_url = srv.url .. "/v2", retries = 0 }
    local st = c:stop(68423085)
    srv.stop()
    c:close()
    assert.equal(204, st)
  end)

  it("is retried like any transport failure", function()
    local srv = support.canned_server(reply_with_header(200, 204), 2)
    local c = zoomlive.new { token = "t", base_url = srv.url .. "/v2", retries = 1, sleep = function() end }
    local ok, st, err, info = pcall(c.stop, c, 68423085)
    srv.stop()
    c:close()
    assert.is_true(ok, tostring(st))
    assert.equal("transport", err.kind)
    assert.equal(2, info.attempts)
  end)

  it("fails only its own batch item", function()
    local srv = support.canned_server(reply_with_header(110, 204), 2)
    local c = zoomlive.new { token = "t", base_url = srv.url .. "/v2", retries = 0 }
    local ok, results = pcall(c.update_many, c, { { 68423085, "stop" }, { 93398114182, "stop" } },
      { concurrency = 1 })
    srv.stop()
    c:close()
    assert.is_true(ok, tostring(results))
    assert.equal(2, #results)
    for _, r in ipairs(results) do
      assert.equal("transport", r.err.kind)
    end
  end)

  it("a 4 MiB token libcurl cannot send is a transport error before a byte leaves", function()
    local testing = require "zoomlive.testing"
    local sim = testing.start { qps = 100000, daily = 0 }
    local big = string.rep("t", 4 * 1024 * 1024)
    for _, tok in ipairs { big, function() return big end } do
      local c = zoomlive.new { token = tok, base_url = sim.base_url, retries = 0 }
      local ok, st, err = pcall(c.stop, c, 68423085)
      c:close()
      assert.is_true(ok, tostring(st))
      assert.is_nil(st)
      assert.equal("transport", err.kind)
      assert.matches("request could not be built", err.message, 1, true)
      assert.is_nil(tostring(err):find("tttt", 1, true))   -- never the token
    end
    assert.equal(0, #sim:requests())
    sim:stop()
  end)

  it("from the token endpoint is an error of the call, not a raise", function()
    local srv = support.canned_server(reply_with_header(110, 200), 1)
    local c = zoomlive.new { account_id = "a", client_id = "b", client_secret = "c",
      oauth_url = srv.url .. "/oauth/token", base_url = "http://127.0.0.1:9/v2", retries = 0 }
    local ok, st, err = pcall(c.stop, c, 68423085)
    srv.stop()
    c:close()
    assert.is_true(ok, tostring(st))
    assert.is_nil(st)
    assert.matches("could not be taken", tostring(err), 1, true)
  end)
end)
