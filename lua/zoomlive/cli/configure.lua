--- zoomlive.cli.configure: `configure` (client:configure /
-- webinar_configure), one ID at a time; the stream key from a file or stdin.
local validate = require "zoomlive.validate"
local output = require "zoomlive.cli.output"
local secret = require "zoomlive.cli.secret"

local M = {}

-- The key: --stream-key-file FILE, "-" or (stdin not a terminal) stdin.
local function read_key(env)
  local o, ctx = env.o, env.ctx
  local path = o.stream_key_file
  if path == nil or path == "-" then
    if path == nil and ctx.isatty("stdin") then
      return nil, "configure needs the stream key: --stream-key-file FILE, or pipe it on stdin"
    end
    if env.stdin_used then return nil, "stdin cannot hold both the list (--from -) and the stream key" end
    local text = ctx.stdin and ctx.stdin:read(secret.MAX + 1)
    if not text or text == "" then return nil, "no stream key on stdin (one line expected)" end
    return secret.clean(text, "the stream key on stdin")
  end
  local f, why = io.open(path, "rb")
  if not f then return nil, "cannot read --stream-key-file: " .. output.printable(why) end
  local text = f:read(secret.MAX + 1)
  f:close()
  return secret.clean(text or "", "--stream-key-file " .. output.printable(path, 200))
end

function M.prepare(env)
  local o, c = env.o, env.client
  local key, kerr = read_key(env)
  if not key then return nil, kerr end
  env.out:secret(key)
  local cfg = { stream_url = o.stream_url, stream_key = key, page_url = o.page_url, resolution = o.resolution }
  local _, err = validate.stream(cfg, "zoomlive")
  if err then return nil, output.err_text(err) end
  env.cfg = cfg
  local configure = o.webinar and c.webinar_configure or c.configure
  return {
    one = function(row)
      local status, e, info = configure(c, row.id, cfg)
      return { status = status, err = e, info = info }
    end,
    text = function(rec) return rec.id .. ": " .. (o.webinar and "webinar " or "") .. "live stream configured" end,
  }
end

return M
