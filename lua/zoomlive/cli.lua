--- zoomlive.cli: the `zoomlive` command, as a function so it can be tested
-- in-process.
--
--   local cli = require "zoomlive.cli"
--   local code = cli.main({ "start", "68423085" }, {
--     stdout = io.stdout, stderr = io.stderr, stdin = io.stdin,
--     isatty = false,            -- or true, or { stdin=, stdout=, stderr= },
--                                -- or function(name) -> bool
--     getenv = os.getenv,
--   })
--
-- Exit codes: 0 success; 1 Zoom answered with an error; 2 usage (nothing
-- sent); 3 transport, timeout or unusable reply; 4 credentials (none, the
-- token endpoint refused them, or HTTP 401); 70 a bug.
-- With several IDs the worst outcome decides: 2 > 4 > 3 > 1 > 0.
local zoomlive = require "zoomlive"
local client = require "zoomlive.client"
local validate = require "zoomlive.validate"
local errors = require "zoomlive.errors"

local format, concat = string.format, table.concat

local M = {}

M.EXIT = { ok = 0, http = 1, usage = 2, network = 3, auth = 4, internal = 70 }
local EXIT = M.EXIT
-- worst first: a usage error means nothing was sent, then credentials,
-- then the network, then Zoom's own answers
local RANK = { [0] = 0, [1] = 1, [3] = 2, [4] = 3, [2] = 4, [70] = 5 }

M.HELP = [[
usage: zoomlive COMMAND [FLAGS] ID [ID ...]

Controls the live streams of Zoom meetings and webinars through Zoom's REST API.

Commands:
  start       start the live stream (settings below apply)
  stop        stop the live stream
  mode        change layout or captions of a running stream (meetings only)
  get         print the live-stream configuration (the stream key as ***)
  configure   set the stream URL, stream key, page URL and resolution
  join-token  get a join token for live streaming (for a Meeting SDK bot);
              the token is shown as *** unless --show-token is given

Settings (start, mode):
  --display-name TEXT                name shown on the stream, 1 to 50 characters
  --active-speaker-name true|false   show the active speaker's name
  --layout follow_host|gallery_view|speaker_view          (meetings only)
  --close-caption burnt-in|embedded|off

Configuration (configure; URL, page and key are required):
  --stream-url URL          e.g. rtmp://live.example.com/app
  --page-url URL            the page where viewers watch, e.g. https://example.com/live
  --stream-key-file FILE    read the stream key from the first line of FILE;
                            "-" reads it from stdin. Without this flag the key is
                            read from stdin when stdin is not a terminal. The key
                            is never taken on the command line and never printed.
  --resolution 720p|1080p

Other flags:
  --webinar                 the IDs are webinars (start, stop, get, configure, join-token)
  --show-key                get: print the stream key instead of ***
  --show-token              join-token: print the token instead of ***
  --encoding multipart|json body of start/stop/mode requests (default multipart)
  --base-url URL            API base URL (default $ZOOM_API_BASE, else
                            https://api.zoom.us/v2)
  --timeout S               seconds allowed per attempt (default 30)
  --retries N               retries of transient failures (default 2)
  --json                    print one JSON object per ID on stdout
  --dry-run                 print each request and an equivalent curl command,
                            send nothing (values are still checked)
  -h, --help                print this text
  --version                 print the version

Environment:
  ZOOM_ACCESS_TOKEN         a bearer token; or, for Server-to-Server OAuth,
  ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET
  ZOOM_API_BASE             API base URL (--base-url wins)

Exit status:
  0   every ID succeeded
  1   Zoom answered with an error (HTTP 4xx/5xx) for at least one ID
  2   usage: unknown flag, missing or bad ID, bad value; nothing was sent
  3   network: connection failed, timed out, or the reply was unusable
  4   credentials: none set, the token endpoint refused them, or Zoom
      answered HTTP 401 (invalid or expired token)
  70  internal error: a bug in zoomlive (please report it)
  With several IDs the worst outcome decides: 4 beats 3 beats 1 beats 0.

Examples:
  export ZOOM_ACCESS_TOKEN=...            # or the three ZOOM_* S2S variables
  zoomlive configure 68423085 --stream-url rtmp://live.example.com/app \
      --page-url https://example.com/live --stream-key-file ~/.zoom-stream-key
  zoomlive start 68423085 --display-name "Town hall" --layout speaker_view
  zoomlive get 68423085
  zoomlive join-token --show-token 68423085
  zoomlive stop 68423085
  zoomlive start --dry-run 68423085       # show the request, send nothing
  zoomlive stop --json 68423085 93398114182
]]

local COMMANDS = { start = true, stop = true, mode = true, get = true, configure = true,
  ["join-token"] = true }

-- flag -> { field, kind, allowed values | nil }; kind "switch" takes no value
local FLAGS = {
  ["--webinar"] = { "webinar", "switch" },
  ["--json"] = { "json", "switch" },
  ["--dry-run"] = { "dry_run", "switch" },
  ["--show-key"] = { "show_key", "switch" },
  ["--show-token"] = { "show_token", "switch" },
  ["--help"] = { "help", "switch" },
  ["-h"] = { "help", "switch" },
  ["--version"] = { "version", "switch" },
  ["--display-name"] = { "display_name", "text" },
  ["--active-speaker-name"] = { "active_speaker_name", "bool" },
  ["--layout"] = { "layout", "text", validate.LAYOUTS },
  ["--close-caption"] = { "close_caption", "text", validate.CAPTIONS },
  ["--stream-url"] = { "stream_url", "text" },
  ["--page-url"] = { "page_url", "text" },
  ["--resolution"] = { "resolution", "text", validate.RESOLUTIONS },
  ["--stream-key-file"] = { "stream_key_file", "text" },
  ["--encoding"] = { "encoding", "text", { multipart = true, json = true } },
  ["--base-url"] = { "base_url", "text" },
  ["--timeout"] = { "timeout", "seconds" },
  ["--retries"] = { "retries", "count" },
}

local SETTINGS_FLAGS = { "display_name", "active_speaker_name", "layout", "close_caption" }
local STREAM_FLAGS = { "stream_url", "page_url", "resolution", "stream_key_file" }
local FLAG_OF = {}
for name, f in pairs(FLAGS) do
  if name ~= "-h" then FLAG_OF[f[1]] = name end
end

local function sorted_keys(set)
  local t = {}
  for k in pairs(set) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- Text safe for one line of output: no control characters, bounded.
local function printable(s, max)
  s = tostring(s):gsub("[\r\n\t]+", " "):gsub("%c", "?")
  if max and #s > max then s = s:sub(1, max) .. "..." end
  return s
end

--- Parses argv; returns the options, or nil and a usage message.
function M.parse(argv)
  local o = { ids = {} }
  local i, n = 1, #argv
  local only_ids = false
  while i <= n do
    local a = argv[i]
    if type(a) ~= "string" then return nil, "arguments must be strings" end
    if only_ids or a == "-" or a:sub(1, 1) ~= "-" then
      if not o.command then
        if not COMMANDS[a] then
          if a == "help" then
            o.help = true
          else
            return nil, format("unknown command '%s' (commands: start, stop, mode, get, configure, join-token)",
              printable(a, 40))
          end
        end
        o.command = a
      else
        o.ids[#o.ids + 1] = a
      end
    elseif a == "--" then
      only_ids = true
    else
      local name, value = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local f = FLAGS[name]
      if not f then
        -- only the flag's name: whatever follows '=' may be a secret
        local hint = name:find("key", 1, true) and name ~= "--stream-key-file"
          and "; the stream key is never taken on the command line: use --stream-key-file FILE or stdin"
          or ""
        return nil, format("unknown flag '%s'%s", printable(name, 40), hint)
      end
      local field, kind, allowed = f[1], f[2], f[3]
      if kind == "switch" then
        if value then return nil, format("%s takes no value", name) end
        o[field] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then return nil, format("%s needs a value", name) end
        end
        if kind == "bool" then
          if value == "true" then value = true
          elseif value == "false" then value = false
          else return nil, format("%s must be true or false, got '%s'", name, printable(value, 40)) end
        elseif kind == "seconds" then
          local v = tonumber(value)
          if not v or v <= 0 or v == math.huge then
            return nil, format("%s must be a positive number of seconds, got '%s'", name, printable(value, 40))
          end
          value = v
        elseif kind == "count" then
          local v = math.tointeger(tonumber(value))
          if not v or v < 0 or v > 100 then
            return nil, format("%s must be an integer from 0 to 100, got '%s'", name, printable(value, 40))
          end
          value = v
        elseif allowed and not allowed[value] then
          return nil, format("%s must be one of %s, got '%s'", name,
            concat(sorted_keys(allowed), ", "), printable(value, 40))
        end
        o[field] = value
      end
    end
    i = i + 1
  end
  return o
end

-- ---------------------------------------------------------------- output

-- JSON for our own objects, keys in a fixed order. obj: list of {key, value}.
local function jobj(pairs_list)
  local parts = {}
  for _, kv in ipairs(pairs_list) do
    local k, v = kv[1], kv[2]
    if v ~= nil then
      parts[#parts + 1] = validate.json(k) .. ":" .. (type(v) == "table" and v.__json or validate.json(v))
    end
  end
  return setmetatable({ __json = "{" .. concat(parts, ",") .. "}" }, {
    __tostring = function(t) return t.__json end })
end

local function jerr(err)
  if not err then return nil end
  return jobj {
    { "kind", err.kind }, { "status", err.status }, { "code", err.code },
    { "field", err.field }, { "message", err.message and tostring(err.message) },
    { "tracking_id", err.tracking_id }, { "retry_after", err.retry_after },
  }
end

local function shquote(s)
  if s:match("^[%w@%%+=:,./_-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function exit_of(err)
  if not err then return EXIT.ok end
  local k = err.kind
  -- a token Zoom refuses is a credentials problem, though Zoom said it
  if k == "http" then return err.status == 401 and EXIT.auth or EXIT.http end
  if k == "argument" then return EXIT.usage end
  if k == "auth" then
    if err.cause == "transport" or err.cause == "timeout" then return EXIT.network end
    return EXIT.auth
  end
  return EXIT.network  -- transport, timeout, protocol
end
M.exit_of = exit_of

local function worst(a, b)
  return (RANK[b] or 5) > (RANK[a] or 5) and b or a
end

-- one line of an error, without the library's "zoomlive: " prefix
local function err_text(err)
  local s = tostring(err):gsub("^zoomlive: ", "")
  return printable(s)
end

-- ---------------------------------------------------------------- main

local function tty_fn(isatty)
  if type(isatty) == "function" then return isatty end
  if type(isatty) == "table" then return function(name) return isatty[name] and true or false end end
  local v = isatty and true or false
  return function() return v end
end

local function read_key(o, ctx)
  local path = o.stream_key_file
  local line
  if path == nil or path == "-" then
    if path == nil and ctx.isatty("stdin") then
      return nil, "configure needs the stream key: --stream-key-file FILE, or pipe it on stdin"
    end
    local stdin = ctx.stdin
    line = stdin and stdin:read("l")
    if not line then return nil, "no stream key on stdin (one line expected)" end
  else
    local f, why = io.open(path, "rb")
    if not f then return nil, "cannot read --stream-key-file: " .. printable(why) end
    line = f:read("l")
    f:close()
    if not line then return nil, "--stream-key-file " .. printable(path, 200) .. " is empty" end
  end
  return (line:gsub("\r$", ""))
end

-- Secrets we know of; every line we print is scrubbed of them.
local function add_secret(ctx, s)
  if type(s) == "string" and #s >= 4 then ctx.secrets[#ctx.secrets + 1] = s end
end

local function scrub(ctx, s)
  for _, secret in ipairs(ctx.secrets) do
    local from = 1
    while true do
      local a, b = s:find(secret, from, true)
      if not a then break end
      s = s:sub(1, a - 1) .. "***" .. s:sub(b + 1)
      from = a + 3
    end
  end
  return s
end

local function progress_clear(ctx)
  if ctx.progress_shown then
    ctx.stderr:write("\r\27[K")
    ctx.progress_shown = false
  end
end

local function out(ctx, s)
  progress_clear(ctx)
  ctx.stdout:write(scrub(ctx, s), "\n")
end

local function warn(ctx, s)
  progress_clear(ctx)
  ctx.stderr:write(scrub(ctx, "zoomlive: " .. s), "\n")
end

local function on_progress_fn(ctx, total)
  if total < 2 or not ctx.isatty("stderr") then return nil end
  return function(done, all)
    ctx.stderr:write(format("\rzoomlive: %d/%d done", done, all or total))
    ctx.progress_shown = true
    if ctx.stderr.flush then ctx.stderr:flush() end
  end
end

local DONE = {
  start = "live stream started", stop = "live stream stopped", mode = "live stream mode changed",
  configure = "live stream configured",
}

-- Prints one ID's outcome; returns its exit code.
local function report(ctx, o, id, r)
  local err = r.err
  local kind_label = o.webinar and "webinar" or "meeting"
  if o.json then
    local cfg
    if r.config then
      local c = r.config
      cfg = jobj {
        { "stream_url", c.stream_url },
        { "stream_key", c.stream_key and (o.show_key and c.stream_key or "***") },
        { "page_url", c.page_url }, { "resolution", c.resolution },
      }
    end
    local jt
    if r.join_token then
      jt = jobj { { "token", o.show_token and r.join_token.token or "***" },
        { "expire_in", r.join_token.expire_in } }
    end
    out(ctx, tostring(jobj {
      { "id", id }, { "type", kind_label }, { "command", o.command }, { "ok", err == nil },
      { "status", r.status }, { "tracking_id", r.info and r.info.tracking_id or (err and err.tracking_id) },
      { "config", cfg }, { "join_token", jt }, { "error", jerr(err) },
    }))
  elseif not err then
    if r.join_token then
      out(ctx, id .. ":")
      out(ctx, format("  %-11s %s", "token:", o.show_token and printable(r.join_token.token) or "***"))
      out(ctx, format("  %-11s %s", "expire_in:", tostring(r.join_token.expire_in)))
    elseif r.config then
      local c = r.config
      out(ctx, id .. ":")
      for _, k in ipairs({ "stream_url", "stream_key", "page_url", "resolution" }) do
        local v = c[k]
        if v ~= nil then
          if k == "stream_key" and not o.show_key then v = "***" end
          out(ctx, format("  %-11s %s", k .. ":", printable(v)))
        end
      end
    else
      out(ctx, format("%s: %s%s", id, o.webinar and "webinar " or "", DONE[o.command]))
    end
  end
  if err then warn(ctx, id .. ": " .. err_text(err)) end
  return exit_of(err)
end

-- ---------------------------------------------------------------- dry run

local KEY_PLACEHOLDER = "ZOOMLIVE_STREAM_KEY_PLACEHOLDER"

local function dry_run(ctx, o, c, ids, settings_json, cfg)
  local kind = o.webinar and "webinar" or "meeting"
  local base = c:base_url()
  for n, id in ipairs(ids) do
    local method, path, ctype, body, parts, curl_body
    if o.command == "get" then
      method, path = "GET", "/" .. kind .. "s/" .. id .. "/livestream"
    elseif o.command == "join-token" then
      local req = assert(require("zoomlive.request").join_token(kind, "zoomlive", id))
      method, path = req.method, req.path
    elseif o.command == "configure" then
      method, path = "PATCH", "/" .. kind .. "s/" .. id .. "/livestream"
      ctype = "application/json"
      local shown = {}
      for k, v in pairs(cfg) do shown[k] = v end
      shown.stream_key = "***"
      body = assert(validate.stream(shown, "configure"))
      shown.stream_key = KEY_PLACEHOLDER
      local templ = shquote(assert(validate.stream(shown, "configure")))
      -- the key comes from the shell at run time, never from us
      curl_body = "--data-raw " .. templ:gsub(KEY_PLACEHOLDER, "'\"$ZOOM_STREAM_KEY\"'", 1)
    else
      method, path = "PATCH", "/" .. kind .. "s/" .. id .. "/livestream/status"
      if c.encoding == "json" then
        ctype = "application/json"
        body = settings_json and ('{"action":"' .. o.command .. '","settings":' .. settings_json .. "}")
          or ('{"action":"' .. o.command .. '"}')
        curl_body = "--data-raw " .. shquote(body)
      else
        ctype = "multipart/form-data"
        parts = { { "action", o.command } }
        if settings_json then parts[2] = { "settings", settings_json } end
        local f = {}
        for i, p in ipairs(parts) do f[i] = "--form-string " .. shquote(p[1] .. "=" .. p[2]) end
        curl_body = concat(f, " ")
      end
    end
    local url = base .. path
    local headers = { { "Authorization", "Bearer ***" }, { "Accept", "application/json" } }
    if ctype then headers[3] = { "Content-Type", ctype } end
    local curl = { "curl -sS -X " .. method .. " " .. shquote(url),
      "-H \"Authorization: Bearer $ZOOM_ACCESS_TOKEN\"", "-H 'Accept: application/json'" }
    if ctype == "application/json" then curl[#curl + 1] = "-H 'Content-Type: application/json'" end
    if curl_body then curl[#curl + 1] = curl_body end
    local curl_line = concat(curl, " \\\n  ")
    if o.json then
      local hs, ps = {}, nil
      for i, h in ipairs(headers) do hs[i] = h end
      if parts then
        ps = {}
        for i, p in ipairs(parts) do ps[i] = jobj { { "name", p[1] }, { "value", p[2] } }.__json end
        ps = { __json = "[" .. concat(ps, ",") .. "]" }
      end
      out(ctx, tostring(jobj {
        { "id", id }, { "type", kind }, { "command", o.command }, { "ok", true }, { "dry_run", true },
        { "method", method }, { "url", url }, { "headers", jobj(hs) }, { "body", body },
        { "parts", ps }, { "curl", (curl_line:gsub(" \\\n  ", " ")) },
      }))
    else
      if n > 1 then out(ctx, "") end
      out(ctx, format("# %s %s (dry run: nothing sent)", kind, id))
      out(ctx, method .. " " .. url)
      for _, h in ipairs(headers) do out(ctx, h[1] .. ": " .. h[2]) end
      if body then
        out(ctx, "")
        out(ctx, body)
      elseif parts then
        for _, p in ipairs(parts) do
          out(ctx, "")
          out(ctx, format("--- part %q", p[1]))
          out(ctx, p[2])
        end
      end
      out(ctx, "")
      if o.command == "configure" then out(ctx, "# with ZOOM_STREAM_KEY set to the stream key:") end
      out(ctx, curl_line)
    end
  end
  return EXIT.ok
end

-- ---------------------------------------------------------------- calls

local function call_one(ctx, c, o, id, settings, cfg)
  local w = o.webinar
  if o.command == "join-token" then
    local jt, err, info = (w and c.webinar_join_token or c.join_token)(c, id)
    -- the token is a credential: whatever we print is scrubbed of it
    if jt and not o.show_token then add_secret(ctx, jt.token) end
    return { status = jt and 200 or (err and err.status), err = err, info = info, join_token = jt }
  elseif o.command == "get" then
    local conf, err, info = (w and c.webinar_get or c.get)(c, id)
    return { status = conf and 200 or (err and err.status), err = err, info = info, config = conf }
  elseif o.command == "configure" then
    local status, err, info = (w and c.webinar_configure or c.configure)(c, id, cfg)
    return { status = status, err = err, info = info }
  end
  local status, err, info = (w and c.webinar_update or c.update)(c, id, o.command, settings)
  return { status = status, err = err, info = info }
end

local function run(argv, ctx)
  local o, why = M.parse(argv)
  if not o then
    warn(ctx, why .. " (see zoomlive --help)")
    return EXIT.usage
  end
  if o.help then
    ctx.stdout:write(M.HELP)
    return EXIT.ok
  end
  if o.version then
    out(ctx, format("%s (libcurl %s, %s)", zoomlive._VERSION,
      tostring(zoomlive.curl_version):gsub("^libcurl/", ""), _VERSION))
    return EXIT.ok
  end
  local cmd = o.command
  if not cmd then
    warn(ctx, "no command given (see zoomlive --help)")
    return EXIT.usage
  end
  if #o.ids == 0 then
    warn(ctx, cmd .. ": no ID given (see zoomlive --help)")
    return EXIT.usage
  end
  -- flags that mean nothing for this command are mistakes, not noise
  local function refuse(fields, cmds)
    for _, f in ipairs(fields) do
      if o[f] ~= nil and not cmds[cmd] then
        return format("%s does not apply to '%s'", FLAG_OF[f], cmd)
      end
    end
  end
  local bad = refuse(SETTINGS_FLAGS, { start = true, mode = true })
    or refuse(STREAM_FLAGS, { configure = true })
    or refuse({ "show_key" }, { get = true })
    or refuse({ "show_token" }, { ["join-token"] = true })
  if not bad and cmd == "mode" and o.webinar then
    bad = "mode is for meetings only (webinars take start and stop)"
  end
  if bad then
    warn(ctx, bad .. " (see zoomlive --help)")
    return EXIT.usage
  end

  local kind = o.webinar and "webinar" or "meeting"
  -- every ID is checked before anything is sent
  local ids, code = {}, EXIT.ok
  for _, raw in ipairs(o.ids) do
    local id, err = validate.id(raw, kind .. "_id", "zoomlive", 1)
    if id then
      ids[#ids + 1] = id
    else
      local shown = printable(raw, 40)
      if o.json then
        out(ctx, tostring(jobj { { "id", shown }, { "type", kind }, { "command", cmd }, { "ok", false },
          { "error", jerr(err) } }))
      end
      warn(ctx, shown .. ": " .. err_text(err))
      code = EXIT.usage
    end
  end
  if code ~= EXIT.ok then return code end

  local settings, settings_json, cfg
  if cmd == "start" or cmd == "mode" then
    for _, f in ipairs(SETTINGS_FLAGS) do
      if o[f] ~= nil then
        settings = settings or {}
        settings[f] = o[f]
      end
    end
    local err
    settings_json, err = validate.settings(settings, kind, "zoomlive", cmd)
    if err then
      warn(ctx, err_text(err))
      return EXIT.usage
    end
  elseif cmd == "configure" then
    local key, kerr = read_key(o, ctx)
    if not key then
      warn(ctx, kerr)
      return EXIT.usage
    end
    add_secret(ctx, key)
    cfg = { stream_url = o.stream_url, stream_key = key, page_url = o.page_url,
      resolution = o.resolution }
    local _, err = validate.stream(cfg, "zoomlive")
    if err then
      warn(ctx, err_text(err))
      return EXIT.usage
    end
  end

  local copts = { base_url = o.base_url, encoding = o.encoding, timeout = o.timeout,
    retries = o.retries }
  if o.timeout and o.timeout < 10 then copts.connect_timeout = o.timeout end
  local ok, c = pcall(client.new, copts, ctx.getenv)
  if not ok then
    local msg = tostring(c):gsub("^[^:]*:%d+: ", ""):gsub("^zoomlive[.%w]*: ", "")
    warn(ctx, printable(msg))
    if msg:find("ZOOM_ACCESS_TOKEN", 1, true) or msg:find("credential", 1, true) then
      return EXIT.auth
    end
    return EXIT.usage
  end
  ctx.client = c

  if o.dry_run then return dry_run(ctx, o, c, ids, settings_json, cfg) end

  -- credentials first, once: a missing or refused token is one failure,
  -- not one per ID
  local tok, aerr = c:check_credentials()
  if not tok then
    for _, id in ipairs(ids) do
      if o.json then report(ctx, o, id, { err = aerr }) end
    end
    if not o.json then warn(ctx, err_text(aerr)) end
    return exit_of(aerr)
  end

  local many = #ids > 1 and not o.webinar and (cmd == "start" or cmd == "stop" or cmd == "mode")
    and type(c.update_many) == "function"
  local progress = on_progress_fn(ctx, #ids)
  if many then
    local items = {}
    for i, id in ipairs(ids) do items[i] = { id, cmd, settings } end
    local results = c:update_many(items, { concurrency = math.min(#ids, 4), on_progress = progress })
    progress_clear(ctx)
    for i, id in ipairs(ids) do
      local r = results and results[i]
      if type(r) ~= "table" then
        r = { err = errors.new("protocol", { message = "update_many returned no result for this ID" }) }
      end
      code = worst(code, report(ctx, o, id, r))
    end
  else
    for i, id in ipairs(ids) do
      local r = call_one(ctx, c, o, id, settings, cfg)
      code = worst(code, report(ctx, o, id, r))
      if progress then progress(i, #ids) end
    end
    progress_clear(ctx)
  end
  return code
end

--- Runs the command line argv (a list of strings, without the program
-- name) with the given io table; returns the exit code.
function M.main(argv, iot)
  iot = iot or {}
  local ctx = {
    stdout = iot.stdout or io.stdout,
    stderr = iot.stderr or io.stderr,
    stdin = iot.stdin or io.stdin,
    isatty = tty_fn(iot.isatty),
    secrets = {},
  }
  -- an empty variable is an unset one, as in most shells' idioms
  local getenv = iot.getenv or os.getenv
  ctx.getenv = function(name)
    local v = getenv(name)
    if v == "" then return nil end
    return v
  end
  for _, name in ipairs({ "ZOOM_ACCESS_TOKEN", "ZOOM_CLIENT_SECRET" }) do
    add_secret(ctx, ctx.getenv(name))
  end
  local ok, code = xpcall(run, debug.traceback, argv or {}, ctx)
  if ctx.client then ctx.client:close() end
  if not ok then
    warn(ctx, "internal error (please report it): " .. tostring(code))
    return EXIT.internal
  end
  return code
end

return M
