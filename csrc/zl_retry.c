/* zl_retry.c - the timing of retries: Retry-After in its three forms,
 * exponential backoff with full jitter, a monotonic clock and a sleep. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "zl_internal.h"

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* reads exactly n digits */
static int digits(const char **s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*s)[i])) return 0;
    v = v * 10 + ((*s)[i] - '0');
  }
  *s += n;
  *out = v;
  return 1;
}

static int month_of(const char *s) {
  static const char *m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; i++)
    if (strncasecmp(s, m[i], 3) == 0) return i;
  return -1;
}

static int valid_tm(const struct tm *t) {
  return t->tm_mon >= 0 && t->tm_mon < 12 && t->tm_mday >= 1 && t->tm_mday <= 31 &&
         t->tm_hour >= 0 && t->tm_hour <= 23 && t->tm_min >= 0 && t->tm_min <= 59 &&
         t->tm_sec >= 0 && t->tm_sec <= 60 && t->tm_year >= 70 && t->tm_year <= 9999 - 1900;
}

static int hms(const char **s, struct tm *t) {
  return digits(s, 2, &t->tm_hour) && *(*s)++ == ':' && digits(s, 2, &t->tm_min) &&
         *(*s)++ == ':' && digits(s, 2, &t->tm_sec);
}

/* 2020-05-31T00:00:00Z, 2020-05-31T00:00:00.250+02:00, ...; no zone = UTC */
static int parse_iso(const char *s, double *out) {
  struct tm t;
  memset(&t, 0, sizeof t);
  int y;
  if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &t.tm_mon) || *s++ != '-' ||
      !digits(&s, 2, &t.tm_mday))
    return 0;
  if (*s != 'T' && *s != 't' && *s != ' ') return 0;
  s++;
  if (!hms(&s, &t)) return 0;
  double frac = 0;
  if (*s == '.' || *s == ',') {
    s++;
    double scale = 0.1;
    if (!isdigit((unsigned char)*s)) return 0;
    while (isdigit((unsigned char)*s)) {
      frac += (*s - '0') * scale;
      scale /= 10;
      s++;
    }
  }
  long off = 0;
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int sign = *s++ == '-' ? -1 : 1, hh, mm = 0;
    if (!digits(&s, 2, &hh)) return 0;
    if (*s == ':') s++;
    if (isdigit((unsigned char)*s) && !digits(&s, 2, &mm)) return 0;
    if (hh > 23 || mm > 59) return 0;
    off = sign * (hh * 3600L + mm * 60L);
  }
  if (*skip_ws(s)) return 0;
  t.tm_year = y - 1900;
  t.tm_mon -= 1;
  if (!valid_tm(&t)) return 0;
  *out = (double)timegm(&t) - (double)off + frac;
  return 1;
}

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994" */
static int parse_http_date(const char *s, double *out) {
  struct tm t;
  memset(&t, 0, sizeof t);
  const char *p = s;
  while (isalpha((unsigned char)*p)) p++;
  if (p - s < 3) return 0;
  if (*p == ',') {
    p = skip_ws(p + 1);
    int y;
    if (!digits(&p, 2, &t.tm_mday)) return 0;
    char sep = *p;
    if (sep != ' ' && sep != '-') return 0;
    p++;
    if ((t.tm_mon = month_of(p)) < 0) return 0;
    p += 3;
    if (*p++ != sep) return 0;
    if (sep == ' ') {
      if (!digits(&p, 4, &y)) return 0;
    } else {
      if (!digits(&p, 2, &y)) return 0;
      y += y < 70 ? 2000 : 1900;
    }
    if (*p++ != ' ' || !hms(&p, &t)) return 0;
    p = skip_ws(p);
    if (strncasecmp(p, "GMT", 3) != 0 && strncasecmp(p, "UTC", 3) != 0) return 0;
    if (*skip_ws(p + 3)) return 0;
    t.tm_year = y - 1900;
  } else if (*p == ' ') { /* asctime */
    p++;
    if ((t.tm_mon = month_of(p)) < 0) return 0;
    p += 3;
    if (*p++ != ' ') return 0;
    if (*p == ' ') p++;
    int d = 0;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p) && d < 100) d = d * 10 + (*p++ - '0');
    t.tm_mday = d;
    int y;
    if (*p++ != ' ' || !hms(&p, &t) || *p++ != ' ' || !digits(&p, 4, &y)) return 0;
    if (*skip_ws(p)) return 0;
    t.tm_year = y - 1900;
  } else {
    return 0;
  }
  if (!valid_tm(&t)) return 0;
  *out = (double)timegm(&t);
  return 1;
}

double zl_retry_after_seconds(const char *value, double now) {
  if (!value) return -1;
  const char *s = skip_ws(value);
  if (!*s) return -1;
  if (isdigit((unsigned char)*s)) {
    const char *p = s;
    double v = 0;
    /* a number too large to matter is a very long time, not "no value":
     * it saturates (a wait past any budget; the caller returns at once) */
    while (isdigit((unsigned char)*p)) {
      if (v < 1e12) v = v * 10 + (*p - '0');
      p++;
    }
    if (v > 1e12) v = 1e12;
    if (!*skip_ws(p)) return v; /* delta-seconds */
  }
  double when;
  if (parse_iso(s, &when) || parse_http_date(s, &when)) {
    double d = when - now;
    return d > 0 ? d : 0;
  }
  return -1;
}

int zl_parse_date(const char *value, double *out) {
  if (!value) return -1;
  const char *s = skip_ws(value);
  return parse_iso(s, out) || parse_http_date(s, out) ? 0 : -1;
}

double zl_backoff(int attempt, double base, double cap) {
  if (attempt < 0) attempt = 0;
  if (attempt > 60) attempt = 60;
  if (!(base > 0)) return 0;
  double ceiling = base * ldexp(1.0, attempt);
  if (cap > 0 && ceiling > cap) ceiling = cap;
  return zl_rand_unit() * ceiling;
}

double zl_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void zl_sleep(double seconds) {
  if (!(seconds > 0)) return;
  if (seconds > 1e7) seconds = 1e7;
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  /* a signal that asked for an abort (zl_abort_all) ends the wait */
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !zl_abort_requested()) {}
}
