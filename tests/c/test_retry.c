/* Retry-After in all three forms, and backoff bounds. */
#include <math.h>
#include "check.h"
#include "zoomlive.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-6)

int main(void) {
  double now = 1590883200.0 - 10; /* 2020-05-31T00:00:00Z minus 10 s */
  CHECK(NEAR(zl_retry_after_seconds("2020-05-31T00:00:00Z", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("2020-05-31T00:00:00", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("2020-05-31T00:00:00.5Z", now), 10.5));
  CHECK(NEAR(zl_retry_after_seconds("2020-05-31T02:00:00+02:00", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("2020-05-30T22:00:00-0200", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("Sun, 31 May 2020 00:00:00 GMT", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("Sunday, 31-May-20 00:00:00 GMT", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("Sun May 31 00:00:00 2020", now), 10));
  CHECK(NEAR(zl_retry_after_seconds("  120 ", now), 120));
  CHECK(NEAR(zl_retry_after_seconds("0", now), 0));
  CHECK(NEAR(zl_retry_after_seconds("2020-05-30T00:00:00Z", now), 0)); /* past */
  const char *bad[] = {"",
                       "  ",
                       "-5",
                       "1.5",
                       "soon",
                       "2020-13-01T00:00:00Z",
                       "2020-05-31T25:00:00Z",
                       "2020-05-31",
                       "Sun, 31 Foo 2020 00:00:00 GMT",
                       "Sun, 31 May 2020 00:00:00 PST",
                       "2020-05-31T00:00:00Zjunk",
                       NULL};
  for (int i = 0; bad[i]; i++) CHECK(zl_retry_after_seconds(bad[i], now) == -1);
  CHECK(zl_retry_after_seconds(NULL, now) == -1);
  /* too large to matter is a very long time, never "no value" (which would
   * let a caller retry soon): a number saturates, far dates are dates */
  CHECK(zl_retry_after_seconds("99999999999999999999", now) == 1e12);
  CHECK(zl_retry_after_seconds("99999999999999999999999999999999999999999999", now) == 1e12);
  CHECK(zl_retry_after_seconds("9999-12-31T23:59:59Z", now) > 2.5e11);
  CHECK(zl_retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT", now) > 2.5e11);

  for (int a = 0; a < 12; a++)
    for (int i = 0; i < 200; i++) {
      double w = zl_backoff(a, 0.5, 8);
      double ceiling = fmin(8, 0.5 * pow(2, a));
      CHECK(w >= 0 && w <= ceiling);
    }
  /* full jitter spreads: across 1000 draws at the cap, both halves are hit */
  int low = 0, high = 0;
  for (int i = 0; i < 1000; i++) {
    double w = zl_backoff(10, 0.5, 8);
    if (w < 4)
      low++;
    else
      high++;
  }
  CHECK(low > 300 && high > 300);
  CHECK(zl_backoff(3, 0, 8) == 0);

  double t0 = zl_monotonic();
  zl_sleep(0.02);
  CHECK(zl_monotonic() - t0 >= 0.019);
  return DONE();
}
