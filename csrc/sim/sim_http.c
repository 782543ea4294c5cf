/* The HTTP server: libmicrohttpd daemon, per-request context, body
 * decoding (MHD's own post processor for forms, cJSON for JSON), fault
 * execution and response sending. */
#include "sim.h"

#include <sys/resource.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARTS 256

static struct MHD_Daemon *daemon_handle;
static atomic_int bound_port;
static atomic_uint_fast64_t tracking_counter;
static char tracking_prefix[17];

/* ---- responses --------------------------------------------------------- */
void sim_resp_header(sim_resp *r, const char *name, const char *value) {
  if (r->nhdr >= SIM_RESP_MAXHDR) return;
  snprintf(r->hdr[r->nhdr].name, sizeof r->hdr[0].name, "%s", name);
  snprintf(r->hdr[r->nhdr].value, sizeof r->hdr[0].value, "%s", value);
  r->nhdr++;
}

static void resp_body(sim_resp *r, unsigned status, char *body, size_t len, bool json) {
  free(r->body);
  r->status = status;
  r->body = body;
  r->len = len;
  r->json = json;
}

void sim_resp_json(sim_resp *r, unsigned status, cJSON *obj) {
  char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
  cJSON_Delete(obj);
  if (!text) {
    static const char oom[] = "{\"code\":500,\"message\":\"Out of memory.\"}";
    text = strdup(oom);
    status = 500;
  }
  resp_body(r, status, text, text ? strlen(text) : 0, true);
}

void sim_resp_error(sim_resp *r, unsigned status, int code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "code", code);
  cJSON_AddStringToObject(o, "message", msg);
  sim_resp_json(r, status, o);
}

void sim_resp_validation(sim_resp *r, cJSON *errors) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "code", 300);
  cJSON_AddStringToObject(o, "message", "Validation Failed.");
  cJSON_AddItemToObject(o, "errors", errors);
  sim_resp_json(r, 400, o);
}

void sim_resp_empty(sim_resp *r, unsigned status) { resp_body(r, status, NULL, 0, false); }

/* ---- request helpers ----------------------------------------------------- */
const char *sim_req_query(const sim_req *q, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(q->query, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

const sim_part *sim_req_part(const sim_req *q, const char *name, int *count) {
  const sim_part *first = NULL;
  int n = 0;
  for (size_t i = 0; i < q->nparts; i++) {
    if (strcmp(q->parts[i].name, name) == 0) {
      if (!first) first = &q->parts[i];
      n++;
    }
  }
  if (count) *count = n;
  return first;
}

static void req_free(sim_req *q) {
  if (!q) return;
  if (q->pp) MHD_destroy_post_processor(q->pp);
  for (size_t i = 0; i < q->nparts; i++) {
    free(q->parts[i].name);
    free(q->parts[i].filename);
    free(q->parts[i].content_type);
    free(q->parts[i].value);
  }
  free(q->parts);
  free(q->path);
  free(q->authorization);
  free(q->content_type);
  free(q->body);
  free(q->hit);
  cJSON_Delete(q->query);
  cJSON_Delete(q->headers);
  cJSON_Delete(q->json);
  free(q);
}

static void set_problem(sim_req *q, const char *msg) {
  if (q->body_error) return;
  q->body_error = true;
  snprintf(q->body_problem, sizeof q->body_problem, "%s", msg);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
  (void)kind;
  sim_req *q = cls;
  char name[128];
  size_t i = 0;
  for (; key[i] && i + 1 < sizeof name; i++)
    name[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
  name[i] = '\0';
  if (!value) value = "";
  const char *shown = value;
  if (strcmp(name, "authorization") == 0) {
    if (!q->authorization) q->authorization = strdup(value);
    shown = strncasecmp(value, "Bearer ", 7) == 0  ? "Bearer ***"
            : strncasecmp(value, "Basic ", 6) == 0 ? "Basic ***"
                                                   : "***";
  } else if (strcmp(name, "content-type") == 0 && !q->content_type) {
    q->content_type = strdup(value);
  }
  cJSON *old = cJSON_GetObjectItemCaseSensitive(q->headers, name);
  if (old && cJSON_IsString(old)) {
    size_t n = strlen(old->valuestring) + strlen(shown) + 3;
    char *joined = malloc(n);
    if (joined) {
      snprintf(joined, n, "%s, %s", old->valuestring, shown);
      cJSON_ReplaceItemInObjectCaseSensitive(q->headers, name, cJSON_CreateString(joined));
      free(joined);
    }
  } else {
    cJSON_AddStringToObject(q->headers, name, shown);
  }
  return MHD_YES;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  (void)kind;
  sim_req *q = cls;
  if (!cJSON_GetObjectItemCaseSensitive(q->query, key))
    cJSON_AddStringToObject(q->query, key, value ? value : "");
  return MHD_YES;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size) {
  (void)kind;
  (void)transfer_encoding;
  sim_req *q = cls;
  if (!key) key = "";
  sim_part *p = q->nparts ? &q->parts[q->nparts - 1] : NULL;
  if (!p || off == 0 || strcmp(p->name, key) != 0) {
    if (q->nparts >= MAX_PARTS) {
      set_problem(q, "Too many form parts.");
      return MHD_NO;
    }
    if (q->nparts == q->parts_cap) {
      size_t cap = q->parts_cap ? q->parts_cap * 2 : 4;
      sim_part *np = realloc(q->parts, cap * sizeof *np);
      if (!np) return MHD_NO;
      q->parts = np;
      q->parts_cap = cap;
    }
    p = &q->parts[q->nparts++];
    memset(p, 0, sizeof *p);
    p->name = strdup(key);
    p->filename = filename ? strdup(filename) : NULL;
    p->content_type = content_type ? strdup(content_type) : NULL;
  }
  if (p->len + size + 1 > p->cap) {
    size_t cap = (p->len + size + 1) * 2;
    char *nv = realloc(p->value, cap);
    if (!nv) return MHD_NO;
    p->value = nv;
    p->cap = cap;
  }
  if (size) memcpy(p->value + p->len, data, size);
  p->len += size;
  p->value[p->len] = '\0';
  return MHD_YES;
}

static bool media_is(const char *ct, const char *type) {
  size_t n = strlen(type);
  while (*ct == ' ') ct++;
  return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* ---- faults that act on the socket ------------------------------------- */
static int conn_fd(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  return ci ? ci->connect_fd : -1;
}

/* Abort the TCP connection with a RST: SO_LINGER 0, then drop the socket by
 * replacing its descriptor with /dev/null (MHD later closes that instead, so
 * the descriptor number is never closed twice). */
static void reset_connection(struct MHD_Connection *c) {
  int fd = conn_fd(c);
  if (fd < 0) return;
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nul >= 0) {
    dup2(nul, fd);
    close(nul);
  }
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* Sleep ms, waking early when the simulator stops; false if stopping. */
static bool delay(long ms) {
  while (ms > 0 && !atomic_load(&sim_stopping)) {
    long step = ms < 20 ? ms : 20;
    nap_ms(step);
    ms -= step;
  }
  return !atomic_load(&sim_stopping);
}

/* Never answer: wait until the client goes away or the simulator stops. */
static void hang_connection(struct MHD_Connection *c) {
  int fd = conn_fd(c);
  while (!atomic_load(&sim_stopping)) {
    if (fd < 0) {
      nap_ms(50);
      continue;
    }
    struct pollfd pfd = {fd, POLLIN | POLLRDHUP, 0};
    int n = poll(&pfd, 1, 50);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) break;
    char b;
    ssize_t k = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (k == 0) break;
    nap_ms(50); /* pipelined bytes pending: keep waiting without spinning */
  }
}

typedef struct gen_body {
  char *data; /* truncate: the partial bytes; huge: the prefix */
  size_t len;
  size_t total; /* huge: bytes to generate */
} gen_body;

static ssize_t truncate_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  gen_body *g = cls;
  if (pos >= g->len) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = g->len - (size_t)pos;
  if (n > max) n = max;
  memcpy(buf, g->data + pos, n);
  return (ssize_t)n;
}

static ssize_t huge_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  gen_body *g = cls;
  size_t i = 0;
  for (; i < max && pos + i < g->total; i++) {
    uint64_t at = pos + i;
    if (at < g->len)
      buf[i] = g->data[at];
    else if (at == g->total - 2 && g->total > g->len + 1)
      buf[i] = '"';
    else if (at == g->total - 1 && g->total > g->len)
      buf[i] = '}';
    else
      buf[i] = 'x';
  }
  if (i == 0) return MHD_CONTENT_READER_END_OF_STREAM;
  return (ssize_t)i;
}

static void gen_free(void *cls) {
  gen_body *g = cls;
  free(g->data);
  free(g);
}

/* ---- sending ------------------------------------------------------------ */
static void add_common_headers(struct MHD_Response *resp, const sim_req *q, bool json) {
  /* Date on the simulated clock, as Retry-After is: a real server's headers
   * come from one clock (libmicrohttpd adds none of its own when one is set) */
  char date[64];
  time_t now = (time_t)sim_now();
  struct tm tm;
  if (gmtime_r(&now, &tm) && strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm))
    MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, date);
  MHD_add_response_header(resp, "x-zm-trackingid", q->tracking);
  if (json)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json;charset=UTF-8");
}

static enum MHD_Result send_resp(sim_req *q, sim_resp *r) {
  struct MHD_Response *resp;
  if (r->body) {
    resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (resp) r->body = NULL;
  } else {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  if (!resp) return MHD_NO;
  add_common_headers(resp, q, r->json && r->len);
  if (!r->json && r->len && r->content_type)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
  for (int i = 0; i < r->nhdr; i++) MHD_add_response_header(resp, r->hdr[i].name, r->hdr[i].value);
  enum MHD_Result ret = MHD_queue_response(q->conn, r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static const char *status_text(unsigned s) {
  switch (s) {
    case 500: return "Internal Server Error.";
    case 502: return "Bad Gateway.";
    case 503: return "Service Unavailable.";
    case 504: return "Gateway Timeout.";
    case 429:
      return "You have reached the maximum per-second rate limit for this API. Try again later.";
    default: return "Simulated failure.";
  }
}

/* Answer with a faulty response; returns the MHD result and sets *status. */
static enum MHD_Result send_fault(sim_req *q, const sim_fault_hit *h, unsigned *status) {
  struct MHD_Response *resp = NULL;
  unsigned st = h->status;
  if (h->effect == SIM_FX_STATUS) {
    sim_resp r = {0};
    sim_resp_error(&r, st, (int)st, "%s", status_text(st));
    *status = st;
    enum MHD_Result ret = send_resp(q, &r);
    free(r.body);
    return ret;
  }
  gen_body *g = calloc(1, sizeof *g);
  if (!g) return MHD_NO;
  bool webinar = strncmp(q->path, "/v2/webinars/", 13) == 0;
  if (h->effect == SIM_FX_MALFORMED) {
    if (!st) st = 400;
    const char *text = webinar ? "{\"code\": 3001, \"message\": \"Webinar do"
                               : "{\"code\": 3001, \"message\": \"Meeting do";
    resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    free(g);
    g = NULL;
  } else if (h->effect == SIM_FX_TRUNCATE) {
    if (!st) st = 200;
    g->data = strdup("{\"stream_url\":\"rtmp://live.example.com/app\",\"stream_k");
    g->len = g->data ? strlen(g->data) : 0;
    resp = MHD_create_response_from_callback(g->len + 4096, 1024, truncate_reader, g, gen_free);
  } else { /* huge */
    if (!st) st = 500;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "{\"code\":%u,\"message\":\"", st);
    g->data = strdup(prefix);
    g->len = g->data ? strlen(g->data) : 0;
    g->total = h->huge_body;
    if (g->len > g->total) g->len = g->total;
    resp = MHD_create_response_from_callback(g->total, 65536, huge_reader, g, gen_free);
  }
  if (!resp) {
    if (g) gen_free(g);
    return MHD_NO;
  }
  add_common_headers(resp, q, true);
  enum MHD_Result ret = MHD_queue_response(q->conn, st, resp);
  MHD_destroy_response(resp);
  *status = st;
  return ret;
}

static void dispatch(sim_req *q, sim_resp *r) {
  if (q->too_large) {
    sim_resp_error(r, 413, 413, "Request body too large: the limit is %d bytes.", SIM_BODY_CAP);
  } else if (q->is_control) {
    sim_control_handle(q, r);
  } else if (strcmp(q->path, "/oauth/token") == 0) {
    sim_oauth_token(q, r);
  } else if (strncmp(q->path, "/v2/", 4) == 0) {
    sim_routes_handle(q, r);
  } else {
    sim_resp_error(r, 404, 404, "Not found: %.200s", q->path);
  }
}

static enum MHD_Result complete(sim_req *q) {
  const sim_fault_hit *h = q->hit;
  if (h && h->latency_ms && !delay(h->latency_ms)) return MHD_NO;
  sim_fx fx = h ? h->effect : SIM_FX_NONE;
  sim_resp r = {0};
  if (fx == SIM_FX_NONE || h->apply) dispatch(q, &r);
  unsigned status = r.status;
  enum MHD_Result ret;
  switch (fx) {
    case SIM_FX_RESET_AFTER:
    case SIM_FX_RESET_BEFORE: /* with apply: the request was processed */
      /* logged before the reset: once the client sees it, the log must too */
      if (!q->is_control) sim_log_record(q, 0, sim_fx_name(fx));
      reset_connection(q->conn);
      free(r.body);
      return MHD_NO;
    case SIM_FX_HANG:
      if (!q->is_control) sim_log_record(q, 0, "hang"); /* logged before the wait */
      hang_connection(q->conn);
      free(r.body);
      return MHD_NO;
    case SIM_FX_NONE: ret = send_resp(q, &r); break;
    default: ret = send_fault(q, h, &status); break;
  }
  free(r.body);
  if (!q->is_control) sim_log_record(q, status, sim_fx_name(fx));
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  (void)cls;
  (void)version;
  sim_req *q = *con_cls;
  if (!q) {
    q = calloc(1, sizeof *q);
    if (!q) return MHD_NO;
    *con_cls = q;
    q->conn = c;
    q->t_start = sim_now();
    q->seq = sim_log_next_seq();
    snprintf(q->tracking, sizeof q->tracking, "v=2.0;clid=sim;rid=SIM_%s%012llx", tracking_prefix,
             (unsigned long long)atomic_fetch_add(&tracking_counter, 1));
    snprintf(q->method, sizeof q->method, "%s", method);
    q->path = strdup(url ? url : "");
    q->query = cJSON_CreateObject();
    q->headers = cJSON_CreateObject();
    if (!q->path || !q->query || !q->headers) return MHD_NO;
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, q);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, q);
    q->is_control = strncmp(q->path, "/_sim", 5) == 0 && (q->path[5] == '/' || !q->path[5]);
    if (sim_boot.verbose) fprintf(stderr, "zoomlive-sim: %s %s\n", q->method, q->path);

    if (!q->is_control) {
      sim_fault_hit hit;
      sim_lock();
      bool any = sim_faults_match(q->method, q->path, &hit);
      sim_unlock();
      if (any) {
        q->hit = malloc(sizeof hit);
        if (q->hit) *q->hit = hit;
      }
      if (any && hit.effect == SIM_FX_RESET_BEFORE && !hit.apply) {
        if (hit.latency_ms && !delay(hit.latency_ms)) return MHD_NO;
        sim_log_record(q, 0, "reset_before"); /* before the client can see the reset */
        reset_connection(c);
        return MHD_NO;
      }
    }
    const char *cl =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > SIM_BODY_CAP) {
      q->too_large = true;
      q->body_total = strtoull(cl, NULL, 10);
      return complete(q); /* answer early; MHD will not read the body */
    }
    if (q->content_type) {
      if (media_is(q->content_type, "multipart/form-data"))
        q->kind = SIM_BODY_FORM;
      else if (media_is(q->content_type, "application/x-www-form-urlencoded"))
        q->kind = SIM_BODY_URLENC;
      else if (media_is(q->content_type, "application/json"))
        q->kind = SIM_BODY_JSON;
      else
        q->kind = SIM_BODY_OTHER;
      if (q->kind == SIM_BODY_FORM || q->kind == SIM_BODY_URLENC) {
        q->pp = MHD_create_post_processor(c, 16384, post_iter, q);
        if (!q->pp)
          set_problem(q, q->kind == SIM_BODY_FORM
                           ? "Malformed multipart/form-data: the Content-Type has no boundary."
                           : "Malformed form body.");
      }
    }
    return MHD_YES;
  }

  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    q->body_total += n;
    if (q->body_total > SIM_BODY_CAP) {
      q->too_large = true;
      return MHD_YES;
    }
    if (q->body_len + n + 1 > q->body_cap) {
      size_t cap = (q->body_len + n + 1) * 2;
      char *nb = realloc(q->body, cap);
      if (!nb) return MHD_NO;
      q->body = nb;
      q->body_cap = cap;
    }
    memcpy(q->body + q->body_len, upload_data, n);
    q->body_len += n;
    q->body[q->body_len] = '\0';
    if (q->pp && !q->body_error && MHD_post_process(q->pp, upload_data, n) != MHD_YES)
      set_problem(q, q->kind == SIM_BODY_FORM ? "Malformed multipart/form-data body."
                                              : "Malformed form body.");
    return MHD_YES;
  }

  /* the whole request is in */
  if (q->pp) {
    if (MHD_destroy_post_processor(q->pp) != MHD_YES)
      set_problem(q, q->kind == SIM_BODY_FORM
                       ? "Malformed multipart/form-data body: it ends before the closing boundary."
                       : "Malformed form body.");
    q->pp = NULL;
    if (q->kind == SIM_BODY_FORM && q->body_len && !q->nparts)
      set_problem(q,
                  "Malformed multipart/form-data body: no part found (does the boundary "
                  "in the Content-Type match the body?).");
  }
  /* /_sim takes JSON whatever the Content-Type says (curl -d sends urlencoded) */
  if ((q->kind == SIM_BODY_JSON || q->is_control) && !q->too_large && q->body_len)
    q->json = cJSON_ParseWithLength(q->body, q->body_len);
  return complete(q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  req_free(*con_cls);
  *con_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  if (!sim_boot.verbose) return;
  fputs("zoomlive-sim: mhd: ", stderr);
  vfprintf(stderr, fmt, ap);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = (len + 4096 + 1) * 2;
      char *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) break;
  }
  fclose(f);
  if (buf) buf[len] = '\0';
  return buf;
}

static char *tls_cert_pem, *tls_key_pem;
static unsigned max_connections;

int sim_http_start(void) {
  sim_random_hex(tracking_prefix, 4);
  static struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned flags =
    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (MHD_is_feature_supported(MHD_FEATURE_POLL)) flags |= MHD_USE_POLL;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, sim_cfg.bind, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)sim_cfg.port);
  } else if (inet_pton(AF_INET6, sim_cfg.bind, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)sim_cfg.port);
    flags |= MHD_USE_IPv6;
  } else {
    fprintf(stderr, "zoomlive-sim: --bind %s: not an IPv4 or IPv6 address\n", sim_cfg.bind);
    return 2;
  }
  if (sim_cfg.tls_cert || sim_cfg.tls_key) {
    if (!sim_cfg.tls_cert || !sim_cfg.tls_key) {
      fprintf(stderr, "zoomlive-sim: --tls-cert and --tls-key go together\n");
      return 2;
    }
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
      fprintf(stderr, "zoomlive-sim: this libmicrohttpd has no TLS support\n");
      return 1;
    }
    tls_cert_pem = slurp(sim_cfg.tls_cert);
    tls_key_pem = slurp(sim_cfg.tls_key);
    if (!tls_cert_pem || !tls_key_pem) {
      fprintf(stderr, "zoomlive-sim: cannot read %s\n",
              tls_cert_pem ? sim_cfg.tls_key : sim_cfg.tls_cert);
      return 1;
    }
    flags |= MHD_USE_TLS;
  }
  struct MHD_OptionItem tls_opts[] = {
    {MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem},
    {MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem},
    {MHD_OPTION_END, 0, NULL},
  };
  struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
  /* The connection limit must fit the open-file limit: past it, accept()
   * fails with EMFILE and every new connection - the health check's too -
   * waits in the backlog instead of being served or refused.  The soft limit
   * is raised toward the hard one; what still does not fit lowers the
   * connection limit (32 descriptors stay for the process itself). */
  unsigned limit = sim_cfg.max_connections;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = (rlim_t)limit + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
      rlim_t to = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) ? want : rl.rlim_max;
      struct rlimit nr = {to, rl.rlim_max};
      if (setrlimit(RLIMIT_NOFILE, &nr) == 0) rl.rlim_cur = to;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)limit + 32)
      limit = rl.rlim_cur > 40 ? (unsigned)(rl.rlim_cur - 32) : 8;
  }
  max_connections = limit;
  if (limit != sim_cfg.max_connections)
    fprintf(stderr, "zoomlive-sim: serving at most %u connections (open-file limit %llu)\n", limit,
            (unsigned long long)rl.rlim_cur);
  daemon_handle = MHD_start_daemon(
    flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
    MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT, sim_cfg.connection_timeout,
    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_THREAD_STACK_SIZE,
    (size_t)(1024 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_ARRAY,
    (flags & MHD_USE_TLS) ? tls_opts : no_opts, MHD_OPTION_END);
  if (!daemon_handle) {
    fprintf(stderr, "zoomlive-sim: cannot listen on %s port %d: %s\n", sim_cfg.bind, sim_cfg.port,
            strerror(errno));
    return 1;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_LISTEN_FD);
  struct sockaddr_storage got;
  socklen_t glen = sizeof got;
  if (di && getsockname(di->listen_fd, (struct sockaddr *)&got, &glen) == 0)
    atomic_store(&bound_port,
                 ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port));
  return 0;
}

int sim_http_port(void) { return atomic_load(&bound_port); }
unsigned sim_http_max_connections(void) { return max_connections; }

void sim_http_stop(void) {
  if (daemon_handle) MHD_stop_daemon(daemon_handle);
  daemon_handle = NULL;
  free(tls_cert_pem);
  free(tls_key_pem);
  tls_cert_pem = tls_key_pem = NULL;
}
