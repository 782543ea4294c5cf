#!/bin/sh
# tests/lua_version_guard.sh CC LUA54_INCDIR OTHER_LUA_INCDIR: the binding
# compiles against Lua 5.4's headers and stops, with a message naming the
# version it needs, against another Lua's (LUA_VERSION_NUM check).
set -eu
cc=$1 good=$2 other=$3
src=$(cd "$(dirname "$0")/.." && pwd)/csrc
flags="-fsyntax-only -D_GNU_SOURCE -DZOOMLIVE_VERSION=\"0\" -I$src"
# shellcheck disable=SC2086
$cc $flags -I"$good" "$src/lzoomlive.c"
# shellcheck disable=SC2086
if out=$($cc $flags -I"$other" "$src/lzoomlive.c" 2>&1); then
  echo "lzoomlive.c compiled against $other" >&2; exit 1
fi
echo "$out" | grep -q 'error.*zoomlive needs Lua 5.4' || { echo "$out" >&2; exit 1; }
echo "Lua 5.4 headers: compiles; $other: refused with 'zoomlive needs Lua 5.4'"
