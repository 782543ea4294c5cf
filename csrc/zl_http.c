/* zl_http.c - one reusable libcurl easy handle per connection object.
 *
 * The handle keeps its connection (and TLS session) between requests.  The
 * callbacks only copy bytes into C memory: nothing here calls Lua, so no Lua
 * error can ever unwind through a libcurl frame. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "zl_internal.h"

#define DEFAULT_MAX_BODY (64 * 1024)
/* Past the stored cap, a body is read and dropped up to this many bytes so
 * the connection stays reusable; beyond it the transfer is cut. */
#define DISCARD_LIMIT (4 * 1024 * 1024)

struct zl_conn {
  CURL *easy;
  CURLSH *share;               /* fresh_handles: the connections live here */
  int fresh;                   /* a new easy handle before each transfer */
  int used;                    /* the easy handle has done a transfer */
  struct curl_slist *hdrs;     /* Accept, User-Agent, [Authorization], [Content-Type] */
  char *auth_line;             /* the Authorization line inside hdrs, or NULL */
  char *ctype_line;            /* the Content-Type line inside hdrs, or NULL */
  char ua_line[160];           /* "User-Agent: ..." (a header line: libcurl would
                                  rebuild CURLOPT_USERAGENT's on every transfer) */
  /* what the handle is set to, so unchanged options are not set again */
  long set_timeout;
  char set_method[16];
  int set_has_body;            /* -1 unknown, 0 GET-like, 1 with a body */
  int set_basic;
  long timeout_ms;
  size_t max_body;
  size_t seen_body;            /* bytes of body received, stored or not */
  zl_response *resp;           /* the response being filled */
  double started;
  char errbuf[CURL_ERROR_SIZE];
};

/* ---- callbacks: bytes into C memory, nothing else ------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  zl_conn *c = ud;
  size_t n = size * nmemb;
  zl_response *r = c->resp;
  c->seen_body += n;
  if (r->body.len < c->max_body) {
    size_t take = c->max_body - r->body.len;
    if (take > n) take = n;
    if (zl_buf_add(&r->body, p, take) != 0) return 0;   /* -> CURLE_WRITE_ERROR */
    if (take < n) r->body_truncated = 1;
  } else if (n) {
    r->body_truncated = 1;
  }
  if (c->seen_body > DISCARD_LIMIT && c->seen_body > c->max_body) return 0;
  return n;
}

/* A header value: up to the first CR, LF or NUL, without the blanks around
 * it, capped (and trimmed again after the cap). */
static void copy_value(char dst[ZL_HDR_MAX], const char *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') { n = i; break; }
  while (n && (*v == ' ' || *v == '\t')) { v++; n--; }
  if (n >= ZL_HDR_MAX) n = ZL_HDR_MAX - 1;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static void clear_headers(zl_response *r) {
  r->tracking_id[0] = r->retry_after[0] = r->rl_category[0] = r->rl_type[0] = '\0';
  r->rl_limit[0] = r->rl_remaining[0] = r->content_type[0] = r->location[0] = '\0';
  r->date[0] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  zl_conn *c = ud;
  size_t n = size * nmemb;
  zl_response *r = c->resp;
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {   /* a new response (after 100, say) */
    clear_headers(r);
    return n;
  }
  const char *colon = memchr(p, ':', n);
  if (!colon) return n;
  size_t name_len = (size_t)(colon - p);
  const char *v = colon + 1;
  size_t vlen = n - name_len - 1;
  /* the names we keep all differ in length: one comparison per line */
  const char *name = NULL;
  size_t off = 0;
  switch (name_len) {
    case 15: name = "x-zm-trackingid";       off = offsetof(zl_response, tracking_id); break;
    case 11: name = "retry-after";           off = offsetof(zl_response, retry_after); break;
    case 20: name = "x-ratelimit-category";  off = offsetof(zl_response, rl_category); break;
    case 16: name = "x-ratelimit-type";      off = offsetof(zl_response, rl_type); break;
    case 17: name = "x-ratelimit-limit";     off = offsetof(zl_response, rl_limit); break;
    case 21: name = "x-ratelimit-remaining"; off = offsetof(zl_response, rl_remaining); break;
    case 12: name = "content-type";          off = offsetof(zl_response, content_type); break;
    case 8:  name = "location";              off = offsetof(zl_response, location); break;
    case 4:  name = "date";                  off = offsetof(zl_response, date); break;
    default: return n;
  }
  if (strncasecmp(p, name, name_len) == 0) copy_value((char *)r + off, v, vlen);
  return n;
}

/* ---- life cycle ---------------------------------------------------------- */

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

zl_conn *zl_conn_new(const zl_conn_options *o) {
  zl_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->easy = curl_easy_init();
  if (!c->easy) { free(c); return NULL; }
  c->timeout_ms = (o && o->timeout_ms > 0) ? o->timeout_ms : 30000;
  c->max_body = (o && o->max_body) ? o->max_body : DEFAULT_MAX_BODY;
  long connect_ms = (o && o->connect_timeout_ms > 0) ? o->connect_timeout_ms : 10000;

  if (o && o->user_agent) {
    if (!zl_header_safe(o->user_agent, strlen(o->user_agent))) { zl_conn_free(c); return NULL; }
    snprintf(c->ua_line, sizeof c->ua_line, "User-Agent: %s", o->user_agent);
  } else {
    snprintf(c->ua_line, sizeof c->ua_line, "User-Agent: zoomlive/%s libcurl/%s", ZOOMLIVE_VERSION,
             curl_version_info(CURLVERSION_NOW)->version);
  }
  c->set_has_body = -1;
  /* curl #11101: before 8.1.0 a reused easy handle keeps a dangling pointer
   * to the last transfer's headers, which a reply opening with a folded
   * header line dereferences. Where replies are not authenticated, each
   * transfer gets a fresh handle; a share keeps the connections. */
  if (o && o->fresh_handles && curl_version_info(CURLVERSION_NOW)->version_num < 0x080100) {
    c->fresh = 1;
    c->share = curl_share_init();
    if (!c->share ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
      zl_conn_free(c);
      return NULL;
    }
  }
  CURL *e = c->easy;
  CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);       /* never carry Authorization elsewhere */
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  SET(CURLOPT_TCP_NODELAY, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, c);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, c);
  SET(CURLOPT_ERRORBUFFER, c->errbuf);
  SET(CURLOPT_SSL_VERIFYPEER, (o && o->insecure) ? 0L : 1L);
  SET(CURLOPT_SSL_VERIFYHOST, (o && o->insecure) ? 0L : 2L);
  /* libcurl looks the proxy variables up on every transfer; when none is
   * set as the connection is made, say "no proxy" once instead. (A process
   * that sets a proxy variable later makes a new client to use it.) */
  static const char *proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                     "all_proxy", "ALL_PROXY", NULL};
  int proxied = 0;
  for (int i = 0; proxy_vars[i]; i++) {
    const char *v = getenv(proxy_vars[i]);
    if (v && *v) proxied = 1;
  }
  if (!proxied) SET(CURLOPT_PROXY, "");
  if (c->share) SET(CURLOPT_SHARE, c->share);
  if (o && o->cainfo) SET(CURLOPT_CAINFO, o->cainfo);
  if (o && o->capath) SET(CURLOPT_CAPATH, o->capath);
#undef SET
  if (rc != CURLE_OK) { zl_conn_free(c); return NULL; }
  return c;
}

void zl_conn_free(zl_conn *c) {
  if (!c) return;
  if (c->easy) curl_easy_cleanup(c->easy);
  if (c->share) curl_share_cleanup(c->share);   /* after every handle using it */
  free_headers(c);
  free(c);
}

void *zl_conn_easy(zl_conn *c) { return c->easy; }

/* ---- headers: rebuilt only when the token or the content type changes ---- */

static struct curl_slist *append(struct curl_slist *l, const char *s, int *ok) {
  struct curl_slist *n = curl_slist_append(l, s);
  if (!n) { *ok = 0; return l; }
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
      memcpy(c->ctype_line + 14, ct, ctlen);   /* same length: rewrite in place */
      return ZL_OK;
    }
  }
  /* a token or content type not seen before: check it, then build */
  if ((tok && !zl_header_safe(tok, toklen)) || (ct && !zl_header_safe(ct, ctlen))) return ZL_ARGUMENT;
  free_headers(c);
  int ok = 1;
  struct curl_slist *l = NULL;
  /* No "Expect:" line: libcurl 7.88 sends Expect: 100-continue only above
   * 1 MiB, and every zoomlive body is far smaller. */
  l = append(l, "Accept: application/json", &ok);
  l = append(l, c->ua_line, &ok);
  if (tok && ok) {
    c->auth_line = malloc(22 + toklen + 1);
    if (!c->auth_line) ok = 0;
    else {
      memcpy(c->auth_line, "Authorization: Bearer ", 22);
      memcpy(c->auth_line + 22, tok, toklen + 1);
      l = append(l, c->auth_line, &ok);
    }
  }
  if (ct && ok) {
    char *line = malloc(14 + ctlen + 1);
    if (!line) ok = 0;
    else {
      memcpy(line, "Content-Type: ", 14);
      memcpy(line + 14, ct, ctlen + 1);
      struct curl_slist *last = append(l, line, &ok);
      if (ok) { l = last; while (last->next) last = last->next; c->ctype_line = last->data; }
      free(line);
    }
  }
  c->hdrs = l;
  if (!ok) { free_headers(c); return ZL_MEMORY; }
  return ZL_OK;
}

/* ---- a request ----------------------------------------------------------- */

static zl_kind fail(zl_response *r, zl_kind k, int code, const char *msg) {
  r->kind = k;
  r->curl_code = code;
  snprintf(r->message, sizeof r->message, "%s", msg);
  return k;
}

zl_kind zl_conn_prepare(zl_conn *c, const zl_request *q, zl_response *r) {
  r->status = 0;
  r->kind = ZL_OK;
  r->curl_code = 0;
  r->message[0] = '\0';
  r->body_truncated = 0;
  r->request_sent = 0;
  r->elapsed = 0;
  clear_headers(r);
  zl_buf_reset(&r->body);
  c->resp = r;
  c->seen_body = 0;
  c->errbuf[0] = '\0';
  if (!q->method || !q->url) return fail(r, ZL_ARGUMENT, 0, "method and url are required");
  if (!zl_header_safe(q->method, strlen(q->method)) || !zl_header_safe(q->url, strlen(q->url)))
    return fail(r, ZL_ARGUMENT, 0, "method or url holds CR, LF or NUL");
  if (q->basic && !zl_header_safe(q->basic, strlen(q->basic)))
    return fail(r, ZL_ARGUMENT, 0, "credentials hold CR, LF or NUL");
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
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
  SET(CURLOPT_URL, q->url);
  SET(CURLOPT_HTTPHEADER, c->hdrs);   /* the list may have been rebuilt */
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
  const char *custom = (strcmp(q->method, "GET") == 0 && !has_body) ||
                       (strcmp(q->method, "POST") == 0 && has_body) ? NULL : q->method;
  size_t mlen = strlen(q->method);
  int method_changed = has_body != c->set_has_body || mlen >= sizeof c->set_method ||
                       strcmp(c->set_method, q->method) != 0;
  if (method_changed || (!has_body && c->set_has_body != 0)) {
    SET(CURLOPT_CUSTOMREQUEST, custom);
    if (mlen < sizeof c->set_method) memcpy(c->set_method, q->method, mlen + 1);
    else c->set_method[0] = '\0';
  }
  c->set_has_body = has_body;
#undef SET
  if (rc != CURLE_OK) {
    c->set_has_body = -1;
    c->set_timeout = 0;
    c->set_method[0] = '\0';
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
  long reqsize = 0;
  r->request_sent = curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &reqsize) == CURLE_OK
                    && reqsize > 0;
  int valid = status >= 100 && status <= 999;
  /* libcurl takes some malformed status lines and reports 0 or a negative
   * status with success: no real status came back */
  if (cc == CURLE_OK && !valid) {
    r->status = 0;
    return fail(r, ZL_TRANSPORT, CURLE_WEIRD_SERVER_REPLY, "malformed HTTP status line");
  }
  if (cc == CURLE_OK) { r->kind = ZL_OK; return ZL_OK; }
  /* our own cut of an oversized body: the status and the capped body stand */
  if (cc == CURLE_WRITE_ERROR && valid && r->body_truncated) { r->kind = ZL_OK; return ZL_OK; }
  const char *msg = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
  zl_kind k = cc == CURLE_OPERATION_TIMEDOUT ? ZL_TIMEOUT
            : cc == CURLE_OUT_OF_MEMORY     ? ZL_MEMORY
                                            : ZL_TRANSPORT;
  fail(r, k, cc, msg);
  return k;
}

zl_kind zl_conn_perform(zl_conn *c, const zl_request *q, zl_response *r) {
  zl_kind k = zl_conn_prepare(c, q, r);
  if (k != ZL_OK) return k;
  return zl_conn_finish(c, curl_easy_perform(c->easy), r);
}
