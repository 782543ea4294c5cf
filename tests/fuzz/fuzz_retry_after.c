/* fuzz_retry_after.c - libFuzzer target for zl_retry_after_seconds.
 *
 * The input (cut at its first NUL, as a header value is) is parsed against
 * a few "now" values: the result is never NaN and is either -1 (not
 * understood) or a wait in [0, +inf). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zoomlive.h"

#define ASSERT(c)                                                                                 \
  do {                                                                                            \
    if (!(c)) {                                                                                   \
      fprintf(stderr, "fuzz_retry_after: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                                                    \
    }                                                                                             \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  static const double nows[] = {0.0, 1590883200.0, 1795641651.5, 4102444800.0, -1e9};
  for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
    double r = zl_retry_after_seconds(s, nows[i]);
    ASSERT(!isnan(r));
    ASSERT(r == -1.0 || r >= 0.0);
  }
  ASSERT(zl_retry_after_seconds(NULL, 0) == -1.0);
  free(s);
  return 0;
}
