#!/bin/sh
# libzoomlive as a host sees it: install into a temporary prefix, check the
# symbols (no Lua core inside; every function of the installed header
# exported), then build tests/lib/hello_host.c with the installed header and
# `pkg-config --cflags --libs zoomlive`, shared and static, and run it.
#   tests/lib/lib_test.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
pc=$(find "$tmp/prefix" -name zoomlive.pc)
test -n "$pc" || { echo "zoomlive.pc not installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
so="$libdir/libzoomlive.so"
a="$libdir/libzoomlive.a"
hdr="$tmp/prefix/include/zoomlive.h"
test -f "$so" && test -f "$a" && test -f "$hdr"

# 1. no Lua core: not a single lua_*/luaL_* symbol defined, liblua not needed
if nm -D --defined-only "$so" | awk '{print $3}' | grep -E '^(lua|luaL|luaopen_base|luaV|luaD)_' \
   | grep -v '^luaopen_zoomlive_core$'; then
  echo "FAIL: libzoomlive.so defines Lua core symbols"; exit 1
fi
if nm --defined-only "$a" 2>/dev/null | awk 'NF==3 && $2 ~ /[TDB]/ {print $3}' | grep -E '^(lua|luaL)_'; then
  echo "FAIL: libzoomlive.a defines Lua core symbols"; exit 1
fi
if readelf -d "$so" | grep NEEDED | grep -i lua; then
  echo "FAIL: libzoomlive.so needs a Lua library"; exit 1
fi
# 2. every function the installed header declares is exported, nothing else
sed -n 's/^ZOOMLIVE_API[^(]*[ *]\([a-z_0-9]*\)(.*/\1/p' "$hdr" | sort > "$tmp/declared"
nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sort > "$tmp/exported"
test -s "$tmp/declared"
if ! cmp -s "$tmp/declared" "$tmp/exported"; then
  echo "FAIL: exported functions differ from the header's (< declared, > exported):"
  diff "$tmp/declared" "$tmp/exported" || true
  exit 1
fi
echo "symbols: $(wc -l < "$tmp/declared") functions declared and exported, no Lua core"
# 3. a host built from the installed header and zoomlive.pc
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cflags=$(pkg-config --cflags zoomlive)
libs=$(pkg-config --libs zoomlive)
echo "pkg-config: $cflags $libs"
cc -Wall -Werror -o "$tmp/hello" "$src/tests/lib/hello_host.c" $cflags $libs
LD_LIBRARY_PATH="$libdir" "$tmp/hello"
# the shared one is the one that ran
LD_LIBRARY_PATH="$libdir" ldd "$tmp/hello" | grep -q "$libdir/libzoomlive.so"
# 4. static: the archive, libcurl (shared here: Debian ships no static
# builds of libcurl's own dependencies, which `pkg-config --static` lists)
static_libs="$(pkg-config --libs zoomlive | sed 's/-lzoomlive//') $(pkg-config --libs libcurl libcrypto) -lm -lpthread"
cc -Wall -Werror -o "$tmp/hello_static" "$src/tests/lib/hello_host.c" $cflags "$a" $static_libs
if ldd "$tmp/hello_static" | grep -q libzoomlive; then echo "FAIL: static host loads the .so"; exit 1; fi
"$tmp/hello_static"
echo "libzoomlive: ok"
