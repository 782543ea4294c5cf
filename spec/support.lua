-- spec/support.lua: small helpers the specs share.
local M = {}

--- A string quoted for sh.
function M.shq(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Every string reachable from v: keys and values, tables walked once each,
-- and the __tostring of any table that has one.
function M.strings(v, out, seen)
  out, seen = out or {}, seen or {}
  local t = type(v)
  if t == "string" then
    out[#out + 1] = v
  elseif t == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      M.strings(k, out, seen)
      M.strings(x, out, seen)
    end
    local mt = getmetatable(v)
    if mt and mt.__tostring then out[#out + 1] = tostring(v) end
  end
  return out
end

--- The simulator's last logged request, and the count.
function M.last_request(sim)
  local log = sim:requests()
  return log[#log], #log
end

-- A canned loopback server: a child lua5.4 (luasocket) that answers the
-- bytes `resp` to each of `count` connections and logs what it read.
local CANNED = [==[
local socket = require "socket"
local resp_file, log_file, count = arg[1], arg[2], tonumber(arg[3])
local f = assert(io.open(resp_file, "rb")); local resp = f:read("a"); f:close()
local srv = assert(socket.bind("127.0.0.1", 0))
local _, port = srv:getsockname()
io.stdout:write(port, "\n"); io.stdout:flush()
srv:settimeout(30)
for _ = 1, count do
  local c = srv:accept()
  if not c then break end
  c:settimeout(10)
  local lines, len = {}, 0
  while true do
    local l = c:receive("*l")
    if not l or l == "" then break end
    lines[#lines + 1] = l
    local n = l:lower():match("^content%-length:%s*(%d+)")
    if n then len = tonumber(n) end
  end
  local body = len > 0 and (c:receive(len) or "") or ""
  local lf = io.open(log_file, "ab")
  lf:write(table.concat(lines, "\n"), "\n\n", body, "\n=====\n")
  lf:close()
  c:send(resp)
  c:close()
end
]==]

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

--- Starts a server answering `resp` to `count` connections; returns
-- { url =, port =, log = function() -> text, stop = function() }.
function M.canned_server(resp, count)
  local lua = os.getenv("ZOOMLIVE_LUA") or "lua5.4"
  local script, rfile, lfile = os.tmpname(), os.tmpname(), os.tmpname()
  write_file(script, CANNED)
  write_file(rfile, resp)
  write_file(lfile, "")
  local p = assert(io.popen(("sh -c 'echo $$; exec \"$0\" \"$@\"' %s %s %s %s %d"):format(
    M.shq(lua), M.shq(script), M.shq(rfile), M.shq(lfile), count or 1), "r"))
  local pid = p:read("l")
  local port = p:read("l")
  assert(pid and port and port:match("^%d+$"), "canned server did not start")
  local s = { url = "http://127.0.0.1:" .. port, port = tonumber(port) }
  function s.log() return read_file(lfile) end
  function s.stop()
    os.execute("kill " .. pid .. " 2>/dev/null")
    p:close()
    os.remove(script); os.remove(rfile); os.remove(lfile)
  end
  return s
end

--- An HTTP/1.1 reply with a JSON body and Connection: close.
function M.json_reply(status, body, extra)
  return ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n%s")
    :format(status, #body, extra or "", body)
end

-- A fake Redis on loopback: a child lua5.4 (luasocket) that reads RESP
-- commands and answers EVAL and EVALSHA with replies[k] on its k-th
-- connection (the last one for later connections), anything else +OK.
local RESP = [==[
local socket = require "socket"
local replies = dofile(arg[1])
local srv = assert(socket.bind("127.0.0.1", 0))
local _, port = srv:getsockname()
io.stdout:write(port, "\n"); io.stdout:flush()
local conns, nth = {}, {}
local accepted = 0
while true do
  local ready = socket.select({ srv, table.unpack(conns) }, nil, 30)
  if #ready == 0 then break end
  for _, s in ipairs(ready) do
    if s == srv then
      local c = srv:accept()
      if c then
        accepted = accepted + 1
        c:settimeout(5)
        conns[#conns + 1] = c
        nth[c] = accepted
      end
    else
      local function drop()
        for i, x in ipairs(conns) do if x == s then table.remove(conns, i) break end end
        s:close()
      end
      local head = s:receive("*l")
      local n = head and tonumber(head:match("^%*(%d+)"))
      if not n then drop() else
        local args = {}
        for i = 1, n do
          local len = tonumber((s:receive("*l") or ""):match("^%$(%d+)"))
          args[i] = len and s:receive(len + 2) or ""
        end
        local cmd = (args[1] or ""):sub(1, -3):upper()
        if cmd == "EVAL" or cmd == "EVALSHA" then
          s:send(replies[math.min(nth[s], #replies)])
        else
          s:send("+OK\r\n")
        end
      end
    end
  end
end
]==]

--- Starts a fake Redis (above); returns { url =, port =, stop = function() }.
function M.resp_server(replies)
  local lua = os.getenv("ZOOMLIVE_LUA") or "lua5.4"
  local script, rfile = os.tmpname(), os.tmpname()
  write_file(script, RESP)
  local parts = {}
  for i, r in ipairs(replies) do parts[i] = ("%q"):format(r) end
  write_file(rfile, "return { " .. table.concat(parts, ", ") .. " }\n")
  local p = assert(io.popen(("exec sh -c 'echo $$; exec \"$0\" \"$@\"' %s %s %s"):format(
    M.shq(lua), M.shq(script), M.shq(rfile)), "r"))
  local pid = p:read("l")
  local port = p:read("l")
  assert(pid and port and port:match("^%d+$"), "fake Redis did not start")
  local s = { url = "redis://127.0.0.1:" .. port .. "/0", port = tonumber(port) }
  function s.stop()
    os.execute("kill " .. pid .. " 2>/dev/null")
    p:close()
    os.remove(script); os.remove(rfile)
  end
  return s
end

--- A redis-server and a zoomlive-sim for the tests of one describe block:
--   local env = support.redis_and_sim { qps = 1000 }
--   setup(env.start); teardown(env.stop)     -- then env.r, env.sim
function M.redis_and_sim(sim_opts)
  local env = {}
  function env.start()
    env.r = require("zoomlive.testing.redis").start()
    env.sim = require("zoomlive.testing").start(sim_opts or { qps = 1000 })
  end
  function env.stop()
    if env.sim then env.sim:stop() end
    if env.r then env.r:stop() end
  end
  return env
end

return M
