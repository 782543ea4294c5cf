/* zl_rand.c - random numbers for multipart boundaries and retry jitter.
 * xoshiro256**, one per thread, seeded from getrandom(); boundaries need to be
 * unpredictable enough not to collide with content, not to be secret. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "zl_internal.h"

/* one generator per thread: no lock on the hot path */
static __thread uint64_t s[4];
static __thread int seeded;
/* the process that seeded this thread's generator: a child after fork()
 * reseeds, so it never draws its parent's boundaries and jitter */
static __thread pid_t seeded_pid;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void seed(void) {
  if (getrandom(s, sizeof s, 0) != (ssize_t)sizeof s) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)zl_pid() ^
                 (uint64_t)(uintptr_t)&seeded;
    for (int i = 0; i < 4; i++) { /* splitmix64 */
      uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      s[i] = z ^ (z >> 31);
    }
  }
  if (!(s[0] | s[1] | s[2] | s[3])) s[0] = 1;
  seeded = 1;
  seeded_pid = zl_pid();
}

/* a child after fork() reseeds: it never draws its parent's numbers */
static void check_seed(void) {
  if (!seeded || seeded_pid != zl_pid()) seed();
}

static uint64_t next(void) {
  uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return r;
}

uint64_t zl_rand64(void) {
  check_seed();
  return next();
}

double zl_rand_unit(void) { return (double)(zl_rand64() >> 11) * 0x1.0p-53; }

void zl_rand_boundary(char *out, size_t n) {
  static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uint64_t r = 0;
  int left = 0;
  check_seed();
  for (size_t i = 0; i < n; i++) {
    if (left == 0) {
      r = next();
      left = 10;
    } /* 6 bits each */
    out[i] = alnum[(r & 63) % 62];
    r >>= 6;
    left--;
  }
}
