/* lzl_preload.c - zoomlive_preload: the whole module (C core and the Lua
 * layer, bundled into libzoomlive) put into a host's lua_State through
 * package.preload, so no .lua or .so file of zoomlive is looked up. */
#include "lua.h"
#include "lauxlib.h"
#include "lzl_bundle.h"
#include "zoomlive.h"

/* package.preload loader: upvalue 1 is the zl_bundle index */
static int load_bundled(lua_State *L) {
  const zl_bundled *m = &zl_bundle[lua_tointeger(L, lua_upvalueindex(1))];
  if (luaL_loadbufferx(L, m->source, m->len, m->chunk, "t") != LUA_OK) return lua_error(L);
  lua_pushstring(L, m->module);
  lua_pushliteral(L, ":preload:");
  lua_call(L, 2, 1);
  return 1;
}

static int preload_all(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (lua_Integer i = 0; zl_bundle[i].module; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, load_bundled, 1);
    lua_setfield(L, -2, zl_bundle[i].module);
  }
  lua_pushcfunction(L, luaopen_zoomlive_core);
  lua_setfield(L, -2, "zoomlive.core");
  return 0;
}

ZOOMLIVE_API int zoomlive_preload(lua_State *L) {
  lua_pushcfunction(L, preload_all);
  int rc = lua_pcall(L, 0, 0, 0);
  return rc; /* not LUA_OK: the message is on the stack */
}
