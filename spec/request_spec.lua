-- zoomlive.request: every call as one request value. Pure: no network.
local request = require "zoomlive.request"
local core = require "zoomlive.core"

describe("zoomlive.request", function()
  it("builds the status update as JSON by default, keys in a fixed order", function()
    local r = assert(request.status("meeting", "update", 68423085, "start",
      { display_name = "Town hall", active_speaker_name = false }))
    assert.are.same({ name = "update", method = "PATCH", kind = "meeting", id = "68423085",
      action = "start", path = "/meetings/68423085/livestream/status", content_type = "application/json",
      body = '{"action":"start","settings":{"active_speaker_name":false,"display_name":"Town hall"}}' }, r)
  end)

  it("builds the multipart form on request, the settings part left out without settings", function()
    local r = assert(request.status("webinar", "webinar_stop", "81234567890", "stop", nil, "multipart"))
    assert.are.equal("/webinars/81234567890/livestream/status", r.path)
    assert.are.same({ "action", "stop" }, r.form)
    assert.is_nil(r.body)
    -- the core encodes exactly those fields
    local body, ctype = core.multipart(r.form)
    local b = ctype:match("boundary=(.+)$")
    assert.are.equal("--" .. b .. "\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nstop\r\n--"
      .. b .. "--\r\n", body)
  end)

  it("returns nil, err of kind argument for bad values and raises for bad types", function()
    local r, err = request.status("meeting", "update", 1, "begin")
    assert.is_nil(r)
    assert.are.equal("argument", err.kind)
    assert.are.equal("action", err.field)
    assert.has_error(function() request.status("meeting", "update", 1, 42) end)
  end)

  it("builds getters with a decoder and configure with the stream key in the body only", function()
    local g = assert(request.get("meeting", "get", "5"))
    assert.are.equal("GET", g.method)
    assert.are.equal("/meetings/5/livestream", g.path)
    assert.is_function(g.decode)
    local c = assert(request.configure("webinar", "webinar_configure", 7,
      { stream_url = "rtmp://a/b", stream_key = "sekret", page_url = "https://x/y" }))
    assert.are.equal("PATCH", c.method)
    assert.truthy(c.body:find("sekret", 1, true))
    assert.is_nil(request.describe(c):find("sekret", 1, true))
  end)

  it("turns a request into the core's value for one attempt", function()
    local r = assert(request.status("meeting", "update", 1, "stop"))
    assert.are.same({ method = "PATCH", url = "http://h/v2/meetings/1/livestream/status", token = "t",
      content_type = "application/json", body = '{"action":"stop"}', timeout = 5 },
      request.spec(r, "http://h/v2", "t", 5))
  end)

  it("keeps the token request free of the client secret", function()
    local t = request.token("https://zoom.us/oauth/token", "acct%20x")
    assert.are.equal("grant_type=account_credentials&account_id=acct%20x", t.body)
    local s = request.spec(t, nil, nil, 3, "id:secret")
    assert.are.equal("https://zoom.us/oauth/token", s.url)
    assert.are.equal("id:secret", s.basic)
    assert.is_nil(request.describe(t))
  end)

  it("masks stream keys in what it describes, escaped quotes included", function()
    assert.are.equal('{"stream_key":"***","x":1}', request.redact('{"stream_key":"a\\"b","x":1}'))
  end)
end)
