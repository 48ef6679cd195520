#!/usr/bin/env bash
# Part of `make test`: the shipped rules pass promtool, and a real Prometheus (Debian's package,
# started here on a free loopback port with a temporary data directory and a 1 s scrape) scrapes
# the live daemon: up == 1; histogram_quantile(0.95) over our histogram agrees with the JSON p95
# within one bucket; every PromQL expression of the rules and dashboards runs without error.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${PERFMOND_BINARY:-.build/debug/perfmond}
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "prometheus test: $*" >&2; exit 1; }

promtool check rules Config/prometheus/perfmond-rules.yml
promtool test rules Config/prometheus/perfmond-rules.test.yml
promtool check config Config/prometheus/prometheus.yml

"$binary" --port 0 2>"$work/perfmond.log" &
pids+=($!)
source Tests/lib/wait-for-port.sh
port=$(wait_for_port "$work/perfmond.log")

# 400 calls of openai/gpt-4o from 100 ms to 4 s, and one of each other kind of event.
python3 - "$port" <<'PY'
import http.client, json, sys
events = [{"type": "provider_request", "provider": "openai", "model": "gpt-4o", "duration_ms": 100 + i * 9.75,
           "ttft_ms": 20 + i, "status_code": 200 if i % 10 else 500, "cost_usd": 0.001, "input_tokens": 10, "output_tokens": 5}
          for i in range(400)]
events += [{"type": "request", "endpoint": "/v1/chat", "method": "POST", "status_code": 200, "duration_ms": 50},
           {"type": "operation", "component": "router", "operation": "route", "duration_ms": 2},
           {"type": "cache_hit", "component": "prompt_cache"}, {"type": "rate_limit_hit", "provider": "openai"},
           {"type": "failover", "provider": "openai", "metadata": {"to_provider": "anthropic"}}]
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
connection.request("POST", "/events", json.dumps(events), {"Content-Type": "application/json"})
reply = connection.getresponse()
assert reply.status == 202, reply.read()
PY

prometheus_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$PWD/Config/prometheus/perfmond-rules.yml"]
scrape_configs:
  - job_name: perfmond
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prometheus_port/api/v1"

# query EXPR: the API's JSON answer for an instant query.
query() { curl -sf --get --data-urlencode "query=$1" "$api/query"; }

up=""
for _ in $(seq 1 120); do
    up=$(query 'up{job="perfmond"}' 2>/dev/null | jq -r '.data.result[0].value[1] // empty' || true)
    [ "$up" = "1" ] && break
    sleep 0.5
done
[ "$up" = "1" ] || fail "Prometheus never saw up == 1: $(tail -5 "$work/prometheus.log")"
echo "prometheus test: up == 1"

json_p95=$(curl -sf "http://127.0.0.1:$port/performance/providers?provider=openai" | jq '.providers.openai.model_stats["gpt-4o"].p95_duration_ms / 1000')
prom_p95=$(query 'histogram_quantile(0.95, perfmond_provider_request_duration_seconds_bucket{provider="openai",model="gpt-4o"})' | jq -r '.data.result[0].value[1]')
python3 - "$json_p95" "$prom_p95" <<'PY'
import sys
json_p95, prom_p95 = float(sys.argv[1]), float(sys.argv[2])
bounds = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]
upper = next(b for b in bounds if b >= json_p95)
lower = max([0] + [b for b in bounds if b < json_p95])
assert lower <= prom_p95 <= upper, f"PromQL p95 {prom_p95} s is not in the bucket ({lower}, {upper}] of the JSON p95 {json_p95} s"
print(f"prometheus test: p95 JSON {json_p95:.3f} s, PromQL {prom_p95:.3f} s, same bucket ({lower}, {upper}]")
PY

# Every expression of the rules and the dashboards must evaluate without error.
python3 - Config/prometheus/perfmond-rules.yml docs/grafana/*.json >"$work/expressions.txt" <<'PY'
import json, sys, yaml
for path in sys.argv[1:]:
    if path.endswith(".yml"):
        for group in yaml.safe_load(open(path))["groups"]:
            for rule in group["rules"]:
                print(rule["expr"])
    else:
        for panel in json.load(open(path))["panels"]:
            for target in panel["targets"]:
                print(target["expr"])
PY
count=0
while IFS= read -r expression; do
    status=$(query "$expression" | jq -r .status) || fail "query failed: $expression"
    [ "$status" = "success" ] || fail "query did not succeed: $expression"
    count=$((count + 1))
done <"$work/expressions.txt"
echo "prometheus test: $count PromQL expressions of the rules and dashboards evaluate"
