/* Several threads, each with its own lua_State, load zoomlive at the same
 * moment (zoomlive_preload, then require) and use it against zoomlive-sim
 * (argv[1]): each gets its own meeting's answer and its own boundaries.
 * Built with -fsanitize=thread: a race in loading (the libcurl global init)
 * or in the random numbers fails the run. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "check.h"
#include "zoomlive.h"

#define THREADS 6
static pthread_barrier_t start_line;
static char base[128];
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

static const char script[] =
  "local base, token, id = ...\n"
  "local zoomlive = require 'zoomlive'\n"
  "local core = require 'zoomlive.core'\n"
  "local c <close> = zoomlive.new{ base_url = base, token = token }\n"
  "local v, err = c:get(id)\n"
  "assert(v, tostring(err))\n"
  "local _, ctype = core.multipart{ 'action', 'stop' }\n"
  "return v.stream_key, ctype:match('boundary=(%w+)')\n";

struct result {
  char key[64];
  char boundary[64];
  int ok;
};
static struct result results[THREADS];

static void *worker(void *arg) {
  int i = (int)(intptr_t)arg;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  pthread_barrier_wait(&start_line); /* all load at once */
  int rc = zoomlive_preload(L);
  if (rc == LUA_OK) rc = luaL_loadstring(L, script);
  if (rc == LUA_OK) {
    lua_pushstring(L, base);
    lua_pushliteral(L, "sim-token");
    lua_pushinteger(L, 86000000000 + i);
    rc = lua_pcall(L, 3, 2, 0);
  }
  pthread_mutex_lock(&check_lock);
  if (rc == LUA_OK) {
    snprintf(results[i].key, sizeof results[i].key, "%s", lua_tostring(L, -2));
    snprintf(results[i].boundary, sizeof results[i].boundary, "%s", lua_tostring(L, -1));
    results[i].ok = 1;
  } else {
    fprintf(stderr, "thread %d: %s\n", i, lua_tostring(L, -1));
  }
  pthread_mutex_unlock(&check_lock);
  lua_close(L);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_threads ZOOMLIVE_SIM\n");
    return 2;
  }
  int p[2];
  if (pipe(p) != 0) return 2;
  pid_t sim = fork();
  if (sim == 0) {
    dup2(p[1], 1);
    execl(argv[1], argv[1], "--port", "0", "--any-meeting", "--qps", "0", "--daily", "0",
          (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char line[32] = {0};
  for (size_t n = 0; n < sizeof line - 1 && read(p[0], line + n, 1) == 1 && line[n] != '\n'; n++) {}
  close(p[0]);
  snprintf(base, sizeof base, "http://127.0.0.1:%d/v2", atoi(line));
  CHECK(atoi(line) > 0);

  pthread_barrier_init(&start_line, NULL, THREADS);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < THREADS; i++) {
    char want[64];
    snprintf(want, sizeof want, "key-%lld", 86000000000LL + i);
    CHECK(results[i].ok);
    CHECK(strcmp(results[i].key, want) == 0);
    CHECK(strlen(results[i].boundary) == ZL_BOUNDARY_LEN);
    for (int j = 0; j < i; j++) CHECK(strcmp(results[i].boundary, results[j].boundary) != 0);
  }
  kill(sim, SIGTERM);
  waitpid(sim, NULL, 0);
  return DONE();
}
