/* The request engine against a scripted loopback server written here:
 * what goes out (method, headers, body), what comes back (status, the
 * headers we keep, capped bodies), connection reuse, and the failures. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include "check.h"
#include "zoomlive.h"

static int lfd, port;
static int accepts;
static const char *script[16]; /* responses, in order; NULL = stay silent */
static int nscript;
static char last_req[1 << 16];
static size_t last_len;

static void *serve(void *arg) {
  (void)arg;
  int i = 0;
  while (i < nscript) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) return NULL;
    accepts++;
    while (i < nscript) {
      /* read one request: headers, then Content-Length bytes */
      size_t n = 0;
      char *hend = NULL;
      while (!hend) {
        ssize_t r = read(fd, last_req + n, sizeof last_req - 1 - n);
        if (r <= 0) goto next_conn;
        n += (size_t)r;
        last_req[n] = 0;
        hend = strstr(last_req, "\r\n\r\n");
      }
      char *cl = strcasestr(last_req, "\r\nContent-Length:");
      size_t want =
        (size_t)(hend + 4 - last_req) + (cl && cl < hend ? strtoul(cl + 17, NULL, 10) : 0);
      while (n < want) {
        ssize_t r = read(fd, last_req + n, sizeof last_req - 1 - n);
        if (r <= 0) goto next_conn;
        n += (size_t)r;
      }
      last_len = n;
      last_req[n] = 0;
      const char *resp = script[i++];
      if (!resp) {
        usleep(600000);
        goto next_conn;
      } /* silent: the client times out */
      if (write(fd, resp, strlen(resp)) < 0) goto next_conn;
    }
  next_conn:
    close(fd);
  }
  return NULL;
}

static pthread_t start_server(void) {
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  bind(lfd, (struct sockaddr *)&a, sizeof a);
  listen(lfd, 8);
  socklen_t l = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &l);
  port = ntohs(a.sin_port);
  pthread_t t;
  pthread_create(&t, NULL, serve, NULL);
  return t;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  static char big[5000];
  memset(big, 'x', sizeof big);
  static char bigresp[6000];
  snprintf(bigresp, sizeof bigresp,
           "HTTP/1.1 500 Internal Server Error\r\nContent-Length: %zu\r\n\r\n%.*s", sizeof big,
           (int)sizeof big, big);
  script[nscript++] = "HTTP/1.1 204 No Content\r\nx-zm-trackingid: v=2.0;clid=us06;rid=A1\r\n\r\n";
  script[nscript++] =
    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json;charset=UTF-8\r\n"
    "X-ZM-TRACKINGID:   rid-404  \r\nContent-Length: 60\r\n\r\n"
    "{\"code\":3001,\"message\":\"Meeting does not exist: 123456789.\"}";
  script[nscript++] =
    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2020-05-31T00:00:00Z\r\n"
    "X-RateLimit-Category: Light\r\nX-RateLimit-Type: QPS\r\nX-RateLimit-Limit: 30\r\n"
    "X-RateLimit-Remaining: 0\r\nContent-Length: 0\r\n\r\n";
  script[nscript++] = bigresp;
  script[nscript++] =
    "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.invalid/steal\r\nContent-Length: 0\r\n\r\n";
  /* a header line over libcurl's 100 KiB limit */
  static char hugehdr[120 * 1024];
  int hn = snprintf(hugehdr, sizeof hugehdr, "HTTP/1.1 204 No Content\r\nX-Big: ");
  memset(hugehdr + hn, 'h', 110 * 1024);
  memcpy(hugehdr + hn + 110 * 1024, "\r\n\r\n", 5);
  script[nscript++] = hugehdr;
  script[nscript++] = NULL; /* silent */
  pthread_t th = start_server();

  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/meetings/85746065432/livestream/status", port);
  zl_conn_options o = {0};
  o.max_body = 1024;
  zl_conn *c = zl_conn_new(&o);
  CHECK(c != NULL);
  zl_response r = {0};
  const char *body = "{\"action\":\"stop\"}";
  zl_request q = {"PATCH", url, "tok-123", NULL, "application/json", body, strlen(body), 0, 0};

  /* 1: 204, and the request as sent */
  CHECK(zl_conn_perform(c, &q, &r) == ZL_OK);
  CHECK(r.status == 204);
  CHECK(strcmp(r.tracking_id, "v=2.0;clid=us06;rid=A1") == 0);
  CHECK(r.body.len == 0);
  CHECK(strncmp(last_req, "PATCH /v2/meetings/85746065432/livestream/status HTTP/1.1\r\n", 58) ==
        0);
  CHECK(strstr(last_req, "\r\nAuthorization: Bearer tok-123\r\n") != NULL);
  CHECK(strstr(last_req, "\r\nContent-Type: application/json\r\n") != NULL);
  CHECK(strstr(last_req, "\r\nAccept: application/json\r\n") != NULL);
  CHECK(strstr(last_req, "\r\nExpect:") == NULL);
  CHECK(strstr(last_req, "User-Agent: zoomlive/") != NULL);
  CHECK(last_len > strlen(body) && strcmp(last_req + last_len - strlen(body), body) == 0);

  /* 2: a Zoom error body with its headers; same connection */
  q.method = "GET";
  q.body = NULL;
  q.body_len = 0;
  q.content_type = NULL;
  CHECK(zl_conn_perform(c, &q, &r) == ZL_OK);
  CHECK(r.status == 404);
  CHECK(strcmp(r.tracking_id, "rid-404") == 0);
  CHECK(strcmp(r.content_type, "application/json;charset=UTF-8") == 0);
  CHECK(r.body.len == 60 && strstr(r.body.data, "\"code\":3001") != NULL);
  CHECK(strncmp(last_req, "GET /v2/", 8) == 0);
  CHECK(strstr(last_req, "Content-Type") == NULL);

  /* 3: rate-limit headers; the tracking id of the last response is gone */
  CHECK(zl_conn_perform(c, &q, &r) == ZL_OK);
  CHECK(r.status == 429);
  CHECK(strcmp(r.retry_after, "2020-05-31T00:00:00Z") == 0);
  CHECK(strcmp(r.rl_category, "Light") == 0 && strcmp(r.rl_type, "QPS") == 0);
  CHECK(strcmp(r.rl_limit, "30") == 0 && strcmp(r.rl_remaining, "0") == 0);
  CHECK(r.tracking_id[0] == 0);

  /* 4: a body over the cap is cut, and flagged */
  CHECK(zl_conn_perform(c, &q, &r) == ZL_OK);
  CHECK(r.status == 500 && r.body.len == 1024 && r.body_truncated == 1);

  /* 5: redirects are not followed */
  CHECK(zl_conn_perform(c, &q, &r) == ZL_OK);
  CHECK(r.status == 302 && strcmp(r.location, "http://elsewhere.invalid/steal") == 0);
  CHECK(accepts == 1); /* one connection for all five */

  /* 5b: a reply the core cannot take is a transport error, with its status */
  CHECK(zl_conn_perform(c, &q, &r) == ZL_TRANSPORT);
  CHECK(r.kind == ZL_TRANSPORT && r.status == 204);
  CHECK(strstr(r.message, "could not be taken") != NULL);

  /* 6: a header value with CR/LF is refused before anything is sent */
  zl_request evil = q;
  evil.token = "tok\r\nX-Evil: 1";
  CHECK(zl_conn_perform(c, &evil, &r) == ZL_ARGUMENT);
  CHECK(r.status == 0);

  /* 7: a silent server: timeout */
  q.timeout_ms = 300;
  CHECK(zl_conn_perform(c, &q, &r) == ZL_TIMEOUT);
  CHECK(r.curl_code == CURLE_OPERATION_TIMEDOUT && r.message[0] != 0);
  CHECK(r.elapsed < 1.5);

  pthread_join(th, NULL);
  close(lfd);

  /* 8: a refused port: transport, with curl's code */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/x", port);
  q.url = url;
  CHECK(zl_conn_perform(c, &q, &r) == ZL_TRANSPORT);
  CHECK(r.curl_code == CURLE_COULDNT_CONNECT);
  CHECK(r.status == 0);

  zl_buf_free(&r.body);
  zl_conn_free(c);
  zl_conn_free(NULL);
  curl_global_cleanup();
  return DONE();
}
