--- zoomlive.cli.get: `get` (client:get / webinar_get), one ID at a time.
local output = require "zoomlive.cli.output"

local format = string.format

local M = {}

local FIELDS = { "stream_url", "stream_key", "page_url", "resolution" }

function M.prepare(env)
  local o, c = env.o, env.client
  local get = o.webinar and c.webinar_get or c.get
  return {
    one = function(row)
      local conf, err, info = get(c, row.id)
      if conf then
        local shown = {}
        for _, k in ipairs(FIELDS) do shown[k] = conf[k] end
        if shown.stream_key ~= nil and not o.show_key then shown.stream_key = "***" end
        conf = shown
      end
      return { status = conf and 200 or (err and err.status), err = err, info = info, config = conf }
    end,
    text = function(rec)
      local lines = { rec.id .. ":" }
      for _, k in ipairs(FIELDS) do
        local v = rec.config and rec.config[k]
        if v ~= nil then lines[#lines + 1] = format("  %-11s %s", k .. ":", output.printable(v)) end
      end
      return table.concat(lines, "\n")
    end,
  }
end

return M
