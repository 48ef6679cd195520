#!/usr/bin/env bash
# The operator's views, for real: a daemon fed by `perfmond loadgen`, the /dashboard page loaded in
# headless Chromium (screenshot kept in .build/ui/, DOM checked against the JSON API, no page
# errors, and the page across a daemon restart), `perfmond top` under tmux (shows the providers, components, caches and the top recommendations, updates, quits on q), and `perfmond
# send` against a full queue (retries until everything is accepted).
set -euo pipefail
cd "$(dirname "$0")/../.."
. Tests/lib/wait-for-port.sh

binary=${PERFMOND_BINARY:-.build/debug/perfmond}
out=.build/ui
mkdir -p "$out"
scratch=$(mktemp -d)
pids=()
session="perfmond-top-$$"
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    tmux kill-session -t "$session" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "ui-test: FAIL: $*" >&2; exit 1; }

"$binary" --port 0 >"$scratch/daemon.log" 2>&1 &
pids+=($!)
port=$(wait_for_port "$scratch/daemon.log")
url="http://127.0.0.1:$port"

"$binary" loadgen --url "$url" --rate 300 --duration 3s --seed 7 | tee "$scratch/loadgen.txt"
grep -q "refused 0" "$scratch/loadgen.txt" || fail "loadgen lost events: $(cat "$scratch/loadgen.txt")"
# Components and a cache as seed 000 and 004 have them (loadgen sends provider calls and requests).
printf '%s\n' '{"type":"operation","component":"rust_routing","operation":"route","duration_ms":4}' \
    '{"type":"operation","component":"rust_routing","operation":"route","duration_ms":6}' \
    '{"type":"cache_hit","component":"semantic_cache","access_time_ms":1}' '{"type":"cache_miss","component":"semantic_cache","access_time_ms":100}' |
    curl -fsS -H 'Content-Type: application/x-ndjson' --data-binary @- "$url/events" >/dev/null || fail "could not post components and caches"

# --- The dashboard in headless Chromium --------------------------------------------------------
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || fail "chromium is not installed (make test-deps installs it)"
browse() {
    timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$scratch/chromium" --window-size=1280,800 --virtual-time-budget=4000 \
        --enable-logging=stderr --v=0 "$@" 2>>"$scratch/chromium.log"
}
browse --screenshot="$out/dashboard.png" "$url/dashboard" >/dev/null
[ -s "$out/dashboard.png" ] || fail "no screenshot"
browse --dump-dom "$url/dashboard" >"$scratch/dom.html"
json=$(curl -fsS -H 'Accept: application/json' "$url/dashboard")
# Every provider/model of the API is in the page, with its call count.
for row in $(jq -r '.providers[] | "\(.provider) / \(.model)|\(.calls)"' <<<"$json" | tr ' ' '_'); do
    name=${row%|*}; name=${name//_/ }; calls=${row#*|}
    grep -q "<td>$name</td><td>$calls</td>" "$scratch/dom.html" || fail "the page lacks '$name' with $calls calls"
done
[ "$(jq '.providers | length' <<<"$json")" -ge 5 ] || fail "loadgen should have fed 5 provider/model pairs"
# The tile shows a health state (which one depends on the alerts loadgen's errors set off).
grep -Eq 'class="value (healthy|degraded|critical)" id="t-health">(healthy|degraded|critical)<' "$scratch/dom.html" \
    || fail "health tile empty: $(grep -o '<div[^>]*id="t-health"[^<]*' "$scratch/dom.html")"
grep -q '<td>POST /v1/chat/completions</td>' "$scratch/dom.html" || fail "endpoint table lacks the gateway endpoint"
grep -q '<th>p99.9 ms</th>' "$scratch/dom.html" || fail "the provider table lacks its p99.9 column (seed 003)"
grep -q '<td>rust_routing / route</td><td>2</td>' "$scratch/dom.html" || fail "the component table lacks rust_routing / route with 2 calls (seed 000)"
grep -q '<td>semantic_cache</td><td>1</td><td>1</td><td>50</td>' "$scratch/dom.html" || fail "the cache table lacks semantic_cache at 50 % hits"
grep -Eq '<ul class="alerts" id="recommendations"><li' "$scratch/dom.html" || fail "no recommendations list"
grep -q '<path d="M' "$scratch/dom.html" || fail "no chart line drawn"
grep -q 'id="status" class="">live' "$scratch/dom.html" || fail "status is not live: $(grep -o '<span id="status"[^<]*' "$scratch/dom.html")"
grep -q '<div id="page-errors"></div>' "$scratch/dom.html" || fail "page error: $(grep -o '<div id="page-errors">[^<]*' "$scratch/dom.html")"
if grep -E 'CONSOLE.*(Uncaught|Error)|"Uncaught ' "$scratch/chromium.log"; then fail "console errors in the page"; fi
# A phone-sized window renders too (tables scroll, the grid folds to one column).
browse --window-size=390,844 --screenshot="$out/dashboard-phone.png" "$url/dashboard" >/dev/null
[ -s "$out/dashboard-phone.png" ] || fail "no phone screenshot"
echo "ui-test: dashboard shows $(jq '.providers | length' <<<"$json") provider/model rows matching the API; screenshots in $out/"
# Across a restart: unreachable, then restarted (Chromium driven over its DevTools protocol).
Tests/ui/reconnect-test.py "$binary" "$chromium" "$scratch" || fail "the dashboard did not follow the daemon's restart"

# --- export, compare, check-config against the same daemon -----------------------------------------
"$binary" export --url "$url" --format csv --window 5m >"$scratch/export.csv"
head -1 "$scratch/export.csv" | grep -q '^kind,name,subname,total,' || fail "export csv has no header"
grep -q '^provider,openai,gpt-4o,' "$scratch/export.csv" || fail "export csv lacks openai/gpt-4o"
calls=$(jq '[.providers[] | select(.provider == "openai" and .model == "gpt-4o")][0].calls' <<<"$json")
grep -q "^provider,openai,gpt-4o,$calls," "$scratch/export.csv" || fail "export and the API disagree on openai/gpt-4o ($calls calls)"
"$binary" compare --url "$url" openai anthropic >"$scratch/compare.txt" || fail "compare failed"
grep -q "samples" "$scratch/compare.txt" && grep -q "Welch" "$scratch/compare.txt" || fail "compare printed: $(cat "$scratch/compare.txt")"
"$binary" check-config Config/perfmond.yaml | grep -q "Config/perfmond.yaml: OK" || fail "check-config refused the shipped file"
echo "ui-test: export, compare and check-config agree with the daemon"

# --- perfmond top under tmux -------------------------------------------------------------------
tmux new-session -d -s "$session" -x 140 -y 40 "$binary top --url $url --interval 0.5"
sleep 2
first=$(tmux capture-pane -p -t "$session")
grep -q "openai/gpt-4o" <<<"$first" || fail "top does not show the providers: $first"
grep -q "P95 MS" <<<"$first" || fail "top has no table header"
grep -q "router/route" <<<"$first" || fail "top does not show the components: $first"
grep -Eq "prompt_cache +[0-9]" <<<"$first" || fail "top does not show the caches: $first"
# loadgen's prompt cache hits 35 % of lookups, below the 50 % target: one of the top three.
advice=$(sed -n '/^TOP RECOMMENDATIONS/,/^$/p' <<<"$first" | grep -c '^  \[')
grep -q "cache prompt_cache hits" <<<"$first" && [ "$advice" -ge 1 ] && [ "$advice" -le 3 ] ||
    fail "top does not show the top three recommendations ($advice shown): $first"
refresh_a=$(grep -o 'refresh [0-9]*' <<<"$first" | head -1)
sleep 1.5
refresh_b=$(tmux capture-pane -p -t "$session" | grep -o 'refresh [0-9]*' | head -1)
[ "$refresh_a" != "$refresh_b" ] || fail "top did not refresh ($refresh_a)"
tmux send-keys -t "$session" q
for _ in $(seq 50); do tmux has-session -t "$session" 2>/dev/null || break; sleep 0.1; done
tmux has-session -t "$session" 2>/dev/null && fail "top did not quit on q"
"$binary" top --url "$url" | grep -q "openai/gpt-4o" || fail "top without a terminal prints no plain snapshot"
echo "ui-test: top shows the providers, components, caches and recommendations, refreshes ($refresh_a → $refresh_b) and quits on q"

# --- perfmond tail and the live follow of /performance/events ------------------------------------
# Seed 001's tail-requests: the newest match first, then each new match as it is applied.
"$binary" tail --url "$url" --provider tailed --errors --limit 1 --count 3 >"$scratch/tail.txt" 2>"$scratch/tail.err" &
tail_pid=$!
sleep 1
printf '%s\n' '{"type":"provider_request","provider":"tailed","model":"m","duration_ms":5,"success":false,"error_type":"timeout"}' \
    '{"type":"provider_request","provider":"tailed","model":"m","duration_ms":6}' \
    '{"type":"provider_request","provider":"other","model":"m","duration_ms":7,"success":false}' \
    '{"type":"provider_request","provider":"tailed","model":"m","duration_ms":8,"success":false,"error_type":"overloaded"}' |
    curl -fsS -H 'Content-Type: application/x-ndjson' --data-binary @- "$url/events" >/dev/null
for _ in $(seq 50); do kill -0 "$tail_pid" 2>/dev/null || break; sleep 0.1; done
sleep 0.5
printf '%s\n' '{"type":"provider_request","provider":"tailed","model":"m","duration_ms":9,"success":false,"error_type":"late"}' |
    curl -fsS -H 'Content-Type: application/x-ndjson' --data-binary @- "$url/events" >/dev/null
wait "$tail_pid" || fail "perfmond tail failed: $(cat "$scratch/tail.err")"
[ "$(jq -r .error_type "$scratch/tail.txt" | paste -sd,)" = "timeout,overloaded,late" ] ||
    fail "tail should print the failed calls of 'tailed' as they come: $(cat "$scratch/tail.txt")"
# At most 32 followers at once: the 33rd is refused 503, and counted. tail's stream is let go at
# the next keep-alive comment (5 s at most): a suspended connection is not watched.
for _ in $(seq 100); do curl -s "$url/metrics" | grep -q '^perfmond_event_followers 0$' && break; sleep 0.1; done
followers=()
for _ in $(seq 32); do curl -sN -m 3 -H 'Accept: text/event-stream' "$url/performance/events" >/dev/null & followers+=($!); done
sleep 1
status=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -H 'Accept: text/event-stream' "$url/performance/events")
[ "$status" = 503 ] || fail "a 33rd follower should be refused 503, got $status"
metrics=$(curl -s "$url/metrics")
grep -q '^perfmond_event_followers_refused_total 1$' <<<"$metrics" || fail "the refused follower is not counted"
wait "${followers[@]}" || true  # each ends at curl's -m 3
echo "ui-test: tail follows the filtered events live (timeout, overloaded, late); a 33rd follower is refused 503 and counted"

# --- perfmond send against a full queue ----------------------------------------------------------
# Below its high-water mark (capacity / 8) the queue is applied only by a query or the maintenance
# tick (60 s here): 100 events waiting make a 1,000-event batch overflow a 1,000-event queue, so
# send's first POST is answered 429 for sure. A query a moment later applies the queue, and the
# retry after Retry-After is accepted.
PERFMOND_INGEST_QUEUE_CAPACITY=1000 PERFMOND_COLLECTION_INTERVAL=60s "$binary" --port 0 >"$scratch/small.log" 2>&1 &
pids+=($!)
small=$(wait_for_port "$scratch/small.log")
for i in $(seq 1 5000); do
    printf '{"type":"provider_request","provider":"p%d","model":"m","duration_ms":%d}\n' $((i % 3)) $((i % 900 + 10))
done >"$scratch/events.ndjson"
head -100 "$scratch/events.ndjson" | curl -fsS -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary @- "http://127.0.0.1:$small/events"
"$binary" send --url "http://127.0.0.1:$small" --batch 1000 "$scratch/events.ndjson" >"$scratch/send.txt" &
send_pid=$!
sleep 1.5
curl -fsS -o /dev/null "http://127.0.0.1:$small/performance/providers"
wait "$send_pid" || fail "send failed: $(cat "$scratch/send.txt")"
cat "$scratch/send.txt"
grep -q "^accepted 5000, rejected 0" "$scratch/send.txt" || fail "send did not deliver everything"
retries=$(grep -o 'retries [0-9]*' "$scratch/send.txt" | cut -d' ' -f2)
[ "$retries" -gt 0 ] || fail "send was never refused, so the test proved nothing"
refused=$(curl -fsS "http://127.0.0.1:$small/metrics" | awk '/^perfmond_ingest_requests_rejected_total\{route="events",reason="queue_full"\}/ {print $2}')
[ "$refused" = "$retries" ] || fail "the daemon counted $refused queue-full refusals, send $retries retries"
total=$(curl -fsS "http://127.0.0.1:$small/performance/providers" | jq .summary.total_requests)
[ "$total" = 5100 ] || fail "the daemon counted $total, not 5100"
echo "ui-test: send was refused $retries times by a full queue, waited as told, and all 5000 events were accepted; all passed"
