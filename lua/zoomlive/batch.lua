--- zoomlive.batch: client:update_many(items, opts), many live-stream status
-- updates at once on curl's multi interface (zoomlive.core.multi).
--
--   local results, summary = client:update_many({
--     { 111, "start", { display_name = "Hall A" } },
--     { id = 222, action = "stop" },
--   }, { concurrency = 8, rate = 30, on_progress = function(done, total) end })
--
-- Every item is one client:update (or webinar_update): the same request
-- building, validation and pipeline (zoomlive.pipeline), each item run as a
-- coroutine. This module only schedules: up to `concurrency` requests in
-- flight on curl's multi interface, attempts paced at `rate`, a retry's wait
-- belonging to its item alone; it sleeps only in curl_multi_poll, until the
-- next due time. On a client with `loop`, the engine is the loop's driver
-- and an item's wait for a shared budget's Redis socket (transport.wait_fd)
-- is the batch's too: the engine watches the socket on the loop while the
-- other items go on. On a blocking client an item's Redis round trip waits
-- in the budget's own poll(2), bounded by its `timeout`.
--
-- results[i] = { status = n|nil, err = errtable|nil, info = { attempts,
--   elapsed, tracking_id, rate_limit } }, in input order; the error tables are
-- client:update's (same kinds, same fields, same __tostring).
-- summary = { total, ok, failed, elapsed, attempts, by_kind = { http = n, ... },
--   aborted = message|nil }
-- See docs/batch.md.
local core = require "zoomlive.core"
local errors = require "zoomlive.errors"
local request = require "zoomlive.request"
local pipeline = require "zoomlive.pipeline"

local type, format, tointeger = type, string.format, math.tointeger
local min, max, huge, ceil = math.min, math.max, math.huge, math.ceil
local argument = errors.argument
local create, resume, yield, costatus = coroutine.create, coroutine.resume, coroutine.yield,
  coroutine.status
local aborting = core.aborting

local M = {}

M.DEFAULT_CONCURRENCY = 8
M.MAX_CONCURRENCY = 256
-- Pacing may start a request this fraction of an interval early, to catch up
-- with the poll's millisecond granularity without drifting; never more.
local PACE_SLACK = 0.1

local OPTIONS = { concurrency = true, rate = true, on_progress = true, on_result = true,
  deadline = true, webinar = true }
local ITEM_KEYS = { id = true, action = true, settings = true, webinar = true,
  [1] = true, [2] = true, [3] = true }

local FNAME = "update_many"

local function typename(v)
  if v == nil then return "no value" end
  return type(v)
end

-- One item -> request, or nil, err: the same checks as client:update, and
-- an item's own keys checked as strictly as arguments.
local function prepare(item, webinar_default, encoding)
  if type(item) ~= "table" then
    return nil, argument("item", "must be a table {id, action, settings}, got " .. typename(item))
  end
  for k in pairs(item) do
    if not ITEM_KEYS[k] then
      return nil, argument("item." .. tostring(k), "unknown key; an item takes id, action, settings, webinar")
    end
  end
  local id, action, settings = item.id, item.action, item.settings
  if id == nil then id = item[1] end
  if action == nil then action = item[2] end
  if settings == nil then settings = item[3] end
  local webinar = item.webinar
  if webinar == nil then webinar = webinar_default
  elseif type(webinar) ~= "boolean" then
    return nil, argument("item.webinar", "must be a boolean, got " .. type(webinar))
  end
  local kind = webinar and "webinar" or "meeting"
  if type(id) ~= "number" and type(id) ~= "string" then
    return nil, argument(kind .. "_id", "must be a positive 64-bit integer, got " .. typename(id))
  end
  if type(action) ~= "string" then
    return nil, argument("action", "must be a string, got " .. typename(action))
  end
  if settings ~= nil and type(settings) ~= "table" then
    return nil, argument("settings", "must be a table, got " .. type(settings))
  end
  return request.status(kind, FNAME, id, action, settings, encoding)
end

local function check_opts(self, items, opts)
  if type(self) ~= "table" or not self._auth then
    error(format("bad argument #1 to '%s' (zoomlive.client expected, got %s)", FNAME, typename(self)), 4)
  end
  if not self._conn then error("attempt to use a closed zoomlive.client", 4) end
  if type(items) ~= "table" then
    error(format("bad argument #1 to '%s' (table expected, got %s)", FNAME, typename(items)), 4)
  end
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(format("bad argument #2 to '%s' (table expected, got %s)", FNAME, type(opts)), 4)
  end
  for k in pairs(opts) do
    if not OPTIONS[k] then error(format("%s: unknown option '%s'", FNAME, tostring(k)), 4) end
  end
  local conc = opts.concurrency
  if conc == nil then conc = M.DEFAULT_CONCURRENCY end
  if tointeger(conc) == nil or conc < 1 or conc > M.MAX_CONCURRENCY then
    error(format("%s: option 'concurrency' must be an integer from 1 to %d", FNAME, M.MAX_CONCURRENCY), 4)
  end
  local rate = opts.rate
  if rate == false then rate = nil end
  if rate ~= nil and (type(rate) ~= "number" or rate ~= rate or rate <= 0 or rate == huge) then
    error(FNAME .. ": option 'rate' must be a positive number of requests per second", 4)
  end
  for _, k in ipairs({ "on_progress", "on_result" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      error(FNAME .. ": option '" .. k .. "' must be a function", 4)
    end
  end
  local dl = opts.deadline
  if dl ~= nil and (type(dl) ~= "number" or dl ~= dl or dl <= 0 or dl == huge) then
    error(FNAME .. ": option 'deadline' must be a positive number of seconds", 4)
  end
  if opts.webinar ~= nil and type(opts.webinar) ~= "boolean" then
    error(FNAME .. ": option 'webinar' must be a boolean", 4)
  end
  return tointeger(conc), rate, opts.on_progress, dl, opts.webinar or false, opts.on_result
end

-- what an item's coroutine yields: the pipeline's transport, run by the batch
local SEND, SLEEP, WAIT_FD = 1, 2, 3
local function send(spec, token, timeout, deadline) return yield(SEND, spec, token, timeout, deadline) end
local function sleep(s) return yield(SLEEP, s) end
-- (a client with `loop`) true | false | nil, "cancelled", as transport.wait_fd
local function wait_fd(fd, events, s) return yield(WAIT_FD, fd, events, s) end
local CANCELLED = "cancelled"

--- client:update_many(items, opts) -> results, summary
function M.update_many(self, items, opts)
  local conc, rate, on_progress, batch_deadline, webinar, on_result = check_opts(self, items, opts)
  -- a client with `loop`: called from a coroutine the loop runs
  local lp = self._loop
  if lp then lp:check_waiter(FNAME, 3) end
  local now = self._now
  local t_batch = now()
  local total = #items
  local results = {}
  local done, ok_count, valid = 0, 0, 0
  local cos = {}                  -- item -> coroutine, while it runs
  -- FIFO of sends waiting for a slot and the pace (item, spec), with explicit ends
  local sendq, shead, stail = {}, 1, 0
  local specs = {}                -- item -> its pending spec
  -- item -> its pending attempt's token, timeout, call deadline (s from its send)
  -- and when it was queued (the call's deadline counts the time queued)
  local tokens, timeouts, deadlines, queued_at = {}, {}, {}, {}
  local due = {}                  -- item -> time its sleep ends
  local ndue = 0
  local fdw = {}                  -- item -> { fd, due, ready } while it waits for a Redis socket
  local nfdw = 0
  local m                         -- the engine, once made
  local notyet, nhead, ntail = {}, 1, 0   -- items not begun, input order
  local by_slot = {}              -- slot -> item
  local inflight = 0

  local result_raised        -- what on_result raised, if it did: the batch then ends
  local function finish(i, status, err, info)
    local r = { status = status, err = err, info = info }
    results[i] = r
    cos[i] = nil
    done = done + 1
    if err == nil then ok_count = ok_count + 1 end
    if on_result and not result_raised then
      local okr, rerr = pcall(on_result, i, r)
      if not okr then result_raised = tostring(rerr) end
    end
  end

  -- runs item i's coroutine until its next send or sleep, or its end
  local function step(i, ...)
    local co = cos[i]
    local ok, what, a, b, c, dl = resume(co, ...)
    if not ok then
      -- a fault inside the pipeline must not cost the batch its results
      return finish(i, nil, errors.new("aborted", { attempts = 0,
        message = "internal error: " .. tostring(what) }), { attempts = 0, elapsed = 0 })
    end
    if costatus(co) == "dead" then return finish(i, what, a, b) end
    if what == SEND then
      stail = stail + 1
      sendq[stail] = i
      specs[i], tokens[i], timeouts[i], deadlines[i], queued_at[i] = a, b, c, dl, now()
    elseif what == WAIT_FD then
      local w = { fd = a, due = now() + c }
      fdw[i] = w
      nfdw = nfdw + 1
      m:watch_fd(a, b, function() w.ready = true end)
    else
      due[i] = now() + a
      ndue = ndue + 1
    end
  end

  for i = 1, total do
    local okp, req, e = pcall(prepare, items[i], webinar, self.encoding)
    if not okp then req, e = nil, argument("item", tostring(req)) end
    if req then
      valid = valid + 1
      local tr = { item = i, send = send, sleep = sleep, wait_fd = lp and wait_fd or nil }
      cos[i] = create(function() return pipeline.run(self, req, tr) end)
    else
      finish(i, nil, e, { attempts = 0, elapsed = 0 })
    end
  end

  -- on a loop client, at most the loop's own concurrency runs at once
  if lp and lp.concurrency and lp.concurrency < conc then conc = lp.concurrency end
  if batch_deadline == nil then
    -- every item may use its whole deadline, `concurrency` at a time, plus
    -- the pacing of every attempt it may make
    batch_deadline = self._deadline * max(1, ceil(valid / conc))
      + (rate and valid * (self._retries + 1) / rate or 0)
  end
  local batch_end = t_batch + batch_deadline
  local interval = rate and 1 / rate
  local pace_next                 -- earliest start of the next attempt
  local aborted

  if valid > 0 then
    local co = self._conn_opts
    -- core.multi, or (a client with `loop`) the same interface over the
    -- client's driver on the host's loop: m:wait yields to the loop
    local engine <close> = lp and lp:engine() or core.multi {
      concurrency = min(conc, valid), timeout = self._timeout,
      connect_timeout = self._connect_timeout, user_agent = co.user_agent,
      cainfo = co.cainfo, capath = co.capath, insecure = self.insecure,
      fresh_handles = co.fresh_handles,
    }
    m = engine
    conc = min(conc, valid)

    -- ends item i's wait for a Redis socket: true (ready), false (its time
    -- ran out) or nil, "cancelled"
    local function end_fd_wait(i, ...)
      local w = fdw[i]
      fdw[i] = nil
      nfdw = nfdw - 1
      m:unwatch_fd(w.fd)
      step(i, ...)
    end

    -- ends every unfinished item through its own pipeline, with a stop value
    -- (keep_inflight: the transfers running are left to end by themselves)
    local function stop_all(kind, message_of, keep_inflight)
      -- an item waiting for Redis abandons that round trip and goes on to
      -- its next send or sleep (ended below), or asks Redis again
      for _ = 1, 10 do
        if nfdw == 0 then break end
        local waiting = {}
        for i in pairs(fdw) do waiting[#waiting + 1] = i end
        for _, i in ipairs(waiting) do end_fd_wait(i, nil, CANCELLED) end
      end
      if not keep_inflight then
        for slot, i in pairs(by_slot) do
          -- whether its bytes may have left: a transfer waiting for a
          -- connection (the loop's driver queues past its concurrency) sent none
          local sent, waiting = m:cancel(slot)
          sent = sent ~= false
          by_slot[slot] = nil
          step(i, { kind = kind, final = true, sent = sent, queued = waiting or nil,
            message = message_of(sent and "in flight" or "not sent") })
        end
        inflight = 0
      end
      for k = shead, stail do
        local i = sendq[k]
        sendq[k] = nil
        specs[i], tokens[i], timeouts[i], deadlines[i], queued_at[i] = nil, nil, nil, nil, nil
        if cos[i] then
          step(i, { kind = kind, final = true, sent = false, queued = true, message = message_of("not sent") })
        end
      end
      shead = stail + 1
      for i in pairs(due) do
        due[i] = nil
        if cos[i] then step(i, { kind = kind, final = true, message = message_of("waiting to retry") }) end
      end
      ndue = 0
      -- items not yet begun end without a request
      for k = nhead, ntail do
        local i = notyet[k]
        notyet[k] = nil
        local e = errors.new(kind, { attempts = 0, message = message_of("not sent") })
        -- a cancelled call always says whether a request may have left
        if kind == "cancelled" then e.outcome_unknown = false end
        finish(i, nil, e, { attempts = 0, elapsed = 0 })
      end
      nhead = ntail + 1
      sendq, shead, stail, ndue = {}, 1, 0, 0
    end

    -- items begin when a slot is free, so that each takes the token (and
    -- the pace) of the moment it is sent
    for i = 1, total do
      if cos[i] then
        ntail = ntail + 1
        notyet[ntail] = i
      end
    end

    local last_progress = -1
    local interrupted = false
    while done < total do
      -- the process is being interrupted (the core's abort: a trapped
      -- signal): nothing more is sent, and no pacing wait is waited out;
      -- the transfers running end by themselves (or by the core's abort)
      if not interrupted and aborting() then
        interrupted = true
        stop_all("cancelled", function(where)
          return "stopped before sending: the process is being interrupted (" .. where .. ")"
        end, true)
        if done >= total then break end
      end
      local t = now()
      if m.stop_reason then   -- the loop's call handle was cancelled
        stop_all("cancelled", function(where)
          return format("batch cancelled (this item %s)%s", where,
            where == "in flight" and ": the request may have reached Zoom" or "")
        end)
        break
      end
      if t >= batch_end then
        stop_all("timeout", function(where)
          return format("batch deadline of %g s reached (%s)", batch_deadline, where)
        end)
        break
      end
      -- Redis sockets ready, or waited for long enough
      if nfdw > 0 then
        local over = {}
        for i, w in pairs(fdw) do
          if w.ready or w.due <= t then over[#over + 1] = i end
        end
        for _, i in ipairs(over) do end_fd_wait(i, fdw[i].ready == true) end
      end
      -- sleeps that are over, earliest first
      if ndue > 0 then
        local ready = {}
        for i, d in pairs(due) do
          if d <= t then ready[#ready + 1] = i end
        end
        if #ready > 0 then
          table.sort(ready, function(a, b) return due[a] < due[b] end)
          for _, i in ipairs(ready) do
            due[i] = nil
            ndue = ndue - 1
            step(i)
          end
        end
      end
      -- waiting sends whose call deadline passed in the queue end there,
      -- nothing sent, whatever the slots and the pace
      if shead <= stail then
        local tq, kept = now(), shead - 1
        for k = shead, stail do
          local i = sendq[k]
          sendq[k] = nil
          local left = deadlines[i]
          if left and left - (tq - queued_at[i]) <= 0 then
            specs[i], tokens[i], timeouts[i], deadlines[i], queued_at[i] = nil, nil, nil, nil, nil
            step(i, { kind = "timeout", curl_code = 28, sent = false, queued = true,
              message = "deadline reached waiting for a free slot or the pace: nothing sent" })
          else
            kept = kept + 1
            sendq[kept] = i
          end
        end
        stail = kept
      end
      -- start what may start: a free slot, a waiting send (else a new item),
      -- the pace allowing (a new item begins only when it may send at once:
      -- its deadline does not run while it waits for the pace)
      while inflight < conc do
        if shead <= stail then
          if interval and pace_next and now() < pace_next then break end
          local i = sendq[shead]
          sendq[shead] = nil
          shead = shead + 1
          local spec, token, timeout, left = specs[i], tokens[i], timeouts[i], deadlines[i]
          -- the call's deadline counts the time queued for a slot or the pace
          if left then
            left = left - (now() - queued_at[i])
            if timeout and timeout > left then timeout = left end
          end
          specs[i], tokens[i], timeouts[i], deadlines[i], queued_at[i] = nil, nil, nil, nil, nil
          if left and left <= 0 then
            step(i, { kind = "timeout", curl_code = 28, sent = false, queued = true,
              message = "deadline reached waiting for a free slot or the pace: nothing sent" })
          else
            if interval then
              local tt = now()
              pace_next = max(pace_next or tt, tt - PACE_SLACK * interval) + interval
            end
            by_slot[m:submit(spec, token, timeout, left)] = i
            inflight = inflight + 1
          end
        elseif nhead <= ntail then
          if interval and pace_next and now() < pace_next then break end
          local i = notyet[nhead]
          notyet[nhead] = nil
          nhead = nhead + 1
          step(i)              -- up to its first send, sleep or end
        else
          break
        end
      end
      -- wait for a transfer, the next sleep's end, the next pacing slot or the end
      if done < total then
        local wake = batch_end
        for _, d in pairs(due) do
          if d < wake then wake = d end
        end
        for _, w in pairs(fdw) do
          if w.ready then wake = t elseif w.due < wake then wake = w.due end
        end
        if inflight < conc and (shead <= stail or nhead <= ntail) and pace_next and pace_next < wake then
          wake = pace_next
        end
        -- a waiting send's deadline
        for k = shead, stail do
          local i = sendq[k]
          local left = deadlines[i]
          if left and queued_at[i] + left < wake then wake = queued_at[i] + left end
        end
        if inflight > 0 or wake > now() then m:wait(max(0, wake - now())) end
        while true do
          local slot, r = m:take()
          if not slot then break end
          local i = by_slot[slot]
          by_slot[slot] = nil
          inflight = inflight - 1
          step(i, r)
        end
      end
      -- a callback that raised ends the batch: the rest is aborted
      if not result_raised and on_progress and done ~= last_progress then
        last_progress = done
        local okp, perr = pcall(on_progress, done, total)
        if not okp then aborted = "on_progress raised: " .. tostring(perr) end
      end
      if result_raised then aborted = "on_result raised: " .. result_raised end
      if aborted then
        stop_all("aborted", function(where)
          return format("batch aborted (%s) with this item %s%s", aborted, where,
            where == "in flight" and ": its outcome is unknown" or "")
        end)
        break
      end
    end
  end
  if on_progress and valid == 0 and total > 0 and not aborted then
    local okp, perr = pcall(on_progress, done, total)
    if not okp then aborted = "on_progress raised: " .. tostring(perr) end
  end

  local by_kind, attempts = {}, 0
  for i = 1, total do
    local r = results[i]
    attempts = attempts + r.info.attempts
    if r.err then by_kind[r.err.kind] = (by_kind[r.err.kind] or 0) + 1 end
  end
  return results, {
    total = total, ok = ok_count, failed = total - ok_count, elapsed = now() - t_batch,
    attempts = attempts, by_kind = by_kind, aborted = aborted,
  }
end

--- Hooks update_many into the client class and the module (init.lua calls it).
function M.install(Client, zl)
  Client.update_many = M.update_many
  if zl then
    zl.update_many = function(items, opts) return M.update_many(zl.default(), items, opts) end
  end
  return M
end

return M
