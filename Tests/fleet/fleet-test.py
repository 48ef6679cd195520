#!/usr/bin/env python3
"""Part of `make test`: the fleet view (api.md §8) with a real Prometheus from Debian, started here
on free loopback ports with temporary data directories.

1. Two perfmond instances fed log-normal latencies of very different scales (3,000 calls around
   300 ms on one, 1,000 around 3 s on the other) are scraped by `prometheus
   --enable-feature=native-histograms`, which asks for the protobuf exposition: the fleet-wide
   `histogram_quantile(0.95, sum(…))` over the native histograms is within 2 % of the exact p95 of
   all 4,000 samples (the classic buckets gave 26 % off), `histogram_count()` is the posted count,
   `rate()` of the counter and of the histogram's count agree, and neither target has a scrape error.
Usage: fleet-test.py [PERFMOND_BINARY]"""
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/perfmond"))
sys.path.insert(0, os.path.join(root, "Tests/lib"))
from daemon import free_port, start_daemon  # noqa: E402

work = tempfile.mkdtemp(prefix="perfmond-fleet-")
processes = []
failures = []


def expect(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


def post(port, events):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/events", data=json.dumps(events).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 202, answer.status


def start_prometheus(config, *flags):
    port = free_port()
    path = os.path.join(work, f"prometheus-{port}.yml")
    with open(path, "w") as file:
        file.write(config)
    log = open(os.path.join(work, f"prometheus-{port}.log"), "w")
    process = subprocess.Popen(["prometheus", f"--config.file={path}", f"--storage.tsdb.path={work}/data-{port}",
                                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn", *flags],
                               stdout=log, stderr=subprocess.STDOUT)
    processes.append(process)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1)
            return process, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"Prometheus did not start: {open(log.name).read()[-2000:]}")


def query(port, expression):
    """The value of an instant query's single result, or None."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as answer:
        result = json.load(answer)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def wait_for(port, expression, accept, seconds=30):
    value = None
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = query(port, expression)
        if value is not None and accept(value):
            return value
        time.sleep(0.5)
    return value


def exact_quantile(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def lognormal_calls(seed, count, median_ms, sigma):
    draw = random.Random(seed)
    return [round(draw.lognormvariate(math.log(median_ms), sigma), 3) for _ in range(count)]


def calls(durations):
    return [{"type": "provider_request", "provider": "openai", "model": "gpt-4o", "duration_ms": ms, "status_code": 200}
            for ms in durations]


try:
    fast, slow = lognormal_calls(1, 3000, 300, 0.5), lognormal_calls(2, 1000, 3000, 0.7)
    exact_p95 = exact_quantile(fast + slow, 0.95) / 1000
    instances = []
    for name, durations in [("a", fast), ("b", slow)]:
        daemon, port = start_daemon(binary, [], os.path.join(work, f"perfmond-{name}.log"))
        assert port, open(os.path.join(work, f"perfmond-{name}.log")).read()
        processes.append(daemon)
        for start in range(0, len(durations), 1000):
            post(port, calls(durations[start:start + 1000]))
        instances.append(port)

    targets = ", ".join(f'"127.0.0.1:{port}"' for port in instances)
    scraper, scraper_port = start_prometheus(f"""global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: perfmond
    static_configs: [{{targets: [{targets}]}}]
""", "--enable-feature=native-histograms")
    series = 'perfmond_provider_request_duration_seconds{provider="openai",model="gpt-4o"}'
    count = wait_for(scraper_port, f"histogram_count(sum({series}))", lambda v: v == 4000)
    expect(count == 4000, f"scrape: histogram_count(sum(…)) over both instances is {count}, 4,000 posted")
    p95 = query(scraper_port, f"histogram_quantile(0.95, sum({series}))")
    error = abs(p95 - exact_p95) / exact_p95
    expect(error < 0.02, f"scrape: fleet p95 {p95:.4f} s where the exact p95 of all samples is {exact_p95:.4f} s: {error * 100:.2f} % off (≤ 2 %)")
    counter = query(scraper_port, 'sum(perfmond_provider_requests_total{provider="openai",model="gpt-4o"})')
    expect(counter == 4000, f"scrape: the calls counter sums to {counter} across instances")
    # A second batch on each, so that rates are not zero; both rates see the same samples.
    for port, seed in zip(instances, [3, 4]):
        post(port, calls(lognormal_calls(seed, 500, 500, 0.5)))
    wait_for(scraper_port, f"histogram_count(sum({series}))", lambda v: v == 5000)
    time.sleep(2)
    rate_counter = query(scraper_port, 'sum(rate(perfmond_provider_requests_total{provider="openai",model="gpt-4o"}[30s]))')
    rate_histogram = query(scraper_port, f"histogram_count(sum(rate({series}[30s])))")
    # Prometheus 2.42 extrapolates a float's and a native histogram's rate a little differently.
    expect(rate_counter and rate_histogram and abs(rate_counter - rate_histogram) <= 0.01 * rate_counter,
           f"scrape: rate() of the counter {rate_counter:.3f}/s and histogram_count(rate()) {rate_histogram:.3f}/s agree within 1 %")
    with urllib.request.urlopen(f"http://127.0.0.1:{scraper_port}/api/v1/targets", timeout=10) as answer:
        active = json.load(answer)["data"]["activeTargets"]
    errors = [target["lastError"] for target in active]
    expect(len(active) == 2 and errors == ["", ""], f"scrape: both targets scraped without error: {errors}")
finally:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if failures:
        for name in os.listdir(work):
            if name.endswith(".log"):
                print(f"--- {name}\n" + open(os.path.join(work, name)).read()[-3000:])
    shutil.rmtree(work, ignore_errors=True)

if failures:
    sys.exit(f"fleet test: {len(failures)} failed")
print("fleet test: all passed")
