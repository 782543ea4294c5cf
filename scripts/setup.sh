#!/bin/sh
# Installs the Debian packages zoomlive needs to build, test and bench.
# As root it installs what is missing; otherwise it prints the apt command.
set -eu
PKGS="lua5.4 liblua5.4-dev luarocks lua-cjson lua-busted lua-check \
libcurl4-openssl-dev curl libmicrohttpd-dev libcjson-dev cmake make gcc pkg-config openssl \
clang valgrind libclang-rt-14-dev nginx-light wrk lua-socket \
lua-luv lua-cqueues lua-argparse libssl-dev redis-server libhiredis-dev lua-ldoc clang-format lua-markdown python3"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "zoomlive: missing Debian packages:$missing" >&2
  echo "run as root: apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "zoomlive: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
