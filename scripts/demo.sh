#!/bin/sh
# make demo: start zoomlive-sim on a free loopback port, run
# examples/demo.lua against it, stop the simulator.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
SIM="$BUILD/bin/zoomlive-sim"
tmp=$(mktemp -d)
"$SIM" --port 0 --token demo-token > "$tmp/port" 2> "$tmp/sim.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
# the simulator prints its port on its first line; wait for it (5 s at most)
i=0
while ! grep -q . "$tmp/port" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "zoomlive-sim did not start:" >&2; cat "$tmp/sim.log" >&2; exit 1
  fi
  sleep 0.05
done
port=$(head -n 1 "$tmp/port")
echo "zoomlive-sim listening on 127.0.0.1:$port (pid $pid)"
ZOOM_API_BASE="http://127.0.0.1:$port/v2" ZOOM_ACCESS_TOKEN=demo-token \
LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="$BUILD/lib/?.so;;" \
  lua5.4 examples/demo.lua
