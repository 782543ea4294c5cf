--- zoomlive.cli.run: works through the rows of a run, in input order.
--
--   local code, signal = run.rows(env, rows, how)
--
-- env = { out, o, kind, client, now, sleep, signals, exit_of, worst }
-- how = { batch = function(items, opts) -> results | nil,   -- update_many
--         one = function(row) -> result,                    -- one blocking call
--         text = function(rec) -> success text | nil,
--         done = set of IDs a report records as done | nil }
--
-- Rows go out in chunks of about a second's worth (--rate) so that a
-- signal is seen between chunks; within a chunk client:update_many paces
-- and overlaps the calls, and each record is written (stdout, --report) as
-- its result comes in (on_result), in input order. Rows that are bad,
-- listed twice, or done before get their record in their place.
local output = require "zoomlive.cli.output"

local ceil, max, min = math.ceil, math.max, math.min

local M = {}

M.CHUNK_SECONDS = 1     -- a chunk holds about this much sending at --rate
M.MAX_CHUNK = 256

local SIGNO = { INT = 2, TERM = 15, HUP = 1, QUIT = 3 }
M.SIGNO = SIGNO

local function record_of(env, row, r)
  local o = env.o
  local rec = { id = row.id, line = row.line, arg = row.arg, type = env.kind, command = o.command }
  if r then
    rec.ok = r.err == nil
    rec.status = r.status or (r.err and r.err.status)
    rec.tracking_id = r.info and r.info.tracking_id or (r.err and r.err.tracking_id)
    rec.error = r.err
    rec.config = r.config
    rec.join_token = r.join_token
  end
  return rec
end

function M.rows(env, rows, how)
  local out, o = env.out, env.o
  local t0 = env.now()
  local st = { total = #rows, ok = 0, failed = 0, bad = 0, duplicates = 0, done_before = 0, not_sent = 0 }
  local code = 0
  local sent_any = false
  local sendable = 0
  for _, row in ipairs(rows) do
    if row.id and not row.dup_of and not (how.done and how.done[row.id]) then sendable = sendable + 1 end
  end
  local rate = o.rate
  local chunk_max = min(M.MAX_CHUNK, max(o.concurrency * 2, ceil(rate * M.CHUNK_SECONDS)))
  local next_start = t0          -- pacing carried from one chunk to the next
  local finished = 0             -- sendable rows with an outcome
  local interrupted
  local emitted = 0              -- rows whose record is out

  local function progress(extra)
    local done = finished + (extra or 0)
    local el = env.now() - t0
    local r = el > 0.5 and done / el or nil
    out:progress { done = done, total = sendable, ok = st.ok, failed = st.failed, rate = r,
      left = r and r > 0 and (sendable - done) / r or nil }
  end

  -- the records of rows[emitted+1 .. upto]; results: row -> result
  local function emit(upto, results)
    for i = emitted + 1, upto do
      local row = rows[i]
      local rec
      if not row.id then
        rec = { row = output.printable(row.raw, 40), line = row.line, arg = row.arg, type = env.kind,
          command = o.command, ok = false, error = row.err }
        st.bad = st.bad + 1
        code = env.worst(code, row.arg and 2 or 1)
      elseif row.dup_of then
        rec = { id = row.id, line = row.line, arg = row.arg, type = env.kind, command = o.command,
          skipped = "duplicate", duplicate_of = rows[row.dup_of].line or row.dup_of }
        st.duplicates = st.duplicates + 1
      elseif how.done and how.done[row.id] then
        rec = { id = row.id, line = row.line, arg = row.arg, type = env.kind, command = o.command,
          skipped = "done" }
        st.done_before = st.done_before + 1
      elseif results[row] and not (results[row].err and results[row].err.kind == "cancelled"
          and not results[row].err.outcome_unknown and (results[row].err.attempts or 0) == 0) then
        -- (a row whose request was answered, then stopped while it waited to
        -- retry, is recorded with its error and attempts: it was sent)
        local r = results[row]
        rec = record_of(env, row, r)
        if r.err then
          st.failed = st.failed + 1
          code = env.worst(code, env.exit_of(r.err))
        else
          st.ok = st.ok + 1
        end
      else
        -- not reached before the signal, or stopped before its request left
        rec = record_of(env, row)
        rec.skipped = "not sent"
        st.not_sent = st.not_sent + 1
      end
      out:record(rec, o.json, rec.ok and how.text(rec) or nil)
    end
    emitted = upto
  end

  local results = {}
  local i = 1
  while i <= #rows do
    -- the next chunk: up to chunk_max sendable rows
    local chunk, last = {}, i - 1
    local j = i
    while j <= #rows and #chunk < chunk_max do
      local row = rows[j]
      if row.id and not row.dup_of and not (how.done and how.done[row.id]) then chunk[#chunk + 1] = row end
      last = j
      j = j + 1
    end
    interrupted = interrupted or env.signals.pending()
    if #chunk > 0 and not interrupted then
      local wait = next_start - env.now()
      if wait > 0 then env.sleep(wait) end
      interrupted = env.signals.pending()
    end
    if #chunk > 0 and not interrupted then
      sent_any = true
      local started = env.now()
      local attempts = #chunk
      -- (one row too: the batch honours the signal grace to the 0.1 s, where a
      -- single blocking call would wait for libcurl's 1 s progress tick)
      if how.batch and #chunk > 0 then
        local items = {}
        for k, row in ipairs(chunk) do items[k] = how.item(row) end
        -- each result is recorded as it comes (in input order: a record
        -- waits only for the rows before it in this chunk)
        local res, sum = how.batch(items, {
          concurrency = min(o.concurrency, #items), rate = rate,
          webinar = o.webinar or nil,
          on_progress = out.ctx.isatty("stderr") and function(done) progress(done) end or nil,
          on_result = function(k, r)
            results[chunk[k]] = r
            local u = emitted
            while u < last do
              local row = rows[u + 1]
              if row.id and not row.dup_of and not (how.done and how.done[row.id])
                  and not results[row] then break end
              u = u + 1
            end
            if u > emitted then emit(u, results) end
          end,
        })
        for k, row in ipairs(chunk) do
          local r = res and res[k]
          if type(r) ~= "table" then
            r = { err = env.missing_result() }
          end
          results[row] = r
        end
        if type(sum) == "table" and math.tointeger(sum.attempts) then attempts = max(sum.attempts, 1) end
        finished = finished + #chunk
      else
        for k, row in ipairs(chunk) do
          if k > 1 then
            local wait = started + (k - 1) / rate - env.now()
            if wait > 0 then env.sleep(wait) end
            if env.signals.pending() then
              interrupted = env.signals.pending()
              break
            end
          end
          results[row] = how.one(row)
          finished = finished + 1
          progress()
        end
      end
      next_start = started + attempts / rate
    end
    emit(last, results)
    progress()
    i = last + 1
  end
  out:clear()
  interrupted = interrupted or env.signals.pending()
  -- usage (2) only when the list had no good row at all: rows a report
  -- records as done, or listed twice, are good rows
  local good = false
  for _, row in ipairs(rows) do
    if row.id then good = true break end
  end
  if not sent_any and st.bad > 0 and not good then code = env.worst(code, 2) end
  st.elapsed = env.now() - t0
  st.interrupted = interrupted
  st.command = o.command
  if interrupted then code = 128 + (SIGNO[interrupted] or 0) end
  st.exit = code
  if #rows > 1 or o.from then out:summary(st, o.json) end
  return code, interrupted
end

return M
