/* lzl_aux.c - the binding's shared plumbing: options and request tables in,
 * one response table out, class registration.  See lzl_aux.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <curl/curl.h>
#include "lzl_aux.h"

static const char *opt_field_string(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "option '%s' must be a string", k);
    size_t n;
    s = lua_tolstring(L, -1, &n);
    if (strlen(s) != n) luaL_error(L, "option '%s' holds a NUL byte", k);
  }
  lua_pop(L, 1); /* the string stays alive: it is in the options table */
  return s;
}

static long opt_field_ms(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  long ms = 0;
  if (!lua_isnil(L, -1)) {
    int isnum;
    lua_Number s = lua_tonumberx(L, -1, &isnum);
    /* NaN, infinities and values whose milliseconds a long cannot hold are
     * refused, never cut */
    if (!isnum || !(s > 0) || s > 86400.0 * 365 || s * 1000.0 >= (double)LONG_MAX)
      luaL_error(L, "option '%s' must be a positive number of seconds", k);
    ms = (long)ceil(s * 1000.0);
  }
  lua_pop(L, 1);
  return ms;
}

void zl_read_conn_options(lua_State *L, int t, zl_conn_options *o) {
  memset(o, 0, sizeof *o);
  if (lua_isnoneornil(L, t)) return;
  o->connect_timeout_ms = opt_field_ms(L, t, "connect_timeout");
  o->timeout_ms = opt_field_ms(L, t, "timeout");
  o->user_agent = opt_field_string(L, t, "user_agent");
  o->cainfo = opt_field_string(L, t, "cainfo");
  o->capath = opt_field_string(L, t, "capath");
  lua_getfield(L, t, "insecure");
  o->insecure = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, t, "fresh_handles");
  o->fresh_handles = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, t, "max_body");
  if (!lua_isnil(L, -1)) {
    int isint;
    lua_Integer mb = lua_tointegerx(L, -1, &isint);
    if (!isint || mb < 1 || mb > (lua_Integer)64 * 1024 * 1024)
      luaL_error(L, "option 'max_body' out of range");
    o->max_body = (size_t)mb;
  }
  lua_pop(L, 1);
  if (o->user_agent && !zl_header_safe(o->user_agent, strlen(o->user_agent)))
    luaL_error(L, "option 'user_agent' holds CR, LF or NUL");
  if (o->user_agent && strlen(o->user_agent) > ZL_USER_AGENT_MAX) /* never cut */
    luaL_error(L, "option 'user_agent' is longer than %d bytes", ZL_USER_AGENT_MAX);
}

/* a string field bound for a request line or header: NUL refused (it would
 * cut the value silently; CR and LF are refused by the core) */
static const char *spec_string(lua_State *L, int idx, const char *k, size_t *len) {
  const char *s = NULL;
  size_t n = 0;
  if (lua_getfield(L, idx, k) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "request field '%s' must be a string", k);
    s = lua_tolstring(L, -1, &n);
    if (!len && strlen(s) != n) luaL_error(L, "request field '%s' holds a NUL byte", k);
  }
  lua_pop(L, 1); /* alive: the table holds it */
  if (len) *len = n;
  return s;
}

size_t zl_collect_fields(lua_State *L, int t, zl_field *f) {
  lua_Integer n = luaL_len(L, t);
  if (n % 2 != 0) luaL_error(L, "form fields come as name, value pairs");
  if (n > 2 * ZL_MAX_FIELDS) luaL_error(L, "too many form fields");
  size_t k = 0;
  for (lua_Integer i = 1; i + 1 <= n; i += 2, k++) {
    if (lua_rawgeti(L, t, i) != LUA_TSTRING || lua_rawgeti(L, t, i + 1) != LUA_TSTRING)
      luaL_error(L, "form field names and values must be strings");
    f[k].name = lua_tolstring(L, -2, &f[k].name_len);
    f[k].value = lua_tolstring(L, -1, &f[k].value_len);
    lua_pop(L, 2); /* alive: the form table holds them */
  }
  return k;
}

/* the attempt's token: the argument at idx + 1 when given, else the field */
static const char *spec_token(lua_State *L, int idx) {
  int a = idx + 1;
  if (lua_isnoneornil(L, a)) return spec_string(L, idx, "token", NULL);
  size_t n;
  if (lua_type(L, a) != LUA_TSTRING) luaL_error(L, "the token must be a string");
  const char *s = lua_tolstring(L, a, &n);
  if (strlen(s) != n) luaL_error(L, "the token holds a NUL byte");
  return s; /* alive: it is an argument of the running call */
}

/* seconds in ms: the argument at idx + off when given, else the field k
 * (NULL: none); 0 when neither */
static long spec_seconds(lua_State *L, int idx, int off, const char *k) {
  int a = idx + off, popped = 0;
  if (lua_isnoneornil(L, a)) {
    if (!k) return 0;
    if (lua_getfield(L, idx, k) == LUA_TNIL) {
      lua_pop(L, 1);
      return 0;
    }
    a = lua_gettop(L);
    popped = 1;
  }
  int isnum;
  lua_Number s = lua_tonumberx(L, a, &isnum);
  /* a call's deadline may lie past a year (the default one of a client with
   * many retries, or long waits allowed): that is no deadline for a queue */
  if (!k && isnum && s > 86400.0 * 365) return 0;
  if (!isnum || !(s > 0) || s > 86400.0 * 365 || s * 1000.0 >= (double)LONG_MAX)
    luaL_error(L, "request %s '%s' out of range", k ? "field" : "argument", k ? k : "deadline");
  if (popped) lua_pop(L, 1);
  return (long)ceil(s * 1000.0);
}

void zl_read_spec(lua_State *L, int idx, zl_request *q, zl_buf *form, char *ctype,
                  zl_buf *copy_to) {
  luaL_checktype(L, idx, LUA_TTABLE);
  memset(q, 0, sizeof *q);
  q->method = spec_string(L, idx, "method", NULL);
  q->url = spec_string(L, idx, "url", NULL);
  if (!q->method || !q->url) luaL_error(L, "request fields 'method' and 'url' are required");
  q->token = spec_token(L, idx);
  q->basic = spec_string(L, idx, "basic", NULL);
  q->timeout_ms = spec_seconds(L, idx, 2, "timeout");
  q->deadline_ms = spec_seconds(L, idx, 3, NULL);
  if (lua_getfield(L, idx, "form") != LUA_TNIL) {
    if (!lua_istable(L, -1)) luaL_error(L, "request field 'form' must be a table");
    zl_field f[ZL_MAX_FIELDS];
    size_t n = zl_collect_fields(L, lua_gettop(L), f);
    char boundary[ZL_BOUNDARY_LEN + 1];
    if (zl_multipart_encode(f, n, boundary, form) != 0) {
      if (errno == ENOMEM) luaL_error(L, "not enough memory");
      luaL_error(L, "invalid form field name (empty, or holds CR, LF, NUL or '\"')");
    }
    static const char mp[] = "multipart/form-data; boundary=";
    memcpy(ctype, mp, sizeof mp - 1);
    memcpy(ctype + sizeof mp - 1, boundary, ZL_BOUNDARY_LEN + 1);
    q->content_type = ctype;
    q->body = form->data;
    q->body_len = form->len;
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  q->content_type = spec_string(L, idx, "content_type", NULL);
  const char *body = spec_string(L, idx, "body", &q->body_len);
  if (body && copy_to) {
    zl_buf_reset(copy_to);
    if (zl_buf_add(copy_to, body, q->body_len) != 0) luaL_error(L, "not enough memory");
    body = copy_to->data ? copy_to->data : "";
  }
  q->body = body;
}

static void set_hdr(lua_State *L, const char *k, const char *v) {
  if (*v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

static const char *kind_name(zl_kind k) {
  switch (k) {
    case ZL_TIMEOUT: return "timeout";
    case ZL_ARGUMENT: return "argument";
    case ZL_CANCELLED: return "cancelled"; /* zl_abort_all: a host's signal */
    default: return "transport";           /* ZL_MEMORY too: a reply the core cannot take */
  }
}

void zl_push_response(lua_State *L, const zl_response *r) {
  if (r->kind != ZL_OK) {
    lua_createtable(L, 0, 6); /* kind, curl_code, message, elapsed, sent, status */
    lua_pushstring(L, kind_name(r->kind));
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, r->curl_code);
    lua_setfield(L, -2, "curl_code");
    lua_pushstring(L, r->message);
    lua_setfield(L, -2, "message");
    lua_pushnumber(L, r->elapsed);
    lua_setfield(L, -2, "elapsed");
    lua_pushboolean(L, r->request_sent);
    lua_setfield(L, -2, "sent");
    if (r->status > 0) {
      lua_pushinteger(L, r->status);
      lua_setfield(L, -2, "status");
    }
    if (r->sends > 1) {
      lua_pushinteger(L, r->sends);
      lua_setfield(L, -2, "sends");
    }
    if (r->queued) { /* ended waiting for a connection: the attempt never began */
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "queued");
    }
    return;
  }
  /* sized for what it will hold: growing it would rehash on every response */
  int n = 3 + (r->body_truncated != 0) + (r->sends > 1) + !!r->tracking_id[0] +
          !!r->retry_after[0] + !!r->rl_category[0] + !!r->rl_type[0] + !!r->rl_limit[0] +
          !!r->rl_remaining[0] + !!r->content_type[0] + !!r->location[0] +
          (r->retry_after[0] && r->date[0]);
  lua_createtable(L, 0, n);
  lua_pushinteger(L, r->status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  lua_setfield(L, -2, "body");
  lua_pushnumber(L, r->elapsed);
  lua_setfield(L, -2, "elapsed");
  if (r->body_truncated) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "truncated");
  }
  if (r->sends > 1) { /* libcurl sent it again on a fresh connection */
    lua_pushinteger(L, r->sends);
    lua_setfield(L, -2, "sends");
  }
  set_hdr(L, "tracking_id", r->tracking_id);
  set_hdr(L, "retry_after", r->retry_after);
  set_hdr(L, "rl_category", r->rl_category);
  set_hdr(L, "rl_type", r->rl_type);
  set_hdr(L, "rl_limit", r->rl_limit);
  set_hdr(L, "rl_remaining", r->rl_remaining);
  set_hdr(L, "content_type", r->content_type);
  set_hdr(L, "location", r->location);
  /* the server's clock, for a Retry-After date: only beside one */
  if (r->retry_after[0]) set_hdr(L, "date", r->date);
}

void zl_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods) {
  if (luaL_newmetatable(L, name)) {
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
}
