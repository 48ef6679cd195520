#!/usr/bin/env python3
"""Cardinality attack on a running perfmond: N provider calls, each with a model name never seen
before. The store must keep at most max_models_per_provider models (the rest folded into
__other__ and counted), and its RSS must stay bounded. Prints one JSON object.
Usage: cardinality.py PORT PID [N=1000000]"""
import http.client
import json
import sys

port, pid = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000


def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


def get(connection, path):
    connection.request("GET", path)
    reply = connection.getresponse()
    return reply.read().decode()


connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
limit = json.loads(get(connection, "/performance/config"))["max_models_per_provider"]
rss_before = rss_kib()
samples = []
batch = 5000
for start in range(0, count, batch):
    lines = "\n".join('{"type":"provider_request","provider":"attack","model":"m-%d","duration_ms":%d}' % (i, 100 + i % 900)
                      for i in range(start, min(count, start + batch)))
    connection.request("POST", "/events", lines, {"Content-Type": "application/x-ndjson"})
    reply = connection.getresponse()
    body = reply.read()
    if reply.status != 202:
        sys.exit(f"POST /events answered {reply.status}: {body[:200]!r}")
    if (start // batch) % 40 == 0:
        samples.append({"events": start + batch, "rss_kib": rss_kib()})
metrics = get(connection, "/metrics")
folded = next(float(line.split()[-1]) for line in metrics.splitlines()
              if line.startswith('perfmond_series_folded_total{dimension="model"}'))
models = json.loads(get(connection, "/performance/providers?provider=attack"))["providers"]["attack"]["model_stats"]
rss_after = rss_kib()
print(json.dumps({
    "distinct_models_sent": count, "max_models_per_provider": limit,
    "models_kept": len(models), "other_kept": "__other__" in models,
    "folded_events": folded, "folded_expected": count - limit, "fold_counts_match": folded == count - limit,
    "rss_before_kib": rss_before, "rss_after_kib": rss_after, "rss_growth_kib": rss_after - rss_before,
    "rss_samples": samples,
}))
