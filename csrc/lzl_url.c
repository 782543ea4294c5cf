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

/* pushes part p of u as a string field k (absent parts are left out) */
static void part(lua_State *L, CURLU *u, CURLUPart p, const char *k, unsigned flags) {
  char *v = NULL;
  if (curl_url_get(u, p, &v, flags) == CURLUE_OK && v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
  curl_free(v);
}

static int has_part(CURLU *u, CURLUPart p) {
  char *v = NULL;
  int has = curl_url_get(u, p, &v, 0) == CURLUE_OK && v != NULL;
  curl_free(v);
  return has;
}

/* A CURLU handle owned by a userdata, so a Lua memory error cannot leak it. */
#define URL_MT "zoomlive.curlu"
static int l_curlu_gc(lua_State *L) {
  CURLU **b = luaL_checkudata(L, 1, URL_MT);
  if (*b) curl_url_cleanup(*b);
  *b = NULL;
  return 0;
}

static int l_url_parse(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (strlen(s) != n) {
    luaL_pushfail(L);
    lua_pushliteral(L, "holds a NUL byte");
    return 2;
  }
  CURLU **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, URL_MT);
  *box = curl_url();
  if (!*box) return luaL_error(L, "not enough memory");
  CURLU *u = *box;
  /* any scheme is parsed, so that the caller can name the wrong one */
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, curl_url_strerror(rc));
    return 2;
  }
  lua_createtable(L, 0, 8);
  part(L, u, CURLUPART_SCHEME, "scheme", 0);
  part(L, u, CURLUPART_HOST, "host", 0);
  part(L, u, CURLUPART_PATH, "path", 0);
  part(L, u, CURLUPART_QUERY, "query", 0);
  part(L, u, CURLUPART_FRAGMENT, "fragment", 0);
  part(L, u, CURLUPART_ZONEID, "zoneid", 0);
  char *port = NULL;
  if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && port) {
    lua_pushinteger(L, (lua_Integer)strtol(port, NULL, 10));
    lua_setfield(L, -2, "port");
  }
  curl_free(port);
  lua_pushboolean(L, has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD) ||
                     has_part(u, CURLUPART_OPTIONS));
  lua_setfield(L, -2, "userinfo");
  curl_url_cleanup(u);
  *box = NULL;
  return 1;
}

/* Sets core.url_parse in the table on the top. */
int zl_open_url(lua_State *L) {
  if (luaL_newmetatable(L, URL_MT)) {
    lua_pushcfunction(L, l_curlu_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_url_parse);
  lua_setfield(L, -2, "url_parse");
  return 0;
}
