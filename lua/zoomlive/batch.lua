--- zoomlive.batch: client:update_many(items, opts), many live-stream status
-- updates at once on curl's multi interface (zoomlive.core.multi).
--
--   local results, summary = client:update_many({
--     { 111, "start", { display_name = "Hall A" } },
--     { id = 222, action = "stop" },
--   }, { concurrency = 8, rate = 30, on_progress = function(done, total) end })
--
-- Every item is one client:update (or webinar_update), with the client's
-- validation, encoding, retry policy and budgets; what differs is that up to
-- `concurrency` requests are in flight together and that a retry's wait
-- belongs to its item alone: the driver keeps the others going and sleeps
-- only in curl_multi_poll, until the next due time.
--
-- results[i] = { status = n|nil, err = errtable|nil, info = { attempts,
--   elapsed, tracking_id, rate_limit } }, in input order; the error tables are
-- client:update's (same kinds, same fields, same __tostring).
-- summary = { total, ok, failed, elapsed, attempts, by_kind = { http = n, ... },
--   aborted = message|nil }
-- See docs/batch.md.
local core = require "zoomlive.core"
local client = require "zoomlive.client"
local errors = require "zoomlive.errors"
local validate = require "zoomlive.validate"
local policy = require "zoomlive.policy"

local now, type, format, tointeger = core.now, type, string.format, math.tointeger
local min, max, huge, ceil = math.min, math.max, math.huge, math.ceil
local http_error, argument = client.http_error, errors.argument

local M = {}

M.DEFAULT_CONCURRENCY = 8
M.MAX_CONCURRENCY = 256
-- Pacing may start a request this fraction of an interval early, to catch up
-- with the poll's millisecond granularity without drifting; never more.
local PACE_SLACK = 0.1

local OPTIONS = { concurrency = true, rate = true, on_progress = true, deadline = true, webinar = true }

local FNAME = "update_many"

local function rate_limit(cat, typ, lim, rem)
  if not (cat or typ or lim or rem) then return nil end
  return { category = cat, type = typ, limit = tonumber(lim), remaining = tonumber(rem) }
end

local function typename(v)
  if v == nil then return "no value" end
  return type(v)
end

-- One item -> request (path, action, settings JSON, JSON body), or nil, err.
-- Value checks are zoomlive.validate's, exactly as client:update makes them;
-- the type checks that raise there are turned into this item's error here.
local function prepare(item, webinar_default)
  if type(item) ~= "table" then
    return nil, argument("item", "must be a table {id, action, settings}, got " .. typename(item))
  end
  local id, action, settings = item.id, item.action, item.settings
  if id == nil then id = item[1] end
  if action == nil then action = item[2] end
  if settings == nil then settings = item[3] end
  local webinar = item.webinar
  if webinar == nil then webinar = webinar_default end
  local kind = webinar and "webinar" or "meeting"
  local field = kind .. "_id"
  if type(id) ~= "number" and type(id) ~= "string" then
    return nil, argument(field, "must be a positive 64-bit integer, got " .. typename(id))
  end
  local sid, e = validate.id(id, field, FNAME, 1)
  if not sid then return nil, e end
  if type(action) ~= "string" then
    return nil, argument("action", "must be a string, got " .. typename(action))
  end
  local a
  a, e = validate.action(action, kind, FNAME)
  if not a then return nil, e end
  if settings ~= nil and type(settings) ~= "table" then
    return nil, argument("settings", "must be a table, got " .. type(settings))
  end
  local sj
  sj, e = validate.settings(settings, kind, FNAME, a)
  if e then return nil, e end
  return {
    path = "/" .. kind .. "s/" .. sid .. "/livestream/status",
    action = a,
    settings_json = sj,
    -- the JSON encoding, as Client:_call builds it
    json = sj and ('{"action":"' .. a .. '","settings":' .. sj .. "}") or ('{"action":"' .. a .. '"}'),
  }
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
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    error(FNAME .. ": option 'on_progress' must be a function", 4)
  end
  local dl = opts.deadline
  if dl ~= nil and (type(dl) ~= "number" or dl ~= dl or dl <= 0 or dl == huge) then
    error(FNAME .. ": option 'deadline' must be a positive number of seconds", 4)
  end
  return tointeger(conc), rate, opts.on_progress, dl, opts.webinar and true or false
end

--- client:update_many(items, opts) -> results, summary
function M.update_many(self, items, opts)
  local conc, rate, on_progress, batch_deadline, webinar = check_opts(self, items, opts)
  local t_batch = now()
  local total = #items
  local results = {}
  local st = {}             -- per item: req, attempts, t0, deadline, renewed, token, due, info
  -- FIFOs with explicit ends (# is unreliable once the head is cleared)
  local ready, rhead, rtail = {}, 1, 0   -- fresh items, input order
  local again, ahead, atail = {}, 1, 0   -- items whose retry is due (served first)
  local waiting = {}              -- items waiting for a retry: set i -> true
  local nwaiting = 0
  local done, ok_count = 0, 0
  local valid = 0

  local function finish(i, status, err)
    local s = st[i]
    local info = s.info
    info.attempts = s.attempts
    info.elapsed = s.t0 and (now() - s.t0) or 0
    results[i] = { status = status, err = err, info = info }
    done = done + 1
    if err == nil then ok_count = ok_count + 1 end
  end

  for i = 1, total do
    local okp, req, e = pcall(prepare, items[i], webinar)
    if not okp then req, e = nil, argument("item", tostring(req)) end
    st[i] = { req = req, attempts = 0, info = {} }
    if req then
      valid = valid + 1
      rtail = rtail + 1
      ready[rtail] = i
    else
      finish(i, nil, e)
    end
  end

  if batch_deadline == nil then
    -- every item may use its whole deadline, `concurrency` at a time, plus
    -- the pacing of every attempt it may make
    batch_deadline = self._deadline * max(1, ceil(valid / conc))
      + (rate and valid * (self._retries + 1) / rate or 0)
  end
  local batch_end = t_batch + batch_deadline

  local form = self.encoding == "multipart"
  local debug = self._debug
  local auth = self._auth
  local timeout, deadline_s = self._timeout, self._deadline
  local retries, max_wait, backoff = self._retries, self._max_retry_wait, self._backoff
  local co = self._conn_opts

  local inflight = 0
  local by_slot = {}              -- slot -> item index
  local sent = 0                  -- attempts dispatched (pacing counts them all)
  local pace_next = nil           -- earliest start of the next attempt
  local interval = rate and 1 / rate
  local renewed_batch, renew_ok = false, false
  local aborted

  if valid == 0 then goto out end
  do
    local m <close> = core.multi {
      concurrency = min(conc, valid),
      timeout = timeout,
      connect_timeout = self._connect_timeout,
      user_agent = co.user_agent,
      cainfo = co.cainfo,
      capath = co.capath,
      insecure = self.insecure,
      fresh_handles = co.fresh_handles,
    }
    conc = min(conc, valid)

    -- 401 with code 124: one renewal for the whole batch; each item retries
    -- once, when the token it used is no longer the current one
    local function renew_for(stale)
      if not renewed_batch then
        renewed_batch = true
        renew_ok = auth.renew(stale) and true or false
        return renew_ok
      end
      if not renew_ok then return false end
      local cur = auth.token()
      return cur ~= nil and cur ~= stale
    end

    local function dispatch(i, token, base)
      local s = st[i]
      local t = now()
      if not s.t0 then
        s.t0 = t
        s.deadline = t + deadline_s
      end
      local remaining = min(s.deadline, batch_end) - t
      if remaining <= 0 then
        local msg = s.deadline <= batch_end and format("deadline of %g s reached", deadline_s)
          or format("batch deadline of %g s reached", batch_deadline)
        finish(i, nil, errors.new("timeout", { message = msg, attempts = s.attempts }))
        return
      end
      local tmo = timeout < remaining and timeout or remaining
      local req = s.req
      s.attempts = s.attempts + 1
      s.token = token
      sent = sent + 1
      if interval then pace_next = max(pace_next or t, t - PACE_SLACK * interval) + interval end
      local url = base .. req.path
      if debug then
        self:_trace { event = "request", item = i, attempt = s.attempts, method = "PATCH", url = url,
          content_type = form and "multipart/form-data" or "application/json",
          body = form and ("action=" .. req.action
            .. (req.settings_json and (" settings=" .. req.settings_json) or "")) or req.json }
      end
      local slot
      if form then
        if req.settings_json then
          slot = m:submit_form("PATCH", url, token, tmo, "action", req.action, "settings", req.settings_json)
        else
          slot = m:submit_form("PATCH", url, token, tmo, "action", req.action)
        end
      else
        slot = m:submit("PATCH", url, token, "application/json", req.json, tmo)
      end
      by_slot[slot] = i
      inflight = inflight + 1
    end

    -- one attempt's outcome: done, retry later, retry now (renewed token), fail
    local function complete(i, status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc)
      local s = st[i]
      local info = s.info
      if debug then
        if status then
          self:_trace { event = "response", item = i, attempt = s.attempts, status = status,
            tracking_id = tid, retry_after = ra, content_type = rctype, body = rbody }
        else
          self:_trace { event = "failure", item = i, attempt = s.attempts, kind = rbody,
            curl_code = tid, message = ra }
        end
      end
      if status and status >= 200 and status < 300 then
        info.tracking_id = tid
        info.rate_limit = rate_limit(cat, typ, lim, rem)
        if trunc then
          return finish(i, nil, errors.new("protocol", { status = status, tracking_id = tid,
            attempts = s.attempts, message = "response body exceeds the size cap" }))
        end
        return finish(i, status, nil)
      end
      local err, o
      if status then
        err = http_error(status, rbody, tid, rctype)
        err.rate_limit = rate_limit(cat, typ, lim, rem)
        info.tracking_id = tid
        info.rate_limit = err.rate_limit
        if status == 401 and err.code == 124 and not s.renewed then
          s.renewed = true
          if renew_for(s.token) then
            s.attempts = s.attempts - 1   -- the refreshed retry replaces this attempt
            atail = atail + 1
            again[atail] = i
            return
          end
        end
        o = { status = status, code = err.code, rl_type = typ, action = s.req.action,
          retry_after = ra and core.retry_after(ra) or nil }
      else
        -- rbody = kind, tid = curl code, ra = message, typ = status of a reply cut short
        err = errors.new(rbody, { curl_code = tid, message = ra, status = typ })
        o = { kind = rbody }
      end
      local verdict, wait = policy.decide(o, s.attempts - 1, backoff)
      if wait and (status == 429 or o.retry_after) then err.retry_after = wait end
      err.attempts = s.attempts
      local t = now()
      if verdict == "fail" or s.attempts > retries or wait > max_wait
          or t + wait >= s.deadline or t + wait >= batch_end then
        return finish(i, status, err)
      end
      s.due = t + wait
      s.last = { status, err }
      waiting[i] = true
      nwaiting = nwaiting + 1
    end

    -- ends every unfinished item with an error (deadline, abort)
    local function end_rest(make)
      for slot, i in pairs(by_slot) do
        m:cancel(slot)
        by_slot[slot] = nil
        finish(i, nil, make(i, "in flight"))
      end
      inflight = 0
      for i in pairs(waiting) do finish(i, nil, make(i, "waiting to retry")) end
      waiting, nwaiting = {}, 0
      for k = ahead, atail do finish(again[k], nil, make(again[k], "waiting to retry")) end
      ahead = atail + 1
      for k = rhead, rtail do finish(ready[k], nil, make(ready[k], "not sent")) end
      rhead = rtail + 1
    end

    local last_progress = -1
    while done < total do
      local t = now()
      if t >= batch_end then
        end_rest(function(i, where)
          return errors.new("timeout", { attempts = st[i].attempts,
            message = format("batch deadline of %g s reached (%s)", batch_deadline, where) })
        end)
        break
      end
      -- retries whose wait is over, earliest first
      if nwaiting > 0 then
        local due = {}
        for i in pairs(waiting) do
          if st[i].due <= t then due[#due + 1] = i end
        end
        if #due > 0 then
          table.sort(due, function(a, b) return st[a].due < st[b].due end)
          for _, i in ipairs(due) do
            waiting[i] = nil
            nwaiting = nwaiting - 1
            atail = atail + 1
            again[atail] = i
          end
        end
      end
      -- start what may start: a free slot, a due item, the pace allowing
      local pending = (atail - ahead + 1) + (rtail - rhead + 1)
      if pending > 0 and inflight < conc and (not pace_next or t >= pace_next) then
        local token, aerr = auth.token()
        if not token then
          -- every item about to start would get this same answer
          local function fail_auth(i)
            local e = setmetatable({}, getmetatable(aerr))
            for k, v in pairs(aerr) do e[k] = v end
            e.attempts = st[i].attempts
            finish(i, nil, e)
          end
          for k = ahead, atail do fail_auth(again[k]) end
          ahead = atail + 1
          for k = rhead, rtail do fail_auth(ready[k]) end
          rhead = rtail + 1
        else
          local base = self:base_url()
          while inflight < conc and (ahead <= atail or rhead <= rtail) do
            if pace_next and now() < pace_next then break end
            local i
            if ahead <= atail then
              i = again[ahead]
              again[ahead] = nil
              ahead = ahead + 1
            else
              i = ready[rhead]
              ready[rhead] = nil
              rhead = rhead + 1
            end
            dispatch(i, token, base)
          end
        end
      end
      -- wait for a transfer, the next retry, the next pacing slot or the end
      local wake = batch_end
      if nwaiting > 0 then
        for i in pairs(waiting) do
          if st[i].due < wake then wake = st[i].due end
        end
      end
      if inflight < conc and (ahead <= atail or rhead <= rtail) then
        wake = min(wake, pace_next or 0)
      end
      if done < total then
        m:wait(max(0, wake - now()))
        while true do
          local slot, status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc = m:take()
          if not slot then break end
          local i = by_slot[slot]
          by_slot[slot] = nil
          inflight = inflight - 1
          complete(i, status, rbody, tid, ra, cat, typ, lim, rem, rctype, trunc)
        end
      end
      if on_progress and done ~= last_progress then
        last_progress = done
        local okp, perr = pcall(on_progress, done, total)
        if not okp then
          aborted = "on_progress raised: " .. tostring(perr)
          end_rest(function(i, where)
            return errors.new("aborted", { attempts = st[i].attempts,
              message = format("batch aborted (%s) with this item %s%s", aborted, where,
                where == "in flight" and ": its outcome is unknown" or "") })
          end)
          break
        end
      end
    end
  end
  ::out::
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
