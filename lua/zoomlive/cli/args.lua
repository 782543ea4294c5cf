--- zoomlive.cli.args: the command line's one definition (lua-argparse).
-- The parser, every --help text, the bash/zsh/fish completion scripts and
-- the zoomlive(1) man page come from the tables below.
--
--   local args = require "zoomlive.cli.args"
--   local o, why = args.parse(argv)   -- o: options (o.command, o.ids, ...); why: one line
--   args.help(command|nil) -> text;  args.completion("bash"|"zsh"|"fish") -> text
--   args.manpage() -> roff text
local argparse = require "argparse"
local validate = require "zoomlive.validate"

local format, concat = string.format, table.concat

local M = {}

M.COMMANDS = { "start", "stop", "mode", "get", "configure", "join-token" }

M.DEFAULT_RATE = 20          -- requests per second: two thirds of Pro's 30/s (docs/cli.md)
M.DEFAULT_CONCURRENCY = 4
M.MAX_RATE = 1000
M.MIN_RATE = 0.001            -- one request every 1,000 s: slower is a typo
M.GRACE = 0.8                -- seconds calls in flight get after SIGINT/SIGTERM: the
                             -- command ends within a second of the signal
M.MAX_CONCURRENCY = 64

local function sorted_keys(set)
  local t = {}
  for k in pairs(set) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- Text safe for one line of output (cli/output.lua's)
local printable = require("zoomlive.cli.output").printable
M.printable = printable

-- converters: value -> converted, or nil and our own one-line message
local function one_of(flag, set)
  local list = concat(sorted_keys(set), ", ")
  return function(v)
    if set[v] then return v end
    return nil, format("%s must be one of %s, got '%s'", flag, list, printable(v, 40))
  end
end

local function boolean(flag)
  return function(v)
    if v == "true" then return true elseif v == "false" then return false end
    return nil, format("%s must be true or false, got '%s'", flag, printable(v, 40))
  end
end

local function seconds(flag)
  return function(v)
    local n = tonumber(v)
    if not n or n ~= n or n <= 0 or n == math.huge then
      return nil, format("%s must be a positive number of seconds, got '%s'", flag, printable(v, 40))
    end
    return n
  end
end

local function integer(flag, lo, hi)
  return function(v)
    local n = math.tointeger(tonumber(v))
    if not n or n < lo or n > hi then
      return nil, format("%s must be an integer from %d to %d, got '%s'", flag, lo, hi, printable(v, 40))
    end
    return n
  end
end

local function rate(flag)
  return function(v)
    local n = tonumber(v)
    if not n or n ~= n or n < M.MIN_RATE or n > M.MAX_RATE then
      return nil, format("%s must be a number of requests per second from %g to %d, got '%s'",
        flag, M.MIN_RATE, M.MAX_RATE, printable(v, 40))
    end
    return n
  end
end

local function nonempty(flag)
  return function(v)
    if v == "" then return nil, flag .. " needs a value" end
    return v
  end
end

-- Every flag: name, argname (nil: a switch), description, converter, target
local FLAGS = {
  display_name = { "--display-name", "TEXT", "name shown on the stream, 1 to 50 characters" },
  active_speaker_name = { "--active-speaker-name", "true|false", "show the active speaker's name",
    boolean("--active-speaker-name") },
  layout = { "--layout", "LAYOUT", "follow_host, gallery_view or speaker_view (meetings only)",
    one_of("--layout", validate.LAYOUTS) },
  close_caption = { "--close-caption", "MODE", "burnt-in, embedded or off",
    one_of("--close-caption", validate.CAPTIONS) },
  stream_url = { "--stream-url", "URL", "RTMP URL, e.g. rtmp://live.example.com/app (required)" },
  page_url = { "--page-url", "URL", "page where viewers watch, e.g. https://example.com/live (required)" },
  stream_key_file = { "--stream-key-file", "FILE",
    "read the stream key from FILE ('-': stdin); without it the key is read from stdin when stdin "
    .. "is not a terminal. The key is never taken on the command line and never printed" },
  resolution = { "--resolution", "720p|1080p", "stream resolution", one_of("--resolution", validate.RESOLUTIONS) },
  show_key = { "--show-key", nil, "print the stream key instead of ***" },
  show_token = { "--show-token", nil, "print the join token instead of ***" },
  webinar = { "--webinar", nil, "the IDs are webinars" },
  from = { "--from", "FILE", "read the IDs from FILE ('-': stdin): one per line, or CSV with --column; "
    .. "blank lines and lines starting with # are skipped" },
  column = { "--column", "NAME", "the IDs are in this column of a CSV file whose first line names the columns",
    nonempty("--column") },
  rate = { "--rate", "N", format("at most N requests per second (default %d)", M.DEFAULT_RATE),
    rate("--rate") },
  concurrency = { "--concurrency", "N", format("at most N requests in flight (default %d)", M.DEFAULT_CONCURRENCY),
    integer("--concurrency", 1, M.MAX_CONCURRENCY) },
  report = { "--report", "FILE", "append one JSON record per ID to FILE as each one ends" },
  resume = { "--resume", "FILE", "skip the IDs that the report FILE records as done (ok)" },
  encoding = { "--encoding", "multipart|json", "body of start/stop/mode requests (default json, as Zoom documents)",
    one_of("--encoding", { multipart = true, json = true }) },
  base_url = { "--base-url", "URL", "API base URL (default $ZOOM_API_BASE, else https://api.zoom.us/v2)" },
  timeout = { "--timeout", "S", "seconds allowed per attempt (default 30)", seconds("--timeout") },
  retries = { "--retries", "N", "retries of transient failures (default 2)", integer("--retries", 0, 100) },
  json = { "--json", nil, "print one JSON object per ID, then a summary object (NDJSON)" },
  dry_run = { "--dry-run", nil, "print each request and an equivalent curl command; send nothing" },
}

-- the values completion scripts offer (the converters check them too)
local CHOICES = {
  active_speaker_name = { "false", "true" },
  layout = sorted_keys(validate.LAYOUTS),
  close_caption = sorted_keys(validate.CAPTIONS),
  resolution = sorted_keys(validate.RESOLUTIONS),
  encoding = { "json", "multipart" },
}

local SETTINGS = { "display_name", "active_speaker_name", "layout", "close_caption" }
local STREAM = { "stream_url", "page_url", "stream_key_file", "resolution" }
local LIST = { "from", "column" }
local PACING = { "rate", "concurrency", "report", "resume" }
local COMMON = { "encoding", "base_url", "timeout", "retries", "json", "dry_run" }

M.SETTINGS = SETTINGS

-- command -> description, flag groups
local COMMAND_DEFS = {
  start = { "start the live stream (settings apply)",
    { { "Settings", SETTINGS }, { "Lists", LIST }, { "Pacing and records", PACING },
      { "Other", { "webinar", table.unpack(COMMON) } } } },
  stop = { "stop the live stream",
    { { "Lists", LIST }, { "Pacing and records", PACING }, { "Other", { "webinar", table.unpack(COMMON) } } } },
  mode = { "change layout or captions of a running stream (meetings only)",
    { { "Settings", SETTINGS }, { "Lists", LIST }, { "Pacing and records", PACING }, { "Other", COMMON } } },
  get = { "print the live-stream configuration (the stream key as ***)",
    { { "Lists", LIST }, { "Pacing and records", { "rate", "report", "resume" } },
      { "Other", { "show_key", "webinar", "encoding", "base_url", "timeout", "retries",
      "json", "dry_run" } } } },
  configure = { "set the stream URL, stream key, page URL and resolution",
    { { "Configuration", STREAM }, { "Lists", LIST }, { "Pacing and records", { "rate", "report", "resume" } },
      { "Other", { "webinar", "encoding", "base_url", "timeout", "retries", "json", "dry_run" } } } },
  ["join-token"] = { "get a join token for live streaming (for a Meeting SDK bot); shown as *** unless "
    .. "--show-token is given",
    { { "Lists", LIST }, { "Pacing and records", { "rate", "report", "resume" } },
      { "Other", { "show_token", "webinar", "base_url", "timeout", "retries", "json", "dry_run" } } } },
}
M.COMMAND_DEFS = COMMAND_DEFS

M.ENVIRONMENT = {
  { "ZOOM_ACCESS_TOKEN", "a bearer token (wins over Server-to-Server OAuth)" },
  { "ZOOM_ACCOUNT_ID", "Server-to-Server OAuth: the account," },
  { "ZOOM_CLIENT_ID", "the app's client ID" },
  { "ZOOM_CLIENT_SECRET", "and its secret" },
  { "ZOOM_API_BASE", "API base URL (--base-url wins)" },
  { "ZOOM_OAUTH_URL", "token endpoint (default https://zoom.us/oauth/token)" },
}

M.EXIT_STATUS = {
  { "0", "every ID succeeded" },
  { "1", "Zoom answered with an error (HTTP 4xx/5xx) for at least one ID, or a row of a list was bad "
    .. "(the good rows were sent)" },
  { "2", "usage: unknown flag, missing or bad ID on the command line, bad value; nothing was sent" },
  { "3", "network: connection failed, timed out, or the reply was unusable" },
  { "4", "credentials: none set, the token endpoint refused them, or Zoom answered HTTP 401" },
  { "70", "internal error: a bug in zoomlive (please report it)" },
  { "130, 143, 129", "interrupted by SIGINT, SIGTERM or SIGHUP: the command ends by the same signal, "
    .. "after recording what was done" },
}
-- paragraphs of the help text and the man page alike
M.NOTES = {
  { "Lists", "--from FILE reads IDs one per line, or a CSV column with --column NAME; blank lines and "
    .. "lines starting with # are skipped; CR LF, a missing final newline and a UTF-8 byte-order mark are "
    .. "handled. A bad row is reported with its line number and skipped, the good rows are sent; an ID "
    .. "listed twice is sent once. IDs on the command line are all checked before anything is sent." },
  { "Pacing", format("--rate defaults to %d requests per second, two thirds of the Light limit of Zoom's "
    .. "lowest paid plan (Pro, 30/s, shared by every app of the account).", M.DEFAULT_RATE) },
  { "Records", "--json prints one JSON object per input row, then a summary object; --report FILE "
    .. "appends the same records as the calls end; --resume FILE skips the IDs such a report records "
    .. "as done (ok)." },
  { "Signals", "On SIGINT, SIGTERM or SIGHUP nothing more is sent; calls in flight get up to " .. M.GRACE
    .. " s (a second "
    .. "signal ends them at once), every row gets its record, the summary is printed, and the command "
    .. "ends by the same signal, so a shell loop around it stops too." },
}

M.WORST_ORDER = "With several IDs the worst outcome decides: 4 beats 3 beats 1 beats 0."

M.EXAMPLES = {
  "export ZOOM_ACCESS_TOKEN=...            # or the three ZOOM_* S2S variables",
  "zoomlive configure 68423085 --stream-url rtmp://live.example.com/app \\",
  "    --page-url https://example.com/live --stream-key-file ~/.zoom-stream-key",
  "zoomlive start 68423085 --display-name \"Town hall\" --layout speaker_view",
  "zoomlive get 68423085",
  "zoomlive join-token --show-token 68423085",
  "zoomlive stop 68423085",
  "zoomlive start --from ids.txt --rate 20 --report run.ndjson",
  "zoomlive start --from ids.txt --resume run.ndjson --report run.ndjson",
  "zoomlive start --from meetings.csv --column meeting_id --json",
  "zoomlive start --dry-run 68423085       # show the request, send nothing",
}

-- text wrapped at width, each line indented
local function wrap(text, indent, width)
  local lines, line = {}, indent
  for word in text:gmatch("%S+") do
    if #line + #word + 1 > width and line ~= indent then
      lines[#lines + 1] = line
      line = indent
    end
    line = line == indent and (indent .. word) or (line .. " " .. word)
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

local function epilog()
  local b = {}
  for _, n in ipairs(M.NOTES) do
    b[#b + 1] = n[1] .. ":"
    b[#b + 1] = wrap(n[2], "  ", 79)
    b[#b + 1] = ""
  end
  b[#b + 1] = "Environment:"
  for _, e in ipairs(M.ENVIRONMENT) do b[#b + 1] = format("  %-26s %s", e[1], e[2]) end
  b[#b + 1] = ""
  b[#b + 1] = "Exit status:"
  for _, e in ipairs(M.EXIT_STATUS) do b[#b + 1] = format("  %-9s %s", e[1], e[2]) end
  b[#b + 1] = "  " .. M.WORST_ORDER
  b[#b + 1] = ""
  b[#b + 1] = "Examples:"
  for _, e in ipairs(M.EXAMPLES) do b[#b + 1] = "  " .. e end
  return concat(b, "\n")
end

local function add_flag(p, field)
  local f = FLAGS[field]
  local el
  if f[2] then
    el = p:option(f[1]):argname(f[2]):description(f[3]):target(field)
    el:convert(f[4] or function(v) return v end)
    if CHOICES[field] then el:choices(CHOICES[field]) end
  else
    el = p:flag(f[1]):description(f[3]):target(field)
  end
  return el
end

--- The argparse parser (a fresh one each call).
function M.parser()
  local p = argparse("zoomlive")
    :description("Controls the live streams of Zoom meetings and webinars through Zoom's REST API.")
    :epilog(epilog())
    :add_help(false)
    :require_command(false)
    :command_target("command")
    :help_max_width(80)
  p:flag("-h --help"):description("print this help text"):target("show_help")
  p:flag("--version"):description("print the version"):target("version")
  for _, name in ipairs(M.COMMANDS) do
    local d = COMMAND_DEFS[name]
    local c = p:command(name):description(d[1]):summary(d[1]):add_help(false):help_max_width(80)
    c:argument("ids"):args("*"):argname("ID"):description("meeting or webinar IDs")
    for _, g in ipairs(d[2]) do
      local els = {}
      for _, field in ipairs(g[2]) do els[#els + 1] = add_flag(c, field) end
      c:group(g[1], table.unpack(els))
    end
    c:flag("-h --help"):description("print this help text"):target("show_help")
  end
  p:command("help"):description("print the help of zoomlive or of a command"):add_help(false)
    :argument("topic"):args("?"):argname("COMMAND")
  p:command("completion"):description("print a completion script for bash, zsh or fish"):add_help(false)
    :argument("shell"):choices({ "bash", "zsh", "fish" })
  return p
end

-- the commands that take a flag (by its name), for "does not apply" messages
local function takers(flag)
  local t = {}
  for _, name in ipairs(M.COMMANDS) do
    for _, g in ipairs(COMMAND_DEFS[name][2]) do
      for _, field in ipairs(g[2]) do
        if FLAGS[field][1] == flag then t[#t + 1] = name end
      end
    end
  end
  return t
end

-- argparse's messages, said the way the rest of zoomlive says things; a
-- value never appears (it may be a secret typed in the wrong place)
local function reword(msg, argv)
  msg = msg:match("^[^\n]*")
  local name = msg:match("^unknown option '([^']*)'")
  if name then
    local cmd
    for _, a in ipairs(argv) do
      if COMMAND_DEFS[a] then cmd = a break end
    end
    if cmd == "mode" and name == "--webinar" then
      return "mode is for meetings only (webinars take start and stop)"
    end
    if cmd and #takers(name) > 0 then
      return format("%s does not apply to '%s'", printable(name, 40), cmd)
    end
    local hint = name:find("key", 1, true)
      and "; the stream key is never taken on the command line: use --stream-key-file FILE or stdin" or ""
    return format("unknown flag '%s'%s", printable(name, 40), hint)
  end
  local list
  name, list = msg:match("^argument for option '([^']*)' must be one of (.*)$")
  if name then
    local value
    for k, a in ipairs(argv) do
      if a == name then value = argv[k + 1] end
      if a:sub(1, #name + 1) == name .. "=" then value = a:sub(#name + 2) end
    end
    local t = {}
    for c in list:gmatch("'([^']*)'") do t[#t + 1] = c end
    local mustbe = #t == 2 and t[1] == "false" and (t[2] .. " or " .. t[1]) or ("one of " .. concat(t, ", "))
    return format("%s must be %s, got '%s'", name, mustbe, printable(value or "", 40))
  end
  name = msg:match("^option '([^']*)' requires an argument")
  if name then return name .. " needs a value" end
  name = msg:match("^option '([^']*)' does not take arguments")
  if name then return name .. " takes no value" end
  name = msg:match("^unknown command '([^']*)'")
  if name then
    return format("unknown command '%s' (commands: %s)", printable(name, 40), concat(M.COMMANDS, ", "))
  end
  return printable(msg, 200)
end

--- Parses argv (strings, without the program name).
-- Returns o = { command = name|nil, ids = {...}, help = bool, <field> = value }
-- or nil, a one-line message.
function M.parse(argv)
  for _, a in ipairs(argv) do
    if type(a) ~= "string" then return nil, "arguments must be strings" end
  end
  local ok, o = M.parser():pparse(argv)
  if not ok then return nil, reword(o, argv) end
  o.ids = o.ids or {}
  for _, name in ipairs(M.COMMANDS) do o[name] = nil end
  o.help, o.completion = nil, nil   -- argparse marks the command used; ours are set below
  if o.command == "help" then
    o.help, o.command, o.help_topic = true, nil, o.topic
    if o.topic and not COMMAND_DEFS[o.topic] then
      return nil, reword(format("unknown command '%s'", o.topic), argv)
    end
  elseif o.command == "completion" then
    o.completion, o.command = o.shell, nil
  elseif o.show_help then
    o.help, o.help_topic = true, o.command
  end
  o.show_help = nil
  for k, v in pairs(o) do
    if v == false and FLAGS[k] and not FLAGS[k][2] then o[k] = nil end
  end
  return o
end

--- The help text of zoomlive (topic nil) or of one command.
function M.help(topic)
  local p = M.parser()
  if topic then
    for _, c in ipairs(p._commands) do
      if c._name == topic then return (c:get_help():gsub("^Usage:", "usage:")) .. "\n" end
    end
  end
  return (p:get_help():gsub("^Usage:", "usage:")) .. "\n"
end

--- A completion script for "bash", "zsh" or "fish".
function M.completion(shell)
  local p = M.parser()
  local s = p["get_" .. shell .. "_complete"](p)
  if s:sub(-1) ~= "\n" then s = s .. "\n" end
  return s
end

-- roff: escape backslashes, leading dots/quotes, and minus signs in flags
local function roff(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  if s:match("^[.']") then s = "\\&" .. s end
  return s
end

--- The zoomlive(1) man page (roff), from the same definition.
function M.manpage(version)
  local b = {
    '.TH ZOOMLIVE 1 "" "zoomlive ' .. (version or "") .. '" "User Commands"',
    ".SH NAME", "zoomlive \\- control the live streams of Zoom meetings and webinars",
    ".SH SYNOPSIS",
    ".B zoomlive", "\\fICOMMAND\\fR [\\fIFLAGS\\fR] [\\fIID\\fR ...]",
    ".br", ".B zoomlive", "\\fICOMMAND\\fR \\-\\-from \\fIFILE\\fR [\\fIFLAGS\\fR]",
    ".SH DESCRIPTION",
    "Controls the live streams of Zoom meetings and webinars through Zoom's REST API. "
      .. "IDs come from the command line or, with \\-\\-from, from a file or stdin. "
      .. "Lists are sent at a steady rate (\\-\\-rate) with a few requests in flight (\\-\\-concurrency). "
      .. "Stream keys are read from a file or stdin, never from the command line, and never printed.",
    ".SH COMMANDS",
  }
  for _, name in ipairs(M.COMMANDS) do
    b[#b + 1] = ".TP"
    b[#b + 1] = ".B " .. name
    b[#b + 1] = roff(COMMAND_DEFS[name][1])
  end
  b[#b + 1] = ".TP"
  b[#b + 1] = ".B help \\fR[\\fICOMMAND\\fR]"
  b[#b + 1] = "print the help of zoomlive or of a command"
  b[#b + 1] = ".TP"
  b[#b + 1] = ".B completion \\fIbash\\fR|\\fIzsh\\fR|\\fIfish\\fR"
  b[#b + 1] = "print a completion script"
  b[#b + 1] = ".SH OPTIONS"
  local seen = {}
  for _, name in ipairs(M.COMMANDS) do
    for _, g in ipairs(COMMAND_DEFS[name][2]) do
      for _, field in ipairs(g[2]) do
        if not seen[field] then
          seen[field] = {}
        end
        seen[field][#seen[field] + 1] = name
      end
    end
  end
  local order = {}
  for field in pairs(seen) do order[#order + 1] = field end
  table.sort(order, function(a, c) return FLAGS[a][1] < FLAGS[c][1] end)
  for _, field in ipairs(order) do
    local f = FLAGS[field]
    b[#b + 1] = ".TP"
    b[#b + 1] = "\\fB" .. roff(f[1]) .. "\\fR" .. (f[2] and (" \\fI" .. roff(f[2]) .. "\\fR") or "")
    b[#b + 1] = roff(f[3]) .. " (" .. concat(seen[field], ", ") .. ")"
  end
  b[#b + 1] = ".TP"
  b[#b + 1] = "\\fB\\-h\\fR, \\fB\\-\\-help\\fR"
  b[#b + 1] = "print the help text (of a command, after its name)"
  b[#b + 1] = ".TP"
  b[#b + 1] = "\\fB\\-\\-version\\fR"
  b[#b + 1] = "print the version"
  for _, n in ipairs(M.NOTES) do
    b[#b + 1] = ".SH " .. n[1]:upper()
    b[#b + 1] = roff(n[2])
  end
  -- a section of tagged paragraphs: {{term, text}, ...}
  local function tagged(title, list)
    b[#b + 1] = ".SH " .. title
    for _, e in ipairs(list) do
      b[#b + 1] = ".TP"
      b[#b + 1] = ".B " .. e[1]
      b[#b + 1] = roff(e[2])
    end
  end
  tagged("ENVIRONMENT", M.ENVIRONMENT)
  tagged("EXIT STATUS", M.EXIT_STATUS)
  b[#b + 1] = ".PP"
  b[#b + 1] = roff(M.WORST_ORDER)
  b[#b + 1] = ".SH EXAMPLES"
  b[#b + 1] = ".nf"
  for _, e in ipairs(M.EXAMPLES) do b[#b + 1] = roff(e) end
  b[#b + 1] = ".fi"
  b[#b + 1] = ".SH SEE ALSO"
  b[#b + 1] = "docs/cli.md in the zoomlive sources"
  return concat(b, "\n") .. "\n"
end

return M
