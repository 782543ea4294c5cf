--- zoomlive.testing: start and drive zoomlive-sim, the Zoom API simulator,
-- from a test suite.
--
--   local testing = require "zoomlive.testing"
--   local sim = testing.start{ qps = 1000 }
--   -- point the client at sim.base_url with sim.token ...
--   sim:stop()
--
-- The executable is opts.exe, else $ZOOMLIVE_SIM, else testing.default_exe,
-- else the zoomlive-sim a LuaRocks install put beside the module, else
-- zoomlive-sim on PATH.
-- The control calls go to the simulator's /_sim/ API through zoomlive.core
-- (libcurl); when that module cannot be loaded they fall back to the curl
-- command-line tool. Errors are raised as Lua errors naming the call.
local cjson = require "cjson"

local testing = {}

local Sim = {}
Sim.__index = Sim

local CONTROL_TIMEOUT = 10 -- seconds, every control call is bounded

local function shquote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function find_exe(opts)
  if opts.exe then return opts.exe end
  local env = os.getenv("ZOOMLIVE_SIM")
  if env and env ~= "" then return env end
  if testing.default_exe and file_exists(testing.default_exe) then return testing.default_exe end
  -- installed beside the module: a LuaRocks rock keeps bin/ next to lib/
  local so = package.searchpath("zoomlive.core", package.cpath)
  if so then
    local rock = so:match("^(.*)/lib/zoomlive/core%.so$")
    if rock and file_exists(rock .. "/bin/zoomlive-sim") then return rock .. "/bin/zoomlive-sim" end
  end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local p = dir .. "/zoomlive-sim"
    if file_exists(p) then return p end
  end
  error("zoomlive.testing: zoomlive-sim not found: pass exe=..., set ZOOMLIVE_SIM "
        .. "or put zoomlive-sim on PATH", 3)
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a") or ""
  f:close()
  return s
end

-- ids may arrive as floats from lua-cjson (93398114182.0): print plain digits
local function id_text(id)
  if math.type(id) == "float" then
    local i = math.tointeger(id)
    if not i then error("zoomlive.testing: id is not integral: " .. tostring(id), 3) end
    return string.format("%d", i)
  elseif math.type(id) == "integer" then
    return string.format("%d", id)
  elseif type(id) == "string" and id:match("^%d+$") then
    return id
  end
  error("zoomlive.testing: bad id " .. tostring(id), 3)
end

local option_flags = {
  qps = "--qps", daily = "--daily", fixtures = "--fixtures", token_ttl = "--token-ttl",
  start_cooldown = "--start-cooldown", client_id = "--client-id",
  client_secret = "--client-secret", account_id = "--account-id", api_url = "--api-url",
  tls_cert = "--tls-cert", tls_key = "--tls-key", bind = "--bind", seed = "--seed",
  webhook_url = "--webhook-url", webhook_secret = "--webhook-secret", webhook_delay = "--webhook-delay",
  webhook_retries = "--webhook-retries", webhook_retry_delay = "--webhook-retry-delay",
}
local option_switches = {
  any_meeting = "--any-meeting", invalidate_old_tokens = "--invalidate-old-tokens",
  no_ratelimit_headers = "--no-ratelimit-headers", verbose = "--verbose", json_only = "--json-only",
}

--- Start a simulator. opts: exe, args (list of extra flags), token, port,
-- and shortcuts qps, daily, fixtures, token_ttl, start_cooldown, client_id,
-- client_secret, account_id, api_url, tls_cert, tls_key, bind, seed,
-- webhook_url, webhook_secret, webhook_delay, webhook_retries, webhook_retry_delay, any_meeting,
-- invalidate_old_tokens, no_ratelimit_headers, verbose, json_only.
function testing.start(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("zoomlive.testing.start: options table expected", 2) end
  local exe = find_exe(opts)
  local args = { "--port", tostring(opts.port or 0) }
  local keys = {}
  for k in pairs(option_flags) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if opts[k] ~= nil then
      args[#args + 1] = option_flags[k]
      args[#args + 1] = tostring(opts[k])
    end
  end
  for k, flag in pairs(option_switches) do
    if opts[k] then args[#args + 1] = flag end
  end
  if opts.token then
    args[#args + 1] = "--token"
    args[#args + 1] = opts.token
  end
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = tostring(a) end

  local errfile = os.tmpname()
  local parts = { "sh -c 'echo $$; exec \"$0\" \"$@\"'", shquote(exe) }
  for _, a in ipairs(args) do parts[#parts + 1] = shquote(a) end
  local cmd = table.concat(parts, " ") .. " 2>" .. shquote(errfile)
  local pipe = io.popen(cmd, "r")
  if not pipe then error("zoomlive.testing: cannot run " .. exe, 2) end
  local pid = pipe:read("l")
  local port = pipe:read("l")
  if not (pid and pid:match("^%d+$") and port and port:match("^%d+$")) then
    local _, how, code = pipe:close()
    local msg = read_all(errfile):gsub("%s+$", "")
    os.remove(errfile)
    error(("zoomlive.testing: zoomlive-sim did not start (%s %s): %s"):format(
      tostring(how), tostring(code), msg), 2)
  end
  local scheme = opts.tls_cert and "https" or "http"
  local host = opts.bind and opts.bind ~= "0.0.0.0" and opts.bind or "127.0.0.1"
  local self = setmetatable({
    pid = tonumber(pid),
    port = tonumber(port),
    url = ("%s://%s:%s"):format(scheme, host, port),
    token = opts.token or "sim-token",
    stderr_file = errfile,
    _pipe = pipe,
    _insecure = opts.tls_cert ~= nil,
  }, Sim)
  self.base_url = self.url .. "/v2"
  return self
end

-- One control call; returns status, decoded body (or raw text).
function Sim:_call(method, path, body)
  if not self._pipe then error("zoomlive.testing: the simulator is stopped", 3) end
  local text = body ~= nil and cjson.encode(body) or nil
  local url = self.url .. path
  local status, resp, kind, msg
  local ok, core = pcall(require, "zoomlive.core")
  if ok and type(core) == "table" and core.new then
    self._conn = self._conn or core.new{ max_body = 64 * 1024 * 1024, insecure = self._insecure }
    local r = self._conn:perform { method = method, url = url,
      content_type = text and "application/json" or nil, body = text, timeout = CONTROL_TIMEOUT }
    status, resp, kind, msg = r.status, r.body, r.kind, r.message
    if r.kind then status = nil end
  else
    local tmp
    local cmd = { "curl -sS -m", tostring(CONTROL_TIMEOUT), "-X", method, "-w '\\n%{http_code}'" }
    if self._insecure then cmd[#cmd + 1] = "-k" end
    if text then
      tmp = os.tmpname()
      local f = assert(io.open(tmp, "wb"))
      f:write(text)
      f:close()
      cmd[#cmd + 1] = "-H 'Content-Type: application/json' --data-binary @" .. shquote(tmp)
    end
    cmd[#cmd + 1] = shquote(url) .. " 2>&1"
    local p = io.popen(table.concat(cmd, " "), "r")
    local out = p:read("a")
    p:close()
    if tmp then os.remove(tmp) end
    local b, code = out:match("^(.*)\n(%d%d%d)$")
    if b and code ~= "000" then
      status, resp = tonumber(code), b
    else
      kind, msg = "transport", out
    end
  end
  if not status then
    error(("zoomlive.testing: %s %s failed: %s %s"):format(method, path, tostring(kind),
          tostring(msg)), 3)
  end
  if status >= 400 then
    error(("zoomlive.testing: %s %s -> %d %s"):format(method, path, status, resp), 3)
  end
  if resp and resp ~= "" then
    local okj, v = pcall(cjson.decode, resp)
    if okj then return status, v end
  end
  return status, resp
end

function Sim:health() return select(2, self:_call("GET", "/_sim/health")) end
function Sim:requests(since)
  return select(2, self:_call("GET", "/_sim/requests" .. (since and ("?since=" .. id_text(since)) or "")))
end
function Sim:clear_requests() self:_call("DELETE", "/_sim/requests") end
function Sim:reset() self:_call("POST", "/_sim/reset") end

--- Add a fault (table) or several (list); returns the id(s).
function Sim:fault(f)
  if type(f) ~= "table" then error("zoomlive.testing: fault table expected", 2) end
  local _, r = self:_call("POST", "/_sim/faults", f)
  local ids = {}
  for i, v in ipairs(r.ids) do ids[i] = math.tointeger(v) or v end
  if f[1] ~= nil then return ids end
  return ids[1]
end
function Sim:faults() return select(2, self:_call("GET", "/_sim/faults")) end
function Sim:clear_faults() self:_call("DELETE", "/_sim/faults") end
function Sim:remove_fault(id) self:_call("DELETE", "/_sim/faults/" .. id_text(id)) end

function Sim:meeting(id) return select(2, self:_call("GET", "/_sim/meetings/" .. id_text(id))) end
function Sim:webinar(id) return select(2, self:_call("GET", "/_sim/webinars/" .. id_text(id))) end
function Sim:set_meeting(id, t)
  return select(2, self:_call("PUT", "/_sim/meetings/" .. id_text(id), t))
end
function Sim:set_webinar(id, t)
  return select(2, self:_call("PUT", "/_sim/webinars/" .. id_text(id), t))
end
function Sim:delete_meeting(id) self:_call("DELETE", "/_sim/meetings/" .. id_text(id)) end
function Sim:config(t)
  if t == nil then return select(2, self:_call("GET", "/_sim/config")) end
  return select(2, self:_call("POST", "/_sim/config", t))
end
function Sim:advance(seconds)
  if type(seconds) ~= "number" then error("zoomlive.testing: seconds expected", 2) end
  return select(2, self:_call("POST", "/_sim/clock", { advance = seconds }))
end
--- The webhook deliveries: {deliveries = {{seq, event, type, id, state, due,
-- status, error, sent_at, timestamp}, ...}}; clear_webhooks() forgets them.
function Sim:webhooks() return select(2, self:_call("GET", "/_sim/webhooks")) end
function Sim:clear_webhooks() self:_call("DELETE", "/_sim/webhooks") end
--- Queues an endpoint.url_validation request to the webhook URL; the
-- delivery's state becomes "validated" when the answer is right.
function Sim:validate_webhook() return select(2, self:_call("POST", "/_sim/webhooks/validate")) end
function Sim:clock() return select(2, self:_call("GET", "/_sim/clock")) end

--- Stop the simulator (SIGTERM by PID, then wait for it). Idempotent.
-- Returns true when it exited cleanly.
function Sim:stop()
  if not self._pipe then return self._clean end
  if self._conn then
    pcall(self._conn.close, self._conn)
    self._conn = nil
  end
  local pid = string.format("%d", self.pid)
  os.execute("kill " .. pid .. " 2>/dev/null")
  -- bounded wait (Linux /proc; a zombie counts as gone), then SIGKILL
  local stat = io.open("/proc/" .. pid .. "/stat", "r")
  if stat then
    stat:close()
    local gone = false
    for _ = 1, 100 do
      local f = io.open("/proc/" .. pid .. "/stat", "r")
      local s = f and f:read("a") or ""
      if f then f:close() end
      if s == "" or s:match("^%d+ %b() ([ZX])") then gone = true break end
      os.execute("sleep 0.05")
    end
    if not gone then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
  end
  local ok, how, code = self._pipe:close()
  self._pipe = nil
  self._clean = ok == true or (how == "exit" and code == 0)
  if self.stderr_file then
    os.remove(self.stderr_file)
    self.stderr_file = nil
  end
  return self._clean
end

Sim.__gc = Sim.stop
Sim.__close = Sim.stop

function Sim:__tostring()
  if self._pipe then return ("zoomlive-sim (pid %d, %s)"):format(self.pid, self.url) end
  return "zoomlive-sim (stopped)"
end

return testing
