-- examples/host/app.lua: the script host.c runs in each of its threads, in
-- that thread's own lua_State, with zoomlive preloaded from libzoomlive (no
-- zoomlive file is read at run time).
--
-- It stops a few live streams at once on zoomlive.core.driver, the
-- non-blocking driver, and hands the host what its poll() loop needs:
--   app.sockets()       -> { [fd] = "r" | "w" | "rw" }   what to watch
--   app.timeout()       -> seconds until app.timer() is due, or nil
--   app.ready(fd, ev)   the host saw ev ("r", "w", "rw", "e") on fd
--   app.timer()         the timer is due
--   app.done()          -> true when every call has finished
--   app.report()        -> text, ok
-- Arguments: base_url, token, first meeting id, number of calls.
local zoomlive = require "zoomlive"
local core = require "zoomlive.core"

local base_url, token, first_id, count = ...
first_id, count = math.tointeger(first_id), math.tointeger(count) or 4

local d = core.driver { concurrency = 4, timeout = 10 }
local WATCH = { ["in"] = "r", out = "w", inout = "rw" }
local watch, pending, lines = {}, {}, {}
local ok, failed = 0, 0

-- after every call into the driver: its socket changes, then its results
local function settle()
  for _, c in ipairs(d:changes()) do
    watch[c.fd] = WATCH[c.what]   -- "remove": nil, stop watching
  end
  while true do
    local id, resp = d:take()
    if not id then break end
    local meeting = pending[id]
    pending[id] = nil
    if resp.status == 204 then
      ok = ok + 1
    else
      failed = failed + 1
      lines[#lines + 1] = ("meeting %d: %s"):format(meeting, resp.status or resp.kind)
    end
  end
end

for i = 1, count do
  local id = first_id + i
  local call = d:submit {
    method = "PATCH", url = ("%s/meetings/%d/livestream/status"):format(base_url, id),
    token = token, content_type = "application/json", body = '{"action":"stop"}',
  }
  pending[call] = id
end
settle()

local app = {}
function app.sockets() return watch end
function app.timeout() return d:timer() end
function app.ready(fd, ev) d:socket_action(fd, ev) settle() end
function app.timer() d:timeout_action() settle() end
function app.done() return next(pending) == nil end
function app.report()
  d:close()
  lines[#lines + 1] = ("zoomlive %s: %d stopped, %d failed"):format(zoomlive.version, ok, failed)
  return table.concat(lines, "\n"), failed == 0 and ok == count
end
return app
