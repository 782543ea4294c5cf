#!/bin/sh
# examples/host under ctest: the threaded C host runs examples/host/app.lua
# in several threads against zoomlive-sim (each call slowed, so the host's
# heartbeat ticks while calls are in flight), with no zoomlive file on the
# Lua paths: everything comes from libzoomlive.
#   tests/host_test.sh HOST_EXE SIM_EXE
set -eu
host=$1
sim=$2
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
fifo="$tmp/port"
mkfifo "$fifo"
"$sim" --port 0 --any-meeting --qps 0 --daily 0 --latency-ms 30 > "$fifo" &
simpid=$!
trap 'kill $simpid 2>/dev/null; wait $simpid 2>/dev/null; rm -rf "$tmp"' EXIT
read -r port < "$fifo"
LUA_PATH="/nonexistent/?.lua" "$host" "$src/examples/host/app.lua" "http://127.0.0.1:$port/v2" sim-token 4 \
  > "$tmp/out" 2>&1 || { cat "$tmp/out"; exit 1; }
cat "$tmp/out"
test "$(grep -c ': 6 stopped, 0 failed' "$tmp/out")" = 4
grep -q '^4 threads, 0 failed$' "$tmp/out"
