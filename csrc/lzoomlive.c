/* lzoomlive.c - the Lua binding zoomlive.core.
 *
 * zoomlive.core.new{...} returns a "zoomlive.connection": one libcurl easy
 * handle, reused between requests, with its request and response buffers.
 * The pure-Lua module zoomlive builds the friendly API on top.
 *
 * Lua is touched only before and after curl_easy_perform: the callbacks in
 * zl_http.c copy into C memory, so no Lua error crosses a libcurl frame. */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
#include <curl/curl.h>
#include "lua.h"
#include "lauxlib.h"
#include "lzl_aux.h"

/* zoomlive supports Lua 5.4 only (lua_newuserdatauv, to-be-closed variables) */
#if !defined(LUA_VERSION_NUM) || LUA_VERSION_NUM != 504
#  error \
    "zoomlive needs Lua 5.4: this lua.h is another version. Point the build at Lua 5.4's headers (Debian: liblua5.4-dev, /usr/include/lua5.4; LuaRocks: --lua-version=5.4; CMake: -DLUA_INCDIR=...)"
#endif

#define CONN_MT "zoomlive.connection"

typedef struct lconn {
  zl_conn *conn;    /* NULL once closed */
  zl_response resp; /* reused: its body buffer keeps its memory */
  zl_buf form;      /* reused multipart body */
} lconn;

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
  if (c->conn)
    lua_pushfstring(L, CONN_MT " (%p)", (void *)c);
  else
    lua_pushliteral(L, CONN_MT " (closed)");
  return 1;
}

/* conn:perform(request[, token[, timeout]]) -> response: one table in (with
 * the attempt's token and timeout beside it), one table out (lzl_aux.h).
 * (Refilling one table per connection instead was measured: clearing the
 * fields of the last response costs more than a new table.) */
static int perform_at(lua_State *L, lconn *c, int idx) {
  if (!c->conn) luaL_error(L, "attempt to use a closed zoomlive.connection");
  zl_request q;
  char ctype[ZL_FORM_CTYPE_LEN];
  zl_read_spec(L, idx, &q, &c->form, ctype, NULL);
  zl_conn_perform(c->conn, &q, &c->resp);
  zl_push_response(L, &c->resp);
  return 1;
}

static int l_perform(lua_State *L) { return perform_at(L, luaL_checkudata(L, 1, CONN_MT), 2); }

/* the function conn:sender() makes: perform bound to its connection */
static int l_send(lua_State *L) { return perform_at(L, lua_touserdata(L, lua_upvalueindex(1)), 1); }

/* conn:sender() -> function(request[, token[, timeout]]) -> response: the
 * same as conn:perform, bound to conn (a transport's send, with no method
 * look-up on the way) */
static int l_sender(lua_State *L) {
  luaL_checkudata(L, 1, CONN_MT);
  lua_settop(L, 1);
  lua_pushcclosure(L, l_send, 1);
  return 1;
}

/* A zl_buf owned by a userdata, so a Lua memory error cannot leak it. */
#define BUF_MT "zoomlive.buffer"
static int l_buf_gc(lua_State *L) {
  zl_buf_free(luaL_checkudata(L, 1, BUF_MT));
  return 0;
}

/* core.multipart({name, value, ...}) -> body, content_type */
static int l_multipart(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
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
  if (s < 0)
    luaL_pushfail(L);
  else
    lua_pushnumber(L, s);
  return 1;
}

static int l_backoff(lua_State *L) {
  lua_Integer attempt = luaL_checkinteger(L, 1);
  lua_pushnumber(L, zl_backoff(attempt > 1000 ? 1000 : (int)attempt, luaL_checknumber(L, 2),
                               luaL_checknumber(L, 3)));
  return 1;
}

/* core.random() -> [0, 1): the CSPRNG-seeded generator of boundaries and jitter */
static int l_random(lua_State *L) {
  lua_pushnumber(L, zl_rand_unit());
  return 1;
}

/* core.getdate(http_date) -> Unix seconds | fail (libcurl's curl_getdate) */
static int l_getdate(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  time_t t = curl_getdate(s, NULL);
  if (t == (time_t)-1)
    luaL_pushfail(L);
  else
    lua_pushinteger(L, (lua_Integer)t);
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
  {"perform", l_perform}, {"sender", l_sender}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg conn_meta[] = {{"__gc", l_close},          {"__close", l_close},
                                     {"__tostring", l_tostring}, {"__index", NULL},
                                     {"__name", NULL},           {NULL, NULL}};

static const luaL_Reg funcs[] = {{"new", l_new},
                                 {"multipart", l_multipart},
                                 {"retry_after", l_retry_after},
                                 {"backoff", l_backoff},
                                 {"now", l_now},
                                 {"random", l_random},
                                 {"getdate", l_getdate},
                                 {"time", l_time},
                                 {"sleep", l_sleep},
                                 {NULL, NULL}};

/* curl_global_init is not thread-safe before libcurl 7.84 and must run
 * once: pthread_once orders it before every loader that returns, in any
 * thread (the result is written inside the once and read after it). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

ZOOMLIVE_API int luaopen_zoomlive_core(lua_State *L) {
  pthread_once(&curl_once, curl_init_once);
  if (curl_init_rc != CURLE_OK) return luaL_error(L, "zoomlive: curl_global_init failed");
  zl_new_class(L, CONN_MT, conn_meta, conn_methods);
  if (luaL_newmetatable(L, BUF_MT)) {
    lua_pushcfunction(L, l_buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  zl_open_multi(L);  /* core.multi: lzl_multi.c */
  zl_open_signal(L); /* core.signal_*: lzl_signal.c */
  zl_open_driver(L); /* core.driver: lzl_driver.c */
  zl_open_url(L);    /* core.url_parse: lzl_url.c */
  zl_open_crypto(L); /* core.hmac_sha256_hex, equal_consttime, parse_date: lzl_crypto.c */
  lua_pushliteral(L, ZOOMLIVE_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushliteral(L, ZL_USER_AGENT); /* what a connection sends unless told otherwise */
  lua_setfield(L, -2, "user_agent");
  lua_pushinteger(L, ZL_IDLE_MAX); /* connection objects that stay connected */
  lua_setfield(L, -2, "idle_max");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
