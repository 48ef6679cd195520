#!/usr/bin/env python3
"""Feeds a perfmond on loopback with provider x model series for the benchmarks.

Usage: load-series.py PORT PAIRS [EVENTS_PER_PAIR=1] [PROVIDERS=100]
Pair i is provider-(i % PROVIDERS) / model-i; every event is a successful provider_request with a
duration, a time to first token, a cost and tokens. Posted 1,000 events at a time; every POST must
be accepted.
"""
import http.client
import json
import sys

port, pairs = int(sys.argv[1]), int(sys.argv[2])
per_pair = int(sys.argv[3]) if len(sys.argv) > 3 else 1
providers = int(sys.argv[4]) if len(sys.argv) > 4 else 100
connection = http.client.HTTPConnection("127.0.0.1", port)
events = ({"type": "provider_request", "provider": f"provider-{i % providers}", "model": f"model-{i}",
           "duration_ms": 100 + (i * 7 + repeat * 650) % 5000, "ttft_ms": 20 + i % 300, "status_code": 200,
           "cost_usd": 0.001, "input_tokens": 10, "output_tokens": 5}
          for i in range(pairs) for repeat in range(per_pair))
batch = []
for event in events:
    batch.append(event)
    if len(batch) == 1000:
        connection.request("POST", "/events", json.dumps(batch), {"Content-Type": "application/json"})
        reply = connection.getresponse(); reply.read()
        assert reply.status == 202, reply.status
        batch = []
if batch:
    connection.request("POST", "/events", json.dumps(batch), {"Content-Type": "application/json"})
    reply = connection.getresponse(); reply.read()
    assert reply.status == 202, reply.status
