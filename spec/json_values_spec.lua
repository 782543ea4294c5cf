-- Numbers that arrive as floats (lua-cjson decodes every JSON number as one)
-- are taken only when they stand for one integer exactly: ids at or beyond
-- 2^53 are refused before a byte is sent, and numbers in replies (a token's
-- expires_in, Zoom's error code) are checked the same way.
local zoomlive = require "zoomlive"
local validate = require "zoomlive.validate"
local testing = require "zoomlive.testing"
local cjson = require "cjson"
local support = require "support"

local TWO53 = 2.0 ^ 53

describe("floats as ids", function()
  local sim, c
  setup(function()
    sim = testing.start { qps = 100000, daily = 0, any_meeting = true, start_cooldown = 0 }
    c = zoomlive.new { token = sim.token, base_url = sim.base_url, retries = 0 }
  end)
  teardown(function()
    c:close()
    sim:stop()
  end)
  before_each(function() sim:clear_requests() end)

  local function refused(v, pattern)
    local st, err, info = c:stop(v)
    assert.is_nil(st)
    assert.equal("argument", err.kind)
    assert.equal("meeting_id", err.field)
    assert.equal(0, info.attempts)
    if pattern then assert.matches(pattern, err.message) end
    assert.equal(0, #sim:requests())
    return err
  end

  local PRECISION = "pass the id as a string or an integer"

  it("refuses the id of the field case: 12345678901234567 decoded by lua-cjson", function()
    local job = cjson.decode('{"meeting_id": 12345678901234567}')
    assert.equal("float", math.type(job.meeting_id))
    local err = refused(job.meeting_id, PRECISION)
    assert.matches("2%^53", tostring(err))
  end)

  it("refuses 2^53 itself and its neighbours above as floats", function()
    refused(TWO53, PRECISION)                 -- 9007199254740993 decodes to it
    refused(TWO53 + 2, PRECISION)
    refused(2.0 ^ 62, PRECISION)
    refused(1e300, PRECISION)
    refused(cjson.decode("[9223372036854775807]")[1], PRECISION)
  end)

  it("refuses negative floats beyond -2^53 with the same message", function()
    refused(-TWO53, PRECISION)
    refused(-1e300, PRECISION)
  end)

  it("refuses -0.0, NaN and the infinities", function()
    refused(-0.0, "positive")
    refused(0 / 0, "nan")
    refused(math.huge, "inf")
    refused(-math.huge, "inf")
  end)

  it("takes floats below 2^53, and the same numbers as integers or strings", function()
    local below = TWO53 - 1                  -- 9007199254740991.0, exact
    assert.equal(204, c:stop(below))
    assert.equal("/v2/meetings/9007199254740991/livestream/status", sim:requests()[1].path)
    sim:clear_requests()
    assert.equal(204, c:stop(math.tointeger(TWO53)))
    assert.equal(204, c:stop("12345678901234567"))
    assert.equal(204, c:stop(12345678901234567))
    local log = sim:requests()
    assert.equal("/v2/meetings/9007199254740992/livestream/status", log[1].path)
    assert.equal("/v2/meetings/12345678901234567/livestream/status", log[2].path)
    assert.equal("/v2/meetings/12345678901234567/livestream/status", log[3].path)
  end)

  it("refuses such an id in a batch item, alone", function()
    local items = cjson.decode('[{"id": 12345678901234567, "action": "stop"},'
      .. '{"id": 68423085, "action": "stop"}]')
    local results = c:update_many(items)
    assert.equal("argument", results[1].err.kind)
    assert.matches(PRECISION, results[1].err.message)
    assert.equal(204, results[2].status)
    local log = sim:requests()
    assert.equal(1, #log)
    assert.equal("/v2/meetings/68423085/livestream/status", log[1].path)
  end)

  it("refuses it for webinars and the normalize_id helper too", function()
    local st, err = c:webinar_stop(TWO53 + 2)
    assert.is_nil(st)
    assert.equal("webinar_id", err.field)
    local id, e = zoomlive.normalize_id(cjson.decode("[12345678901234567]")[1])
    assert.is_nil(id)
    assert.matches(PRECISION, e.message)
  end)
end)

describe("validate.integer and validate.finite", function()
  it("take exact integers only", function()
    assert.equal(5, validate.integer(5.0, "x"))
    assert.equal(math.tointeger(TWO53 - 1), validate.integer(TWO53 - 1, "x"))
    for _, v in ipairs { TWO53, -TWO53, 0 / 0, math.huge, 1.5 } do
      local n, e = validate.integer(v, "x")
      assert.is_nil(n)
      assert.equal("argument", e.kind)
    end
    assert.is_nil(validate.integer(7, "x", 1, 5))
  end)
  it("refuse NaN and the infinities", function()
    assert.equal(1.5, validate.finite(1.5, "x", 0, 2))
    for _, v in ipairs { 0 / 0, math.huge, -math.huge, 3 } do
      assert.is_nil(validate.finite(v, "x", 0, 2))
    end
  end)
end)

describe("numbers in replies", function()
  it("a token response whose expires_in is not a usable number is malformed", function()
    for _, exp in ipairs { "1e999", "-1e999", "-5", "0", "1e300", '"soon"' } do
      local srv = support.canned_server(support.json_reply(200,
        '{"access_token":"abc","token_type":"bearer","expires_in":' .. exp .. '}'))
      local c = zoomlive.new { account_id = "a", client_id = "b", client_secret = "s",
        oauth_url = srv.url .. "/oauth/token", base_url = "http://127.0.0.1:9/v2", retries = 0 }
      local st, err = c:stop(68423085)
      srv.stop()
      c:close()
      assert.is_nil(st, exp)
      assert.equal("auth", err.kind, exp)
      assert.matches("expires_in", err.message, 1, true)
    end
  end)

  it("Zoom's error code is kept only when it is an exact integer", function()
    for body, want in pairs { ['{"code":3001,"message":"m"}'] = 3001,
        ['{"code":12345678901234567,"message":"m"}'] = false,
        ['{"code":1e999,"message":"m"}'] = false, ['{"code":3001.5,"message":"m"}'] = false } do
      local srv = support.canned_server(support.json_reply(404, body))
      local c = zoomlive.new { token = "t", base_url = srv.url .. "/v2", retries = 0 }
      local st, err = c:stop(68423085)
      srv.stop()
      c:close()
      assert.equal(404, st)
      assert.equal(want or nil, err.code, body)
      assert.is_nil(tostring(err):find("e+", 1, true), body)
    end
  end)
end)
