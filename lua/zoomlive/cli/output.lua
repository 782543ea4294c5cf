--- zoomlive.cli.output: everything the command prints or records.
--
--   local out = output.new(ctx)     -- ctx: stdout, stderr, isatty(name)
--   out:line(s) / out:warn(s)        -- stdout / stderr, scrubbed of secrets
--   out:record(rec)                  -- one row's outcome: text or NDJSON, + report
--   out:progress(p) / out:summary(s)
--
-- Records (one per input row, --json and --report alike):
--   { id, line, type, command, ok, status, tracking_id, config, error,
--     skipped = "duplicate" | "done" | "not sent", duplicate_of, row }
-- `ok` is true only for an outcome Zoom confirmed; a record with `skipped`
-- has no outcome of its own.
local validate = require "zoomlive.validate"

local format, concat = string.format, table.concat

local M = {}
local Out = {}
Out.__index = Out

-- Text safe for one line of output: no control characters, valid UTF-8
-- (an invalid byte becomes "?": JSON output stays valid), bounded.
local function printable(s, max)
  s = tostring(s):gsub("[\r\n\t]+", " "):gsub("%c", "?")
  if not utf8.len(s) then
    local out, i = {}, 1
    while i <= #s do
      local ok, nxt = pcall(utf8.offset, s, 2, i)
      local ch = ok and nxt and s:sub(i, nxt - 1) or nil
      if ch and utf8.len(ch) == 1 then
        out[#out + 1], i = ch, nxt
      else
        out[#out + 1], i = "?", i + 1
      end
    end
    s = table.concat(out)
  end
  if max and #s > max then
    s = s:sub(1, max)
    while #s > 0 and not utf8.len(s) do s = s:sub(1, -2) end   -- never half a character
    s = s .. "..."
  end
  return s
end
M.printable = printable

-- JSON for our own objects, keys in a fixed order. list of {key, value};
-- a value that is a table with __json is spliced in as is.
local function jobj(list)
  local parts = {}
  for _, kv in ipairs(list) do
    local k, v = kv[1], kv[2]
    if v ~= nil then
      parts[#parts + 1] = validate.json(k) .. ":" .. (type(v) == "table" and v.__json or validate.json(v))
    end
  end
  return { __json = "{" .. concat(parts, ",") .. "}" }
end
M.jobj = jobj

function M.jerr(err)
  if not err then return nil end
  return jobj {
    { "kind", err.kind }, { "status", err.status }, { "code", err.code },
    { "field", err.field }, { "message", err.message and printable(err.message, 500) },
    { "tracking_id", err.tracking_id }, { "retry_after", err.retry_after },
    { "outcome_unknown", err.outcome_unknown }, { "attempts", err.attempts },
  }
end

--- One line of an error, without the library's "zoomlive: " prefix.
function M.err_text(err)
  return printable((tostring(err):gsub("^zoomlive: ", "")))
end

function M.new(ctx)
  return setmetatable({ ctx = ctx, secrets = ctx.secrets or {}, shown = false }, Out)
end

--- A secret every later line is scrubbed of.
function Out:secret(s)
  if type(s) == "string" and #s >= 4 then self.secrets[#self.secrets + 1] = s end
end

function Out:scrub(s)
  for _, secret in ipairs(self.secrets) do
    local from = 1
    while true do
      local a, b = s:find(secret, from, true)
      if not a then break end
      s = s:sub(1, a - 1) .. "***" .. s:sub(b + 1)
      from = a + 3
    end
  end
  return s
end

function Out:clear()
  if self.shown then
    self.ctx.stderr:write("\r\27[K")
    self.shown = false
  end
end

-- a failed write to stdout or the report is remembered (the first one):
-- the run then ends with exit 1 and says so, never 0 with the output lost
-- (file:write and file:flush give nil, message on failure)
function Out:check(what, ok, why)
  if not ok and not self.write_failed then
    self.write_failed = what .. ": " .. printable(why or "write failed", 200)
  end
  return ok
end

function Out:line(s)
  self:clear()
  local out = self.ctx.stdout
  if self:check("stdout", out:write(self:scrub(s), "\n")) then self:check("stdout", out:flush()) end
end

function Out:raw(s)
  self:clear()
  self:check("stdout", self.ctx.stdout:write(self:scrub(s)))
end

function Out:warn(s)
  self:clear()
  self.ctx.stderr:write(self:scrub("zoomlive: " .. s), "\n")
end

--- The progress line, on a terminal's stderr only.
-- p = { done, total, ok, failed, rate = per second | nil, left = seconds | nil }
function Out:progress(p)
  if not self.ctx.isatty("stderr") then return end
  local s = format("\rzoomlive: %d/%d done, %d ok, %d failed", p.done, p.total, p.ok, p.failed)
  if p.rate then s = s .. format(", %.1f/s", p.rate) end
  if p.left then s = s .. format(", %s left", M.duration(p.left)) end
  self.ctx.stderr:write(s, "\27[K")
  self.shown = true
  if self.ctx.stderr.flush then self.ctx.stderr:flush() end
end

function M.duration(s)
  s = math.max(0, math.floor(s + 0.5))
  if s < 60 then return format("%d s", s) end
  if s < 3600 then return format("%d min %02d s", s // 60, s % 60) end
  return format("%d h %02d min", s // 3600, (s % 3600) // 60)
end

--- The JSON text of a record.
function M.record_json(rec)
  local cfg
  if rec.config then
    local c = rec.config
    cfg = jobj {
      { "stream_url", c.stream_url }, { "stream_key", c.stream_key },
      { "page_url", c.page_url }, { "resolution", c.resolution },
    }
  end
  local jt
  if rec.join_token then
    jt = jobj { { "token", rec.join_token.token }, { "expire_in", rec.join_token.expire_in } }
  end
  return jobj {
    { "id", rec.id }, { "row", rec.row }, { "line", rec.line }, { "type", rec.type },
    { "command", rec.command }, { "ok", rec.ok }, { "status", rec.status },
    { "tracking_id", rec.tracking_id }, { "config", cfg }, { "join_token", jt }, { "skipped", rec.skipped },
    { "duplicate_of", rec.duplicate_of }, { "error", M.jerr(rec.error) },
  }.__json
end

-- opens --report FILE for appending; a torn last line gets its newline
function Out:open_report(path)
  local f, why = io.open(path, "a+b")
  if not f then return nil, printable(why) end
  local size = f:seek("end")
  if size and size > 0 then
    f:seek("set", size - 1)
    local last = f:read(1)
    f:seek("end")
    if last ~= "\n" then f:write("\n") end
  end
  f:setvbuf("no")
  self.report = f
  return true
end

function Out:close_report()
  if self.report then
    self.report:close()
    self.report = nil
  end
end

--- Records one row's outcome: stdout (text or JSON), stderr for an error,
-- and the report file (flushed), scrubbed of secrets.
-- text: the success line for text mode (nil: none)
function Out:record(rec, json, text)
  local j
  if json then j = self:scrub(M.record_json(rec)) end
  if self.report then
    -- a report file never holds a stream key or a join token, --show-* or not
    local cfg, jt = rec.config, rec.join_token
    if cfg and cfg.stream_key ~= nil and cfg.stream_key ~= "***" then
      local masked = {}
      for k, v in pairs(cfg) do masked[k] = v end
      masked.stream_key = "***"
      rec.config = masked
    end
    if jt and jt.token ~= "***" then rec.join_token = { token = "***", expire_in = jt.expire_in } end
    if self:check("the --report file", self.report:write(self:scrub(M.record_json(rec)), "\n")) then
      self:check("the --report file", self.report:flush())
    end
    rec.config, rec.join_token = cfg, jt
  end
  if json then
    self:line(j)
  elseif text then
    self:line(text)
  end
  local who = rec.id or rec.row
  if rec.line and not rec.arg then who = format("line %d: %s", rec.line, who) end
  if rec.error then
    self:warn(who .. ": " .. M.err_text(rec.error))
  elseif rec.skipped == "duplicate" then
    self:warn(format("%s: listed before (row %d); sent once", who, rec.duplicate_of))
  end
end

--- The last line(s): text on stderr, or a JSON object on stdout.
-- s = { command, total, ok, failed, bad, duplicates, done_before, not_sent,
--       elapsed, exit, interrupted = "INT"|nil }
function Out:summary(s, json)
  if json then
    self:line(jobj {
      { "summary", true }, { "command", s.command }, { "total", s.total }, { "ok", s.ok },
      { "failed", s.failed }, { "bad_rows", s.bad }, { "duplicates", s.duplicates },
      { "skipped_done", s.done_before }, { "not_sent", s.not_sent },
      { "elapsed", math.floor(s.elapsed * 1000 + 0.5) / 1000 }, { "interrupted", s.interrupted },
      { "exit", s.exit },
    }.__json)
    return
  end
  local parts = { format("%d ok", s.ok), format("%d failed", s.failed) }
  if s.bad > 0 then parts[#parts + 1] = format("%d bad rows", s.bad) end
  if s.duplicates > 0 then parts[#parts + 1] = format("%d duplicates", s.duplicates) end
  if s.done_before > 0 then parts[#parts + 1] = format("%d done before", s.done_before) end
  if s.not_sent > 0 then parts[#parts + 1] = format("%d not sent", s.not_sent) end
  local tail = s.interrupted and format(", interrupted by SIG%s", s.interrupted) or ""
  self:warn(format("%s: %d IDs: %s in %s%s", s.command, s.total, concat(parts, ", "),
    M.duration(s.elapsed), tail))
end

return M
