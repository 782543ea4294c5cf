-- The zoomlive command: every command path against zoomlive-sim, mostly
-- in-process through cli.main with captured io, a few through bin/zoomlive.
local cjson = require "cjson"
local testing = require "zoomlive.testing"
local cli = require "zoomlive.cli"
local client = require "zoomlive.client"

local BUILD = os.getenv("ZOOMLIVE_BUILD_DIR") or "build"
local SIM_EXE = os.getenv("ZOOMLIVE_SIM")
if not SIM_EXE or SIM_EXE == "" then SIM_EXE = testing.default_exe or (BUILD .. "/bin/zoomlive-sim") end
local LUA = os.getenv("ZOOMLIVE_LUA") or "lua5.4"

-- a token and a key that must never show up in any output
local TOKEN = "sim-token-cli-S3CRET-0042"
local KEY = "stream-key-S3CRET-7777"

local SEED, LIVE, OTHER = "68423085", "85746065432", "93398114182"
local WEBINAR = "81234567890"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sink()
  local buf = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
      return self
    end,
    flush = function(self) return self end,
    text = function() return table.concat(buf) end,
  }
end

local function stdin_of(s)
  local f = io.tmpfile()
  f:write(s)
  f:seek("set")
  return f
end

local function tmpfile_with(s)
  local name = os.tmpname()
  local f = assert(io.open(name, "wb"))
  f:write(s)
  f:close()
  return name
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local function assert_no_secrets(s)
  assert.is_nil(s:find(TOKEN, 1, true), "the token leaked: " .. s)
  assert.is_nil(s:find(KEY, 1, true), "the stream key leaked: " .. s)
end

describe("zoomlive command", function()
  local sim

  setup(function()
    sim = testing.start { exe = SIM_EXE, qps = 100000, token = TOKEN }
  end)

  teardown(function()
    if sim then sim:stop() end
  end)

  before_each(function()
    sim:reset()
  end)

  -- cli.main with captured io; env holds the environment (false removes)
  local function run(argv, o)
    o = o or {}
    local env = { ZOOM_ACCESS_TOKEN = TOKEN, ZOOM_API_BASE = sim.base_url }
    for k, v in pairs(o.env or {}) do env[k] = v or nil end
    local out, err = sink(), sink()
    local code = cli.main(argv, {
      stdout = out, stderr = err, stdin = o.stdin or stdin_of(""),
      isatty = o.isatty or false, getenv = function(k) return env[k] end,
    })
    local so, se = out.text(), err.text()
    assert_no_secrets(so .. se)
    return code, so, se
  end

  -- the real executable; env as above, stdin text piped in (or /dev/null)
  local function sh(args, o)
    o = o or {}
    local parts = { "env -u ZOOM_ACCESS_TOKEN -u ZOOM_ACCOUNT_ID -u ZOOM_CLIENT_ID",
      "-u ZOOM_CLIENT_SECRET -u ZOOM_API_BASE",
      "LUA_PATH=" .. q("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. q(BUILD .. "/lib/?.so;;") }
    local env = { ZOOM_ACCESS_TOKEN = TOKEN, ZOOM_API_BASE = sim.base_url }
    for k, v in pairs(o.env or {}) do env[k] = v or nil end
    for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. q(v) end
    local errf = os.tmpname()
    finally(function() os.remove(errf) end)
    local cmd = table.concat(parts, " ") .. " " .. LUA .. " bin/zoomlive " .. args .. " 2>" .. q(errf)
    if o.stdin then
      cmd = "printf '%s\\n' " .. q(o.stdin) .. " | " .. cmd
    else
      cmd = cmd .. " </dev/null"
    end
    local p = assert(io.popen(cmd, "r"))
    local so = p:read("a")
    local _, how, code = p:close()
    assert.are.equal("exit", how)
    local f = assert(io.open(errf, "rb"))
    local se = f:read("a")
    f:close()
    assert_no_secrets(so .. se)
    return code, so, se
  end

  local function api_requests()
    local t = {}
    for _, r in ipairs(sim:requests()) do
      if r.path:sub(1, 4) == "/v2/" then t[#t + 1] = r end
    end
    return t
  end

  describe("usage", function()
    it("prints a help text with commands, flags, environment, exit codes and examples", function()
      local code, out, err = run({ "--help" })
      assert.are.equal(0, code)
      assert.are.equal("", err)
      for _, s in ipairs({ "usage: zoomlive", "start", "stop", "mode", "get", "configure",
          "--webinar", "--display-name", "--active-speaker-name", "--layout", "--close-caption",
          "--stream-url", "--page-url", "--resolution", "--stream-key-file", "--encoding",
          "--base-url", "--json", "--dry-run", "--timeout", "--retries", "--show-key", "--version",
          "ZOOM_ACCESS_TOKEN", "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET",
          "ZOOM_API_BASE", "Exit status", "4 beats 3 beats 1",
          "zoomlive configure 68423085", "zoomlive start 68423085", "zoomlive get 68423085",
          "zoomlive stop 68423085" }) do
        assert.truthy(out:find(s, 1, true), "help lacks " .. s)
      end
      assert.are.equal(out, select(2, run({ "-h" })))
      assert.are.equal(out, select(2, run({ "help" })))
    end)

    it("prints the version", function()
      local code, out = run({ "--version" })
      assert.are.equal(0, code)
      assert.truthy(out:match("^zoomlive %d+%.%d+%.%d+ %(libcurl [%d.]+"))
    end)

    it("exits 2 on usage errors and sends nothing", function()
      local cases = {
        { {}, "no command" },
        { { "launch", SEED }, "unknown command 'launch'" },
        { { "start" }, "no ID given" },
        { { "start", SEED, "--frobnicate" }, "unknown flag '--frobnicate'" },
        { { "start", SEED, "--layout" }, "--layout needs a value" },
        { { "start", SEED, "--layout", "grid" }, "--layout must be one of follow_host, gallery_view, speaker_view" },
        { { "start", SEED, "--close-caption", "on" }, "--close-caption must be one of" },
        { { "start", SEED, "--active-speaker-name", "yes" }, "must be true or false" },
        { { "start", SEED, "--display-name", string.rep("x", 51) },
          "bad argument 'settings.display_name': must be 1 to 50 characters, got 51" },
        { { "start", SEED, "--timeout", "0" }, "--timeout must be a positive number" },
        { { "start", SEED, "--encoding", "xml" }, "--encoding must be one of json, multipart" },
        { { "start", SEED, "--json=yes" }, "--json takes no value" },
        { { "stop", SEED, "--display-name", "x" }, "--display-name does not apply to 'stop'" },
        { { "start", SEED, "--stream-url", "rtmp://a/b" }, "--stream-url does not apply to 'start'" },
        { { "start", SEED, "--show-key" }, "--show-key does not apply to 'start'" },
        { { "mode", "--webinar", WEBINAR, "--layout", "gallery_view" }, "mode is for meetings only" },
        { { "start", "--webinar", WEBINAR, "--layout", "gallery_view" },
          "bad argument 'settings.layout': unknown setting" },
        { { "stop", "abc" }, "zoomlive: abc: bad argument 'meeting_id'" },
        { { "stop", SEED, "0" }, "zoomlive: 0: bad argument 'meeting_id'" },
        { { "start", SEED, "--base-url", "ftp://example.com" }, "base_url" },
        { { "configure", SEED, "--page-url", "https://x/y" }, "configure needs the stream key" },
      }
      for _, c in ipairs(cases) do
        local code, out, err = run(c[1], { isatty = true })
        assert.are.equal(2, code, table.concat(c[1], " "))
        assert.are.equal("", out)
        assert.truthy(err:find(c[2], 1, true), "stderr lacks '" .. c[2] .. "': " .. err)
        assert.are.equal(1, #lines(err), err)
      end
      assert.are.same({}, api_requests())
    end)

    it("never echoes a stream key typed on the command line", function()
      local code, out, err = run({ "configure", SEED, "--stream-key=" .. KEY })
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("--stream-key-file", 1, true))
      code = run({ "configure", SEED, "--stream-key", KEY })
      assert.are.equal(2, code)
    end)
  end)

  describe("start, stop, mode", function()
    it("starts a meeting's stream with settings, multipart on request", function()
      local code, out, err = run({ "start", OTHER, "--encoding", "multipart", "--display-name", "Town hall",
        "--active-speaker-name", "false", "--layout", "speaker_view", "--close-caption", "off" })
      assert.are.equal(0, code, err)
      assert.are.equal(OTHER .. ": live stream started\n", out)
      assert.are.equal("", err)
      local reqs = api_requests()
      assert.are.equal(1, #reqs)
      assert.are.equal("PATCH", reqs[1].method)
      assert.are.equal("/v2/meetings/" .. OTHER .. "/livestream/status", reqs[1].path)
      assert.are.equal("Bearer ***", reqs[1].headers.authorization)
      assert.truthy(reqs[1].content_type:find("^multipart/form%-data"))
      assert.are.equal("start", reqs[1].fields.action)
      assert.are.same({ display_name = "Town hall", active_speaker_name = false,
        layout = "speaker_view", close_caption = "off" }, cjson.decode(reqs[1].fields.settings))
      local m = sim:meeting(OTHER)
      assert.are.equal("live", m.status)
      assert.are.equal("Town hall", m.settings.display_name)
    end)

    it("sends JSON with --encoding json", function()
      local code = run({ "start", SEED, "--encoding", "json", "--display-name", "JSON" })
      assert.are.equal(0, code)
      local r = api_requests()[1]
      assert.are.equal("application/json", r.content_type)
      assert.are.same({ action = "start", settings = { display_name = "JSON" } }, r.payload)
    end)

    it("stops a live stream and changes the mode of one", function()
      local code, out = run({ "mode", LIVE, "--layout", "gallery_view" })
      assert.are.equal(0, code)
      assert.are.equal(LIVE .. ": live stream mode changed\n", out)
      assert.are.equal("gallery_view", sim:meeting(LIVE).settings.layout)
      code, out = run({ "stop", LIVE })
      assert.are.equal(0, code)
      assert.are.equal(LIVE .. ": live stream stopped\n", out)
      assert.are.equal("stopped", sim:meeting(LIVE).status)
      local reqs = api_requests()
      assert.are.equal("mode", reqs[1].fields.action)
      assert.are.equal("stop", reqs[2].fields.action)
      assert.is_nil(reqs[2].fields.settings)
    end)

    it("exits 1 with one line per failed ID, prefixed with the ID", function()
      local code, out, err = run({ "stop", "1234" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("zoomlive: 1234: HTTP 404 (Zoom 3001) Meeting does not exist: 1234.\n", err)
    end)

    it("prints one JSON object per ID with --json", function()
      local code, out, err = run({ "stop", SEED, "1234", "--json" })
      assert.are.equal(1, code)
      local l = lines(out)
      assert.are.equal(2, #l)
      local a, b = cjson.decode(l[1]), cjson.decode(l[2])
      assert.are.equal(SEED, a.id)
      assert.is_true(a.ok)
      assert.are.equal(204, a.status)
      assert.truthy(a.tracking_id:find("^v=2%.0;clid=sim"))
      assert.are.equal(cjson.null, a.error or cjson.null)
      assert.are.equal("1234", b.id)
      assert.is_false(b.ok)
      assert.are.equal(404, b.status)
      assert.are.same({ "code", "kind", "message", "status", "tracking_id" },
        (function() local t = {} for k in pairs(b.error) do t[#t + 1] = k end table.sort(t) return t end)())
      assert.are.equal("http", b.error.kind)
      assert.are.equal(3001, b.error.code)
      assert.are.equal("Meeting does not exist: 1234.", b.error.message)
      assert.truthy(err:find("zoomlive: 1234: HTTP 404", 1, true))
    end)

    it("treats several IDs in order; the worst outcome decides", function()
      local code, out, err = run({ "start", SEED, "1234", OTHER })
      assert.are.equal(1, code)
      assert.are.same({ SEED .. ": live stream started", OTHER .. ": live stream started" }, lines(out))
      assert.are.same({ "zoomlive: 1234: HTTP 404 (Zoom 3001) Meeting does not exist: 1234." }, lines(err))
      -- (update_many may send them concurrently: the output keeps the order,
      -- the arrival order is free)
      local paths = {}
      for i, r in ipairs(api_requests()) do paths[i] = r.path end
      table.sort(paths)
      assert.are.same({ "/v2/meetings/1234/livestream/status", "/v2/meetings/" .. SEED .. "/livestream/status",
        "/v2/meetings/" .. OTHER .. "/livestream/status" }, paths)

      -- a transport failure (3) beats Zoom's error (1)
      sim:reset()
      sim:fault { meeting = OTHER, reset = "before" }
      code, out, err = run({ "stop", "1234", OTHER, SEED, "--retries", "0" })
      assert.are.equal(3, code)
      assert.are.same({ SEED .. ": live stream stopped" }, lines(out))
      local e = lines(err)
      assert.are.equal(2, #e)
      assert.truthy(e[1]:find("^zoomlive: 1234: HTTP 404"))
      assert.truthy(e[2]:find("^zoomlive: " .. OTHER .. ": transport %(curl %d+%)"))
    end)

    it("shows a progress line on a terminal's stderr", function()
      local code, out, err = run({ "stop", SEED, OTHER, LIVE }, { isatty = { stderr = true } })
      assert.are.equal(0, code)
      assert.are.equal(3, #lines(out))
      assert.truthy(err:find("\r", 1, true))
      assert.truthy(err:find("3/3 done", 1, true))
      -- and none off a terminal
      code, out, err = run({ "stop", SEED, OTHER, LIVE })
      assert.are.equal(0, code)
      assert.are.equal(3, #lines(out))
      assert.are.equal("", err)
    end)

    it("uses client:update_many for several IDs when it exists", function()
      local Client = client.Client
      local saved = rawget(Client, "update_many")
      finally(function() Client.update_many = saved end)
      local calls = {}
      Client.update_many = function(self, items, opts)
        calls[#calls + 1] = { items = items, opts = opts }
        local res = {}
        for i, it in ipairs(items) do
          local status, err, info = self:update(it[1], it[2], it[3])
          res[i] = { status = status, err = err, info = info }
          if opts.on_progress then opts.on_progress(i, #items) end
        end
        return res
      end
      local code, out, err = run({ "start", SEED, "1234", OTHER, "--display-name", "Batch" },
        { isatty = { stderr = true } })
      assert.are.equal(1, code)
      assert.are.equal(1, #calls)
      assert.are.same({ { SEED, "start", { display_name = "Batch" } }, { "1234", "start", { display_name = "Batch" } },
        { OTHER, "start", { display_name = "Batch" } } }, calls[1].items)
      assert.is_true(calls[1].opts.concurrency >= 1)
      assert.are.equal("function", type(calls[1].opts.on_progress))
      assert.are.same({ SEED .. ": live stream started", OTHER .. ": live stream started" }, lines(out))
      assert.truthy(err:find("3/3 done", 1, true))
      assert.truthy(err:find("zoomlive: 1234: HTTP 404", 1, true))
      -- one ID, webinars, get and configure never go through it
      run({ "stop", SEED })
      run({ "stop", "--webinar", WEBINAR, "82000000003" })
      run({ "get", SEED, OTHER })
      assert.are.equal(1, #calls)
    end)

    it("falls back to one client:update after another without update_many", function()
      local Client = client.Client
      local saved = rawget(Client, "update_many")
      finally(function() Client.update_many = saved end)
      Client.update_many = false
      local code, out, err = run({ "stop", SEED, "1234", LIVE }, { isatty = { stderr = true } })
      assert.are.equal(1, code)
      assert.are.same({ SEED .. ": live stream stopped", LIVE .. ": live stream stopped" }, lines(out))
      assert.truthy(err:find("3/3 done", 1, true))
      local paths = {}
      for i, r in ipairs(api_requests()) do paths[i] = r.path end
      assert.are.same({ "/v2/meetings/" .. SEED .. "/livestream/status",
        "/v2/meetings/1234/livestream/status", "/v2/meetings/" .. LIVE .. "/livestream/status" }, paths)
    end)

    if type(client.Client.update_many) == "function" then
      it("runs several IDs through the library's own update_many", function()
        local code, out = run({ "stop", SEED, OTHER, LIVE, "1234", "--json" })
        assert.are.equal(1, code)
        local ids, oks = {}, {}
        for i, l in ipairs(lines(out)) do
          local o = cjson.decode(l)
          ids[i], oks[i] = o.id, o.ok
        end
        assert.are.same({ SEED, OTHER, LIVE, "1234" }, ids)
        assert.are.same({ true, true, true, false }, oks)
      end)
    end
  end)

  describe("get", function()
    it("prints the configuration with the stream key redacted", function()
      local code, out, err = run({ "get", SEED })
      assert.are.equal(0, code, err)
      assert.truthy(out:find("stream_url: rtmp://live.example.com/app", 1, true))
      assert.truthy(out:find("stream_key: ***", 1, true))
      assert.truthy(out:find("page_url:   https://live.example.com/watch/" .. SEED, 1, true))
      assert.is_nil(out:find("key-" .. SEED, 1, true))
      local r = api_requests()[1]
      assert.are.equal("GET", r.method)
      assert.are.equal("/v2/meetings/" .. SEED .. "/livestream", r.path)
    end)

    it("shows the key only with --show-key", function()
      local code, out = run({ "get", SEED, "--show-key" })
      assert.are.equal(0, code)
      assert.truthy(out:find("stream_key: key-" .. SEED, 1, true))
    end)

    it("prints JSON with the key redacted", function()
      local code, out = run({ "get", SEED, "--json" })
      assert.are.equal(0, code)
      local o = cjson.decode(out)
      assert.are.equal(SEED, o.id)
      assert.is_true(o.ok)
      assert.are.equal(200, o.status)
      assert.are.same({ stream_url = "rtmp://live.example.com/app", stream_key = "***",
        page_url = "https://live.example.com/watch/" .. SEED }, o.config)
    end)
  end)

  describe("configure", function()
    local function check_configured(id, kind)
      local e = kind == "webinar" and sim:webinar(id) or sim:meeting(id)
      assert.are.equal(KEY, e.stream.stream_key)
      assert.are.equal("rtmp://new.example.com/app", e.stream.stream_url)
      assert.are.equal("https://example.com/live", e.stream.page_url)
    end
    local FLAGS = { "--stream-url", "rtmp://new.example.com/app", "--page-url", "https://example.com/live" }
    local function argv(...)
      local t = { ... }
      for _, f in ipairs(FLAGS) do t[#t + 1] = f end
      return t
    end

    it("reads the key from --stream-key-file", function()
      local name = tmpfile_with(KEY .. "\n")
      finally(function() os.remove(name) end)
      local a = argv("configure", SEED, "--stream-key-file", name, "--resolution", "1080p")
      local code, out, err = run(a, { isatty = true })
      assert.are.equal(0, code, err)
      assert.are.equal(SEED .. ": live stream configured\n", out)
      check_configured(SEED)
      assert.are.equal("1080p", sim:meeting(SEED).stream.resolution)
      local r = api_requests()[1]
      assert.are.equal("PATCH", r.method)
      assert.are.equal("/v2/meetings/" .. SEED .. "/livestream", r.path)
      assert.are.equal("application/json", r.content_type)
    end)

    it("reads the key from stdin when stdin is not a terminal, or with --stream-key-file -", function()
      local code, out, err = run(argv("configure", SEED), { stdin = stdin_of(KEY .. "\r\n") })
      assert.are.equal(0, code, err)
      assert.are.equal(SEED .. ": live stream configured\n", out)
      check_configured(SEED)
      sim:reset()
      code = run(argv("configure", OTHER, "--stream-key-file", "-", "--json"),
        { stdin = stdin_of(KEY .. "\n"), isatty = true })
      assert.are.equal(0, code)
      check_configured(OTHER)
    end)

    it("refuses a missing or bad key, URL or page without sending", function()
      local missing = os.tmpname()
      os.remove(missing)
      local cases = {
        { argv("configure", SEED), { stdin = stdin_of("") }, "no stream key on stdin" },
        { argv("configure", SEED, "--stream-key-file", missing), {}, "cannot read --stream-key-file" },
        { { "configure", SEED, "--page-url", "https://x/y" }, { stdin = stdin_of(KEY) },
          "bad argument 'stream_url': is required" },
        { { "configure", SEED, "--stream-url", "rtmp://a/b", "--page-url", "not a url" },
          { stdin = stdin_of(KEY) }, "bad argument 'page_url'" },
        { argv("configure", SEED), { stdin = stdin_of(string.rep("k", 513)) },
          "bad argument 'stream_key': must be 1 to 512 characters, got 513" },
      }
      for _, c in ipairs(cases) do
        local code, out, err = run(c[1], c[2])
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.truthy(err:find(c[3], 1, true), err)
      end
      assert.are.same({}, api_requests())
    end)
  end)

  describe("webinars", function()
    it("start, stop, get and configure go to /webinars/", function()
      local code, out = run({ "stop", "--webinar", "82000000003" })
      assert.are.equal(0, code)
      assert.are.equal("82000000003: webinar live stream stopped\n", out)
      code = run({ "start", "--webinar", WEBINAR, "--display-name", "Webinar", "--active-speaker-name", "true" })
      assert.are.equal(0, code)
      assert.are.equal("live", sim:webinar(WEBINAR).status)
      code, out = run({ "get", "--webinar", WEBINAR, "--json" })
      assert.are.equal(0, code)
      assert.are.equal("webinar", cjson.decode(out).type)
      assert.are.equal("***", cjson.decode(out).config.stream_key)
      code = run({ "configure", "--webinar", WEBINAR, "--stream-url", "rtmp://w/app",
        "--page-url", "https://w/p" }, { stdin = stdin_of(KEY) })
      assert.are.equal(0, code)
      assert.are.equal(KEY, sim:webinar(WEBINAR).stream.stream_key)
      local paths = {}
      for i, r in ipairs(api_requests()) do paths[i] = r.method .. " " .. r.path end
      assert.are.same({
        "PATCH /v2/webinars/82000000003/livestream/status",
        "PATCH /v2/webinars/" .. WEBINAR .. "/livestream/status",
        "GET /v2/webinars/" .. WEBINAR .. "/livestream",
        "PATCH /v2/webinars/" .. WEBINAR .. "/livestream" }, paths)
    end)

    it("reports a meeting ID given as a webinar as Zoom does", function()
      local code, _, err = run({ "get", "--webinar", SEED })
      assert.are.equal(1, code)
      assert.truthy(err:find("^zoomlive: " .. SEED .. ": HTTP 4%d%d"))
    end)
  end)

  describe("--dry-run", function()
    it("prints the request and a curl line, sends nothing, hides the token", function()
      local code, out, err = run({ "start", SEED, OTHER, "--dry-run", "--encoding", "multipart",
        "--display-name", "Town hall" })
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      for _, s in ipairs({ "PATCH " .. sim.base_url .. "/meetings/" .. SEED .. "/livestream/status",
          "PATCH " .. sim.base_url .. "/meetings/" .. OTHER .. "/livestream/status",
          "Authorization: Bearer ***", "Content-Type: multipart/form-data",
          '--- part "action"\nstart', '--- part "settings"\n{"display_name":"Town hall"}',
          '-H "Authorization: Bearer $ZOOM_ACCESS_TOKEN"',
          "--form-string action=start", [[--form-string 'settings={"display_name":"Town hall"}']] }) do
        assert.truthy(out:find(s, 1, true), "dry run lacks " .. s .. ":\n" .. out)
      end
      assert.are.same({}, sim:requests())
    end)

    it("shows JSON bodies, webinars and get", function()
      local code, out = run({ "mode", LIVE, "--dry-run", "--encoding", "json", "--close-caption", "embedded" })
      assert.are.equal(0, code)
      assert.truthy(out:find('{"action":"mode","settings":{"close_caption":"embedded"}}', 1, true))
      assert.truthy(out:find("--data-raw '{\"action\":\"mode\"", 1, true))
      code, out = run({ "get", "--webinar", WEBINAR, "--dry-run" })
      assert.are.equal(0, code)
      assert.truthy(out:find("GET " .. sim.base_url .. "/webinars/" .. WEBINAR .. "/livestream\n", 1, true))
      assert.are.same({}, sim:requests())
    end)

    it("never shows the stream key, and the curl line takes it from the shell", function()
      local code, out = run({ "configure", SEED, "--dry-run", "--stream-url", "rtmp://a/b",
        "--page-url", "https://x/y" }, { stdin = stdin_of(KEY) })
      assert.are.equal(0, code)
      assert.truthy(out:find('{"stream_url":"rtmp://a/b","stream_key":"***","page_url":"https://x/y"}', 1, true))
      assert.truthy(out:find([["stream_key":"'"$ZOOM_STREAM_KEY"'"]], 1, true))
      assert.are.same({}, sim:requests())
    end)

    it("prints JSON with --json", function()
      local code, out = run({ "start", SEED, "--dry-run", "--json", "--encoding", "multipart" })
      assert.are.equal(0, code)
      local o = cjson.decode(out)
      assert.is_true(o.dry_run)
      assert.are.equal("PATCH", o.method)
      assert.are.equal(sim.base_url .. "/meetings/" .. SEED .. "/livestream/status", o.url)
      assert.are.equal("Bearer ***", o.headers.Authorization)
      assert.are.same({ { name = "action", value = "start" } }, o.parts)
      assert.truthy(o.curl:find("$ZOOM_ACCESS_TOKEN", 1, true))
    end)

    it("takes an empty ZOOM_API_BASE as unset", function()
      local code, out, err = run({ "stop", SEED, "--dry-run" }, { env = { ZOOM_API_BASE = "" } })
      assert.are.equal(0, code, err)
      assert.truthy(out:find("PATCH https://api.zoom.us/v2/meetings/" .. SEED .. "/livestream/status", 1, true))
    end)

    it("still validates (exit 2) and needs no credentials", function()
      local code = run({ "start", SEED, "--dry-run", "--layout", "tiles" })
      assert.are.equal(2, code)
      code = run({ "stop", SEED, "--dry-run" }, { env = { ZOOM_ACCESS_TOKEN = false } })
      assert.are.equal(0, code)
      assert.are.same({}, sim:requests())
    end)
  end)

  describe("failures", function()
    it("exits 4 without credentials, sending nothing", function()
      local code, out, err = run({ "stop", SEED, OTHER }, { env = { ZOOM_ACCESS_TOKEN = false } })
      assert.are.equal(4, code)
      assert.are.equal("", out)
      assert.are.equal(1, #lines(err))
      assert.truthy(err:find("^zoomlive: auth: no credentials"))
      code, out = run({ "stop", SEED, OTHER, "--json" }, { env = { ZOOM_ACCESS_TOKEN = false } })
      assert.are.equal(4, code)
      local l = lines(out)
      assert.are.equal(2, #l)
      assert.are.equal("auth", cjson.decode(l[2]).error.kind)
      assert.are.same({}, sim:requests())
    end)

    it("exits 4 when Zoom refuses the token (HTTP 401)", function()
      local code, _, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = "wrong-token" } })
      assert.are.equal(4, code)
      assert.truthy(err:find("^zoomlive: " .. SEED .. ": HTTP 401"))
    end)

    it("exits 4 when the S2S token endpoint refuses the credentials", function()
      local code, _, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = false,
        ZOOM_ACCOUNT_ID = "sim-account", ZOOM_CLIENT_ID = "sim-client-id", ZOOM_CLIENT_SECRET = "wrong",
        ZOOM_OAUTH_URL = sim.url .. "/oauth/token" } })
      assert.are.equal(4, code)
      assert.truthy(err:find("^zoomlive: auth"))
      assert.are.same({}, api_requests())
    end)

    it("exits 3 when the S2S token endpoint cannot be reached", function()
      local gone = testing.start { exe = SIM_EXE }
      local url = gone.url
      gone:stop()
      local code, out, err = run({ "stop", SEED, OTHER }, { env = { ZOOM_ACCESS_TOKEN = false,
        ZOOM_ACCOUNT_ID = "sim-account", ZOOM_CLIENT_ID = "sim-client-id",
        ZOOM_CLIENT_SECRET = "sim-client-secret", ZOOM_OAUTH_URL = url .. "/oauth/token" } })
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.are.equal(1, #lines(err))
      assert.truthy(err:find("^zoomlive: transport %(curl 7%): token endpoint: "), err)
      assert.are.same({}, sim:requests())
    end)

    it("works with S2S OAuth credentials from the environment", function()
      local code, _, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = false,
        ZOOM_ACCOUNT_ID = "sim-account", ZOOM_CLIENT_ID = "sim-client-id",
        ZOOM_CLIENT_SECRET = "sim-client-secret", ZOOM_OAUTH_URL = sim.url .. "/oauth/token" } })
      assert.are.equal(0, code, err)
    end)

    it("exits 3 when the connection is refused", function()
      local gone = testing.start { exe = SIM_EXE }
      local url = gone.base_url
      gone:stop()
      local code, out, err = run({ "stop", SEED, "--retries", "0", "--base-url", url })
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.truthy(err:find("^zoomlive: " .. SEED .. ": transport %(curl 7%)"), err)
    end)

    it("exits 3 on a timeout", function()
      sim:fault { meeting = SEED, hang = true }
      local code, _, err = run({ "stop", SEED, "--retries", "0", "--timeout", "0.3" })
      assert.are.equal(3, code)
      assert.truthy(err:find("^zoomlive: " .. SEED .. ": timeout"), err)
    end)
  end)

  describe("bin/zoomlive", function()
    it("runs: --help and --version exit 0", function()
      local code, out = sh("--help")
      assert.are.equal(0, code)
      assert.truthy(out:find("^usage: zoomlive"))
      code, out = sh("--version")
      assert.are.equal(0, code)
      assert.truthy(out:find("^zoomlive %d"))
    end)

    it("exits 0, 1 and 2", function()
      local code, out = sh("start " .. OTHER)
      assert.are.equal(0, code)
      assert.are.equal(OTHER .. ": live stream started\n", out)
      local err
      code, out, err = sh("stop 1234")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("zoomlive: 1234: HTTP 404 (Zoom 3001) Meeting does not exist: 1234.\n", err)
      code, out, err = sh("stop --bogus " .. SEED)
      assert.are.equal("", out)
      assert.are.equal(2, code)
      assert.truthy(err:find("unknown flag '--bogus'", 1, true))
    end)

    it("exits 3 on a refused port and 4 without credentials", function()
      local gone = testing.start { exe = SIM_EXE }
      local url = gone.base_url
      gone:stop()
      local code = sh("stop " .. SEED .. " --retries 0", { env = { ZOOM_API_BASE = url } })
      assert.are.equal(3, code)
      local out, err
      code, out, err = sh("stop " .. SEED, { env = { ZOOM_ACCESS_TOKEN = false } })
      assert.are.equal("", out)
      assert.are.equal(4, code)
      assert.truthy(err:find("no credentials", 1, true))
      assert.are.same({}, api_requests())
    end)

    it("--dry-run sends nothing and never prints the token", function()
      local code, out = sh("start " .. SEED .. " --dry-run --display-name 'Town hall'")
      assert.are.equal(0, code)
      assert.truthy(out:find("Bearer ***", 1, true))
      assert.truthy(out:find('"Authorization: Bearer $ZOOM_ACCESS_TOKEN"', 1, true))
      assert.are.same({}, sim:requests())
    end)

    it("--json output decodes; several IDs, one object each", function()
      local code, out = sh("stop --json " .. SEED .. " " .. LIVE .. " 1234")
      assert.are.equal(1, code)
      local l = lines(out)
      assert.are.equal(3, #l)
      local ids = {}
      for i, s in ipairs(l) do ids[i] = cjson.decode(s).id end
      assert.are.same({ SEED, LIVE, "1234" }, ids)
    end)

    it("configure takes the key from a file and from a pipe; get redacts it", function()
      local name = tmpfile_with(KEY .. "\n")
      finally(function() os.remove(name) end)
      local code, _, err = sh("configure " .. SEED .. " --stream-url rtmp://a/b --page-url https://x/y"
        .. " --stream-key-file " .. q(name))
      assert.are.equal(0, code, err)
      assert.are.equal(KEY, sim:meeting(SEED).stream.stream_key)
      code, _, err = sh("configure --webinar " .. WEBINAR .. " --stream-url rtmp://a/b --page-url https://x/y",
        { stdin = KEY })
      assert.are.equal(0, code, err)
      assert.are.equal(KEY, sim:webinar(WEBINAR).stream.stream_key)
      local out
      code, out = sh("get " .. SEED)
      assert.are.equal(0, code)
      assert.truthy(out:find("stream_key: ***", 1, true))
      code, out = sh("get --webinar --json " .. WEBINAR)
      assert.are.equal(0, code)
      assert.are.equal("***", cjson.decode(out).config.stream_key)
    end)
  end)
end)
