/* zl_driver.c - transfers that never block the host: libcurl's multi_socket
 * interface (CURLMOPT_SOCKETFUNCTION + curl_multi_socket_action) driven by
 * the host's own event loop.  See zoomlive.h for the contract.
 *
 * Each running transfer has one zl_conn of the driver's `concurrency` (the
 * same request engine as the blocking calls: zl_conn_prepare before,
 * zl_conn_finish after); the rest wait in submission order.  Connections
 * live in the CURLM's cache.
 *
 * libcurl's callbacks only record: socket-watch changes go into a queue the
 * host drains (zl_driver_changes), socket opens and closes into small
 * tables, "a connection is ready to send" into the transfer.  Nothing here
 * calls the host from inside libcurl, so a host's error can never unwind
 * through a libcurl frame.
 *
 * Closes are deferred: a socket the host may be watching is closed only
 * after the host has drained its ZL_WATCH_REMOVE (at the next driver call),
 * so its number cannot be reused under the host's watch. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include "zl_internal.h"

#define DEFAULT_CONCURRENCY 8
#define MAX_CONCURRENCY 1024

enum { WAITING = 1, RUNNING, DONE };

typedef struct xfer {
  uint64_t id;
  int state;
  int sent;     /* a connection was ready to send: bytes may have left */
  int slot;     /* RUNNING: index of its connection */
  zl_request q; /* its strings and body live in mem */
  char *mem;    /* token, credentials, body: wiped before it is freed */
  size_t memlen;
  zl_response resp;
  double due; /* monotonic s: q.deadline_ms after its submit, or HUGE_VAL */
  struct xfer *prev, *next;
} xfer;

typedef struct xlist {
  xfer *head, *tail;
  size_t n;
} xlist;

/* what the host has been told about a socket */
typedef struct wsock {
  int fd;
  int known;         /* the host watches it (as of the changes drained) */
  int queued;        /* changes for it not yet drained */
  int close_pending; /* libcurl closed it; we close once the host lets go */
} wsock;

struct zl_driver {
  CURLM *multi;
  int conc;
  zl_conn **conns;
  int *free_slots;
  int nfree;
  xlist waiting, running, done;
  zl_watch *chg; /* the changes not yet drained, oldest first */
  size_t nchg, capchg;
  wsock *ws;
  size_t nws, capws;
  int *toclose; /* drained REMOVEs of closed sockets: closed at the next call */
  size_t ntoclose, captoclose;
  zl_socks opened; /* every socket our handles opened and we have not closed */
  int cb_failed;   /* a callback could not record (no memory) */
  int freeing;
  int forking; /* after_fork is letting go of the parent's handles */
  pid_t pid;
  zl_conn_options copt; /* with its own copies of the strings */
  char *ua, *cainfo, *capath;
  char err[160];
};

/* ---- small containers ---------------------------------------------------- */

static void xl_push(xlist *l, xfer *x) {
  x->next = NULL;
  x->prev = l->tail;
  if (l->tail)
    l->tail->next = x;
  else
    l->head = x;
  l->tail = x;
  l->n++;
}

static void xl_unlink(xlist *l, xfer *x) {
  if (x->prev)
    x->prev->next = x->next;
  else
    l->head = x->next;
  if (x->next)
    x->next->prev = x->prev;
  else
    l->tail = x->prev;
  x->prev = x->next = NULL;
  l->n--;
}

static xlist *list_of(zl_driver *d, xfer *x) {
  return x->state == WAITING ? &d->waiting : x->state == RUNNING ? &d->running : &d->done;
}

static xfer *find(zl_driver *d, uint64_t id) {
  xlist *ls[3] = {&d->running, &d->waiting, &d->done};
  for (int i = 0; i < 3; i++)
    for (xfer *x = ls[i]->head; x; x = x->next)
      if (x->id == id) return x;
  return NULL;
}

static void wipe_request(xfer *x) {
  if (x->mem) explicit_bzero(x->mem, x->memlen);
  free(x->mem);
  x->mem = NULL;
  x->memlen = 0;
}

static void xfer_free(xfer *x) {
  if (!x) return;
  wipe_request(x);
  zl_buf_free(&x->resp.body);
  free(x);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap * 2 : 16;
  while (c < need) c *= 2;
  void *n = realloc(*p, c * elem);
  if (!n) return -1;
  *p = n;
  *cap = c;
  return 0;
}

static wsock *ws_find(zl_driver *d, int fd) {
  for (size_t i = 0; i < d->nws; i++)
    if (d->ws[i].fd == fd) return &d->ws[i];
  return NULL;
}

static void ws_drop(zl_driver *d, wsock *w) { *w = d->ws[--d->nws]; }

/* ---- libcurl callbacks: record, nothing else ----------------------------- */

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sp) {
  (void)e;
  (void)sp;
  zl_driver *d = ud;
  if (d->forking) return 0; /* after_fork has queued the removals itself */
  int w = what == CURL_POLL_REMOVE ? ZL_WATCH_REMOVE
                                   : ((what & CURL_POLL_IN) ? ZL_WATCH_IN : 0) |
                                       ((what & CURL_POLL_OUT) ? ZL_WATCH_OUT : 0);
  if (w == 0) w = ZL_WATCH_REMOVE; /* CURL_POLL_NONE: nothing to wait for */
  wsock *k = ws_find(d, (int)s);
  if (!k) {
    if (w == ZL_WATCH_REMOVE) return 0; /* the host never heard of it */
    if (grow((void **)&d->ws, &d->capws, d->nws + 1, sizeof *d->ws)) goto nomem;
    k = &d->ws[d->nws++];
    memset(k, 0, sizeof *k);
    k->fd = (int)s;
  }
  /* a later add for the same socket replaces a pending add; a removal
   * always stays a change of its own, in order */
  if (w != ZL_WATCH_REMOVE) {
    for (size_t i = d->nchg; i-- > 0;) {
      if (d->chg[i].fd != (int)s) continue;
      if (d->chg[i].what != ZL_WATCH_REMOVE) {
        d->chg[i].what = w;
        return 0;
      }
      break;
    }
  }
  if (grow((void **)&d->chg, &d->capchg, d->nchg + 1, sizeof *d->chg)) goto nomem;
  d->chg[d->nchg].fd = (int)s;
  d->chg[d->nchg].what = w;
  d->nchg++;
  k->queued++;
  return 0;
nomem:
  d->cb_failed = 1;
  return -1;
}

static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  (void)purpose;
  zl_driver *d = ud;
  int fd = zl_socks_open(&d->opened, a->family, a->socktype, a->protocol);
  if (fd < 0) d->cb_failed = errno == ENOMEM;
  return fd < 0 ? CURL_SOCKET_BAD : (curl_socket_t)fd;
}

static int on_close(void *ud, curl_socket_t s) {
  zl_driver *d = ud;
  int fd = (int)s;
  wsock *k = ws_find(d, fd);
  if (k && !d->freeing && (k->known || k->queued)) {
    k->close_pending = 1; /* closed once the host has drained its REMOVE */
    return 0;
  }
  if (k) ws_drop(d, k);
  zl_socks_del(&d->opened, fd);
  return close(fd);
}

/* ---- life cycle ---------------------------------------------------------- */

static int multi_setup(zl_driver *d) {
  d->multi = curl_multi_init();
  d->conns = calloc((size_t)d->conc, sizeof *d->conns);
  d->free_slots = calloc((size_t)d->conc, sizeof *d->free_slots);
  if (!d->multi || !d->conns || !d->free_slots) return -1;
  for (int i = 0; i < d->conc; i++) {
    d->conns[i] = zl_conn_new(&d->copt);
    if (!d->conns[i]) return -1;
  }
  for (int i = 0; i < d->conc; i++) d->free_slots[i] = d->conc - 1 - i;
  d->nfree = d->conc;
  long n = d->conc;
  CURLMcode mc = curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  if (mc == CURLM_OK) mc = curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
  if (mc == CURLM_OK) mc = curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
  if (mc == CURLM_OK) mc = curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
  if (mc == CURLM_OK) mc = curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, n);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(d->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  return mc == CURLM_OK ? 0 : -1;
}

/* Lets go of libcurl: the running transfers leave the multi, the
 * connections close (closes the host may be watching are deferred unless
 * the driver is being freed). */
static void multi_teardown(zl_driver *d) {
  for (xfer *x = d->running.head; x; x = x->next)
    curl_multi_remove_handle(d->multi, zl_conn_easy(d->conns[x->slot]));
  if (d->conns) {
    for (int i = 0; i < d->conc; i++) zl_conn_free(d->conns[i]);
    free(d->conns);
    d->conns = NULL;
  }
  if (d->multi) curl_multi_cleanup(d->multi);
  d->multi = NULL;
  free(d->free_slots);
  d->free_slots = NULL;
  d->nfree = 0;
}

static char *dup_opt(const char *s, int *bad) {
  if (!s) return NULL;
  char *p = strdup(s);
  if (!p) *bad = 1;
  return p;
}

zl_driver *zl_driver_new(const zl_driver_options *o) {
  int conc = (o && o->concurrency) ? o->concurrency : DEFAULT_CONCURRENCY;
  if (conc < 1 || conc > MAX_CONCURRENCY) {
    errno = EINVAL;
    return NULL;
  }
  zl_driver *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->conc = conc;
  d->pid = zl_pid();
  if (o) d->copt = o->conn;
  int bad = 0;
  d->copt.user_agent = d->ua = dup_opt(d->copt.user_agent, &bad);
  d->copt.cainfo = d->cainfo = dup_opt(d->copt.cainfo, &bad);
  d->copt.capath = d->capath = dup_opt(d->copt.capath, &bad);
  if (bad || multi_setup(d) != 0) {
    zl_driver_free(d);
    errno = ENOMEM;
    return NULL;
  }
  return d;
}

static void close_deferred(zl_driver *d) {
  for (size_t i = 0; i < d->ntoclose; i++) {
    zl_socks_del(&d->opened, d->toclose[i]);
    close(d->toclose[i]);
  }
  d->ntoclose = 0;
}

void zl_driver_free(zl_driver *d) {
  if (!d) return;
  if (d->pid != zl_pid()) zl_socks_orphan(&d->opened); /* a child: the parent's connections */
  d->freeing = 1;
  multi_teardown(d);
  close_deferred(d);
  for (size_t i = 0; i < d->nws; i++)
    if (d->ws[i].close_pending) {
      zl_socks_del(&d->opened, d->ws[i].fd);
      close(d->ws[i].fd);
    }
  xlist *ls[3] = {&d->running, &d->waiting, &d->done};
  for (int i = 0; i < 3; i++)
    while (ls[i]->head) {
      xfer *x = ls[i]->head;
      xl_unlink(ls[i], x);
      xfer_free(x);
    }
  zl_socks_free(&d->opened);
  free(d->chg);
  free(d->ws);
  free(d->toclose);
  free(d->ua);
  free(d->cainfo);
  free(d->capath);
  free(d);
}

/* ---- transfers ----------------------------------------------------------- */

static void finish_now(zl_driver *d, xfer *x, zl_kind k, int code, const char *msg) {
  x->resp.kind = k;
  x->resp.curl_code = code;
  x->resp.status = 0;
  x->resp.request_sent = x->sent;
  snprintf(x->resp.message, sizeof x->resp.message, "%s", msg);
  x->state = DONE;
  xl_push(&d->done, x);
}

/* The least timeout a transfer gets: libcurl 7.88's multi_socket interface
 * misses a 1 ms CURLOPT_TIMEOUT_MS (the transfer ends at its next timer,
 * 200 ms later: the happy-eyeballs one); 2 ms is kept.  A queued request
 * with less than this left is not started. */
#define MIN_TIMEOUT_MS 2

/* milliseconds from now until due, rounded up (no libm for one ceil) */
static long ms_until(double due, double now) {
  double v = (due - now) * 1000.0;
  if (v <= 0) return 0;
  long l = (long)v;
  return (double)l < v ? l + 1 : l;
}

static const char queued_out[] =
  "deadline reached waiting for a free connection (concurrency): nothing sent";

/* a waiting transfer whose deadline passed: never started, nothing sent */
static void finish_queued(zl_driver *d, xfer *x) {
  finish_now(d, x, ZL_TIMEOUT, CURLE_OPERATION_TIMEDOUT, queued_out);
  x->resp.queued = 1;
}

/* Ends the waiting transfers whose deadline passed in the queue (nothing
 * was sent). */
static void expire_waiting(zl_driver *d, double now) {
  xfer *x = d->waiting.head;
  while (x) {
    xfer *next = x->next;
    if (now >= x->due) {
      xl_unlink(&d->waiting, x);
      finish_queued(d, x);
    }
    x = next;
  }
}

/* Moves waiting transfers onto free connections; one with a deadline runs
 * for what is left of it at most. */
static void start_waiting(zl_driver *d) {
  if (d->waiting.head) expire_waiting(d, zl_monotonic());
  while (d->nfree > 0 && d->waiting.head) {
    xfer *x = d->waiting.head;
    xl_unlink(&d->waiting, x);
    if (x->due < HUGE_VAL) {
      long left = ms_until(x->due, zl_monotonic());
      if (left <= MIN_TIMEOUT_MS - 1) { /* no answer can come back in time: not sent */
        finish_queued(d, x);
        continue;
      }
      long tmo = x->q.timeout_ms > 0 ? x->q.timeout_ms : d->copt.timeout_ms;
      if (tmo <= 0 || left < tmo) x->q.timeout_ms = left;
    }
    if (x->q.timeout_ms > 0 && x->q.timeout_ms < MIN_TIMEOUT_MS) x->q.timeout_ms = MIN_TIMEOUT_MS;
    int slot = d->free_slots[--d->nfree];
    zl_conn *c = d->conns[slot];
    zl_kind k = zl_conn_prepare(c, &x->q, &x->resp);
    if (k == ZL_OK) {
      CURL *e = zl_conn_easy(c);
      CURLcode rc = CURLE_OK;
#define SET(opt, val)                                       \
  do {                                                      \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
  } while (0)
      SET(CURLOPT_PRIVATE, x);
      SET(CURLOPT_OPENSOCKETFUNCTION, on_open);
      SET(CURLOPT_OPENSOCKETDATA, d);
      SET(CURLOPT_CLOSESOCKETFUNCTION, on_close);
      SET(CURLOPT_CLOSESOCKETDATA, d);
#undef SET
      CURLMcode mc = rc == CURLE_OK ? curl_multi_add_handle(d->multi, e) : CURLM_OUT_OF_MEMORY;
      if (mc == CURLM_OK) {
        x->state = RUNNING;
        x->slot = slot;
        xl_push(&d->running, x);
        continue;
      }
      char msg[160];
      snprintf(msg, sizeof msg, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
      k = mc == CURLM_OUT_OF_MEMORY ? ZL_MEMORY : ZL_TRANSPORT;
      d->free_slots[d->nfree++] = slot;
      finish_now(d, x, k, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT, msg);
      continue;
    }
    /* refused by the engine: it finishes at once, as the blocking call would */
    d->free_slots[d->nfree++] = slot;
    x->state = DONE;
    xl_push(&d->done, x);
  }
}

static void release_slot(zl_driver *d, xfer *x) {
  d->free_slots[d->nfree++] = x->slot;
  x->slot = -1;
}

/* Finished transfers move to the done list; waiting ones take their place. */
static void collect(zl_driver *d) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(d->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL *e = m->easy_handle;
    CURLcode rc = m->data.result;
    xfer *x = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
    if (!x || x->state != RUNNING) continue;
    curl_multi_remove_handle(d->multi, e);
    zl_conn_finish(d->conns[x->slot], (int)rc, &x->resp);
    /* "may have left" from the moment a connection was ready to send */
    x->resp.request_sent = x->resp.request_sent || x->sent || x->resp.sends > 0;
    x->sent = x->resp.request_sent;
    release_slot(d, x);
    xl_unlink(&d->running, x);
    wipe_request(x); /* the request is no longer needed */
    memset(&x->q, 0, sizeof x->q);
    x->state = DONE;
    xl_push(&d->done, x);
  }
  start_waiting(d);
}

/* After fork(), in the child: the connections, sockets and transfers are
 * the parent's.  Cut the sockets off (zl_socks_orphan), end the transfers
 * (a waiting one too: the parent sends it), drop every handle, start afresh.
 * The host hears ZL_WATCH_REMOVE for every socket it watched. */
static void after_fork(zl_driver *d) {
  zl_socks_orphan(&d->opened);
  d->forking = 1;
  static const char msg[] = "the process forked: a child does not carry on its parent's transfers";
  while (d->running.head) {
    xfer *x = d->running.head;
    xl_unlink(&d->running, x);
    curl_multi_remove_handle(d->multi, zl_conn_easy(d->conns[x->slot]));
    /* may have left from the moment a connection was ready to send */
    x->sent = x->sent || zl_conn_sends(d->conns[x->slot]) > 0;
    /* cancelled, not failed: a failure would be retried, and the child would
     * send again what its parent is carrying on */
    finish_now(d, x, ZL_CANCELLED, 0, msg);
  }
  while (d->waiting.head) {
    xfer *x = d->waiting.head;
    xl_unlink(&d->waiting, x);
    finish_now(d, x, ZL_CANCELLED, 0, msg);
  }
  for (size_t i = 0; i < d->nws; i++) {
    /* watched once the host has drained what is queued? then one REMOVE
     * (on_socket queues nothing while forking) */
    int watched = d->ws[i].known;
    for (size_t k = d->nchg; k-- > 0;)
      if (d->chg[k].fd == d->ws[i].fd) {
        watched = d->chg[k].what != ZL_WATCH_REMOVE;
        break;
      }
    if (watched) {
      if (grow((void **)&d->chg, &d->capchg, d->nchg + 1, sizeof *d->chg) == 0) {
        d->chg[d->nchg].fd = d->ws[i].fd;
        d->chg[d->nchg].what = ZL_WATCH_REMOVE;
        d->nchg++;
        d->ws[i].queued++;
      }
    }
  }
  multi_teardown(d); /* closes the cut-off sockets, deferring watched ones */
  /* whatever libcurl kept open of the parent's: close it (not the deferred) */
  for (size_t i = 0; i < d->opened.n;) {
    int fd = d->opened.fd[i];
    wsock *k = ws_find(d, fd);
    if (k && (k->close_pending || k->known || k->queued)) {
      k->close_pending = 1;
      i++;
      continue;
    }
    zl_socks_del(&d->opened, fd);
    close(fd);
  }
  d->forking = 0;
  d->pid = zl_pid();
  if (multi_setup(d) != 0) {
    snprintf(d->err, sizeof d->err, "out of memory starting afresh after fork");
    multi_teardown(d);
  }
}

/* Every entry point but zl_driver_changes (a host may drain in several
 * calls before it applies): after fork, start afresh; close what the host
 * has let go. */
static int enter(zl_driver *d) {
  if (d->pid != zl_pid()) after_fork(d);
  close_deferred(d);
  if (!d->multi) {
    if (!d->err[0]) snprintf(d->err, sizeof d->err, "the driver has no libcurl handle");
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

int zl_driver_submit(zl_driver *d, const zl_request *q, uint64_t id) {
  if (!q || !q->method || !q->url) {
    errno = EINVAL;
    return -1;
  }
  if (enter(d) != 0) return -1;
  if (find(d, id)) {
    errno = EEXIST;
    return -1;
  }
  const char *s[5] = {q->method, q->url, q->token, q->basic, q->content_type};
  size_t len[5], total = q->body ? q->body_len + 1 : 0;
  for (int i = 0; i < 5; i++) {
    len[i] = s[i] ? strlen(s[i]) + 1 : 0;
    total += len[i];
  }
  xfer *x = calloc(1, sizeof *x);
  char *mem = x ? malloc(total ? total : 1) : NULL;
  if (!mem) {
    free(x);
    errno = ENOMEM;
    return -1;
  }
  x->mem = mem;
  x->memlen = total ? total : 1;
  x->id = id;
  x->slot = -1;
  x->q = *q;
  const char **dst[5] = {&x->q.method, &x->q.url, &x->q.token, &x->q.basic, &x->q.content_type};
  char *p = mem;
  for (int i = 0; i < 5; i++) {
    if (!s[i]) continue;
    memcpy(p, s[i], len[i]);
    *dst[i] = p;
    p += len[i];
  }
  if (q->body) {
    if (q->body_len) memcpy(p, q->body, q->body_len);
    p[q->body_len] = '\0';
    x->q.body = p;
  }
  x->due = q->deadline_ms > 0 ? zl_monotonic() + q->deadline_ms / 1000.0 : HUGE_VAL;
  x->state = WAITING;
  xl_push(&d->waiting, x);
  start_waiting(d);
  return 0;
}

int zl_driver_waiting(zl_driver *d, uint64_t id) {
  xfer *x = find(d, id);
  if (!x) return -1;
  return x->state == WAITING;
}

int zl_driver_cancel(zl_driver *d, uint64_t id) {
  (void)enter(d);
  xfer *x = find(d, id);
  if (!x) {
    errno = ENOENT;
    return -1;
  }
  /* "may have left" from the moment a connection was ready to send
   * (the connection counts it: zl_conn_sends) */
  int sent = x->sent || (x->state == RUNNING && zl_conn_sends(d->conns[x->slot]) > 0);
  xl_unlink(list_of(d, x), x);
  if (x->state == RUNNING) {
    curl_multi_remove_handle(d->multi, zl_conn_easy(d->conns[x->slot]));
    release_slot(d, x);
  }
  xfer_free(x);
  if (d->multi) start_waiting(d);
  return sent;
}

static int settle(zl_driver *d, CURLMcode mc, const char *what) {
  collect(d);
  if (mc != CURLM_OK || d->cb_failed) {
    snprintf(d->err, sizeof d->err, "%s: %s", what,
             mc != CURLM_OK ? curl_multi_strerror(mc) : "out of memory in a libcurl callback");
    d->cb_failed = 0;
    return -1;
  }
  return 0;
}

int zl_driver_socket_action(zl_driver *d, int fd, int ev) {
  if (enter(d) != 0) return -1;
  int mask = ((ev & ZL_EV_IN) ? CURL_CSELECT_IN : 0) | ((ev & ZL_EV_OUT) ? CURL_CSELECT_OUT : 0) |
             ((ev & ZL_EV_ERR) ? CURL_CSELECT_ERR : 0);
  int running;
  return settle(d, curl_multi_socket_action(d->multi, (curl_socket_t)fd, mask, &running),
                "curl_multi_socket_action");
}

int zl_driver_timeout_action(zl_driver *d) {
  if (enter(d) != 0) return -1;
  if (d->waiting.head) expire_waiting(d, zl_monotonic());
  int running;
  return settle(d, curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running),
                "curl_multi_socket_action");
}

size_t zl_driver_changes(zl_driver *d, zl_watch *out, size_t max) {
  if (d->pid != zl_pid()) after_fork(d);
  if (max == 0) return d->nchg;
  size_t n = d->nchg < max ? d->nchg : max;
  if (n == 0) return 0;
  memcpy(out, d->chg, n * sizeof *out);
  memmove(d->chg, d->chg + n, (d->nchg - n) * sizeof *d->chg);
  d->nchg -= n;
  for (size_t i = 0; i < n; i++) {
    wsock *k = ws_find(d, out[i].fd);
    if (!k) continue;
    k->queued--;
    k->known = out[i].what != ZL_WATCH_REMOVE;
    if (k->known || k->queued) continue;
    if (k->close_pending) {
      /* the host applies this REMOVE before its next call: close then */
      if (grow((void **)&d->toclose, &d->captoclose, d->ntoclose + 1, sizeof *d->toclose) == 0) {
        d->toclose[d->ntoclose++] = k->fd;
        ws_drop(d, k);
      } /* else: it stays pending and is closed with the driver */
    } else {
      ws_drop(d, k);
    }
  }
  return n;
}

long zl_driver_timeout_ms(zl_driver *d) {
  if (!d->multi) return -1;
  long ms = -1;
  if (curl_multi_timeout(d->multi, &ms) != CURLM_OK) ms = -1;
  /* a waiting transfer's deadline is a timer too */
  if (d->waiting.head) {
    double now = zl_monotonic();
    for (xfer *x = d->waiting.head; x; x = x->next) {
      if (x->due == HUGE_VAL) continue;
      long w = ms_until(x->due, now);
      if (ms < 0 || w < ms) ms = w;
    }
  }
  return ms;
}

int zl_driver_take(zl_driver *d, uint64_t *id, zl_response *resp, int *sent) {
  xfer *x = d->done.head;
  if (!x) return 0;
  xl_unlink(&d->done, x);
  if (id) *id = x->id;
  if (sent) *sent = x->sent;
  zl_buf_free(&resp->body);
  *resp = x->resp;
  memset(&x->resp, 0, sizeof x->resp);
  xfer_free(x);
  return 1;
}

void zl_driver_counts(zl_driver *d, size_t *waiting, size_t *running, size_t *done) {
  if (waiting) *waiting = d->waiting.n;
  if (running) *running = d->running.n;
  if (done) *done = d->done.n;
}

const char *zl_driver_error(zl_driver *d) { return d->err; }
