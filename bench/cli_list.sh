#!/bin/bash
# bench/cli_list.sh BUILD_DIR - the zoomlive command at the scale of an
# account (part of make bench; runs alone too).
#
# 1. 1,000 IDs from a file with 10 bad rows, zoomlive-sim limited to 30/s
#    (Pro's Light limit), `zoomlive start --from FILE --rate 30`:
#    goal 990 started, the 10 bad rows reported, < 1% of requests meet a
#    429, wall time <= 1.1 x 990/30 s.
# 2. The same run, SIGINT halfway: goal exit 130 (by the signal) within 2 s,
#    and the --report file lists every ID the simulator started.
# Prints one "CLILIST <key=value ...>" line per run, and PASS/FAIL lines.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LUA=${LUA:-lua5.4}
SIM=$BUILD/bin/zoomlive-sim
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$BUILD/lib/?.so;;"
TMP=$(mktemp -d /tmp/zoomlive-clibench.XXXXXX)
SIM_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

start_sim() {
  "$SIM" --port 0 --qps 30 --any-meeting --token sim-token >"$TMP/port" 2>"$TMP/sim.err" &
  SIM_PID=$!
  for _ in $(seq 50); do
    PORT=$(head -1 "$TMP/port" 2>/dev/null)
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  return 1
}
stop_sim() { kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=""; }

# 1,000 rows: 990 IDs and 10 bad rows spread through the file
: >"$TMP/ids"
for i in $(seq 1000); do
  if [ $((i % 100)) -eq 50 ]; then echo "bad-row-$i" >>"$TMP/ids"; else echo $((91000000000 + i)) >>"$TMP/ids"; fi
done

# sim log -> "n=N s204=N s429=N" (the last 10,000 requests are kept)
sim_counts() {
  curl -s "http://127.0.0.1:$PORT/_sim/requests" | "$LUA" -e '
    local log = require("cjson").decode(io.read("a"))
    local s204, s429 = 0, 0
    for _, r in ipairs(log) do
      if r.status == 204 then s204 = s204 + 1 elseif r.status == 429 then s429 = s429 + 1 end
    end
    io.write(string.format("n=%d s204=%d s429=%d", #log, s204, s429))'
}

export ZOOM_ACCESS_TOKEN=sim-token
# ---- 1: the whole list
start_sim || { echo "cli_list: zoomlive-sim did not start" >&2; exit 1; }
export ZOOM_API_BASE="http://127.0.0.1:$PORT/v2"
t0=$(date +%s.%N)
"$LUA" "$ROOT/bin/zoomlive" start --from "$TMP/ids" --rate 30 --report "$TMP/r1" >/dev/null 2>"$TMP/e1"
rc=$?
t1=$(date +%s.%N)
counts=$(sim_counts)
stop_sim
bad=$(grep -c "bad argument" "$TMP/e1")
started=$(grep -c '"ok":true' "$TMP/r1")
wall=$(echo "$t1 - $t0" | bc -l)
echo "CLILIST run=full exit=$rc wall=$wall started=$started bad_reported=$bad $counts"
echo "  $(tail -1 "$TMP/e1")"
full=$(echo "$counts" | awk -v w="$wall" -v st="$started" -v b="$bad" '{
  for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  p = 100 * v["s429"] / v["n"]; goal = 1.1 * 990 / 30
  printf "%d started, %d bad rows reported, %d 429s (%.2f%%), %.1f s (goal %.1f s) -> %s\n", st, b, v["s429"], p, w, goal,
    (st == 990 && b == 10 && p < 1 && w <= goal) ? "PASS" : "FAIL" }')
echo "RESULT full: $full"

# ---- 2: SIGINT halfway
start_sim || { echo "cli_list: zoomlive-sim did not start" >&2; exit 1; }
export ZOOM_API_BASE="http://127.0.0.1:$PORT/v2"
perl -e '$| = 1; use POSIX; use Time::HiRes qw(time sleep);
  my ($half, @cmd) = @ARGV; my $pid = fork();
  if ($pid == 0) { open(STDOUT, ">", "/dev/null"); exec(@cmd) or POSIX::_exit(127) }
  sleep($half); my $t = time(); kill("INT", $pid); waitpid($pid, 0); my $s = $?;
  printf("how=%s took=%.3f\n", ($s & 127) ? "signal" . ($s & 127) : "exit" . ($s >> 8), time() - $t);' \
  16.5 "$LUA" "$ROOT/bin/zoomlive" start --from "$TMP/ids" --rate 30 --report "$TMP/r2" 2>"$TMP/e2" >"$TMP/how"
counts2=$(sim_counts)
# every ID the simulator started is in the report as done
missing=$(curl -s "http://127.0.0.1:$PORT/_sim/requests" | REPORT="$TMP/r2" "$LUA" -e '
  local cjson = require "cjson"
  local done = {}
  for line in io.lines(os.getenv("REPORT")) do
    local ok, r = pcall(cjson.decode, line)
    if ok and r.ok == true then done[r.id] = true end
  end
  local missing = 0
  for _, r in ipairs(cjson.decode(io.read("a"))) do
    local id = r.path:match("/meetings/(%d+)/")
    if r.status == 204 and not done[id] then missing = missing + 1 end
  end
  io.write(missing)')
stop_sim
echo "CLILIST run=sigint $(cat "$TMP/how") records=$(wc -l <"$TMP/r2") started_not_in_report=$missing $counts2"
echo "  $(tail -1 "$TMP/e2")"
how=$(cat "$TMP/how")
sig=$(echo "$how" | awk -v m="$missing" '{ split($1, a, "="); split($2, b, "=")
  printf "%s after %.2f s, %s started IDs missing from the report -> %s\n", a[2], b[2], m,
    (a[2] == "signal2" && b[2] <= 1 && m == "0") ? "PASS" : "FAIL" }')
echo "RESULT sigint: $sig"
