/* The simulator's clock (real time plus an offset that tests can advance)
 * and its random numbers. */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

static atomic_llong offset_us; /* microseconds; read without the lock by sim_now() */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static pthread_mutex_t rng_mutex = PTHREAD_MUTEX_INITIALIZER;

double sim_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (double)atomic_load(&offset_us) / 1e6;
}

void sim_clock_advance(double seconds) { atomic_fetch_add(&offset_us, llround(seconds * 1e6)); }
double sim_clock_offset(void) { return (double)atomic_load(&offset_us) / 1e6; }
void sim_clock_reset(void) { atomic_store(&offset_us, 0); }

void sim_iso8601(double t, char out[32]) {
  time_t s = (time_t)ceil(t - 1e-9);
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sim_random_seed(uint64_t seed) {
  pthread_mutex_lock(&rng_mutex);
  rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
  pthread_mutex_unlock(&rng_mutex);
}

uint64_t sim_random(void) /* splitmix64 */
{
  pthread_mutex_lock(&rng_mutex);
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  pthread_mutex_unlock(&rng_mutex);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void sim_random_hex(char *out, size_t nbytes) {
  static const char hex[] = "0123456789abcdef";
  uint64_t v = 0;
  for (size_t i = 0; i < nbytes; i++) {
    if (i % 8 == 0) v = sim_random();
    unsigned b = (unsigned)(v & 0xff);
    v >>= 8;
    out[2 * i] = hex[b >> 4];
    out[2 * i + 1] = hex[b & 15];
  }
  out[2 * nbytes] = '\0';
}
