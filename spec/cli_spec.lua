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
    local code, signal = cli.main(argv, {
      stdout = out, stderr = err, stdin = o.stdin or stdin_of(""),
      isatty = o.isatty or false, getenv = function(k) return env[k] end,
      now = o.now, sleep = o.sleep, signals = o.signals,
    })
    if o.signal_out then o.signal_out[1] = signal end
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
    it("prints a help text with commands, environment, exit codes and examples; each command its flags", function()
      local code, out, err = run({ "--help" })
      assert.are.equal(0, code)
      assert.are.equal("", err)
      for _, s in ipairs({ "usage: zoomlive", "start", "stop", "mode", "get", "configure", "completion",
          "--version", "ZOOM_ACCESS_TOKEN", "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET",
          "ZOOM_API_BASE", "Exit status", "4 beats 3 beats 1", "130, 143",
          "zoomlive configure 68423085", "zoomlive start 68423085", "zoomlive get 68423085",
          "zoomlive stop 68423085", "--from ids.txt" }) do
        assert.truthy(out:find(s, 1, true), "help lacks " .. s)
      end
      assert.are.equal(out, select(2, run({ "-h" })))
      assert.are.equal(out, select(2, run({ "help" })))
      -- each command's own help: its flags and only those
      local flags = {
        start = { "--webinar", "--display-name", "--active-speaker-name", "--layout", "--close-caption",
          "--from", "--column", "--rate", "--concurrency", "--report", "--resume" },
        mode = { "--layout", "--close-caption", "--display-name" },
        stop = { "--webinar", "--from", "--rate", "--concurrency", "--report", "--resume" },
        get = { "--show-key", "--webinar", "--from" },
        configure = { "--stream-url", "--page-url", "--resolution", "--stream-key-file", "--webinar" },
      }
      local common = { "--encoding", "--base-url", "--json", "--dry-run", "--timeout", "--retries", "--help" }
      local absent = { stop = { "--display-name", "--stream-url", "--show-key" }, get = { "--layout" },
        mode = { "--webinar" }, configure = { "--show-key", "--display-name" } }
      for cmd, list in pairs(flags) do
        local c, h, e = run({ cmd, "--help" })
        assert.are.equal(0, c)
        assert.are.equal("", e)
        assert.truthy(h:find("^usage: zoomlive " .. cmd))
        assert.are.equal(h, select(2, run({ "help", cmd })))
        for _, f in ipairs(list) do assert.truthy(h:find(f, 1, true), cmd .. " help lacks " .. f) end
        for _, f in ipairs(common) do assert.truthy(h:find(f, 1, true), cmd .. " help lacks " .. f) end
        for _, f in ipairs(absent[cmd] or {}) do
          assert.is_nil(h:find(f .. " ", 1, true), cmd .. " help has " .. f)
        end
      end
      assert.are.same({}, api_requests())
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
          "--display-name: must be 1 to 50 characters, got 51" },
        { { "start", SEED, "--timeout", "0" }, "--timeout must be a positive number" },
        { { "start", SEED, "--encoding", "xml" }, "--encoding must be one of json, multipart" },
        { { "start", SEED, "--json=yes" }, "--json takes no value" },
        { { "stop", SEED, "--display-name", "x" }, "--display-name does not apply to 'stop'" },
        { { "start", SEED, "--stream-url", "rtmp://a/b" }, "--stream-url does not apply to 'start'" },
        { { "start", SEED, "--show-key" }, "--show-key does not apply to 'start'" },
        { { "mode", "--webinar", WEBINAR, "--layout", "gallery_view" }, "mode is for meetings only" },
        { { "start", "--webinar", WEBINAR, "--layout", "gallery_view" },
          "--layout does not apply to webinars" },
        { { "stop", "abc" }, "zoomlive: abc: bad argument 'meeting_id'" },
        { { "stop", SEED, "0" }, "zoomlive: 0: bad argument 'meeting_id'" },
        { { "start", SEED, "--base-url", "ftp://example.com" }, "--base-url: scheme must be https" },
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

    it("refuses help for an unknown command, and completion for an unknown shell", function()
      local code, out, err = run({ "help", "launch" })
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("unknown command 'launch'", 1, true))
      code, out, err = run({ "completion", "tcsh" })
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("must be one of", 1, true), err)
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
      assert.are.equal(3, #l)
      local sum = cjson.decode(l[3])
      assert.is_true(sum.summary)
      assert.are.same({ 2, 1, 1, 1 }, { sum.total, sum.ok, sum.failed, sum.exit })
      local a, b = cjson.decode(l[1]), cjson.decode(l[2])
      assert.are.equal(SEED, a.id)
      assert.is_true(a.ok)
      assert.are.equal(204, a.status)
      assert.truthy(a.tracking_id:find("^v=2%.0;clid=sim"))
      assert.are.equal(cjson.null, a.error or cjson.null)
      assert.are.equal("1234", b.id)
      assert.is_false(b.ok)
      assert.are.equal(404, b.status)
      assert.are.same({ "attempts", "code", "kind", "message", "status", "tracking_id" },
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
      local e1 = lines(err)
      assert.are.equal(2, #e1)
      assert.are.equal("zoomlive: 1234: HTTP 404 (Zoom 3001) Meeting does not exist: 1234.", e1[1])
      assert.truthy(e1[2]:find("^zoomlive: start: 3 IDs: 2 ok, 1 failed in %d+ s$"), e1[2])
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
      assert.are.equal(3, #e)
      assert.truthy(e[1]:find("^zoomlive: 1234: HTTP 404"))
      assert.truthy(e[2]:find("^zoomlive: " .. OTHER .. ": transport %(curl %d+%)"))
    end)

    it("shows a progress line on a terminal's stderr", function()
      local code, out, err = run({ "stop", SEED, OTHER, LIVE }, { isatty = { stderr = true } })
      assert.are.equal(0, code)
      assert.are.equal(3, #lines(out))
      assert.truthy(err:find("\r", 1, true))
      assert.truthy(err:find("3/3 done, 3 ok, 0 failed", 1, true))
      -- and none off a terminal: the summary line alone
      code, out, err = run({ "stop", SEED, OTHER, LIVE })
      assert.are.equal(0, code)
      assert.are.equal(3, #lines(out))
      assert.is_nil(err:find("\r", 1, true))
      assert.truthy(err:find("^zoomlive: stop: 3 IDs: 3 ok, 0 failed in %d+ s\n$"), err)
    end)

    it("uses client:update_many for every list, one ID too (the signal grace holds there)", function()
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
      -- one ID goes through it too; get and configure never do; webinar lists do
      run({ "stop", SEED })
      assert.are.equal(2, #calls)
      assert.are.same({ { SEED, "stop" } }, calls[2].items)
      run({ "get", SEED, OTHER })
      assert.are.equal(2, #calls)
      run({ "stop", "--webinar", WEBINAR, "82000000003" })
      assert.are.equal(3, #calls)
      assert.is_true(calls[3].opts.webinar)
      assert.are.same({ { WEBINAR, "stop" }, { "82000000003", "stop" } }, calls[3].items)
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
        local l = lines(out)
        assert.is_true(cjson.decode(table.remove(l)).summary)
        for i, s in ipairs(l) do
          local o = cjson.decode(s)
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

  describe("usage errors in the command's words", function()
    it("names the flags, not the library's fields, for settings", function()
      local cases = {
        { { "mode", SEED, "--display-name", "x" }, "^zoomlive: %-%-display%-name cannot be used with mode %(only %-%-layout and %-%-close%-caption%)\n$" },
        { { "mode", SEED, "--active-speaker-name", "true" }, "^zoomlive: %-%-active%-speaker%-name cannot be used with mode" },
        { { "mode", SEED }, "^zoomlive: mode needs %-%-layout or %-%-close%-caption\n$" },
        { { "start", SEED, "--display-name", string.rep("x", 51) }, "^zoomlive: %-%-display%-name: must be 1 to 50 characters, got 51\n$" },
      }
      for _, c in ipairs(cases) do
        local code, out, err = run(c[1])
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.matches(c[2], err)
        assert.is_nil(err:find("settings", 1, true), err)
      end
      assert.are.same({}, sim:requests())
    end)

    it("says where a plain http URL came from, and offers no Lua option", function()
      local code, _, err = run({ "start", SEED, "--dry-run" }, { env = { ZOOM_API_BASE = "http://example.com/v2" } })
      assert.are.equal(2, code)
      assert.are.equal("zoomlive: ZOOM_API_BASE: plain http:// is only allowed for loopback hosts\n", err)
      code, _, err = run({ "start", SEED, "--dry-run", "--base-url", "http://example.com/v2" })
      assert.are.equal(2, code)
      assert.are.equal("zoomlive: --base-url: plain http:// is only allowed for loopback hosts\n", err)
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
          'name="action"\r\n\r\nstart\r\n', 'name="settings"\r\n\r\n{"display_name":"Town hall"}\r\n',
          '-H "Authorization: Bearer $ZOOM_ACCESS_TOKEN"',
          "--form-string action=start", [[--form-string 'settings={"display_name":"Town hall"}']] }) do
        assert.truthy(out:find(s, 1, true), "dry run lacks " .. s .. ":\n" .. out)
      end
      assert.are.same({}, sim:requests())
    end)

    it("shows the body byte for byte as the call sends it (JSON, and multipart but for the boundary)", function()
      for _, enc in ipairs({ "json", "multipart" }) do
        sim:reset()
        local argv = { "start", OTHER, "--encoding", enc, "--display-name", "Town hall", "--layout", "gallery_view" }
        local dry = { table.unpack(argv) }
        dry[#dry + 1] = "--json"
        dry[#dry + 1] = "--dry-run"
        local code, out = run(dry)
        assert.are.equal(0, code)
        local shown = cjson.decode(out)
        assert.are.same({}, sim:requests())
        code = run(argv)
        assert.are.equal(0, code)
        local sent = api_requests()[1]
        assert.are.equal(sent.method, shown.method)
        assert.are.equal(sim.base_url .. sent.path:gsub("^/v2", ""), shown.url)
        local ct = shown.headers["Content-Type"]
        if enc == "json" then
          assert.are.equal(sent.body, shown.body)
          assert.are.equal(sent.content_type, ct)
        else
          local b1 = ct:match("boundary=(.+)$")
          local b2 = sent.content_type:match("boundary=(.+)$")
          assert.are.equal((shown.body:gsub(b1, "B", nil)), (sent.body:gsub(b2, "B", nil)))
          assert.are.equal(#sent.body, #shown.body)
        end
        assert.truthy(sent.headers["user-agent"] == shown.headers["User-Agent"], shown.headers["User-Agent"])
      end
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

    it("takes a token or S2S secret with an editor's BOM, CR or blanks; refuses one that cannot be right", function()
      for _, t in ipairs({ TOKEN .. "\r", "\239\187\191" .. TOKEN, " " .. TOKEN .. " \n" }) do
        local code, _, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = t } })
        assert.are.equal(0, code, err)
      end
      local code, _, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = false,
        ZOOM_ACCOUNT_ID = "sim-account\r\n", ZOOM_CLIENT_ID = "sim-client-id",
        ZOOM_CLIENT_SECRET = "\239\187\191sim-client-secret\r\n", ZOOM_OAUTH_URL = sim.url .. "/oauth/token" } })
      assert.are.equal(0, code, err)
      local out
      code, out, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = TOKEN .. "\n" .. TOKEN } })
      assert.are.equal(4, code)
      assert.are.equal("", out)
      assert.are.equal("zoomlive: auth: ZOOM_ACCESS_TOKEN holds more than one line: put the token alone on its line\n",
        err)
      code, _, err = run({ "stop", SEED }, { env = { ZOOM_ACCESS_TOKEN = TOKEN .. "\0x" } })
      assert.are.equal(4, code)
      assert.truthy(err:find("holds a NUL byte inside the token", 1, true), err)
      -- the four good runs were sent, the two refused ones not
      local reqs = api_requests()
      assert.are.equal(4, #reqs)
      for _, r in ipairs(reqs) do assert.are.equal("/v2/meetings/" .. SEED .. "/livestream/status", r.path) end
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


  -- clean-ups of a test (busted keeps one finally per test)
  local cleanups = {}
  local function later(fn) cleanups[#cleanups + 1] = fn end
  after_each(function()
    for i = #cleanups, 1, -1 do cleanups[i]() end
    cleanups = {}
  end)

  -- the decoded NDJSON lines of a run's stdout
  local function records(out)
    local t = {}
    for _, l in ipairs(lines(out)) do t[#t + 1] = cjson.decode(l) end
    return t
  end

  local function read_file(name)
    local f = assert(io.open(name, "rb"))
    local s = f:read("a")
    f:close()
    return s
  end

  local function sent_ids()
    local t = {}
    for _, r in ipairs(api_requests()) do
      local id = r.path:match("^/v2/%a+s/(%d+)/")
      t[#t + 1] = id
    end
    table.sort(t)
    return t
  end

  local function sorted(t)
    table.sort(t)
    return t
  end

  describe("lists", function()
    it("reads IDs from a file: BOM, CR LF, no final newline, blanks, comments, a duplicate, bad rows", function()
      local name = tmpfile_with("\239\187\191# meetings for the town hall\r\n" .. SEED .. "\r\n\r\n  \r\n"
        .. "abc\r\n" .. OTHER .. "  \r\n# " .. LIVE .. "\r\n0\r\n" .. SEED .. "\r\n12,34\r\n" .. LIVE)
      later(function() os.remove(name) end)
      local code, out, err = run({ "stop", "--from", name })
      assert.are.equal(1, code, err)    -- bad rows: partial failure, the good rows sent
      assert.are.same({ SEED .. ": live stream stopped", OTHER .. ": live stream stopped",
        LIVE .. ": live stream stopped" }, lines(out))
      assert.are.same(sorted { LIVE, OTHER, SEED }, sent_ids())   -- once each
      local e = lines(err)
      assert.truthy(e[1]:find("^zoomlive: line 5: abc: bad argument 'meeting_id'"), e[1])
      assert.truthy(e[2]:find("^zoomlive: line 8: 0: bad argument 'meeting_id'"), e[2])
      assert.are.equal("zoomlive: line 9: " .. SEED .. ": listed before (row 2); sent once", e[3])
      assert.truthy(e[4]:find("^zoomlive: line 10: 12,34: bad argument 'meeting_id': holds a comma"), e[4])
      assert.truthy(e[5]:find("^zoomlive: stop: 7 IDs: 3 ok, 0 failed, 3 bad rows, 1 duplicates in %d+ s$"),
        e[5])
      assert.are.equal(5, #e)
    end)

    it("--json: one object per input row, bad rows and duplicates included, then a summary", function()
      local name = tmpfile_with(SEED .. "\nabc\n1234\n" .. SEED .. "\n")
      later(function() os.remove(name) end)
      local code, out = run({ "stop", "--from", name, "--json" })
      assert.are.equal(1, code)
      local r = records(out)
      assert.are.equal(5, #r)
      assert.are.same({ SEED, 1, true, 204 }, { r[1].id, r[1].line, r[1].ok, r[1].status })
      assert.are.same({ "abc", 2, false, "argument" }, { r[2].row, r[2].line, r[2].ok, r[2].error.kind })
      assert.is_nil(r[2].id)
      assert.are.same({ "1234", 3, false, 404 }, { r[3].id, r[3].line, r[3].ok, r[3].status })
      assert.are.same({ SEED, 4, "duplicate", 1 }, { r[4].id, r[4].line, r[4].skipped, r[4].duplicate_of })
      assert.is_nil(r[4].ok)
      assert.are.same({ true, 4, 1, 1, 1, 1, 0, 1 }, { r[5].summary, r[5].total, r[5].ok, r[5].failed,
        r[5].bad_rows, r[5].duplicates, r[5].not_sent, r[5].exit })
    end)

    it("reads the list from stdin with --from -, after IDs given as arguments", function()
      local code, out, err = run({ "stop", SEED, "--from", "-" }, { stdin = stdin_of(OTHER .. "\n" .. LIVE) })
      assert.are.equal(0, code, err)
      assert.are.equal(3, #lines(out))
      assert.are.same(sorted { LIVE, OTHER, SEED }, sent_ids())
    end)

    it("reads a CSV column named by --column; quoted fields; the header names the columns", function()
      local name = tmpfile_with('\239\187\191topic,"meeting id",host\r\n"Town hall, Q3",' .. SEED
        .. ',ann\r\n"Say ""hi""", ' .. OTHER .. ' ,bob\r\nbroken,abc,carl\r\nshort\r\n')
      later(function() os.remove(name) end)
      local code, out, err = run({ "stop", "--from", name, "--column", "meeting id", "--json" })
      assert.are.equal(1, code, err)
      local r = records(out)
      assert.are.same({ SEED, OTHER }, { r[1].id, r[2].id })
      assert.are.same({ 2, 3, 4, 5 }, { r[1].line, r[2].line, r[3].line, r[4].line })
      assert.are.same({ true, true, false, false }, { r[1].ok, r[2].ok, r[3].ok, r[4].ok })
      assert.truthy(r[4].error.message:find("no column 2", 1, true))
      assert.are.same(sorted { OTHER, SEED }, sent_ids())
    end)

    it("reads a quoted CSV field that spans lines as part of one record, never as rows of its own", function()
      local name = tmpfile_with('id,note\n' .. SEED .. ',"moved to\n999, see ticket"\n'
        .. OTHER .. ',"never\nclosed\n')
      later(function() os.remove(name) end)
      local code, out, err = run({ "stop", "--from", name, "--column", "id", "--json" })
      assert.are.equal(1, code, err)
      local r = records(out)
      assert.are.same({ SEED, 2, true }, { r[1].id, r[1].line, r[1].ok })
      assert.are.same({ 4, false }, { r[2].line, r[2].ok })          -- the unclosed one, alone
      assert.truthy(r[2].error.message:find("not closed", 1, true))
      assert.are.same({ SEED }, sent_ids())                           -- 999 never
    end)

    it("keeps --json output valid UTF-8 whatever bytes a bad row holds", function()
      local name = tmpfile_with(SEED .. "\nab\255\254cd\n")
      later(function() os.remove(name) end)
      local code, out = run({ "stop", "--from", name, "--json" })
      assert.are.equal(1, code)
      for line in out:gmatch("[^\n]+") do assert.truthy(utf8.len(line), "not UTF-8: " .. line) end
      assert.are.equal("ab??cd", records(out)[2].row)
    end)

    it("refuses a list it cannot use, sending nothing (exit 2)", function()
      local csv = tmpfile_with("a,b\n1,2\n")
      local bad = tmpfile_with("abc\n\n0\n")
      local utf16 = tmpfile_with("\255\254" .. ("1\0002\0"):rep(2))
      local missing = os.tmpname()
      os.remove(missing)
      later(function() os.remove(csv) os.remove(bad) os.remove(utf16) end)
      local cases = {
        { { "stop", "--from", csv, "--column", "meeting_id" }, "has no column 'meeting_id' (its header has: a, b)" },
        { { "stop", SEED, "--column", "id" }, "--column needs --from FILE" },
        { { "stop", "--from", missing }, "cannot read --from" },
        { { "stop", "--from", utf16 }, "is UTF-16: save it as UTF-8" },
        { { "stop", "--from", "-" }, "stop: no ID given (the list holds none)" },
        { { "stop", "--from", bad }, "line 3: 0: bad argument" },
        { { "stop", "--from", bad, "--rate", "0" }, "--rate must be a number of requests per second" },
        { { "stop", SEED, "--concurrency", "0" }, "--concurrency must be an integer from 1 to 64" },
      }
      for _, c in ipairs(cases) do
        local code, _, err = run(c[1])
        assert.are.equal(2, code, table.concat(c[1], " ") .. ": " .. err)
        assert.truthy(err:find(c[2], 1, true), "stderr lacks '" .. c[2] .. "': " .. err)
      end
      assert.are.same({}, api_requests())
    end)
  end)

  describe("pacing", function()
    -- update_many stood in for: records its calls, answers 204 for every item
    local function fake_many(calls)
      local Client = client.Client
      local saved = rawget(Client, "update_many")
      later(function() Client.update_many = saved end)
      Client.update_many = function(_, items, opts)
        calls[#calls + 1] = { items = items, opts = opts }
        local res = {}
        for i in ipairs(items) do res[i] = { status = 204, info = { attempts = 1 } } end
        return res, { total = #items, ok = #items, failed = 0, attempts = #items }
      end
    end

    local function ids(n)
      local t = {}
      for i = 1, n do t[i] = tostring(90000000000 + i) end
      return t
    end

    it("passes --rate and --concurrency to update_many; defaults are a safe share of Pro's 30/s", function()
      local calls = {}
      fake_many(calls)
      local argv = { "start", table.unpack(ids(5)) }
      assert.are.equal(0, (run(argv)))
      assert.are.equal(20, calls[1].opts.rate)
      assert.are.equal(4, calls[1].opts.concurrency)
      argv[#argv + 1] = "--rate=7.5"
      argv[#argv + 1] = "--concurrency=3"
      assert.are.equal(0, (run(argv)))
      assert.are.equal(7.5, calls[2].opts.rate)
      assert.are.equal(3, calls[2].opts.concurrency)
    end)

    it("sends a long list in chunks of about a second at --rate, each after the last one's time", function()
      local calls = {}
      fake_many(calls)
      local t = 1000
      local starts, sleeps = {}, {}
      local saved = client.Client.update_many
      client.Client.update_many = function(self, items, opts)
        starts[#starts + 1] = t
        t = t + 0.25          -- the chunk's calls take a quarter of a second
        return saved(self, items, opts)
      end
      local name = tmpfile_with(table.concat(ids(45), "\n"))
      later(function() os.remove(name) end)
      local code, out = run({ "stop", "--from", name, "--rate", "10", "--json" }, {
        now = function() return t end,
        sleep = function(s) sleeps[#sleeps + 1] = s; t = t + s end,
      })
      assert.are.equal(0, code)
      assert.are.same({ 10, 10, 10, 10, 5 }, (function()
        local n = {}
        for i, c in ipairs(calls) do n[i] = #c.items end
        return n end)())
      -- chunk k starts k seconds after the first: 10 requests at 10/s each
      assert.are.same({ 1000, 1001, 1002, 1003, 1004 }, starts)
      assert.are.equal(46, #lines(out))
    end)

    it("paces get and configure, which go one by one, at --rate too", function()
      local t = 500
      local sleeps = {}
      local code, out = run({ "get", SEED, OTHER, LIVE, "--rate", "4", "--json" }, {
        now = function() return t end,
        sleep = function(sec) sleeps[#sleeps + 1] = sec; t = t + sec end,
      })
      assert.are.equal(0, code)
      assert.are.same({ 0.25, 0.25 }, sleeps)      -- the calls themselves take no time on this clock
      assert.are.equal(4, #lines(out))
      assert.are.equal(3, #api_requests())
    end)

    it("sends a list of webinars through update_many", function()
      local code, out, err = run({ "stop", "--webinar", WEBINAR, "82000000003", "--json" })
      assert.are.equal(0, code, err)
      local paths = {}
      for i, r in ipairs(api_requests()) do paths[i] = r.path end
      table.sort(paths)
      assert.are.same({ "/v2/webinars/81234567890/livestream/status", "/v2/webinars/82000000003/livestream/status" },
        paths)
      assert.are.equal("webinar", records(out)[1].type)
    end)

    if type(client.Client.update_many) == "function" then
      it("keeps a list under the simulator's per-second limit (no 429)", function()
        local limited = testing.start { exe = SIM_EXE, qps = 20, token = TOKEN, args = { "--any-meeting" } }
        later(function() limited:stop() end)
        local name = tmpfile_with(table.concat(ids(30), "\n"))
        later(function() os.remove(name) end)
        local code, out, err = run({ "stop", "--from", name, "--rate", "18", "--concurrency", "4", "--json",
          "--retries", "0" }, { env = { ZOOM_API_BASE = limited.base_url } })
        local statuses = {}
        for _, r in ipairs(limited:requests()) do statuses[r.status] = (statuses[r.status] or 0) + 1 end
        assert.is_nil(statuses[429], "429s: " .. tostring(statuses[429]))
        assert.are.equal(30, #limited:requests())
        assert.are.equal(31, #lines(out), err)
        assert.truthy(code == 0 or code == 1, err)
      end)
    end
  end)

  describe("--report and --resume", function()
    it("appends one record per row as it ends, flushed; a torn last line gets its own line", function()
      local report = tmpfile_with('{"id":"1","command":"stop","ok":tr')   -- a killed run's last line
      local list = tmpfile_with(SEED .. "\nabc\n1234\n")
      later(function() os.remove(report) os.remove(list) end)
      local code = run({ "stop", "--from", list, "--report", report })
      assert.are.equal(1, code)
      local l = lines(read_file(report))
      assert.are.equal(4, #l)
      assert.are.equal('{"id":"1","command":"stop","ok":tr', l[1])
      local a, b, c = cjson.decode(l[2]), cjson.decode(l[3]), cjson.decode(l[4])
      assert.are.same({ SEED, true, "stop", "meeting" }, { a.id, a.ok, a.command, a.type })
      assert.are.same({ "abc", false }, { b.row, b.ok })
      assert.are.same({ "1234", false, 404 }, { c.id, c.ok, c.status })
    end)

    it("never writes the stream key or a join token to a report, --show-* or not", function()
      local report = os.tmpname()
      later(function() os.remove(report) end)
      local code, out = run({ "get", SEED, "--show-key", "--report", report, "--json" })
      assert.are.equal(0, code)
      assert.are.equal("key-" .. SEED, cjson.decode(out).config.stream_key)
      assert.are.equal("***", cjson.decode(read_file(report)).config.stream_key)
      -- nor a join token
      local report2 = os.tmpname()
      later(function() os.remove(report2) end)
      code, out = run({ "join-token", SEED, "--show-token", "--report", report2, "--json" })
      assert.are.equal(0, code)
      local tok = cjson.decode(out).join_token.token
      assert.truthy(#tok > 8 and tok ~= "***")
      local saved = read_file(report2)
      assert.is_nil(saved:find(tok, 1, true))
      assert.are.equal("***", cjson.decode(saved).join_token.token)
    end)

    it("--resume skips what a report records as done (ok), sends the rest; tolerates a torn line", function()
      local report = tmpfile_with(table.concat({
        '{"id":"' .. SEED .. '","type":"meeting","command":"stop","ok":true,"status":204}',
        '{"id":"' .. OTHER .. '","type":"meeting","command":"stop","ok":false,"status":503}',
        '{"id":"' .. LIVE .. '","type":"meeting","command":"start","ok":true,"status":204}',
        '{"id":"' .. LIVE .. '","type":"meeting","command":"stop","ok":tr' }, "\n"))
      later(function() os.remove(report) end)
      local code, out, err = run({ "stop", SEED, OTHER, LIVE, "--resume", report, "--report", report, "--json" })
      assert.are.equal(0, code, err)
      assert.are.same(sorted { LIVE, OTHER }, sent_ids())
      local r = records(out)
      assert.are.same({ "done", nil, nil }, { r[1].skipped, r[2].skipped, r[3].skipped })
      assert.are.same({ 3, 2, 1 }, { r[4].total, r[4].ok, r[4].skipped_done })
      assert.truthy(err:find("1 unreadable line(s) skipped", 1, true), err)
      -- the report now says both are done: a second resume sends nothing
      sim:clear_requests()
      code = run({ "stop", SEED, OTHER, LIVE, "--resume", report })
      assert.are.equal(0, code)
      assert.are.same({}, sent_ids())
    end)

    it("--resume of a list whose good rows are all done exits as the first run did (1), not 2", function()
      local report = os.tmpname()
      local list = tmpfile_with(SEED .. "\nabc\n")
      later(function() os.remove(report) os.remove(list) end)
      assert.are.equal(1, (run({ "stop", "--from", list, "--report", report })))
      sim:clear_requests()
      local code, _, err = run({ "stop", "--from", list, "--resume", report, "--report", report })
      assert.are.equal(1, code, err)
      assert.are.same({}, sent_ids())
    end)

    it("a --report or stdout that cannot be written ends the run with exit 1 and says so", function()
      local code, _, err = run({ "stop", SEED, "--report", "/dev/full" })
      assert.are.equal(1, code)
      assert.truthy(err:find("cannot write the --report file", 1, true), err)
      local shc, _, sherr = sh("get " .. SEED .. " --json >/dev/full")
      assert.are.equal(1, shc)
      assert.truthy(sherr:find("cannot write stdout", 1, true), sherr)
    end)

    it("refuses a list or --resume file it would have to read without end (/dev/zero)", function()
      local code, _, err = run({ "stop", "--from", "/dev/zero" })
      assert.are.equal(2, code)
      assert.truthy(err:find("64 MiB", 1, true), err)
      code, _, err = run({ "stop", SEED, "--resume", "/dev/zero" })
      assert.are.equal(2, code)
      assert.truthy(err:find("64 MiB", 1, true), err)
      assert.are.same({}, sent_ids())
    end)

    it("--resume FILE must exist unless it is the --report file (a first run)", function()
      local missing = os.tmpname()
      os.remove(missing)
      later(function() os.remove(missing) end)
      local code, _, err = run({ "stop", SEED, "--resume", missing })
      assert.are.equal(2, code)
      assert.truthy(err:find("cannot read --resume", 1, true))
      assert.are.same({}, api_requests())
      code = run({ "stop", SEED, "--resume", missing, "--report", missing })
      assert.are.equal(0, code)
      assert.are.equal(1, #lines(read_file(missing)))
    end)
  end)

  describe("interruption", function()
    it("stops between chunks on a signal: records the rest as not sent, summary, 128 + signal", function()
      local n = 0
      local signals = { trap = function() end, untrap = function() end,
        pending = function() return n >= 1 and "INT" or nil end }
      local saved = rawget(client.Client, "update_many")
      later(function() client.Client.update_many = saved end)
      client.Client.update_many = function(self, items, opts)
        n = n + 1
        return saved(self, items, opts)
      end
      local ids = {}
      for i = 1, 5 do ids[i] = tostring(91000000000 + i) end
      local list = tmpfile_with(table.concat(ids, "\n"))
      local report = os.tmpname()
      later(function() os.remove(list) os.remove(report) end)
      local sig = {}
      local code, out, err = run({ "stop", "--from", list, "--rate", "2", "--concurrency", "1", "--json",
        "--report", report }, { signals = signals, signal_out = sig,
        env = { ZOOM_API_BASE = sim.base_url } })
      assert.are.equal(130, code, err)
      assert.are.equal("INT", sig[1])
      local r = records(out)
      assert.are.equal(6, #r)
      assert.are.same({ "not sent", "not sent", "not sent" }, { r[3].skipped, r[4].skipped, r[5].skipped })
      assert.are.same({ 5, 3, "INT", 130 }, { r[6].total, r[6].not_sent, r[6].interrupted, r[6].exit })
      assert.are.equal(2, #api_requests())
      assert.are.equal(5, #lines(read_file(report)))
    end)
  end)

  describe("configure keys from editors", function()
    local FLAGS = { "--stream-url", "rtmp://new.example.com/app", "--page-url", "https://example.com/live" }
    it("takes away a BOM, CR LF, blanks, trailing blank lines and NULs", function()
      for _, text in ipairs({ "\239\187\191" .. KEY .. "\r\n", KEY .. "  \n\n\n", "\t" .. KEY .. "\0",
          KEY .. "\r\n\0\0", KEY, KEY .. " \194\160\n", "\226\128\139" .. KEY .. "\194\160" }) do
        sim:reset()
        local name = tmpfile_with(text)
        later(function() os.remove(name) end)
        local code, _, err = run({ "configure", SEED, "--stream-key-file", name, table.unpack(FLAGS) })
        assert.are.equal(0, code, err)
        assert.are.equal(KEY, sim:meeting(SEED).stream.stream_key)
        sim:reset()
        code = run({ "configure", SEED, table.unpack(FLAGS) }, { stdin = stdin_of(text) })
        assert.are.equal(0, code)
        assert.are.equal(KEY, sim:meeting(SEED).stream.stream_key)
      end
    end)

    it("refuses what cannot be one key, saying why and never showing it", function()
      local cases = {
        { KEY .. "\n" .. KEY .. "-2\n", "holds more than one line" },
        { "\255\254k\0e\0y\0", "is UTF-16 text" },
        { KEY .. "\0" .. KEY, "holds a NUL byte inside the key" },
        { KEY .. "\27[0m", "holds a control character" },
        { " \r\n\t\n", "holds only blank space" },
        { KEY .. "\255", "is not valid UTF-8" },
      }
      for _, c in ipairs(cases) do
        local name = tmpfile_with(c[1])
        later(function() os.remove(name) end)
        local code, out, err = run({ "configure", SEED, "--stream-key-file", name, table.unpack(FLAGS) })
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.truthy(err:find(c[2], 1, true), err)
        assert.are.equal(1, #lines(err))
      end
      assert.are.same({}, api_requests())
    end)
  end)

  describe("completion scripts and man page", function()
    local args = require "zoomlive.cli.args"
    local SHARE = BUILD .. "/share"

    it("the built files are those of the current definition", function()
      assert.are.equal(args.completion("bash"), read_file(SHARE .. "/completions/zoomlive.bash"))
      assert.are.equal(args.completion("zsh"), read_file(SHARE .. "/completions/_zoomlive"))
      assert.are.equal(args.completion("fish"), read_file(SHARE .. "/completions/zoomlive.fish"))
      local man = read_file(SHARE .. "/man/man1/zoomlive.1")
      assert.truthy(man:find("^%.TH ZOOMLIVE 1"))
      assert.are.equal(args.manpage(man:match('"zoomlive ([^"]*)"')), man)
      -- and `zoomlive completion SHELL` prints them
      for _, sh_name in ipairs({ "bash", "zsh", "fish" }) do
        local code, out = run({ "completion", sh_name })
        assert.are.equal(0, code)
        assert.are.equal(args.completion(sh_name), out)
      end
    end)

    it("bash completes commands, each command's flags, and the values of a flag", function()
      local script = SHARE .. "/completions/zoomlive.bash"
      local function complete(...)
        local words = { ... }
        local w = {}
        for i, x in ipairs(words) do w[i] = q(x) end
        local p = io.popen("bash -c " .. q("source " .. q(script) .. "; COMP_WORDS=(" .. table.concat(w, " ")
          .. "); COMP_CWORD=" .. (#words - 1) .. '; _zoomlive; echo "${COMPREPLY[*]}"'))
        local s = p:read("a")
        p:close()
        return s:gsub("\n$", "")
      end
      assert.are.equal("start stop", complete("zoomlive", "st"))
      assert.are.equal("--rate --report --resume --retries", complete("zoomlive", "start", "--r"))
      assert.are.equal("--stream-url --stream-key-file", complete("zoomlive", "configure", "--stream-"))
      assert.are.equal("follow_host gallery_view speaker_view", complete("zoomlive", "start", "--layout", ""))
      assert.are.equal("", complete("zoomlive", "stop", "--display"))
    end)

    it("docs/cli.md and the man page name every flag of the definition", function()
      local doc = read_file("docs/cli.md")
      local man = read_file(SHARE .. "/man/man1/zoomlive.1"):gsub("\\%-", "-")
      local help = ""
      for _, cmd in ipairs(args.COMMANDS) do help = help .. args.help(cmd) end
      for flag in help:gmatch("%-%-[%w-]+") do
        assert.truthy(doc:find("`" .. flag, 1, true), "docs/cli.md lacks " .. flag)
        assert.truthy(man:find(flag, 1, true), "the man page lacks " .. flag)
      end
      for _, cmd in ipairs(args.COMMANDS) do
        assert.truthy(doc:find("`" .. cmd, 1, true), "docs/cli.md lacks " .. cmd)
      end
    end)
  end)


  describe("signals (bin/zoomlive in a subprocess)", function()
    local slow   -- a simulator that answers every meeting, 300 ms late

    before_each(function()
      slow = testing.start { exe = SIM_EXE, qps = 100000, token = TOKEN, args = { "--any-meeting" } }
      slow:fault { path = "/v2/meetings/", latency_ms = 300 }
    end)
    after_each(function() slow:stop() end)

    -- Runs `script` (bash, $0 $1 ... = extra) in a new process group with
    -- the CLI's environment; returns the group's id and a function that
    -- waits for it and says "signal N" or "exit N".
    local function spawn(script, extra)
      local env = { "env -u ZOOM_ACCOUNT_ID -u ZOOM_CLIENT_ID -u ZOOM_CLIENT_SECRET",
        "LUA_PATH=" .. q("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. q(BUILD .. "/lib/?.so;;"),
        "ZOOM_ACCESS_TOKEN=" .. q(TOKEN), "ZOOM_API_BASE=" .. q(slow.base_url), "ZOOMLIVE_LUA=" .. q(LUA) }
      local perl = [[$| = 1; use POSIX; my $pid = fork(); die "fork" unless defined $pid;
        if ($pid == 0) { setsid(); open(STDOUT, ">", "/dev/null"); exec("bash", "-c", @ARGV) or POSIX::_exit(127) }
        print "pid $pid\n"; waitpid($pid, 0); my $s = $?;
        print(($s & 127) ? "signal " . ($s & 127) . "\n" : "exit " . ($s >> 8) . "\n");]]
      local parts = { table.concat(env, " "), "perl -e", q(perl), q(script) }
      for _, a in ipairs(extra) do parts[#parts + 1] = q(a) end
      local p = assert(io.popen(table.concat(parts, " ") .. " 2>/dev/null", "r"))
      local pid = assert(tonumber(p:read("l"):match("^pid (%d+)$")))
      return pid, function()
        local how = p:read("l")
        p:close()
        return how
      end
    end

    -- waits (at most 20 s) for the file to hold n lines
    local function wait_lines(name, n)
      for _ = 1, 400 do
        local f = io.open(name, "rb")
        local c = 0
        if f then
          for _ in f:lines() do c = c + 1 end
          f:close()
        end
        if c >= n then return c end
        os.execute("sleep 0.05")
      end
      error("no " .. n .. " lines in " .. name)
    end

    local function list_of(n)
      local t = {}
      for i = 1, n do t[i] = tostring(90000000000 + i) end
      return t
    end

    it("SIGINT: nothing sent after it, the report complete, the process ends by SIGINT and a shell loop stops",
      function()
        local ids = list_of(16)
        local list = tmpfile_with(table.concat(ids, "\n") .. "\n")
        local report = os.tmpname()
        local err = os.tmpname()
        later(function() os.remove(list) os.remove(report) os.remove(err) end)
        local pid, wait = spawn([[for i in 1 2; do "$ZOOMLIVE_LUA" bin/zoomlive stop --from "$0" --rate 4 ]]
          .. [[--concurrency 2 --report "$1" 2>>"$2"; echo "after $i: $?" >>"$2"; done]], { list, report, err })
        wait_lines(report, 4)                       -- the first chunk is done
        os.execute("kill -INT -" .. pid)            -- Ctrl-C: the whole group
        assert.are.equal("signal 2", wait())      -- bash stopped its loop by SIGINT too
        local e = read_file(err)
        assert.is_nil(e:find("after", 1, true), e)
        assert.truthy(e:find("interrupted by SIGINT", 1, true), e)
        -- one record per row; the rows sent are exactly the simulator's requests
        local recs = records(read_file(report))
        assert.are.equal(16, #recs)
        local logged = {}
        for _, r in ipairs(slow:requests()) do
          local id = r.path:match("^/v2/meetings/(%d+)/")
          assert.is_nil(logged[id], "sent twice: " .. tostring(id))
          logged[id] = true
        end
        local not_sent = 0
        for i, r in ipairs(recs) do
          assert.are.equal(ids[i], r.id)
          if r.skipped == "not sent" or (r.error and r.error.kind == "cancelled" and not r.error.outcome_unknown) then
            not_sent = not_sent + 1
            assert.is_nil(logged[r.id], r.id .. " was sent after the signal")
          else
            assert.is_true(r.ok, cjson.encode(r))
            assert.is_true(logged[r.id], r.id .. " is recorded done but was never sent")
          end
        end
        assert.truthy(not_sent > 0 and not_sent < 16, not_sent)
      end)

    it("SIGTERM while rows wait to retry: a row that was answered is recorded with its error, never as not sent",
      function()
        slow:clear_faults()
        slow:fault { path = "/v2/meetings/", status = 503 }
        local ids = list_of(30)
        local list = tmpfile_with(table.concat(ids, "\n") .. "\n")
        local report = os.tmpname()
        later(function() os.remove(list) os.remove(report) end)
        local pid, wait = spawn([["$ZOOMLIVE_LUA" bin/zoomlive stop --from "$0" --concurrency 1 --report "$1"]],
          { list, report })
        for _ = 1, 400 do                           -- some rows have been answered
          if #slow:requests() >= 3 then break end
          os.execute("sleep 0.05")
        end
        os.execute("kill -TERM " .. pid)
        assert.are.equal("signal 15", wait())
        local sent = {}
        for _, r in ipairs(slow:requests()) do sent[r.path:match("^/v2/meetings/(%d+)/")] = true end
        local recs = records(read_file(report))
        assert.are.equal(30, #recs)
        local answered = 0
        for _, r in ipairs(recs) do
          if sent[r.id] then
            answered = answered + 1
            assert.is_nil(r.skipped, cjson.encode(r))
            assert.is_false(r.ok)
            assert.is_true(r.error.attempts >= 1, cjson.encode(r))
          else
            assert.are.equal("not sent", r.skipped, cjson.encode(r))
          end
        end
        assert.is_true(answered >= 1, answered)
      end)

    it("core.signal_trap: a caught signal stops calls before they send; untrap restores the host's handler",
      function()
        local core = require "zoomlive.core"
        local f = assert(io.open("/proc/self/stat", "rb"))
        local pid = f:read("n")
        f:close()
        assert.is_nil(core.signal_pending())
        assert.is_true(core.signal_trap({ "TERM" }, 0))
        local c = client.new({ base_url = slow.base_url, retries = 0 }, function(k)
          return k == "ZOOM_ACCESS_TOKEN" and TOKEN or nil
        end)
        local ok_trap = pcall(function()
          os.execute("kill -TERM " .. pid)
          assert.are.equal("TERM", core.signal_pending())
          local status, err = c:update("90000000001", "stop")
          assert.is_nil(status)
          assert.are.equal("cancelled", err.kind)
          assert.is_false(err.outcome_unknown)   -- said, and false: nothing was sent
        end)
        core.signal_untrap()
        assert.is_true(ok_trap)
        assert.is_nil(core.signal_pending())
        assert.are.same({}, slow:requests())       -- nothing was sent
        assert.are.equal(204, (c:update("90000000001", "stop")))
        c:close()
      end)

    it("the library alone installs no handler: a host that never asks dies of SIGTERM as usual", function()
      local pid, wait = spawn([[exec "$ZOOMLIVE_LUA" -e '
        local z = require "zoomlive"
        local c = z.new { base_url = os.getenv("ZOOM_API_BASE") }
        assert(c:update("90000000001", "stop") == 204)
        local f = io.open("/proc/self/stat", "rb")
        local me = f:read("n")
        f:close()
        os.execute("kill -TERM " .. me)
        os.exit(0)']], {})
      assert.truthy(pid > 0)
      assert.are.equal("signal 15", wait())
    end)

    it("SIGHUP while a slow --rate waits between calls: ends at once by SIGHUP, the rest not sent", function()
      local list = tmpfile_with("90000000001\n90000000002\n90000000003\n")
      local report = os.tmpname()
      later(function() os.remove(list) os.remove(report) end)
      -- one request per 50 s: the second waits on the pace when the signal comes
      local pid, wait = spawn([[exec "$ZOOMLIVE_LUA" bin/zoomlive stop --from "$0" --rate 0.02 ]]
        .. [[--report "$1" 2>/dev/null]], { list, report })
      for _ = 1, 400 do
        if #slow:requests() >= 1 then break end
        os.execute("sleep 0.05")
      end
      os.execute("sleep 0.2")
      os.execute("kill -HUP -" .. pid)
      assert.are.equal("signal 1", wait())
      local recs = records(read_file(report))
      assert.are.equal(3, #recs)
      assert.is_true(recs[1].ok)
      assert.are.same({ "not sent", "not sent" }, { recs[2].skipped, recs[3].skipped })
      assert.are.equal(1, #slow:requests())
    end)

    it("refuses a --rate too slow to be meant (below 0.001/s)", function()
      local code, _, err = run({ "stop", SEED, "--rate", "1e-300" })
      assert.are.equal(2, code)
      assert.truthy(err:find("from 0.001", 1, true), err)
    end)

    it("SIGTERM during a call that never ends: a second signal cuts the grace; ends by SIGTERM", function()
      slow:fault { meeting = "90000000002", hang = true }
      local list = tmpfile_with("90000000001\n90000000002\n")
      local report = os.tmpname()
      local err = os.tmpname()
      later(function() os.remove(list) os.remove(report) os.remove(err) end)
      -- exec: the command itself leads the group (a bash waiting for it
      -- would die of SIGTERM at once)
      local pid, wait = spawn([[exec "$ZOOMLIVE_LUA" bin/zoomlive stop --from "$0" --concurrency 1 --report "$1" ]]
        .. [[--timeout 60 2>"$2"]], { list, report, err })
      for _ = 1, 400 do
        if #slow:requests() >= 1 then break end   -- the first is answered; the second goes out
        os.execute("sleep 0.05")
      end
      os.execute("sleep 0.2")
      os.execute("kill -TERM -" .. pid .. "; kill -INT -" .. pid)
      assert.are.equal("signal 15", wait())
      local recs = records(read_file(report))
      assert.are.equal(2, #recs)
      assert.is_true(recs[1].ok)
      assert.are.equal("cancelled", recs[2].error.kind)
      assert.is_true(recs[2].error.outcome_unknown)    -- its request had left
      assert.truthy(read_file(err):find("interrupted by SIGTERM", 1, true))
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
      assert.are.equal(4, #l)
      assert.is_true(cjson.decode(table.remove(l)).summary)
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
