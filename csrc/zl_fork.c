/* zl_fork.c - the current process id without a system call on every request.
 *
 * The core compares the process that made a connection or seeded a random
 * generator with the current one, to start afresh in a child after fork().
 * glibc's getpid() is a system call each time (it stopped caching in 2.25),
 * and a request asked it five times.  Here the id is kept on a page the
 * kernel wipes in every child (madvise MADV_WIPEONFORK, Linux 4.14): a child
 * finds the page zeroed and asks getpid() once.  This holds for fork(),
 * _Fork() and clone() without a new address space alike, with no atfork
 * handler to depend on.  Where the page cannot be had (an older kernel, no
 * memory), every call asks getpid(), as before. */
#include <stdint.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>
#include "zl_internal.h"

struct pid_page {
  pid_t pid; /* 0: not known in this process (a fresh page, or a wiped one) */
};

static struct pid_page *page; /* NULL: not set up; MAP_FAILED: not available */
static pthread_once_t page_once = PTHREAD_ONCE_INIT;

static void page_init(void) {
#ifdef MADV_WIPEONFORK
  long sz = sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, sz > 0 ? (size_t)sz : 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED && madvise(p, sz > 0 ? (size_t)sz : 4096, MADV_WIPEONFORK) != 0) {
    munmap(p, sz > 0 ? (size_t)sz : 4096);
    p = MAP_FAILED;
  }
  __atomic_store_n(&page, (struct pid_page *)p, __ATOMIC_RELEASE);
#else
  __atomic_store_n(&page, (struct pid_page *)MAP_FAILED, __ATOMIC_RELEASE);
#endif
}

pid_t zl_pid(void) {
  struct pid_page *p = __atomic_load_n(&page, __ATOMIC_ACQUIRE);
  if (!p) {
    pthread_once(&page_once, page_init);
    p = __atomic_load_n(&page, __ATOMIC_ACQUIRE);
  }
  if (p == MAP_FAILED) return getpid();
  pid_t id = __atomic_load_n(&p->pid, __ATOMIC_RELAXED);
  if (id == 0) { /* first use in this process: threads racing here store the same value */
    id = getpid();
    __atomic_store_n(&p->pid, id, __ATOMIC_RELAXED);
  }
  return id;
}
