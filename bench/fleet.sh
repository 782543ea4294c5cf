#!/bin/sh
# bench/fleet.sh BUILD_DIR - the fleet bench: 4 processes x 250 updates
# against one zoomlive-sim limited to 40 requests/s (one account), each
# process a zoomlive client (bench/fleet_worker.lua). Three runs:
#   shared  the budget on Redis, 40/s, burst 10 (share 10/s)
#   local   no shared budget: each process its own in-process budget of 40/s
#   kill    as shared, with redis-server killed (SIGKILL) halfway through
# Goals: shared: all 1,000 succeed, < 1% of requests meet a 429, wall time
# <= 1.15 x 1000/40 s; kill: no call lost or raised, the run completes.
# Run alone (sh bench/fleet.sh build) or from bench/run.sh (make bench).
# Environment: FLEET_PROCS (4) FLEET_N (250 per process) FLEET_QPS (40)
#   FLEET_BURST (10) FLEET_KILL_AFTER (seconds, default half the ideal time)
# Exit status: 0 when every run ran (a missed goal prints FAIL); 1 otherwise.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PROCS=${FLEET_PROCS:-4}
N=${FLEET_N:-250}
QPS=${FLEET_QPS:-40}
BURST=${FLEET_BURST:-10}
LUA=${LUA:-lua5.4}
TOTAL=$((PROCS * N))
IDEAL=$(awk -v t="$TOTAL" -v q="$QPS" 'BEGIN { printf "%.3f", t / q }')
LIMIT=$(awk -v i="$IDEAL" 'BEGIN { printf "%.3f", 1.15 * i }')
SHARE=$(awk -v q="$QPS" -v p="$PROCS" 'BEGIN { printf "%g", q / p }')
KILL_AFTER=${FLEET_KILL_AFTER:-$(awk -v i="$IDEAL" 'BEGIN { printf "%.1f", i / 2 }')}
SIM=$BUILD/bin/zoomlive-sim
REDIS=${ZOOMLIVE_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}

export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$BUILD/lib/?.so;;"

die() { echo "fleet: $*" >&2; exit 1; }
[ -x "$SIM" ] || die "$SIM missing: run make build"
[ -f "$BUILD/lib/zoomlive/hiredis.so" ] || die "$BUILD/lib/zoomlive/hiredis.so missing (libhiredis-dev): run make build"
[ -x "$REDIS" ] || die "redis-server not found (apt-get install redis-server)"

TMP=$(mktemp -d /tmp/zoomlive-fleet.XXXXXX)
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$ROOT/bench/sim.sh"   # start_sim, stop_sim

start_redis() {   # sets REDIS_PORT, REDIS_PID
  REDIS_PORT=$("$LUA" -e 'local s = assert(require("socket").bind("127.0.0.1", 0))
    print((select(2, s:getsockname()))) s:close()')
  mkdir -p "$TMP/redis"
  "$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" --save '' --appendonly no \
    --daemonize no --loglevel warning >"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS="$PIDS $REDIS_PID"
  local _
  for _ in $(seq 1 50); do
    PORT=$REDIS_PORT "$LUA" -e 'local h = require "zoomlive.hiredis"
      local c = h.connect("127.0.0.1", tonumber(os.getenv("PORT"))); c:append("PING")
      for _ = 1, 20 do local d = c:flush(); if d then break end; if d == nil then os.exit(1) end; h.poll(c:fd(), "w", 0.05) end
      for _ = 1, 20 do local g, r = c:read(); if g then os.exit(r == "PONG" and 0 or 1) end
        if g == nil then os.exit(1) end; h.poll(c:fd(), "r", 0.05) end
      os.exit(1)' 2>/dev/null && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$TMP/redis.log" >&2
  return 1
}

now() { date +%s.%N; }

# run MODE TAG [REDIS_URL]: the fleet; prints the summed line
# "RUN tag ok= failed= raised= requests= http429= wall= warnings=" and the
# workers' own lines.
run() {
  local mode=$1 tag=$2 url=${3:-} i pids="" t0 t1
  t0=$(now)
  for i in $(seq 1 "$PROCS"); do
    "$LUA" "$ROOT/bench/fleet_worker.lua" "$mode" "$SIM_PORT" "$N" $((90000000000 + i * 100000)) \
      "$QPS" "$BURST" "$url" "$SHARE" >"$TMP/$tag.$i" 2>"$TMP/$tag.$i.err" &
    pids="$pids $!"
  done
  if [ "$tag" = kill ]; then
    sleep "$KILL_AFTER"
    kill -KILL "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    echo "  redis-server killed (SIGKILL) after ${KILL_AFTER} s"
  fi
  for i in $pids; do wait "$i"; done
  t1=$(now)
  for i in $(seq 1 "$PROCS"); do
    sed 's/^/  /' "$TMP/$tag.$i"
    sort "$TMP/$tag.$i.err" | uniq -c | sort -rn | head -5 | sed 's/^/    stderr: /'
  done
  cat "$TMP/$tag".[0-9]* | awk -v tag="$tag" -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
    /^FLEET / { for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
    END { printf "RUN %s ok=%d failed=%d raised=%d requests=%d http429=%d wall=%.3f warnings=%d\n",
            tag, s["ok"], s["failed"], s["raised"], s["requests"], s["http429"], wall, s["warnings"] }'
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "== fleet: $PROCS processes x $N updates, zoomlive-sim limited to $QPS/s, budget $QPS/s burst $BURST (share $SHARE/s)"
broken=0
results=""
for tag in shared local kill; do
  start_sim "$TMP/sim.$tag" --qps "$QPS" || { echo "fleet: zoomlive-sim did not start" >&2; broken=1; continue; }
  url=""
  if [ "$tag" != local ]; then
    start_redis || { echo "fleet: redis-server did not start" >&2; broken=1; stop_sim; continue; }
    url="redis://127.0.0.1:$REDIS_PORT/0"
  fi
  echo "-- $tag"
  run "$( [ "$tag" = local ] && echo local || echo shared )" "$tag" "$url" >"$TMP/out.$tag"
  grep -v '^RUN ' "$TMP/out.$tag"
  results="$results$(grep '^RUN ' "$TMP/out.$tag")"$'\n'
  stop_sim
  if [ "$tag" != local ]; then kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
done

row() {   # tag -> "ok/total, 429s (pct of requests), wall (x ideal)"
  local l
  l=$(echo "$results" | grep "^RUN $1 ") || { echo "could not run"; return; }
  awk -v ideal="$IDEAL" -v total="$TOTAL" '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    p = v["requests"] ? 100 * v["http429"] / v["requests"] : 0
    printf "ok %d/%d, failed %d, raised %d, %d requests, %d met a 429 (%.2f%%), %.2f s (%.2fx %g s)",
      v["ok"], total, v["failed"], v["raised"], v["requests"], v["http429"], p, v["wall"], v["wall"] / ideal, ideal }' <<<"$l"
}
verdict_shared() {
  local l
  l=$(echo "$results" | grep "^RUN shared ") || { echo FAIL; return; }
  awk -v limit="$LIMIT" -v total="$TOTAL" '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    p = v["requests"] ? 100 * v["http429"] / v["requests"] : 100
    print (v["ok"] == total && v["raised"] == 0 && p < 1 && v["wall"] <= limit) ? "PASS" : "FAIL" }' <<<"$l"
}
verdict_kill() {
  local l
  l=$(echo "$results" | grep "^RUN kill ") || { echo FAIL; return; }
  awk -v total="$TOTAL" '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print (v["ok"] == total && v["raised"] == 0 && v["failed"] == 0) ? "PASS" : "FAIL" }' <<<"$l"
}

echo
echo "| fleet target ($PROCS x $N updates, sim $QPS/s) | goal | measured | verdict |"
echo "|---|---|---|---|"
echo "| fleet: shared budget on Redis, $QPS/s burst $BURST | all ok, < 1% 429, <= $LIMIT s | $(row shared) | $(verdict_shared) |"
echo "| fleet: no shared budget ($QPS/s in each process) | printed beside | $(row local) | - |"
echo "| fleet: shared budget, Redis killed after ${KILL_AFTER} s | no call lost or raised, completes | $(row kill) | $(verdict_kill) |"
exit $broken
