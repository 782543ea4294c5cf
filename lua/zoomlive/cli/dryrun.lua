--- zoomlive.cli.dryrun: prints what would be sent, sends nothing.
--
--   dryrun.run(out, o, client, ids, settings_json, cfg) -> exit code
--
-- For each ID: method, URL, headers (the token as ***), the body (for
-- multipart, its parts as text; the stream key as ***) and an equivalent
-- curl command that takes the token and the key from the shell.
local validate = require "zoomlive.validate"
local output = require "zoomlive.cli.output"

local format, concat = string.format, table.concat
local jobj = output.jobj

local M = {}

local KEY_PLACEHOLDER = "ZOOMLIVE_STREAM_KEY_PLACEHOLDER"

local function shquote(s)
  if s:match("^[%w@%%+=:,./_-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
M.shquote = shquote

-- The request of one ID: method, path, content type, body | parts, curl body.
local function request_of(o, encoding, kind, id, settings_json, cfg)
  if o.command == "get" then
    return { method = "GET", path = "/" .. kind .. "s/" .. id .. "/livestream" }
  elseif o.command == "configure" then
    local shown = {}
    for k, v in pairs(cfg) do shown[k] = v end
    shown.stream_key = "***"
    local body = assert(validate.stream(shown, "configure"))
    shown.stream_key = KEY_PLACEHOLDER
    local templ = shquote(assert(validate.stream(shown, "configure")))
    -- the key comes from the shell at run time, never from us
    return { method = "PATCH", path = "/" .. kind .. "s/" .. id .. "/livestream",
      ctype = "application/json", body = body,
      curl_body = "--data-raw " .. templ:gsub(KEY_PLACEHOLDER, "'\"$ZOOM_STREAM_KEY\"'", 1) }
  end
  local r = { method = "PATCH", path = "/" .. kind .. "s/" .. id .. "/livestream/status" }
  if encoding == "json" then
    r.ctype = "application/json"
    r.body = settings_json and ('{"action":"' .. o.command .. '","settings":' .. settings_json .. "}")
      or ('{"action":"' .. o.command .. '"}')
    r.curl_body = "--data-raw " .. shquote(r.body)
  else
    r.ctype = "multipart/form-data"
    r.parts = { { "action", o.command } }
    if settings_json then r.parts[2] = { "settings", settings_json } end
    local f = {}
    for i, p in ipairs(r.parts) do f[i] = "--form-string " .. shquote(p[1] .. "=" .. p[2]) end
    r.curl_body = concat(f, " ")
  end
  return r
end

function M.run(out, o, c, ids, settings_json, cfg)
  local kind = o.webinar and "webinar" or "meeting"
  local base = c:base_url()
  for n, id in ipairs(ids) do
    local r = request_of(o, c.encoding, kind, id, settings_json, cfg)
    local url = base .. r.path
    local headers = { { "Authorization", "Bearer ***" }, { "Accept", "application/json" } }
    if r.ctype then headers[3] = { "Content-Type", r.ctype } end
    local curl = { "curl -sS -X " .. r.method .. " " .. shquote(url),
      "-H \"Authorization: Bearer $ZOOM_ACCESS_TOKEN\"", "-H 'Accept: application/json'" }
    if r.ctype == "application/json" then curl[#curl + 1] = "-H 'Content-Type: application/json'" end
    if r.curl_body then curl[#curl + 1] = r.curl_body end
    local curl_line = concat(curl, " \\\n  ")
    if o.json then
      local ps
      if r.parts then
        ps = {}
        for i, p in ipairs(r.parts) do ps[i] = jobj { { "name", p[1] }, { "value", p[2] } }.__json end
        ps = { __json = "[" .. concat(ps, ",") .. "]" }
      end
      out:line(jobj {
        { "id", id }, { "type", kind }, { "command", o.command }, { "ok", true }, { "dry_run", true },
        { "method", r.method }, { "url", url }, { "headers", jobj(headers) }, { "body", r.body },
        { "parts", ps }, { "curl", (curl_line:gsub(" \\\n  ", " ")) },
      }.__json)
    else
      if n > 1 then out:line("") end
      out:line(format("# %s %s (dry run: nothing sent)", kind, id))
      out:line(r.method .. " " .. url)
      for _, h in ipairs(headers) do out:line(h[1] .. ": " .. h[2]) end
      if r.body then
        out:line("")
        out:line(r.body)
      elseif r.parts then
        for _, p in ipairs(r.parts) do
          out:line("")
          out:line(format("--- part %q", p[1]))
          out:line(p[2])
        end
      end
      out:line("")
      if o.command == "configure" then out:line("# with ZOOM_STREAM_KEY set to the stream key:") end
      out:line(curl_line)
    end
  end
  return 0
end

return M
