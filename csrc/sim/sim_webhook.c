/* Webhook deliveries: when a live stream starts or stops, the simulator
 * POSTs Zoom's live-stream event, signed as Zoom signs it, to --webhook-url.
 *
 *   x-zm-request-timestamp: Unix seconds (sim clock)
 *   x-zm-signature: "v0=" hex(HMAC-SHA256(secret, "v0:" ts ":" body))
 *
 * Its own HMAC (OpenSSL's HMAC()) and its own libcurl easy handle: nothing is
 * shared with the client.  Events are queued with a due time on the sim
 * clock (start/stop time + webhook_delay), so moving the clock through
 * /_sim/clock delivers them; one thread sends them in due order, each with a
 * 3-second timeout (Zoom's rule for an answer). */
#include "sim.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WH_LOG_CAP 1000

typedef struct wh_item {
  uint64_t seq;
  char event[48];
  sim_kind kind;
  int64_t id;
  double due;        /* sim time */
  char *body;        /* the event, until sent */
  char plain[48];    /* endpoint.url_validation: the plainToken sent */
  const char *state; /* "queued", "sending", "sent", "failed", "suppressed",
                            "validated" (a URL validation answered right) */
  long status;       /* the receiver's HTTP status, 0 none */
  char error[160];
  double sent_at;      /* sim time of the last POST */
  int attempts;        /* POSTs made so far */
  long long timestamp; /* x-zm-request-timestamp sent */
  struct wh_item *next;
} wh_item;

static wh_item *head, *tail;
static size_t count;
static uint64_t next_seq = 1;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running, stop_flag;

static void item_free(wh_item *it) {
  free(it->body);
  free(it);
}

/* drops the oldest finished entries beyond the cap (lock held) */
static void trim(void) {
  wh_item **pp = &head, *prev = NULL;
  while (count > WH_LOG_CAP && *pp) {
    wh_item *it = *pp;
    if (strcmp(it->state, "queued") == 0 || strcmp(it->state, "sending") == 0) {
      prev = it;
      pp = &it->next;
      continue;
    }
    *pp = it->next;
    if (tail == it) tail = prev;
    item_free(it);
    count--;
  }
}

static wh_item *append(const char *event, const sim_entity *e, double due) {
  wh_item *it = calloc(1, sizeof *it);
  if (!it) return NULL;
  it->seq = next_seq++;
  snprintf(it->event, sizeof it->event, "%s", event);
  it->kind = e->kind;
  it->id = e->id;
  it->due = due;
  it->state = "queued";
  if (tail)
    tail->next = it;
  else
    head = it;
  tail = it;
  count++;
  trim();
  return it;
}

/* Zoom's live_streaming_started/stopped body (see docs/simulator.md) */
static char *event_body(const char *event, const sim_entity *e, double when) {
  char buf[32], iso[32];
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "event", event);
  snprintf(buf, sizeof buf, "%lld", (long long)floor(when * 1000));
  cJSON_AddItemToObject(o, "event_ts", cJSON_CreateRaw(buf));
  cJSON *p = cJSON_AddObjectToObject(o, "payload");
  cJSON_AddStringToObject(p, "account_id", sim_cfg.account_id);
  char op[96];
  snprintf(op, sizeof op, "%s@sim.example.com", e->host_id);
  cJSON_AddStringToObject(p, "operator", op);
  cJSON_AddStringToObject(p, "operator_id", e->host_id);
  cJSON *obj = cJSON_AddObjectToObject(p, "object");
  snprintf(buf, sizeof buf, "%" PRId64, e->id);
  cJSON_AddItemToObject(obj, "id", cJSON_CreateRaw(buf));
  char uuid[40];
  snprintf(uuid, sizeof uuid, "sim%016" PRIx64 "==", (uint64_t)e->id);
  cJSON_AddStringToObject(obj, "uuid", uuid);
  cJSON_AddStringToObject(obj, "host_id", e->host_id);
  char topic[300];
  snprintf(topic, sizeof topic, "%s",
           e->display_name[0]
             ? e->display_name
             : (e->kind == SIM_MEETING ? "Simulated meeting" : "Simulated webinar"));
  cJSON_AddStringToObject(obj, "topic", topic);
  cJSON *ls = cJSON_AddObjectToObject(obj, "live_streaming");
  cJSON_AddStringToObject(ls, "service", "Custom_Live_Streaming_Service");
  cJSON *cs = cJSON_AddObjectToObject(ls, "custom_live_streaming_settings");
  cJSON_AddStringToObject(cs, "stream_url", e->stream_url);
  cJSON_AddStringToObject(cs, "stream_key", e->stream_key);
  cJSON_AddStringToObject(cs, "page_url", e->page_url);
  cJSON_AddStringToObject(cs, "resolution", e->resolution[0] ? e->resolution : "720p");
  sim_iso8601(floor(when), iso);
  cJSON_AddStringToObject(ls, "date_time", iso);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

void sim_webhook_stream_event(const sim_entity *e, bool started) {
  if (!sim_cfg.webhook_url[0]) return;
  char event[48];
  snprintf(event, sizeof event, "%s.live_streaming_%s", sim_kind_name(e->kind),
           started ? "started" : "stopped");
  double due = sim_now() + sim_cfg.webhook_delay;
  wh_item *it = append(event, e, due);
  if (!it) return;
  if (e->fails_to_go_live) {
    /* the stream never went live: neither event is sent */
    it->state = "suppressed";
    return;
  }
  it->body = event_body(event, e, due);
  if (!it->body) {
    it->state = "failed";
    snprintf(it->error, sizeof it->error, "out of memory");
    return;
  }
  pthread_cond_signal(&cond);
}

int sim_webhook_validate(void) {
  if (!sim_cfg.webhook_url[0]) return -1;
  sim_entity none;
  memset(&none, 0, sizeof none);
  wh_item *it = append("endpoint.url_validation", &none, sim_now());
  if (!it) return -1;
  sim_random_hex(it->plain, 11);
  char ts[32];
  snprintf(ts, sizeof ts, "%lld", (long long)floor(sim_now() * 1000));
  cJSON *o = cJSON_CreateObject();
  cJSON *p = cJSON_AddObjectToObject(o, "payload");
  cJSON_AddStringToObject(p, "plainToken", it->plain);
  cJSON_AddItemToObject(o, "event_ts", cJSON_CreateRaw(ts));
  cJSON_AddStringToObject(o, "event", "endpoint.url_validation");
  it->body = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!it->body) {
    it->state = "failed";
    return -1;
  }
  pthread_cond_signal(&cond);
  return 0;
}

void sim_webhook_wake(void) { pthread_cond_signal(&cond); }

void sim_webhook_reset(void) {
  wh_item *it = head;
  while (it) {
    wh_item *n = it->next;
    item_free(it);
    it = n;
  }
  head = tail = NULL;
  count = 0;
  pthread_cond_signal(&cond);
}

cJSON *sim_webhook_to_json(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "deliveries");
  char buf[32];
  for (wh_item *it = head; it; it = it->next) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "seq", (double)it->seq);
    cJSON_AddStringToObject(d, "event", it->event);
    if (it->id) {
      cJSON_AddStringToObject(d, "type", sim_kind_name(it->kind));
      snprintf(buf, sizeof buf, "%" PRId64, it->id);
      cJSON_AddItemToObject(d, "id", cJSON_CreateRaw(buf));
    }
    cJSON_AddStringToObject(d, "state", it->state);
    cJSON_AddNumberToObject(d, "due", it->due);
    if (it->status) cJSON_AddNumberToObject(d, "status", (double)it->status);
    if (it->error[0]) cJSON_AddStringToObject(d, "error", it->error);
    if (it->attempts) cJSON_AddNumberToObject(d, "attempts", it->attempts);
    if (it->sent_at > 0) {
      cJSON_AddNumberToObject(d, "sent_at", it->sent_at);
      cJSON_AddNumberToObject(d, "timestamp", (double)it->timestamp);
    }
    cJSON_AddItemToArray(arr, d);
  }
  return o;
}

typedef struct answer {
  char data[4096];
  size_t len;
} answer;

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  answer *a = ud;
  size_t k = size * n, room = sizeof a->data - 1 - a->len;
  memcpy(a->data + a->len, p, k < room ? k : room);
  a->len += k < room ? k : room;
  a->data[a->len] = '\0';
  return size * n;
}

static void hmac_hex(const char *key, const void *msg, size_t len, char *hex) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), key, (int)strlen(key), msg, len, mac, &maclen);
  for (unsigned i = 0; i < maclen; i++) sprintf(hex + 2 * i, "%02x", mac[i]);
  hex[2 * maclen] = '\0';
}

/* the answer to a URL validation: {"plainToken": plain, "encryptedToken":
 * hex(HMAC-SHA256(secret, plain))}, checked with our own HMAC */
static void check_validation(const char *secret, const char *plain, const answer *a, char *error,
                             size_t errlen) {
  cJSON *o = cJSON_Parse(a->data);
  const cJSON *pt = cJSON_GetObjectItemCaseSensitive(o, "plainToken");
  const cJSON *et = cJSON_GetObjectItemCaseSensitive(o, "encryptedToken");
  char want[2 * EVP_MAX_MD_SIZE + 1];
  hmac_hex(secret, plain, strlen(plain), want);
  if (!cJSON_IsObject(o))
    snprintf(error, errlen, "the answer is not a JSON object");
  else if (!cJSON_IsString(pt) || strcmp(pt->valuestring, plain))
    snprintf(error, errlen, "plainToken does not echo the one sent");
  else if (!cJSON_IsString(et) || strcmp(et->valuestring, want))
    snprintf(error, errlen, "encryptedToken is not HMAC-SHA256(secret, plainToken)");
  cJSON_Delete(o);
}

/* POSTs body, signed; fills status or error.  No lock held. */
static void deliver(const char *url, const char *secret, const char *body, long long ts,
                    const char *plain, long *status, char *error, size_t errlen) {
  char msg_prefix[48];
  int plen = snprintf(msg_prefix, sizeof msg_prefix, "v0:%lld:", ts);
  size_t blen = strlen(body);
  char *msg = malloc((size_t)plen + blen);
  if (!msg) {
    snprintf(error, errlen, "out of memory");
    return;
  }
  memcpy(msg, msg_prefix, (size_t)plen);
  memcpy(msg + plen, body, blen);
  char sig[40 + 2 * EVP_MAX_MD_SIZE] = "x-zm-signature: v0=";
  hmac_hex(secret, msg, (size_t)plen + blen, sig + strlen(sig));
  free(msg);
  char tsh[64];
  snprintf(tsh, sizeof tsh, "x-zm-request-timestamp: %lld", ts);

  CURL *h = curl_easy_init();
  if (!h) {
    snprintf(error, errlen, "curl_easy_init failed");
    return;
  }
  struct curl_slist *hdr = NULL;
  hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
  hdr = curl_slist_append(hdr, tsh);
  hdr = curl_slist_append(hdr, sig);
  hdr = curl_slist_append(hdr, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "Zoom Marketplace/1.0a");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  answer a = {.len = 0};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  else
    snprintf(error, errlen, "%s", curl_easy_strerror(rc));
  if (rc == CURLE_OK && plain[0] && *status == 200)
    check_validation(secret, plain, &a, error, errlen);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
}

static void *run(void *arg) {
  (void)arg;
  sim_lock();
  while (!stop_flag) {
    wh_item *next = NULL;
    for (wh_item *it = head; it; it = it->next)
      if (strcmp(it->state, "queued") == 0 && (!next || it->due < next->due)) next = it;
    double wait = next ? next->due - sim_now() : 1.0;
    if (wait > 0) {
      if (wait > 1.0) wait = 1.0; /* the clock may move without a wake-up */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      double t = (double)ts.tv_nsec / 1e9 + wait;
      ts.tv_sec += (time_t)t;
      ts.tv_nsec = (long)((t - floor(t)) * 1e9);
      pthread_cond_timedwait(&cond, &sim_mutex, &ts);
      continue;
    }
    uint64_t seq = next->seq;
    char plain[sizeof next->plain];
    memcpy(plain, next->plain, sizeof plain);
    /* a copy: a reset may free the item while the lock is released */
    char *body = strdup(next->body);
    next->state = "sending";
    char url[sizeof sim_cfg.webhook_url], secret[sizeof sim_cfg.webhook_secret];
    memcpy(url, sim_cfg.webhook_url, sizeof url);
    memcpy(secret, sim_cfg.webhook_secret, sizeof secret);
    double now = sim_now();
    long long ts = (long long)floor(now);
    sim_unlock();
    long status = 0;
    char error[160] = "";
    if (!body)
      snprintf(error, sizeof error, "out of memory");
    else if (url[0])
      deliver(url, secret, body, ts, plain, &status, error, sizeof error);
    else
      snprintf(error, sizeof error, "no webhook URL");
    free(body);
    sim_vlog("webhook #%" PRIu64 ": %s %ld %s", seq, url, status, error);
    sim_lock();
    for (wh_item *it = head; it; it = it->next) {
      if (it->seq != seq) continue;
      it->status = status;
      it->sent_at = now;
      it->timestamp = ts;
      snprintf(it->error, sizeof it->error, "%s", error);
      it->attempts++;
      bool failed = error[0] || status < 200 || status > 299;
      it->state = failed ? "failed" : plain[0] ? "validated" : "sent";
      if (failed && !plain[0] && it->attempts <= sim_cfg.webhook_retries) {
        /* the same event (same body, same event_ts) again later, signed anew */
        it->state = "queued";
        it->due = sim_now() + sim_cfg.webhook_retry_delay;
      } else {
        free(it->body);
        it->body = NULL;
      }
      break;
    }
  }
  sim_unlock();
  return NULL;
}

int sim_webhook_start(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  if (pthread_create(&thread, NULL, run, NULL)) return -1;
  running = true;
  return 0;
}

void sim_webhook_stop(void) {
  if (!running) return;
  sim_lock();
  stop_flag = true;
  pthread_cond_signal(&cond);
  sim_unlock();
  pthread_join(thread, NULL);
  running = false;
  sim_lock();
  sim_webhook_reset();
  sim_unlock();
  curl_global_cleanup();
}
