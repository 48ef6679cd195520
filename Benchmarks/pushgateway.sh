#!/usr/bin/env bash
# /metrics side by side with the Prometheus Pushgateway holding the same samples: for each size,
# a perfmond is fed PAIRS provider x model pairs, its /metrics text is pushed to a Pushgateway
# as it is, and both are scraped 15 times (median and RSS reported). Prints one JSON object.
# Usage: pushgateway.sh PERFMOND_BINARY [PAIRS...]
set -euo pipefail
binary=$1; shift
sizes=("${@:-286 1000}")
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; rm -rf "$work"; true' EXIT
source "$(dirname "$0")/../Tests/lib/wait-for-port.sh"
gateway=$(command -v prometheus-pushgateway || true)
[ -n "$gateway" ] || { echo '{"skipped": "prometheus-pushgateway is not installed"}'; exit 0; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
source "$(dirname "$0")/lib.sh"
median_ms() {  # URL: median of 15 scrapes, in ms
    for _ in $(seq 15); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[8] * 1000}'
}
result='{}'
for pairs in "${sizes[@]}"; do
    PERFMOND_MAX_MODELS_PER_PROVIDER=100000 PERFMOND_RECENT_EVENTS=0 "$binary" --port 0 >"$work/perfmond.log" 2>&1 &
    perfmond_pid=$!; pids+=("$perfmond_pid")
    perfmond_port=$(wait_for_port "$work/perfmond.log")
    "$(dirname "$0")/load-series.py" "$perfmond_port" "$pairs" 2
    curl -fsS "http://127.0.0.1:$perfmond_port/metrics" >"$work/metrics.txt"
    samples=$(grep -vc '^#' "$work/metrics.txt")

    gateway_port=$(free_port)
    "$gateway" --web.listen-address="127.0.0.1:$gateway_port" >"$work/gateway.log" 2>&1 &
    gateway_pid=$!; pids+=("$gateway_pid")
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$gateway_port/-/ready" && break; sleep 0.1; done
    # The Pushgateway refuses process_* families and ones it adds itself: push perfmond's own families.
    awk '/^# (HELP|TYPE) process_/ {next} /^process_/ {next} {print}' "$work/metrics.txt" >"$work/push.txt"
    curl -fsS --data-binary @"$work/push.txt" "http://127.0.0.1:$gateway_port/metrics/job/perfmond_bench" \
        || { echo "push refused" >&2; exit 1; }
    ours=$(median_ms "http://127.0.0.1:$perfmond_port/metrics")
    theirs=$(median_ms "http://127.0.0.1:$gateway_port/metrics")
    echo "pushgateway comparison at $pairs pairs ($samples samples): perfmond $ours ms, Pushgateway $theirs ms" >&2
    result=$(jq -c --arg k "$pairs" --argjson s "$samples" --argjson o "$ours" --argjson t "$theirs" \
        --argjson ro "$(rss_kib "$perfmond_pid")" --argjson rt "$(rss_kib "$gateway_pid")" \
        '. + {($k): {samples: $s, median_scrape_ms: {perfmond: $o, pushgateway: $t}, rss_kib: {perfmond: $ro, pushgateway: $rt}}}' <<<"$result")
    kill "$perfmond_pid" "$gateway_pid"; wait "$perfmond_pid" "$gateway_pid" 2>/dev/null || true
    pids=()
done
echo "$result"
