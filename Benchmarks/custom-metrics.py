#!/usr/bin/env python3
"""Custom metrics in `make bench` (issue 18's targets), against a release binary on loopback:
- ingest of labelled metric events (5 labels each, over 1,000 series) beside provider events,
  batches of 100 taking turns for ROUNDS rounds of SECONDS each on one daemon (wrk, 64 connections):
  events/s of each and the ratio (target ≥ 0.8);
- memory per labelled series, counter and histogram apart, with the 24 h windows: RSS growth over
  10,000 series fed 2 events each, 12 h apart (targets ≤ 1 KiB and ≤ 4 KiB);
- the same for 100 histogram series of 10,000 observations each, spread over the 24 h;
- /metrics at 10,000 labelled series (histograms): median time of 5 scrapes and the bytes.
Every request is bounded in time; prints one JSON object.
Usage: custom-metrics.py BINARY [ROUNDS=3] [SECONDS=5]"""
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

binary = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5


def start(env=None):
    log = tempfile.NamedTemporaryFile("w+", delete=False)
    process = subprocess.Popen([binary, "--port", "0"], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PERFMOND_RECENT_EVENTS": "0", **(env or {})})
    for _ in range(400):
        match = re.search(r"port=(\d+)", open(log.name).read())
        if match:
            return process, int(match.group(1))
        time.sleep(0.025)
    raise SystemExit("the daemon did not start")


def rss_kib(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


def post(connection, body):
    connection.request("POST", "/events", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    reply.read()
    return reply.status


def labels(i):
    return {"route": f"r{i % 10}", "region": f"g{i // 10 % 10}", "tier": f"t{i // 100 % 10}", "app": "gateway", "env": "prod"}


provider_bodies = [json.dumps([{"type": "provider_request", "provider": "openai", "model": f"m{(b * 100 + i) % 50}",
                                "duration_ms": 100 + i, "status_code": 200} for i in range(100)]) for b in range(10)]
metric_bodies = [json.dumps([{"type": "metric", "metric": "llm.tokens", "kind": "counter", "value": 3,
                              "labels": labels(b * 100 + i)} for i in range(100)]) for b in range(10)]


def rate(port, bodies):
    """Events accepted per second: wrk, 2 threads, 64 connections, for `seconds`, each request one
    of the bodies in turn (a Lua script of its own)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n')
        for body in bodies:
            script.write("[==[" + body + "]==],\n")
        script.write("}\nlocal n = 0\nrequest = function()\n  n = n + 1\n"
                     "  return wrk.format(nil, \"/events\", nil, bodies[n % #bodies + 1])\nend\n")
    output = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds:g}s", "-s", script.name, f"http://127.0.0.1:{port}/events"],
                            capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    refused = int(re.search(r"Non-2xx or 3xx responses: (\d+)", output).group(1)) if "Non-2xx" in output else 0
    return (requests - refused) * 100 / seconds


result = {}
process, port = start()
provider_rates, metric_rates = [], []
for _ in range(rounds):
    provider_rates.append(rate(port, provider_bodies))
    metric_rates.append(rate(port, metric_bodies))
process.terminate()
process.wait()
p, m = statistics.median(provider_rates), statistics.median(metric_rates)
result["ingest"] = {"labels_per_event": 5, "series": 1000, "events_per_post": 100, "tool": "wrk -t2 -c64",
                    "provider_events_per_second": round(p), "labelled_metric_events_per_second": round(m),
                    "rounds": {"provider": [round(x) for x in provider_rates], "metric": [round(x) for x in metric_rates]},
                    "ratio": round(m / p, 3), "target_ratio": 0.8}


def memory(kind, series=10_000):
    process, port = start({"PERFMOND_MAX_SERIES_PER_METRIC": "100000"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    time.sleep(0.5)
    before = rss_kib(process.pid)
    now = time.time()
    for offset in (0, 12 * 3600):
        for start_index in range(0, series, 1000):
            batch = [{"type": "metric", "metric": f"bench.{kind}", "kind": kind, "value": 5 + i % 50, "unit": "ms" if kind == "histogram" else None,
                      "timestamp": now - offset, "labels": {"series": str(i), "app": "gateway", "env": "prod", "route": f"r{i % 10}", "tier": "a"}}
                     for i in range(start_index, start_index + 1000)]
            assert post(connection, json.dumps(batch)) == 202
    connection.request("GET", "/performance/memory")
    connection.getresponse().read()
    time.sleep(1)
    after = rss_kib(process.pid)
    scrape = None
    if kind == "histogram":
        times, size = [], 0
        for _ in range(5):
            started = time.monotonic()
            connection.request("GET", "/metrics")
            body = connection.getresponse().read()
            times.append((time.monotonic() - started) * 1000)
            size = len(body)
        scrape = {"series": series, "median_ms": round(statistics.median(times), 2), "bytes": size}
    process.terminate()
    process.wait()
    return {"series": series, "events_per_series": 2, "rss_before_kib": before, "rss_after_kib": after,
            "bytes_per_series": (after - before) * 1024 // series}, scrape


def memory_full_day(series=100, observations=10_000):
    """RSS growth per histogram series holding `observations` values spread over the 24 h."""
    process, port = start({"PERFMOND_MAX_SERIES_PER_METRIC": "100000"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    time.sleep(0.5)
    before = rss_kib(process.pid)
    now = time.time()
    events = ({"type": "metric", "metric": "bench.day", "kind": "histogram", "unit": "ms", "value": 5 + (i * 7919 + j) % 5000,
               "timestamp": now - 86_000 * j / observations, "labels": {"series": str(i), "app": "gateway"}}
              for j in range(observations) for i in range(series))
    batch = []
    for event in events:
        batch.append(event)
        if len(batch) == 2000:
            assert post(connection, json.dumps(batch)) == 202
            batch = []
    connection.request("GET", "/performance/memory")
    connection.getresponse().read()
    time.sleep(1)
    after = rss_kib(process.pid)
    process.terminate()
    process.wait()
    return {"series": series, "events_per_series": observations, "spread_hours": 24, "rss_before_kib": before,
            "rss_after_kib": after, "bytes_per_series": (after - before) * 1024 // series}


result["memory_counter"], _ = memory("counter")
result["memory_counter"]["target_bytes_per_series"] = 1024
result["memory_histogram"], result["metrics_at_10000_labelled_histograms"] = memory("histogram")
result["memory_histogram"]["target_bytes_per_series"] = 4096
result["memory_histogram_full_day"] = memory_full_day()
print(json.dumps(result))
