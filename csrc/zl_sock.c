/* zl_sock.c - the sockets a libcurl handle opened, known by number.
 *
 * libcurl opens and closes its sockets through the callbacks set with
 * CURLOPT_OPENSOCKETFUNCTION / CURLOPT_CLOSESOCKETFUNCTION; an owner (a
 * zl_conn or a zl_driver) records them here so that, in a child after
 * fork(), it can cut itself off from the connections it shares with its
 * parent before libcurl lets go of them (zl_socks_orphan). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include "zl_internal.h"

int zl_socks_add(zl_socks *s, int fd) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    int *p = realloc(s->fd, cap * sizeof *p);
    if (!p) {
      errno = ENOMEM;
      return -1;
    }
    s->fd = p;
    s->cap = cap;
  }
  s->fd[s->n++] = fd;
  return 0;
}

int zl_socks_del(zl_socks *s, int fd) {
  for (size_t i = 0; i < s->n; i++)
    if (s->fd[i] == fd) {
      s->fd[i] = s->fd[--s->n];
      return 1;
    }
  return 0;
}

/* Every recorded descriptor is made to point at a fresh unconnected,
 * non-blocking local datagram socket: the process's copy of the inherited
 * connection is closed (the parent's stays as it is), the number stays taken
 * until libcurl closes it, and whatever libcurl still does with it on the
 * way out (a TLS shutdown, a last read) fails at once without a signal. */
void zl_socks_orphan(zl_socks *s) {
  for (size_t i = 0; i < s->n; i++) {
    int dead = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (dead < 0) {
      close(s->fd[i]);
      continue;
    } /* no socket: at least let go of it */
    if (dup3(dead, s->fd[i], O_CLOEXEC) < 0) close(s->fd[i]);
    close(dead);
  }
}

void zl_socks_free(zl_socks *s) {
  free(s->fd);
  s->fd = NULL;
  s->n = s->cap = 0;
}

/* The CURLOPT_OPENSOCKETFUNCTION body: a close-on-exec socket, recorded. */
int zl_socks_open(zl_socks *s, int family, int type, int protocol) {
  int fd = socket(family, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -1;
  if (zl_socks_add(s, fd) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
