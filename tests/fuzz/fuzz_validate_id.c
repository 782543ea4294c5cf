/* fuzz_validate_id.c - libFuzzer target for zoomlive.validate's id
 * normalisation (lua/zoomlive/validate.lua, validate.id), run in a Lua
 * state embedded here.
 *
 * The first byte picks how the rest is passed: as a string (any bytes), as
 * an integer (lua_pushinteger of 8 fuzzed bytes) or as a float
 * (lua_pushnumber of 8 fuzzed bytes).  validate.id must not raise, and must
 * return either nil plus an "argument" error table, or a string of 1..19
 * digits without a leading zero equal to the input's integer value; this
 * file computes that value independently and compares. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#ifndef ZOOMLIVE_LUA_DIR
#  error "ZOOMLIVE_LUA_DIR (the source tree's lua/ directory) must be defined"
#endif

#define ASSERT(c)                                                                                 \
  do {                                                                                            \
    if (!(c)) {                                                                                   \
      fprintf(stderr, "fuzz_validate_id: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                                                    \
    }                                                                                             \
  } while (0)

static lua_State *L;

static void setup(void) {
  L = luaL_newstate();
  ASSERT(L);
  luaL_openlibs(L);
  /* validate.lua needs cjson only for settings; id never touches it, so a
   * stub keeps the C module (and its allocations) out of the fuzzer. */
  const char *boot =
    "package.path = ... .. '/?.lua;' .. package.path\n"
    "package.preload.cjson = function() return { encode = function() error('unused') end } end\n"
    "return require('zoomlive.validate').id\n";
  ASSERT(luaL_loadstring(L, boot) == LUA_OK);
  lua_pushstring(L, ZOOMLIVE_LUA_DIR);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_validate_id: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "validate_id");
}

/* expected: 1 and *out when the value is a positive int64, 0 otherwise;
 * *maybe is set when nil is also acceptable (over-long digit strings). */
static int expect_string(const uint8_t *s, size_t n, int64_t *out, int *maybe) {
  *maybe = 0;
  if (n == 0) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    if (v > (uint64_t)INT64_MAX / 10) return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > (uint64_t)INT64_MAX) return 0;
  }
  if (v == 0) return 0;
  if (n > 19) *maybe = 1; /* leading zeros past 19 characters: may be refused */
  *out = (int64_t)v;
  return 1;
}

/* a float stands for one integer only below 2^53 in magnitude: from there
 * on it may be another number than the one written, so it is refused */
static int expect_float(double d, int64_t *out) {
  if (!isfinite(d) || d != floor(d)) return 0;
  if (!(d > -9007199254740992.0 && d < 9007199254740992.0)) return 0;
  int64_t v = (int64_t)d;
  if (v <= 0) return 0;
  *out = v;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (!L) setup();
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "validate_id");
  int mode = data[0] % 3, ok, maybe = 0;
  int64_t want = 0;
  uint64_t bits = 0;
  for (size_t i = 1; i < size && i <= 8; i++) bits |= (uint64_t)data[i] << (8 * (i - 1));
  if (mode == 0) {
    lua_pushlstring(L, (const char *)data + 1, size - 1);
    ok = expect_string(data + 1, size - 1, &want, &maybe);
  } else if (mode == 1) {
    int64_t v;
    memcpy(&v, &bits, sizeof v);
    lua_pushinteger(L, (lua_Integer)v);
    ok = v > 0;
    want = v;
  } else {
    double d;
    memcpy(&d, &bits, sizeof d);
    lua_pushnumber(L, (lua_Number)d);
    ok = expect_float(d, &want);
  }
  lua_pushliteral(L, "meeting_id");
  lua_pushliteral(L, "fuzz");
  lua_pushinteger(L, 1);
  if (lua_pcall(L, 4, 2, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_validate_id: raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  if (lua_isnil(L, -2)) {
    ASSERT(!ok || maybe);
    ASSERT(lua_istable(L, -1));
    lua_getfield(L, -1, "kind");
    ASSERT(lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "argument") == 0);
    lua_pop(L, 1);
  } else {
    ASSERT(ok);
    ASSERT(lua_type(L, -2) == LUA_TSTRING);
    size_t n;
    const char *s = lua_tolstring(L, -2, &n);
    ASSERT(n >= 1 && n <= 19 && s[0] != '0');
    for (size_t i = 0; i < n; i++) ASSERT(s[i] >= '0' && s[i] <= '9');
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, want);
    ASSERT(strlen(buf) == n && memcmp(buf, s, n) == 0);
  }
  lua_settop(L, top);
  return 0;
}
