#!/usr/bin/env bash
# The cost of perfmond's timer work — window roll-up, pruning, the memory sample and the alert
# evaluation, every collection interval — with 10,000 provider x model series and the default
# thresholds, and no traffic: CPU used over an idle period, as a percent of one core. Also the idle
# RSS. Prints one JSON object. Usage: idle-cost.sh BINARY [SERIES] [SECONDS]
set -euo pipefail
binary=$1; series=${2:-10000}; seconds=${3:-30}
log=$(mktemp)
PERFMOND_MAX_MODELS_PER_PROVIDER=100000 PERFMOND_RECENT_EVENTS=0 "$binary" --port 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
source "$(dirname "$0")/../Tests/lib/wait-for-port.sh"
source "$(dirname "$0")/lib.sh"
port=$(wait_for_port "$log")
idle_rss_kib=$(rss_kib "$pid")
# Of which private (anonymous) memory; the rest is shared library text, shared and reclaimable.
idle_anon_kib=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")
# Idle with nothing stored: the daemon's floor.
empty_seconds=$(( seconds / 3 > 5 ? seconds / 3 : 5 ))
before=$(cpu_ticks "$pid"); sleep "$empty_seconds"; after=$(cpu_ticks "$pid")
empty_ticks=$((after - before))
"$(dirname "$0")/load-series.py" "$port" "$series"
sleep 6  # let one maintenance tick pass after the load
before=$(cpu_ticks "$pid"); sleep "$seconds"; after=$(cpu_ticks "$pid")
loaded_rss_kib=$(rss_kib "$pid")
awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v s="$seconds" -v n="$series" -v i="$idle_rss_kib" -v l="$loaded_rss_kib" \
    -v e="$empty_ticks" -v es="$empty_seconds" -v a="$idle_anon_kib" \
    'BEGIN {printf "{\"series\": %d, \"seconds\": %d, \"cpu_percent_of_one_core\": %.3f, \"target_percent\": 1, \"idle_rss_kib_at_start\": %d, \"rss_kib_with_series\": %d, \"empty_cpu_percent_of_one_core\": %.3f, \"empty_target_percent\": 0.5, \"idle_rss_target_kib\": 16384, \"idle_anonymous_kib\": %d}\n", n, s, t / hz / s * 100, i, l, e / hz / es * 100, a}'
