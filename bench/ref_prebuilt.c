/* ref_prebuilt.c - reference client: the multipart body built once (the same
 * bytes zoomlive's encoder writes, a 24-character boundary), sent with
 * CURLOPT_POSTFIELDS from one reused easy handle, PATCH, N times.
 * This is the floor: no per-request encoding or option setting at all.
 * With the flag j, the JSON form instead: {"action":"start","settings":{...}}
 * as application/json (the bytes zoomlive's JSON encoding writes).
 * usage: ref_prebuilt URL N WARMUP [flags] */
#include <strings.h>
#include <curl/curl.h>
#include "bench_common.h"

#define BOUNDARY "zoomliveBench0123456789a" /* 24 characters, as zoomlive's */
#define DISP "Content-Disposition: form-data; name=\""

static size_t discard(char *p, size_t s, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return s * n;
}

static const char body[] = "--" BOUNDARY "\r\n" DISP "action\"\r\n\r\n" BENCH_ACTION
                           "\r\n"
                           "--" BOUNDARY "\r\n" DISP "settings\"\r\n\r\n" BENCH_SETTINGS
                           "\r\n"
                           "--" BOUNDARY "--\r\n";
static const char json_body[] = "{\"action\":\"" BENCH_ACTION "\",\"settings\":" BENCH_SETTINGS "}";

/* Experiments (argv[4], letters; none for the bench's row): which of the
 * options zoomlive's connection sets cost what per request.
 *   u  CURLOPT_USERAGENT            U  the same User-Agent as a line in HTTPHEADER
 *   m  minimal header list: only Authorization and Content-Type (no Accept, no Expect:)
 *   x  CURLOPT_PROXY "" (no proxy environment lookup on every transfer)
 *   t  CURLOPT_TIMEOUT_MS + CONNECTTIMEOUT_MS
 *   h  a header callback like zl_http.c's on_header (8 names, strncasecmp)
 *   p  CURLOPT_PROTOCOLS_STR + TCP_KEEPALIVE + ERRORBUFFER
 *   s  re-set URL, HTTPHEADER, TIMEOUT_MS, USERPWD, POSTFIELDSIZE, POSTFIELDS
 *      and CUSTOMREQUEST before every request, as zl_conn_prepare does */
static const char *flags = "";
static const char *url;
static struct curl_slist *hdrs;
static char errbuf[CURL_ERROR_SIZE];

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  static const char *want[] = {"x-zm-trackingid",  "retry-after",       "x-ratelimit-category",
                               "x-ratelimit-type", "x-ratelimit-limit", "x-ratelimit-remaining",
                               "content-type",     "location"};
  static char dst[256];
  size_t n = size * nmemb;
  (void)ud;
  const char *colon = memchr(p, ':', n);
  if (!colon) return n;
  size_t name_len = (size_t)(colon - p);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (strlen(want[i]) == name_len && strncasecmp(p, want[i], name_len) == 0) {
      size_t vl = n - name_len - 1 < sizeof dst ? n - name_len - 1 : sizeof dst - 1;
      memcpy(dst, colon + 1, vl);
      dst[vl] = 0;
      break;
    }
  return n;
}

static const char *req_body = body;
static size_t req_len = sizeof body - 1;

static int one(CURL *e) {
  if (strchr(flags, 's')) {
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_USERPWD, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req_body);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
  }
  CURLcode rc = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status < 200 || status > 299) {
    fprintf(stderr, "ref_prebuilt: %s, status %ld\n", curl_easy_strerror(rc), status);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ref_prebuilt URL N WARMUP\n");
    return 2;
  }
  long n = atol(argv[2]), warm = atol(argv[3]);
  if (argc > 4 && strcmp(argv[4], "--print-body") == 0) {
    fputs(body, stdout);
    return 0;
  }
  if (argc > 4) flags = argv[4];
  int json = strchr(flags, 'j') != NULL;
  if (json) {
    req_body = json_body;
    req_len = sizeof json_body - 1;
  }
  url = argv[1];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Authorization: Bearer " BENCH_TOKEN);
  if (!(argc > 4 && strchr(argv[4], 'm'))) {
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");
  }
  h = curl_slist_append(h, json ? "Content-Type: application/json"
                                : "Content-Type: multipart/form-data; boundary=" BOUNDARY);
  if (argc > 4 && strchr(argv[4], 'U'))
    h = curl_slist_append(h, "User-Agent: zoomlive/" ZOOMLIVE_VERSION " libcurl/7.88.1");
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req_len);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, req_body);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  hdrs = h;
  if (strchr(flags, 'u'))
    curl_easy_setopt(e, CURLOPT_USERAGENT, "zoomlive/" ZOOMLIVE_VERSION " libcurl/7.88.1");
  if (strchr(flags, 't')) {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  }
  if (strchr(flags, 'h')) curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  if (strchr(flags, 'x')) curl_easy_setopt(e, CURLOPT_PROXY, "");
  if (strchr(flags, 'p')) {
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  }
  for (long i = 0; i < warm; i++)
    if (one(e)) return 1;
  double c0 = bench_cpu_us(RUSAGE_SELF), t0 = bench_now();
  for (long i = 0; i < n; i++)
    if (one(e)) return 1;
  double secs = bench_now() - t0, cpu = bench_cpu_us(RUSAGE_SELF) - c0;
  printf("RESULT name=%s n=%ld secs=%.6f cpu_us=%.0f hwm_kb=%ld\n",
         json ? "ref_json" : "ref_prebuilt", n, secs, cpu, bench_hwm_kb());
  curl_easy_cleanup(e);
  curl_slist_free_all(h);
  curl_global_cleanup();
  return 0;
}
