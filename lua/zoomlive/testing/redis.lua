--- zoomlive.testing.redis: start a throw-away redis-server for a test, on a
-- free loopback port with a temporary directory, and stop it after.
--
--   local tr = require "zoomlive.testing.redis"
--   local r = tr.start()            -- r.url = "redis://127.0.0.1:PORT/0"
--   r:command("GET", "k")           -- one command (zoomlive.hiredis), raises on failure
--   r:signal("STOP") / r:signal("CONT") / r:signal("KILL")
--   r:restart()                     -- a new server on the same port (after KILL or stop)
--   r:stop()                        -- SIGTERM, bounded wait, SIGKILL; removes the directory
--
-- The executable is opts.exe, else $ZOOMLIVE_REDIS_SERVER, else
-- /usr/bin/redis-server, else redis-server on PATH. Nothing is saved to
-- disk (no RDB, no AOF).
local hiredis = require "zoomlive.hiredis"

local M = {}
local Redis = {}
Redis.__index = Redis

local testing = require "zoomlive.testing"
local shquote, exists = testing._shquote, testing._file_exists

local function find_exe(opts)
  if opts.exe then return opts.exe end
  local env = os.getenv("ZOOMLIVE_REDIS_SERVER")
  if env and env ~= "" then return env end
  if exists("/usr/bin/redis-server") then return "/usr/bin/redis-server" end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    if exists(dir .. "/redis-server") then return dir .. "/redis-server" end
  end
  error("zoomlive.testing.redis: redis-server not found (apt-get install redis-server)", 3)
end

-- a port the kernel just handed out and took back (luasocket), or a random one
local function free_port()
  local ok, socket = pcall(require, "socket")
  if ok and socket.bind then
    local s = socket.bind("127.0.0.1", 0)
    if s then
      local _, port = s:getsockname()
      s:close()
      return tonumber(port)
    end
  end
  return math.random(20000, 60000)
end

local okcore, core = pcall(require, "zoomlive.core")
local clock = okcore and core.now or os.time

-- one blocking command with a timeout; reply or nil, why
local function call(port, timeout, password, ...)
  local c, err = hiredis.connect("127.0.0.1", port)
  if not c then return nil, err end
  local deadline = clock() + timeout
  local function await(ev)
    local left = deadline - clock()
    return left > 0 and hiredis.poll(c:fd(), ev, left) and true
  end
  local function run(...)
    local ok, e = c:append(...)
    if not ok then return nil, e end
    while true do
      local done
      done, e = c:flush()
      if done == nil then return nil, e end
      if done then break end
      if not await("w") then return nil, "timed out" end
    end
    while true do
      local got, r = c:read()
      if got == nil then return nil, r end
      if got then return r end
      if not await("r") then return nil, "timed out" end
    end
  end
  local r, e
  if password then
    r, e = run("AUTH", password)
    if r ~= "OK" then
      c:close()
      return nil, e or "AUTH refused"
    end
  end
  r, e = run(...)
  c:close()
  return r, e
end

function Redis:_launch()
  local args = { "--port", tostring(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
    "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
    "--logfile", self.dir .. "/redis.log" }
  for _, a in ipairs(self.args) do args[#args + 1] = tostring(a) end
  if self.password then
    args[#args + 1] = "--requirepass"
    args[#args + 1] = self.password
  end
  local parts = { "sh -c 'echo $$; exec \"$0\" \"$@\"'", shquote(self.exe) }
  for _, a in ipairs(args) do parts[#parts + 1] = shquote(a) end
  self._pipe = io.popen(table.concat(parts, " ") .. " 2>&1", "r")
  local pid = self._pipe:read("l")
  if not (pid and pid:match("^%d+$")) then
    self._pipe:close()
    self._pipe = nil
    return nil, "redis-server did not start"
  end
  self.pid = tonumber(pid)
  -- ready when it answers PING (at most ~5 s)
  for _ = 1, 100 do
    local r = call(self.port, 0.5, self.password, "PING")
    if r == "PONG" then return true end
    if not self:_alive() then break end
    os.execute("sleep 0.05")
  end
  local log = io.open(self.dir .. "/redis.log")
  local text = log and log:read("a") or ""
  if log then log:close() end
  self:_reap()
  return nil, "redis-server on port " .. self.port .. " is not answering: " .. text:sub(-400)
end

function Redis:_alive()
  local f = io.open("/proc/" .. self.pid .. "/stat")
  if not f then return false end
  local s = f:read("a") or ""
  f:close()
  return s ~= "" and not s:match("^%d+ %b() ([ZX])")
end

function Redis:_reap()
  if not self._pipe then return end
  local pid = string.format("%d", self.pid)
  os.execute("kill -CONT " .. pid .. " 2>/dev/null; kill " .. pid .. " 2>/dev/null")
  for _ = 1, 100 do
    if not self:_alive() then break end
    os.execute("sleep 0.05")
  end
  if self:_alive() then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
  self._pipe:close()
  self._pipe = nil
end

--- start{exe=, port=, args=, password=} -> a running server (raises when it
-- does not start); args: extra redis-server flags; password: given to the
-- server (--requirepass) and used by r:command.
function M.start(opts)
  opts = opts or {}
  local exe = find_exe(opts)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. shquote(dir)), "zoomlive.testing.redis: mkdir failed")
  local self = setmetatable({ exe = exe, dir = dir, args = opts.args or {},
    password = opts.password }, Redis)
  local last
  for _ = 1, (opts.port and 1 or 5) do
    self.port = opts.port or free_port()
    local ok, err = self:_launch()
    if ok then
      self.url = ("redis://127.0.0.1:%d/0"):format(self.port)
      return self
    end
    last = err
  end
  os.execute("rm -rf " .. shquote(dir))
  error("zoomlive.testing.redis: " .. tostring(last), 2)
end

--- One command; the reply (error replies as {err=}), raises on failure.
function Redis:command(...)
  local r, err = call(self.port, 2, self.password, ...)
  if r == nil then error("zoomlive.testing.redis: " .. tostring(err), 2) end
  return r
end

--- Sends a signal ("STOP", "CONT", "KILL", "TERM") to the server.
function Redis:signal(sig)
  assert(sig:match("^%u+$"), "signal name expected")
  os.execute("kill -" .. sig .. " " .. string.format("%d", self.pid) .. " 2>/dev/null")
  if sig == "KILL" or sig == "TERM" then
    for _ = 1, 100 do
      if not self:_alive() then break end
      os.execute("sleep 0.05")
    end
    if self._pipe then
      self._pipe:close()
      self._pipe = nil
    end
  end
end

--- A fresh server on the same port (the old one is stopped first).
function Redis:restart()
  self:_reap()
  for _ = 1, 40 do
    local ok, err = self:_launch()
    if ok then return self end
    -- the port may linger a moment after a kill
    if not tostring(err):find("not answering", 1, true) then break end
    os.execute("sleep 0.1")
  end
  error("zoomlive.testing.redis: restart on port " .. self.port .. " failed", 2)
end

function Redis:stop()
  self:_reap()
  if self.dir then
    os.execute("rm -rf " .. shquote(self.dir))
    self.dir = nil
  end
end
Redis.__gc = Redis.stop
Redis.__close = Redis.stop

return M
