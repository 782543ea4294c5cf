-- zoomlive-sim --json-only: a /v2 write whose body is not a JSON object is
-- refused as Zoom's error catalogue says (400, code 300, "Request Body
-- should be a valid JSON object."), and nothing changes.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"
local core = require "zoomlive.core"

local MSG = "Request Body should be a valid JSON object."
local ID = 68423085

describe("zoomlive-sim --json-only", function()
  local sim
  setup(function() sim = testing.start { qps = 100000, daily = 0, start_cooldown = 0, json_only = true } end)
  teardown(function() sim:stop() end)
  before_each(function() sim:reset() end)

  local function client(enc)
    return zoomlive.new { token = sim.token, base_url = sim.base_url, encoding = enc, retries = 0 }
  end

  it("refuses the multipart form with 400/300 and leaves the stream as it was", function()
    local before = sim:meeting(ID)
    local c = client("multipart")
    local st, err = c:start(ID, { display_name = "Hall" })
    c:close()
    assert.equal(400, st)
    assert.equal(300, err.code)
    assert.equal(MSG, err.message:sub(1, #MSG))
    assert.matches('encoding = "json"', err.message, 1, true)   -- the client's hint
    local after = sim:meeting(ID)
    assert.equal(before.status, after.status)
    assert.same(before.settings, after.settings)
    assert.equal(400, sim:requests()[1].status)
  end)

  it("takes the JSON form", function()
    local c = client("json")
    assert.equal(204, c:stop(ID))
    assert.equal(204, c:start(ID, { display_name = "Hall" }))
    c:close()
    assert.equal("Hall", sim:meeting(ID).settings.display_name)
  end)

  it("refuses urlencoded, plain text, an empty body and a JSON array alike", function()
    local conn = core.new {}
    local url = sim.base_url .. "/meetings/" .. ID .. "/livestream/status"
    for _, case in ipairs {
      { "application/x-www-form-urlencoded", "action=stop" },
      { "text/plain", '{"action":"stop"}' },
      { nil, nil },
      { "application/json", '["stop"]' },
    } do
      sim:clear_requests()
      conn:perform { method = "PATCH", url = url, token = sim.token, content_type = case[1], body = case[2] }
      local r = sim:requests()[1]
      assert.equal(400, r.status, tostring(case[1]))
    end
    conn:close()
  end)

  it("is a switch of /_sim/config, off by default", function()
    assert.is_true(sim:config().json_only)
    sim:config { json_only = false }
    local c = client("multipart")
    assert.equal(204, c:stop(ID))
    sim:config { json_only = true }
    assert.equal(400, c:stop(ID))
    c:close()
    local plain = testing.start { qps = 100000, daily = 0 }
    assert.is_false(plain:config().json_only)
    c = zoomlive.new { token = plain.token, base_url = plain.base_url, encoding = "multipart" }
    assert.equal(204, c:stop(ID))
    c:close()
    plain:stop()
  end)
end)
