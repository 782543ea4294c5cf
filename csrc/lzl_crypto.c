/* lzl_crypto.c - the binding of zl_hmac.c (and the date parser webhook
 * events need) into zoomlive.core:
 *   core.hmac_sha256_hex(key, msg) -> 64 lower-case hex digits
 *   core.equal_consttime(a, b)     -> boolean, in time that depends on the
 *                                     lengths only
 *   core.parse_date(text)          -> Unix seconds (float) | nil
 * Registered by luaopen_zoomlive_core through zl_open_crypto. */
#include <string.h>
#include <openssl/crypto.h>
#include "lzl_aux.h"

static int l_hmac_sha256_hex(lua_State *L) {
  size_t klen, mlen;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *msg = luaL_checklstring(L, 2, &mlen);
  char hex[2 * ZL_SHA256_LEN + 1];
  if (zl_hmac_sha256_hex(key, klen, msg, mlen, hex))
    return luaL_error(L, "zoomlive: HMAC-SHA256 failed (OpenSSL)");
  lua_pushlstring(L, hex, 2 * ZL_SHA256_LEN);
  OPENSSL_cleanse(hex, sizeof hex);
  return 1;
}

static int l_equal_consttime(lua_State *L) {
  size_t alen, blen;
  const char *a = luaL_checklstring(L, 1, &alen);
  const char *b = luaL_checklstring(L, 2, &blen);
  lua_pushboolean(L, zl_equal_consttime(a, alen, b, blen));
  return 1;
}

static int l_parse_date(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  double t;
  if (strlen(s) != n || n > 64 || zl_parse_date(s, &t)) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushnumber(L, (lua_Number)t);
  return 1;
}

static const luaL_Reg crypto_funcs[] = {{"hmac_sha256_hex", l_hmac_sha256_hex},
                                        {"equal_consttime", l_equal_consttime},
                                        {"parse_date", l_parse_date},
                                        {NULL, NULL}};

int zl_open_crypto(lua_State *L) {
  luaL_setfuncs(L, crypto_funcs, 0);
  return 0;
}
