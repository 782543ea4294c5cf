/* lzl_signal.c - signals for a program that asks for them (the zoomlive
 * command); the library never installs a handler on its own.
 *
 *   core.signal_trap({"INT", "TERM"}, grace_s)  -- install; true
 *   core.signal_pending()  -> "INT" | "TERM" | ... | nil  (the first caught)
 *   core.signal_untrap()   -- the handlers before signal_trap come back; the
 *                             pending signal and the abort are cleared
 *   core.signal_raise(name) -- default action restored, signal unblocked and
 *                              raised: a terminating signal ends the process
 *
 * The handler only stores the signal number (a sig_atomic_t) and calls
 * zl_abort_all(1): from then on no transfer starts (kind "cancelled",
 * nothing sent), and the transfers running get grace_s seconds (default 2)
 * to finish before they are aborted (kind "cancelled", may have been sent);
 * a second signal aborts them at once.
 * A blocking wait (curl_multi_poll, curl_easy_perform's poll, a retry's
 * sleep) is woken by the signal itself (EINTR) or within 100 ms - 1 s by
 * libcurl's progress callback. */
#include <signal.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include "lzl_aux.h"

static const struct {
  const char *name;
  int sig;
} SIGNALS[] = {{"INT", SIGINT}, {"TERM", SIGTERM}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT}, {NULL, 0}};
#define NSIG_KNOWN 4

static volatile sig_atomic_t pending;
static struct sigaction saved[NSIG_KNOWN];
static int trapped[NSIG_KNOWN];

static void on_signal(int sig) {
  if (!pending) {
    pending = sig;
    zl_abort_all(1);
  } else {
    zl_abort_all(2); /* a second signal: no grace for the calls in flight */
  }
}

static int index_of(lua_State *L, int arg) {
  const char *name = luaL_checkstring(L, arg);
  if (strncmp(name, "SIG", 3) == 0) name += 3;
  for (int i = 0; SIGNALS[i].name; i++)
    if (strcmp(SIGNALS[i].name, name) == 0) return i;
  return luaL_argerror(L, arg,
                       lua_pushfstring(L, "unknown signal '%s' (INT, TERM, HUP, QUIT)", name));
}

static int l_trap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Number grace = luaL_optnumber(L, 2, 2);
  luaL_argcheck(L, grace == grace && grace >= 0 && grace <= 3600, 2,
                "grace must be 0 to 3600 seconds");
  lua_Integer n = luaL_len(L, 1);
  int want[NSIG_KNOWN] = {0};
  for (lua_Integer k = 1; k <= n; k++) {
    lua_geti(L, 1, k);
    want[index_of(L, lua_gettop(L))] = 1;
    lua_pop(L, 1);
  }
  zl_abort_grace(grace);
  for (int i = 0; i < NSIG_KNOWN; i++) {
    if (!want[i] || trapped[i]) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking poll or sleep wakes up */
    if (sigaction(SIGNALS[i].sig, &sa, &saved[i]) != 0)
      return luaL_error(L, "zoomlive: sigaction(SIG%s) failed", SIGNALS[i].name);
    trapped[i] = 1;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_pending(lua_State *L) {
  int sig = pending;
  for (int i = 0; SIGNALS[i].name; i++) {
    if (sig && SIGNALS[i].sig == sig) {
      lua_pushstring(L, SIGNALS[i].name);
      return 1;
    }
  }
  lua_pushnil(L);
  return 1;
}

static int l_untrap(lua_State *L) {
  (void)L;
  for (int i = 0; i < NSIG_KNOWN; i++) {
    if (trapped[i]) {
      sigaction(SIGNALS[i].sig, &saved[i], NULL);
      trapped[i] = 0;
    }
  }
  pending = 0;
  zl_abort_all(0);
  return 0;
}

static int l_raise(lua_State *L) {
  int i = index_of(L, 1);
  int sig = SIGNALS[i].sig;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
  trapped[i] = 0;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  lua_pushboolean(L, 0); /* still here: the default action did not end us */
  return 1;
}

/* core.aborting() -> true once the core's process-wide abort is requested
 * (zl_abort_all: a trapped signal, or a host's own call): no new transfer
 * starts, so schedulers end what has not been sent */
static int l_aborting(lua_State *L) {
  lua_pushboolean(L, zl_abort_requested());
  return 1;
}

static const luaL_Reg funcs[] = {{"aborting", l_aborting},      {"signal_trap", l_trap},
                                 {"signal_pending", l_pending}, {"signal_untrap", l_untrap},
                                 {"signal_raise", l_raise},     {NULL, NULL}};

int zl_open_signal(lua_State *L) {
  luaL_setfuncs(L, funcs, 0);
  return 0;
}
