#!/usr/bin/env bash
# Fuzzes the live daemon from docs/openapi.yaml (part of `make test`): no answer may be a 5xx,
# and every answer must match the document (status, content type, schema). The daemon is fed a
# few events first so that the stats answers have content. Bounded in examples and time.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${PERFMOND_BINARY:-.build/debug/perfmond}
log=$(mktemp)
"$binary" --port 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
source Tests/lib/wait-for-port.sh
port=$(wait_for_port "$log")
url="http://127.0.0.1:$port"
curl -sf -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary @- "$url/events" <<'EVENTS'
{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":812,"ttft_ms":140,"status_code":200,"cost_usd":0.01,"input_tokens":100,"output_tokens":20}
{"type":"provider_request","provider":"anthropic","model":"claude","duration_ms":2400,"status_code":529,"error_type":"overloaded"}
{"type":"request","endpoint":"/v1/chat","method":"POST","status_code":200,"duration_ms":900}
{"type":"operation","component":"router","operation":"route","duration_ms":2}
{"type":"cache_hit","component":"prompt_cache"}
{"type":"metric","metric":"queue_depth","value":3}
EVENTS
timeout 600 schemathesis run docs/openapi.yaml --url "$url" --seed 1 -n "${SCHEMATHESIS_EXAMPLES:-50}" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance
kill -0 $pid || { echo "perfmond died during the run:"; cat "$log"; exit 1; }
