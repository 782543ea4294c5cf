-- The zoomlive rock: the C core, the binding zoomlive.core and the Lua layer,
-- built by LuaRocks' builtin backend (a C compiler, no cmake).
--   luarocks --lua-version=5.4 make --deps-mode=none     (in a checkout)
--   luarocks test                                       (busted, the installed module)
-- The version comes from the file VERSION (this file's name and `version`
-- must match it; tests/version_check.sh checks). The simulator zoomlive-sim is
-- not part of the rock: it builds with CMake (README, "Testing your code").
rockspec_format = "3.0"
package = "zoomlive"
version = "0.1.0-1"
local release = version:match("^(.*)%-%d+$")   -- the version without the rockspec revision

-- The canonical repository (docs/releasing.md); a release is its tag v<version>.
source = {
  url = "git+https://github.com/zoomlive/zoomlive.git",
  tag = "v" .. release,
}
description = {
  summary = "Control Zoom live streams from Lua 5.4 through Zoom's REST API",
  detailed = [[
zoomlive starts, stops and configures Zoom meeting and webinar live streams
(PATCH /v2/meetings/{id}/livestream/status and friends) with a C core on
libcurl (connection reuse, multipart/form-data, retry timing) and a Lua layer
(validation, error tables, Server-to-Server OAuth, retries that respect Zoom's
rate limits, batches on libcurl's multi interface, event loops, webhooks).
Optional, when used: luv or cqueues (event-loop adapters), LuaSocket or luv
(the webhook listener).
]],
  license = "MIT",
  labels = { "zoom", "http", "libcurl", "live-stream" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson >= 2.1",
  "argparse >= 0.7",   -- the zoomlive command
}
-- libcurl (Debian: libcurl4-openssl-dev) and OpenSSL's libcrypto (libssl-dev,
-- for HMAC-SHA256). Only the libraries are declared: libcurl's header sits in
-- a multiarch directory (/usr/include/x86_64-linux-gnu/curl) that LuaRocks
-- 3.8's header probe does not search, while the compiler does.
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { library = "crypto" },
}

-- zoomlive.core: one line per C file. The core (csrc/zl_*.c) knows nothing
-- of Lua; the binding is csrc/lzoomlive.c and csrc/lzl_*.c. A ctest test
-- (tests/rockspec_check.lua) fails when a csrc/zl_*.c or csrc/lzl*.c is missing
-- (aside, CMake only: csrc/lzl_preload.c, libzoomlive's bundled Lua layer;
-- csrc/lzl_redis.c, the optional zoomlive.hiredis that needs libhiredis).
local core_sources = {
  "csrc/zl_buf.c",
  "csrc/zl_multipart.c",
  "csrc/zl_http.c",
  "csrc/zl_retry.c",
  "csrc/zl_rand.c",
  "csrc/zl_fork.c",
  "csrc/zl_hmac.c",
  "csrc/zl_sock.c",
  "csrc/zl_driver.c",
  "csrc/lzoomlive.c",
  "csrc/lzl_aux.c",
  "csrc/lzl_multi.c",
  "csrc/lzl_driver.c",
  "csrc/lzl_crypto.c",
  "csrc/lzl_signal.c",
  "csrc/lzl_url.c",
}

-- The Lua layer: one line per file, its path under lua/zoomlive/ without
-- ".lua": "x" is zoomlive.x, "x/y" is zoomlive.x.y, "x/init" is zoomlive.x.
local lua_modules = {
  "attempt",
  "auth",
  "batch",
  "budget/init",
  "budget/local",
  "budget/redis",
  "cli",
  "cli/args",
  "cli/configure",
  "cli/dryrun",
  "cli/get",
  "cli/join_token",
  "cli/lists",
  "cli/output",
  "cli/run",
  "cli/secret",
  "cli/update",
  "client",
  "errors",
  "loop",
  "loop/cqueues",
  "loop/luv",
  "pipeline",
  "request",
  "testing",
  "testing/redis",
  "url",
  "validate",
  "webhook",
  "webhook/listener",
}

local modules = {
  zoomlive = "lua/zoomlive/init.lua",
  ["zoomlive.core"] = {
    sources = core_sources,
    incdirs = { "csrc", "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
    libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    libraries = { "curl", "crypto", "pthread" },
    defines = { "_GNU_SOURCE", "ZOOMLIVE_BUILDING", 'ZOOMLIVE_VERSION="' .. release .. '"' },
  },
}
for i = 1, #lua_modules do
  local path = lua_modules[i]
  local name = ("zoomlive." .. path):gsub("/init$", ""):gsub("/", ".")
  modules[name] = "lua/zoomlive/" .. path .. ".lua"
end

build = {
  type = "builtin",
  modules = modules,
  install = {
    bin = { zoomlive = "bin/zoomlive" },
  },
  -- LuaLS definitions, kept in the rock's directory for editors
  copy_directories = { "types" },
}

-- busted against the installed module, under the rock's Lua (the script
-- runs busted's task "installed" from .busted). The specs drive zoomlive-sim:
-- set ZOOMLIVE_SIM, or put it on PATH, or build it here with CMake.
test = {
  type = "command",
  script = "spec/luarocks_test.lua",
}
