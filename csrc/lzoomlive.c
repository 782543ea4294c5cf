/* lzoomlive.c - the Lua binding zoomlive.core.
 *
 * zoomlive.core.new{...} returns a "zoomlive.connection": one libcurl easy
 * handle, reused between requests, with its request and response buffers.
 * The pure-Lua module zoomlive builds the friendly API on top.
 *
 * Lua is touched only before and after curl_easy_perform: the callbacks in
 * zl_http.c copy into C memory, so no Lua error crosses a libcurl frame. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
#include <curl/curl.h>
#include "lua.h"
#include "lauxlib.h"
#include "zl_internal.h"

#define CONN_MT "zoomlive.connection"

typedef struct lconn {
  zl_conn *conn;        /* NULL once closed */
  zl_response resp;     /* reused: its body buffer keeps its memory */
  zl_buf form;          /* reused multipart body */
} lconn;

static lconn *check_open(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (!c->conn) luaL_error(L, "attempt to use a closed zoomlive.connection");
  return c;
}

long zl_opt_seconds_ms(lua_State *L, int idx, long dflt) {
  if (lua_isnoneornil(L, idx)) return dflt;
  lua_Number s = luaL_checknumber(L, idx);
  /* NaN, infinities and values whose milliseconds a long cannot hold are
   * refused, never cut */
  luaL_argcheck(L, s > 0 && s <= 86400.0 * 365 && s * 1000.0 < (double)LONG_MAX, idx,
                "seconds out of range");
  return (long)ceil(s * 1000.0);
}

static const char *opt_field_string(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "option '%s' must be a string", k);
    size_t n;
    s = lua_tolstring(L, -1, &n);
    if (strlen(s) != n) luaL_error(L, "option '%s' holds a NUL byte", k);
  }
  lua_pop(L, 1);   /* the string stays alive: it is in the options table */
  return s;
}

static long opt_field_ms(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  long ms = 0;
  if (!lua_isnil(L, -1)) {
    int isnum;
    lua_Number s = lua_tonumberx(L, -1, &isnum);
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
    if (!isint || mb < 1 || mb > (lua_Integer)64 * 1024 * 1024) luaL_error(L, "option 'max_body' out of range");
    o->max_body = (size_t)mb;
  }
  lua_pop(L, 1);
  if (o->user_agent && !zl_header_safe(o->user_agent, strlen(o->user_agent)))
    luaL_error(L, "option 'user_agent' holds CR, LF or NUL");
  if (o->user_agent && strlen(o->user_agent) > ZL_USER_AGENT_MAX)   /* never cut */
    luaL_error(L, "option 'user_agent' is longer than %d bytes", ZL_USER_AGENT_MAX);
}

/* core.new([opts]) */
static int l_new(lua_State *L) {
  int has = !lua_isnoneornil(L, 1);
  if (has) luaL_checktype(L, 1, LUA_TTABLE);
  /* box first, acquire second */
  lconn *c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, CONN_MT);
  zl_conn_options o;
  zl_read_conn_options(L, 1, &o);
  c->conn = zl_conn_new(&o);
  if (!c->conn) return luaL_error(L, "zoomlive: cannot create a libcurl handle (out of memory?)");
  return 1;
}

static int l_close(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->conn) {
    zl_conn_free(c->conn);
    c->conn = NULL;
  }
  zl_buf_free(&c->resp.body);
  zl_buf_free(&c->form);
  return 0;
}

static int l_tostring(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->conn) lua_pushfstring(L, CONN_MT " (%p)", (void *)c);
  else lua_pushliteral(L, CONN_MT " (closed)");
  return 1;
}

static void push_hdr(lua_State *L, const char *v) {
  if (*v) lua_pushstring(L, v);
  else lua_pushnil(L);
}

static const char *kind_name(zl_kind k) {
  switch (k) {
    case ZL_TIMEOUT:  return "timeout";
    case ZL_ARGUMENT: return "argument";
    case ZL_MEMORY:   return "memory";
    default:          return "transport";
  }
}

/* Results: status, body, tracking_id, retry_after, rl_category, rl_type,
 * rl_limit, rl_remaining, content_type, truncated, elapsed, location
 * or, when no status came back: nil, kind, curl_code, message, elapsed[, status] */
int zl_push_response(lua_State *L, const zl_response *r) {
  luaL_checkstack(L, 12, NULL);
  if (r->kind != ZL_OK) {
    if (r->kind == ZL_MEMORY) return luaL_error(L, "not enough memory");
    lua_pushnil(L);
    lua_pushstring(L, kind_name(r->kind));
    lua_pushinteger(L, r->curl_code);
    lua_pushstring(L, r->message);
    lua_pushnumber(L, r->elapsed);
    if (r->status > 0) { lua_pushinteger(L, r->status); return 6; }
    return 5;
  }
  lua_pushinteger(L, r->status);
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  push_hdr(L, r->tracking_id);
  push_hdr(L, r->retry_after);
  push_hdr(L, r->rl_category);
  push_hdr(L, r->rl_type);
  push_hdr(L, r->rl_limit);
  push_hdr(L, r->rl_remaining);
  push_hdr(L, r->content_type);
  lua_pushboolean(L, r->body_truncated);
  lua_pushnumber(L, r->elapsed);
  push_hdr(L, r->location);
  return 12;
}

/* A string argument that goes into a request line or header: an embedded
 * NUL would silently cut it, so it is refused (CR and LF are refused later). */
const char *zl_check_cstr(lua_State *L, int i, int opt) {
  if (opt && lua_isnoneornil(L, i)) return NULL;
  size_t n;
  const char *s = luaL_checklstring(L, i, &n);
  if (strlen(s) != n) luaL_argerror(L, i, "holds a NUL byte");
  return s;
}

void zl_read_request_head(lua_State *L, zl_request *q) {
  memset(q, 0, sizeof *q);
  q->method = zl_check_cstr(L, 2, 0);
  q->url = zl_check_cstr(L, 3, 0);
  q->token = zl_check_cstr(L, 4, 1);
}

/* conn:perform(method, url, token, content_type, body, timeout[, basic]) */
static int l_perform(lua_State *L) {
  lconn *c = check_open(L);
  zl_request q;
  zl_read_request_head(L, &q);
  q.content_type = zl_check_cstr(L, 5, 1);
  q.body = luaL_optlstring(L, 6, NULL, &q.body_len);
  q.timeout_ms = zl_opt_seconds_ms(L, 7, 0);
  q.basic = zl_check_cstr(L, 8, 1);
  zl_conn_perform(c->conn, &q, &c->resp);
  return zl_push_response(L, &c->resp);
}

size_t zl_collect_fields(lua_State *L, int first, zl_field *f) {
  int top = lua_gettop(L);
  luaL_argcheck(L, (top - first + 1) % 2 == 0, top, "fields come as name, value pairs");
  size_t n = 0;
  for (int i = first; i + 1 <= top; i += 2) {
    luaL_argcheck(L, n < ZL_MAX_FIELDS, i, "too many form fields");
    f[n].name = luaL_checklstring(L, i, &f[n].name_len);
    f[n].value = luaL_checklstring(L, i + 1, &f[n].value_len);
    n++;
  }
  return n;
}

void zl_form_content_type(char *dst, const char *boundary) {
  static const char mp[] = "multipart/form-data; boundary=";
  memcpy(dst, mp, sizeof mp - 1);
  memcpy(dst + sizeof mp - 1, boundary, ZL_BOUNDARY_LEN + 1);
}

void zl_read_form(lua_State *L, int first, zl_buf *out, zl_request *q, char *ctype) {
  zl_field f[ZL_MAX_FIELDS];
  size_t n = zl_collect_fields(L, first, f);
  char boundary[ZL_BOUNDARY_LEN + 1];
  if (zl_multipart_encode(f, n, boundary, out) != 0) {
    if (errno == ENOMEM) luaL_error(L, "not enough memory");
    luaL_error(L, "invalid form field name (empty, or holds CR, LF, NUL or '\"')");
  }
  zl_form_content_type(ctype, boundary);
  q->content_type = ctype;   /* copied into the handle's header list by prepare */
  q->body = out->data;
  q->body_len = out->len;
}

/* conn:perform_form(method, url, token, timeout, name, value, ...) */
static int l_perform_form(lua_State *L) {
  lconn *c = check_open(L);
  zl_request q;
  zl_read_request_head(L, &q);
  q.timeout_ms = zl_opt_seconds_ms(L, 5, 0);
  char ctype[ZL_FORM_CTYPE_LEN];
  zl_read_form(L, 6, &c->form, &q, ctype);
  zl_conn_perform(c->conn, &q, &c->resp);
  return zl_push_response(L, &c->resp);
}

/* A zl_buf owned by a userdata, so a Lua memory error cannot leak it. */
#define BUF_MT "zoomlive.buffer"
static int l_buf_gc(lua_State *L) {
  zl_buf_free(luaL_checkudata(L, 1, BUF_MT));
  return 0;
}

/* core.multipart(name, value, ...) -> body, content_type */
static int l_multipart(lua_State *L) {
  zl_field f[ZL_MAX_FIELDS];
  size_t n = zl_collect_fields(L, 1, f);
  zl_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, BUF_MT);
  char boundary[ZL_BOUNDARY_LEN + 1];
  if (zl_multipart_encode(f, n, boundary, b) != 0) {
    if (errno == ENOMEM) return luaL_error(L, "not enough memory");
    return luaL_error(L, "invalid form field name (empty, or holds CR, LF, NUL or '\"')");
  }
  lua_pushlstring(L, b->data, b->len);
  lua_pushfstring(L, "multipart/form-data; boundary=%s", boundary);
  zl_buf_free(b);
  return 2;
}

/* core.retry_after(value[, now]) -> seconds | nil */
static int l_retry_after(lua_State *L) {
  const char *v = luaL_checkstring(L, 1);
  double now;
  if (lua_isnoneornil(L, 2)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
  } else {
    now = luaL_checknumber(L, 2);
  }
  double s = zl_retry_after_seconds(v, now);
  if (s < 0) luaL_pushfail(L);
  else lua_pushnumber(L, s);
  return 1;
}

static int l_backoff(lua_State *L) {
  lua_Integer attempt = luaL_checkinteger(L, 1);
  lua_pushnumber(L, zl_backoff(attempt > 1000 ? 1000 : (int)attempt,
                               luaL_checknumber(L, 2), luaL_checknumber(L, 3)));
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, zl_monotonic());
  return 1;
}

static int l_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
  return 1;
}

static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s < HUGE_VAL, 1, "seconds must be a finite number >= 0");
  zl_sleep(s);
  return 0;
}

static const luaL_Reg conn_methods[] = {
  {"perform", l_perform},
  {"perform_form", l_perform_form},
  {"close", l_close},
  {NULL, NULL}
};

static const luaL_Reg conn_meta[] = {
  {"__gc", l_close},
  {"__close", l_close},
  {"__tostring", l_tostring},
  {"__index", NULL},
  {"__name", NULL},
  {NULL, NULL}
};

static const luaL_Reg funcs[] = {
  {"new", l_new},
  {"multipart", l_multipart},
  {"retry_after", l_retry_after},
  {"backoff", l_backoff},
  {"now", l_now},
  {"time", l_time},
  {"sleep", l_sleep},
  {NULL, NULL}
};

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

ZOOMLIVE_API int luaopen_zoomlive_core(lua_State *L) {
  static int inited = 0;
  if (!inited) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return luaL_error(L, "zoomlive: curl_global_init failed");
    inited = 1;
  }
  zl_new_class(L, CONN_MT, conn_meta, conn_methods);
  if (luaL_newmetatable(L, BUF_MT)) {
    lua_pushcfunction(L, l_buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  zl_open_multi(L);   /* core.multi: lzl_multi.c */
  zl_open_url(L);     /* core.url_parse: lzl_url.c */
  lua_pushliteral(L, ZOOMLIVE_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, ZL_IDLE_MAX);   /* connection objects that stay connected */
  lua_setfield(L, -2, "idle_max");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
