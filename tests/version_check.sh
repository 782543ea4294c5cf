#!/bin/sh
# tests/version_check.sh BUILD_DIR: the version is written once, in the file
# VERSION; everything else takes it from there. Fails when any of these
# disagrees with it: the rockspec (file name, version, source tag), CMake's
# project version, the built zoomlive.core's version, zoomlive._VERSION, the
# zoomlive command's --version, the installed zoomlive.h, CHANGELOG.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
cd "$root"
fail=0
bad() { echo "version mismatch: $*" >&2; fail=1; }

v=$(cat VERSION)
echo "$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || bad "VERSION holds '$v', not MAJOR.MINOR.PATCH"
[ "$(wc -l < VERSION)" -eq 1 ] || bad "VERSION has more than one line"

# the rockspec: zoomlive-V-R.rockspec, version "V-R", tag "vV"
set -- zoomlive-*.rockspec
[ $# -eq 1 ] || bad "expected one rockspec, found: $*"
rs=$1
case $rs in "zoomlive-$v-"*.rockspec) ;; *) bad "$rs is not named for $v" ;; esac
lua5.4 - "$rs" "$v" <<'LUA' || bad "the rockspec"
  local env = {}
  assert(loadfile(arg[1], "t", env))()
  local v = arg[2]
  local rev = arg[1]:match("%-(%d+)%.rockspec$")
  if env.version ~= v .. "-" .. rev then error("rockspec version " .. tostring(env.version) .. ", VERSION " .. v, 0) end
  if env.source.tag ~= "v" .. v then error("rockspec source tag " .. tostring(env.source.tag) .. ", VERSION " .. v, 0) end
  local defs = table.concat(env.build.modules["zoomlive.core"].defines, " ")
  if not defs:find("ZOOMLIVE_VERSION=\"" .. v .. "\"", 1, true) then error("rockspec defines " .. defs, 0) end
LUA

# CMake's project version (read from VERSION at configure time)
cm=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ "$cm" = "$v" ] || bad "CMake project version '$cm'"

# zoomlive.h: no version written in the source; the installed copy carries VERSION
if grep -Eq 'define ZOOMLIVE_VERSION +"[0-9]' csrc/zoomlive.h; then bad "csrc/zoomlive.h writes a version of its own"; fi
grep -q "^#  define ZOOMLIVE_VERSION \"$v\"\$" "$build/include/zoomlive.h" || bad "$build/include/zoomlive.h"

# the built module, _VERSION and the command
got=$(LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="$build/lib/?.so;;" lua5.4 -e '
  local z = require "zoomlive"
  print(require("zoomlive.core").version .. "|" .. z.version .. "|" .. z._VERSION)')
[ "$got" = "$v|$v|zoomlive $v" ] || bad "zoomlive.core.version|zoomlive.version|zoomlive._VERSION = $got"
cli=$(LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="$build/lib/?.so;;" lua5.4 bin/zoomlive --version)
case $cli in "zoomlive $v" | "zoomlive $v "*) ;; *) bad "zoomlive --version says '$cli'" ;; esac

# the simulator
sim=$("$build/bin/zoomlive-sim" --version)
[ "$sim" = "zoomlive-sim $v" ] || bad "zoomlive-sim --version says '$sim'"

# no other copy in code: the version appears in no tracked source, build or
# test file (the rockspec's version field and file name aside)
copies=$(git ls-files -- csrc lua bin bench scripts tests spec examples types CMakeLists.txt Makefile config.ld \
  | xargs grep -n -E "(^|[^0-9.])$(echo "$v" | sed 's/\./\\./g')([^0-9.]|\$)" 2>/dev/null || true)
[ -z "$copies" ] || bad "written outside VERSION: $copies"

# the changelog has a section for it
grep -Eq "^## \[$v\]" CHANGELOG.md || bad "CHANGELOG.md has no '## [$v]' section"

[ $fail -eq 0 ] && echo "version $v: VERSION, $rs, CMake, zoomlive.h, zoomlive.core, _VERSION, the CLI, zoomlive-sim and CHANGELOG.md agree; no other copy in code"
exit $fail
