/* lzl_aux.h - the binding's shared plumbing (as luasocket's auxiliar.h):
 * reading options and request values from Lua, pushing one response value,
 * registering classes.  Used by lzoomlive.c and lzl_multi.c; not installed. */
#ifndef LZL_AUX_H
#define LZL_AUX_H
#include "lua.h"
#include "lauxlib.h"
#include "zl_internal.h"

#define ZL_MAX_FIELDS 16
#define ZL_FORM_CTYPE_LEN (sizeof "multipart/form-data; boundary=" + ZL_BOUNDARY_LEN)

/* Reads timeout, connect_timeout (seconds), user_agent, cainfo, capath,
 * insecure, fresh_handles, max_body from the table at index t (or none). */
void zl_read_conn_options(lua_State *L, int t, zl_conn_options *o);

/* Reads the request table at index idx into q:
 *   { method =, url =, token = nil|s, basic = nil|s, content_type = nil|s,
 *     body = nil|s, form = nil|{name, value, ...}, timeout = nil|seconds }
 * and the attempt's token and timeout, the values at idx + 1 and idx + 2
 * when given (they take the place of the table's fields), and the call's
 * deadline (seconds from now, idx + 3; used by the driver's queue): the calls
 * are perform(request[, token[, timeout]]) and
 * submit(request[, token[, timeout[, deadline]]]).
 * A form is encoded into `form` (its content type kept in ctype, which must
 * hold ZL_FORM_CTYPE_LEN bytes); a body is used in place (it stays alive in
 * the table) unless copy_to is given, into which it is copied.
 * Bad types and NUL bytes raise (they are programming errors). */
void zl_read_spec(lua_State *L, int idx, zl_request *q, zl_buf *form, char *ctype, zl_buf *copy_to);

/* Pushes one response value: a table (see PIPELINE in docs/ARCHITECTURE.md)
 *   { status, body, truncated, elapsed, tracking_id, retry_after, rl_category,
 *     rl_type, rl_limit, rl_remaining, content_type, location,
 *     date (only beside retry_after: the clock a Retry-After date is read on),
 *     sends (only when > 1: libcurl sent the request again on a fresh
 *     connection, so the first may have reached the server) }
 * or, when no status came back,
 *   { kind = "transport"|"timeout", curl_code, message, status|nil, elapsed, sent,
 *     queued = true|nil (it ended waiting for a free connection: never began) } */
void zl_push_response(lua_State *L, const zl_response *r);

/* name, value fields from the array at index t; returns how many */
size_t zl_collect_fields(lua_State *L, int t, zl_field *f);

/* a class: metatable `name` with the metamethods `meta` and `methods` as __index */
void zl_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods);

int zl_open_multi(lua_State *L);  /* lzl_multi.c: sets core.multi */
int zl_open_signal(lua_State *L); /* lzl_signal.c: core.signal_* */
int zl_open_driver(lua_State *L); /* lzl_driver.c: sets core.driver */
int zl_open_url(lua_State *L);    /* lzl_url.c: sets core.url_parse */
int zl_open_crypto(
  lua_State *L); /* lzl_crypto.c: core.hmac_sha256_hex, equal_consttime, parse_date */
#endif
