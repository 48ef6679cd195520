#!/usr/bin/env python3
"""`make soak` (issue 24): perfmond under a steady load for a long time, against a release binary
on loopback. Not part of `make test` or `make bench` (it takes SECONDS plus about a minute).

- The daemon runs with `retention: 5m` (the shortest the configuration takes) and
  `collection_interval: 1s`, so that every window tier is full after five minutes: windows
  legitimately grow memory until the retention is covered, so RSS is judged only from the minute
  after that (api.md §9).
- Its maximum ingest is measured first (wrk, 64 connections, POSTs of 100 provider calls over
  200 provider × model series and labelled metric events over 200 label sets, 10 s); then wrk
  paces POSTs at half that rate for SECONDS, while one client asks `/performance/providers` every
  200 ms and another scrapes `/metrics` every second.
- RSS is sampled every 10 s. Passes when every sample of the paced phase from minute 6 on is
  within ±10 % of their median, and no query failed.
- Then 20 s of overload (wrk unpaced): query latency p50/p99 then, against the paced phase's.

Prints one JSON object and writes it to bench/results/soak-<time>.json; exits 1 on a failure.
Usage: soak.py BINARY [SECONDS=600]"""
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
seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 600
work = tempfile.mkdtemp()


def start():
    config = os.path.join(work, "soak.yaml")
    with open(config, "w") as file:
        # The snapshot is written every 30 s as in production, into the soak's own folder.
        file.write(f"retention: 5m\ncollection_interval: 1s\nsnapshot_interval: 30s\nstate_file: {work}/state.bin\n")
    log = open(os.path.join(work, "daemon.log"), "w+")
    process = subprocess.Popen([binary, "--port", "0", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(400):
        match = re.search(r"port=(\d+)", open(log.name).read())
        if match:
            return process, int(match.group(1))
        time.sleep(0.025)
    raise SystemExit("soak: the daemon did not start: " + open(log.name).read())


def rss_kib(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


def bodies():
    """Ten bodies of 100 events each, taking turns: provider calls over 200 series, labelled
    metric events over 200 label sets."""
    result = []
    for b in range(10):
        events = []
        for i in range(100):
            n = b * 100 + i
            if n % 2:
                events.append({"type": "provider_request", "provider": f"p{n % 4}", "model": f"m{n % 50}",
                               "duration_ms": 50 + n % 900, "ttft_ms": 20 + n % 80, "status_code": 200 if n % 17 else 500,
                               "cost_usd": 0.001, "input_tokens": 100, "output_tokens": 20})
            else:
                events.append({"type": "metric", "metric": "soak.latency", "kind": "histogram", "unit": "ms", "value": n % 700,
                               "labels": {"route": f"r{n % 20}", "region": f"g{n % 10}"}})
        result.append(json.dumps(events))
    return result


def wrk_script(delay_ms):
    script = os.path.join(work, f"post-{delay_ms}.lua")
    with open(script, "w") as file:
        file.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n')
        for body in bodies():
            file.write("[==[" + body + "]==],\n")
        file.write("}\nlocal n = 0\nrequest = function()\n  n = n + 1\n"
                   "  return wrk.format(nil, \"/events\", nil, bodies[n % #bodies + 1])\nend\n")
        if delay_ms > 0:
            file.write(f"delay = function() return {delay_ms} end\n")
    return script


def wrk(port, duration, connections=64, delay_ms=0):
    """Events accepted per second over `duration` seconds."""
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", wrk_script(delay_ms),
                             f"http://127.0.0.1:{port}/events"], capture_output=True, text=True, check=True,
                            timeout=duration + 60).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    refused = int(re.search(r"Non-2xx or 3xx responses: (\d+)", output).group(1)) if "Non-2xx" in output else 0
    return (requests - refused) * 100 / duration, refused


class Asker(threading.Thread):
    """Asks `path` every `every` seconds until stopped; keeps (time, ms or None on failure)."""

    def __init__(self, port, path, every):
        super().__init__(daemon=True)
        self.port, self.path, self.every = port, path, every
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        connection = None
        while not self.stopped.is_set():
            started = time.monotonic()
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("GET", self.path)
                reply = connection.getresponse()
                reply.read()
                self.samples.append((started, (time.monotonic() - started) * 1000 if reply.status == 200 else None))
            except (OSError, http.client.HTTPException):
                self.samples.append((started, None))
                connection = None
            self.stopped.wait(max(0.0, self.every - (time.monotonic() - started)))

    def latencies(self, since, until):
        return [ms for at, ms in self.samples if since <= at < until]


def percentiles(values):
    ok = sorted(v for v in values if v is not None)
    if not ok:
        return {"count": 0, "failed": len(values)}
    return {"count": len(values), "failed": len(values) - len(ok), "p50_ms": round(ok[len(ok) // 2], 2),
            "p99_ms": round(ok[min(len(ok) - 1, int(len(ok) * 0.99))], 2), "max_ms": round(ok[-1], 2)}


process, port = start()
try:
    maximum, _ = wrk(port, 10)
    target = maximum / 2
    # wrk's delay is per request per connection: 16 connections, each waiting `delay` ms between
    # POSTs of 100 events (a POST itself takes well under a millisecond at this rate).
    connections = 16
    delay_ms = max(1, round(connections * 100 * 1000 / target))
    queries, scrapes = Asker(port, "/performance/providers", 0.2), Asker(port, "/metrics", 1.0)
    queries.start()
    scrapes.start()
    started = time.monotonic()
    rss = []
    paced = {}

    def load():
        paced["rate"], paced["refused"] = wrk(port, seconds, connections=connections, delay_ms=delay_ms)
    loader = threading.Thread(target=load)
    loader.start()
    while loader.is_alive():
        rss.append((round(time.monotonic() - started), rss_kib(process.pid)))
        loader.join(timeout=10)
    paced_end = time.monotonic()
    paced_rss = list(rss)
    overload_rate, overload_refused = wrk(port, 20)
    overload_end = time.monotonic()
    queries.stopped.set()
    scrapes.stopped.set()
    queries.join()
    scrapes.join()
    after_overload_kib = rss_kib(process.pid)
finally:
    process.terminate()
    process.wait(timeout=30)

judge_from = 360
judged = [kib for at, kib in paced_rss if at >= judge_from]
median = statistics.median(judged) if judged else 0
spread = max(abs(kib - median) / median for kib in judged) if judged else 1
paced_queries = percentiles(queries.latencies(started, paced_end))
paced_scrapes = percentiles(scrapes.latencies(started, paced_end))
result = {
    "seconds": seconds, "retention": "5m", "collection_interval": "1s",
    "maximum_events_per_second": round(maximum), "target_events_per_second": round(target),
    "paced": {"events_per_second": round(paced["rate"]), "refused_posts": paced["refused"], "connections": connections,
              "delay_ms": delay_ms, "providers_query": paced_queries, "metrics_scrape": paced_scrapes},
    "overload": {"seconds": 20, "events_per_second": round(overload_rate), "refused_posts": overload_refused,
                 "providers_query": percentiles(queries.latencies(paced_end, overload_end)),
                 "metrics_scrape": percentiles(scrapes.latencies(paced_end, overload_end))},
    "rss_kib": paced_rss, "rss_after_overload_kib": after_overload_kib,
    "rss_judged_from_s": judge_from, "rss_median_kib": median, "rss_max_deviation_percent": round(spread * 100, 2),
    "target_max_deviation_percent": 10,
}
failures = []
if not judged:
    failures.append("the soak was too short to judge RSS (it is judged from minute 6 on)")
elif spread > 0.10:
    failures.append(f"RSS strayed {spread * 100:.1f} % from its median after minute 6")
if paced_queries.get("failed") or paced_scrapes.get("failed"):
    failures.append("queries or scrapes failed during the paced phase")
result["failures"] = failures
os.makedirs("bench/results", exist_ok=True)
path = time.strftime("bench/results/soak-%Y-%m-%dT%H-%M-%SZ.json", time.gmtime())
with open(path, "w") as file:
    json.dump(result, file, indent=2)
print(json.dumps(result))
print(f"soak: {'FAIL: ' + '; '.join(failures) if failures else 'passed'} ({path})", file=sys.stderr)
sys.exit(1 if failures else 0)
