#!/bin/sh
# bench/run.sh BUILD_DIR - zoomlive's benchmark (make bench).
#
# Starts a loopback nginx (its own prefix, conf, pid and logs in a temp dir)
# and measures sequential PATCH /v2/meetings/ID/livestream/status requests
# with the seed's multipart body from: the curl CLI (one process per call),
# a libcurl+curl_mime C loop, a prebuilt-body libcurl C loop, wrk -c1 -t1 and
# zoomlive (client:update on one client, encoding = "multipart"); and the JSON
# form ({"action","settings"} as application/json) from a prebuilt-body C loop
# (ref_prebuilt j) and zoomlive (encoding = "json").  Then the memory target, the batch
# targets against zoomlive-sim, and a callgrind profile.
#
# Environment: BENCH_N (5000) BENCH_WARMUP (200) BENCH_CLI_N (200)
#   BENCH_ROUNDS (9 interleaved rounds, best of; wrk and the curl CLI
#   run in the first 3 only) BENCH_WRK_SECS (3)
#   BENCH_MEM_N (100000) BENCH_PROFILE (1; 0 skips callgrind; 2 adds the libcurl option experiments) BENCH_PROF_N (2000)
#   BENCH_BATCH (1; 0 skips the simulator targets, the command's among them:
#     bench/cli_list.sh, and the event-loop ones)
#   BENCH_LOOP_CONC (25: the concurrency of the event-loop calls target)
#   BENCH_FLEET (1; 0 skips the fleet targets, bench/fleet.sh: 4 processes
#     sharing one budget on a redis-server, about 80 s)
#   BENCH_IDLE_GUARD (1: hold /dev/cpu_dma_latency at 0 during the run, see
#     bench/idle_guard.c; 0: leave the CPU idle states alone)
#   BENCH_PROFILE_DIR (unset; a directory to keep the callgrind outputs in:
#     cg.CLIENT.0 and cg.CLIENT.N, warm-up only and warm-up + N requests)
#
# Exit status: 0 when every client ran (a missed target prints FAIL but is
# not an error); 1 when a client or a server could not run at all.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
N=${BENCH_N:-5000}
WARM=${BENCH_WARMUP:-200}
CLI_N=${BENCH_CLI_N:-200}
ROUNDS=${BENCH_ROUNDS:-9}
WRK_SECS=${BENCH_WRK_SECS:-3}
MEM_N=${BENCH_MEM_N:-100000}
PROFILE=${BENCH_PROFILE:-1}
PROF_N=${BENCH_PROF_N:-2000}
BATCH=${BENCH_BATCH:-1}
LUA=${LUA:-lua5.4}
ID=68423085
SETTINGS='{"active_speaker_name":false,"display_name":"Town hall"}'

export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$BUILD/lib/?.so;;"

broken=""           # clients or servers that could not run
note_broken() { broken="$broken $1"; echo "ERROR: $1 could not run" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for tool in "$LUA" nginx wrk cc curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (make setup installs it)"
done
[ -f "$BUILD/lib/zoomlive/core.so" ] || die "$BUILD/lib/zoomlive/core.so missing: run make build"

TMP=$(mktemp -d /tmp/zoomlive-bench.XXXXXX)
chmod 755 "$TMP"
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the C clients, built into the build dir --------------------------------
BIN=$BUILD/bench
mkdir -p "$BIN"
CURL_FLAGS=$(pkg-config --cflags --libs libcurl 2>/dev/null || echo -lcurl)
for prog in ref_mime ref_prebuilt runloop idle_guard; do
  # shellcheck disable=SC2086
  cc -O2 -g -Wall -Wextra -I"$ROOT/bench" -DZOOMLIVE_VERSION="\"$(cat "$ROOT/VERSION")\"" \
    -o "$BIN/$prog" "$ROOT/bench/$prog.c" $CURL_FLAGS \
    || die "cannot build bench/$prog.c"
done

# ---- keep idle CPUs polling (BENCH_IDLE_GUARD=0 to measure without) ---------
# A sequential loopback client and nginx wake each other twice a request; a
# halted (v)CPU takes tens of µs to wake, so without this the results depend on
# how busy the rest of the machine is (measured: 3x apart).
idle_state="C-states as configured (BENCH_IDLE_GUARD=0)"
if [ "${BENCH_IDLE_GUARD:-1}" = 1 ]; then
  "$BIN/idle_guard" >"$TMP/idle_guard.out" 2>&1 &
  IDLE_PID=$!
  PIDS="$PIDS $IDLE_PID"
  for _ in $(seq 1 20); do grep -q ok "$TMP/idle_guard.out" 2>/dev/null && break; sleep 0.05; done
  if grep -q ok "$TMP/idle_guard.out"; then
    idle_state="/dev/cpu_dma_latency held at 0 (idle CPUs poll)"
  else
    idle_state="C-states as configured (idle_guard: $(head -1 "$TMP/idle_guard.out"))"
  fi
fi
echo "== idle: $idle_state"

# ---- nginx on a free loopback port -----------------------------------------
mkdir -p "$TMP/ngx/logs" "$TMP/ngx/tmp"
start_nginx() {
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    PORT=$((20000 + RANDOM % 30000))
    # a try that failed on its port leaves the backend socket behind: the
    # next try would fail on it, whatever its port
    rm -f "$TMP/ngx/backend.sock"
    cat >"$TMP/ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path $TMP/ngx/tmp/body;
  proxy_temp_path $TMP/ngx/tmp/proxy;
  fastcgi_temp_path $TMP/ngx/tmp/fastcgi;
  uwsgi_temp_path $TMP/ngx/tmp/uwsgi;
  scgi_temp_path $TMP/ngx/tmp/scgi;
  log_format conn '\$connection \$connection_requests \$request_method \$status \$request_length';
  server {
    listen 127.0.0.1:$PORT;
    # the calibration prefix logs every request with its connection number
    location /calib/ {
      access_log $TMP/ngx/logs/calib.log conn;
      client_body_buffer_size 64k; client_max_body_size 1m;
      return 204;
    }
    # 204 only after the whole request body is read: "return" alone would
    # answer once the headers are in, which favours clients that send the
    # headers and the body in two writes (curl_mime). The proxy module reads
    # the body first (proxy_request_buffering on), then asks the backend
    # below, which answers 204, over a kept-alive upstream connection.
    location / {
      client_body_buffer_size 64k; client_max_body_size 1m;
      proxy_request_buffering on;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Content-Type "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://backend;
    }
  }
  upstream backend {
    server unix:$TMP/ngx/backend.sock;
    keepalive 8;
  }
  server {
    listen unix:$TMP/ngx/backend.sock;
    location / { return 204; }
  }
}
EOF
    nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -e "$TMP/ngx/logs/error.log" \
      >"$TMP/ngx/stdout" 2>&1 &
    NGINX_PID=$!
    local _
    for _ in $(seq 1 50); do
      if ! kill -0 "$NGINX_PID" 2>/dev/null; then break; fi
      if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then PIDS="$PIDS $NGINX_PID"; return 0; fi
      sleep 0.1
    done
    kill "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null
  done
  cat "$TMP/ngx/logs/error.log" >&2
  return 1
}
start_nginx || die "nginx would not start"
URLBASE="http://127.0.0.1:$PORT"
PATH_STATUS="/v2/meetings/$ID/livestream/status"

# the body wrk sends must be the one ref_prebuilt sends
"$BIN/ref_prebuilt" x 0 0 --print-body >"$TMP/body.c"
"$LUA" -e "wrk = { headers = {} } dofile('$ROOT/bench/wrk_patch.lua') io.write(wrk.body)" \
  >"$TMP/body.wrk" 2>/dev/null
cmp -s "$TMP/body.c" "$TMP/body.wrk" || echo "WARNING: wrk_patch.lua's body differs from ref_prebuilt's" >&2

# ---- one run of each client: appends "reqs_per_s cpu_us_per_req hwm_kb" ----
# to $TMP/res.NAME; a client that fails is noted once.
record() {   # name file-with-RESULT-line
  local line
  line=$(grep '^RESULT ' "$2" | tail -1)
  if [ -z "$line" ]; then
    cat "$2" >&2
    case " $broken " in *" $1 "*) ;; *) note_broken "$1" ;; esac
    return 1
  fi
  echo "$line" | awk '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%.1f %.2f %d\n", v["n"] / v["secs"], v["cpu_us"] / v["n"], v["hwm_kb"] }' >>"$TMP/res.$1"
}

run_cli() {
  "$BIN/runloop" curl_cli "$CLI_N" 20 curl -s -f -o /dev/null -X PATCH \
    -H "Authorization: Bearer x" --form action=start --form "settings=$SETTINGS" \
    "$URLBASE${1:-}$PATH_STATUS" >"$TMP/out" 2>&1
  record curl_cli "$TMP/out"
}
run_c() {   # ref_mime | ref_prebuilt
  "$BIN/$1" "$URLBASE${2:-}$PATH_STATUS" "${3:-$N}" "${4:-$WARM}" >"$TMP/out" 2>&1
  record "$1" "$TMP/out"
}
run_zoomlive() {
  "$LUA" "$ROOT/bench/zoomlive_seq.lua" "$URLBASE${1:-}/v2" "${2:-$N}" "${3:-$WARM}" - multipart >"$TMP/out" 2>&1
  record zoomlive "$TMP/out"
}
run_zoomlive_json() {
  "$LUA" "$ROOT/bench/zoomlive_seq.lua" "$URLBASE${1:-}/v2" "${2:-$N}" "${3:-$WARM}" - json >"$TMP/out" 2>&1
  record zoomlive_json "$TMP/out"
}
run_ref_json() {
  "$BIN/ref_prebuilt" "$URLBASE${1:-}$PATH_STATUS" "${2:-$N}" "${3:-$WARM}" j >"$TMP/out" 2>&1
  record ref_json "$TMP/out"
}
run_wrk() {   # wrk: its own req/s; CPU and peak RSS from runloop's rusage
  local secs=${2:-$WRK_SECS}
  "$BIN/runloop" wrk 1 0 wrk -c1 -t1 -d"${secs}s" -s "$ROOT/bench/wrk_patch.lua" \
    "$URLBASE${1:-}$PATH_STATUS" >"$TMP/out" 2>&1
  local rps reqs bad line
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/out")
  reqs=$(sed -n 's/^WRK requests=\([0-9]*\).*/\1/p' "$TMP/out")
  bad=$(sed -n 's/^WRK .*non2xx=\([0-9]*\) errors=\([0-9]*\).*/\1 \2/p' "$TMP/out")
  line=$(grep '^RESULT ' "$TMP/out")
  if [ -z "$rps" ] || [ -z "$reqs" ] || [ -z "$line" ] || [ "$bad" != "0 0" ]; then
    cat "$TMP/out" >&2
    case " $broken " in *" wrk "*) ;; *) note_broken wrk ;; esac
    return 1
  fi
  echo "$line" | awk -v rps="$rps" -v reqs="$reqs" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%.1f %.2f %d\n", rps, v["cpu_us"] / reqs, v["hwm_kb"] }' >>"$TMP/res.wrk"
}

# ---- calibration: does every client keep one connection alive? -------------
echo "== calibration: connections per client (nginx \$connection, /calib/ prefix)"
calib() {   # name command...
  local name=$1
  shift
  : >"$TMP/ngx/logs/calib.log"
  "$@" || true
  sleep 0.2
  awk -v name="$name" '{ c[$1] = 1; n++; len += $5; if ($3 != "PATCH" || $4 != 204) odd++ }
    END { k = 0; for (x in c) k++
          printf "  %-13s requests=%-6d connections=%-4d avg request_length=%.0f B%s\n",
            name, n, k, n ? len / n : 0, odd ? "  (" odd " not PATCH/204!)" : "" }' \
    "$TMP/ngx/logs/calib.log"
}
rm -f "$TMP"/res.*
run_cli_calib() { CLI_N=5 run_cli /calib; }
calib curl_cli run_cli_calib
calib ref_mime run_c ref_mime /calib 100 0
calib ref_prebuilt run_c ref_prebuilt /calib 100 0
calib wrk run_wrk /calib 1
calib zoomlive run_zoomlive /calib 100 0
calib ref_json run_ref_json /calib 100 0
calib zoomlive_json run_zoomlive_json /calib 100 0
body_len=$(wc -c <"$TMP/body.c")
echo "  (multipart body: $body_len bytes. nginx's request_length leaves out a body that 'return'"
echo "   discards, but each kept-alive connection parsed every next request as PATCH -> 204, so"
echo "   nginx consumed every body; 1 connection per client = keep-alive reused)"
rm -f "$TMP"/res.* "$TMP/ngx/logs/calib.log"
broken=""

# ---- the sequential runs, interleaved, best of ROUNDS ----------------------
echo "== sequential PATCH against nginx: N=$N (curl CLI: $CLI_N), warm-up $WARM, wrk ${WRK_SECS}s, best of $ROUNDS (wrk, curl CLI: of $(( ROUNDS < 3 ? ROUNDS : 3 )))"
"$BIN/runloop" wrk 1 0 wrk -c1 -t1 -d1s -s "$ROOT/bench/wrk_patch.lua" "$URLBASE$PATH_STATUS" >/dev/null 2>&1
ORDER=(ref_prebuilt zoomlive ref_mime wrk curl_cli ref_json zoomlive_json)
ALL="curl_cli ref_mime ref_prebuilt wrk zoomlive ref_json zoomlive_json"   # table order
SLOW_ROUNDS=$(( ROUNDS < 3 ? ROUNDS : 3 ))   # wrk and the curl CLI take seconds a round
run_one() {
  case $1 in
    ref_prebuilt|ref_mime) run_c "$1" ;;
    zoomlive) run_zoomlive ;;
    zoomlive_json) run_zoomlive_json ;;
    ref_json) run_ref_json ;;
    wrk) run_wrk ;;
    curl_cli) run_cli ;;
  esac
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "  load average before: $load_before (other processes on the machine add noise)"
for r in $(seq 1 "$ROUNDS"); do
  ran=""
  # rotate the order every round: no client is always first or last
  for k in $(seq 0 $(( ${#ORDER[@]} - 1 ))); do
    c=${ORDER[$(( (k + r - 1) % ${#ORDER[@]} ))]}
    case $c in wrk|curl_cli) [ "$r" -le "$SLOW_ROUNDS" ] || continue ;; esac
    run_one "$c"
    ran="$ran $c"
  done
  printf '  round %d:' "$r"
  for c in $ALL; do
    case " $ran " in *" $c "*) ;; *) continue ;; esac
    [ -f "$TMP/res.$c" ] && printf ' %s=%s/s' "$c" "$(tail -1 "$TMP/res.$c" | cut -d' ' -f1)"
  done
  echo
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "  load average after: $load_after"
best() {   # name -> "best_rps min_cpu max_hwm_kb worst_rps" or empty
  [ -s "$TMP/res.$1" ] || return 0
  awk 'NR == 1 || $1 > r { r = $1 } NR == 1 || $1 < w { w = $1 } NR == 1 || $2 < c { c = $2 } $3 > m { m = $3 }
       END { printf "%s %s %s %s\n", r, c, m, w }' "$TMP/res.$1"
}
declare -A RPS CPU HWM WORST
for c in $ALL; do
  b=$(best "$c")
  [ -n "$b" ] || continue
  read -r RPS[$c] CPU[$c] HWM[$c] WORST[$c] <<<"$b"
done
ZL=${RPS[zoomlive]:-}

label() {
  case $1 in
    curl_cli) echo "curl CLI, one process per call" ;;
    ref_mime) echo "C libcurl + curl_mime (bench/ref_mime.c)" ;;
    ref_prebuilt) echo "C libcurl, prebuilt body (bench/ref_prebuilt.c)" ;;
    wrk) echo "wrk -c1 -t1 (server limit)" ;;
    zoomlive) echo "zoomlive client:update (Lua)" ;;
    ref_json) echo "JSON form: C libcurl, prebuilt body (ref_prebuilt j)" ;;
    zoomlive_json) echo "JSON form: zoomlive client:update, encoding json" ;;
  esac
}
ratio() { [ -n "$ZL" ] && [ -n "${RPS[$1]:-}" ] && awk -v a="$ZL" -v b="${RPS[$1]}" 'BEGIN { printf "%.2fx", a / b }' || echo "n/a"; }
rows=""
for c in $ALL; do
  if [ -z "${RPS[$c]:-}" ]; then
    rows="$rows| $(label $c) | could not run | | | | | |"$'\n'
    continue
  fi
  rows="$rows$(awk -v l="$(label $c)" -v r="${RPS[$c]}" -v w="${WORST[$c]}" -v cpu="${CPU[$c]}" -v m="${HWM[$c]}" -v ra="$(ratio $c)" \
    'BEGIN { printf "| %s | %.0f | %.0f | %.1f | %.1f | %.1f | %s |", l, r, w, 1e6 / r, cpu, m / 1024, ra }')"$'\n'
done

# ---- memory: peak RSS after 1,000 and after MEM_N calls --------------------
echo "== memory: zoomlive peak RSS after 1,000 and after $MEM_N calls (nginx)"
mem_line="" mem_verdict="FAIL"
if "$LUA" "$ROOT/bench/zoomlive_seq.lua" "$URLBASE/v2" "$((MEM_N - 200))" 200 mem >"$TMP/mem" 2>&1; then
  h1=$(sed -n 's/^MEM calls=1000 hwm_kb=\([0-9]*\)/\1/p' "$TMP/mem")
  h2=$(sed -n "s/^MEM calls=$MEM_N hwm_kb=\\([0-9]*\\)/\\1/p" "$TMP/mem")
  if [ -n "$h1" ] && [ -n "$h2" ]; then
    d=$((h2 - h1))
    [ "$d" -le 2048 ] && mem_verdict=PASS
    mem_line=$(awk -v a="$h1" -v b="$h2" -v d="$d" -v n="$MEM_N" 'BEGIN {
      printf "%.2f MiB after 1,000, %.2f MiB after %d: %+.2f MiB", a / 1024, b / 1024, n, d / 1024 }')
  fi
fi
[ -n "$mem_line" ] || { cat "$TMP/mem" >&2; note_broken "zoomlive (memory run)"; mem_line="could not run"; }
echo "  $mem_line"

# ---- batch targets against zoomlive-sim ------------------------------------
SIM=$BUILD/bin/zoomlive-sim
. "$ROOT/bench/sim.sh"   # start_sim, stop_sim
lat_v="SKIP (BENCH_BATCH=0)" rate_v="SKIP (BENCH_BATCH=0)" cli_full="" cli_sig=""
lat_detail="" rate_detail=""
if [ "$BATCH" = 1 ]; then
  echo "== batch targets against zoomlive-sim"
  if [ ! -x "$SIM" ]; then
    note_broken "zoomlive-sim ($SIM missing)"
  else
    if start_sim "$TMP/sim1" --qps 0 --latency-ms 20; then
      "$LUA" "$ROOT/bench/zoomlive_batch.lua" "$SIM_PORT" 1000 32 - latency >"$TMP/b1" 2>&1
      stop_sim
      cat "$TMP/b1" | sed 's/^/  /'
      if grep -q '^BATCH .* SKIP' "$TMP/b1"; then lat_v="SKIP (update_many not available)"
      elif line=$(grep '^BATCH ' "$TMP/b1"); then
        lat_detail=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          ideal = 1000 * 0.020 / 32; r = v["wall"] / ideal
          printf "%.3f s = %.2fx ideal (%.3f s), ok %d/%d -> %s", v["wall"], r, ideal, v["ok"], v["n"],
            (r <= 1.15 && v["ok"] == v["n"]) ? "PASS" : "FAIL" }')
        lat_v=${lat_detail##* }
      else note_broken "zoomlive_batch (latency)"; lat_v="FAIL (could not run)"; fi
    else note_broken "zoomlive-sim (latency)"; fi
    if start_sim "$TMP/sim2" --qps 50; then
      "$LUA" "$ROOT/bench/zoomlive_batch.lua" "$SIM_PORT" 500 32 50 rate >"$TMP/b2" 2>&1
      stop_sim
      cat "$TMP/b2" | sed 's/^/  /'
      if grep -q '^BATCH .* SKIP' "$TMP/b2"; then rate_v="SKIP (update_many not available)"
      elif line=$(grep '^BATCH ' "$TMP/b2"); then
        rate_detail=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          p = 100 * v["http429"] / v["n"]
          printf "ok %d/%d, %d 429s (%.1f%%), %.2f s (%.2fx 10 s) -> %s", v["ok"], v["n"], v["http429"], p,
            v["wall"], v["wall"] / 10, (v["ok"] == v["n"] && p < 1 && v["wall"] <= 11) ? "PASS" : "FAIL" }')
        rate_v=${rate_detail##* }
      else note_broken "zoomlive_batch (rate)"; rate_v="FAIL (could not run)"; fi
    else note_broken "zoomlive-sim (rate)"; fi
    # the zoomlive command on a 1,000-row list (bench/cli_list.sh)
    bash "$ROOT/bench/cli_list.sh" "$BUILD" >"$TMP/cl" 2>&1 || note_broken "cli_list"
    sed 's/^/  /' "$TMP/cl"
    cli_full=$(sed -n 's/^RESULT full: //p' "$TMP/cl") cli_sig=$(sed -n 's/^RESULT sigint: //p' "$TMP/cl")
  fi
fi

# ---- event-loop targets (bench/loop.sh) -------------------------------------
loop_rows=""
if [ "$BATCH" = 1 ]; then
  echo "== event-loop targets against zoomlive-sim (bench/loop.sh)"
  if sh "$ROOT/bench/loop.sh" "$BUILD" >"$TMP/loop" 2>&1; then
    grep -v '^| ' "$TMP/loop"
    loop_rows=$(grep '^| ' "$TMP/loop")$'\n'
  else
    cat "$TMP/loop" >&2
    note_broken "bench/loop.sh"
  fi
fi

# ---- fleet targets: processes sharing one budget on Redis (bench/fleet.sh) --
fleet_rows=""
if [ "${BENCH_FLEET:-1}" = 1 ]; then
  bash "$ROOT/bench/fleet.sh" "$BUILD" >"$TMP/fleet" 2>&1 || note_broken "fleet (bench/fleet.sh)"
  sed 's/^/  /' "$TMP/fleet"
  fleet_rows=$(grep '^| fleet:' "$TMP/fleet")
fi

# ---- targets ----------------------------------------------------------------
verdict() {   # client goal
  [ -n "$ZL" ] && [ -n "${RPS[$1]:-}" ] || { echo "FAIL (could not run)"; return; }
  awk -v a="$ZL" -v b="${RPS[$1]}" -v g="$2" 'BEGIN { printf "%.2fx -> %s", a / b, (a / b >= g) ? "PASS" : "FAIL" }'
}
t1=$(verdict ref_mime 1.0)
t2=$(verdict ref_prebuilt 0.85)
# the JSON form: zoomlive (encoding json) against the prebuilt JSON C loop
tj=$( [ -n "${RPS[zoomlive_json]:-}" ] && [ -n "${RPS[ref_json]:-}" ] \
  && awk -v a="${RPS[zoomlive_json]}" -v b="${RPS[ref_json]}" 'BEGIN { printf "%.2fx -> %s", a / b, (a / b >= 0.85) ? "PASS" : "FAIL" }' \
  || echo "FAIL (could not run)")

# ---- profile ------------------------------------------------------------------
# Instructions per request = (Ir[warm-up + K requests] - Ir[warm-up only]) / K:
# start-up, module loading and the warm-up cancel out.
prof_rows="" prof_lua="" prof_exp=""
if [ "$PROFILE" != 0 ] && command -v valgrind >/dev/null 2>&1; then
  echo "== callgrind: instructions per request ((Ir[$WARM + $PROF_N] - Ir[$WARM]) / $PROF_N)"
  total() { sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$1" | head -1; }
  ipr() {   # tag K command... (@N@ in the command is replaced by 0, then K) -> Ir per request
    local tag=$1 k=$2 n a b
    shift 2
    for n in 0 "$k"; do
      valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$tag.$n" "${@//@N@/$n}" >"$TMP/cg.log" 2>&1 \
        || { cat "$TMP/cg.log" >&2; return 1; }
    done
    a=$(total "$TMP/cg.$tag.0") b=$(total "$TMP/cg.$tag.$k")
    [ -n "$a" ] && [ -n "$b" ] || return 1
    if [ -n "${BENCH_PROFILE_DIR:-}" ]; then
      mkdir -p "$BENCH_PROFILE_DIR" && cp "$TMP/cg.$tag.0" "$TMP/cg.$tag.$k" "$BENCH_PROFILE_DIR/"
    fi
    echo $(( (b - a) / k ))
  }
  declare -A IPR
  for c in ref_prebuilt ref_mime zoomlive; do
    case $c in
      zoomlive) IPR[$c]=$(ipr "$c" "$PROF_N" "$LUA" "$ROOT/bench/zoomlive_seq.lua" "$URLBASE/v2" @N@ "$WARM") ;;
      *) IPR[$c]=$(ipr "$c" "$PROF_N" "$BIN/$c" "$URLBASE$PATH_STATUS" @N@ "$WARM") ;;
    esac || { note_broken "callgrind $c"; continue; }
    echo "  $c: ${IPR[$c]} instructions/request"
  done
  for c in ref_mime ref_prebuilt zoomlive; do
    prof_rows="$prof_rows| $(label $c) | ${IPR[$c]:-n/a} |"$'\n'
  done

  # per-function cost per request in zoomlive's profile: the difference of the two runs
  fnlist() {   # file inclusive(yes|no) -> "Ir<TAB>function" (file prefix and [object] dropped)
    callgrind_annotate --auto=no --threshold=100 --inclusive="$2" "$1" 2>/dev/null |
      awk '/^ *[0-9][0-9,]* / { ir = $1; gsub(",", "", ir); $1 = ""; sub(/^ *\([ 0-9.%]*\) */, "");
             sub(/^ +/, ""); print ir "\t" $0 }'
  }
  perfn() {   # inclusive(yes|no) -> "Ir/request<TAB>function", largest first
    awk -F'\t' -v n="$PROF_N" 'FNR == 1 { f++ } f == 1 { a[$2] = $1; next }
      { d = ($1 - a[$2]) / n; if (d >= 1) printf "%.0f\t%s\n", d, $2 }' \
      <(fnlist "$TMP/cg.zoomlive.0" "$1") <(fnlist "$TMP/cg.zoomlive.$PROF_N" "$1") |
      grep -v -e 'PROGRAM TOTALS' -e '<counts for unidentified' | sort -t$'\t' -k1,1nr
  }
  if [ -n "${IPR[zoomlive]:-}" ]; then
    echo "  zoomlive, top 20 functions by self instructions per request (lua5.4 and libcurl are stripped: ??? = no symbol):"
    perfn no | head -20 | awk -F'\t' '{ printf "    %8d  %s\n", $1, $2 }'
    echo "  zoomlive, inclusive instructions per request:"
    perfn yes | awk -F'\t' '{ f = $2; sub(/ \[.*\]$/, "", f); sub(/^.*:/, "", f); sub(/'"'"'[0-9]+$/, "", f)
        if (!(f in best) || $1 > best[f]) best[f] = $1 }
      END { split("lua_pcallk l_perform zl_read_spec zl_multipart_encode zl_rand_boundary zl_conn_prepare curl_easy_setopt zl_header_safe curl_easy_perform on_header zl_push_response zl_collect_fields", want, " ")
            for (i = 1; i in want; i++) if (want[i] in best) printf "    %8d  %s\n", best[want[i]], want[i] }' \
      | tee "$TMP/incl"
  fi

  # the Lua layer alone: client:update on a stub connection (bench/lua_layer.lua)
  echo "  Lua layer, no network (bench/lua_layer.lua, stub connection), instructions per call:"
  for part in update validate settings call stub; do
    v=$(ipr "lua_$part" 5000 "$LUA" "$ROOT/bench/lua_layer.lua" "$part" @N@) || { note_broken "callgrind lua_layer $part"; continue; }
    printf '    %8d  %s\n' "$v" "$part"
    prof_lua="$prof_lua| $part | $v |"$'\n'
  done

  # BENCH_PROFILE=2: what each of zoomlive's libcurl options costs (bench/ref_prebuilt.c flags)
  if [ "$PROFILE" = 2 ]; then
    echo "  libcurl option experiments (ref_prebuilt + flags), instructions per request:"
    for f in - u U m x t h p s utphs; do
      v=$(ipr "exp$f" 1000 "$BIN/ref_prebuilt" "$URLBASE$PATH_STATUS" @N@ "$WARM" "${f#-}") || continue
      printf '    %8d  %s\n' "$v" "$f"
      prof_exp="$prof_exp| $f | $v |"$'\n'
    done
  fi
fi

# ---- report -------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
echo
echo "== results ($(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, ${cpu_model:-unknown CPU}; $(curl -V | head -1 | cut -d' ' -f1-2); nginx $(nginx -v 2>&1 | sed 's/.*\///'))"
echo
echo "Sequential PATCH /v2/meetings/{id}/livestream/status (multipart: action=start, settings=$SETTINGS)"
echo "to a loopback nginx answering 204, one keep-alive connection; N=$N after $WARM warm-up"
echo "(curl CLI: $CLI_N calls; wrk: ${WRK_SECS} s); best of $ROUNDS interleaved rounds (wrk, curl CLI: best of $SLOW_ROUNDS)."
echo "Idle: $idle_state. Load average before/after the rounds: $load_before / $load_after"
echo "(CPUs shared with other work: wall-clock ratios are noisy; callgrind counts are exact)."
echo
echo "| client | req/s (best) | req/s (worst) | µs/req (best) | client CPU µs/req (min) | peak RSS MiB | zoomlive ÷ client (best req/s) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s' "$rows"
echo
echo "| target | goal | measured | verdict |"
echo "|---|---|---|---|"
echo "| zoomlive vs curl_mime C loop | >= 1.00x | ${t1% -> *} | ${t1##* } |"
echo "| zoomlive vs prebuilt-body C loop | >= 0.85x | ${t2% -> *} | ${t2##* } |"
echo "| JSON form: zoomlive vs prebuilt JSON C loop | >= 0.85x | ${tj% -> *} | ${tj##* } |"
echo "| memory: peak RSS after $MEM_N calls vs after 1,000 | <= +2 MiB | $mem_line | $mem_verdict |"
echo "| batch: 1,000 updates, 20 ms latency, concurrency 32 | <= 1.15x ideal (0.625 s) | ${lat_detail% -> *} | $lat_v |"
echo "| batch: 500 updates, sim 50/s, rate=50 | all ok, <1% 429, <= 11 s | ${rate_detail% -> *} | $rate_v |"
echo "| zoomlive start --from (1,000 rows, 10 bad), sim 30/s, --rate 30 | 990 started, 10 reported, <1% 429, <= 36.3 s | ${cli_full% -> *} | ${cli_full##* } |"
echo "| the same, SIGINT halfway | exit by SIGINT (130) <= 1 s, report lists every started ID | ${cli_sig% -> *} | ${cli_sig##* } |"
printf '%s' "$loop_rows"
[ -n "$fleet_rows" ] && echo "$fleet_rows"
if [ -n "$prof_rows" ]; then
  echo
  echo "| client (callgrind) | instructions/request |"
  echo "|---|---:|"
  printf '%s' "$prof_rows"
fi
if [ -n "$prof_lua" ]; then
  echo
  echo "| Lua layer on a stub connection (callgrind) | instructions/call |"
  echo "|---|---:|"
  printf '%s' "$prof_lua"
fi
if [ -n "$prof_exp" ]; then
  echo
  echo "| ref_prebuilt + zoomlive's options (u UA, U UA in HTTPHEADER, m no Accept/Expect, x PROXY \"\", t timeouts, h header callback, p protocols/keepalive/errbuf, s per-request setopt) | instructions/request |"
  echo "|---|---:|"
  printf '%s' "$prof_exp"
fi

if [ -n "$broken" ]; then
  echo
  echo "bench: could not run:$broken" >&2
  exit 1
fi
exit 0
