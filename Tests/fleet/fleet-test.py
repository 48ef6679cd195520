#!/usr/bin/env python3
"""Part of `make test`: the fleet view (api.md §8) with a real Prometheus from Debian, started here
on free loopback ports with temporary data directories.

1. Two perfmond instances fed log-normal latencies of very different scales (3,000 calls around
   300 ms on one, 1,000 around 3 s on the other) are scraped by `prometheus
   --enable-feature=native-histograms`, which asks for the protobuf exposition: the fleet-wide
   `histogram_quantile(0.95, sum(…))` over the native histograms is within 2 % of the exact p95 of
   all 4,000 samples (the classic buckets gave 26 % off), `histogram_count()` is the posted count,
   `rate()` of the counter and of the histogram's count agree, and neither target has a scrape error.
2. The same two sets pushed with remote write (1 s interval) into `prometheus
   --web.enable-remote-write-receiver`, served over TLS with a private CA (remote_write_ca_file) and
   basic auth (remote_write_basic_auth_user / _password_file): the same queries answer the same.
3. The receiver stopped for 30 s, then restarted: an instance with the default queue loses nothing
   (a sample for every second of the outage arrives, nothing counted dropped); one whose queue holds
   1,000 samples (four pushes) keeps only the latest and counts the rest as dropped (queue_full).
Usage: fleet-test.py [PERFMOND_BINARY]"""
import json
import math
import os
import random
import base64
import warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)  # crypt: Debian 12's Python 3.11 has it, for bcrypt
import crypt  # noqa: E402
import shutil
import ssl
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
from exact import nearest_rank  # noqa: E402

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


class Endpoint:
    """A Prometheus's HTTP API: plain, or over TLS with the test's CA and basic auth."""

    def __init__(self, port, tls=None, auth=None):
        self.port, self.tls, self.auth = port, tls, auth

    def open(self, path):
        scheme = "https" if self.tls else "http"
        request = urllib.request.Request(f"{scheme}://127.0.0.1:{self.port}{path}")
        if self.auth:
            request.add_header("Authorization", "Basic " + base64.b64encode(self.auth.encode()).decode())
        return urllib.request.urlopen(request, timeout=10, context=self.tls)


def start_prometheus(config, *flags, port=None, data=None, endpoint=None):
    port = port or free_port()
    endpoint = endpoint or Endpoint(port)
    path = os.path.join(work, f"prometheus-{port}.yml")
    with open(path, "w") as file:
        file.write(config)
    log = open(os.path.join(work, f"prometheus-{port}.log"), "w")
    process = subprocess.Popen(["prometheus", f"--config.file={path}", f"--storage.tsdb.path={data or f'{work}/data-{port}'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn", *flags],
                               stdout=log, stderr=subprocess.STDOUT)
    processes.append(process)
    for _ in range(300):
        try:
            endpoint.open("/-/ready")
            return process, endpoint
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"Prometheus did not start: {open(log.name).read()[-2000:]}")


def query(endpoint, expression, at=None):
    """The value of an instant query's single result, or None."""
    parameters = {"query": expression} | ({"time": f"{at:.3f}"} if at else {})
    with endpoint.open("/api/v1/query?" + urllib.parse.urlencode(parameters)) as answer:
        result = json.load(answer)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def metric(port, line_start):
    """A sample's value from a perfmond's /metrics, or None."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(line_start + " "):
                return float(line.rsplit(" ", 1)[1])
    return None


def wait_for(port, expression, accept, seconds=30):
    value = None
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = query(port, expression)
        if value is not None and accept(value):
            return value
        time.sleep(0.5)
    return value


def lognormal_calls(seed, count, median_ms, sigma):
    draw = random.Random(seed)
    return [round(draw.lognormvariate(math.log(median_ms), sigma), 3) for _ in range(count)]


def calls(durations):
    return [{"type": "provider_request", "provider": "openai", "model": "gpt-4o", "duration_ms": ms, "status_code": 200}
            for ms in durations]


# 30 calls sampled at 0.3: a weighted count of 100, not a whole number per bucket (a float histogram).
WEIGHTED = [{"type": "provider_request", "provider": "openai", "model": "sampled", "duration_ms": 100 + i, "status_code": 200,
             "sample_rate": 0.3} for i in range(30)]


def start_instance(name, durations, environment=None):
    """A perfmond fed `durations` (and the weighted calls); its port."""
    log = os.path.join(work, f"perfmond-{name}.log")
    daemon, port = start_daemon(binary, [], log, environment)
    assert port, open(log).read()
    processes.append(daemon)
    for start in range(0, len(durations), 1000):
        post(port, calls(durations[start:start + 1000]))
    post(port, WEIGHTED)
    return port


def check_fleet(endpoint, selector, way, exact_p95):
    """The fleet queries over the two instances `selector` picks, as Prometheus answers them."""
    series = f'perfmond_provider_request_duration_seconds{{{selector}provider="openai",model="gpt-4o"}}'
    count = wait_for(endpoint, f"histogram_count(sum({series}))", lambda v: v == 4000)
    expect(count == 4000, f"{way}: histogram_count(sum(…)) over both instances is {count}, 4,000 posted")
    p95 = query(endpoint, f"histogram_quantile(0.95, sum({series}))")
    error = abs(p95 - exact_p95) / exact_p95
    expect(error < 0.02, f"{way}: fleet p95 {p95:.4f} s where the exact p95 of all samples is {exact_p95:.4f} s: {error * 100:.2f} % off (≤ 2 %)")
    counter = query(endpoint, f'sum(perfmond_provider_requests_total{{{selector}provider="openai",model="gpt-4o"}})')
    expect(counter == 4000, f"{way}: the calls counter sums to {counter} across instances")
    weighted = query(endpoint, f'histogram_count(sum(perfmond_provider_request_duration_seconds{{{selector}model="sampled"}}))')
    expect(weighted is not None and abs(weighted - 200) < 1e-9, f"{way}: weighted calls are a float histogram of count {weighted} (2 × 30 / 0.3)")
    return series


try:
    fast, slow = lognormal_calls(1, 3000, 300, 0.5), lognormal_calls(2, 1000, 3000, 0.7)
    exact_p95 = nearest_rank(fast + slow, 0.95) / 1000
    instances = [start_instance("a", fast), start_instance("b", slow)]

    targets = ", ".join(f'"127.0.0.1:{port}"' for port in instances)
    scraper, scraper_api = start_prometheus(f"""global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: perfmond
    static_configs: [{{targets: [{targets}]}}]
""", "--enable-feature=native-histograms")
    series = check_fleet(scraper_api, "", "scrape", exact_p95)
    # A second batch on each, so that rates are not zero; both rates see the same samples.
    for port, seed in zip(instances, [3, 4]):
        post(port, calls(lognormal_calls(seed, 500, 500, 0.5)))
    wait_for(scraper_api, f"histogram_count(sum({series}))", lambda v: v == 5000)
    time.sleep(2)
    rate_counter = query(scraper_api, 'sum(rate(perfmond_provider_requests_total{provider="openai",model="gpt-4o"}[30s]))')
    rate_histogram = query(scraper_api, f"histogram_count(sum(rate({series}[30s])))")
    # Prometheus 2.42 extrapolates a float's and a native histogram's rate a little differently.
    expect(rate_counter and rate_histogram and abs(rate_counter - rate_histogram) <= 0.01 * rate_counter,
           f"scrape: rate() of the counter {rate_counter:.3f}/s and histogram_count(rate()) {rate_histogram:.3f}/s agree within 1 %")
    with scraper_api.open("/api/v1/targets") as answer:
        active = json.load(answer)["data"]["activeTargets"]
    errors = [target["lastError"] for target in active]
    expect(len(active) == 2 and errors == ["", ""], f"scrape: both targets scraped without error: {errors}")
    scraper.terminate()

    # 2. Remote write over TLS with a private CA and basic auth.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=perfmond test CA",
                    "-keyout", f"{work}/ca.key", "-out", f"{work}/ca.pem"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f"{work}/server.key",
                    "-out", f"{work}/server.csr"], check=True, capture_output=True)
    with open(f"{work}/san.ext", "w") as file:
        file.write("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", f"{work}/server.csr", "-CA", f"{work}/ca.pem", "-CAkey", f"{work}/ca.key",
                    "-CAcreateserial", "-days", "1", "-extfile", f"{work}/san.ext", "-out", f"{work}/server.pem"], check=True, capture_output=True)
    with open(f"{work}/web.yml", "w") as file:
        file.write(f"tls_server_config: {{cert_file: {work}/server.pem, key_file: {work}/server.key}}\n"
                   f"basic_auth_users: {{perfmond: '{crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH))}'}}\n")
    with open(f"{work}/password", "w") as file:
        file.write("s3cret\n")
    receiver_port = free_port()
    receiver_endpoint = Endpoint(receiver_port, tls=ssl.create_default_context(cafile=f"{work}/ca.pem"), auth="perfmond:s3cret")
    receiver_flags = ("--web.enable-remote-write-receiver", "--enable-feature=native-histograms", f"--web.config.file={work}/web.yml")
    receiver_config = "global: {scrape_interval: 1m}\n"
    receiver, _ = start_prometheus(receiver_config, *receiver_flags, port=receiver_port, data=f"{work}/receiver", endpoint=receiver_endpoint)
    pushed = {}
    for name, durations, queue in [("d", fast, 500_000), ("e", slow, 500_000), ("f", [300.0] * 10, 1000)]:
        pushed[name] = start_instance(name, durations, {
            "PERFMOND_REMOTE_WRITE_URL": f"https://127.0.0.1:{receiver_port}/api/v1/write", "PERFMOND_REMOTE_WRITE_INTERVAL": "1s",
            "PERFMOND_REMOTE_WRITE_CA_FILE": f"{work}/ca.pem", "PERFMOND_REMOTE_WRITE_BASIC_AUTH_USER": "perfmond",
            "PERFMOND_REMOTE_WRITE_BASIC_AUTH_PASSWORD_FILE": f"{work}/password",
            "PERFMOND_REMOTE_WRITE_QUEUE_SAMPLES": str(queue), "PERFMOND_INSTANCE_NAME": f"fleet-{name}"})
    check_fleet(receiver_endpoint, 'instance=~"fleet-d|fleet-e",', "remote write", exact_p95)
    labels = query(receiver_endpoint, 'count(perfmond_build_info{job="perfmond",instance="fleet-d"})')
    expect(labels == 1, "remote write: series carry job=\"perfmond\" and instance=instance_name")

    # 3. The receiver stopped for 30 s, then restarted on the same port and data.
    receiver.terminate()
    receiver.wait(timeout=30)
    stopped_at = time.time()
    time.sleep(30)
    resumed_at = time.time()
    receiver, _ = start_prometheus(receiver_config, *receiver_flags, port=receiver_port, data=f"{work}/receiver", endpoint=receiver_endpoint)
    for _ in range(120):
        if metric(pushed["d"], "perfmond_remote_write_queue_samples") == 0 and metric(pushed["f"], "perfmond_remote_write_queue_samples") == 0:
            break
        time.sleep(0.5)
    outage = f"[{int(resumed_at - stopped_at) - 2}s]"
    kept = query(receiver_endpoint, f'count_over_time(perfmond_provider_requests_total{{instance="fleet-d",outcome="success"}}{outage})', at=resumed_at - 1)
    dropped = sum(metric(pushed["d"], f'perfmond_remote_write_samples_dropped_total{{reason="{r}"}}') for r in ["queue_full", "rejected"])
    retried = metric(pushed["d"], 'perfmond_remote_write_samples_total{outcome="retried"}')
    expect(kept is not None and kept >= int(resumed_at - stopped_at) - 4 and dropped == 0 and retried > 0,
           f"outage: the default queue kept every push: {kept} samples of one series within the {outage} outage, {dropped} dropped, {retried} retried")
    small_kept = query(receiver_endpoint, f'count_over_time(perfmond_provider_requests_total{{instance="fleet-f",outcome="success"}}{outage})', at=resumed_at - 1)
    small_dropped = metric(pushed["f"], 'perfmond_remote_write_samples_dropped_total{reason="queue_full"}')
    per_push = metric(pushed["f"], 'perfmond_remote_write_samples_total{outcome="sent"}') / max(1, query(
        receiver_endpoint, f'count_over_time(perfmond_provider_requests_total{{instance="fleet-f",outcome="success"}}[10m])') or 1)
    expect((small_kept or 0) <= 4 and small_dropped >= (resumed_at - stopped_at - 8) * per_push * 0.9,
           f"outage: a queue of 1,000 samples kept {small_kept or 0:.0f} pushes of the outage and counted {small_dropped:.0f} samples dropped (≈ {per_push:.0f} a push)")
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
