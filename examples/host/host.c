/* host.c - a small C host that embeds Lua 5.4 and zoomlive.
 *
 *   host SCRIPT BASE_URL TOKEN [THREADS]
 *
 * Each thread owns one lua_State (never shared), puts zoomlive into it with
 * zoomlive_preload(), runs SCRIPT (examples/host/app.lua) and drives it from
 * its own poll() loop, beside a heartbeat of its own that keeps ticking
 * while the calls are in flight.  Build: see docs/embedding.md
 *   cc host.c $(pkg-config --cflags --libs zoomlive) -lpthread -o host */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <zoomlive.h>

#define MAXFD 64
#define HEARTBEAT_MS 5

static const char *script, *base_url, *token;

struct job {
  int index;
  int ok;
  long ticks;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* app[name](args...) in protected mode; results left on the stack */
static int call(lua_State *L, int app, const char *name, int nargs, int nres) {
  lua_getfield(L, app, name);
  lua_insert(L, -1 - nargs);
  if (lua_pcall(L, nargs, nres, 0) == LUA_OK) return 0;
  fprintf(stderr, "app.%s: %s\n", name, lua_tostring(L, -1));
  lua_pop(L, 1);
  return -1;
}

static int run(lua_State *L, struct job *j) {
  if (zoomlive_preload(L) != LUA_OK || luaL_loadfile(L, script) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return -1;
  }
  lua_pushstring(L, base_url);
  lua_pushstring(L, token);
  lua_pushinteger(L, 87000000000 + 1000LL * j->index);
  lua_pushinteger(L, 6);
  if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return -1;
  }
  int app = lua_gettop(L);
  double beat = now() + HEARTBEAT_MS / 1000.0;
  for (;;) {
    if (call(L, app, "done", 0, 1)) return -1;
    int done = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (done) break;
    /* what to watch, and when the script's timer is due */
    struct pollfd p[MAXFD];
    nfds_t n = 0;
    if (call(L, app, "sockets", 0, 1)) return -1;
    lua_pushnil(L);
    while (lua_next(L, -2) && n < MAXFD) {
      const char *w = lua_tostring(L, -1);
      p[n].fd = (int)lua_tointeger(L, -2);
      p[n].events = (short)((strchr(w, 'r') ? POLLIN : 0) | (strchr(w, 'w') ? POLLOUT : 0));
      p[n].revents = 0;
      n++;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (call(L, app, "timeout", 0, 1)) return -1;
    double due = lua_isnil(L, -1) ? -1 : now() + lua_tonumber(L, -1);
    lua_pop(L, 1);
    double wake = due >= 0 && due < beat ? due : beat;
    int ms = (int)((wake - now()) * 1000.0 + 0.999);
    int r = poll(p, n, ms > 0 ? ms : 0);
    if (now() >= beat) { /* the host's own work goes on */
      j->ticks++;
      beat += HEARTBEAT_MS / 1000.0;
    }
    for (nfds_t i = 0; r > 0 && i < n; i++) {
      if (!p[i].revents) continue;
      char ev[4];
      int k = 0;
      if (p[i].revents & (POLLIN | POLLHUP)) ev[k++] = 'r';
      if (p[i].revents & POLLOUT) ev[k++] = 'w';
      if (p[i].revents & (POLLERR | POLLNVAL)) ev[k++] = 'e';
      lua_pushinteger(L, p[i].fd);
      lua_pushlstring(L, ev, (size_t)k);
      if (call(L, app, "ready", 2, 0)) return -1;
    }
    if (due >= 0 && now() >= due && call(L, app, "timer", 0, 0)) return -1;
  }
  if (call(L, app, "report", 0, 2)) return -1;
  printf("thread %d: %s (heartbeats: %ld)\n", j->index, lua_tostring(L, -2), j->ticks);
  return lua_toboolean(L, -1) ? 0 : -1;
}

static void *thread_main(void *arg) {
  struct job *j = arg;
  lua_State *L = luaL_newstate(); /* this thread's own: never shared */
  if (!L) return NULL;
  luaL_openlibs(L);
  j->ok = run(L, j) == 0;
  lua_close(L);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s SCRIPT BASE_URL TOKEN [THREADS]\n", argv[0]);
    return 2;
  }
  script = argv[1];
  base_url = argv[2];
  token = argv[3];
  int nt = argc > 4 ? atoi(argv[4]) : 3;
  if (nt < 1 || nt > 64) nt = 3;
  pthread_t t[64];
  struct job jobs[64];
  for (int i = 0; i < nt; i++) {
    jobs[i] = (struct job){.index = i};
    pthread_create(&t[i], NULL, thread_main, &jobs[i]);
  }
  int failed = 0;
  for (int i = 0; i < nt; i++) {
    pthread_join(t[i], NULL);
    failed += !jobs[i].ok;
  }
  printf("%d threads, %d failed\n", nt, failed);
  return failed ? 1 : 0;
}
