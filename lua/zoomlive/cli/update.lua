--- zoomlive.cli.update: `start`, `stop` and `mode` (client:update /
-- webinar_update; lists through client:update_many).
local validate = require "zoomlive.validate"
local output = require "zoomlive.cli.output"
local args = require "zoomlive.cli.args"

local M = {}

local DONE = { start = "live stream started", stop = "live stream stopped", mode = "live stream mode changed" }

--- how (see zoomlive.cli.run), or nil and a usage message.
function M.prepare(env)
  local o, c, kind = env.o, env.client, env.kind
  local settings
  for _, f in ipairs(args.SETTINGS) do
    if o[f] ~= nil then
      settings = settings or {}
      settings[f] = o[f]
    end
  end
  local settings_json, err = validate.settings(settings, kind, "zoomlive", o.command)
  if err then return nil, output.err_text(err) end
  env.settings_json, env.settings = settings_json, settings
  local update = o.webinar and c.webinar_update or c.update
  local batch = type(c.update_many) == "function"
    and function(items, opts) return c:update_many(items, opts) end or nil
  return {
    batch = batch,
    item = function(row) return { row.id, o.command, settings } end,
    one = function(row)
      local status, e, info = update(c, row.id, o.command, settings)
      return { status = status, err = e, info = info }
    end,
    text = function(rec)
      return rec.id .. ": " .. (o.webinar and "webinar " or "") .. DONE[o.command]
    end,
  }
end

return M
