/* The non-blocking driver (zl_driver) run by a plain poll() loop against
 * zoomlive-sim (argv[1]) on 127.0.0.1: one transfer, many at a capped
 * concurrency, cancels before sending and in flight (and the deferred close
 * of a watched socket), timers alone ending a transfer, refused requests,
 * a refused connection, and the id rules. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>
#include "check.h"
#include "zoomlive.h"

static pid_t sim_pid;
static char base[128];

/* zoomlive-sim on port 0; it prints the port on its first line */
static int start_sim(const char *exe) {
  int p[2];
  if (pipe(p) != 0) return -1;
  sim_pid = fork();
  if (sim_pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl(exe, exe, "--port", "0", "--any-meeting", "--qps", "0", "--daily", "0", "--fault",
          "{\"path\":\"/v2/meetings/111\",\"hang\":true}", "--fault",
          "{\"path\":\"/v2/meetings/222\",\"latency_ms\":50}", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char line[32] = {0};
  size_t n = 0;
  while (n < sizeof line - 1) {
    ssize_t r = read(p[0], line + n, 1);
    if (r <= 0 || line[n] == '\n') break;
    n++;
  }
  close(p[0]);
  int port = atoi(line);
  if (port <= 0) return -1;
  snprintf(base, sizeof base, "http://127.0.0.1:%d/v2", port);
  return 0;
}

/* ---- the host's loop ------------------------------------------------------ */

#define MAXFD 256
static struct pollfd pfd[MAXFD];
static int npfd;
static int removes_seen, last_removed = -1;

static void apply_changes(zl_driver *d) {
  zl_watch w[16];
  size_t n;
  while ((n = zl_driver_changes(d, w, 16)) > 0) {
    for (size_t i = 0; i < n; i++) {
      int k = 0;
      while (k < npfd && pfd[k].fd != w[i].fd) k++;
      if (w[i].what == ZL_WATCH_REMOVE) {
        CHECK(k < npfd); /* only sockets we were told to watch are removed */
        removes_seen++;
        last_removed = w[i].fd;
        if (k < npfd) pfd[k] = pfd[--npfd];
        continue;
      }
      if (k == npfd) {
        CHECK(npfd < MAXFD);
        if (npfd == MAXFD) continue;
        pfd[npfd].fd = w[i].fd;
        npfd++;
      }
      pfd[k].events = (short)(((w[i].what & ZL_WATCH_IN) ? POLLIN : 0) |
                              ((w[i].what & ZL_WATCH_OUT) ? POLLOUT : 0));
    }
  }
}

/* one turn: wait for a socket or the timer, hand it over, apply changes */
static void turn(zl_driver *d) {
  long t = zl_driver_timeout_ms(d);
  int r = poll(pfd, (nfds_t)npfd, t < 0 ? 2000 : (int)t);
  if (r == 0) {
    CHECK(zl_driver_timeout_action(d) == 0);
  } else if (r > 0) {
    /* copy first: actions change the set */
    struct pollfd ready[MAXFD];
    int nr = 0;
    for (int i = 0; i < npfd; i++)
      if (pfd[i].revents) ready[nr++] = pfd[i];
    for (int i = 0; i < nr; i++) {
      int ev = ((ready[i].revents & (POLLIN | POLLHUP)) ? ZL_EV_IN : 0) |
               ((ready[i].revents & POLLOUT) ? ZL_EV_OUT : 0) |
               ((ready[i].revents & (POLLERR | POLLNVAL)) ? ZL_EV_ERR : 0);
      CHECK(zl_driver_socket_action(d, ready[i].fd, ev) == 0);
    }
  }
  apply_changes(d);
}

/* runs until `want` transfers are finished (or a bound of turns) */
static int run_until_done(zl_driver *d, size_t want) {
  for (int i = 0; i < 20000; i++) {
    size_t done;
    zl_driver_counts(d, NULL, NULL, &done);
    if (done >= want) return 1;
    turn(d);
  }
  return 0;
}

static zl_request get(const char *url) {
  zl_request q = {0};
  q.method = "GET";
  q.url = url;
  q.token = "sim-token";
  return q;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_driver ZOOMLIVE_SIM\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CHECK(start_sim(argv[1]) == 0);
  char url[256], url_hang[256], url_slow[256];
  snprintf(url, sizeof url, "%s/meetings/85746065432/livestream", base);
  snprintf(url_hang, sizeof url_hang, "%s/meetings/111/livestream", base);
  snprintf(url_slow, sizeof url_slow, "%s/meetings/222/livestream/status", base);

  /* bad options */
  zl_driver_options bad = {0};
  bad.concurrency = -1;
  errno = 0;
  CHECK(zl_driver_new(&bad) == NULL && errno == EINVAL);

  zl_driver_options o = {0};
  o.concurrency = 4;
  o.conn.timeout_ms = 5000;
  zl_driver *d = zl_driver_new(&o);
  CHECK(d != NULL);
  if (!d) return DONE();
  CHECK(zl_driver_timeout_ms(d) == -1); /* idle: no timer */
  zl_response r = {0};
  uint64_t id = 0;
  int sent = -1;

  /* 1: one GET, answered */
  zl_request q = get(url);
  CHECK(zl_driver_submit(d, &q, 7) == 0);
  apply_changes(d);
  CHECK(zl_driver_timeout_ms(d) >= 0); /* libcurl wants to start it */
  CHECK(run_until_done(d, 1));
  CHECK(zl_driver_take(d, &id, &r, &sent) == 1);
  CHECK(id == 7 && sent == 1);
  CHECK(r.kind == ZL_OK && r.status == 200);
  CHECK(r.body.len > 0 && strstr(r.body.data, "stream_url") != NULL);
  CHECK(zl_driver_take(d, &id, &r, &sent) == 0);

  /* 2: ids are the caller's and unique among the live transfers */
  q = get(url);
  CHECK(zl_driver_submit(d, &q, 8) == 0);
  errno = 0;
  CHECK(zl_driver_submit(d, &q, 8) == -1 && errno == EEXIST);
  CHECK(run_until_done(d, 1));
  CHECK(zl_driver_take(d, &id, &r, NULL) == 1 && id == 8 && r.status == 200);
  errno = 0;
  CHECK(zl_driver_cancel(d, 8) == -1 && errno == ENOENT); /* taken: gone */
  zl_request none = {0};
  errno = 0;
  CHECK(zl_driver_submit(d, &none, 9) == -1 && errno == EINVAL);

  /* 3: many transfers, 4 at a time: every id once, each a 204 */
  enum { MANY = 60 };
  static char bodies[MANY][64];
  static char urls[MANY][256];
  for (int i = 0; i < MANY; i++) {
    snprintf(urls[i], sizeof urls[i], "%s/meetings/%d/livestream/status", base, 90000000 + i);
    snprintf(bodies[i], sizeof bodies[i], "{\"action\":\"stop\"}");
    zl_request p = {0};
    p.method = "PATCH";
    p.url = urls[i];
    p.token = "sim-token";
    p.content_type = "application/json";
    p.body = bodies[i];
    p.body_len = strlen(bodies[i]);
    CHECK(zl_driver_submit(d, &p, 1000 + (uint64_t)i) == 0);
  }
  memset(bodies, 0, sizeof bodies); /* the driver keeps its own copies */
  memset(urls, 0, sizeof urls);
  size_t waiting, running, done;
  zl_driver_counts(d, &waiting, &running, &done);
  CHECK(running == 4 && waiting == MANY - 4 && done == 0);
  int seen[MANY] = {0}, ok = 0, max_watched = 0;
  for (int got = 0, turns = 0; got < MANY && turns < 50000; turns++) {
    turn(d);
    if (npfd > max_watched) max_watched = npfd;
    zl_driver_counts(d, NULL, &running, NULL);
    CHECK(running <= 4);
    while (zl_driver_take(d, &id, &r, &sent) == 1) {
      got++;
      if (id >= 1000 && id < 1000 + MANY) seen[id - 1000]++;
      if (r.kind == ZL_OK && r.status == 204 && sent == 1) ok++;
    }
  }
  CHECK(ok == MANY);
  int once = 1;
  for (int i = 0; i < MANY; i++) once &= seen[i] == 1;
  CHECK(once);
  CHECK(max_watched >= 1 && max_watched <= 4);

  /* 4: cancel a transfer still waiting for a slot: nothing was sent */
  zl_driver_options o1 = {0};
  o1.concurrency = 1;
  zl_driver *d1 = zl_driver_new(&o1);
  CHECK(d1 != NULL);
  q = get(url_hang);
  CHECK(zl_driver_submit(d1, &q, 1) == 0);
  q = get(url);
  CHECK(zl_driver_submit(d1, &q, 2) == 0);
  zl_driver_counts(d1, &waiting, &running, NULL);
  CHECK(waiting == 1 && running == 1);
  CHECK(zl_driver_cancel(d1, 2) == 0);
  /* and one running whose connection is not made yet: nothing sent either */
  CHECK(zl_driver_cancel(d1, 1) == 0);
  zl_driver_counts(d1, &waiting, &running, &done);
  CHECK(waiting == 0 && running == 0 && done == 0);
  apply_changes(d1);
  CHECK(npfd == 0);

  /* 5: cancel in flight: the request went out (the socket is watched for
   * reading only), the hang never answers; the cancel says "may have been
   * sent", the host is told to stop watching, and the socket stays open
   * until the host has had the change */
  q = get(url_hang);
  CHECK(zl_driver_submit(d1, &q, 3) == 0);
  int in_flight = 0;
  for (int i = 0; i < 2000 && !in_flight; i++) {
    turn(d1);
    in_flight = npfd == 1 && pfd[0].events == POLLIN;
  }
  CHECK(in_flight);
  int fd = pfd[0].fd;
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0); /* a host's exec'd child keeps none */
  removes_seen = 0;
  CHECK(zl_driver_cancel(d1, 3) == 1);
  CHECK(fcntl(fd, F_GETFD) != -1); /* not closed under the host's watch */
  apply_changes(d1);
  CHECK(removes_seen == 1 && last_removed == fd && npfd == 0);
  CHECK(fcntl(fd, F_GETFD) != -1); /* the host applies the change first */
  zl_watch w[4];
  CHECK(zl_driver_changes(d1, w, 4) == 0); /* draining again keeps it */
  CHECK(fcntl(fd, F_GETFD) != -1);
  CHECK(zl_driver_timeout_action(d1) == 0); /* the next action closes it */
  errno = 0;
  CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
  zl_driver_counts(d1, &waiting, &running, &done);
  CHECK(waiting == 0 && running == 0 && done == 0);

  /* 6: timers alone end a transfer: a 300 ms bound on a hanging reply */
  q = get(url_hang);
  q.timeout_ms = 300;
  CHECK(zl_driver_submit(d1, &q, 4) == 0);
  CHECK(run_until_done(d1, 1));
  CHECK(zl_driver_take(d1, &id, &r, &sent) == 1);
  CHECK(id == 4 && r.kind == ZL_TIMEOUT && r.curl_code == CURLE_OPERATION_TIMEDOUT && sent == 1);
  apply_changes(d1);
  CHECK(npfd == 0 && zl_driver_timeout_ms(d1) == -1);

  /* 6b: a deadline counts the time queued: behind a hanging transfer (the
   * one slot, a 5 s timeout), a request with a 100 ms deadline ends with
   * ZL_TIMEOUT while it still waits, nothing sent; its deadline is the
   * driver's timer (the hang's own timeout is far later); one without a
   * deadline keeps waiting */
  q = get(url_hang);
  CHECK(zl_driver_submit(d1, &q, 5) == 0);
  q = get(url);
  q.deadline_ms = 100;
  CHECK(zl_driver_submit(d1, &q, 6) == 0);
  q = get(url);
  CHECK(zl_driver_submit(d1, &q, 7) == 0);
  long t = zl_driver_timeout_ms(d1);
  CHECK(t >= 0 && t <= 100);
  CHECK(run_until_done(d1, 1));
  zl_driver_counts(d1, &waiting, &running, &done);
  CHECK(waiting == 1 && running == 1 && done == 1); /* the hang still runs */
  CHECK(zl_driver_take(d1, &id, &r, &sent) == 1);
  CHECK(id == 6 && r.kind == ZL_TIMEOUT && r.curl_code == CURLE_OPERATION_TIMEDOUT && sent == 0);
  CHECK(r.status == 0 && !r.request_sent && strstr(r.message, "nothing sent") != NULL);
  CHECK(zl_driver_cancel(d1, 5) >= 0);
  /* the slot is free: the one without a deadline runs now and is answered */
  CHECK(run_until_done(d1, 1));
  CHECK(zl_driver_take(d1, &id, &r, &sent) == 1);
  CHECK(id == 7 && r.kind == ZL_OK && r.status == 200);
  /* 6c: a 1 ms timeout is kept as 2 ms (libcurl's multi interface would
   * end it at its next timer, 200 ms later): on two slots, the 1 ms hang
   * ends before a 100 ms one */
  {
    zl_driver_options o2 = {0};
    o2.concurrency = 2;
    zl_driver *d2 = zl_driver_new(&o2);
    CHECK(d2 != NULL);
    if (d2) {
      q = get(url_hang);
      q.timeout_ms = 100;
      CHECK(zl_driver_submit(d2, &q, 1) == 0);
      q = get(url_hang);
      q.timeout_ms = 1;
      CHECK(zl_driver_submit(d2, &q, 2) == 0);
      apply_changes(d2);
      CHECK(run_until_done(d2, 1));
      CHECK(zl_driver_take(d2, &id, &r, &sent) == 1);
      CHECK(id == 2 && r.kind == ZL_TIMEOUT);
      CHECK(run_until_done(d2, 1));
      CHECK(zl_driver_take(d2, &id, &r, &sent) == 1);
      CHECK(id == 1 && r.kind == ZL_TIMEOUT);
      zl_driver_free(d2);
      npfd = 0; /* d2's sockets: gone with it */
    }
  }

  /* a deadline longer than what the queue takes: the request runs */
  q = get(url);
  q.deadline_ms = 5000;
  CHECK(zl_driver_submit(d1, &q, 8) == 0);
  CHECK(run_until_done(d1, 1));
  CHECK(zl_driver_take(d1, &id, &r, &sent) == 1);
  CHECK(id == 8 && r.kind == ZL_OK && r.status == 200);
  apply_changes(d1);

  /* 7: a reply that takes a while, with other work queued behind it */
  zl_request p = {0};
  p.method = "PATCH";
  p.url = url_slow;
  p.token = "sim-token";
  p.content_type = "application/json";
  p.body = "{\"action\":\"stop\"}";
  p.body_len = strlen(p.body);
  CHECK(zl_driver_submit(d1, &p, 5) == 0);
  q = get(url);
  CHECK(zl_driver_submit(d1, &q, 6) == 0);
  CHECK(run_until_done(d1, 2));
  CHECK(zl_driver_take(d1, &id, &r, NULL) == 1 && id == 5 && r.status == 204);
  CHECK(zl_driver_take(d1, &id, &r, NULL) == 1 && id == 6 && r.status == 200);

  /* 8: a request the engine refuses finishes at once, nothing sent */
  q = get(url);
  q.token = "bad\r\nX-Injected: 1";
  CHECK(zl_driver_submit(d1, &q, 10) == 0);
  CHECK(zl_driver_take(d1, &id, &r, &sent) == 1);
  CHECK(id == 10 && r.kind == ZL_ARGUMENT && sent == 0);

  /* 9: a refused connection: a transport failure, nothing sent */
  char closed[128];
  snprintf(closed, sizeof closed, "http://127.0.0.1:1/v2/meetings/1/livestream");
  q = get(closed);
  CHECK(zl_driver_submit(d1, &q, 11) == 0);
  CHECK(run_until_done(d1, 1));
  CHECK(zl_driver_take(d1, &id, &r, &sent) == 1);
  CHECK(id == 11 && r.kind == ZL_TRANSPORT && r.status == 0 && sent == 0);

  /* 10: freeing with transfers in every state */
  q = get(url_hang);
  CHECK(zl_driver_submit(d1, &q, 20) == 0);
  q = get(url);
  CHECK(zl_driver_submit(d1, &q, 21) == 0);
  in_flight = 0;
  for (int i = 0; i < 2000 && !in_flight; i++) {
    turn(d1);
    in_flight = npfd == 1 && pfd[0].events == POLLIN;
  }
  CHECK(in_flight);
  zl_driver_free(d1);
  npfd = 0;
  zl_driver_free(d);
  zl_driver_free(NULL);
  zl_buf_free(&r.body);

  kill(sim_pid, SIGTERM);
  waitpid(sim_pid, NULL, 0);
  curl_global_cleanup();
  return DONE();
}
