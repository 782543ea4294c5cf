--- zoomlive.cli: the `zoomlive` command, as a function so it can be tested
-- in-process.
--
--   local cli = require "zoomlive.cli"
--   local code, signal = cli.main({ "start", "68423085" }, {
--     stdout = io.stdout, stderr = io.stderr, stdin = io.stdin,
--     isatty = false,            -- or true, or { stdin=, stdout=, stderr= },
--                                -- or function(name) -> bool
--     getenv = os.getenv,
--     signals = true,            -- trap SIGINT/SIGTERM (bin/zoomlive does);
--                                -- or { trap=, pending=, untrap= } (tests)
--     now = core.now, sleep = core.sleep,   -- clock and sleep (tests)
--   })
--
-- `signal` is "INT" or "TERM" when one interrupted the run: the caller ends
-- the process by it (core.signal_raise), so that a calling shell loop stops.
--
-- Exit codes (from error kinds, never from message text): 0 success; 1 Zoom
-- answered with an error, or a row of a list was bad; 2 usage (nothing
-- sent); 3 transport, timeout or unusable reply; 4 credentials; 70 a bug;
-- 128 + the signal's number after an interruption.
-- With several IDs the worst outcome decides: 2 > 4 > 3 > 1 > 0.
--
-- The parts: cli/args.lua (the one definition of the command line),
-- cli/lists.lua (IDs from arguments and files), cli/run.lua (chunks,
-- pacing, signals, records), cli/output.lua (text, NDJSON, report, progress,
-- summary), cli/dryrun.lua, cli/secret.lua, and one module per command:
-- cli/update.lua (start, stop, mode), cli/get.lua, cli/configure.lua.
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"
local client = require "zoomlive.client"
local errors = require "zoomlive.errors"
local args = require "zoomlive.cli.args"
local lists = require "zoomlive.cli.lists"
local output = require "zoomlive.cli.output"
local run_mod = require "zoomlive.cli.run"
local dryrun = require "zoomlive.cli.dryrun"
local secret = require "zoomlive.cli.secret"

local format = string.format

local M = {}

M.EXIT = { ok = 0, http = 1, usage = 2, network = 3, auth = 4, internal = 70 }
local EXIT = M.EXIT
-- worst first: a usage error means nothing was sent, then credentials,
-- then the network, then Zoom's own answers
local RANK = { [0] = 0, [1] = 1, [3] = 2, [4] = 3, [2] = 4, [70] = 5 }

local COMMANDS = {
  start = "zoomlive.cli.update", stop = "zoomlive.cli.update", mode = "zoomlive.cli.update",
  get = "zoomlive.cli.get", configure = "zoomlive.cli.configure", ["join-token"] = "zoomlive.cli.join_token",
}

--- The exit code of one error, by its kind.
function M.exit_of(err)
  if not err then return EXIT.ok end
  local k = err.kind
  -- a token Zoom refuses is a credentials problem, though Zoom said it
  if k == "http" then return err.status == 401 and EXIT.auth or EXIT.http end
  if k == "argument" then return EXIT.usage end
  if k == "auth" then
    if err.cause == "transport" or err.cause == "timeout" then return EXIT.network end
    return EXIT.auth
  end
  return EXIT.network  -- transport, timeout, protocol, aborted, cancelled
end

local function worst(a, b)
  return (RANK[b] or 5) > (RANK[a] or 5) and b or a
end

local function tty_fn(isatty)
  if type(isatty) == "function" then return isatty end
  if type(isatty) == "table" then return function(name) return isatty[name] and true or false end end
  local v = isatty and true or false
  return function() return v end
end

-- seconds that calls in flight get after SIGINT or SIGTERM (a second
-- signal ends them at once)
M.GRACE = args.GRACE

local NO_SIGNALS = { trap = function() end, pending = function() return nil end, untrap = function() end }
local CORE_SIGNALS = {
  -- HUP too: a closed terminal or SSH session ends a run the same way,
  -- with every record written
  trap = function() core.signal_trap({ "INT", "TERM", "HUP" }, M.GRACE) end,
  pending = core.signal_pending,
  untrap = core.signal_untrap,
}

-- Credentials in the environment that cannot work: an exit 4 before
-- anything else, decided here rather than read from an error's text.
local CREDENTIALS = { ZOOM_ACCESS_TOKEN = "token", ZOOM_ACCOUNT_ID = "account ID", ZOOM_CLIENT_ID = "client ID",
  ZOOM_CLIENT_SECRET = "secret" }

local function credentials_problem(getenv, rawenv)
  local s2s = { "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET" }
  local set = 0
  for _, n in ipairs(s2s) do if getenv(n) then set = set + 1 end end
  if not getenv("ZOOM_ACCESS_TOKEN") and set > 0 and set < 3 then
    return "Server-to-Server OAuth needs ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET together"
  end
  for _, n in ipairs({ "ZOOM_ACCESS_TOKEN", table.unpack(s2s) }) do
    local v = rawenv(n)
    if v then
      local ok, why = secret.clean(v, n, CREDENTIALS[n])
      if not ok then return why end
    end
  end
end

-- text of --from FILE ("-": stdin), read up to a bound (a list of IDs is
-- small; /dev/zero or a runaway file is refused, not read until memory runs out)
M.MAX_INPUT = 64 * 1024 * 1024
local function reader(ctx, env)
  return function(path)
    if path == "-" then
      env.stdin_used = true
        if not ctx.stdin then return nil, "stdin is closed" end
      local s = ctx.stdin:read(M.MAX_INPUT + 1) or ""   -- nil at once: empty
      if #s > M.MAX_INPUT then return nil, "stdin holds more than the 64 MiB a list may have" end
      return s
    end
    local f, why = io.open(path, "rb")
    if not f then return nil, why end
    local s, rerr = f:read(M.MAX_INPUT + 1)
    f:close()
    if not s then return "" end   -- empty
    if rerr then return nil, rerr end
    if #s > M.MAX_INPUT then return nil, "is larger than the 64 MiB a list may have" end
    return s
  end
end

-- IDs a report file records as done: ok records of this command and type
M.MAX_REPORT = 64 * 1024 * 1024   -- some 300,000 records
local function done_set(path, report_path, o, kind, out)
  local f, why = io.open(path, "rb")
  if not f then
    if path == report_path then return {} end  -- a first run: nothing done yet
    return nil, "cannot read --resume " .. output.printable(path, 200) .. ": " .. output.printable(why)
  end
  local cjson = require "cjson.safe"
  local text = f:read(M.MAX_REPORT + 1) or ""
  f:close()
  if #text > M.MAX_REPORT then
    return nil, "--resume " .. output.printable(path, 200) .. " is larger than 64 MiB"
  end
  local done, torn = {}, 0
  for line in text:gmatch("[^\n]+") do
    if line:match("%S") then
      local rec = cjson.decode(line)
      if type(rec) ~= "table" then
        torn = torn + 1
      elseif rec.ok == true and type(rec.id) == "string" and rec.command == o.command
          and (rec.type == nil or rec.type == kind) then
        done[rec.id] = true
      end
    end
  end
  if torn > 0 then
    out:warn(format("--resume %s: %d unreadable line(s) skipped (a run cut short); their IDs are sent again",
      output.printable(path, 200), torn))
  end
  return done
end

-- --help, --version, completion: the answers that need no run
local function informational(o, out)
  if o.help then
    out:raw(args.help(o.help_topic))
  elseif o.version then
    out:line(format("%s (libcurl %s, %s)", zoomlive._VERSION,
      tostring(zoomlive.curl_version):gsub("^libcurl/", ""), _VERSION))
  elseif o.completion then
    out:raw(args.completion(o.completion))
  else
    return false
  end
  return true
end

-- The rows of the run, or nil and an exit code (messages printed).
-- IDs on the command line are checked before anything is sent: a typo
-- there is a usage error; the rows of a file are reported and skipped.
local function read_rows(env)
  local o, out, cmd, kind = env.o, env.out, env.o.command, env.kind
  local rows, lerr = lists.read(o, reader(env.ctx, env), kind)
  if not rows then
    out:warn(lerr)
    return nil, EXIT.usage
  end
  if #rows == 0 then
    out:warn(cmd .. ": no ID given" .. (o.from and " (the list holds none)" or "") .. " (see zoomlive --help)")
    return nil, EXIT.usage
  end
  local bad = false
  for _, row in ipairs(rows) do
    if row.arg and not row.id then
      bad = true
      if o.json then
        out:line(output.record_json { id = output.printable(row.raw, 40), type = kind, command = cmd,
          ok = false, error = row.err })
      end
      out:warn(output.printable(row.raw, 40) .. ": " .. output.err_text(row.err))
    end
  end
  if bad then return nil, EXIT.usage end
  return rows
end

-- The client, or nil and an exit code. Credentials the environment holds
-- that cannot work are an exit 4, decided here (never from error text).
local function make_client(env)
  local o, out, ctx = env.o, env.out, env.ctx
  local problem = credentials_problem(ctx.getenv, ctx.rawenv)
  if problem and not o.dry_run then
    out:warn("auth: " .. problem)
    return nil, EXIT.auth
  end
  local getenv = ctx.getenv
  if problem then   -- a dry run needs no credentials: leave them out
    getenv = function(n)
      if n:match("^ZOOM_A") or n:match("^ZOOM_C") then return nil end
      return ctx.getenv(n)
    end
  end
  local copts = { base_url = o.base_url, encoding = o.encoding, timeout = o.timeout, retries = o.retries }
  if o.timeout and o.timeout < 10 then copts.connect_timeout = o.timeout end
  local ok, c = pcall(client.new, copts, getenv)
  if not ok then
    local msg = tostring(c):gsub("^[^:]*:%d+: ", ""):gsub("^zoomlive[.%w]*: ", "")
    -- in the command's words: where the URL came from; no Lua option to set
    msg = msg:gsub("^base_url ", o.base_url and "--base-url: " or "ZOOM_API_BASE: ")
      :gsub(" %(set allow_http = true to override%)", "")
    out:warn(output.printable(msg))
    return nil, EXIT.usage
  end
  ctx.client = c
  return c
end

-- Credentials first, once: a missing or refused token is one failure, not
-- one per ID. Returns nil, or the exit code.
local function credentials_fail(env, rows)
  local tok, aerr = env.client:check_credentials()
  if tok then return nil end
  local o = env.o
  for _, row in ipairs(rows) do
    if o.json and row.id then
      env.out:line(output.record_json { id = row.id, line = row.line, type = env.kind, command = o.command,
        ok = false, error = aerr })
    end
  end
  env.out:warn(output.err_text(aerr))
  return M.exit_of(aerr)
end

-- --resume and --report: nil, or the exit code of a usage error
local function records_setup(env, how)
  local o, out = env.o, env.out
  if o.resume then
    local done, derr = done_set(o.resume, o.report, o, env.kind, out)
    if not done then
      out:warn(derr)
      return EXIT.usage
    end
    how.done = done
  end
  if o.report then
    local rok, rerr = out:open_report(o.report)
    if not rok then
      out:warn("cannot open --report " .. output.printable(o.report, 200) .. ": " .. rerr)
      return EXIT.usage
    end
  end
end

local function run(argv, ctx)
  local out = ctx.out
  local o, why = args.parse(argv)
  if not o then
    out:warn(why .. " (see zoomlive --help)")
    return EXIT.usage
  end
  if informational(o, out) then return EXIT.ok end
  if not o.command then
    out:warn("no command given (see zoomlive --help)")
    return EXIT.usage
  end
  o.rate = o.rate or args.DEFAULT_RATE
  o.concurrency = o.concurrency or args.DEFAULT_CONCURRENCY
  local env = { ctx = ctx, out = out, o = o, kind = o.webinar and "webinar" or "meeting",
    now = ctx.now, sleep = ctx.sleep, signals = ctx.signals, exit_of = M.exit_of, worst = worst,
    missing_result = function()
      return errors.new("protocol", { message = "update_many returned no result for this ID" })
    end }

  local rows, code = read_rows(env)
  if not rows then return code end
  env.client, code = make_client(env)
  if not env.client then return code end
  local how, perr = require(COMMANDS[o.command]).prepare(env)
  if not how then
    out:warn(perr)
    return EXIT.usage
  end
  if o.dry_run then
    local ids = {}
    for _, row in ipairs(rows) do
      if row.id and not row.dup_of then ids[#ids + 1] = row.id end
    end
    return dryrun.run(env, ids)
  end
  code = credentials_fail(env, rows) or records_setup(env, how)
  if code then return code end
  ctx.signals.trap()
  ctx.trapped = true
  return run_mod.rows(env, rows, how)
end

--- Runs the command line argv (a list of strings, without the program
-- name) with the given io table; returns the exit code, and the name of
-- the signal that interrupted the run, if one did.
function M.main(argv, iot)
  iot = iot or {}
  local ctx = {
    stdout = iot.stdout or io.stdout,
    stderr = iot.stderr or io.stderr,
    stdin = iot.stdin or io.stdin,
    isatty = tty_fn(iot.isatty),
    secrets = {},
    now = iot.now or core.now,
    sleep = iot.sleep or core.sleep,
    signals = iot.signals == true and CORE_SIGNALS or iot.signals or NO_SIGNALS,
  }
  -- an empty variable is an unset one, as in most shells' idioms
  local getenv = iot.getenv or os.getenv
  ctx.rawenv = function(name)
    local v = getenv(name)
    if v == "" then return nil end
    return v
  end
  -- credentials the shell took from a file (TOKEN=$(cat f)) lose what an
  -- editor left around them: a BOM, a CR, blanks, a trailing NUL
  ctx.getenv = function(name)
    local v = ctx.rawenv(name)
    if v and CREDENTIALS[name] then
      local clean = secret.clean(v, name, CREDENTIALS[name])
      if clean then return clean end
    end
    return v
  end
  ctx.out = output.new(ctx)
  for _, name in ipairs({ "ZOOM_ACCESS_TOKEN", "ZOOM_CLIENT_SECRET" }) do
    ctx.out:secret(ctx.getenv(name))
    ctx.out:secret(ctx.rawenv(name))
  end
  local ok, code, signal = xpcall(run, debug.traceback, argv or {}, ctx)
  if ctx.client then ctx.client:close() end
  ctx.out:close_report()
  if ok and ctx.out.write_failed then
    -- what was done is not all on record: never a plain success
    ctx.out:warn("cannot write " .. ctx.out.write_failed .. ": the output of this run is incomplete")
    if code == EXIT.ok then code = EXIT.http end   -- 1: not everything went as asked
  end
  if ctx.trapped and not signal then ctx.signals.untrap() end
  if not ok then
    ctx.out:warn("internal error (please report it): " .. tostring(code))
    return EXIT.internal
  end
  return code, signal
end

return M
