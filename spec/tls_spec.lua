-- TLS against zoomlive-sim serving HTTPS with a self-signed certificate made
-- here: the default client refuses it (kind "transport", a message naming
-- the certificate), cainfo = <that certificate> trusts it, insecure = true
-- skips the check, and the host name is verified too.
local zoomlive = require "zoomlive"
local testing = require "zoomlive.testing"

local SEED = 68423085

local shq = require("support").shq

describe("TLS", function()
  local dir, cert, key, sim

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. shq(dir)))
    cert, key = dir .. "/cert.pem", dir .. "/key.pem"
    local ok = os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout " .. shq(key) .. " -out " .. shq(cert)
      .. " >/dev/null 2>&1")
    assert(ok, "openssl could not make a certificate")
    sim = testing.start { tls_cert = cert, tls_key = key, qps = 100000, daily = 0, start_cooldown = 0 }
    assert.truthy(sim.base_url:find("^https://127%.0%.0%.1:"))
  end)

  teardown(function()
    if sim then sim:stop() end
    if dir then os.execute("rm -rf " .. shq(dir)) end
  end)

  before_each(function() sim:reset() end)

  local function update(opts)
    opts.token = sim.token
    opts.base_url = opts.base_url or sim.base_url
    opts.retries = 0
    local c = zoomlive.new(opts)
    local status, err, info = c:update(SEED, "stop")
    c:close()
    return status, err, info
  end

  it("refuses a certificate it cannot verify by default, naming the certificate", function()
    local status, err = update {}
    assert.is_nil(status)
    assert.are.equal("transport", err.kind)
    assert.truthy(err.message:lower():find("certificate"), err.message)
    assert.truthy(tostring(err):lower():find("certificate"))
    assert.are.same({}, sim:requests())        -- nothing reached the server
  end)

  it("trusts the certificate given as cainfo", function()
    local status, err = update { cainfo = cert }
    assert.are.equal(204, status, tostring(err))
    assert.is_nil(err)
    assert.are.equal(1, #sim:requests())
  end)

  it("checks the host name even with a trusted certificate", function()
    local port = sim.base_url:match(":(%d+)/")
    local status, err = update { cainfo = cert, base_url = "https://localhost:" .. port .. "/v2" }
    assert.is_nil(status)
    assert.are.equal("transport", err.kind)
    assert.truthy(err.message:lower():find("certificate") or err.message:lower():find("subject"), err.message)
  end)

  it("skips verification only when insecure = true, and says so", function()
    local c = zoomlive.new { token = sim.token, base_url = sim.base_url, insecure = true, retries = 0 }
    assert.truthy(tostring(c):find("INSECURE", 1, true))
    local status, err = c:update(SEED, "stop")
    c:close()
    assert.are.equal(204, status, tostring(err))
  end)

  it("refuses a CA file that does not hold the server's issuer", function()
    local other = dir .. "/other.pem"
    assert(os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout " .. shq(dir .. "/other.key") .. " -out " .. shq(other)
      .. " >/dev/null 2>&1"))
    local status, err = update { cainfo = other }
    assert.is_nil(status)
    assert.are.equal("transport", err.kind)
  end)
end)
