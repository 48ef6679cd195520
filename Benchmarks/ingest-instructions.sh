#!/usr/bin/env bash
# Instructions per ingested event, counted by valgrind's callgrind: the same for the same binary
# and input whatever else the shared machine is doing, so a change to the ingest path can be
# compared before and after where wrk's events/s swing by ±30 %. Each binary serves POSTs of
# BATCHES × 1,000 NDJSON provider calls, then one query (which applies them), then stops; a run
# with no POSTs is subtracted, so start-up and shutdown do not count.
# Usage: ingest-instructions.sh BINARY... [BATCHES=20] [EVENT=<one JSON event>]
# (EVENT defaults to a provider call; give a labelled metric event to count that path.)
# Prints {binary: instructions per event}.
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${BATCHES:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source Tests/lib/wait-for-port.sh
event=${EVENT:-'{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":812.5,"ttft_ms":140,"status_code":200,"cost_usd":0.0125,"input_tokens":1200,"output_tokens":300}'}
for _ in $(seq 1000); do echo "$event"; done >"$work/body.ndjson"

# instructions BINARY POSTS: callgrind's total for one daemon life with POSTS batches. The binary
# runs without its debug info: Debian's valgrind 3.19 cannot read the toolchain's DWARF 5.
instructions() {
    rm -f "$work"/callgrind.out.* "$work/log"
    objcopy --strip-debug "$1" "$work/perfmond"
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" "$work/perfmond" --port 0 >"$work/log" 2>&1 &
    local pid=$! port
    # Under valgrind the start takes seconds: wait up to a minute for the listening line.
    for _ in $(seq 600); do grep -q 'port=' "$work/log" && break; sleep 0.1; done
    port=$(wait_for_port "$work/log")
    for _ in $(seq "$2"); do
        curl -fsS -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary @"$work/body.ndjson" "http://127.0.0.1:$port/events"
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$port/performance/providers"
    kill -TERM "$pid"; wait "$pid" || true
    awk '/^summary:|^totals:/ {print $2; exit}' "$work"/callgrind.out.*
}
result='{}'
for binary in "$@"; do
    idle=$(instructions "$binary" 0)
    busy=$(instructions "$binary" "$batches")
    per_event=$(awk -v b="$busy" -v i="$idle" -v n="$((batches * 1000))" 'BEGIN {printf "%.0f", (b - i) / n}')
    echo "$binary: $per_event instructions per event" >&2
    result=$(jq -c --arg k "$binary" --argjson v "$per_event" '. + {($k): $v}' <<<"$result")
done
echo "$result"
