/* lzl_multi.c - zoomlive.core.multi: many zl_conn at once on curl's multi
 * interface, for batches (lua/zoomlive/batch.lua drives it).
 *
 *   local m <close> = core.multi{ concurrency = 8, timeout = 30, ... }
 *   local slot = m:submit(request[, token[, timeout]])  -- as conn:perform
 *   local n = m:wait(max_wait_s)      -- drive transfers; n = results ready
 *   local slot, response = m:take()   -- one finished transfer
 *
 * A multi owns `concurrency` slots.  A slot is one zl_conn (a libcurl easy
 * handle, reused from request to request) with its own request body and
 * response, both C memory: Lua strings are copied in at submit and copied
 * out at take, so C holds no Lua value and Lua is touched only between
 * curl_multi_perform/curl_multi_poll calls.  Connections live in the
 * CURLM's shared cache (at most `concurrency` to a host).
 *
 * Box first, acquire second: the userdata exists with its metatable before
 * any handle is made; close (also __gc and __close) is idempotent and frees
 * everything whatever state the transfers are in. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include "lua.h"
#include "lauxlib.h"
#include "lzl_aux.h"

#define MULTI_MT "zoomlive.multi"
#define MAX_CONCURRENCY 256

typedef struct slot {
  zl_conn *conn;
  zl_response resp; /* filled by the transfer; its body buffer is reused */
  zl_buf body;      /* the request body, alive until the transfer ends */
  int state;        /* FREE, RUNNING (in the CURLM), DONE (awaiting take) */
} slot;

enum { FREE = 0, RUNNING, DONE };

typedef struct lmulti {
  CURLM *multi; /* NULL once closed */
  slot *slots;
  int n;           /* slots allocated (== concurrency once open) */
  int *free_stack; /* indices of FREE slots */
  int nfree;
  int *done; /* ring of DONE slot indices, in completion order */
  int dhead, dcount;
  int running; /* slots in the CURLM */
  int closed;
  zl_socks opened; /* sockets the CURLM's connections use (cut off in a fork child) */
  pid_t pid;       /* the process the connections belong to */
} lmulti;

/* ---- life cycle ---------------------------------------------------------- */

static void release(lmulti *m) {
  if (m->slots) {
    for (int i = 0; i < m->n; i++) {
      slot *s = &m->slots[i];
      if (s->conn) {
        if (s->state == RUNNING && m->multi)
          curl_multi_remove_handle(m->multi, zl_conn_easy(s->conn));
        zl_conn_free(s->conn);
        s->conn = NULL;
      }
      zl_buf_free(&s->resp.body);
      zl_buf_free(&s->body);
    }
    free(m->slots);
    m->slots = NULL;
  }
  if (m->multi) {
    curl_multi_cleanup(m->multi);
    m->multi = NULL;
  }
  zl_socks_free(&m->opened);
  free(m->free_stack);
  m->free_stack = NULL;
  free(m->done);
  m->done = NULL;
  m->n = m->nfree = m->dhead = m->dcount = m->running = 0;
  m->closed = 1;
}

static int l_close(lua_State *L) {
  release(luaL_checkudata(L, 1, MULTI_MT));
  return 0;
}

static lmulti *check_open(lua_State *L) {
  lmulti *m = luaL_checkudata(L, 1, MULTI_MT);
  if (m->closed) luaL_error(L, "attempt to use a closed " MULTI_MT);
  return m;
}

static int l_tostring(lua_State *L) {
  lmulti *m = luaL_checkudata(L, 1, MULTI_MT);
  if (m->closed)
    lua_pushliteral(L, MULTI_MT " (closed)");
  else
    lua_pushfstring(L, MULTI_MT " (%p, %d slots, %d running)", (void *)m, m->n, m->running);
  return 1;
}

static void push_done(lmulti *m, int i);

static CURLMcode setup_multi(lmulti *m) {
  long n = m->n;
  CURLMcode mc = curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
  if (mc == CURLM_OK) mc = curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
  if (mc == CURLM_OK) mc = curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, n);
  /* HTTP/2 (https to Zoom): many streams over few connections */
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  return mc;
}

/* the sockets of the CURLM's connections, known so that a fork child can cut
 * them off (zl_socks); close-on-exec as every zoomlive socket */
static curl_socket_t m_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  (void)purpose;
  int fd = zl_socks_open(&((lmulti *)ud)->opened, a->family, a->socktype, a->protocol);
  return fd < 0 ? CURL_SOCKET_BAD : (curl_socket_t)fd;
}

static int m_close(void *ud, curl_socket_t fd) {
  zl_socks_del(&((lmulti *)ud)->opened, (int)fd);
  return close((int)fd);
}

/* In a child after fork(): the CURLM's connections are the parent's.  They
 * are cut off (each socket now a dead local one: nothing reaches the
 * parent's peer), the transfers running end as cancelled (the parent carries
 * them on; a failure would be retried and sent twice), and a new CURLM
 * starts afresh. */
static void after_fork(lmulti *m) {
  zl_socks_orphan(&m->opened);
  for (int i = 0; i < m->n; i++) {
    slot *s = &m->slots[i];
    if (s->state != RUNNING) continue;
    curl_multi_remove_handle(m->multi, zl_conn_easy(s->conn));
    m->running--;
    int sent = zl_conn_sends(s->conn) > 0;
    s->resp.kind = ZL_CANCELLED;
    s->resp.curl_code = 0;
    s->resp.status = 0;
    s->resp.request_sent = sent;
    snprintf(s->resp.message, sizeof s->resp.message, "%s",
             "the process forked: a child does not carry on its parent's transfers");
    push_done(m, i);
  }
  curl_multi_cleanup(m->multi); /* closes the cut-off sockets */
  m->multi = curl_multi_init();
  m->pid = zl_pid();
  if (m->multi) (void)setup_multi(m);
}

static void check_fork(lua_State *L, lmulti *m) {
  if (m->pid == zl_pid()) return;
  after_fork(m);
  if (!m->multi) luaL_error(L, "zoomlive: cannot create libcurl handles (out of memory?)");
}

/* core.multi{concurrency=, timeout=, connect_timeout=, user_agent=, cainfo=,
 * capath=, insecure=, max_body=} */
static int l_multi(lua_State *L) {
  int has = !lua_isnoneornil(L, 1);
  if (has) luaL_checktype(L, 1, LUA_TTABLE);
  zl_conn_options o;
  lua_Integer conc = 8;
  if (has) {
    lua_getfield(L, 1, "concurrency");
    if (!lua_isnil(L, -1)) {
      int isint;
      conc = lua_tointegerx(L, -1, &isint);
      if (!isint || conc < 1 || conc > MAX_CONCURRENCY)
        luaL_error(L, "option 'concurrency' must be an integer from 1 to %d", MAX_CONCURRENCY);
    }
    lua_pop(L, 1);
  }
  zl_read_conn_options(L, 1, &o);
  int n = (int)conc;

  /* box first */
  lmulti *m = lua_newuserdatauv(L, sizeof *m, 0);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, MULTI_MT);
  /* acquire second: on any failure, release() undoes what was done */
  m->pid = zl_pid();
  m->multi = curl_multi_init();
  m->slots = calloc((size_t)n, sizeof *m->slots);
  m->free_stack = calloc((size_t)n, sizeof *m->free_stack);
  m->done = calloc((size_t)n, sizeof *m->done);
  if (!m->multi || !m->slots || !m->free_stack || !m->done) goto nomem;
  m->n = n;
  for (int i = 0; i < n; i++) {
    m->slots[i].conn = zl_conn_new(&o);
    if (!m->slots[i].conn) goto nomem;
  }
  for (int i = 0; i < n; i++) m->free_stack[i] = n - 1 - i; /* slot 1 first */
  m->nfree = n;
  CURLMcode mc = setup_multi(m);
  if (mc != CURLM_OK) {
    release(m);
    return luaL_error(L, "zoomlive: curl_multi_setopt: %s", curl_multi_strerror(mc));
  }
  return 1;
nomem:
  release(m);
  return luaL_error(L, "zoomlive: cannot create libcurl handles (out of memory?)");
}

/* ---- submitting ---------------------------------------------------------- */

static int take_free(lua_State *L, lmulti *m) {
  if (m->nfree == 0)
    luaL_error(L, MULTI_MT ": no free slot (%d running, %d awaiting take)", m->running, m->dcount);
  return m->free_stack[m->nfree - 1]; /* popped once the submit cannot fail */
}

static void push_done(lmulti *m, int i) {
  m->slots[i].state = DONE;
  m->done[(m->dhead + m->dcount) % m->n] = i;
  m->dcount++;
}

/* Starts slot i with q; the body is already in the slot's buffer.  A request
 * zl_conn_prepare refuses completes at once: take() reports it like any
 * other failed attempt.  Returns the slot number (1-based) on the stack. */
static int start(lua_State *L, lmulti *m, int i, zl_request *q) {
  slot *s = &m->slots[i];
  m->nfree--;
  zl_kind k = zl_conn_prepare(s->conn, q, &s->resp);
  if (k == ZL_OK) {
    CURL *e = zl_conn_easy(s->conn);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, m_open);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, m);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, m_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, m);
    CURLMcode mc = curl_multi_add_handle(m->multi, e);
    if (mc == CURLM_OK) {
      s->state = RUNNING;
      m->running++;
      lua_pushinteger(L, i + 1);
      return 1;
    }
    /* cannot add: report it through the slot like a refused request */
    zl_conn_finish(s->conn, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT,
                   &s->resp);
    snprintf(s->resp.message, sizeof s->resp.message, "curl_multi_add_handle: %s",
             curl_multi_strerror(mc));
  }
  push_done(m, i);
  lua_pushinteger(L, i + 1);
  return 1;
}

/* m:submit(request[, token[, timeout]]) -> slot   (as conn:perform)
 * The body (or the encoded form) is copied into the slot's buffer: C holds
 * no Lua value while the transfer runs. */
static int l_submit(lua_State *L) {
  lmulti *m = check_open(L);
  check_fork(L, m);
  int i = take_free(L, m);
  zl_request q;
  char ctype[ZL_FORM_CTYPE_LEN];
  slot *s = &m->slots[i];
  zl_read_spec(L, 2, &q, &s->body, ctype, &s->body);
  return start(L, m, i, &q);
}

/* ---- driving ------------------------------------------------------------- */

static void collect(lmulti *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *e = msg->easy_handle;
    CURLcode rc = msg->data.result;
    for (int i = 0; i < m->n; i++) {
      slot *s = &m->slots[i];
      if (s->state == RUNNING && zl_conn_easy(s->conn) == e) {
        curl_multi_remove_handle(m->multi, e);
        m->running--;
        zl_conn_finish(s->conn, (int)rc, &s->resp);
        push_done(m, i);
        break;
      }
    }
  }
}

static int perform(lmulti *m, const char **why) {
  int still;
  CURLMcode mc = curl_multi_perform(m->multi, &still);
  if (mc != CURLM_OK) {
    *why = curl_multi_strerror(mc);
    return -1;
  }
  collect(m);
  return 0;
}

/* m:wait(max_wait_s) -> results ready to take
 * Runs the transfers; when none has finished, waits in curl_multi_poll for
 * socket activity or at most max_wait_s, then runs them again.  With nothing
 * running it simply waits max_wait_s (the batch's pacing and retry waits).
 * No Lua code runs inside. */
static int l_wait(lua_State *L) {
  lmulti *m = check_open(L);
  check_fork(L, m);
  lua_Number w = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, w == w && w >= 0, 2, "seconds must be >= 0");
  if (w > 3600) w = 3600;
  const char *why = NULL;
  if (m->dcount == 0 && m->running > 0 && perform(m, &why) != 0)
    return luaL_error(L, "zoomlive: curl_multi_perform: %s", why);
  if (m->dcount == 0) {
    int ms = (int)ceil(w * 1000.0);
    /* an abort was asked for: wake often enough to end the grace on time */
    if (zl_abort_requested() && ms > 100) ms = 100;
    if (ms > 0) {
      if (m->running > 0) {
        CURLMcode mc = curl_multi_poll(m->multi, NULL, 0, ms, NULL);
        if (mc != CURLM_OK)
          return luaL_error(L, "zoomlive: curl_multi_poll: %s", curl_multi_strerror(mc));
        if (perform(m, &why) != 0) return luaL_error(L, "zoomlive: curl_multi_perform: %s", why);
      } else {
        zl_sleep(w);
      }
    }
  }
  lua_pushinteger(L, m->dcount);
  return 1;
}

/* m:take() -> slot, response | nil   (the response table of conn:perform)
 * The slot is free again afterwards. */
static int l_take(lua_State *L) {
  lmulti *m = check_open(L);
  if (m->dcount == 0) {
    lua_pushnil(L);
    return 1;
  }
  int i = m->done[m->dhead];
  slot *s = &m->slots[i];
  zl_response *r = &s->resp;
  luaL_checkstack(L, 4, NULL);
  /* the slot goes back first: a memory error below cannot strand it */
  m->dhead = (m->dhead + 1) % m->n;
  m->dcount--;
  s->state = FREE;
  m->free_stack[m->nfree++] = i;
  lua_pushinteger(L, i + 1);
  zl_push_response(L, r);
  return 2;
}

/* m:cancel(slot): stops a running transfer (or drops a finished one not yet
 * taken); the slot is free again.  Returns whether request bytes may have
 * left (a connection was ready to send), or nil for a free slot. */
static int l_cancel(lua_State *L) {
  lmulti *m = check_open(L);
  lua_Integer k = luaL_checkinteger(L, 2);
  luaL_argcheck(L, k >= 1 && k <= m->n, 2, "no such slot");
  int i = (int)(k - 1);
  slot *s = &m->slots[i];
  if (s->state == FREE) {
    lua_pushnil(L);
    return 1;
  }
  int sent;
  if (s->state == RUNNING) {
    /* bytes may have left once a connection was ready to send */
    sent = zl_conn_sends(s->conn) > 0;
    curl_multi_remove_handle(m->multi, zl_conn_easy(s->conn));
    m->running--;
  } else { /* DONE: drop it from the ring */
    sent = s->resp.request_sent != 0;
    int kept = 0;
    for (int j = 0; j < m->dcount; j++) {
      int v = m->done[(m->dhead + j) % m->n];
      if (v != i) m->done[(m->dhead + kept++) % m->n] = v;
    }
    m->dcount = kept;
  }
  s->state = FREE;
  m->free_stack[m->nfree++] = i;
  lua_pushboolean(L, sent);
  return 1;
}

/* m:counts() -> free, running, done */
static int l_counts(lua_State *L) {
  lmulti *m = check_open(L);
  lua_pushinteger(L, m->nfree);
  lua_pushinteger(L, m->running);
  lua_pushinteger(L, m->dcount);
  return 3;
}

static const luaL_Reg methods[] = {{"submit", l_submit}, {"wait", l_wait},     {"take", l_take},
                                   {"cancel", l_cancel}, {"counts", l_counts}, {"close", l_close},
                                   {NULL, NULL}};

static const luaL_Reg meta[] = {{"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring},
                                {"__index", NULL}, {"__name", NULL},     {NULL, NULL}};

/* Registers the metatable and sets core.multi in the table on the top. */
int zl_open_multi(lua_State *L) {
  zl_new_class(L, MULTI_MT, meta, methods);
  lua_pushcfunction(L, l_multi);
  lua_setfield(L, -2, "multi");
  return 0;
}
