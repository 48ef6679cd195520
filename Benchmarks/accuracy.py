#!/usr/bin/env python3
"""Percentile accuracy of a running perfmond: N log-normal durations (median 500 ms, sigma 0.8,
fixed seed) posted as provider calls, then the daemon's p50/p95/p99 compared with the exact
nearest-rank values computed here. Prints one JSON object. Usage: accuracy.py PORT [N=1000000]"""
import http.client
import json
import math
import sys

import numpy

port = int(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
values = numpy.random.default_rng(20261123).lognormal(mean=math.log(500), sigma=0.8, size=count)
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
batch = 5000
for start in range(0, count, batch):
    lines = "\n".join('{"type":"provider_request","provider":"accuracy","model":"lognormal","duration_ms":%r}' % float(v)
                      for v in values[start:start + batch])
    connection.request("POST", "/events", lines, {"Content-Type": "application/x-ndjson"})
    reply = connection.getresponse()
    body = reply.read()
    if reply.status != 202:
        sys.exit(f"POST /events answered {reply.status}: {body[:200]!r}")
connection.request("GET", "/performance/providers?provider=accuracy")
reply = connection.getresponse()
stats = json.loads(reply.read())["providers"]["accuracy"]["model_stats"]["lognormal"]
ordered = numpy.sort(values)
result = {"values": count, "distribution": "log-normal, median 500 ms, sigma 0.8", "target_relative_error": 0.01}
worst = 0.0
for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
    exact = float(ordered[max(0, math.ceil(q * count) - 1)])
    reported = stats[f"{name}_duration_ms"]
    error = abs(reported - exact) / exact
    worst = max(worst, error)
    result[name] = {"exact_ms": exact, "perfmond_ms": reported, "relative_error": error}
result["counted"] = stats["total_operations"]
result["max_relative_error"] = worst
print(json.dumps(result))
