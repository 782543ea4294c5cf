# bench/sim.sh: starting and stopping zoomlive-sim for a bench script
# (sourced by bash scripts; needs SIM and PIDS set by the caller).
#   start_sim OUT-FILE [sim args...]   sets SIM_PORT and SIM_PID
#   stop_sim
start_sim() {
  "$SIM" --port 0 --any-meeting --token x --daily 0 --start-cooldown 0 "${@:2}" >"$1" 2>"$1.err" &
  SIM_PID=$!
  PIDS="$PIDS $SIM_PID"
  local _
  for _ in $(seq 1 50); do
    SIM_PORT=$(head -1 "$1" 2>/dev/null)
    [ -n "$SIM_PORT" ] && return 0
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$1.err" >&2
  return 1
}
stop_sim() { kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; }
