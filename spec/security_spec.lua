-- Secure defaults and secrets, against zoomlive-sim and a hostile loopback
-- server (a child lua5.4 with luasocket): TLS verification on by default,
-- INSECURE shown, plain http only for loopback, redirects never followed,
-- CR/LF/NUL refused before the wire, capped bodies and headers, and no
-- token, client secret or stream key in anything the library emits.
local zoomlive = require "zoomlive"
local client_mod = require "zoomlive.client"
local core = require "zoomlive.core"
local testing = require "zoomlive.testing"
local cjson = require "cjson"

-- the secrets of this spec: none may ever show up in what zoomlive emits
local TOKEN = "tok-S3CRET-a1b2c3d4e5"
local WRONG_TOKEN = "tok-S3CRET-wrong-f6a7b8"
local CLIENT_ID = "cid-public-0001"
local CLIENT_SECRET = "csec-S3CRET-9z8y7x"
local ACCOUNT = "acct-public-0002"
local STREAM_KEY = "skey-S3CRET-q1w2e3"
-- a key with a JSON-escaped quote: its tail must not slip past a redaction
local QUOTED_KEY = 'skey-S3CRET-head"tail-S3CRET-r4t5'
local SECRETS = { TOKEN, WRONG_TOKEN, CLIENT_SECRET, STREAM_KEY, "S3CRET" }

local SEED = 68423085
local LUA = os.getenv("ZOOMLIVE_LUA") or "lua5.4"

local hostile_count = 0
local function hostile(n) hostile_count = hostile_count + (n or 1) end

local shq = require("support").shq

-- ---- the scanner ------------------------------------------------------------
local scanned = 0

-- Fails when any string reachable from v (keys, values, tostring of tables
-- with __tostring, recursively) holds a secret; `where` names the source.
local function scan(v, where, seen)
  seen = seen or {}
  local t = type(v)
  if t == "string" then
    scanned = scanned + 1
    for _, s in ipairs(SECRETS) do
      if v:find(s, 1, true) then
        error(("secret %q found in %s: %q"):format(s, where, v:sub(1, 300)), 2)
      end
    end
  elseif t == "table" then
    if seen[v] then return end
    seen[v] = true
    local mt = getmetatable(v)
    if mt and mt.__tostring then scan(tostring(v), where .. " (tostring)", seen) end
    for k, x in pairs(v) do
      scan(k, where .. " key", seen)
      scan(x, where .. "." .. tostring(k), seen)
    end
  elseif t == "userdata" then
    scan(tostring(v), where .. " (tostring)", seen)
  end
end

-- scans every result of a call
local function scan_all(where, ...)
  local n = select("#", ...)
  for i = 1, n do scan((select(i, ...)), where .. " result " .. i) end
  return ...
end

-- ---- a hostile server: a child lua5.4 answering canned bytes ----------------
local canned_server = require("support").canned_server

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- ---- the specs --------------------------------------------------------------
describe("security", function()
  local sim

  setup(function()
    sim = testing.start { qps = 100000, daily = 0, token = TOKEN, client_id = CLIENT_ID,
      client_secret = CLIENT_SECRET, account_id = ACCOUNT, start_cooldown = 0 }
  end)
  teardown(function()
    if sim then sim:stop() end
    print(("\nsecurity_spec: %d hostile inputs tried, %d emitted strings scanned for secrets")
      :format(hostile_count, scanned))
  end)
  before_each(function() sim:reset() end)

  local function new(opts)
    opts = opts or {}
    if opts.token == nil and opts.client_secret == nil then opts.token = TOKEN end
    if opts.base_url == nil then opts.base_url = sim.base_url end
    if opts.retries == nil then opts.retries = 0 end
    return zoomlive.new(opts)
  end

  -- every request the simulator logged, as one string
  local function wire()
    return cjson.encode(sim:requests())
  end

  describe("secure defaults", function()
    it("verifies TLS by default and says INSECURE when told not to", function()
      local c = new()
      assert.is_false(c.insecure)
      assert.is_nil(tostring(c):find("INSECURE", 1, true))
      c:close()
      local i = new { insecure = true }
      assert.is_true(i.insecure)
      assert.truthy(tostring(i):find("INSECURE", 1, true))
      i:close()
    end)

    it("refuses plain http:// for hosts that are not loopback, unless allow_http", function()
      local refused = {
        "http://api.example.com/v2", "HTTP://api.example.com/v2", "http://127.0.0.1.evil.example/v2",
        "http://localhost.evil.example/v2", "http://127.0.0.1@evil.example/v2",
        "http://evil.example#@127.0.0.1/v2", "http://10.0.0.1/v2", "http://[::2]/v2",
        "ftp://127.0.0.1/v2", "file:///etc/passwd", "gopher://127.0.0.1/", "//api.zoom.us/v2",
        "https://api.zoom.us/v2\r\nX-Injected: 1", "https://api.zoom.us/v2\0.evil",
        "https://api.zoom.us /v2",
      }
      for _, u in ipairs(refused) do
        hostile()
        local ok = pcall(zoomlive.new, { token = TOKEN, base_url = u })
        assert(not ok, "accepted base_url " .. u)
        ok = pcall(zoomlive.new, { token = TOKEN, oauth_url = u, base_url = sim.base_url })
        assert(not ok, "accepted oauth_url " .. u)
      end
      for _, u in ipairs({ "http://127.0.0.1:1/v2", "http://localhost:1/v2", "http://127.1.2.3/v2",
          "http://[::1]:1/v2", "http://127.1:1/v2", "https://api.zoom.us/v2" }) do
        local c = zoomlive.new { token = TOKEN, base_url = u }
        c:close()
      end
      local c = zoomlive.new { token = TOKEN, base_url = "http://api.example.com/v2", allow_http = true }
      c:close()
    end)

    it("refuses user info that hides a remote host behind a loopback name", function()
      -- curl reads http://127.0.0.1:80@evil.example/ as user "127.0.0.1",
      -- password "80", host evil.example: plain http to a remote host
      local sneaky = { "http://127.0.0.1:80@evil.example/v2", "http://localhost:1@evil.example/v2",
        "http://127.0.0.1:x@evil.example:8080/v2", "http://[::1]:1@evil.example/v2" }
      local accepted = {}
      for _, u in ipairs(sneaky) do
        hostile(2)
        if pcall(zoomlive.new, { token = TOKEN, base_url = u }) then accepted[#accepted + 1] = u end
        if pcall(zoomlive.new, { token = TOKEN, base_url = sim.base_url, oauth_url = u }) then
          accepted[#accepted + 1] = "oauth_url " .. u
        end
      end
      assert.are.same({}, accepted)
    end)

    it("survives replies opening with a folded header line, where TLS does not vouch for the peer", function()
      -- libcurl < 8.1.0 (curl #11101) dereferences the previous transfer's
      -- freed header on such a reply when the handle is reused; with
      -- allow_http (and with insecure) every transfer gets a fresh handle.
      -- Under ASan and valgrind (scripts/ci-sanitizers.sh) a use-after-free
      -- here fails the run.
      local srv = canned_server("HTTP/1.1 204 No Content\r\n X-Folded: first\r\nx-zm-trackingid: t\r\n"
        .. "Content-Length: 0\r\n\r\n", 4)
      local c <close> = zoomlive.new { token = TOKEN, base_url = srv.url .. "/v2", allow_http = true, retries = 0 }
      for _ = 1, 3 do
        hostile()
        local status, err = c:update(SEED, "stop")
        if status ~= nil then
          assert.are.equal(204, status)
        else
          assert.are.equal("transport", err.kind)
        end
      end
      srv.stop()
    end)

    it("never follows a redirect: a 3xx comes back as an http error", function()
      for _, code in ipairs({ 301, 302, 303, 307, 308 }) do
        hostile()
        local target = sim.base_url .. "/meetings/" .. SEED .. "/livestream/status"
        local srv = canned_server(("HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n")
          :format(code, target))
        finally(srv.stop)
        local c = new { base_url = srv.url .. "/v2" }
        local status, err = scan_all("redirect", c:update(SEED, "stop"))
        c:close()
        assert.are.equal(code, status)
        assert.are.equal("http", err.kind)
        assert.are.equal(code, err.status)
        assert.are.same({}, sim:requests())   -- the Location was not visited
        assert.truthy(srv.log():find("PATCH /v2/meetings/" .. SEED, 1, true))
      end
    end)
  end)

  describe("CR, LF and NUL", function()
    local BAD = { "\r", "\n", "\0", "\r\n", "x\r\nX-Injected: 1", "x\nX-Injected: 1", "x\0X-Injected: 1",
      "\r\n\r\nGET / HTTP/1.1", "x\r" }

    it("in a token, client id, client secret, account id or user agent raise at zoomlive.new", function()
      for _, b in ipairs(BAD) do
        for _, opts in ipairs({
          { token = TOKEN .. b },
          { token = b .. TOKEN },
          { account_id = ACCOUNT, client_id = CLIENT_ID, client_secret = CLIENT_SECRET .. b },
          { account_id = ACCOUNT, client_id = CLIENT_ID .. b, client_secret = CLIENT_SECRET },
          { account_id = ACCOUNT .. b, client_id = CLIENT_ID, client_secret = CLIENT_SECRET },
          { token = TOKEN, user_agent = "agent" .. b },
        }) do
          hostile()
          opts.base_url = sim.base_url
          local ok, e = pcall(zoomlive.new, opts)
          assert(not ok, "accepted " .. cjson.encode(opts))
          scan(tostring(e), "zoomlive.new error")
        end
        -- the same through the environment
        for _, env in ipairs({
          { ZOOM_ACCESS_TOKEN = TOKEN .. b },
          { ZOOM_ACCOUNT_ID = ACCOUNT, ZOOM_CLIENT_ID = CLIENT_ID, ZOOM_CLIENT_SECRET = CLIENT_SECRET .. b },
        }) do
          hostile()
          local ok, e = pcall(client_mod.new, { base_url = sim.base_url }, function(k) return env[k] end)
          assert(not ok, "accepted environment " .. cjson.encode(env))
          scan(tostring(e), "client.new error")
        end
      end
      -- the binding refuses them too
      for _, b in ipairs(BAD) do
        hostile(2)
        assert.is_false((pcall(core.new, { user_agent = "agent" .. b:gsub("%z", "") .. "\r\n" })))
        local conn = core.new {}
        local ok, st, kind = pcall(conn.perform, conn, "GET", sim.base_url .. "/meetings/" .. SEED .. "/livestream",
          TOKEN .. b)
        assert(not ok or (st == nil and kind == "argument"), "the binding sent a token holding " .. cjson.encode(b))
        conn:close()
      end
      assert.are.same({}, sim:requests())
    end)

    it("from a token provider or in a stream key are argument errors at call time, never sent", function()
      for _, b in ipairs(BAD) do
        hostile()
        local c = new { token = function() return TOKEN .. b end }
        local status, err = scan_all("provider", c:update(SEED, "stop"))
        assert.is_nil(status)
        assert.truthy(err.kind == "auth" or err.kind == "argument")
        c:close()
        hostile()
        c = new()
        status, err = scan_all("configure", c:configure(SEED, {
          stream_url = "rtmp://live.example.com/app", stream_key = STREAM_KEY .. b,
          page_url = "https://example.com/live" }))
        assert.is_nil(status)
        assert.are.equal("argument", err.kind)
        hostile()
        -- a display name is JSON text inside a form part: CR, LF and NUL are
        -- data there, and must neither end the part nor reach a header
        scan_all("display_name", c:update(SEED, "start", { display_name = "x" .. b }))
        c:close()
      end
      local w = wire()
      for _, r in ipairs(sim:requests()) do
        for k in pairs(r.headers) do assert.are_not.equal("x-injected", k:lower()) end
        assert.is_nil(r.path:find("/livestream$"))        -- no configure went out
        assert.truthy(r.headers.authorization == "Bearer ***")
        if r.parts then
          assert.are.equal(2, #r.parts)                    -- action and settings, nothing smuggled
          assert.are.equal("action", r.parts[1].name)
          assert.are.equal("settings", r.parts[2].name)
          assert.truthy(cjson.decode(r.parts[2].value).display_name:find("^x"))
        end
      end
      scan(w:gsub("Bearer %*%*%*", ""), "the wire")
    end)
  end)

  describe("caps", function()
    it("cut a huge error body to 64 KiB", function()
      hostile()
      sim:fault { path = "/v2/meetings/", huge_body = 8 * 1024 * 1024, status = 500 }
      local c = new()
      local status, err = scan_all("huge", c:update(SEED, "stop"))
      c:close()
      assert.are.equal(500, status)
      assert.are.equal("http", err.kind)
      assert.truthy(#err.body <= 64 * 1024, "err.body is " .. #err.body .. " bytes")
      assert.truthy(#tostring(err) <= 1024)
    end)

    it("cut huge response headers (or refuse the reply)", function()
      for _, resp in ipairs({
        "HTTP/1.1 429 Too Many\r\nx-zm-trackingid: " .. ("T"):rep(90000) .. "\r\nRetry-After: "
          .. ("9"):rep(5000) .. "\r\nX-RateLimit-Type: " .. ("Q"):rep(5000) .. "\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 500 Oops\r\n" .. ("X-Filler: " .. ("f"):rep(100) .. "\r\n"):rep(2000) .. "Content-Length: 0\r\n\r\n",
        "HTTP/1.1 404 Nope\r\nContent-Type: application/json\r\nx-zm-trackingid: a\rb\r\n\r\n"
          .. '{"code":3001,"message":"' .. ("m"):rep(300000) .. '"}',
      }) do
        hostile()
        local srv = canned_server(resp)
        finally(srv.stop)
        local c = new { base_url = srv.url .. "/v2" }
        local status, err = scan_all("headers", c:update(SEED, "stop"))
        c:close()
        assert.is_table(err)
        if status then
          assert.are.equal("http", err.kind)
          assert.truthy(err.tracking_id == nil or #err.tracking_id < 128)
          assert.truthy(#err.body <= 64 * 1024)
          assert.truthy(#err.message <= 64 * 1024)
          if err.rate_limit then assert.truthy(#(err.rate_limit.type or "") < 128) end
        else
          assert.truthy(err.kind == "transport" or err.kind == "protocol")
        end
      end
    end)
  end)

  describe("secrets", function()
    local traces
    local function debug_hook(ev) traces[#traces + 1] = ev end
    before_each(function() traces = {} end)
    after_each(function()
      for i, ev in ipairs(traces) do scan(ev, "debug trace " .. i) end
    end)

    it("never reach the debug trace (update, configure with quoted keys, get)", function()
      local c = new { debug = debug_hook }
      scan_all("update", c:update(SEED, "start", { display_name = "x" }))
      scan_all("stop", c:update(SEED, "stop"))
      for _, key in ipairs({ STREAM_KEY, "skey-S3CRET-back/slash", "skey-S3CRET-\xc3\xa9" }) do
        hostile()
        local st, err = scan_all("configure", c:configure(SEED, { stream_url = "rtmp://live.example.com/app",
          stream_key = key, page_url = "https://example.com/live" }))
        assert.are.equal(204, st, tostring(err))
        local cfg, gerr, ginfo = c:get(SEED)
        assert.is_nil(gerr)
        assert.are.equal(key, cfg.stream_key)       -- returned to the caller who asked ...
        scan(gerr, "get error"); scan(ginfo, "get info")  -- ... and nowhere else
      end
      scan(tostring(c), "tostring(client)")
      c:close()
      scan(tostring(c), "tostring(closed client)")
      assert.truthy(#traces >= 4)
    end)

    it("never reach the debug trace when a stream key holds a quote or a backslash", function()
      local c = new { debug = debug_hook }
      for _, key in ipairs({ QUOTED_KEY, "skey-S3CRET-back\\tail-S3CRET" }) do
        hostile()
        local st, err = scan_all("configure", c:configure(SEED, { stream_url = "rtmp://live.example.com/app",
          stream_key = key, page_url = "https://example.com/live" }))
        assert.are.equal(204, st, tostring(err))
        scan_all("get", select(2, c:get(SEED)))
      end
      c:close()
      assert.truthy(#traces >= 4)
      for i, ev in ipairs(traces) do scan(ev, "debug trace " .. i) end
    end)

    it("never reach errors, tostring or traces: HTTP errors, transport, timeouts, auth", function()
      local results = {}
      local function call(label, c, ...)
        local r = table.pack(c:update(...))
        results[#results + 1] = { label = label, r = r }
        scan_all(label, table.unpack(r, 1, r.n))
        return table.unpack(r, 1, r.n)
      end
      -- success
      local c = new { debug = debug_hook }
      call("ok", c, SEED, "start", { display_name = "x" })
      -- HTTP errors: missing meeting, a refused token, a 429, a 500
      call("404", c, 99999999999, "stop")
      local bad = new { token = WRONG_TOKEN, debug = debug_hook }
      local st, err = call("401", bad, SEED, "stop")
      assert.are.equal(401, st)
      assert.are.equal("http", err.kind)
      bad:close()
      sim:fault { path = "/v2/meetings/", status = 429, count = 1 }
      call("429", c, SEED, "stop")
      sim:fault { path = "/v2/meetings/", status = 500, count = 1 }
      call("500", c, SEED, "stop")
      sim:fault { path = "/v2/meetings/", malformed_json = true, status = 400, count = 1 }
      call("malformed", c, SEED, "stop")
      -- transport: resets and a truncated body; a closed port
      -- (libcurl retries once on its own when a reused connection dies)
      sim:fault { path = "/v2/meetings/", reset = "before", count = 2 }
      st, err = call("reset", c, SEED, "stop")
      assert.is_nil(st)
      assert.are.equal("transport", err.kind)
      sim:clear_faults()
      sim:fault { path = "/v2/meetings/", truncate = true, count = 1 }
      call("truncate", c, SEED, "stop")
      sim:clear_faults()
      c:close()
      local closed = new { base_url = "http://127.0.0.1:1/v2", debug = debug_hook }
      st, err = call("refused", closed, SEED, "stop")
      assert.is_nil(st)
      assert.are.equal("transport", err.kind)
      closed:close()
      -- timeout
      sim:fault { path = "/v2/meetings/", hang = true, count = 1 }
      local slow = new { timeout = 0.3, debug = debug_hook }
      st, err = call("timeout", slow, SEED, "stop")
      assert.is_nil(st)
      assert.are.equal("timeout", err.kind)
      slow:close()
      -- S2S: a wrong client secret, then the right one
      local s2s = new { account_id = ACCOUNT, client_id = CLIENT_ID, client_secret = CLIENT_SECRET .. "-wrong",
        oauth_url = sim.url .. "/oauth/token", debug = debug_hook }
      st, err = call("s2s wrong secret", s2s, SEED, "stop")
      assert.is_nil(st)
      assert.are.equal("auth", err.kind)
      scan(tostring(s2s), "tostring(s2s client)")
      s2s:close()
      s2s = new { account_id = ACCOUNT, client_id = CLIENT_ID, client_secret = CLIENT_SECRET,
        oauth_url = sim.url .. "/oauth/token", debug = debug_hook }
      st = call("s2s", s2s, SEED, "stop")
      assert.are.equal(204, st)
      scan(tostring(s2s), "tostring(s2s client)")
      s2s:close()
      -- the token endpoint unreachable
      local gone = new { account_id = ACCOUNT, client_id = CLIENT_ID, client_secret = CLIENT_SECRET,
        oauth_url = "http://127.0.0.1:1/oauth/token", debug = debug_hook }
      st, err = call("s2s unreachable", gone, SEED, "stop")
      assert.is_nil(st)
      assert.are.equal("transport", err.kind)   -- a passing failure: retried, not "auth"
      assert.truthy(err.message:find("token endpoint", 1, true))
      gone:close()
      -- zoomlive.assert's raised error
      local ok, e = pcall(zoomlive.assert, results[2].r[1], results[2].r[2])
      assert.is_false(ok)
      scan(e, "zoomlive.assert error")
      assert.truthy(#results >= 12)
    end)

    it("never reach a batch's results, summary or traces", function()
      for _, opts in ipairs({
        { debug = debug_hook },
        { token = WRONG_TOKEN, debug = debug_hook },
        { account_id = ACCOUNT, client_id = CLIENT_ID, client_secret = CLIENT_SECRET .. "-wrong",
          oauth_url = sim.url .. "/oauth/token", debug = debug_hook },
        { account_id = ACCOUNT, client_id = CLIENT_ID, client_secret = CLIENT_SECRET,
          oauth_url = sim.url .. "/oauth/token", debug = debug_hook },
      }) do
        local c = new(opts)
        hostile(3)
        local results, summary = c:update_many({
          { SEED, "start", { display_name = "x" } },
          { 99999999999, "stop" },
          { SEED, "start", { display_name = "x\r\nX-Injected: " .. TOKEN:sub(1, 3) } },
          { id = SEED, action = "sideways" },
          { id = "0123\r\n", action = "stop" },
        }, { concurrency = 2 })
        scan(results, "update_many results")
        scan(summary, "update_many summary")
        assert.are.equal(5, #results)
        c:close()
      end
    end)

    it("never reach the zoomlive command's output", function()
      local f = io.open("bin/zoomlive", "rb")
      if not f then return end      -- no CLI in this tree
      f:close()
      local BUILD = os.getenv("ZOOMLIVE_BUILD_DIR") or "build"
      local keyfile = os.tmpname()
      write_file(keyfile, STREAM_KEY .. "\n")
      finally(function() os.remove(keyfile) end)
      local base = "env -u ZOOM_ACCOUNT_ID -u ZOOM_CLIENT_ID -u ZOOM_CLIENT_SECRET"
        .. " LUA_PATH=" .. shq("lua/?.lua;lua/?/init.lua;;") .. " LUA_CPATH=" .. shq(BUILD .. "/lib/?.so;;")
      local function run(env, args)
        local cmd = base .. " " .. env .. " " .. LUA .. " bin/zoomlive " .. args .. " 2>&1 </dev/null"
        local p = assert(io.popen(cmd, "r"))
        local out = p:read("a")
        p:close()
        scan(out, "zoomlive " .. args)
        return out
      end
      local good = "ZOOM_ACCESS_TOKEN=" .. shq(TOKEN) .. " ZOOM_API_BASE=" .. shq(sim.base_url)
      local wrong = "ZOOM_ACCESS_TOKEN=" .. shq(WRONG_TOKEN) .. " ZOOM_API_BASE=" .. shq(sim.base_url)
      local s2s_bad = "ZOOM_ACCESS_TOKEN= ZOOM_ACCOUNT_ID=" .. ACCOUNT .. " ZOOM_CLIENT_ID=" .. CLIENT_ID
        .. " ZOOM_CLIENT_SECRET=" .. shq(CLIENT_SECRET .. "-wrong") .. " ZOOM_OAUTH_URL=" .. shq(sim.url .. "/oauth/token")
        .. " ZOOM_API_BASE=" .. shq(sim.base_url)
      local outs = {
        run(good, "start --display-name x " .. SEED),
        run(good, "stop " .. SEED .. " 99999999999"),
        run(good, "configure --stream-url rtmp://live.example.com/app --page-url https://example.com/live"
          .. " --stream-key-file " .. shq(keyfile) .. " " .. SEED),
        run(good, "get " .. SEED),
        run(good, "get --json " .. SEED),
        run(good, "--dry-run start " .. SEED),
        run(good, "--dry-run --encoding json stop " .. SEED),
        run(good, "--dry-run configure --stream-url rtmp://l.example.com/a --page-url https://e.example.com/"
          .. " --stream-key-file " .. shq(keyfile) .. " " .. SEED),
        run(wrong, "stop " .. SEED),
        run(wrong, "--json stop " .. SEED),
        run(s2s_bad, "stop " .. SEED),
        run("ZOOM_ACCESS_TOKEN=" .. shq(TOKEN) .. " ZOOM_API_BASE=http://127.0.0.1:1/v2", "--retries 0 stop " .. SEED),
      }
      assert.truthy(#outs == 12)
    end)
  end)
end)
