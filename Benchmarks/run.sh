#!/usr/bin/env bash
# `make bench`: perfmond (release build) against a raw C libmicrohttpd server, side by side in one
# run because this machine is shared and noisy; each figure is the median of 3 rounds, and the
# rounds alternate between the two servers. Loopback only, every load bounded in time.
# Writes bench/results/<date>.json, copies it to bench/results/latest.json, and a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ROUNDS=${BENCH_ROUNDS:-3}
RESULTS=bench/results
mkdir -p "$RESULTS"
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cc -O2 -o Benchmarks/raw-mhd-server Benchmarks/raw_mhd_server.c $(pkg-config --cflags --libs libmicrohttpd)

# start NAME COMMAND...: runs a server in the background (its PID kept for the cleanup trap).
start() {
    local name=$1; shift
    "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
}

# port_of NAME: waits for the server's "listening ... port=N" line and prints N.
port_of() {
    for _ in $(seq 1 200); do
        port=$(grep -o 'port=[0-9]*' "$work/$1.log" | head -1 | cut -d= -f2 || true)
        [ -n "$port" ] && { echo "$port"; return; }
        sleep 0.05
    done
    echo "$1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}

start raw Benchmarks/raw-mhd-server
start perfmond .build/release/perfmond --port 0
raw_port=$(port_of raw)
perfmond_port=$(port_of perfmond)

# rps URL: requests per second from one wrk run.
rps() {
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$1" >"$work/wrk.txt" 2>&1
    awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

raw=(); ours=()
for round in $(seq 1 "$ROUNDS"); do
    raw+=("$(rps "http://127.0.0.1:$raw_port/health")")
    ours+=("$(rps "http://127.0.0.1:$perfmond_port/health")")
    echo "round $round: raw C ${raw[-1]} req/s, perfmond ${ours[-1]} req/s" >&2
done
raw_median=$(median "${raw[@]}")
ours_median=$(median "${ours[@]}")
ratio=$(awk -v a="$ours_median" -v b="$raw_median" 'BEGIN {printf "%.3f", a / b}')

date=$(date -u +%Y-%m-%dT%H-%M-%SZ)
jq -n --arg date "$date" --arg duration "$DURATION" --argjson connections "$CONNECTIONS" \
    --argjson raw "$(printf '%s\n' "${raw[@]}" | jq -s .)" --argjson ours "$(printf '%s\n' "${ours[@]}" | jq -s .)" \
    --argjson raw_median "$raw_median" --argjson ours_median "$ours_median" --argjson ratio "$ratio" \
    --arg cores "$(nproc)" '{
      date: $date, machine: {cores: ($cores | tonumber)},
      single: {health_get: {tool: "wrk -t2 -c\($connections) -d\($duration)", rounds: {raw_c: $raw, perfmond: $ours},
               median_rps: {raw_c: $raw_median, perfmond: $ours_median}, ratio: $ratio, target_ratio: 0.8}}
    }' >"$RESULTS/$date.json"
cp "$RESULTS/$date.json" "$RESULTS/latest.json"
{
    echo "| measure | raw C libmicrohttpd | perfmond | ratio | target |"
    echo "|---|---|---|---|---|"
    echo "| GET /health, req/s (median of $ROUNDS) | $raw_median | $ours_median | $ratio | ≥ 0.8 |"
} | tee "$RESULTS/latest.md"
