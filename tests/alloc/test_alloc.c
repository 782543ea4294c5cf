/* test_alloc.c - zoomlive under a failing Lua allocator.
 *
 * Embeds Lua (this test executable links liblua; the module never does)
 * with a lua_Alloc that fails the Nth allocation and every one after it
 * until the protected call returns (and, in a first pass, the Nth alone,
 * which Lua's emergency collection must absorb).  For every N from 1 to the number of
 * allocations that zoomlive.new{...} plus a full
 * client:update(68423085, "start", {display_name = "x"}) need (and one
 * more, where nothing fails), it runs them under lua_pcall against a tiny
 * HTTP server in this process that answers 204 (and, for the "wide"
 * scenario, a configuration to a GET and Zoom's 404 for meeting 1; the
 * "batch" scenario runs client:update_many on the multi interface, the
 * "driver" one four calls on core.driver in a poll() loop).  Each run must end in
 * success, a returned error table or a Lua memory error, never a crash or
 * another error; after lua_close every Lua byte must be freed and no
 * libcurl easy handle may be left open (counted by wrapping
 * curl_easy_init/curl_easy_cleanup, which the module resolves to this
 * executable's exported definitions).  Leaks of C memory are what the ASan
 * and valgrind runs of this test catch (scripts/ci-sanitizers.sh).
 *
 * usage: test_alloc <build lib dir (holds zoomlive/core.so)> <source lua dir> [max N] */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

/* ---- libcurl handle accounting ------------------------------------------ */
static int live_handles;

/* libcurl calls curl_easy_init itself (its multi handle's closure handle)
 * and frees those handles internally: only the module's calls count */
static int from_libcurl(void *ret) {
  Dl_info di;
  return dladdr(ret, &di) && di.dli_fname && strstr(di.dli_fname, "libcurl") != NULL;
}

CURL *curl_easy_init(void) {
  static CURL *(*real)(void);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "curl_easy_init");
  CURL *e = real();
  if (e && !from_libcurl(__builtin_return_address(0)))
    __atomic_add_fetch(&live_handles, 1, __ATOMIC_SEQ_CST);
  return e;
}
void curl_easy_cleanup(CURL *e) {
  static void (*real)(CURL *);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "curl_easy_cleanup");
  if (e && !from_libcurl(__builtin_return_address(0)))
    __atomic_sub_fetch(&live_handles, 1, __ATOMIC_SEQ_CST);
  real(e);
}

static int live_multis;
CURLM *curl_multi_init(void) {
  static CURLM *(*real)(void);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "curl_multi_init");
  CURLM *m = real();
  if (m && !from_libcurl(__builtin_return_address(0)))
    __atomic_add_fetch(&live_multis, 1, __ATOMIC_SEQ_CST);
  return m;
}
CURLMcode curl_multi_cleanup(CURLM *m) {
  static CURLMcode (*real)(CURLM *);
  if (!real) *(void **)&real = dlsym(RTLD_NEXT, "curl_multi_cleanup");
  if (m && !from_libcurl(__builtin_return_address(0)))
    __atomic_sub_fetch(&live_multis, 1, __ATOMIC_SEQ_CST);
  return real(m);
}

/* lua_close unloads the C modules it loaded; keeping them loaded makes a
 * leak report name the module's functions instead of "<unknown module>" */
int dlclose(void *handle) {
  (void)handle;
  return 0;
}

/* ---- the failing allocator ----------------------------------------------- */
static long allocs;  /* allocations counted while armed */
static long fail_at; /* 0: never fail */
static int armed, failing;
static int fail_once; /* fail only the Nth: Lua's emergency collection retries it */
static size_t live_bytes;

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    live_bytes -= old;
    return NULL;
  }
  if (armed && nsize > old) {
    allocs++;
    if (fail_once) {
      if (allocs == fail_at) return NULL;
    } else {
      if (fail_at && allocs >= fail_at) failing = 1;
      if (failing) return NULL;
    }
  }
  void *p = realloc(ptr, nsize);
  if (p) live_bytes += nsize - old;
  return p;
}

/* ---- a tiny HTTP server: every request gets 204 -------------------------- */
static int lfd, port;

static void *conn_thread(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[8192];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) {
      if (n == sizeof buf - 1) break;
      continue;
    }
    size_t head = (size_t)(end + 4 - buf), cl = 0;
    char *h = strcasestr(buf, "\r\ncontent-length:");
    if (h && h < end) cl = strtoul(h + 17, NULL, 10);
    if (n < head + cl) {
      if (n == sizeof buf - 1) break;
      continue;
    }
    /* GET: a live-stream configuration; meeting 1: Zoom's 404; else 204 */
    static const char r204[] = "HTTP/1.1 204 No Content\r\nx-zm-trackingid: alloc-test\r\n\r\n";
    static const char r200[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: 106\r\n\r\n{\"stream_url\":\"rtmp://a.example/app\",\"stream_key\":\"k\","
      "\"page_url\":\"https://a.example/\",\"resolution\":\"720p\"}";
    static const char r404[] =
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
      "x-zm-trackingid: alloc-404\r\nContent-Length: 49\r\n\r\n"
      "{\"code\":3001,\"message\":\"Meeting does not exist.\"}";
    const char *resp = strncmp(buf, "GET ", 4) == 0                                       ? r200
                       : strstr(buf, "/meetings/1/") && strstr(buf, "/meetings/1/") < end ? r404
                                                                                          : r204;
    if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0) break;
    memmove(buf, buf + head + cl, n - head - cl);
    n -= head + cl;
  }
  close(fd);
  return NULL;
}

static void *serve(void *arg) {
  (void)arg;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) continue;
    pthread_t t;
    if (pthread_create(&t, NULL, conn_thread, (void *)(intptr_t)fd) == 0)
      pthread_detach(t);
    else
      close(fd);
  }
  return NULL;
}

static void start_server(void) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0) {
    perror("test_alloc: server");
    exit(2);
  }
  socklen_t al = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &al);
  port = ntohs(a.sin_port);
  pthread_t t;
  pthread_create(&t, NULL, serve, NULL);
  pthread_detach(t);
}

/* ---- one run ------------------------------------------------------------- */
static const char *libdir, *luadir;

/* The calls under test.  "update" is the issue's: zoomlive.new and one
 * multipart client:update.  "wide" adds a get (a JSON body to decode), a
 * 404 (an error table from a JSON error body) and a JSON-encoded update. */
static const char *const SCENARIOS[][2] = {
  {"update",
   "local c = zoomlive.new{ base_url = 'http://127.0.0.1:' .. PORT .. '/v2', token = "
   "'alloc-token',\n"
   "  retries = 0, timeout = 10 }\n"
   "local status, err = c:update(68423085, 'start', { display_name = 'x' })\n"
   "if status == 204 and err == nil then return 'ok' end\n"
   "if type(err) == 'table' and type(err.kind) == 'string' then return 'error', err.kind, "
   "tostring(err.message) end\n"
   "return 'odd', tostring(status), tostring(err)\n"},
  {"wide",
   "local base = 'http://127.0.0.1:' .. PORT .. '/v2'\n"
   "local c = zoomlive.new{ base_url = base, token = 'alloc-token', retries = 0, timeout = 10 }\n"
   "local function bad(err) if type(err) == 'table' and type(err.kind) == 'string' then\n"
   "  return 'error', err.kind, tostring(err.message) end return 'odd', 'no error table', "
   "tostring(err) end\n"
   "local cfg, err = c:get(68423085)\n"
   "if not cfg then return bad(err) end\n"
   "if cfg.stream_key ~= 'k' then return 'odd', 'get', tostring(cfg.stream_key) end\n"
   "local st\n"
   "st, err = c:update(1, 'stop')\n"
   "if st ~= 404 then return bad(err) end\n"
   "if err.kind ~= 'http' or err.code ~= 3001 then return bad(err) end\n"
   "local j = zoomlive.new{ base_url = base, token = 'alloc-token', retries = 0, encoding = 'json' "
   "}\n"
   "st, err = j:update(68423085, 'start', { display_name = 'y', layout = 'gallery_view' })\n"
   "if st ~= 204 then return bad(err) end\n"
   "return 'ok'\n"},
  {"batch",
   "local c = zoomlive.new{ base_url = 'http://127.0.0.1:' .. PORT .. '/v2', token = "
   "'alloc-token',\n"
   "  retries = 0, timeout = 10 }\n"
   "local results, summary = c:update_many({ { 68423085, 'start', { display_name = 'x' } },\n"
   "  { 1, 'stop' }, { id = 93398114182, action = 'stop' } }, { concurrency = 2 })\n"
   "if type(results) ~= 'table' or type(summary) ~= 'table' then return 'odd', 'batch', "
   "tostring(results) end\n"
   "if summary.ok == 2 and results[2].err and results[2].err.kind == 'http' then return 'ok' end\n"
   "for _, r in ipairs(results) do if r.err and r.err.kind ~= 'http' then\n"
   "  return 'error', r.err.kind, tostring(r.err.message) end end\n"
   "return 'odd', 'batch summary', tostring(summary.ok)\n"},
  {"driver",
   "local core = require 'zoomlive.core'\n"
   "local sys = require 'testsys'\n"
   "local d <close> = core.driver{ concurrency = 2, timeout = 10 }\n"
   "local base = 'http://127.0.0.1:' .. PORT .. '/v2/meetings/6842308'\n"
   "for i = 1, 3 do d:submit{ method = 'PATCH', url = base .. i .. '/livestream/status', token = "
   "'alloc-token',\n"
   "  content_type = 'application/json', body = '{\"action\":\"stop\"}' } end\n"
   "d:submit{ method = 'PATCH', url = base .. '4/livestream/status', token = 'alloc-token',\n"
   "  form = { 'action', 'start' } }\n"
   "local W, watch, got = { ['in'] = 'r', out = 'w', inout = 'rw' }, {}, 0\n"
   "for _ = 1, 10000 do\n"
   "  for _, c in ipairs(d:changes()) do watch[c.fd] = W[c.what] end\n"
   "  while true do\n"
   "    local id, r = d:take()\n"
   "    if not id then break end\n"
   "    if r.status ~= 204 then return 'error', tostring(r.kind), tostring(r.message) end\n"
   "    got = got + 1\n"
   "  end\n"
   "  if got == 4 then return 'ok' end\n"
   "  local t = d:timer()\n"
   "  local ready = sys.poll(watch, t and math.ceil(t * 1000) or 1000)\n"
   "  if next(ready) == nil then d:timeout_action() end\n"
   "  for fd, ev in pairs(ready) do d:socket_action(fd, ev) end\n"
   "end\n"
   "return 'odd', 'driver', 'never finished'\n"},
};
static int scenario;

/* Runs the script with allocation fail_at failing; returns the outcome:
 * 0 success (204), 1 returned error, 2 memory error, -1 anything else. */
static int run(long n, char *why, size_t whylen, long *count) {
  allocs = 0;
  fail_at = n;
  armed = failing = 0;
  live_bytes = 0;
  lua_State *L = lua_newstate(l_alloc, NULL);
  if (!L) {
    snprintf(why, whylen, "lua_newstate failed");
    return -1;
  }
  luaL_openlibs(L);
  char boot[2048];
  snprintf(boot, sizeof boot,
           "package.path = '%s/?.lua;%s/?/init.lua;' .. package.path\n"
           "package.cpath = '%s/?.so;' .. package.cpath\n"
           "return (require 'zoomlive')\n",
           luadir, luadir, libdir);
  if (luaL_dostring(L, boot) != LUA_OK) {
    snprintf(why, whylen, "loading zoomlive: %s", lua_tostring(L, -1));
    lua_close(L);
    return -1;
  }
  lua_setglobal(L, "zoomlive");
  lua_pushinteger(L, port);
  lua_setglobal(L, "PORT");
  const char *script = SCENARIOS[scenario][1];
  if (luaL_loadstring(L, script) != LUA_OK) {
    snprintf(why, whylen, "script: %s", lua_tostring(L, -1));
    lua_close(L);
    return -1;
  }
  armed = 1;
  int rc = lua_pcall(L, 0, 3, 0);
  armed = failing = 0;
  *count = allocs;
  int outcome = -1;
  if (rc == LUA_OK) {
    const char *r = lua_tostring(L, -3);
    if (r && strcmp(r, "ok") == 0)
      outcome = 0;
    else if (r && strcmp(r, "error") == 0) {
      outcome = 1;
      snprintf(why, whylen, "returned error %s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
    } else {
      snprintf(why, whylen, "odd result: %s %s", lua_tostring(L, -2), lua_tostring(L, -1));
    }
  } else if (rc == LUA_ERRMEM) {
    outcome = 2;
    snprintf(why, whylen, "memory error");
  } else {
    const char *m = lua_tostring(L, -1);
    if (m && strstr(m, "not enough memory")) outcome = 2;
    snprintf(why, whylen, "error %d: %s", rc, m ? m : "(not a string)");
  }
  lua_close(L);
  if (live_bytes != 0) {
    snprintf(why + strlen(why), whylen - strlen(why), " [%zu Lua bytes left after lua_close]",
             live_bytes);
    outcome = -1;
  }
  if (live_handles != 0 || live_multis != 0) {
    snprintf(why + strlen(why), whylen - strlen(why),
             " [%d libcurl easy and %d multi handles left open]", live_handles, live_multis);
    outcome = -1;
  }
  return outcome;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_alloc <build lib dir> <lua source dir> [max N]\n");
    return 2;
  }
  libdir = argv[1];
  luadir = argv[2];
  long maxn = argc > 3 ? atol(argv[3]) : 0;
  /* keep libcurl loaded across the states (the module is dlclosed by each
   * lua_close): one global init, as a host would do */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  start_server();
  char why[512] = "";
  int bad = 0;
  for (scenario = 0; scenario < (int)(sizeof SCENARIOS / sizeof SCENARIOS[0]); scenario++) {
    const char *name = SCENARIOS[scenario][0];
    long total = 0;
    if (run(0, why, sizeof why, &total) != 0) {
      fprintf(stderr, "test_alloc: %s: the run without failures did not succeed: %s\n", name, why);
      return 1;
    }
    printf("test_alloc: %s takes %ld Lua allocations\n", name, total);
    long last = maxn > 0 && maxn < total ? maxn : total;
    int ok = 0, errs = 0, mem = 0, wrong = 0;
    /* the Nth allocation alone fails: Lua collects and retries, so the
     * calls must succeed exactly as without failures */
    fail_once = 1;
    for (long n = 1; n <= last; n++) {
      long count = 0;
      why[0] = '\0';
      if (run(n, why, sizeof why, &count) == 0)
        ok++;
      else {
        wrong++;
        fprintf(stderr, "test_alloc: %s: only N=%ld failing: %s\n", name, n, why);
      }
    }
    printf("test_alloc: %s, only N failing, N=1..%ld: %d succeeded, %d wrong\n", name, last, ok,
           wrong);
    bad += wrong;
    fail_once = 0;
    ok = wrong = 0;
    for (long n = 1; n <= last; n++) {
      long count = 0;
      why[0] = '\0';
      int o = run(n, why, sizeof why, &count);
      if (o == 0)
        ok++;
      else if (o == 1)
        errs++;
      else if (o == 2)
        mem++;
      else {
        wrong++;
        fprintf(stderr, "test_alloc: %s: N=%ld: %s\n", name, n, why);
      }
    }
    printf(
      "test_alloc: %s, N and later failing, N=1..%ld: %d succeeded, %d returned an error, "
      "%d raised a memory error, %d wrong\n",
      name, last, ok, errs, mem, wrong);
    bad += wrong;
  }
  curl_global_cleanup();
  return bad ? 1 : 0;
}
