#!/bin/sh
# Installs zoomlive into a temporary tree, with LuaRocks (offline) or with
# CMake, and proves the installed copy loads and works:
#   tests/install_test.sh luarocks|cmake BUILD_DIR
set -eu
how=$1
build=$2
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$how" in
  luarocks)
    # build in a copy, so the source tree gets no build.luarocks/ of its own
    mkdir "$tmp/src"
    (cd "$src" && git ls-files -z 2>/dev/null | xargs -0 -I{} cp --parents {} "$tmp/src/") \
      || cp -r "$src/." "$tmp/src/"
    cd "$tmp/src"
    luarocks --lua-version=5.4 make --deps-mode=none --tree "$tmp/tree" zoomlive-0.1.0-1.rockspec \
      > "$tmp/luarocks.log" 2>&1 || { cat "$tmp/luarocks.log"; exit 1; }
    eval "$(luarocks --lua-version=5.4 --tree "$tmp/tree" path)"
    cli="$tmp/tree/bin/zoomlive"
    ;;
  cmake)
    cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
    export LUA_PATH="$tmp/prefix/share/lua/5.4/?.lua;$tmp/prefix/share/lua/5.4/?/init.lua;;"
    export LUA_CPATH="$tmp/prefix/lib/lua/5.4/?.so;;"
    cli="$tmp/prefix/bin/zoomlive"
    test -f "$tmp/prefix/include/zoomlive.h"
    test -x "$tmp/prefix/bin/zoomlive-sim"
    test -f "$tmp/prefix/share/man/man1/zoomlive.1"
    test -f "$tmp/prefix/share/bash-completion/completions/zoomlive"
    ;;
  *) echo "usage: $0 luarocks|cmake BUILD_DIR" >&2; exit 2 ;;
esac
cd "$tmp"
# the installed module, not the source tree's, must be the one that loads
TMPROOT="$tmp" lua5.4 -e '
  local z = require "zoomlive"
  local core = require "zoomlive.core"
  assert(package.searchpath("zoomlive.core", package.cpath):find(os.getenv("TMPROOT"), 1, true),
    "loaded a zoomlive.core from outside the install tree")
  assert(z.version == core.version)
  local c <close> = z.new { token = "t", base_url = "http://127.0.0.1:9/v2", retries = 0, connect_timeout = 2 }
  local s, e = c:update(68423085, "stop")
  assert(s == nil and e.kind == "transport", tostring(e))
  print("installed zoomlive " .. z.version .. " loads and reports: " .. tostring(e))
' || exit 1
if [ -x "$cli" ]; then
  "$cli" --version
fi
echo "install via $how: ok"
