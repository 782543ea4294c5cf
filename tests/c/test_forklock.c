/* fork() while another thread makes and frees connections: the child must
 * never find the idle pool's lock held (its fork handlers are registered by
 * the first taker of the lock, whichever it is).  Each child takes the lock
 * once (zl_idle_count) under a 2 s alarm; a child that hangs dies of it. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>
#include "check.h"
#include "zoomlive.h"

static volatile int stop;

static void *churn(void *arg) {
  (void)arg;
  while (!stop) zl_conn_free(zl_conn_new(NULL));
  return NULL;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
  int hung = 0, failed = 0;
  for (int n = 0; n < 6000 && !hung; n++) {
    pid_t p = fork();
    if (p == 0) {
      alarm(2);
      (void)zl_idle_count();
      _exit(0);
    }
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p) {
      failed = 1;
      break;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) hung = 1;
  }
  stop = 1;
  pthread_join(t, NULL);
  CHECK(!failed);
  CHECK(!hung);
  curl_global_cleanup();
  return DONE();
}
