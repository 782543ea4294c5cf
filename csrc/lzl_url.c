/* lzl_url.c - zoomlive.core.url_parse: libcurl's URL parser (CURLU) for the
 * Lua layer's URL checks (lua/zoomlive/url.lua), so that what zoomlive
 * checks is the URL libcurl will use: the same scheme, the same host in the
 * same normal form (127.1, 2130706433 and 0x7f.1 all become 127.0.0.1;
 * IPv6 addresses are compressed), the same port.
 *
 *   core.url_parse(url) -> { scheme =, host =, port =, path =, query =,
 *                            fragment =, zoneid =, userinfo = bool }
 *                        | nil, message
 * The user name and password are never returned, only whether there is one. */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "lzl_aux.h"

/* A CURLU handle and the parts read from it, owned by a userdata: a Lua
 * memory error while the parts are pushed cannot leak any of them. */
#define URL_MT "zoomlive.curlu"
enum {
  P_SCHEME,
  P_HOST,
  P_PATH,
  P_QUERY,
  P_FRAGMENT,
  P_ZONEID,
  P_PORT,
  P_USER,
  P_PASSWORD,
  P_OPTIONS,
  P_N
};
typedef struct url_box {
  CURLU *u;
  char *part[P_N];
} url_box;

static void box_free(url_box *b) {
  if (b->u) curl_url_cleanup(b->u);
  b->u = NULL;
  for (int i = 0; i < P_N; i++) {
    curl_free(b->part[i]);
    b->part[i] = NULL;
  }
}

static int l_box_gc(lua_State *L) {
  box_free(luaL_checkudata(L, 1, URL_MT));
  return 0;
}

static void set_part(lua_State *L, url_box *b, int i, const char *k) {
  if (!b->part[i]) return;
  lua_pushstring(L, b->part[i]);
  lua_setfield(L, -2, k);
}

static int l_url_parse(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (strlen(s) != n) {
    luaL_pushfail(L);
    lua_pushliteral(L, "holds a NUL byte");
    return 2;
  }
  url_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, URL_MT);
  b->u = curl_url();
  if (!b->u) return luaL_error(L, "not enough memory");
  /* any scheme is parsed, so that the caller can name the wrong one */
  CURLUcode rc = curl_url_set(b->u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, curl_url_strerror(rc));
    return 2;
  }
  static const CURLUPart which[P_N] = {
    CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PATH, CURLUPART_QUERY,    CURLUPART_FRAGMENT,
    CURLUPART_ZONEID, CURLUPART_PORT, CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS};
  for (int i = 0; i < P_N; i++)
    if (curl_url_get(b->u, which[i], &b->part[i], i == P_PORT ? CURLU_DEFAULT_PORT : 0) !=
        CURLUE_OK)
      b->part[i] = NULL;
  lua_createtable(L, 0, 8);
  set_part(L, b, P_SCHEME, "scheme");
  set_part(L, b, P_HOST, "host");
  set_part(L, b, P_PATH, "path");
  set_part(L, b, P_QUERY, "query");
  set_part(L, b, P_FRAGMENT, "fragment");
  set_part(L, b, P_ZONEID, "zoneid");
  if (b->part[P_PORT]) {
    lua_pushinteger(L, (lua_Integer)strtol(b->part[P_PORT], NULL, 10));
    lua_setfield(L, -2, "port");
  }
  /* the user name and password themselves are never handed out */
  lua_pushboolean(L, b->part[P_USER] || b->part[P_PASSWORD] || b->part[P_OPTIONS]);
  lua_setfield(L, -2, "userinfo");
  box_free(b);
  return 1;
}

/* Sets core.url_parse in the table on the top. */
int zl_open_url(lua_State *L) {
  if (luaL_newmetatable(L, URL_MT)) {
    lua_pushcfunction(L, l_box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_url_parse);
  lua_setfield(L, -2, "url_parse");
  return 0;
}
