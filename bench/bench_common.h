/* bench_common.h - timing and resource helpers shared by the C reference
 * clients of make bench.  Each client prints one line:
 *   RESULT name=NAME n=N secs=S cpu_us=U hwm_kb=K
 * (n timed requests after the warm-up, their wall time, the process's
 * user+sys CPU over them, and its peak RSS (VmHWM) at the end). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double bench_cpu_us(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

static inline long bench_hwm_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  fclose(f);
  return kb;
}

/* The seed's form: action=start, settings={...} */
#define BENCH_ACTION "start"
#define BENCH_SETTINGS "{\"active_speaker_name\":false,\"display_name\":\"Town hall\"}"
#define BENCH_TOKEN "x"

#endif
