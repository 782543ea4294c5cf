--- Control Zoom live streams from Lua 5.4 through Zoom's REST API.
--
-- Every call returns `result, err, info`:
--
--  * a 2xx answer: `status, nil, info` (getters: `value, nil, info`);
--  * any other HTTP status: `status, err, info`, `err.kind == "http"`;
--  * no status: `nil, err, info`, `err.kind` one of `"transport"`,
--    `"timeout"`, `"argument"` (nothing was sent), `"auth"`, `"protocol"`.
--
-- `info = { attempts, elapsed, tracking_id, rate_limit }`. Error tables are
-- described in `zoomlive.errors`. Wrong argument *types* (settings given as a
-- number, a closed client) raise, as the standard library does. No error,
-- trace or `tostring` ever holds a token, a client secret or a stream key.
--
-- Ids are positive int64 meeting or webinar ids: a Lua integer, an integral
-- float or a digit string. Settings (`update`, `start`, `mode`):
-- `active_speaker_name` (boolean), `display_name` (1-50 characters),
-- `layout` (`"follow_host"`, `"gallery_view"`, `"speaker_view"`; meetings),
-- `close_caption` (`"burnt-in"`, `"embedded"`, `"off"`).
--
-- Zoom's API: `PATCH /meetings/{meetingId}/livestream/status`,
-- `GET`/`PATCH /meetings/{meetingId}/livestream` and their webinar twins.
-- @module zoomlive
-- @usage
-- local zoomlive = require "zoomlive"
-- local status, err, info = zoomlive.update(68423085, "start",
--   { active_speaker_name = false, display_name = "Town hall" })
-- if err then print(tostring(err), info.tracking_id) end
local core = require "zoomlive.core"
local client = require "zoomlive.client"
local validate = require "zoomlive.validate"
local errors = require "zoomlive.errors"

local M = {
  --- `"zoomlive x.y.z"`: the name and version (from the file VERSION).
  _VERSION = "zoomlive " .. core.version,
  --- `"x.y.z"`: the version alone.
  version = core.version,
  --- the version of the libcurl in use, e.g. `"7.88.1"`.
  curl_version = core.curl_version,
  --- the error tables' module, `zoomlive.errors`.
  errors = errors,
}


local Client = client.Client
local vid = validate.id
local format = string.format

--- A client: its own reused connection, credentials and retry policy.
-- Every option is optional; an unknown option name, or a value of the wrong
-- type or range, raises. The client is closed by `client:close()`, by `<close>`
-- or by the garbage collector.
-- @tparam[opt] table opts options:
--
--  * `token`: a bearer token string, or a provider `function(stale) -> token[, expires_at]`
--    (default: env `ZOOM_ACCESS_TOKEN`);
--  * `account_id`, `client_id`, `client_secret`: Server-to-Server OAuth
--    (default: env `ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID`, `ZOOM_CLIENT_SECRET`);
--    `oauth_url` (default `https://zoom.us/oauth/token`), `refresh_margin` (60 s);
--  * `base_url` (default: env `ZOOM_API_BASE`, else the token's `api_url`,
--    else `https://api.zoom.us/v2`);
--  * `encoding`: `"json"` (default) or `"multipart"`;
--  * `timeout` (30 s), `connect_timeout` (10 s): per attempt;
--  * `retries` (2), `backoff` (`{base = 0.5, cap = 8}`), `max_retry_wait`
--    (10 s), `deadline` (seconds for a whole call), `sleep` (`function(seconds)`),
--    `now` (monotonic seconds) and `time` (Unix seconds) functions;
--  * `loop`: `"luv"`, `"cqueues"` or an adapter table, for calls inside an
--    event loop (docs/loop.md); `concurrency` (requests in flight on it, 16);
--  * `budget`: a rate budget every attempt takes a slot from: `{rate =, burst =}`,
--    plus `store = "redis://host:port/db"` (and `key`, `share`, `password`) to
--    share it with every process of the account, or a budget object (docs/fleet.md);
--    with `loop`, Redis is waited for on the loop only, and the store's host
--    must be an IP address or `localhost` (a name raises: its look-up blocks);
--  * `user_agent`, `cainfo`, `capath`, `insecure` (turns TLS verification off),
--    `allow_http` (plain http to non-loopback hosts), `debug` (`function(event)`
--    receiving a redacted trace).
-- @treturn Client a new client
-- @raise on an unknown option or a bad option value
-- @usage
-- local client <close> = zoomlive.new {
--   token = os.getenv("ZOOM_ACCESS_TOKEN"), encoding = "multipart", timeout = 10 }
function M.new(opts)
  return client.new(opts)
end

--- A client, made by `zoomlive.new` (the class is in zoomlive.client; its
-- methods are documented here). Its calls follow the module's return
-- contract; the module functions of the same names call them on the default
-- client.
-- @section Client

--- Starts, stops or changes a meeting's live stream: Zoom's *Update a live
-- stream's status*, `PATCH /meetings/{meetingId}/livestream/status`.
-- Validated before sending; retried as the client's policy says.
-- @function Client:update
-- @param id the meeting id (integer, integral float or digit string)
-- @tparam string action `"start"`, `"stop"` or `"mode"` (exactly; `"Start"` is refused)
-- @tparam[opt] table settings `active_speaker_name`, `display_name`, `layout`,
-- `close_caption`; `mode` needs `layout` or `close_caption` and takes nothing else
-- @treturn[1] integer the HTTP status (204), `nil`, info
-- @treturn[2] integer another HTTP status, an error of kind `"http"`, info
-- @treturn[3] nil `nil`, an error (`"transport"`, `"timeout"`, `"argument"`, `"auth"`), info
-- @raise when settings is neither nil nor a table, or the client is closed
-- @usage
-- local status, err = client:update(68423085, "start", { display_name = "Town hall" })
-- if err then io.stderr:write(tostring(err), "\n") end

--- Starts a meeting's live stream: `client:update(id, "start", settings)`.
-- @function Client:start
-- @param id the meeting id
-- @tparam[opt] table settings as for `update`
-- @return status, err, info as for `update`
-- @usage zoomlive.assert(client:start(68423085, { active_speaker_name = false }))

--- Stops a meeting's live stream: `client:update(id, "stop")`.
-- @function Client:stop
-- @param id the meeting id
-- @return status, err, info as for `update`
-- @usage local status, err = client:stop(68423085)

--- Changes a running stream's `layout` or `close_caption`: `client:update(id, "mode", settings)`.
-- @function Client:mode
-- @param id the meeting id
-- @tparam table settings `layout` and/or `close_caption`, nothing else
-- @return status, err, info as for `update`
-- @usage client:mode(68423085, { layout = "gallery_view" })

--- Reads a meeting's live-stream configuration: `GET /meetings/{meetingId}/livestream`.
-- @function Client:get
-- @param id the meeting id
-- @treturn[1] table `{stream_url, stream_key, page_url, resolution}` (strings; absent ones nil), `nil`, info
-- @treturn[2] nil `nil`, an error (kind `"http"` with `err.status`, `"protocol"` for a body that
-- is not a JSON object, or any kind of `update`), info
-- @usage
-- local cfg, err = client:get(68423085)
-- if cfg then print(cfg.stream_url, cfg.page_url) end

--- Sets a meeting's live-stream configuration: `PATCH /meetings/{meetingId}/livestream`.
-- @function Client:configure
-- @param id the meeting id
-- @tparam table cfg `stream_url` (at most 1024 characters), `stream_key` (512),
-- `page_url` (an absolute URI, 1024), `resolution` (`"720p"`, `"1080p"`)
-- @return status, err, info as for `update`
-- @usage
-- client:configure(68423085, { stream_url = "rtmp://live.example.com/app",
--   stream_key = key, page_url = "https://example.com/live" })

--- A token that lets a bot built on Zoom's Meeting SDK join the meeting and
-- start its live stream: `GET /meetings/{meetingId}/jointoken/live_streaming`.
-- The token is a credential: keep it out of logs (zoomlive's traces show it as `***`).
-- @function Client:join_token
-- @param id the meeting id
-- @treturn[1] table `{token = string, expire_in = seconds}`, `nil`, info
-- @treturn[2] nil `nil`, an error (any kind of `get`), info
-- @usage
-- local jt, err = client:join_token(68423085)
-- if jt then sdk_join(jt.token) end

--- `update` for a webinar: `PATCH /webinars/{webinarId}/livestream/status`.
-- @function Client:webinar_update
-- @param id the webinar id
-- @tparam string action `"start"` or `"stop"` (webinars have no `"mode"`)
-- @tparam[opt] table settings `active_speaker_name`, `display_name`, `close_caption`
-- @return status, err, info as for `update`
-- @usage client:webinar_update(81234567890, "stop")

--- Starts a webinar's live stream.
-- @function Client:webinar_start
-- @param id the webinar id
-- @tparam[opt] table settings as for `webinar_update`
-- @return status, err, info as for `update`
-- @usage client:webinar_start(81234567890, { display_name = "Keynote" })

--- Stops a webinar's live stream.
-- @function Client:webinar_stop
-- @param id the webinar id
-- @return status, err, info as for `update`
-- @usage client:webinar_stop(81234567890)

--- Reads a webinar's live-stream configuration: `GET /webinars/{webinarId}/livestream`.
-- @function Client:webinar_get
-- @param id the webinar id
-- @return cfg, err, info as for `get`
-- @usage local cfg = assert(client:webinar_get(81234567890))

--- Sets a webinar's live-stream configuration: `PATCH /webinars/{webinarId}/livestream`.
-- @function Client:webinar_configure
-- @param id the webinar id
-- @tparam table cfg as for `configure`
-- @return status, err, info as for `update`
-- @usage client:webinar_configure(81234567890, { resolution = "1080p" })

--- `join_token` for a webinar: `GET /webinars/{webinarId}/jointoken/live_streaming`.
-- @function Client:webinar_join_token
-- @param id the webinar id
-- @return token, err, info as for `join_token`
-- @usage local jt = assert(client:webinar_join_token(81234567890))

--- Starts a call without waiting (a client made with `loop`): `on_done`
-- gets its results. See docs/loop.md.
-- @function Client:submit
-- @tparam string name the call: `"update"`, `"get"`, ..., `"update_many"`
-- @param ... the call's arguments, then `on_done(status, err, info)`
-- @treturn table a handle: `handle:cancel()` ends the call (`on_done` then gets
-- `nil` and an error of kind `"cancelled"`; `err.outcome_unknown` when a request
-- may have reached Zoom) and returns true if it was still running
-- @raise when the client has no loop, or on wrong argument types
-- @usage
-- local h = client:submit("update", 68423085, "start", { display_name = "Hall A" },
--   function(status, err, info) print(status, err) end)

--- Cancels the call a coroutine is waiting in (a call made directly in a
-- coroutine of a client made with `loop`, not through `submit`): the call
-- returns `nil` and an error of kind `"cancelled"` there.
-- @function Client:cancel
-- @tparam thread co the coroutine
-- @treturn boolean false when `co` waits in no call of this client
-- @raise when the client has no loop, or co is not a coroutine
-- @usage client:cancel(co)

--- Many `update`s at once on libcurl's multi interface, each with the
-- client's validation, encoding and retry policy; a bad item fails alone.
-- See docs/batch.md.
-- @function Client:update_many
-- @tparam table items a list; each `{id, action[, settings]}` or
-- `{id =, action =, settings =, webinar = bool}`
-- @tparam[opt] table opts `concurrency` (1-256, default 8), `rate` (attempts per
-- second, paced client-side), `on_progress` (`function(done, total)`),
-- `deadline` (seconds for the batch), `webinar` (every item a webinar)
-- @treturn table results, in input order: `{status =, err =, info =}` per item
-- @treturn table summary `{total, ok, failed, elapsed, attempts, by_kind, aborted}`
-- @raise when items or opts is not a table, or an option is unknown or out of range
-- @usage
-- local results, summary = client:update_many({ { 85746065432, "stop" },
--   { id = 93398114182, action = "start" } }, { concurrency = 8, rate = 30 })
-- print(summary.ok .. "/" .. summary.total)

--- Makes sure a token can be had now, before any call: a token or a
-- provider is asked, a Server-to-Server token is fetched (with the retries
-- of a call) unless one is cached.
-- @function Client:check_credentials
-- @treturn[1] boolean true
-- @treturn[2] nil `nil`, an error of kind `"auth"` (or the kind of the token
-- fetch's failure: `"transport"`, `"timeout"`, `"http"`)
-- @raise when the client is closed
-- @usage zoomlive.assert(client:check_credentials())

--- The client's rate budget (`zoomlive.budget`), made from the `budget`
-- option or given in it; every attempt takes a slot from it (docs/fleet.md).
-- @function Client:budget
-- @treturn ?table the budget object, or nil when the client has none
-- @usage local b = client:budget()

--- The base URL in force: the `base_url` option, else the regional `api_url`
-- of a Server-to-Server token, else `https://api.zoom.us/v2`.
-- @function Client:base_url
-- @treturn string the base URL, without a trailing slash
-- @usage print(client:base_url())

--- Releases the client's connection. Idempotent; `__close` and `__gc` call
-- it. A closed client raises on any call.
-- @function Client:close
-- @return nothing
-- @usage
-- local client = zoomlive.new {}
-- client:close()

local default

--- Functions of the module: the default client and helpers.
-- @section module

--- The default client, made from the environment (`zoomlive.new{}`) on
-- first use, or the one given to `set_default`; the module functions
-- (`zoomlive.update`, ...) use it.
-- @treturn Client the default client
-- @usage print(zoomlive.default():base_url())
function M.default()
  if not default or not default._conn then default = client.new({}) end
  return default
end

--- Replaces the default client.
-- @tparam[opt] Client c a client made by `zoomlive.new`, or nil (the next
-- use makes a new one from the environment)
-- @return nothing
-- @raise when c is neither nil nor a client
-- @usage zoomlive.set_default(zoomlive.new { encoding = "json" })
function M.set_default(c)
  if c ~= nil and getmetatable(c) ~= Client then
    error(format("bad argument #1 to 'set_default' (zoomlive.client expected, got %s)", type(c)), 2)
  end
  default = c
end

--- `update` on the default client.
-- @function update
-- @param id the meeting id
-- @tparam string action `"start"`, `"stop"` or `"mode"`
-- @tparam[opt] table settings
-- @return status, err, info as for `Client:update`
-- @usage local status, err, info = zoomlive.update(68423085, "start")

--- `start` on the default client.
-- @function start
-- @param id the meeting id
-- @tparam[opt] table settings
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.start(68423085, { display_name = "Town hall" })

--- `stop` on the default client.
-- @function stop
-- @param id the meeting id
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.stop(68423085)

--- `mode` on the default client.
-- @function mode
-- @param id the meeting id
-- @tparam table settings `layout` and/or `close_caption`
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.mode(68423085, { close_caption = "embedded" })

--- `get` on the default client.
-- @function get
-- @param id the meeting id
-- @return cfg, err, info as for `Client:get`
-- @usage local cfg, err = zoomlive.get(68423085)

--- `configure` on the default client.
-- @function configure
-- @param id the meeting id
-- @tparam table cfg as for `Client:configure`
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.configure(68423085, { resolution = "720p" })

--- `join_token` on the default client.
-- @function join_token
-- @param id the meeting id
-- @return token, err, info as for `Client:join_token`
-- @usage local jt, err = zoomlive.join_token(68423085)

--- `webinar_update` on the default client.
-- @function webinar_update
-- @param id the webinar id
-- @tparam string action `"start"` or `"stop"`
-- @tparam[opt] table settings
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.webinar_update(81234567890, "start")

--- `webinar_start` on the default client.
-- @function webinar_start
-- @param id the webinar id
-- @tparam[opt] table settings
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.webinar_start(81234567890)

--- `webinar_stop` on the default client.
-- @function webinar_stop
-- @param id the webinar id
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.webinar_stop(81234567890)

--- `webinar_get` on the default client.
-- @function webinar_get
-- @param id the webinar id
-- @return cfg, err, info as for `Client:get`
-- @usage local cfg = zoomlive.webinar_get(81234567890)

--- `webinar_configure` on the default client.
-- @function webinar_configure
-- @param id the webinar id
-- @tparam table cfg as for `Client:configure`
-- @return status, err, info as for `Client:update`
-- @usage zoomlive.webinar_configure(81234567890, { resolution = "1080p" })

--- `webinar_join_token` on the default client.
-- @function webinar_join_token
-- @param id the webinar id
-- @return token, err, info as for `Client:join_token`
-- @usage local jt, err = zoomlive.webinar_join_token(81234567890)

--- `update_many` on the default client.
-- @function update_many
-- @tparam table items as for `Client:update_many`
-- @tparam[opt] table opts
-- @return results, summary as for `Client:update_many`
-- @usage local results, summary = zoomlive.update_many({ { 68423085, "stop" } })

for _, name in ipairs(client.CALLS) do
  local method = Client[name]
  M[name] = function(...) return method(M.default(), ...) end
end

--- Raises the error when a call failed, HTTP errors included; otherwise
-- returns the call's results. Plain `assert()` misses HTTP errors: they come
-- back as `status, err`, and a status is a true value.
-- @param status a call's first result
-- @param err a call's second result: nil, or an error table
-- @param ... the rest of the call's results (info)
-- @return status, nil, ... when err is nil
-- @raise err itself (a table whose `tostring` is its one-line text)
-- @usage zoomlive.assert(client:stop(68423085))
function M.assert(status, err, ...)
  if err ~= nil then error(err, 2) end
  return status, err, ...
end

--- Normalises a meeting or webinar id to its digits, as the calls do before
-- sending.
-- @param v an integer, an integral float (`93398114182.0`) or a digit string
-- @treturn[1] string the digits, e.g. `"93398114182"`
-- @treturn[2] nil `nil`, an error of kind `"argument"` (`1.5`, `-3`, `0`, `"12a"`, `2^63`)
-- @usage assert(zoomlive.normalize_id(93398114182.0) == "93398114182")
function M.normalize_id(v)
  return vid(v, "id", "normalize_id", 1)
end

require("zoomlive.batch").install(Client, M)
return M
