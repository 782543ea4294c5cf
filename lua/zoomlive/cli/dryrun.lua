--- zoomlive.cli.dryrun: prints what would be sent, sends nothing.
--
--   dryrun.run(env, ids) -> exit code
--
-- For each ID the request is built by zoomlive.request, the one place every
-- call builds its request, and turned into the core's value by
-- request.spec: method, URL, the headers the core sends (the token as
-- ***), and the body byte for byte (a multipart body as core.multipart
-- encodes the same fields, with this run's boundary; a stream key as ***),
-- then an equivalent curl command that takes the token and the key from the
-- shell.
local core = require "zoomlive.core"
local request = require "zoomlive.request"
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

-- the request of one ID (zoomlive.request), or nil, err
local function request_of(env, id)
  local o = env.o
  local cmd, kind = o.command, env.kind
  if cmd == "get" then return request.get(kind, "zoomlive", id) end
  if cmd == "join-token" then return request.join_token(kind, "zoomlive", id) end
  if cmd == "configure" then return request.configure(kind, "zoomlive", id, env.cfg) end
  return request.status(kind, "zoomlive", id, cmd, env.settings, env.client.encoding)
end

-- the curl option that sends the same body
local function curl_body(env, req, spec)
  if spec.form then
    local f = {}
    for i = 1, #spec.form, 2 do f[#f + 1] = "--form-string " .. shquote(spec.form[i] .. "=" .. spec.form[i + 1]) end
    return concat(f, " ")
  end
  if not spec.body then return nil end
  if env.o.command == "configure" then
    -- the key comes from the shell at run time, never from us
    local cfg = {}
    for k, v in pairs(env.cfg) do cfg[k] = v end
    cfg.stream_key = KEY_PLACEHOLDER
    local templ = shquote(assert(request.configure(env.kind, "zoomlive", req.id, cfg)).body)
    return "--data-raw " .. templ:gsub(KEY_PLACEHOLDER, "'\"$ZOOM_STREAM_KEY\"'", 1)
  end
  return "--data-raw " .. shquote(spec.body)
end

function M.run(env, ids)
  local out, o, c = env.out, env.o, env.client
  local base = c:base_url()
  for n, id in ipairs(ids) do
    local req = assert(request_of(env, id))
    local spec = request.spec(req, base)
    local ctype, body = spec.content_type, spec.body
    if spec.form then body, ctype = core.multipart(spec.form) end
    if o.command == "configure" then body = request.redact(body) end
    local headers = { { "Authorization", "Bearer ***" }, { "Accept", "application/json" },
      { "User-Agent", core.user_agent } }   -- what the connection sends
    if ctype then headers[#headers + 1] = { "Content-Type", ctype } end
    local curl = { "curl -sS -X " .. spec.method .. " " .. shquote(spec.url),
      "-H \"Authorization: Bearer $ZOOM_ACCESS_TOKEN\"", "-H 'Accept: application/json'" }
    if spec.content_type then curl[#curl + 1] = "-H " .. shquote("Content-Type: " .. spec.content_type) end
    curl[#curl + 1] = curl_body(env, req, spec)
    local curl_line = concat(curl, " \\\n  ")
    if o.json then
      local parts
      if spec.form then
        parts = {}
        for i = 1, #spec.form, 2 do
          parts[#parts + 1] = jobj { { "name", spec.form[i] }, { "value", spec.form[i + 1] } }.__json
        end
        parts = { __json = "[" .. concat(parts, ",") .. "]" }
      end
      local hs = {}
      for i, h in ipairs(headers) do hs[i] = h end
      out:line(jobj {
        { "id", id }, { "type", env.kind }, { "command", o.command }, { "ok", true }, { "dry_run", true },
        { "method", spec.method }, { "url", spec.url }, { "headers", jobj(hs) }, { "body", body },
        { "parts", parts }, { "curl", (curl_line:gsub(" \\\n  ", " ")) },
      }.__json)
    else
      if n > 1 then out:line("") end
      out:line(format("# %s %s (dry run: nothing sent)", env.kind, id))
      out:line(spec.method .. " " .. spec.url)
      for _, h in ipairs(headers) do out:line(h[1] .. ": " .. h[2]) end
      if body then
        out:line("")
        out:raw(body)
        if body:sub(-1) ~= "\n" then out:raw("\n") end
      end
      out:line("")
      if o.command == "configure" then out:line("# with ZOOM_STREAM_KEY set to the stream key:") end
      out:line(curl_line)
    end
  end
  return 0
end

return M
