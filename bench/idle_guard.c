/* idle_guard.c - holds /dev/cpu_dma_latency at 0 while it runs, so idle CPUs
 * poll instead of halting (on a VM, a halted vCPU costs tens of µs to wake,
 * which a one-connection ping-pong pays on every request and which varies with
 * whatever else runs on the machine).  The kernel drops the request when the
 * file is closed, i.e. when this process exits: run.sh kills it at the end.
 * usage: idle_guard   (prints "ok" once the request is in force, then waits) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("idle_guard: /dev/cpu_dma_latency");
    return 1;
  }
  int32_t zero = 0;
  if (write(fd, &zero, sizeof zero) != (ssize_t)sizeof zero) {
    perror("idle_guard: write");
    return 1;
  }
  puts("ok");
  fflush(stdout);
  for (;;) pause();
}
