/* ref_mime.c - reference client: one reused libcurl easy handle, the
 * multipart body built with curl_mime on every request (as a C program that
 * sends a fresh form per call would), PATCH to URL, N times sequentially.
 * usage: ref_mime URL N WARMUP */
#include <curl/curl.h>
#include "bench_common.h"

static size_t discard(char *p, size_t s, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return s * n;
}

static int one(CURL *e) {
  curl_mime *m = curl_mime_init(e);
  curl_mimepart *p = curl_mime_addpart(m);
  curl_mime_name(p, "action");
  curl_mime_data(p, BENCH_ACTION, CURL_ZERO_TERMINATED);
  p = curl_mime_addpart(m);
  curl_mime_name(p, "settings");
  curl_mime_data(p, BENCH_SETTINGS, CURL_ZERO_TERMINATED);
  curl_easy_setopt(e, CURLOPT_MIMEPOST, m);
  CURLcode rc = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_mime_free(m);
  if (rc != CURLE_OK || status < 200 || status > 299) {
    fprintf(stderr, "ref_mime: %s, status %ld\n", curl_easy_strerror(rc), status);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ref_mime URL N WARMUP\n");
    return 2;
  }
  long n = atol(argv[2]), warm = atol(argv[3]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Authorization: Bearer " BENCH_TOKEN);
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  for (long i = 0; i < warm; i++)
    if (one(e)) return 1;
  double c0 = bench_cpu_us(RUSAGE_SELF), t0 = bench_now();
  for (long i = 0; i < n; i++)
    if (one(e)) return 1;
  double secs = bench_now() - t0, cpu = bench_cpu_us(RUSAGE_SELF) - c0;
  printf("RESULT name=ref_mime n=%ld secs=%.6f cpu_us=%.0f hwm_kb=%ld\n", n, secs, cpu,
         bench_hwm_kb());
  curl_easy_cleanup(e);
  curl_slist_free_all(h);
  curl_global_cleanup();
  return 0;
}
