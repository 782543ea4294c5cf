rockspec_format = "3.0"
package = "zoomlive"
version = "0.1.0-1"
source = {
  url = "git+file:///zoomlive",   -- offline installs use `luarocks make` in a checkout
  tag = "v0.1.0",
}
description = {
  summary = "Control Zoom live streams from Lua 5.4 through Zoom's REST API",
  detailed = [[
zoomlive starts, stops and configures Zoom meeting and webinar live streams
(PATCH /v2/meetings/{id}/livestream/status and friends) with a C core on
libcurl (connection reuse, multipart/form-data, retry timing) and a Lua layer
(validation, error tables, Server-to-Server OAuth, retries that respect Zoom's
rate limits). Ships zoomlive-sim, a Zoom API simulator for offline tests.
]],
  license = "MIT",
  labels = { "zoom", "http", "libcurl", "live-stream" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson >= 2.1",
  "argparse >= 0.7",   -- the zoomlive command
}
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { library = "crypto" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_C_FLAGS = "$(CFLAGS)",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA_MODULE_DIR = "$(LUADIR)",
    LUA_CMODULE_DIR = "$(LIBDIR)",
    CURL_INCLUDE_DIR = "$(CURL_INCDIR)",
    OPENSSL_ROOT_DIR = "$(OPENSSL_DIR)",
    ZOOMLIVE_BUILD_TESTS = "OFF",
    ZOOMLIVE_INSTALL_CLI = "OFF",   -- LuaRocks installs and wraps bin/zoomlive itself
  },
  install = {
    bin = { zoomlive = "bin/zoomlive" },
  },
}
test = {
  type = "command",
  command = "make test",
}
