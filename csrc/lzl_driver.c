/* lzl_driver.c - zoomlive.core.driver: the non-blocking driver (zl_driver.c)
 * for Lua, run by the host's event loop.
 *
 *   local d <close> = core.driver{ concurrency = 8, timeout = 30, ... }
 *   local id = d:submit(spec[, token[, timeout]])  -- as conn:perform
 *   -- after EVERY call into d (submit, cancel, an action):
 *   for _, c in ipairs(d:changes()) do  -- c.fd, c.what: "in"|"out"|"inout"|"remove"
 *     ... watch c.fd for c.what in the loop, or stop watching it ...
 *   end
 *   local s = d:timer()                -- seconds until d:timeout_action(), or nil
 *   local id, resp = d:take()          -- a finished transfer, or nil
 *   -- the loop reports: d:socket_action(fd, "r"|"w"|"rw"|"e" or bits 1|2|4)
 *   --                   d:timeout_action()
 *   local sent, waiting = d:cancel(id) -- true: request bytes may have left;
 *                                      -- waiting: it had not started
 *
 * No Lua code runs inside libcurl: its callbacks only queue (zl_driver.c),
 * and Lua reads the queues after each call returns, so no Lua error can
 * cross a libcurl frame.  Results are built so that a memory error while
 * building them loses nothing: changes are drained only into a table that
 * already has room for them, and a taken response stays in the box until
 * its table is complete.
 *
 * Box first, acquire second; close (also __gc and __close) is idempotent. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include "lzl_aux.h"

#define DRIVER_MT "zoomlive.driver"
#define MAX_CONCURRENCY 1024

typedef struct ldriver {
  zl_driver *d;        /* NULL once closed */
  lua_Integer next_id; /* ids are handed out from 1, never reused */
  zl_buf form;         /* scratch multipart body (copied by submit) */
  zl_response held;    /* a taken response whose table is being built */
  uint64_t held_id;
  int held_sent;
  int has_held;
} ldriver;

static int l_close(lua_State *L) {
  ldriver *b = luaL_checkudata(L, 1, DRIVER_MT);
  zl_driver_free(b->d);
  b->d = NULL;
  if (b->form.data) explicit_bzero(b->form.data, b->form.cap);
  zl_buf_free(&b->form);
  zl_buf_free(&b->held.body);
  b->has_held = 0;
  return 0;
}

static ldriver *check_open(lua_State *L) {
  ldriver *b = luaL_checkudata(L, 1, DRIVER_MT);
  if (!b->d) luaL_error(L, "attempt to use a closed " DRIVER_MT);
  return b;
}

static int l_tostring(lua_State *L) {
  ldriver *b = luaL_checkudata(L, 1, DRIVER_MT);
  if (!b->d) {
    lua_pushliteral(L, DRIVER_MT " (closed)");
  } else {
    size_t w, r, f;
    zl_driver_counts(b->d, &w, &r, &f);
    lua_pushfstring(L, DRIVER_MT " (%p, %d waiting, %d running, %d done)", (void *)b, (int)w,
                    (int)r, (int)f);
  }
  return 1;
}

/* core.driver{concurrency=, timeout=, connect_timeout=, user_agent=, cainfo=,
 * capath=, insecure=, fresh_handles=, max_body=} */
static int l_driver(lua_State *L) {
  int has = !lua_isnoneornil(L, 1);
  if (has) luaL_checktype(L, 1, LUA_TTABLE);
  zl_driver_options o;
  memset(&o, 0, sizeof o);
  o.concurrency = 8;
  if (has) {
    lua_getfield(L, 1, "concurrency");
    if (!lua_isnil(L, -1)) {
      int isint;
      lua_Integer c = lua_tointegerx(L, -1, &isint);
      if (!isint || c < 1 || c > MAX_CONCURRENCY)
        luaL_error(L, "option 'concurrency' must be an integer from 1 to %d", MAX_CONCURRENCY);
      o.concurrency = (int)c;
    }
    lua_pop(L, 1);
  }
  zl_read_conn_options(L, 1, &o.conn); /* strings stay in the table; the driver copies them */
  /* box first */
  ldriver *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, DRIVER_MT);
  /* acquire second */
  b->d = zl_driver_new(&o);
  if (!b->d) return luaL_error(L, "zoomlive: cannot create libcurl handles (out of memory?)");
  return 1;
}

/* d:submit(spec[, token[, timeout]]) -> id */
static int l_submit(lua_State *L) {
  ldriver *b = check_open(L);
  zl_request q;
  char ctype[ZL_FORM_CTYPE_LEN];
  zl_read_spec(L, 2, &q, &b->form, ctype, NULL); /* the driver copies the request */
  lua_Integer id = ++b->next_id;
  int rc = zl_driver_submit(b->d, &q, (uint64_t)id);
  if (b->form.data) explicit_bzero(b->form.data, b->form.len); /* may hold a stream key */
  zl_buf_reset(&b->form);
  if (rc != 0) {
    return luaL_error(L, errno == ENOMEM ? "not enough memory" : "zoomlive: cannot submit: %s",
                      zl_driver_error(b->d));
  }
  lua_pushinteger(L, id);
  return 1;
}

/* d:cancel(id) -> sent, waiting | nil (no such transfer: finished and taken,
 * cancelled, or never submitted).  sent: request bytes may have left;
 * waiting: it still waited for a free connection (it never started). */
static int l_cancel(lua_State *L) {
  ldriver *b = check_open(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  int waiting = id >= 1 ? zl_driver_waiting(b->d, (uint64_t)id) : -1;
  int r = id >= 1 ? zl_driver_cancel(b->d, (uint64_t)id) : -1;
  if (r < 0) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushboolean(L, r);
  lua_pushboolean(L, waiting == 1); /* it had not started: no attempt was made */
  return 2;
}

static int events_of(lua_State *L, int i) {
  if (lua_type(L, i) == LUA_TNUMBER) {
    lua_Integer e = luaL_checkinteger(L, i);
    luaL_argcheck(L, e >= 0 && e <= 7, i, "events: bits 1 (in), 2 (out), 4 (error)");
    return (int)e;
  }
  const char *s = luaL_checkstring(L, i);
  int ev = 0;
  for (; *s; s++) {
    switch (*s) {
      case 'r':
      case 'd': ev |= ZL_EV_IN; break; /* readable; luv's "d": hung up */
      case 'w': ev |= ZL_EV_OUT; break;
      case 'e': ev |= ZL_EV_ERR; break;
      case 'p': break; /* luv's "p": priority data */
      default: luaL_argerror(L, i, "events: a string of r, w, e (or d, p)");
    }
  }
  return ev;
}

static int action_result(lua_State *L, ldriver *b, int rc) {
  if (rc != 0) {
    if (errno == ENOMEM) return luaL_error(L, "not enough memory");
    return luaL_error(L, "zoomlive: %s", zl_driver_error(b->d));
  }
  return 0;
}

/* d:socket_action(fd, events): events "r", "w", "rw", "e" (luv's "d" and
 * "p" too) or bits 1 (in), 2 (out), 4 (error) */
static int l_socket_action(lua_State *L) {
  ldriver *b = check_open(L);
  lua_Integer fd = luaL_checkinteger(L, 2);
  luaL_argcheck(L, fd >= 0 && fd <= 0x7fffffff, 2, "not a file descriptor");
  int ev = events_of(L, 3);
  return action_result(L, b, zl_driver_socket_action(b->d, (int)fd, ev));
}

/* d:timeout_action(): the timer of d:timer() is due */
static int l_timeout_action(lua_State *L) {
  ldriver *b = check_open(L);
  return action_result(L, b, zl_driver_timeout_action(b->d));
}

/* d:changes() -> { {fd = n, what = "in"|"out"|"inout"|"remove"}, ... }
 * oldest first; apply them in order.  The table is built before the
 * changes are drained (upvalues 1..4 hold the `what` strings), so a memory
 * error loses none. */
static int l_changes(lua_State *L) {
  ldriver *b = check_open(L);
  size_t n = zl_driver_changes(b->d, NULL, 0);
  if (n > (size_t)INT_MAX / 2) n = (size_t)INT_MAX / 2;
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, -1);
    lua_setfield(L, -2, "fd");
    lua_pushvalue(L, lua_upvalueindex(4));
    lua_setfield(L, -2, "what");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  /* from here on nothing allocates: existing keys, integers, upvalues */
  size_t done = 0;
  while (done < n) {
    zl_watch w[64];
    size_t want = n - done < 64 ? n - done : 64;
    size_t got = zl_driver_changes(b->d, w, want);
    for (size_t i = 0; i < got; i++) {
      lua_rawgeti(L, -1, (lua_Integer)(done + i + 1));
      lua_pushinteger(L, w[i].fd);
      lua_setfield(L, -2, "fd");
      int up = w[i].what == ZL_WATCH_REMOVE                ? 4
               : w[i].what == (ZL_WATCH_IN | ZL_WATCH_OUT) ? 3
               : w[i].what == ZL_WATCH_OUT                 ? 2
                                                           : 1;
      lua_pushvalue(L, lua_upvalueindex(up));
      lua_setfield(L, -2, "what");
      lua_pop(L, 1);
    }
    done += got;
    if (got < want) break;
  }
  return 1;
}

/* d:timer() -> seconds until d:timeout_action() is due (0: now), or nil */
static int l_timer(lua_State *L) {
  ldriver *b = check_open(L);
  long ms = zl_driver_timeout_ms(b->d);
  if (ms < 0)
    lua_pushnil(L);
  else
    lua_pushnumber(L, (lua_Number)ms / 1000.0);
  return 1;
}

/* d:take() -> id, resp | nil */
static int l_take(lua_State *L) {
  ldriver *b = check_open(L);
  if (!b->has_held) {
    if (!zl_driver_take(b->d, &b->held_id, &b->held, &b->held_sent)) {
      lua_pushnil(L);
      return 1;
    }
    b->has_held = 1; /* kept here until its table is complete */
  }
  lua_pushinteger(L, (lua_Integer)b->held_id);
  zl_push_response(L, &b->held); /* the response table of conn:perform */
  b->has_held = 0;
  zl_buf_reset(&b->held.body);
  return 2;
}

/* d:counts() -> waiting, running, done (not yet taken) */
static int l_counts(lua_State *L) {
  ldriver *b = check_open(L);
  size_t w, r, f;
  zl_driver_counts(b->d, &w, &r, &f);
  lua_pushinteger(L, (lua_Integer)w);
  lua_pushinteger(L, (lua_Integer)r);
  lua_pushinteger(L, (lua_Integer)(f + (size_t)b->has_held));
  return 3;
}

static const luaL_Reg methods[] = {{"submit", l_submit},
                                   {"cancel", l_cancel},
                                   {"socket_action", l_socket_action},
                                   {"timeout_action", l_timeout_action},
                                   {"changes", NULL}, /* a closure: see zl_open_driver */
                                   {"timer", l_timer},
                                   {"take", l_take},
                                   {"counts", l_counts},
                                   {"close", l_close},
                                   {NULL, NULL}};

static const luaL_Reg meta[] = {{"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring},
                                {"__index", NULL}, {"__name", NULL},     {NULL, NULL}};

/* Registers the metatable and sets core.driver in the table on the top. */
int zl_open_driver(lua_State *L) {
  zl_new_class(L, DRIVER_MT, meta, methods);
  luaL_getmetatable(L, DRIVER_MT);
  lua_getfield(L, -1, "__index");
  lua_pushliteral(L, "in");
  lua_pushliteral(L, "out");
  lua_pushliteral(L, "inout");
  lua_pushliteral(L, "remove");
  lua_pushcclosure(L, l_changes, 4);
  lua_setfield(L, -2, "changes");
  lua_pop(L, 2);
  lua_pushcfunction(L, l_driver);
  lua_setfield(L, -2, "driver");
  return 0;
}
