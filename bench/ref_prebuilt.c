/* ref_prebuilt.c - reference client: the multipart body built once (the same
 * bytes zoomlive's encoder writes, a 40-character boundary), sent with
 * CURLOPT_POSTFIELDS from one reused easy handle, PATCH, N times.
 * This is the floor: no per-request encoding or option setting at all.
 * usage: ref_prebuilt URL N WARMUP */
#include <curl/curl.h>
#include "bench_common.h"

#define BOUNDARY "zoomliveBench0123456789abcdefghijklmnopq"   /* 40 characters */
#define DISP "Content-Disposition: form-data; name=\""

static size_t discard(char *p, size_t s, size_t n, void *ud) { (void)p; (void)ud; return s * n; }

static const char body[] =
  "--" BOUNDARY "\r\n" DISP "action\"\r\n\r\n" BENCH_ACTION "\r\n"
  "--" BOUNDARY "\r\n" DISP "settings\"\r\n\r\n" BENCH_SETTINGS "\r\n"
  "--" BOUNDARY "--\r\n";

static int one(CURL *e) {
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
  if (argc < 4) { fprintf(stderr, "usage: ref_prebuilt URL N WARMUP\n"); return 2; }
  long n = atol(argv[2]), warm = atol(argv[3]);
  if (argc > 4 && strcmp(argv[4], "--print-body") == 0) { fputs(body, stdout); return 0; }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Authorization: Bearer " BENCH_TOKEN);
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, "Expect:");
  h = curl_slist_append(h, "Content-Type: multipart/form-data; boundary=" BOUNDARY);
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(sizeof body - 1));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  for (long i = 0; i < warm; i++) if (one(e)) return 1;
  double c0 = bench_cpu_us(RUSAGE_SELF), t0 = bench_now();
  for (long i = 0; i < n; i++) if (one(e)) return 1;
  double secs = bench_now() - t0, cpu = bench_cpu_us(RUSAGE_SELF) - c0;
  printf("RESULT name=ref_prebuilt n=%ld secs=%.6f cpu_us=%.0f hwm_kb=%ld\n", n, secs, cpu, bench_hwm_kb());
  curl_easy_cleanup(e);
  curl_slist_free_all(h);
  curl_global_cleanup();
  return 0;
}
