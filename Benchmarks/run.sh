#!/usr/bin/env bash
# `make bench`: perfmond (release build) measured side by side with a raw C libmicrohttpd server
# in one run, because this machine is shared and noisy. Each rate is the median of 3 rounds and
# the rounds alternate between the servers. Loopback only; every load is bounded in time.
# Writes bench/results/<date>.json, copies it to bench/results/latest.json, and a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ROUNDS=${BENCH_ROUNDS:-3}
MEMORY_SERIES=${BENCH_MEMORY_SERIES:-10000}
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

# port_of NAME: the port the server NAME listens on (from its "listening ... port=N" line).
source Tests/lib/wait-for-port.sh
source Benchmarks/lib.sh
port_of() { wait_for_port "$work/$1.log"; }

# post_script FILE BODYFILE: a wrk Lua script POSTing the body to /events as JSON.
post_script() {
    { echo 'wrk.method = "POST"'; echo 'wrk.headers["Content-Type"] = "application/json"'
      printf 'wrk.body = [==[%s]==]\n' "$(cat "$2")"; } >"$1"
}

# rps URL [SCRIPT]: requests per second from one wrk run; fails if any answer was not 2xx.
rps() {
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" ${2:+-s "$2"} "$1" >"$work/wrk.txt" 2>&1
    if grep -q "Non-2xx" "$work/wrk.txt"; then cat "$work/wrk.txt" >&2; echo "non-2xx answers" >&2; exit 1; fi
    awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }
# cpu_per_request PID TICKS_BEFORE RPS: the server's CPU time per request, in µs, over the last wrk run.
# Steadier than requests/s on a shared machine: it does not move with what else gets the cores.
cpu_per_request() {
    awk -v t="$(( $(cpu_ticks "$1") - $2 ))" -v hz="$(getconf CLK_TCK)" -v r="$3" -v d="${DURATION%s}" \
        'BEGIN {printf "%.2f", (r > 0 ? t / hz / (r * d) * 1e6 : 0)}'
}
json_array() { printf '%s\n' "$@" | jq -s .; }

start raw Benchmarks/raw-mhd-server
start perfmond .build/release/perfmond --port 0
raw_port=$(port_of raw)
perfmond_port=$(port_of perfmond)
raw_pid=${pids[0]}
perfmond_pid=${pids[1]}

# Bodies: one event, and 100 events in an array.
event='{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":812.5,"ttft_ms":140,"status_code":200,"cost_usd":0.0125,"input_tokens":1200,"output_tokens":300}'
echo "$event" >"$work/one.json"
{ printf '['; for i in $(seq 1 99); do printf '%s,' "$event"; done; printf '%s]' "$event"; } >"$work/batch100.json"
post_script "$work/one.lua" "$work/one.json"
post_script "$work/batch100.lua" "$work/batch100.json"

health_raw=(); health_ours=(); post_raw=(); post_ours=(); post_raw_cpu=(); post_ours_cpu=(); batch=(); cpu=()
for round in $(seq 1 "$ROUNDS"); do
    health_raw+=("$(rps "http://127.0.0.1:$raw_port/health")")
    health_ours+=("$(rps "http://127.0.0.1:$perfmond_port/health")")
    ticks=$(cpu_ticks "$raw_pid")
    post_raw+=("$(rps "http://127.0.0.1:$raw_port/events" "$work/one.lua")")
    post_raw_cpu+=("$(cpu_per_request "$raw_pid" "$ticks" "${post_raw[-1]}")")
    ticks=$(cpu_ticks "$perfmond_pid")
    post_ours+=("$(rps "http://127.0.0.1:$perfmond_port/events" "$work/one.lua")")
    post_ours_cpu+=("$(cpu_per_request "$perfmond_pid" "$ticks" "${post_ours[-1]}")")
    ticks_before=$(cpu_ticks "$perfmond_pid")
    batch+=("$(rps "http://127.0.0.1:$perfmond_port/events" "$work/batch100.lua")")
    ticks_after=$(cpu_ticks "$perfmond_pid")
    cpu+=("$(awk -v t="$((ticks_after - ticks_before))" -v hz="$(getconf CLK_TCK)" -v d="${DURATION%s}" 'BEGIN {printf "%.2f", t / hz / d}')")
    echo "round $round: health raw ${health_raw[-1]} / perfmond ${health_ours[-1]} req/s;" \
         "single POST raw ${post_raw[-1]} / perfmond ${post_ours[-1]} req/s" \
         "(${post_raw_cpu[-1]} / ${post_ours_cpu[-1]} µs CPU a request); batch100 ${batch[-1]} req/s" >&2
done
# Batched ingest matrix: 10 / 100 / 1,000 events per POST, array and NDJSON.
batched_json=$(Benchmarks/batched.sh "$perfmond_port" "$perfmond_pid")

kill "$perfmond_pid"; wait "$perfmond_pid" 2>/dev/null || true

# Percentile accuracy over 1,000,000 log-normal durations, against exact values computed by the script.
start accuracy .build/release/perfmond --port 0
accuracy_json=$(Benchmarks/accuracy.py "$(port_of accuracy)" "${BENCH_ACCURACY_VALUES:-1000000}")
echo "accuracy: $accuracy_json" >&2
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# Cardinality attack: 1,000,000 distinct model names under one provider.
start cardinality .build/release/perfmond --port 0
cardinality_json=$(Benchmarks/cardinality.py "$(port_of cardinality)" "${pids[-1]}" "${BENCH_ATTACK_EVENTS:-1000000}")
echo "cardinality: $cardinality_json" >&2
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# Memory: RSS growth over MEMORY_SERIES provider x model series fed two events each (24 h retention,
# recent_events 0 so that the raw-event ring, a fixed cost, is not counted per series).
PERFMOND_RECENT_EVENTS=0 PERFMOND_MAX_MODELS_PER_PROVIDER=100000 start memory .build/release/perfmond --port 0
memory_port=$(port_of memory)
memory_pid=${pids[-1]}
sleep 0.5
rss_before=$(rss_kib "$memory_pid")
Benchmarks/load-series.py "$memory_port" "$MEMORY_SERIES" 2
sleep 1
rss_after=$(rss_kib "$memory_pid")
bytes_per_series=$(( (rss_after - rss_before) * 1024 / MEMORY_SERIES ))

kill "$memory_pid"; wait "$memory_pid" 2>/dev/null || true

# Queries under load: p99 of /performance/providers and /performance/real-time over 1,000
# provider x model series while batched ingest runs at about half the maximum measured above
# (paced with wrk's delay(): each connection sends one 100-event POST every 10 ms).
start queries .build/release/perfmond --port 0
queries_port=$(port_of queries)
queries_pid=${pids[-1]}
Benchmarks/load-series.py "$queries_port" 1000 2 10
B_RPS_NOW=$(median "${batch[@]}")
paced_connections=$(awk -v r="$B_RPS_NOW" 'BEGIN {c = int(r / 2 / 100 + 0.5); print (c < 1 ? 1 : c)}')
{ cat "$work/batch100.lua"; echo 'function delay() return 10 end'; } >"$work/paced.lua"
wrk -t1 -c"$paced_connections" -d"$(( ${DURATION%s} * 2 + 4 ))s" -s "$work/paced.lua" "http://127.0.0.1:$queries_port/events" >"$work/paced.txt" 2>&1 &
paced_pid=$!
sleep 2
# p99 PATH: the 99th percentile latency in ms of one sequential client.
p99() {
    wrk -t1 -c1 -d"$DURATION" --latency "http://127.0.0.1:$queries_port$1" >"$work/query.txt" 2>&1
    awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}' "$work/query.txt"
}
P99_PROVIDERS=$(p99 /performance/providers)
P99_REALTIME=$(p99 /performance/real-time)
wait "$paced_pid" || true
PACED_RPS=$(awk '/Requests\/sec/ {print $2}' "$work/paced.txt")
PACED_EVENTS=$(awk -v r="$PACED_RPS" 'BEGIN {printf "%.0f", r * 100}')
echo "queries: p99 providers ${P99_PROVIDERS} ms, real-time ${P99_REALTIME} ms, under ${PACED_EVENTS} events/s" >&2

kill "$queries_pid"; wait "$queries_pid" 2>/dev/null || true

# /metrics: median time to render and serve, plain and gzip (one sequential client, so each figure
# is one scrape's latency), at 286 provider x model pairs (about 10,000 samples: the unit of
# Prometheus "series" in the Pushgateway comparison) and at 1,000 / 10,000 / 100,000 pairs
# (about 35 samples each: two histograms and their counters).
metrics_json="{}"
for series in ${BENCH_METRICS_SERIES:-286 1000 10000 100000}; do
    PERFMOND_MAX_PROVIDERS=1000 PERFMOND_MAX_MODELS_PER_PROVIDER=100000 PERFMOND_RECENT_EVENTS=0 \
        start "metrics$series" .build/release/perfmond --port 0
    metrics_port=$(port_of "metrics$series")
    metrics_pid=${pids[-1]}
    Benchmarks/load-series.py "$metrics_port" "$series"
    bytes=$(curl -s "http://127.0.0.1:$metrics_port/metrics" | wc -c)
    lines=$(curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -vc '^#')
    median_ms() {
        wrk -t1 -c1 -d"$DURATION" --timeout 60s --latency "$@" >"$work/metrics.txt" 2>&1
        awk '$1 == "50%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}' "$work/metrics.txt"
    }
    plain=$(median_ms "http://127.0.0.1:$metrics_port/metrics")
    gzip=$(median_ms -H "Accept-Encoding: gzip" "http://127.0.0.1:$metrics_port/metrics")
    echo "metrics: $series series, $lines samples, $bytes bytes: plain $plain ms, gzip $gzip ms" >&2
    metrics_json=$(jq -c --arg n "$series" --argjson b "$bytes" --argjson l "$lines" --argjson p "$plain" --argjson g "$gzip" \
        '. + {($n): {provider_model_series: ($n | tonumber), samples: $l, bytes: $b, median_ms_plain: $p, median_ms_gzip: $g}}' <<<"$metrics_json")
    kill "$metrics_pid"; wait "$metrics_pid" 2>/dev/null || true
done

# The periodic work (roll-up, pruning, memory sample, alert evaluation) at 10,000 series, idle.
idle_json=$(Benchmarks/idle-cost.sh .build/release/perfmond 10000 "${BENCH_IDLE_SECONDS:-30}")
echo "idle: $idle_json" >&2

# /metrics against the Prometheus Pushgateway holding the same samples.
pushgateway_json=$(Benchmarks/pushgateway.sh .build/release/perfmond 286 1000 10000)

# Custom metrics: labelled metric ingest beside provider events, memory per labelled series,
# /metrics at 10,000 labelled histograms.
custom_json=$(Benchmarks/custom-metrics.py .build/release/perfmond "$ROUNDS" "${BENCH_BATCH_DURATION:-5}")
echo "custom metrics: $custom_json" >&2

# POST /ingest/litellm: LiteLLM batches of 512 payloads beside the raw server discarding the same bodies.
litellm_json=$(Benchmarks/litellm.py .build/release/perfmond Benchmarks/raw-mhd-server "$ROUNDS" "${BENCH_BATCH_DURATION:-5}")
echo "litellm: $litellm_json" >&2

# StatsD: datagrams of 20 lines into perfmond beside a raw C recvmmsg sink that only counts them.
statsd_json=$(Benchmarks/statsd.py .build/release/perfmond "$ROUNDS" "${BENCH_STATSD_SECONDS:-5}")
echo "statsd: $statsd_json" >&2

# OTLP/HTTP: protobuf requests of 1,000 GenAI spans and of 1,000 histogram points beside the same
# calls as JSON events to /events, and the raw server discarding the span bodies.
otlp_json=$(Benchmarks/otlp.py .build/release/perfmond Benchmarks/raw-mhd-server "$ROUNDS" "${BENCH_BATCH_DURATION:-5}")
echo "otlp: $otlp_json" >&2

# The fleet view: /metrics in the protobuf exposition beside text at 1,000 / 10,000 pairs, memory per
# pair at 2 and at 10,000 log-normal events, remote write at 10,000 pairs into the raw server.
fleet_json=$(Benchmarks/fleet.py .build/release/perfmond Benchmarks/raw-mhd-server ${BENCH_FLEET_BEFORE:+--before "$BENCH_FLEET_BEFORE"})
echo "fleet: $fleet_json" >&2

# Persistence: snapshot size and write time, SIGTERM to exit, restart to ready, at 10,000 series.
snapshot_json=$(Benchmarks/snapshot-cost.sh .build/release/perfmond 10000)
echo "snapshot: $snapshot_json" >&2

H_RAW=$(median "${health_raw[@]}"); H_OURS=$(median "${health_ours[@]}")
P_RAW=$(median "${post_raw[@]}"); P_OURS=$(median "${post_ours[@]}")
PC_RAW=$(median "${post_raw_cpu[@]}"); PC_OURS=$(median "${post_ours_cpu[@]}")
B_RPS=$(median "${batch[@]}"); B_EVENTS=$(awk -v r="$B_RPS" 'BEGIN {printf "%.0f", r * 100}')
B_CPU=$(median "${cpu[@]}")
date=$(date -u +%Y-%m-%dT%H-%M-%SZ)
jq -n --arg date "$date" --arg tool "wrk -t2 -c$CONNECTIONS -d$DURATION" --argjson cores "$(nproc)" \
    --argjson hr "$(json_array "${health_raw[@]}")" --argjson ho "$(json_array "${health_ours[@]}")" \
    --argjson pr "$(json_array "${post_raw[@]}")" --argjson po "$(json_array "${post_ours[@]}")" \
    --argjson br "$(json_array "${batch[@]}")" --argjson bc "$(json_array "${cpu[@]}")" \
    --argjson HR "$H_RAW" --argjson HO "$H_OURS" --argjson PR "$P_RAW" --argjson PO "$P_OURS" \
    --argjson pcr "$(json_array "${post_raw_cpu[@]}")" --argjson pco "$(json_array "${post_ours_cpu[@]}")" \
    --argjson PCR "$PC_RAW" --argjson PCO "$PC_OURS" \
    --argjson BR "$B_RPS" --argjson BE "$B_EVENTS" --argjson BC "$B_CPU" \
    --argjson series "$MEMORY_SERIES" --argjson before "$rss_before" --argjson after "$rss_after" --argjson per "$bytes_per_series" \
    --argjson qp "$P99_PROVIDERS" --argjson qr "$P99_REALTIME" --argjson qe "$PACED_EVENTS" --argjson metrics "$metrics_json" --argjson idle "$idle_json" \
    --argjson snapshot "$snapshot_json" --argjson batchedm "$batched_json" --argjson accuracy "$accuracy_json" \
    --argjson cardinality "$cardinality_json" --argjson pushgateway "$pushgateway_json" --argjson custom "$custom_json" \
    --argjson litellm "$litellm_json" --argjson statsd "$statsd_json" --argjson otlp "$otlp_json" --argjson fleet "$fleet_json" '{
      date: $date, machine: {cores: $cores}, tool: $tool,
      single: {
        health_get: {rounds: {raw_c: $hr, perfmond: $ho}, median_rps: {raw_c: $HR, perfmond: $HO}, ratio: ($HO / $HR), target_ratio: 0.8},
        event_post: {rounds: {raw_c: $pr, perfmond: $po}, median_rps: {raw_c: $PR, perfmond: $PO}, ratio: ($PO / $PR), target_ratio: 0.6, goal_ratio: 0.8,
                     server_cpu_us_per_request: {rounds: {raw_c: $pcr, perfmond: $pco}, median: {raw_c: $PCR, perfmond: $PCO}, ratio_raw_to_perfmond: ($PCR / $PCO)}}
      },
      batched: ({array_100_10s: {rounds_rps: $br, median_rps: $BR, events_per_second: $BE, server_cpu_cores: $BC}} + $batchedm
                + {target_events_per_second: 1000000}),
      accuracy: $accuracy,
      cardinality_attack: $cardinality,
      memory: {provider_model_series: $series, events_per_series: 2, retention: "24h", rss_before_kib: $before, rss_after_kib: $after,
               bytes_per_series: $per, target_bytes_per_series: 4096},
      queries: {provider_model_series: 1000, ingest_events_per_second_during: $qe, p99_ms: {providers: $qp, real_time: $qr}, target_p99_ms: 10},
      metrics: ($metrics + {target_ms_plain_at_10000: 5, pushgateway_comparison: $pushgateway}),
      periodic_work: $idle,
      persistence: $snapshot,
      custom_metrics: $custom,
      litellm: ($litellm + {target_payloads_per_second_small: 50000, target_ratio_to_discard_large: 0.5, target_rss_above_mib: 16}),
      statsd: ($statsd + {target_ratio_to_sink: 0.8, goal_lines_per_second: 2000000}),
      otlp: $otlp,
      fleet: ($fleet + {target_protobuf_time_vs_text: 1, target_bytes_per_pair_at_2_events: 4096})
    }' >"$RESULTS/$date.json"
cp "$RESULTS/$date.json" "$RESULTS/latest.json"
{
    echo "| measure | raw C libmicrohttpd | perfmond | ratio or figure | target |"
    echo "|---|---|---|---|---|"
    echo "| GET /health, req/s | $H_RAW | $H_OURS | $(ratio "$H_OURS" "$H_RAW") | ≥ 0.8 |"
    echo "| single-event POST /events, req/s | $P_RAW | $P_OURS | $(ratio "$P_OURS" "$P_RAW") | ≥ 0.6 (goal 0.8) |"
    echo "| single-event POST /events, server CPU µs a request | $PC_RAW | $PC_OURS | $(ratio "$PC_RAW" "$PC_OURS") (raw ÷ perfmond) | |"
    echo "| batched POST, 100 events each (array, 10 s) | – | $B_RPS req/s | $B_EVENTS events/s, server CPU $B_CPU cores | ≥ 1,000,000 events/s |"
    for k in array_10 ndjson_10 array_100 ndjson_100 array_1000 ndjson_1000; do
        echo "| batched POST, ${k/_/ × } events | – | $(jq -r --arg k "$k" '.[$k].events_per_second' <<<"$batched_json") events/s accepted | server CPU $(jq -r --arg k "$k" '.[$k].server_cpu_cores' <<<"$batched_json") cores; 429s per round: $(jq -r --arg k "$k" '.[$k].rounds_requests_refused_429 | map(tostring) | join("/")' <<<"$batched_json") | ≥ 1,000,000 events/s |"
    done
    for n in 1000 10000; do
        echo "| /metrics at $n pairs: protobuf (native + classic) vs text, median ms / bytes | text $(jq -r --arg n "$n" '.exposition[$n].text | "\(.median_ms) ms / \(.bytes) B"' <<<"$fleet_json") | $(jq -r --arg n "$n" '.exposition[$n].protobuf | "\(.median_ms) ms / \(.bytes) B"' <<<"$fleet_json") | $(jq -r --arg n "$n" '.exposition[$n] | "\(.protobuf_time_vs_text)× time, \(.protobuf_bytes_vs_text)× bytes"' <<<"$fleet_json") | ≤ 1× time, < 1× bytes |"
    done
    echo "| memory per pair, 2 events / 10,000 log-normal events | – | $(jq -r '.memory.after | "\(.["2_events"].bytes_per_pair) B / \(.["10000_lognormal_events"].bytes_per_pair) B"' <<<"$fleet_json") | | ≤ 4096 B at 2 events |"
    echo "| remote write at 10,000 pairs (1 s interval) into the raw server | – | $(jq -r '.remote_write.samples_per_second' <<<"$fleet_json") samples/s | $(jq -r '.remote_write.cpu_microseconds_per_sample' <<<"$fleet_json") µs CPU a sample | |"
    echo "| percentiles over $(jq -r .values <<<"$accuracy_json") log-normal values: relative error p50 / p95 / p99 | – | $(jq -r '[.p50, .p95, .p99] | map(.relative_error * 100 | . * 1000 | round / 1000 | tostring + " %") | join(" / ")' <<<"$accuracy_json") | exact vs perfmond | ≤ 1 % |"
    echo "| cardinality attack: $(jq -r .distinct_models_sent <<<"$cardinality_json") distinct models | – | $(jq -r .models_kept <<<"$cardinality_json") kept, $(jq -r .folded_events <<<"$cardinality_json") folded (match: $(jq -r .fold_counts_match <<<"$cardinality_json")) | RSS +$(jq -r .rss_growth_kib <<<"$cardinality_json") KiB | bounded by the limits |"
    echo "| idle, nothing stored: CPU, RSS | – | $(jq -r .empty_cpu_percent_of_one_core <<<"$idle_json") % of a core | RSS $(jq -r .idle_rss_kib_at_start <<<"$idle_json") KiB, of which private $(jq -r .idle_anonymous_kib <<<"$idle_json") KiB | ≤ 0.5 %, ≤ 16,384 KiB |"
    echo "| memory per provider × model series (2 events, 24 h) | – | $bytes_per_series B | RSS $rss_before → $rss_after KiB over $MEMORY_SERIES series | ≤ 4096 B |"
    echo "| labelled metric events (5 labels, 1,000 series) beside provider events, batches of 100 | – | $(jq -r '.ingest.labelled_metric_events_per_second' <<<"$custom_json") vs $(jq -r '.ingest.provider_events_per_second' <<<"$custom_json") events/s | $(jq -r '.ingest.ratio' <<<"$custom_json") | ≥ 0.8 |"
    echo "| memory per labelled counter / histogram series (2 events, 24 h) | – | $(jq -r '.memory_counter.bytes_per_series' <<<"$custom_json") / $(jq -r '.memory_histogram.bytes_per_series' <<<"$custom_json") B | over 10,000 series | ≤ 1024 / 4096 B |"
    echo "| POST /ingest/litellm, 512 × $(jq -r '.small.payload_bytes' <<<"$litellm_json") B payloads | $(jq -r '.small.discard_mb_per_second' <<<"$litellm_json") MB/s discarded | $(jq -r '.small.payloads_per_second' <<<"$litellm_json") payloads/s ($(jq -r '.small.mb_per_second' <<<"$litellm_json") MB/s) | $(jq -r '.small.ratio_to_discard' <<<"$litellm_json") | ≥ 50,000 payloads/s |"
    echo "| POST /ingest/litellm, 512 × $(jq -r '.large.payload_bytes' <<<"$litellm_json") B payloads | $(jq -r '.large.discard_mb_per_second' <<<"$litellm_json") MB/s discarded | $(jq -r '.large.payloads_per_second' <<<"$litellm_json") payloads/s ($(jq -r '.large.mb_per_second' <<<"$litellm_json") MB/s) | $(jq -r '.large.ratio_to_discard' <<<"$litellm_json") | ≥ 0.5 |"
    echo "| RSS during a 50 MB LiteLLM batch | – | +$(jq -r '.rss_during_50mb_batch.above_before_mib' <<<"$litellm_json") MiB | $(jq -r '.rss_during_50mb_batch.before_kib' <<<"$litellm_json") KiB before | ≤ 16 MiB above |"
    for mode in udp tcp; do
        echo "| StatsD over ${mode^^}, datagrams of 20 lines, lines/s (kernel drops, datagrams) | $(jq -r --arg m "$mode" '.[$m] | "\(.sink_lines_per_second) (\(.sink_drops_datagrams))"' <<<"$statsd_json") | $(jq -r --arg m "$mode" '.[$m] | "\(.perfmond_lines_per_second) (\(.perfmond_drops_datagrams))"' <<<"$statsd_json") | $(jq -r --arg m "$mode" '.[$m].ratio_to_sink' <<<"$statsd_json") | ≥ 0.8 (goal 2,000,000 lines/s) |"
    done
    echo "| StatsD paced at 2,000,000 lines/s: counted of sent (drops) | – | $(jq -r '.udp.paced_at_2m | "\(.counted) of \(.sent) (\(.drops_datagrams))"' <<<"$statsd_json") | | no drops |"
    echo "| StatsD paced at 0.8 × the sink: counted of sent (drops) | – | $(jq -r '.udp.paced_at_0_8_sink | "\(.counted) of \(.sent) (\(.drops_datagrams))"' <<<"$statsd_json") | | no drops |"
    echo "| OTLP/HTTP protobuf, 1,000 GenAI spans a request: spans/s (server CPU µs a span) | $(jq -r '.raw_floor_spans_per_second' <<<"$otlp_json") discarded | $(jq -r '"\(.spans_per_second) (\(.span_cpu_us))"' <<<"$otlp_json") | $(jq -r '.spans_vs_json_events' <<<"$otlp_json") × JSON events ($(jq -r '"\(.json_events_per_second) (\(.json_event_cpu_us))"' <<<"$otlp_json")) | ≥ 1,000,000 spans/s, ≥ 1.0× |"
    echo "| OTLP/HTTP protobuf, 1,000 histogram points a request (4 buckets each): points/s (server CPU µs a point) | – | $(jq -r '"\(.histogram_points_per_second) (\(.histogram_point_cpu_us))"' <<<"$otlp_json") | | |"
    echo "| /metrics at 10,000 labelled histogram series | – | $(jq -r '.metrics_at_10000_labelled_histograms.median_ms' <<<"$custom_json") ms | $(jq -r '.metrics_at_10000_labelled_histograms.bytes' <<<"$custom_json") bytes | |"
    echo "| p99 /performance/providers, 1,000 series, under $PACED_EVENTS events/s | – | $P99_PROVIDERS ms | | ≤ 10 ms |"
    echo "| p99 /performance/real-time, same load | – | $P99_REALTIME ms | | ≤ 10 ms |"
    echo "| periodic work (roll-up, pruning, sampling, alerts) at 10,000 series, idle | – | $(jq -r .cpu_percent_of_one_core <<<"$idle_json") % of a core | idle RSS $(jq -r .idle_rss_kib_at_start <<<"$idle_json") KiB | < 1 % |"
    for n in $(jq -r 'keys[]' <<<"$pushgateway_json" | sort -n); do
        echo "| /metrics vs Pushgateway, same $(jq -r --arg n "$n" '.[$n].samples' <<<"$pushgateway_json") samples, median scrape ms (curl) | Pushgateway $(jq -r --arg n "$n" '.[$n].median_scrape_ms.pushgateway' <<<"$pushgateway_json") | $(jq -r --arg n "$n" '.[$n].median_scrape_ms.perfmond' <<<"$pushgateway_json") | $(jq -r --arg n "$n" '.[$n].median_scrape_ms | (.pushgateway / .perfmond * 10 | round / 10 | tostring) + "× faster"' <<<"$pushgateway_json") | ahead of the Pushgateway |"
    done
    echo "| snapshot of 10,000 series: size, write, SIGTERM to exit, restart to ready | – | $(jq -r .snapshot_bytes <<<"$snapshot_json") B, $(jq -r '.write_ms | floor' <<<"$snapshot_json") ms | exit $(jq -r .sigterm_to_exit_ms <<<"$snapshot_json") ms, ready $(jq -r .restart_to_ready_ms <<<"$snapshot_json") ms | exit ≤ 5 s |"
    for n in $(jq -r 'keys[]' <<<"$metrics_json" | sort -n); do
        echo "| /metrics at $n provider × model series ($(jq -r --arg n "$n" '.[$n].samples' <<<"$metrics_json") samples), median ms plain / gzip | – | $(jq -r --arg n "$n" '.[$n].median_ms_plain' <<<"$metrics_json") / $(jq -r --arg n "$n" '.[$n].median_ms_gzip' <<<"$metrics_json") | $(jq -r --arg n "$n" '.[$n].bytes' <<<"$metrics_json") bytes | 10,000 series ≤ 5 ms plain |"
    done
    echo
    echo "Medians of $ROUNDS rounds, $(nproc) cores, $date."
} | tee "$RESULTS/latest.md"
