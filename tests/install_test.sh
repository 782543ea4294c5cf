#!/bin/sh
# Installs zoomlive into a temporary tree, with LuaRocks (offline) or with
# CMake, and proves the installed copy loads and works:
#   tests/install_test.sh luarocks|cmake BUILD_DIR
# luarocks: in a fresh copy of the checkout's tracked files, with no cmake on
# PATH, `luarocks --lua-version=5.4 make --deps-mode=none` installs the rock,
# `require "zoomlive"` loads the installed copy, and `luarocks test` (busted
# against the installed module) passes; what the specs need beside the
# module comes from BUILD_DIR, built by CMake (not in the rock): the
# simulator, the test-only module testsys, the command's generated man page
# and completions.
set -eu
how=$1
build=$(cd "$2" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
version=$(cat "$src/VERSION")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset ZOOM_ACCESS_TOKEN ZOOM_ACCOUNT_ID ZOOM_CLIENT_ID ZOOM_CLIENT_SECRET ZOOM_API_BASE LUA_PATH LUA_CPATH \
  LUA_PATH_5_4 LUA_CPATH_5_4 || true

# PATH without cmake: every program of PATH except cmake, ctest and cpack,
# linked into a prefix that mirrors Lua's (LuaRocks finds lua.h relative to
# the interpreter it runs)
no_cmake_path() {
  lua_exe=$(readlink -f "$(command -v lua5.4)")
  lua_prefix=$(dirname "$(dirname "$lua_exe")")
  mkdir -p "$tmp/nocmake/bin"
  for d in include lib share; do ln -s "$lua_prefix/$d" "$tmp/nocmake/$d"; done
  old_ifs=$IFS; IFS=:
  for d in $PATH; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      n=${f##*/}
      case $n in cmake|cmake[0-9]*|ctest|cpack|ccmake) continue ;; esac
      [ -x "$f" ] && [ ! -e "$tmp/nocmake/bin/$n" ] && ln -s "$f" "$tmp/nocmake/bin/$n"
    done
  done
  IFS=$old_ifs
  echo "$tmp/nocmake/bin"
}

case "$how" in
  luarocks)
    # a fresh copy of the tracked files, so no build/ or build.luarocks/ comes along
    mkdir "$tmp/src"
    (cd "$src" && git ls-files -z | xargs -0 -I{} cp --parents {} "$tmp/src/")
    test ! -e "$tmp/src/build"
    PATH=$(no_cmake_path)
    export PATH
    if command -v cmake >/dev/null 2>&1; then echo "cmake is still on PATH" >&2; exit 1; fi
    cd "$tmp/src"
    luarocks --lua-version=5.4 make --deps-mode=none --tree "$tmp/tree" \
      > "$tmp/luarocks.log" 2>&1 || { cat "$tmp/luarocks.log"; exit 1; }
    eval "$(luarocks --lua-version=5.4 --tree "$tmp/tree" path)"
    cli="$tmp/tree/bin/zoomlive"
    test ! -e "$tmp/tree/bin/zoomlive-sim"          # the simulator is not in the rock
    ;;
  cmake)
    cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
    export LUA_PATH="$tmp/prefix/share/lua/5.4/?.lua;$tmp/prefix/share/lua/5.4/?/init.lua;;"
    export LUA_CPATH="$tmp/prefix/lib/lua/5.4/?.so;;"
    cli="$tmp/prefix/bin/zoomlive"
    grep -q "^#  define ZOOMLIVE_VERSION \"$version\"\$" "$tmp/prefix/include/zoomlive.h" \
      || { echo "installed zoomlive.h does not carry version $version" >&2; exit 1; }
    test -x "$tmp/prefix/bin/zoomlive-sim"
    test -f "$tmp/prefix/share/man/man1/zoomlive.1"
    test -f "$tmp/prefix/share/bash-completion/completions/zoomlive"
    ;;
  *) echo "usage: $0 luarocks|cmake BUILD_DIR" >&2; exit 2 ;;
esac
# the installed module, not the source tree's, must be the one that loads
(cd "$tmp" && TMPROOT="$tmp" VERSION="$version" lua5.4 -e '
  local z = require "zoomlive"
  local core = require "zoomlive.core"
  local root = os.getenv("TMPROOT")
  for _, w in ipairs({ package.searchpath("zoomlive", package.path),
                       package.searchpath("zoomlive.core", package.cpath) }) do
    assert(w:sub(1, #root) == root and not w:find("/src/"), "loaded " .. w .. " from outside the install tree")
  end
  assert(z.version == core.version and z.version == os.getenv("VERSION"), z.version)
  local c <close> = z.new { token = "t", base_url = "http://127.0.0.1:9/v2", retries = 0, connect_timeout = 2 }
  local s, e = c:update(68423085, "stop")
  assert(s == nil and e.kind == "transport", tostring(e))
  print("installed zoomlive " .. z.version .. " loads and reports: " .. tostring(e))
')
out=$("$cli" --version)
echo "$out"
case $out in "zoomlive $version" | "zoomlive $version "*) ;; *) echo "the installed zoomlive command is not $version" >&2; exit 1 ;; esac
if [ "$how" = luarocks ]; then
  # busted, every spec, against the installed module
  ZOOMLIVE_BUILD_DIR="$build" ZOOMLIVE_SIM="$build/bin/zoomlive-sim" \
    luarocks --lua-version=5.4 test -- -o TAP \
    > "$tmp/test.log" 2>&1 || { grep -v '^ok ' "$tmp/test.log"; echo "luarocks test failed" >&2; exit 1; }
  echo "luarocks test: $(grep -c '^ok ' "$tmp/test.log") specs passed against the installed module"
fi
echo "install via $how: ok"
