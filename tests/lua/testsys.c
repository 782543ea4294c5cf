/* testsys.c - the few POSIX calls the specs need and Debian's lua-posix does
 * not offer for Lua 5.4: poll, fork, waitpid, _exit, pipe, read, write,
 * close, getpid, kill.  Test-only: built with the tests, never installed.
 *
 *   local sys = require "testsys"
 *   local ready = sys.poll({ [fd] = "r" | "w" | "rw", ... }, timeout_ms)
 *                 -> { [fd] = "r"|"w"|"rw"|"e"... } (empty on timeout)
 *   sys.fork() -> 0 | pid;  sys.waitpid(pid) -> exit status
 *   sys.pipe() -> rfd, wfd; sys.read(fd, n) -> s; sys.write(fd, s); sys.close(fd)
 *   sys._exit(code); sys.getpid() -> pid
 *   sys.kill(pid, "STOP" | "CONT" | "KILL" | "TERM") -> true | nil, err
 *                 (one system call: a spec on an event loop signals a
 *                 server without stalling its loop in a shell) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lua.h"
#include "lauxlib.h"

static int l_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int ms = (int)luaL_optinteger(L, 2, -1);
  struct pollfd p[256];
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    luaL_argcheck(L, n < 256, 1, "too many descriptors");
    const char *w = luaL_checkstring(L, -1);
    p[n].fd = (int)luaL_checkinteger(L, -2);
    p[n].events = (short)((strchr(w, 'r') ? POLLIN : 0) | (strchr(w, 'w') ? POLLOUT : 0));
    p[n].revents = 0;
    n++;
    lua_pop(L, 1);
  }
  int r;
  do r = poll(p, (nfds_t)n, ms);
  while (r < 0 && errno == EINTR);
  if (r < 0) return luaL_error(L, "poll: %s", strerror(errno));
  lua_newtable(L);
  for (int i = 0; i < n; i++) {
    if (!p[i].revents) continue;
    char ev[4];
    int k = 0;
    if (p[i].revents & (POLLIN | POLLHUP)) ev[k++] = 'r';
    if (p[i].revents & POLLOUT) ev[k++] = 'w';
    if (p[i].revents & (POLLERR | POLLNVAL)) ev[k++] = 'e';
    lua_pushlstring(L, ev, (size_t)k);
    lua_rawseti(L, -2, p[i].fd);
  }
  return 1;
}

static int l_fork(lua_State *L) {
  fflush(NULL);
  pid_t p = fork();
  if (p < 0) return luaL_error(L, "fork: %s", strerror(errno));
  lua_pushinteger(L, p);
  return 1;
}

static int l_waitpid(lua_State *L) {
  pid_t p = (pid_t)luaL_checkinteger(L, 1);
  int st = 0;
  pid_t r;
  do r = waitpid(p, &st, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return luaL_error(L, "waitpid: %s", strerror(errno));
  lua_pushinteger(L, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 1;
}

static int l_exit(lua_State *L) {
  fflush(NULL);
  _exit((int)luaL_optinteger(L, 1, 0));
  return 0;
}

static int l_pipe(lua_State *L) {
  int fd[2];
  if (pipe(fd) != 0) return luaL_error(L, "pipe: %s", strerror(errno));
  lua_pushinteger(L, fd[0]);
  lua_pushinteger(L, fd[1]);
  return 2;
}

static int l_read(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t n = (size_t)luaL_optinteger(L, 2, 65536);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n);
  ssize_t r;
  do r = read(fd, p, n);
  while (r < 0 && errno == EINTR);
  if (r < 0) return luaL_error(L, "read: %s", strerror(errno));
  luaL_pushresultsize(&b, (size_t)r);
  return 1;
}

static int l_write(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  while (n > 0) {
    ssize_t r = write(fd, s, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return luaL_error(L, "write: %s", strerror(errno));
    s += r;
    n -= (size_t)r;
  }
  return 0;
}

static int l_close(lua_State *L) {
  close((int)luaL_checkinteger(L, 1));
  return 0;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

static int l_isopen(lua_State *L) {
  lua_pushboolean(L, fcntl((int)luaL_checkinteger(L, 1), F_GETFD) != -1);
  return 1;
}

static int l_kill(lua_State *L) {
  static const char *const names[] = {"STOP", "CONT", "KILL", "TERM", NULL};
  static const int sigs[] = {SIGSTOP, SIGCONT, SIGKILL, SIGTERM};
  lua_Integer pid = luaL_checkinteger(L, 1);
  luaL_argcheck(L, pid > 0, 1, "a process id expected");
  int sig = sigs[luaL_checkoption(L, 2, NULL, names)];
  if (kill((pid_t)pid, sig) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int luaopen_testsys(lua_State *L) {
  static const luaL_Reg f[] = {{"poll", l_poll},     {"fork", l_fork},   {"waitpid", l_waitpid},
                               {"_exit", l_exit},    {"pipe", l_pipe},   {"read", l_read},
                               {"write", l_write},   {"close", l_close}, {"getpid", l_getpid},
                               {"isopen", l_isopen}, {"kill", l_kill},   {NULL, NULL}};
  luaL_newlib(L, f);
  return 1;
}
