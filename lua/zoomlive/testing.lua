--- Start and drive zoomlive-sim, the simulator of Zoom's live-stream API,
-- from a test suite.
--
-- The executable is `opts.exe`, else `$ZOOMLIVE_SIM`, else
-- `testing.default_exe`, else a zoomlive-sim installed beside the module,
-- else zoomlive-sim on `PATH`. The simulator builds with CMake
-- (`make build` gives `build/bin/zoomlive-sim`; `cmake --install` installs it).
-- The control calls go to the simulator's `/_sim/` API through zoomlive.core
-- (libcurl); when that module cannot be loaded they fall back to the curl
-- command-line tool. Failures are raised as Lua errors naming the call.
-- See docs/simulator.md for the flags, fixtures, faults and control API.
-- @module zoomlive.testing
-- @usage
-- local testing = require "zoomlive.testing"
-- local sim = testing.start { qps = 1000 }
-- local client = zoomlive.new { token = sim.token, base_url = sim.base_url }
-- assert(client:update(68423085, "start") == 204)
-- assert(sim:requests()[1].fields.action == "start")
-- sim:stop()
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

--- Starts a simulator on 127.0.0.1 (port 0: a free port) and waits until it
-- listens.
-- @tparam[opt] table opts `exe` (the executable), `args` (a list of extra
-- flags), `token` (the bearer token it accepts, default `"sim-token"`),
-- `port`, and the flags' shortcuts `qps`, `daily`, `fixtures`, `token_ttl`,
-- `start_cooldown`, `client_id`, `client_secret`, `account_id`, `api_url`,
-- `tls_cert`, `tls_key`, `bind`, `seed`, `webhook_url`, `webhook_secret`,
-- `webhook_delay`, `webhook_retries`, `webhook_retry_delay`, and the switches `any_meeting`,
-- `invalidate_old_tokens`, `no_ratelimit_headers`, `verbose`, `json_only`
-- @treturn Sim a running simulator: `sim.base_url` (`http://127.0.0.1:PORT/v2`),
-- `sim.url`, `sim.port`, `sim.pid`, `sim.token`
-- @raise when opts is not a table, the executable is not found, or it does not start
-- @usage local sim <close> = testing.start { qps = 100, daily = 0 }
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

--- A running simulator, made by `testing.start`. Every method raises when
-- the control call fails or the simulator is stopped.
-- @section Sim

--- The simulator's health: `GET /_sim/health`.
-- @treturn table `{status = "ok", port = N}`
-- @usage assert(sim:health().status == "ok")
function Sim:health() return select(2, self:_call("GET", "/_sim/health")) end
--- The requests the simulator logged (secrets masked), oldest first.
-- @tparam[opt] integer since only those with a sequence number above this
-- @treturn table a list of `{seq, method, path, headers, content_type, fields, payload, body, status,
-- fault, tracking_id, time, ...}` (Authorization masked)
-- @usage local last = sim:requests()[#sim:requests()]
function Sim:requests(since)
  return select(2, self:_call("GET", "/_sim/requests" .. (since and ("?since=" .. id_text(since)) or "")))
end
--- Empties the request log.
-- @return nothing
-- @usage sim:clear_requests()
function Sim:clear_requests() self:_call("DELETE", "/_sim/requests") end
--- Back to the start state: fixtures, log, faults, rate-limit buckets, daily
-- count, clock offset, issued tokens and configuration.
-- @return nothing
-- @usage before_each(function() sim:reset() end)
function Sim:reset() self:_call("POST", "/_sim/reset") end

--- Adds a fault (table) or several (list): `POST /_sim/faults`.
-- @tparam table f a fault, e.g. `{meeting = 68423085, status = 503, count = 2}`,
-- or a list of them (docs/simulator.md lists the effects)
-- @return the fault's id, or the list of ids
-- @raise when f is not a table
-- @usage local id = sim:fault { path = "/v2/meetings/", reset = "before", count = 1 }
function Sim:fault(f)
  if type(f) ~= "table" then error("zoomlive.testing: fault table expected", 2) end
  local _, r = self:_call("POST", "/_sim/faults", f)
  local ids = {}
  for i, v in ipairs(r.ids) do ids[i] = math.tointeger(v) or v end
  if f[1] ~= nil then return ids end
  return ids[1]
end
--- The faults in force.
-- @treturn table a list of the active faults, each with its `id` and remaining `count`
-- @usage assert(#sim:faults() == 0)
function Sim:faults() return select(2, self:_call("GET", "/_sim/faults")) end
--- Removes every fault.
-- @return nothing
-- @usage sim:clear_faults()
function Sim:clear_faults() self:_call("DELETE", "/_sim/faults") end
--- Removes one fault.
-- @param id the id `fault` returned
-- @return nothing
-- @usage sim:remove_fault(id)
function Sim:remove_fault(id) self:_call("DELETE", "/_sim/faults/" .. id_text(id)) end

--- A meeting's state in the simulator.
-- @param id the meeting id
-- @treturn table `{id, type, host = {...}, started, stream = {...}, status, settings = {...}, last_start}`
-- @usage assert(sim:meeting(85746065432).status == "live")
function Sim:meeting(id) return select(2, self:_call("GET", "/_sim/meetings/" .. id_text(id))) end
--- A webinar's state in the simulator.
-- @param id the webinar id
-- @treturn table the webinar's state, as for `meeting`
-- @usage print(sim:webinar(81234567890).status)
function Sim:webinar(id) return select(2, self:_call("GET", "/_sim/webinars/" .. id_text(id))) end
--- Merges fields into a meeting's state (creating a ready meeting if missing).
-- @param id the meeting id
-- @tparam table t the fields to change (as `meeting` returns them)
-- @treturn table the meeting's new state
-- @usage sim:set_meeting(555000111, { host = { licensed = false } })
function Sim:set_meeting(id, t)
  return select(2, self:_call("PUT", "/_sim/meetings/" .. id_text(id), t))
end
--- Merges fields into a webinar's state (creating a ready webinar if missing).
-- @param id the webinar id
-- @tparam table t the fields to change
-- @treturn table the webinar's new state
-- @usage sim:set_webinar(81234567890, { status = "live" })
function Sim:set_webinar(id, t)
  return select(2, self:_call("PUT", "/_sim/webinars/" .. id_text(id), t))
end
--- Deletes a meeting: later calls for it get Zoom's 404 (code 3001).
-- @param id the meeting id
-- @return nothing
-- @usage sim:delete_meeting(68423085)
function Sim:delete_meeting(id) self:_call("DELETE", "/_sim/meetings/" .. id_text(id)) end
--- Reads the simulator's configuration, or changes it.
-- @tparam[opt] table t settings to change: `qps`, `daily`, `ratelimit_headers`, `token_ttl`,
-- `invalidate_old_tokens`, `start_cooldown`, `any_meeting`
-- @treturn table the configuration in force
-- @usage sim:config { qps = 5 }
function Sim:config(t)
  if t == nil then return select(2, self:_call("GET", "/_sim/config")) end
  return select(2, self:_call("POST", "/_sim/config", t))
end
--- Moves the simulator's clock forward (token expiry, rate-limit windows,
-- cooldowns) without waiting.
-- @tparam number seconds how far
-- @treturn table the clock, as `clock` returns it
-- @raise when seconds is not a number
-- @usage sim:advance(30)   -- past Zoom's 30-second start cooldown
function Sim:advance(seconds)
  if type(seconds) ~= "number" then error("zoomlive.testing: seconds expected", 2) end
  return select(2, self:_call("POST", "/_sim/clock", { advance = seconds }))
end
--- The webhook deliveries the simulator made or has queued.
-- @treturn table `{deliveries = {{seq, event, type, id, state, due, status, error, sent_at, timestamp}, ...}}`
-- @usage local d = sim:webhooks().deliveries
function Sim:webhooks() return select(2, self:_call("GET", "/_sim/webhooks")) end
--- Forgets the webhook deliveries.
-- @return nothing
-- @usage sim:clear_webhooks()
function Sim:clear_webhooks() self:_call("DELETE", "/_sim/webhooks") end
--- Queues an `endpoint.url_validation` request to the webhook URL; the
-- delivery's state becomes `"validated"` when the answer is right.
-- @treturn table the delivery log, as `webhooks` returns it
-- @usage sim:validate_webhook()
function Sim:validate_webhook() return select(2, self:_call("POST", "/_sim/webhooks/validate")) end
--- The simulator's clock.
-- @treturn table `{now, now_iso, offset}` (seconds)
-- @usage print(sim:clock().offset)
function Sim:clock() return select(2, self:_call("GET", "/_sim/clock")) end

--- Stops the simulator (SIGTERM, then a bounded wait, then SIGKILL).
-- Idempotent; `__close` and `__gc` call it.
-- @treturn boolean true when it exited cleanly
-- @usage assert(sim:stop())
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

-- helpers shared with zoomlive.testing.redis (not part of the public API)
testing._shquote, testing._file_exists = shquote, file_exists

return testing
