#!/usr/bin/env python3
"""Feeds a perfmond on loopback with provider x model series for the benchmarks.

Usage: load-series.py PORT PAIRS [EVENTS_PER_PAIR=1] [PROVIDERS=100] [--lognormal]
Pair i is provider-(i % PROVIDERS) / model-i; every event is a successful provider_request with a
duration, a time to first token, a cost and tokens. Durations step evenly from 100 ms to 5 s, or
with --lognormal are drawn log-normal (median 1.2 s, sigma 0.8; TTFT median 300 ms), as real
latencies spread over many sketch buckets. Posted 1,000 events at a time; every POST must be accepted.
"""
import http.client
import json
import random
import sys

lognormal = "--lognormal" in sys.argv
arguments = [a for a in sys.argv[1:] if a != "--lognormal"]
port, pairs = int(arguments[0]), int(arguments[1])
per_pair = int(arguments[2]) if len(arguments) > 2 else 1
providers = int(arguments[3]) if len(arguments) > 3 else 100
connection = http.client.HTTPConnection("127.0.0.1", port)
draw = random.Random(22)


def duration(i, repeat):
    return round(draw.lognormvariate(7.09, 0.8), 3) if lognormal else 100 + (i * 7 + repeat * 650) % 5000


def ttft(i):
    return round(draw.lognormvariate(5.7, 0.8), 3) if lognormal else 20 + i % 300


events = ({"type": "provider_request", "provider": f"provider-{i % providers}", "model": f"model-{i}",
           "duration_ms": duration(i, repeat), "ttft_ms": ttft(i), "status_code": 200,
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
