---@meta zoomlive
-- LuaLS definitions of zoomlive's API, for editor completion and checks.
-- Add this directory to the workspace library (.luarc.json):
--   { "workspace.library": ["/path/to/zoomlive/types"] }
-- tests/doc_check.lua fails when a public function is missing here.

---@alias zoomlive.Id integer|number|string   a positive int64: integer, integral float or digit string
---@alias zoomlive.Action "start"|"stop"|"mode"
---@alias zoomlive.ErrorKind "http"|"transport"|"timeout"|"argument"|"auth"|"protocol"|"aborted"|"cancelled"|"webhook"

---@class zoomlive.Settings
---@field active_speaker_name? boolean
---@field display_name? string 1-50 characters
---@field layout? "follow_host"|"gallery_view"|"speaker_view" meetings only
---@field close_caption? "burnt-in"|"embedded"|"off"

---@class zoomlive.StreamConfig
---@field stream_url? string at most 1024 characters
---@field stream_key? string at most 512 characters
---@field page_url? string an absolute URI, at most 1024 characters
---@field resolution? "720p"|"1080p"

---@class zoomlive.RateLimit
---@field category? string X-RateLimit-Category
---@field type? string X-RateLimit-Type ("QPS", "Daily-limit", ...)
---@field limit? integer
---@field remaining? integer

---@class zoomlive.Info
---@field attempts integer requests sent for the call
---@field elapsed number seconds
---@field tracking_id? string Zoom's x-zm-trackingid
---@field rate_limit? zoomlive.RateLimit

---@class zoomlive.Error
---@field kind zoomlive.ErrorKind
---@field message? string
---@field status? integer the HTTP status (kind "http")
---@field code? integer Zoom's error code
---@field errors? table Zoom's field errors
---@field tracking_id? string
---@field body? string the raw body, capped at 64 KiB
---@field rate_limit? zoomlive.RateLimit
---@field retry_after? number seconds
---@field attempts? integer
---@field curl_code? integer libcurl's code (kinds "transport", "timeout")
---@field field? string the wrong value's name (kind "argument")
---@field reason? string why zoomlive.webhook refused a delivery (kind "webhook")
---@field outcome_unknown? boolean an attempt's request left but its answer was lost: Zoom may have applied it

---@class zoomlive.Options
---@field token? string|fun(stale: string?): string?, number? a bearer token or a provider
---@field account_id? string Server-to-Server OAuth
---@field client_id? string
---@field client_secret? string
---@field oauth_url? string default https://zoom.us/oauth/token
---@field refresh_margin? number seconds, default 60
---@field base_url? string default env ZOOM_API_BASE, else https://api.zoom.us/v2
---@field encoding? "json"|"multipart" default "json"
---@field timeout? number seconds per attempt, default 30
---@field connect_timeout? number seconds, default 10
---@field retries? integer default 2
---@field backoff? {base: number, cap: number}
---@field max_retry_wait? number seconds, default 10
---@field deadline? number seconds for a whole call
---@field sleep? fun(seconds: number)
---@field now? fun(): number monotonic seconds
---@field time? fun(): number Unix seconds
---@field loop? "luv"|"cqueues"|table an event loop for the client's calls (docs/loop.md)
---@field concurrency? integer requests in flight on the loop, default 16
---@field budget? table|{rate: number, burst?: number, store?: string, key?: string, share?: number, password?: string} a rate budget (docs/fleet.md)
---@field user_agent? string
---@field cainfo? string
---@field capath? string
---@field insecure? boolean turns TLS verification off
---@field allow_http? boolean plain http to non-loopback hosts
---@field debug? fun(event: table)

---@class zoomlive.BatchItem
---@field [1]? zoomlive.Id
---@field [2]? zoomlive.Action
---@field [3]? zoomlive.Settings
---@field id? zoomlive.Id
---@field action? zoomlive.Action
---@field settings? zoomlive.Settings
---@field webinar? boolean

---@class zoomlive.BatchOptions
---@field concurrency? integer 1-256, default 8
---@field rate? number attempts per second
---@field on_progress? fun(done: integer, total: integer)
---@field deadline? number seconds for the batch
---@field webinar? boolean

---@class zoomlive.BatchResult
---@field status? integer
---@field err? zoomlive.Error
---@field info zoomlive.Info

---@class zoomlive.BatchSummary
---@field total integer
---@field ok integer
---@field failed integer
---@field elapsed number
---@field attempts integer
---@field by_kind table<string, integer>
---@field aborted? string

---A client: made by zoomlive.new.
---@class zoomlive.Client
local Client = {}

---Starts, stops or changes a meeting's live stream (PATCH /meetings/{id}/livestream/status).
---@param id zoomlive.Id
---@param action zoomlive.Action
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:update(id, action, settings) end

---@param id zoomlive.Id
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:start(id, settings) end

---@param id zoomlive.Id
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:stop(id) end

---@param id zoomlive.Id
---@param settings zoomlive.Settings layout and/or close_caption
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:mode(id, settings) end

---@param id zoomlive.Id
---@return zoomlive.StreamConfig? cfg
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:get(id) end

---@param id zoomlive.Id
---@param cfg zoomlive.StreamConfig
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:configure(id, cfg) end

---@param id zoomlive.Id
---@param action "start"|"stop"
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:webinar_update(id, action, settings) end

---@param id zoomlive.Id
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:webinar_start(id, settings) end

---@param id zoomlive.Id
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:webinar_stop(id) end

---@param id zoomlive.Id
---@return zoomlive.StreamConfig? cfg
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:webinar_get(id) end

---@param id zoomlive.Id
---@param cfg zoomlive.StreamConfig
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:webinar_configure(id, cfg) end

---@class zoomlive.JoinToken
---@field token string a credential: keep it out of logs
---@field expire_in number seconds

---A token for a Meeting SDK bot to join and start the live stream.
---@param id zoomlive.Id
---@return zoomlive.JoinToken? token
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:join_token(id) end

---@param id zoomlive.Id
---@return zoomlive.JoinToken? token
---@return zoomlive.Error? err
---@return zoomlive.Info info
function Client:webinar_join_token(id) end

---@class zoomlive.Handle
---@field cancel fun(self: zoomlive.Handle): boolean

---Starts a call without waiting (a client made with `loop`); the last argument is on_done(status, err, info).
---@param name string "update", "get", ..., "update_many"
---@param ... any the call's arguments, then on_done
---@return zoomlive.Handle
function Client:submit(name, ...) end

---Cancels the call a coroutine waits in (a client made with `loop`).
---@param co thread
---@return boolean
function Client:cancel(co) end

---Many updates at once on libcurl's multi interface.
---@param items zoomlive.BatchItem[]
---@param opts? zoomlive.BatchOptions
---@return zoomlive.BatchResult[] results
---@return zoomlive.BatchSummary summary
function Client:update_many(items, opts) end

---Makes sure a token can be had now (fetches a Server-to-Server token unless one is cached).
---@return true? ok
---@return zoomlive.Error? err
function Client:check_credentials() end

---The client's rate budget (zoomlive.budget), or nil.
---@return table? budget
function Client:budget() end

---@return string base_url
function Client:base_url() end

---Releases the connection; idempotent.
function Client:close() end

---@class zoomlive
---@field _VERSION string "zoomlive x.y.z"
---@field version string "x.y.z"
---@field curl_version string
---@field errors zoomlive.errors
local zoomlive = {}

---A client with its own connection, credentials and retry policy.
---@param opts? zoomlive.Options
---@return zoomlive.Client
function zoomlive.new(opts) end

---The default client, made from the environment on first use.
---@return zoomlive.Client
function zoomlive.default() end

---@param c? zoomlive.Client
function zoomlive.set_default(c) end

---@param id zoomlive.Id
---@param action zoomlive.Action
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.update(id, action, settings) end

---@param id zoomlive.Id
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.start(id, settings) end

---@param id zoomlive.Id
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.stop(id) end

---@param id zoomlive.Id
---@param settings zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.mode(id, settings) end

---@param id zoomlive.Id
---@return zoomlive.StreamConfig? cfg
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.get(id) end

---@param id zoomlive.Id
---@param cfg zoomlive.StreamConfig
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.configure(id, cfg) end

---@param id zoomlive.Id
---@param action "start"|"stop"
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.webinar_update(id, action, settings) end

---@param id zoomlive.Id
---@param settings? zoomlive.Settings
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.webinar_start(id, settings) end

---@param id zoomlive.Id
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.webinar_stop(id) end

---@param id zoomlive.Id
---@return zoomlive.StreamConfig? cfg
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.webinar_get(id) end

---@param id zoomlive.Id
---@param cfg zoomlive.StreamConfig
---@return integer? status
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.webinar_configure(id, cfg) end

---@param items zoomlive.BatchItem[]
---@param opts? zoomlive.BatchOptions
---@return zoomlive.BatchResult[] results
---@return zoomlive.BatchSummary summary
function zoomlive.update_many(items, opts) end

---@param id zoomlive.Id
---@return zoomlive.JoinToken? token
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.join_token(id) end

---@param id zoomlive.Id
---@return zoomlive.JoinToken? token
---@return zoomlive.Error? err
---@return zoomlive.Info info
function zoomlive.webinar_join_token(id) end

---Raises err when a call failed (HTTP errors included); otherwise returns the call's results.
---@generic T
---@param status T
---@param err? zoomlive.Error
---@param ... any
---@return T
function zoomlive.assert(status, err, ...) end

---@param v zoomlive.Id
---@return string? digits
---@return zoomlive.Error? err
function zoomlive.normalize_id(v) end

---@class zoomlive.errors
---@field metatable table
---@field MESSAGE_MAX integer
---@field LINE_MAX integer
local errors = {}

---@param kind zoomlive.ErrorKind
---@param t? table
---@return zoomlive.Error
function errors.new(kind, t) end

---@param field string
---@param message string
---@return zoomlive.Error
function errors.argument(field, message) end

---@param v any
---@return boolean
function errors.is(v) end

---@param s any
---@param max? integer
---@return string
function errors.text(s, max) end

---@param list table
---@return {field: string?, message: string?}[]
function errors.details(list) end

---@class zoomlive.testing.Options
---@field exe? string
---@field args? string[]
---@field token? string
---@field port? integer
---@field qps? number
---@field daily? integer
---@field fixtures? string
---@field token_ttl? number
---@field start_cooldown? number
---@field client_id? string
---@field client_secret? string
---@field account_id? string
---@field api_url? string
---@field tls_cert? string
---@field tls_key? string
---@field bind? string
---@field seed? integer
---@field any_meeting? boolean
---@field invalidate_old_tokens? boolean
---@field no_ratelimit_headers? boolean
---@field verbose? boolean
---@field webhook_url? string
---@field webhook_secret? string
---@field webhook_delay? number
---@field webhook_retries? integer
---@field webhook_retry_delay? number

---A running zoomlive-sim.
---@class zoomlive.Sim
---@field pid integer
---@field port integer
---@field url string
---@field base_url string
---@field token string
local Sim = {}

---@return table health {status = "ok", port = N}
function Sim:health() end
---@param since? integer
---@return table[] requests
function Sim:requests(since) end
function Sim:clear_requests() end
function Sim:reset() end
---@param f table a fault or a list of faults
---@return integer|integer[] id
function Sim:fault(f) end
---@return table[] faults
function Sim:faults() end
function Sim:clear_faults() end
---@param id integer
function Sim:remove_fault(id) end
---@param id zoomlive.Id
---@return table state
function Sim:meeting(id) end
---@param id zoomlive.Id
---@return table state
function Sim:webinar(id) end
---@param id zoomlive.Id
---@param t table
---@return table state
function Sim:set_meeting(id, t) end
---@param id zoomlive.Id
---@param t table
---@return table state
function Sim:set_webinar(id, t) end
---@param id zoomlive.Id
function Sim:delete_meeting(id) end
---@param t? table
---@return table config
function Sim:config(t) end
---@param seconds number
---@return table clock
function Sim:advance(seconds) end
---@return table clock {now, now_iso, offset}
function Sim:clock() end
---@return table log {deliveries = {...}}
function Sim:webhooks() end
function Sim:clear_webhooks() end
---@return table log
function Sim:validate_webhook() end
---@return boolean clean
function Sim:stop() end

---@class zoomlive.testing
---@field default_exe? string
local testing = {}

---@param opts? zoomlive.testing.Options
---@return zoomlive.Sim
function testing.start(opts) end

---@class zoomlive.webhook.Event
---@field name string e.g. "meeting.live_streaming_started"
---@field event_ts number milliseconds since the epoch
---@field time number seconds since the epoch
---@field kind? "meeting"|"webinar"
---@field id? string exact decimal digits
---@field uuid? string
---@field host_id? string
---@field topic? string
---@field account_id? string
---@field operator? string
---@field operator_id? string
---@field stream? table {service, stream_url, page_url, resolution, stream_key = "***", date_time, at}
---@field plain_token? string
local Event = {}
---@return string? stream_key
function Event:stream_key() end

---@class zoomlive.webhook.Response
---@field status integer
---@field content_type? string
---@field body string
---@field event? zoomlive.webhook.Event
---@field err? zoomlive.Error
---@field duplicate? boolean

---@class zoomlive.webhook.Handler
local Handler = {}
---@param method string
---@param headers table<string, string>
---@param raw_body string
---@return zoomlive.webhook.Response
function Handler:handle(method, headers, raw_body) end

---@class zoomlive.webhook.Listener
local Listener = {}
---@param name string
---@param id? zoomlive.Id
---@param timeout number seconds
---@return zoomlive.webhook.Event? event
---@return zoomlive.Error? err
function Listener:wait(name, id, timeout) end
---@param name string
---@param id? zoomlive.Id
---@param timeout number
---@param callback fun(event: zoomlive.webhook.Event?, err: zoomlive.Error?)
---@return fun() cancel
function Listener:expect(name, id, timeout, callback) end
---@return zoomlive.webhook.Event[]
function Listener:drain() end
---@param max_wait number
---@return integer served
function Listener:step(max_wait) end
---@return integer[] fds
function Listener:fds() end
---@return integer
function Listener:port() end
---@return string
function Listener:url() end
function Listener:close() end

---@class zoomlive.webhook
---@field TOLERANCE number 300
---@field MAX_BODY integer
local webhook = {}

---@param headers table<string, string>
---@param name string lower case
---@return string? value
---@return ("missing"|"ambiguous")? why
function webhook.header(headers, name) end

---@param secret string
---@param headers table<string, string>
---@param raw_body string
---@param opts? number|{now?: number, tolerance?: number}
---@return true? ok
---@return zoomlive.Error? err
function webhook.verify(secret, headers, raw_body, opts) end

---@param secret string
---@param raw_body string
---@param timestamp? number
---@return table<string, string>? headers
---@return zoomlive.Error? err
function webhook.sign(secret, raw_body, timestamp) end

---@param secret string
---@param raw_body string
---@return string? body
---@return zoomlive.Error? err
function webhook.url_validation(secret, raw_body) end

---@param raw_body string
---@return zoomlive.webhook.Event? event
---@return zoomlive.Error? err
function webhook.parse(raw_body) end

---@param opts {secret: string, tolerance?: number, now?: fun(): number, remember?: integer}
---@return zoomlive.webhook.Handler
function webhook.handler(opts) end

---@param opts table secret, host, port, path, tolerance, backend, loop, on_event, log, now, clock, poll, max_body
---@return zoomlive.webhook.Listener
function webhook.listener(opts) end

return zoomlive
