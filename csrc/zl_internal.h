/* zl_internal.h - declarations shared by the C core's files; not installed. */
#ifndef ZL_INTERNAL_H
#define ZL_INTERNAL_H
#ifndef ZOOMLIVE_VERSION
#  error \
    "zoomlive: build with -DZOOMLIVE_VERSION=\"x.y.z\" (the content of the file VERSION); CMake and the rockspec do"
#endif
#include "zoomlive.h"

/* the User-Agent a connection sends unless told otherwise (core.user_agent) */
#define ZL_USER_AGENT "zoomlive/" ZOOMLIVE_VERSION

/* zl_buf.c */
int zl_buf_reserve(zl_buf *b, size_t extra);        /* 0 or -1 (ENOMEM) */
int zl_buf_add(zl_buf *b, const void *p, size_t n); /* 0 or -1 */
#define zl_buf_addlit(b, s) zl_buf_add((b), (s), sizeof(s) - 1)
void zl_buf_reset(zl_buf *b); /* len = 0, keeps memory */

/* zl_rand.c: a per-process CSPRNG-seeded generator for boundaries and jitter */
uint64_t zl_rand64(void);
double zl_rand_unit(void);                  /* [0, 1) */
void zl_rand_boundary(char *out, size_t n); /* n chars of [0-9A-Za-z] */

/* zl_fork.c: the current process id, a system call only in a new process
 * (fork detection on every request without asking the kernel each time) */
#include <sys/types.h>
pid_t zl_pid(void);

/* zl_http.c: process-wide abort (a host's signal handler may call zl_abort_all) */
void zl_abort_all(int on); /* 1: after a grace, 2: at once; async-signal-safe */
int zl_abort_requested(void);
void zl_abort_grace(double seconds); /* running transfers get this long */
/* zl_sock.c: the sockets a libcurl handle opened (see zl_sock.c) */
typedef struct zl_socks {
  int *fd;
  size_t n, cap;
} zl_socks;
int zl_socks_add(zl_socks *s, int fd);                              /* 0 or -1 (ENOMEM) */
int zl_socks_del(zl_socks *s, int fd);                              /* 1 when it was there */
int zl_socks_open(zl_socks *s, int family, int type, int protocol); /* fd or -1 */
void zl_socks_orphan(zl_socks *s); /* after fork: cut every socket off, numbers kept */
void zl_socks_free(zl_socks *s);

/* header value check: 1 when s has no CR, LF or NUL in its first n bytes */
int zl_header_safe(const char *s, size_t n);
/* zl_http.c: how many times libcurl got ready to send the current request
 * on a connection (CURLOPT_PREREQFUNCTION): > 0 means bytes may have left */
int zl_conn_sends(const zl_conn *c);
#endif
