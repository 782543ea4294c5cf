#!/bin/sh
# bench/loop.sh BUILD_DIR - the event-loop targets (bench/loop.lua) against
# zoomlive-sim; make bench runs it too (bench/run.sh).
#   100 calls through the luv adapter at 200 ms latency: the host's 1 ms
#     timer never stalls more than 5 ms; the calls finish within 1.2x the
#     ideal for their concurrency (BENCH_LOOP_CONC, default 25)
#   1,000 updates at 20 ms latency, concurrency 32, on the driver: <= 1.10x
# Prints the measured lines, then the rows of the targets table:
#   | target | goal | measured | verdict |
# Exit status: 0 when both ran (a missed target prints FAIL), 1 otherwise.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LUA=${LUA:-lua5.4}
LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
LUA_CPATH="$BUILD/lib/?.so;;"
export LUA_PATH LUA_CPATH
SIM=$BUILD/bin/zoomlive-sim
[ -x "$SIM" ] || { echo "bench/loop.sh: $SIM missing: run make build" >&2; exit 1; }

out=$("$LUA" "$ROOT/bench/loop.lua" "$SIM" "${BENCH_LOOP_CONC:-25}" 2>&1)
rc=$?
echo "$out" | sed 's/^/  /'
calls=$(echo "$out" | grep '^LOOP target=calls')
batch=$(echo "$out" | grep '^LOOP target=batch')
[ $rc = 0 ] && [ -n "$calls" ] && [ -n "$batch" ] || { echo "bench/loop.sh: loop.lua could not run" >&2; exit 1; }

echo "$calls" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "| loop: 100 calls via luv, 200 ms latency: host 1 ms timer stall | <= 5 ms | %.2f ms max gap (p99 %.2f ms, %d ticks; timer alone: %.2f ms; longest zoomlive callback %.2f ms, %.2f ms CPU; starting the 100 calls %.2f ms, %.2f ms CPU) | %s |\n",
    v["max_gap_ms"], v["p99_gap_ms"], v["ticks"], v["baseline_gap_ms"], v["cb_max_ms"], v["cb_cpu_max_ms"],
    v["burst_ms"], v["burst_cpu_ms"], v["max_gap_ms"] <= 5 ? "PASS" : "FAIL"
  printf "| loop: 100 calls via luv, 200 ms latency, concurrency %d | <= 1.20x ideal (%.3f s) | %.3f s = %.2fx, ok %d/%d | %s |\n",
    v["conc"], v["ideal"], v["elapsed"], v["ratio"], v["ok"], v["n"], (v["ratio"] <= 1.2 && v["ok"] == v["n"]) ? "PASS" : "FAIL" }'
echo "$batch" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "| loop: 1,000 updates on the driver, 20 ms latency, concurrency 32 | <= 1.10x ideal (%.3f s) | %.3f s = %.2fx, ok %d/%d | %s |\n",
    v["ideal"], v["elapsed"], v["ratio"], v["ok"], v["n"], (v["ratio"] <= 1.1 && v["ok"] == v["n"]) ? "PASS" : "FAIL" }'
