#!/usr/bin/env bash
# Batched ingest against a running perfmond: 10, 100 and 1,000 events per POST, as a JSON array
# and as NDJSON; events accepted per second (median of ROUNDS wrk runs of DURATION) and the
# server's CPU in cores during the runs. Requests refused 429 (the store not keeping up: the queue
# is full) are counted, not failed: that is the backpressure working. Prints one JSON object.
# Usage: batched.sh PORT PID
set -euo pipefail
port=$1; pid=$2
rounds=${BENCH_ROUNDS:-3}; duration=${BENCH_BATCH_DURATION:-5}; connections=${BENCH_CONNECTIONS:-64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
event='{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":812.5,"ttft_ms":140,"status_code":200,"cost_usd":0.0125,"input_tokens":1200,"output_tokens":300}'
source "$(dirname "$0")/lib.sh"
result='{}'
for size in 10 100 1000; do
    for form in array ndjson; do
        if [ "$form" = array ]; then
            { printf '['; for i in $(seq 2 "$size"); do printf '%s,' "$event"; done; printf '%s]' "$event"; } >"$work/body"
            type=application/json
        else
            for i in $(seq 1 "$size"); do printf '%s\n' "$event"; done >"$work/body"
            type=application/x-ndjson
        fi
        { echo 'wrk.method = "POST"'; echo "wrk.headers[\"Content-Type\"] = \"$type\""
          printf 'wrk.body = [==[%s]==]\n' "$(cat "$work/body")"; } >"$work/post.lua"
        rates=(); cores=(); refused=()
        for _ in $(seq 1 "$rounds"); do
            before=$(cpu_ticks "$pid")
            wrk -t2 -c"$connections" -d"${duration}s" -s "$work/post.lua" "http://127.0.0.1:$port/events" >"$work/wrk.txt" 2>&1
            after=$(cpu_ticks "$pid")
            requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
            non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt"); non2xx=${non2xx:-0}
            refused+=("$non2xx")
            rates+=("$(awk -v r="$requests" -v x="$non2xx" -v n="$size" -v d="$duration" 'BEGIN {printf "%.0f", (r - x) * n / d}')")
            cores+=("$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v d="$duration" 'BEGIN {printf "%.2f", t / hz / d}')")
        done
        echo "batched $size $form: ${rates[*]} events/s accepted, ${cores[*]} cores, ${refused[*]} requests refused 429" >&2
        result=$(jq -c --arg k "${form}_$size" --argjson r "$(printf '%s\n' "${rates[@]}" | jq -s .)" \
            --argjson e "$(median "${rates[@]}")" --argjson c "$(median "${cores[@]}")" \
            --argjson x "$(printf '%s\n' "${refused[@]}" | jq -s .)" \
            '. + {($k): {rounds_events_per_second: $r, events_per_second: $e, server_cpu_cores: $c, rounds_requests_refused_429: $x}}' <<<"$result")
    done
done
echo "$result"
