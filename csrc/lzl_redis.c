/* zoomlive.hiredis: a small Lua binding over hiredis (Debian's libhiredis),
 * used by zoomlive.budget.redis. Every connection is non-blocking: the
 * caller drives each round trip (append, flush while the socket is
 * writable, read while it is readable), so an event loop can wait on the
 * descriptor; hiredis.poll() is the blocking convenience, bounded by a
 * timeout.
 *
 *   local h = require "zoomlive.hiredis"
 *   local c = assert(h.connect("127.0.0.1", 6379))   -- connect started, not finished
 *   c:append("SET", "k", "v")           -> true | nil, err
 *   c:flush()                           -> done (boolean) | nil, err
 *   c:read()                            -> true, reply | false (need more) | nil, err
 *   c:fd()                              -> descriptor (integer) | nil when closed
 *   c:close()                           (also __gc, __close)
 *   h.poll(fd, "r" | "w", seconds)      -> true (ready) | false (timed out) | nil, err
 *
 * connect never waits when host is an IP address ("10.0.0.5", "::1"): the
 * socket is made non-blocking and connect(2) only started; the first
 * flush answers false (not done) until the connection is up, so the
 * caller's wait for "w" is the wait for the connect, and a refusal shows
 * as flush's or read's error. Any other host is a name: hiredis resolves
 * it with getaddrinfo(3), which blocks (zoomlive.budget.redis allows names
 * only on blocking clients). A host with ':' that is not an IPv6 address
 * is refused, never looked up.
 *
 * Replies: bulk and status -> string, integer -> integer, nil -> false,
 * array -> table (1..n), error -> { err = "message" }.
 * A write to a peer that went away never raises SIGPIPE: the signal is
 * blocked in this thread for the write and any pending one is consumed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "lauxlib.h"
#include "lua.h"

#define CONN_MT "zoomlive.hiredis.connection"
#define MAX_ARGS 64
#define MAX_DEPTH 8

typedef struct {
  redisContext *ctx;
  int too_large; /* the reader refused a reply too large to be zoomlive's */
} lconn;

/* zoomlive's replies are small (three numbers, a token entry of a few KiB,
 * OK): a reply past these bounds is not one of them, and is refused before
 * Lua sees it (copying megabytes into Lua would hold a host's loop) */
#define MAX_REPLY_BYTES (64 * 1024)
#define MAX_REPLY_ELEMENTS 64
#define MAX_ERROR_TEXT 200 /* an error reply's text is cut here */

/* hiredis's own reply builders, with the bounds applied as the reply is
 * read: an array or string past them is never built (a million elements
 * would take hiredis itself tens of milliseconds to make and free) */
static redisReplyObjectFunctions base_fns, capped_fns;
static pthread_once_t fns_once = PTHREAD_ONCE_INIT;
static void *refuse(const redisReadTask *t) {
  ((lconn *)t->privdata)->too_large = 1;
  return NULL; /* the reader stops with an error */
}

static void *capped_string(const redisReadTask *t, char *s, size_t len) {
  if (len > MAX_REPLY_BYTES) return refuse(t);
  return base_fns.createString(t, s, len);
}

static void *capped_array(const redisReadTask *t, int n) {
  if (n > MAX_REPLY_ELEMENTS) return refuse(t);
  return base_fns.createArray(t, n);
}

/* hiredis's default builders, as a fresh reader holds them (read once, by
 * whichever thread connects first) */
static void init_fns(void) {
  redisReader *r = redisReaderCreate();
  if (r) {
    base_fns = *r->fn;
    redisReaderFree(r);
  }
  capped_fns = base_fns;
  capped_fns.createString = capped_string;
  capped_fns.createArray = capped_array;
}

/* the context reads its replies through the capped builders, telling c */
static void cap_replies(redisContext *ctx, lconn *c) {
  pthread_once(&fns_once, init_fns);
  if (!base_fns.createString) return; /* no memory for the probe: hiredis's own */
  ctx->reader->fn = &capped_fns;
  ctx->reader->privdata = c;
}

static lconn *check_conn(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (!c->ctx) luaL_error(L, "attempt to use a closed zoomlive.hiredis connection");
  return c;
}

static int push_err(lua_State *L, const char *what, const char *msg) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, msg && *msg ? msg : "unknown error");
  return 2;
}

/* A non-blocking socket whose connect(2) to the address sa is started (or
 * done); -1 with errno on failure. */
static int start_connect(const struct sockaddr *sa, socklen_t len) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  do rc = connect(fd, sa, len);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* hiredis.connect(host, port) -> connection | nil, err
 * An IP address: connect started here, without a lookup and without
 * waiting (see the top of this file). A name: hiredis's non-blocking
 * context, whose getaddrinfo blocks. */
static int l_connect(lua_State *L) {
  const char *host = luaL_checkstring(L, 1);
  lua_Integer port = luaL_checkinteger(L, 2);
  luaL_argcheck(L, port > 0 && port < 65536, 2, "port out of range");
  lconn *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->ctx = NULL;
  luaL_setmetatable(L, CONN_MT);
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  int fd = -2; /* -2: a name, left to hiredis */
  if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    fd = start_connect((struct sockaddr *)&a4, sizeof a4);
  } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)port);
    fd = start_connect((struct sockaddr *)&a6, sizeof a6);
  } else if (strchr(host, ':')) {
    return push_err(L, "connect", "not an IPv6 address");
  }
  redisContext *ctx;
  if (fd == -2) {
    ctx = redisConnectNonBlock(host, (int)port);
  } else {
    if (fd < 0) return push_err(L, "connect", strerror(errno));
    ctx = redisConnectFd(fd);
    if (!ctx) {
      close(fd);
      return push_err(L, "connect", "out of memory");
    }
    /* redisConnectFd marks the context blocking: its reads and writes
     * would take EAGAIN for an error */
    ctx->flags &= ~REDIS_BLOCK;
  }
  if (!ctx) return push_err(L, "connect", "out of memory");
  if (ctx->err) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s", ctx->errstr);
    redisFree(ctx);
    return push_err(L, "connect", msg);
  }
  c->ctx = ctx;
  c->too_large = 0;
  cap_replies(ctx, c);
  return 1;
}

static int l_fd(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (!c->ctx) return 0;
  lua_pushinteger(L, c->ctx->fd);
  return 1;
}

/* c:append(arg, ...): queues one command (binary-safe arguments). */
static int l_append(lua_State *L) {
  lconn *c = check_conn(L);
  int argc = lua_gettop(L) - 1;
  luaL_argcheck(L, argc >= 1, 2, "a command expected");
  luaL_argcheck(L, argc <= MAX_ARGS, MAX_ARGS + 2, "too many arguments");
  const char *argv[MAX_ARGS];
  size_t lens[MAX_ARGS];
  for (int i = 0; i < argc; i++) {
    int t = lua_type(L, i + 2);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
      return luaL_argerror(L, i + 2, "string or number expected");
    }
    argv[i] = lua_tolstring(L, i + 2, &lens[i]);
  }
  if (redisAppendCommandArgv(c->ctx, argc, argv, lens) != REDIS_OK) {
    return push_err(L, "append", c->ctx->errstr);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* c:flush() -> done | nil, err: writes what the socket takes now. */
static int l_flush(lua_State *L) {
  lconn *c = check_conn(L);
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigpending(&pending);
  int had_pipe = sigismember(&pending, SIGPIPE);
  int done = 0;
  int rc = redisBufferWrite(c->ctx, &done);
  if (rc != REDIS_OK && !had_pipe) {
    /* consume the SIGPIPE this write raised, if any */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR) {}
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != REDIS_OK) return push_err(L, "write", c->ctx->errstr);
  lua_pushboolean(L, done);
  return 1;
}

static int too_large(const redisReply *r, int depth, size_t *bytes, size_t *elems) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: *bytes += r->len; break;
    case REDIS_REPLY_ERROR: *bytes += r->len < MAX_ERROR_TEXT ? r->len : MAX_ERROR_TEXT; break;
    case REDIS_REPLY_ARRAY:
      *elems += r->elements;
      if (*elems > MAX_REPLY_ELEMENTS) return 1;
      for (size_t i = 0; i < r->elements && depth < MAX_DEPTH; i++)
        if (too_large(r->element[i], depth + 1, bytes, elems)) return 1;
      break;
    default: break;
  }
  return *bytes > MAX_REPLY_BYTES;
}

static void push_reply(lua_State *L, const redisReply *r, int depth) {
  luaL_checkstack(L, 4, "reply too deep");
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: lua_pushlstring(L, r->str, r->len); break;
    case REDIS_REPLY_INTEGER: lua_pushinteger(L, (lua_Integer)r->integer); break;
    case REDIS_REPLY_ARRAY:
      lua_createtable(L, (int)r->elements, 0);
      for (size_t i = 0; i < r->elements; i++) {
        if (depth >= MAX_DEPTH) {
          lua_pushboolean(L, 0);
        } else {
          push_reply(L, r->element[i], depth + 1);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      break;
    case REDIS_REPLY_ERROR:
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, r->str, r->len < MAX_ERROR_TEXT ? r->len : MAX_ERROR_TEXT);
      lua_setfield(L, -2, "err");
      break;
    default: /* REDIS_REPLY_NIL and anything newer */ lua_pushboolean(L, 0); break;
  }
}

#define TOO_LARGE "a reply too large to be one of zoomlive's (over 64 KiB or 64 elements)"

static int push_reply_p(lua_State *L) {
  push_reply(L, lua_touserdata(L, 1), 0);
  return 1;
}

/* Pops one reply from hiredis into Lua: pushed (true, reply) -> 2, none
 * yet -> 0, error -> -1. The reply is freed even when pushing it fails. */
static int take_reply(lua_State *L, lconn *c) {
  void *reply = NULL;
  if (redisGetReplyFromReader(c->ctx, &reply) != REDIS_OK) return c->too_large ? -2 : -1;
  if (!reply) return 0;
  size_t bytes = 0, elems = 0;
  if (too_large(reply, 0, &bytes, &elems)) {
    freeReplyObject(reply);
    return -2;
  }
  lua_pushboolean(L, 1);
  lua_pushcfunction(L, push_reply_p);
  lua_pushlightuserdata(L, reply);
  int rc = lua_pcall(L, 1, 1, 0);
  freeReplyObject(reply);
  if (rc != LUA_OK) lua_error(L);
  return 2;
}

/* c:read() -> true, reply | false | nil, err */
static int l_read(lua_State *L) {
  lconn *c = check_conn(L);
  int n = take_reply(L, c);
  if (n > 0) return n;
  if (n == -2) return push_err(L, "protocol", TOO_LARGE);
  if (n < 0) return push_err(L, "protocol", c->ctx->errstr);
  if (redisBufferRead(c->ctx) != REDIS_OK) return push_err(L, "read", c->ctx->errstr);
  n = take_reply(L, c);
  if (n > 0) return n;
  if (n == -2) return push_err(L, "protocol", TOO_LARGE);
  if (n < 0) return push_err(L, "protocol", c->ctx->errstr);
  lua_pushboolean(L, 0);
  return 1;
}

static int l_close(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->ctx) {
    redisFree(c->ctx);
    c->ctx = NULL;
  }
  return 0;
}

static int l_tostring(lua_State *L) {
  lconn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->ctx) {
    lua_pushfstring(L, "zoomlive.hiredis.connection (fd %d)", c->ctx->fd);
  } else {
    lua_pushliteral(L, "zoomlive.hiredis.connection (closed)");
  }
  return 1;
}

/* hiredis.poll(fd, "r" | "w", seconds) -> true | false | nil, err */
static int l_poll(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  const char *ev = luaL_checkstring(L, 2);
  lua_Number secs = luaL_checknumber(L, 3);
  luaL_argcheck(L, fd >= 0 && fd <= 0x7fffffff, 1, "bad descriptor");
  short events = 0;
  if (strchr(ev, 'r')) events |= POLLIN;
  if (strchr(ev, 'w')) events |= POLLOUT;
  luaL_argcheck(L, events != 0, 2, "\"r\" or \"w\" expected");
  if (!(secs >= 0)) secs = 0;
  if (secs > 3600) secs = 3600;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  double end = (double)t0.tv_sec + t0.tv_nsec / 1e9 + secs;
  for (;;) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double left = end - ((double)t.tv_sec + t.tv_nsec / 1e9);
    if (left < 0) left = 0;
    struct pollfd p = {(int)fd, events, 0};
    int rc = poll(&p, 1, (int)(left * 1000 + 0.999));
    if (rc > 0) {
      lua_pushboolean(L, 1);
      return 1;
    }
    if (rc == 0) {
      lua_pushboolean(L, 0);
      return 1;
    }
    if (errno != EINTR) return push_err(L, "poll", strerror(errno));
  }
}

static const luaL_Reg conn_methods[] = {
  {"append", l_append}, {"flush", l_flush}, {"read", l_read},
  {"fd", l_fd},         {"close", l_close}, {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"connect", l_connect},
  {"poll", l_poll},
  {NULL, NULL},
};

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_zoomlive_hiredis(lua_State *L) {
  if (luaL_newmetatable(L, CONN_MT)) {
    luaL_newlib(L, conn_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, CONN_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushfstring(L, "%d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
  lua_setfield(L, -2, "version");
  return 1;
}
