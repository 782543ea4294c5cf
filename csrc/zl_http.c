/* zl_http.c - one reusable libcurl easy handle per connection object.
 *
 * The handle keeps its connection (and TLS session) between requests.  The
 * callbacks only copy bytes into C memory: nothing here calls Lua, so no Lua
 * error can ever unwind through a libcurl frame. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include "zl_internal.h"

#define DEFAULT_MAX_BODY (64 * 1024)
/* Past the stored cap, a body is read and dropped up to this many bytes so
 * the connection stays reusable; beyond it the transfer is cut. */
#define DISCARD_LIMIT (4 * 1024 * 1024)

struct zl_conn {
  CURL *easy;
  CURLSH *share;                        /* fresh_handles: the connections live here */
  int fresh;                            /* a new easy handle before each transfer */
  int used;                             /* the easy handle has done a transfer */
  struct curl_slist *hdrs;              /* Accept, User-Agent, [Authorization], [Content-Type] */
  char *auth_line;                      /* the Authorization line inside hdrs, or NULL */
  char *ctype_line;                     /* the Content-Type line inside hdrs, or NULL */
  char ua_line[ZL_USER_AGENT_MAX + 16]; /* "User-Agent: ..." (a header line: libcurl would
                                  rebuild CURLOPT_USERAGENT's on every transfer) */
  /* what the handle is set to, so unchanged options are not set again */
  long set_timeout;
  char *set_url; /* a copy of the URL the handle holds (checked), or NULL */
  char set_method[16];
  int set_has_body; /* -1 unknown, 0 GET-like, 1 with a body */
  int set_basic;
  long timeout_ms;
  size_t max_body;
  size_t seen_body;  /* bytes of body received, stored or not */
  int store_failed;  /* the reply body could not be stored (no memory) */
  zl_response *resp; /* the response being filled */
  double started;
  int sends; /* times the current request got a connection to go out on */
  char errbuf[CURL_ERROR_SIZE];
  pid_t pid;         /* the process the handle's connections belong to */
  struct seen_sock { /* connections this handle used, by 4-tuple */
    int fd;
    struct sockaddr_storage local, peer;
    socklen_t llen, plen;
  } seen[4];
  int nseen;
  /* the idle pool: conns whose handle may hold an open connection */
  struct zl_conn *idle_prev, *idle_next;
  int idle;
};

/* ---- abort requested: process-wide, set by a host's signal handler ------- */
/* zl_abort_all(1) is async-signal-safe (it stores a sig_atomic_t).  From then
 * on zl_conn_prepare refuses to start a transfer (ZL_CANCELLED, nothing sent),
 * and transfers already running are aborted through the progress callback
 * once the grace (zl_abort_grace, default 0 s) has passed since the core
 * first noticed; zl_abort_all(2) aborts them at once.  Nothing in the
 * library sets it on its own. */
static volatile sig_atomic_t abort_flag;
static double abort_seen; /* when a progress callback first saw the flag */
static double abort_grace_s;

void zl_abort_all(int on) {
  abort_flag = on > 1 ? 2 : on ? 1 : 0;
  if (!on) abort_seen = 0;
}
int zl_abort_requested(void) { return abort_flag != 0; }
void zl_abort_grace(double seconds) { abort_grace_s = seconds > 0 ? seconds : 0; }

/* libcurl is about to send the request on a connection: counted, since it
 * sends it again on a fresh connection when a reused one turns out dead, and
 * the first may have reached the server (the caller must not read a second
 * answer as the only one) */
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port) {
  (void)ip;
  (void)local_ip;
  (void)port;
  (void)local_port;
  ((zl_conn *)ud)->sends++;
  return CURL_PREREQFUNC_OK;
}

int zl_conn_sends(const zl_conn *c) { return c->sends; }

static int on_xferinfo(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt;
  (void)dn;
  (void)ut;
  (void)un;
  if (!abort_flag) return 0;
  if (abort_flag > 1) return 1; /* asked twice: no grace */
  zl_conn *c = ud;
  double now = zl_monotonic();
  if (abort_seen == 0) abort_seen = now;
  return c->started >= abort_seen || now - abort_seen >= abort_grace_s;
}

/* ---- the idle pool: a bound on what idle connection objects hold ----------
 *
 * A connection object keeps its last connection open for the next request.
 * Dropped without close(), it keeps it until the garbage collector frees it,
 * which may be never for a small Lua object: 3,000 dropped clients held
 * hundreds of sockets.  So the process keeps at most ZL_IDLE_MAX objects
 * holding a connection after zl_conn_perform; past it, the one idle longest
 * loses its connection (its easy handle is replaced by a duplicate with the
 * same options and no connection; its next request connects again).
 * libcurl's shared connection cache is not used for this: it is not safe
 * across threads (libcurl known bug, curl #4915).  The pool's lock is taken
 * at the start of a request and after it, never during a transfer. */
static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static zl_conn *idle_head, *idle_tail; /* head: idle the longest */
static int idle_count;

/* fork() while another thread holds the pool's lock would leave the child
 * a lock nobody releases: the lock is taken across fork() */
static void idle_fork_prepare(void) { pthread_mutex_lock(&idle_mu); }
static void idle_fork_after(void) { pthread_mutex_unlock(&idle_mu); }
static pthread_once_t idle_once = PTHREAD_ONCE_INIT;
static void idle_init(void) { pthread_atfork(idle_fork_prepare, idle_fork_after, idle_fork_after); }
/* every taker of the lock registers the fork handlers first: a fork while
 * another thread holds it must find them in place */
static void idle_lock(void) {
  pthread_once(&idle_once, idle_init);
  pthread_mutex_lock(&idle_mu);
}

static void idle_unlink(zl_conn *c) {
  if (!c->idle) return;
  if (c->idle_prev)
    c->idle_prev->idle_next = c->idle_next;
  else
    idle_head = c->idle_next;
  if (c->idle_next)
    c->idle_next->idle_prev = c->idle_prev;
  else
    idle_tail = c->idle_prev;
  c->idle_prev = c->idle_next = NULL;
  c->idle = 0;
  idle_count--;
}

static CURLSH *new_share(void);
static void cut_inherited(zl_conn *c);

/* Closes c's connections: a duplicate handle (same options, no connection)
 * replaces its handle; with fresh handles, a new share replaces its share.
 * On no memory, c keeps what it has. */
static void drop_connections(zl_conn *c) {
  CURL *n = curl_easy_duphandle(c->easy);
  if (!n) return;
  if (c->share) {
    CURLSH *s = new_share();
    if (!s || curl_easy_setopt(n, CURLOPT_SHARE, s) != CURLE_OK) {
      curl_easy_cleanup(n);
      if (s) curl_share_cleanup(s);
      return;
    }
    curl_easy_cleanup(c->easy);
    curl_share_cleanup(c->share);
    c->share = s;
  } else {
    curl_easy_cleanup(c->easy);
  }
  c->easy = n;
}

static void idle_push(zl_conn *c) {
  idle_lock();
  idle_unlink(c);
  c->idle = 1;
  c->idle_prev = idle_tail;
  if (idle_tail)
    idle_tail->idle_next = c;
  else
    idle_head = c;
  idle_tail = c;
  idle_count++;
  while (idle_count > ZL_IDLE_MAX) {
    zl_conn *v = idle_head;
    idle_unlink(v);
    /* one inherited from a parent process: its connections are the
     * parent's, cut without a goodbye before the handle is dropped */
    if (v->pid != zl_pid()) cut_inherited(v);
    drop_connections(v); /* v is idle: its owner waits on the lock to use it */
  }
  pthread_mutex_unlock(&idle_mu);
}

static void idle_remove(zl_conn *c) {
  idle_lock();
  idle_unlink(c);
  pthread_mutex_unlock(&idle_mu);
}

int zl_idle_count(void) {
  idle_lock();
  int n = idle_count;
  pthread_mutex_unlock(&idle_mu);
  return n;
}

/* ---- callbacks: bytes into C memory, nothing else ------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  zl_conn *c = ud;
  size_t n = size * nmemb;
  zl_response *r = c->resp;
  c->seen_body += n;
  if (r->body.len < c->max_body) {
    size_t take = c->max_body - r->body.len;
    if (take > n) take = n;
    if (zl_buf_add(&r->body, p, take) != 0) { /* -> CURLE_WRITE_ERROR */
      c->store_failed = 1;
      return 0;
    }
    if (take < n) r->body_truncated = 1;
  } else if (n) {
    r->body_truncated = 1;
  }
  if (c->seen_body > DISCARD_LIMIT && c->seen_body > c->max_body) return 0;
  return n;
}

/* A header value: up to the first CR, LF or NUL, without the blanks around
 * it, capped (and trimmed again after the cap), printable ASCII. */
static void copy_value(char dst[ZL_HDR_MAX], const char *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') {
      n = i;
      break;
    }
    /* blanks and the other control characters (shown as spaces below) are
   * trimmed at both ends, also after the cap */
#define ZL_BLANK(ch) ((unsigned char)(ch) <= 0x20 || (unsigned char)(ch) == 0x7f)
  while (n && ZL_BLANK(*v)) {
    v++;
    n--;
  }
  if (n >= ZL_HDR_MAX) n = ZL_HDR_MAX - 1;
  while (n && ZL_BLANK(v[n - 1])) n--;
#undef ZL_BLANK
  /* the values kept are ASCII by their grammar; whatever else a server
   * sends reaches the caller as text fit to show: a control character
   * becomes a space, a byte past ASCII a '?' (so a cut never splits UTF-8) */
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    dst[i] = ch < 0x20 || ch == 0x7f ? ' ' : ch >= 0x80 ? '?' : (char)ch;
  }
  dst[n] = '\0';
}

static void clear_headers(zl_response *r) {
  r->tracking_id[0] = r->retry_after[0] = r->rl_category[0] = r->rl_type[0] = '\0';
  r->rl_limit[0] = r->rl_remaining[0] = r->content_type[0] = r->location[0] = '\0';
  r->date[0] = '\0';
}

/* the response headers kept, indexed by the length of their name (every
 * name has a length of its own) */
static const struct {
  const char *name;
  size_t off;
} kept[] = {
  [4] = {"date", offsetof(zl_response, date)},
  [8] = {"location", offsetof(zl_response, location)},
  [11] = {"retry-after", offsetof(zl_response, retry_after)},
  [12] = {"content-type", offsetof(zl_response, content_type)},
  [15] = {"x-zm-trackingid", offsetof(zl_response, tracking_id)},
  [16] = {"x-ratelimit-type", offsetof(zl_response, rl_type)},
  [17] = {"x-ratelimit-limit", offsetof(zl_response, rl_limit)},
  [20] = {"x-ratelimit-category", offsetof(zl_response, rl_category)},
  [21] = {"x-ratelimit-remaining", offsetof(zl_response, rl_remaining)},
};

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  zl_conn *c = ud;
  size_t n = size * nmemb;
  zl_response *r = c->resp;
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (after 100, say) */
    clear_headers(r);
    return n;
  }
  const char *colon = memchr(p, ':', n);
  if (!colon) return n;
  size_t name_len = (size_t)(colon - p);
  const char *v = colon + 1;
  size_t vlen = n - name_len - 1;
  /* the names we keep all differ in length: one comparison per line */
  if (name_len >= sizeof kept / sizeof *kept || !kept[name_len].name) return n;
  const char *name = kept[name_len].name;
  size_t off = kept[name_len].off;
  if (strncasecmp(p, name, name_len) == 0) copy_value((char *)r + off, v, vlen);
  return n;
}

/* ---- life cycle ---------------------------------------------------------- */

/* sockets are close-on-exec: a host's child that execs keeps none of them */
static curl_socket_t open_cloexec(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  (void)ud;
  (void)purpose;
  int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  return fd < 0 ? CURL_SOCKET_BAD : (curl_socket_t)fd;
}

struct seen_sock;
static int same_sock(const struct seen_sock *e);

static void wipe_free(char *s) {
  if (!s) return;
  volatile char *v = s;
  while (*v) *v++ = 0;
  free(s);
}

static void free_headers(zl_conn *c) {
  /* the slist holds copies: wipe the Authorization copy before freeing */
  for (struct curl_slist *l = c->hdrs; l; l = l->next)
    if (strncasecmp(l->data, "Authorization:", 14) == 0) {
      volatile char *v = l->data;
      while (*v) *v++ = 0;
    }
  curl_slist_free_all(c->hdrs);
  c->hdrs = NULL;
  c->ctype_line = NULL;
  wipe_free(c->auth_line);
  c->auth_line = NULL;
}

/* a share for one connection object's fresh handles (never used by two
 * threads at once: it belongs to that object alone) */
static CURLSH *new_share(void) {
  CURLSH *s = curl_share_init();
  if (s && (curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
            curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
            curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
    curl_share_cleanup(s);
    s = NULL;
  }
  return s;
}

zl_conn *zl_conn_new(const zl_conn_options *o) {
  zl_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->easy = curl_easy_init();
  if (!c->easy) {
    free(c);
    return NULL;
  }
  c->timeout_ms = (o && o->timeout_ms > 0) ? o->timeout_ms : 30000;
  c->max_body = (o && o->max_body) ? o->max_body : DEFAULT_MAX_BODY;
  long connect_ms = (o && o->connect_timeout_ms > 0) ? o->connect_timeout_ms : 10000;

  if (o && o->user_agent) {
    if (!zl_header_safe(o->user_agent, strlen(o->user_agent)) ||
        strlen(o->user_agent) > ZL_USER_AGENT_MAX) {
      zl_conn_free(c);
      return NULL;
    }
    snprintf(c->ua_line, sizeof c->ua_line, "User-Agent: %s", o->user_agent);
  } else {
    memcpy(c->ua_line, "User-Agent: " ZL_USER_AGENT, sizeof("User-Agent: " ZL_USER_AGENT));
  }
  c->set_has_body = -1;
  c->pid = zl_pid();
  /* curl #11101: before 8.1.0 a reused easy handle keeps a dangling pointer
   * to the last transfer's headers, which a reply opening with a folded
   * header line dereferences. Where replies are not authenticated, each
   * transfer gets a fresh handle; a share keeps the connections. */
  if (o && o->fresh_handles && curl_version_info(CURLVERSION_NOW)->version_num < 0x080100) {
    c->fresh = 1;
    c->share = new_share();
    if (!c->share) {
      zl_conn_free(c);
      return NULL;
    }
  }
  CURL *e = c->easy;
  CURLcode rc = CURLE_OK;
#define SET(opt, val)                                       \
  do {                                                      \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
  } while (0)
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L); /* never carry Authorization elsewhere */
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  SET(CURLOPT_TCP_NODELAY, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, c);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, c);
  SET(CURLOPT_ERRORBUFFER, c->errbuf);
  SET(CURLOPT_XFERINFOFUNCTION, on_xferinfo);
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, c);
  SET(CURLOPT_XFERINFODATA, c);
  SET(CURLOPT_NOPROGRESS, 0L);
  SET(CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
  SET(CURLOPT_SSL_VERIFYPEER, (o && o->insecure) ? 0L : 1L);
  SET(CURLOPT_SSL_VERIFYHOST, (o && o->insecure) ? 0L : 2L);
  /* libcurl looks the proxy variables up on every transfer; when none is
   * set as the connection is made, say "no proxy" once instead. (A process
   * that sets a proxy variable later makes a new client to use it.) */
  static const char *proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                     "all_proxy",  "ALL_PROXY",  NULL};
  int proxied = 0;
  for (int i = 0; proxy_vars[i]; i++) {
    const char *v = getenv(proxy_vars[i]);
    if (v && *v) proxied = 1;
  }
  /* Loopback never goes through a proxy: a proxy would see the request,
   * Authorization included, and plain http to loopback is allowed only
   * because it never leaves the machine.  CURLOPT_NOPROXY replaces the
   * environment's no_proxy, so that list is kept in front of ours.  With no
   * proxy at all, the list is empty: libcurl would otherwise match every
   * request's host name against it for nothing. */
  const char *envnp = getenv("no_proxy");
  if (!envnp || !*envnp) envnp = getenv("NO_PROXY");
  if (!proxied) {
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_NOPROXY, "");
  } else if (!envnp || !*envnp) {
    SET(CURLOPT_NOPROXY, ZL_LOOPBACK_NOPROXY);
  } else {
    size_t need = strlen(envnp) + sizeof ZL_LOOPBACK_NOPROXY + 1;
    char *np = malloc(need); /* libcurl keeps its own copy */
    if (!np)
      rc = CURLE_OUT_OF_MEMORY;
    else {
      snprintf(np, need, "%s,%s", envnp, ZL_LOOPBACK_NOPROXY);
      SET(CURLOPT_NOPROXY, np);
      free(np);
    }
  }
  if (c->share) SET(CURLOPT_SHARE, c->share);
  if (o && o->cainfo) SET(CURLOPT_CAINFO, o->cainfo);
  if (o && o->capath) SET(CURLOPT_CAPATH, o->capath);
#undef SET
  if (rc != CURLE_OK) {
    zl_conn_free(c);
    return NULL;
  }
  return c;
}

static void cut_inherited(zl_conn *c) {
  zl_socks cut = {0};
  for (int i = 0; i < c->nseen; i++)
    if (same_sock(&c->seen[i])) (void)zl_socks_add(&cut, c->seen[i].fd);
  zl_socks_orphan(&cut);
  zl_socks_free(&cut);
  c->nseen = 0;
}

void zl_conn_free(zl_conn *c) {
  if (!c) return;
  idle_remove(c);
  if (c->pid != zl_pid()) cut_inherited(c); /* a child: no goodbye on the parent's connections */
  if (c->easy) curl_easy_cleanup(c->easy);
  if (c->share) curl_share_cleanup(c->share); /* after every handle using it */
  free_headers(c);
  free(c->set_url);
  free(c);
}

void *zl_conn_easy(zl_conn *c) { return c->easy; }

/* ---- headers: rebuilt only when the token or the content type changes ---- */

static struct curl_slist *append(struct curl_slist *l, const char *s, int *ok) {
  struct curl_slist *n = curl_slist_append(l, s);
  if (!n) {
    *ok = 0;
    return l;
  }
  return n;
}

static int set_headers(zl_conn *c, const zl_request *q) {
  const char *tok = q->token;
  const char *ct = q->content_type;
  size_t toklen = tok ? strlen(tok) : 0;
  size_t ctlen = ct ? strlen(ct) : 0;

  int same_auth = tok ? (c->auth_line && strlen(c->auth_line) == 22 + toklen &&
                         memcmp(c->auth_line + 22, tok, toklen) == 0)
                      : (c->auth_line == NULL);
  if (same_auth && c->hdrs) {
    if (!ct && !c->ctype_line) return ZL_OK;
    if (ct && c->ctype_line && strlen(c->ctype_line) == 14 + ctlen) {
      if (memcmp(c->ctype_line + 14, ct, ctlen) == 0) return ZL_OK;
      if (!zl_header_safe(ct, ctlen)) return ZL_ARGUMENT;
      memcpy(c->ctype_line + 14, ct, ctlen); /* same length: rewrite in place */
      return ZL_OK;
    }
  }
  /* a token or content type not seen before: check it, then build */
  if ((tok && !zl_header_safe(tok, toklen)) || (ct && !zl_header_safe(ct, ctlen)))
    return ZL_ARGUMENT;
  free_headers(c);
  int ok = 1;
  struct curl_slist *l = NULL;
  /* No "Expect:" line: libcurl 7.88 sends Expect: 100-continue only above
   * 1 MiB, and every zoomlive body is far smaller. */
  l = append(l, "Accept: application/json", &ok);
  l = append(l, c->ua_line, &ok);
  if (tok && ok) {
    c->auth_line = malloc(22 + toklen + 1);
    if (!c->auth_line)
      ok = 0;
    else {
      memcpy(c->auth_line, "Authorization: Bearer ", 22);
      memcpy(c->auth_line + 22, tok, toklen + 1);
      l = append(l, c->auth_line, &ok);
    }
  }
  if (ct && ok) {
    char *line = malloc(14 + ctlen + 1);
    if (!line)
      ok = 0;
    else {
      memcpy(line, "Content-Type: ", 14);
      memcpy(line + 14, ct, ctlen + 1);
      struct curl_slist *last = append(l, line, &ok);
      if (ok) {
        l = last;
        while (last->next) last = last->next;
        c->ctype_line = last->data;
      }
      free(line);
    }
  }
  c->hdrs = l;
  if (!ok) {
    free_headers(c);
    return ZL_MEMORY;
  }
  return ZL_OK;
}

/* ---- a request ----------------------------------------------------------- */

static zl_kind fail(zl_response *r, zl_kind k, int code, const char *msg) {
  r->kind = k;
  r->curl_code = code;
  snprintf(r->message, sizeof r->message, "%s", msg);
  return k;
}

/* ---- fork: a child never shares its parent's connections ---------------- */

/* Remembers the connection the last transfer used (its socket and both
 * addresses), so a child after fork() can tell it from a reused number. */
static void remember_socket(zl_conn *c) {
  curl_socket_t sk = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &sk) != CURLE_OK || sk == CURL_SOCKET_BAD)
    return;
  int k = 0;
  while (k < c->nseen && c->seen[k].fd != (int)sk) k++;
  long made = 1;
  if (k < c->nseen && curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &made) == CURLE_OK &&
      made == 0)
    return; /* a reused connection: already known */
  if (k == c->nseen) {
    if (c->nseen < (int)(sizeof c->seen / sizeof c->seen[0]))
      c->nseen++;
    else
      k = 0; /* the oldest goes: curl keeps few connections per handle */
  }
  struct seen_sock *e = &c->seen[k];
  e->fd = (int)sk;
  e->llen = sizeof e->local;
  e->plen = sizeof e->peer;
  if (getsockname(e->fd, (struct sockaddr *)&e->local, &e->llen) != 0 ||
      getpeername(e->fd, (struct sockaddr *)&e->peer, &e->plen) != 0)
    e->fd = -1;
}

static int same_sock(const struct seen_sock *e) {
  struct sockaddr_storage l, p;
  socklen_t ll = sizeof l, pl = sizeof p;
  return e->fd >= 0 && getsockname(e->fd, (struct sockaddr *)&l, &ll) == 0 &&
         getpeername(e->fd, (struct sockaddr *)&p, &pl) == 0 && ll == e->llen && pl == e->plen &&
         memcmp(&l, &e->local, ll) == 0 && memcmp(&p, &e->peer, pl) == 0;
}

/* In a child after fork(): the handle's connections are its parent's.  Each
 * one still open is cut off first (its descriptor now points at a dead local
 * socket, so nothing libcurl does on the way out reaches the parent's
 * peer), then the handle is replaced by a copy without connections (and the
 * share by a new one).  Returns 0, or -1 when no memory was left. */
static int after_fork(zl_conn *c) {
  cut_inherited(c);
  CURL *n = curl_easy_duphandle(c->easy); /* options, not connections */
  CURLSH *sh = NULL;
  if (n && c->share) {
    sh = curl_share_init();
    if (!sh || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_easy_setopt(n, CURLOPT_SHARE, sh) != CURLE_OK) {
      if (sh) curl_share_cleanup(sh);
      curl_easy_cleanup(n);
      return -1;
    }
  }
  if (!n) return -1;
  curl_easy_cleanup(c->easy);
  c->easy = n;
  if (c->share) {
    curl_share_cleanup(c->share);
    c->share = sh;
  }
  c->used = 0;
  c->pid = zl_pid();
  return 0;
}

zl_kind zl_conn_prepare(zl_conn *c, const zl_request *q, zl_response *r) {
  r->status = 0;
  r->kind = ZL_OK;
  r->curl_code = 0;
  r->message[0] = '\0';
  r->body_truncated = 0;
  r->request_sent = 0;
  r->queued = 0;
  r->sends = 0;
  c->sends = 0;
  r->elapsed = 0;
  clear_headers(r);
  zl_buf_reset(&r->body);
  c->resp = r;
  c->seen_body = 0;
  c->store_failed = 0;
  c->errbuf[0] = '\0';
  if (abort_flag)
    return fail(r, ZL_CANCELLED, CURLE_ABORTED_BY_CALLBACK, "stopped before sending: nothing sent");
  if (!q->method || !q->url) return fail(r, ZL_ARGUMENT, 0, "method and url are required");
  /* the URL of the last request again (the same call repeated) is neither
   * checked nor handed to libcurl again: the handle holds it */
  size_t ulen = strlen(q->url);
  int same_url = c->set_url && strcmp(c->set_url, q->url) == 0;
  if (!zl_header_safe(q->method, strlen(q->method)) || (!same_url && !zl_header_safe(q->url, ulen)))
    return fail(r, ZL_ARGUMENT, 0, "method or url holds CR, LF or NUL");
  if (q->basic && !zl_header_safe(q->basic, strlen(q->basic)))
    return fail(r, ZL_ARGUMENT, 0, "credentials hold CR, LF or NUL");
  if (c->pid != zl_pid() && after_fork(c) != 0)
    return fail(r, ZL_MEMORY, CURLE_OUT_OF_MEMORY, "out of memory");
  int hk = set_headers(c, q);
  if (hk == ZL_ARGUMENT) return fail(r, ZL_ARGUMENT, 0, "a header value holds CR, LF or NUL");
  if (hk == ZL_MEMORY) return fail(r, ZL_MEMORY, CURLE_OUT_OF_MEMORY, "out of memory");

  if (c->fresh && c->used) {
    /* every option is copied; the share is not, so it is set again */
    CURL *n = curl_easy_duphandle(c->easy);
    if (!n || curl_easy_setopt(n, CURLOPT_SHARE, c->share) != CURLE_OK) {
      if (n) curl_easy_cleanup(n);
      return fail(r, ZL_MEMORY, CURLE_OUT_OF_MEMORY, "out of memory");
    }
    curl_easy_cleanup(c->easy);
    c->easy = n;
  }
  c->used = 1;
  CURL *e = c->easy;
  CURLcode rc = CURLE_OK;
#define SET(opt, val)                                       \
  do {                                                      \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
  } while (0)
  if (!same_url) {
    free(c->set_url);
    c->set_url = NULL;
    SET(CURLOPT_URL, q->url);
    if (rc == CURLE_OK && (c->set_url = malloc(ulen + 1)) != NULL)
      memcpy(c->set_url, q->url, ulen + 1);
  }
  SET(CURLOPT_HTTPHEADER, c->hdrs); /* the list may have been rebuilt */
  long tmo = q->timeout_ms > 0 ? q->timeout_ms : c->timeout_ms;
  if (tmo != c->set_timeout) {
    SET(CURLOPT_TIMEOUT_MS, tmo);
    c->set_timeout = tmo;
  }
  if (q->basic) {
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_USERPWD, q->basic);
    c->set_basic = 1;
  } else if (c->set_basic) {
    SET(CURLOPT_USERPWD, (char *)NULL);
    c->set_basic = 0;
  }
  int has_body = q->body != NULL;
  if (has_body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
    SET(CURLOPT_POSTFIELDS, q->body);
  } else if (c->set_has_body != 0) {
    SET(CURLOPT_HTTPGET, 1L);
  }
  /* POST with a body is libcurl's own request; anything else is named */
  const char *custom =
    (strcmp(q->method, "GET") == 0 && !has_body) || (strcmp(q->method, "POST") == 0 && has_body)
      ? NULL
      : q->method;
  size_t mlen = strlen(q->method);
  int method_changed = has_body != c->set_has_body || mlen >= sizeof c->set_method ||
                       strcmp(c->set_method, q->method) != 0;
  if (method_changed || (!has_body && c->set_has_body != 0)) {
    SET(CURLOPT_CUSTOMREQUEST, custom);
    if (mlen < sizeof c->set_method)
      memcpy(c->set_method, q->method, mlen + 1);
    else
      c->set_method[0] = '\0';
  }
  c->set_has_body = has_body;
#undef SET
  if (rc != CURLE_OK) {
    c->set_has_body = -1;
    c->set_timeout = 0;
    c->set_method[0] = '\0';
    free(c->set_url);
    c->set_url = NULL;
    return fail(r, rc == CURLE_OUT_OF_MEMORY ? ZL_MEMORY : ZL_ARGUMENT, rc, curl_easy_strerror(rc));
  }
  c->started = zl_monotonic();
  return ZL_OK;
}

zl_kind zl_conn_finish(zl_conn *c, int code, zl_response *r) {
  CURLcode cc = (CURLcode)code;
  r->elapsed = zl_monotonic() - c->started;
  long status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  r->status = status;
  c->resp = NULL;
  remember_socket(c);
  long reqsize = 0;
  r->sends = c->sends;
  r->request_sent =
    curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &reqsize) == CURLE_OK && reqsize > 0;
  int valid = status >= 100 && status <= 999;
  /* libcurl takes some malformed status lines and reports 0 or a negative
   * status with success: no real status came back */
  if (cc == CURLE_OK && !valid) {
    r->status = 0;
    return fail(r, ZL_TRANSPORT, CURLE_WEIRD_SERVER_REPLY, "malformed HTTP status line");
  }
  if (cc == CURLE_OK) {
    r->kind = ZL_OK;
    return ZL_OK;
  }
  /* our own cut of an oversized body: the status and the capped body stand */
  if (cc == CURLE_WRITE_ERROR && valid && r->body_truncated) {
    r->kind = ZL_OK;
    return ZL_OK;
  }
  /* A reply this side cannot take - a header line over libcurl's limit
   * (libcurl < 8.6 says CURLE_OUT_OF_MEMORY for it, later CURLE_TOO_LARGE),
   * a body we could not store, memory running out mid-reply - is a failed
   * attempt like a reset: kind transport, never a raised error. */
  if (c->store_failed) {
    if (!valid) r->status = 0;
    return fail(r, ZL_TRANSPORT, cc, "the reply could not be stored (out of memory)");
  }
  if (cc == CURLE_OUT_OF_MEMORY) {
    /* before a byte left, it is the request libcurl could not build: a
     * header too large for it (a token of megabytes), or no memory */
    char msg[sizeof r->message];
    snprintf(
      msg, sizeof msg, "%s%s%.120s",
      r->request_sent
        ? "the reply could not be taken (too large for libcurl, or out of memory)"
        : "the request could not be built (a header too large for libcurl, or out of memory)",
      c->errbuf[0] ? ": " : "", c->errbuf);
    if (!valid) r->status = 0;
    return fail(r, ZL_TRANSPORT, cc, msg);
  }
  const char *msg = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
  /* a reply the core cannot take (CURLE_OUT_OF_MEMORY included) is a
   * transport failure of this attempt */
  zl_kind k = cc == CURLE_OPERATION_TIMEDOUT    ? ZL_TIMEOUT
              : cc == CURLE_ABORTED_BY_CALLBACK ? ZL_CANCELLED
                                                : ZL_TRANSPORT;
  if (k == ZL_CANCELLED) msg = "aborted in flight: the request may have reached the server";
  fail(r, k, cc, msg);
  return k;
}

zl_kind zl_conn_perform(zl_conn *c, const zl_request *q, zl_response *r) {
  idle_remove(c); /* in use: out of the pool */
  zl_kind k = zl_conn_prepare(c, q, r);
  if (k != ZL_OK) {
    idle_push(c); /* a refused request keeps its connection: it stays counted */
    return k;
  }
  k = zl_conn_finish(c, curl_easy_perform(c->easy), r);
  idle_push(c);
  return k;
}
