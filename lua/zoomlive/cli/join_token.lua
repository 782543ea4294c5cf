--- zoomlive.cli.join_token: `join-token` (client:join_token /
-- webinar_join_token), one ID at a time. The token is a credential: shown
-- as *** unless --show-token is given, never written to a report, and
-- scrubbed from every line when it is not to be shown.
local output = require "zoomlive.cli.output"

local format = string.format

local M = {}

function M.prepare(env)
  local o, c, out = env.o, env.client, env.out
  local fetch = o.webinar and c.webinar_join_token or c.join_token
  return {
    one = function(row)
      local jt, err, info = fetch(c, row.id)
      local shown
      if jt then
        if not o.show_token then out:secret(jt.token) end
        shown = { token = o.show_token and jt.token or "***", expire_in = jt.expire_in }
      end
      return { status = jt and 200 or (err and err.status), err = err, info = info, join_token = shown }
    end,
    text = function(rec)
      local jt = rec.join_token or {}
      return format("%s:\n  %-11s %s\n  %-11s %s", rec.id, "token:", output.printable(jt.token or "***"),
        "expire_in:", tostring(jt.expire_in))
    end,
  }
end

return M
