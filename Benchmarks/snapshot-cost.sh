#!/usr/bin/env bash
# What persistence costs with SERIES provider x model series (two events each, 24 h retention):
# the snapshot's size and write time (read from /performance/memory), the time a SIGTERM takes to
# drain and write it, and the time a restart takes until /ready answers 200 (the restore).
# Prints one JSON object. Usage: snapshot-cost.sh BINARY [SERIES]
set -euo pipefail
binary=$1; series=${2:-10000}
work=$(mktemp -d)
pid=""
# The trap only cleans up: it must not change the script's exit status.
trap 'status=$?; [ -n "$pid" ] && { kill -9 $pid; wait $pid; } 2>/dev/null; rm -rf "$work"; exit $status' EXIT
source "$(dirname "$0")/../Tests/lib/wait-for-port.sh"
now_ms() { date +%s%3N; }
run() {
    PERFMOND_MAX_MODELS_PER_PROVIDER=100000 PERFMOND_RECENT_EVENTS=0 PERFMOND_STATE_FILE="$work/state.bin" \
        PERFMOND_SNAPSHOT_INTERVAL=1s "$binary" --port 0 2>"$1" &
    pid=$!
}

run "$work/first.log"
port=$(wait_for_port "$work/first.log")
"$(dirname "$0")/load-series.py" "$port" "$series" 2
loaded=$(date +%s)
for _ in $(seq 200); do
    last=$(curl -fsS "http://127.0.0.1:$port/performance/memory" | jq '.persistence.last_write // 0')
    awk -v l="$last" -v t="$loaded" 'BEGIN {exit !(l > t)}' && break
    sleep 0.1
done
persistence=$(curl -fsS "http://127.0.0.1:$port/performance/memory" | jq -c .persistence)
start=$(now_ms); kill -TERM "$pid"; wait "$pid" || true; stop_ms=$(( $(now_ms) - start ))
pid=""

start=$(now_ms)
run "$work/second.log"
port=$(wait_for_port "$work/second.log")
until curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do sleep 0.005; done
ready_ms=$(( $(now_ms) - start ))
restored=$(curl -fsS "http://127.0.0.1:$port/performance/memory" | jq .persistence.restored_series)
restore_ms=$(grep -o 'milliseconds=[0-9]*' "$work/second.log" | head -1 | cut -d= -f2)
kill -TERM "$pid"; wait "$pid" || true
pid=""
jq -n --argjson series "$series" --argjson p "$persistence" --argjson stop "$stop_ms" --argjson ready "$ready_ms" \
    --argjson restored "$restored" --argjson restore "${restore_ms:-0}" '{
      provider_model_series: $series, snapshot_bytes: $p.last_write_bytes, write_ms: ($p.last_write_seconds * 1000),
      sigterm_to_exit_ms: $stop, restart_to_ready_ms: $ready, restore_ms: $restore, restored_series: $restored
    }'
