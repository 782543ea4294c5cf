-- examples/s2s.lua: the unattended set-up. A Server-to-Server OAuth app's
-- credentials come from the environment; the token is fetched on first
-- need, cached, refreshed a minute before it expires, and fetched anew once
-- if Zoom says it is no longer valid (401/124).
--
--   export ZOOM_ACCOUNT_ID=... ZOOM_CLIENT_ID=... ZOOM_CLIENT_SECRET=...
--   lua5.4 examples/s2s.lua 85746065432 [more ids...]
local zoomlive = require "zoomlive"

if #arg == 0 then
  io.stderr:write("usage: s2s.lua MEETING_ID [MEETING_ID ...]\n")
  os.exit(2)
end

local client <close> = zoomlive.new {
  -- account_id / client_id / client_secret may also be passed here; the
  -- environment is read when they are not. Never log them.
  refresh_margin = 60,      -- seconds before expiry to fetch a new token
  retries = 3,              -- 502/503/504, resets, timeouts and QPS 429s
  max_retry_wait = 35,      -- long enough to honour Zoom's 30 s rule for start
}
print(tostring(client))     -- shows auth=s2s, never a secret

local failed = 0
for _, id in ipairs(arg) do
  local status, err, info = client:start(id)
  if err then
    failed = failed + 1
    io.stderr:write(string.format("%s: %s\n", id, tostring(err)))
  else
    print(string.format("%s: started (HTTP %d, %d attempt(s), tracking id %s)",
      id, status, info.attempts, tostring(info.tracking_id)))
  end
end
os.exit(failed == 0 and 0 or 1)
