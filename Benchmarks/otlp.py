#!/usr/bin/env python3
"""OTLP/HTTP in `make bench` (issue 20's targets), against a release binary on loopback:
- spans/s for protobuf ExportTraceServiceRequests of 1,000 GenAI spans (the attributes the GenAI
  conventions give a chat call, ids included), and points/s for requests of 1,000 delta histogram
  points of gen_ai.client.operation.duration (1,000 provider x model streams, 4 buckets filled
  each), with the daemon's CPU time per item;
- beside them, in the same run and rounds alternating: the same calls as JSON provider_request
  events to POST /events (1,000 an array), and the raw libmicrohttpd server reading and discarding
  the span bodies (the floor). Targets: >= 1,000,000 spans/s and >= 1.0x the JSON events rate.
wrk, 2 threads, 16 connections, ROUNDS rounds of SECONDS each. Prints one JSON object.
Usage: otlp.py BINARY RAW_SERVER [ROUNDS=3] [SECONDS=5]"""
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds, start  # noqa: E402

binary, raw_server = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5
ITEMS = 1000
BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


# The protobuf wire format, just enough to write the two requests.
def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number, wire, payload):
    return varint(number << 3 | wire) + payload


def message(number, body):
    return field(number, 2, varint(len(body)) + body)


def text(number, value):
    return message(number, value.encode())


def fixed64(number, value):
    return field(number, 1, struct.pack("<Q", value))


def double(number, value):
    return field(number, 1, struct.pack("<d", value))


def attribute(key, value):
    any_value = text(1, value) if isinstance(value, str) else field(3, 0, varint(value))
    return text(1, key) + message(2, any_value)


def resource(service):
    return message(1, message(1, attribute("service.name", service)))


def spans_body(now):
    spans = b""
    for index in range(ITEMS):
        end = now - index * 1_000_000
        duration = 200_000_000 + (index * 7919 % 1000) * 1_000_000
        model = ["gpt-4o", "gpt-4o-mini", "claude-sonnet"][index % 3]
        attributes = [("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", ["openai", "openai", "anthropic"][index % 3]),
                      ("gen_ai.request.model", model), ("gen_ai.response.model", model), ("gen_ai.usage.input_tokens", 1200),
                      ("gen_ai.usage.output_tokens", 300), ("server.address", "api.example.com")]
        span = (message(1, os.urandom(16)) + message(2, os.urandom(8)) + text(5, f"chat {model}") + field(6, 0, varint(3))
                + fixed64(7, end - duration) + fixed64(8, end) + b"".join(message(9, attribute(k, v)) for k, v in attributes))
        spans += message(2, span)
    return message(1, resource("bench-gateway") + message(2, message(1, text(1, "opentelemetry.instrumentation.openai")) + spans))


def histogram_body(now):
    points = b""
    for index in range(ITEMS):
        counts = [0] * (len(BUCKETS) + 1)
        for bucket, count in zip((5, 6, 7, 8), (3, 5, 2, 1)):
            counts[bucket] = count
        attributes = [("gen_ai.provider.name", f"provider{index % 10}"), ("gen_ai.request.model", f"model{index // 10}"),
                      ("gen_ai.operation.name", "chat")]
        point = (b"".join(message(9, attribute(k, v)) for k, v in attributes) + fixed64(2, now - 10_000_000_000) + fixed64(3, now)
                 + fixed64(4, sum(counts)) + double(5, 5.5) + message(6, b"".join(struct.pack("<Q", c) for c in counts))
                 + message(7, b"".join(struct.pack("<d", b) for b in BUCKETS)) + double(11, 0.2) + double(12, 2.0))
        points += message(1, point)
    metric = text(1, "gen_ai.client.operation.duration") + text(3, "s") + message(9, points + field(2, 0, varint(1)))
    return message(1, resource("bench-gateway") + message(2, message(1, text(1, "bench")) + message(2, metric)))


def events_body():
    return json.dumps([{"type": "provider_request", "provider": ["openai", "openai", "anthropic"][i % 3],
                        "model": ["gpt-4o", "gpt-4o-mini", "claude-sonnet"][i % 3], "duration_ms": 200 + i * 7919 % 1000,
                        "input_tokens": 1200, "output_tokens": 300, "success": True} for i in range(ITEMS)]).encode()


def rate(port, path, body, content_type, pid):
    """(items/s kept, µs of the server's CPU per item kept): wrk posting `body` for `seconds`."""
    with tempfile.NamedTemporaryFile("wb", delete=False) as data:
        data.write(body)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "{content_type}"\n'
                     f'local file = io.open("{data.name}", "rb")\nwrk.body = file:read("*all")\nfile:close()\n')
    before = cpu_seconds(pid)
    output = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds:g}s", "-s", script.name, f"http://127.0.0.1:{port}{path}"],
                            capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    os.unlink(script.name)
    os.unlink(data.name)
    # A full queue answers 429 (/events at once, /v1/* after a second's wait): only what was kept counts.
    refused = int(re.search(r"Non-2xx or 3xx responses: (\d+)", output).group(1)) if "Non-2xx" in output else 0
    items = (int(re.search(r"(\d+) requests in", output).group(1)) - refused) * ITEMS
    return items / seconds, used / items * 1e6 if items else 0


def main():
    # Every event is kept in the recent-events ring otherwise: the ring is the same for both ways in.
    daemon, port = start([binary, "--port", "0"], {"PERFMOND_MAX_MODELS_PER_PROVIDER": "100000"})
    raw, raw_port = start([raw_server])
    now = time.time_ns()
    spans, histograms, events = spans_body(now), histogram_body(now), events_body()
    runs = {name: [] for name in ("spans", "histogram_points", "json_events", "raw_floor")}
    try:
        for _ in range(rounds):
            runs["spans"].append(rate(port, "/v1/traces", spans, "application/x-protobuf", daemon.pid))
            runs["json_events"].append(rate(port, "/events", events, "application/json", daemon.pid))
            runs["histogram_points"].append(rate(port, "/v1/metrics", histograms, "application/x-protobuf", daemon.pid))
            runs["raw_floor"].append(rate(raw_port, "/events", spans, "application/x-protobuf", raw.pid))
        check = json.loads(subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/performance/memory"], capture_output=True, text=True).stdout)
    finally:
        for process in (daemon, raw):
            process.terminate()
            process.wait()
    median = {name: (statistics.median(r for r, _ in values), statistics.median(c for _, c in values)) for name, values in runs.items()}
    result = {
        "tool": "wrk -t2 -c16", "items_per_request": ITEMS,
        "span_body_bytes": len(spans), "histogram_body_bytes": len(histograms), "json_events_body_bytes": len(events),
        "spans_per_second": round(median["spans"][0]), "span_cpu_us": round(median["spans"][1], 3),
        "histogram_points_per_second": round(median["histogram_points"][0]), "histogram_point_cpu_us": round(median["histogram_points"][1], 3),
        "json_events_per_second": round(median["json_events"][0]), "json_event_cpu_us": round(median["json_events"][1], 3),
        "raw_floor_spans_per_second": round(median["raw_floor"][0]),
        "spans_vs_json_events": round(median["spans"][0] / median["json_events"][0], 3),
        "spans_vs_raw_floor": round(median["spans"][0] / median["raw_floor"][0], 3),
        "rounds": {name: [round(r) for r, _ in values] for name, values in runs.items()},
        "refused_requests": {route: sum(check["ingest"]["by_route"][route]["rejected_requests"].values())
                             for route in ("otlp_traces", "otlp_metrics", "events")},
        "targets": {"spans_per_second": 1_000_000, "spans_vs_json_events": 1.0},
    }
    print(json.dumps(result))


main()
