/* A host of libzoomlive, built from the installed header and zoomlive.pc
 * alone: the C API, then the whole module preloaded into its own Lua. */
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <zoomlive.h>

int main(void) {
  zl_field f[] = {{"action", 6, "stop", 4}};
  char boundary[ZL_BOUNDARY_LEN + 1];
  zl_buf body = {0};
  if (zl_multipart_encode(f, 1, boundary, &body) != 0) return 1;
  printf("multipart body: %zu bytes\n", body.len);
  zl_buf_free(&body);
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (zoomlive_preload(L) != LUA_OK) return 2;
  /* no zoomlive file on any path: only the preloaded modules can load */
  if (luaL_dostring(L,
                    "package.path = ''; local z = require 'zoomlive';"
                    "local c = z.new{ token = 't', base_url = 'http://127.0.0.1:9/v2' };"
                    "return z.version .. ' ' .. tostring(c ~= nil)") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 3;
  }
  printf("zoomlive %s\n", lua_tostring(L, -1));
  lua_close(L);
  return 0;
}
