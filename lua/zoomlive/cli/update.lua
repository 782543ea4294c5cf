--- zoomlive.cli.update: `start`, `stop` and `mode` (client:update /
-- webinar_update; lists through client:update_many).
local validate = require "zoomlive.validate"
local output = require "zoomlive.cli.output"
local args = require "zoomlive.cli.args"

local M = {}

local DONE = { start = "live stream started", stop = "live stream stopped", mode = "live stream mode changed" }

-- the flag a settings field comes from
local FLAG = { display_name = "--display-name", active_speaker_name = "--active-speaker-name",
  layout = "--layout", close_caption = "--close-caption" }

--- A settings error in the command's words: its flags, not the library's
-- field names ("--display-name cannot be used with mode ...").
function M.settings_error(err, command)
  local key = err.field and err.field:match("^settings%.(.+)$")
  if key and FLAG[key] and command == "mode" and err.message:find("cannot change with action mode", 1, true) then
    return FLAG[key] .. " cannot be used with mode (only --layout and --close-caption)"
  end
  if err.field == "settings" and command == "mode" then
    return "mode needs --layout or --close-caption"
  end
  if key and FLAG[key] and err.message:find("^unknown setting") then
    return FLAG[key] .. " does not apply to webinars"
  end
  if key and FLAG[key] then return FLAG[key] .. ": " .. output.printable(err.message) end
  return output.err_text(err)
end

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
  if err then return nil, M.settings_error(err, o.command) end
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
