/* runloop.c - runs a command WARMUP + N times, one process after another,
 * and reports the N timed runs: wall time, the children's user+sys CPU
 * (getrusage RUSAGE_CHILDREN) and the largest child's peak RSS (ru_maxrss).
 * Used for the curl CLI (one process per call) and to account wrk's CPU.
 * usage: runloop NAME N WARMUP cmd [args...]   (a non-zero exit fails) */
#include <sys/wait.h>
#include <unistd.h>
#include "bench_common.h"

static int run(char **argv) {
  pid_t pid = fork();
  if (pid < 0) {
    perror("runloop: fork");
    return -1;
  }
  if (pid == 0) {
    execvp(argv[0], argv);
    perror("runloop: exec");
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) {
    perror("runloop: waitpid");
    return -1;
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "runloop: %s exited with status %d\n", argv[0],
            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: runloop NAME N WARMUP cmd [args...]\n");
    return 2;
  }
  long n = atol(argv[2]), warm = atol(argv[3]);
  for (long i = 0; i < warm; i++)
    if (run(argv + 4)) return 1;
  fflush(stdout);
  double c0 = bench_cpu_us(RUSAGE_CHILDREN), t0 = bench_now();
  for (long i = 0; i < n; i++)
    if (run(argv + 4)) return 1;
  double secs = bench_now() - t0, cpu = bench_cpu_us(RUSAGE_CHILDREN) - c0;
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  printf("RESULT name=%s n=%ld secs=%.6f cpu_us=%.0f hwm_kb=%ld\n", argv[1], n, secs, cpu,
         ru.ru_maxrss);
  return 0;
}
