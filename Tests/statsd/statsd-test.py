#!/usr/bin/env python3
"""Part of `make test`: the StatsD clients services really run — `statsd` (StatsClient over UDP,
TCPStatsClient, pipelines) and `datadog` (DogStatsd with tags, distributions, sets, events and
service checks), from PyPI at the versions the Makefile pins, in a virtual environment in .build/ —
pointed at a real perfmond. Known values go in; exact counts and sums, and p95 within 1 %, must come
out of the JSON and /metrics; statsd_mappings must route lines into provider x model stats; every bad
form is counted by outcome and changes nothing else; `promtool check metrics` stays clean.
Usage: statsd-test.py [PERFMOND_BINARY]   (run with the virtual environment's python)"""
import json
import os
import random
import re
import socket
import sys
import tempfile
import time
import urllib.request

root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/perfmond"))
sys.path.insert(0, os.path.join(root, "Tests/lib"))
from daemon import get, promtool_problems, start_daemon  # noqa: E402
from exact import nearest_rank  # noqa: E402

import statsd  # noqa: E402
from datadog.dogstatsd import DogStatsd  # noqa: E402

failures = []


def fail(message):
    failures.append(message)
    print(f"statsd-test: FAIL: {message}", file=sys.stderr)


def expect(condition, message):
    if not condition:
        fail(message)


def series(port, name):
    answer = json.loads(get(port, f"/performance/metrics?name={urllib.request.quote(name)}"))
    return answer["metrics"].get(name, {}).get("series", [])


def one(port, name, labels=None):
    found = [s for s in series(port, name) if s["labels"] == (labels or {})]
    if len(found) != 1:
        fail(f"{name} {labels}: expected one series, got {series(port, name)}")
        return {}
    return found[0]


def lines_by_outcome(port):
    text = get(port, "/metrics")
    return {m.group(1): float(m.group(2)) for m in re.finditer(r'^perfmond_statsd_lines_total\{outcome="(\w+)"\} (\S+)$', text, re.M)}


def within_one_percent(got, exact, what):
    expect(abs(got - exact) <= 0.01 * exact, f"{what}: p95 {got}, exact {exact} (more than 1 % off)")


MAPPINGS = """
statsd_mappings:
  - {match: "llm.*.*.latency", target: provider_duration_ms, labels: {provider: "$1", model: "$2"}}
  - {match: "llm.latency", target: provider_duration_ms}
  - {match: "llm.*.*.errors", target: provider_error, labels: {provider: "$1", model: "$2"}}
  - {match: "llm.tokens.input", target: provider_tokens_input}
  - {match: "llm.tokens.output", target: provider_tokens_output}
  - {match: "llm.cost", target: provider_cost_usd}
  - {match: "llm.ttft", target: provider_ttft_ms}
  - {match: "shop.*.orders", name: "shop.orders", labels: {store: "$1"}}
"""


def run():
    scratch = tempfile.mkdtemp(prefix="statsd-test-")
    config = os.path.join(scratch, "perfmond.yaml")
    with open(config, "w") as file:
        file.write(MAPPINGS)
    log_path = os.path.join(scratch, "daemon.log")
    daemon, port = start_daemon(binary, ["--config", config], log_path, {"PERFMOND_STATSD_LISTEN": "127.0.0.1:0"})
    if port is None:
        fail(f"the daemon did not start: {open(log_path).read()}")
        return
    try:
        log = open(log_path).read()
        udp = int(re.search(r"statsd_udp=127\.0\.0\.1:(\d+)", log).group(1))
        tcp = int(re.search(r"statsd_tcp=127\.0\.0\.1:(\d+)", log).group(1))
        check_statsd_client(port, udp, tcp)
        check_dogstatsd(port, udp)
        check_mappings(port, udp)
        check_bad_forms(port, udp, tcp)
        check_promtool(port)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        expect(daemon.returncode == 0, f"perfmond exited {daemon.returncode} on SIGTERM")


def check_statsd_client(port, udp, tcp):
    client = statsd.StatsClient("127.0.0.1", udp)
    for _ in range(300):
        client.incr("py.requests")
    # The client drops a sampled call itself (random() > rate) and tags the rest |@0.25: replay its
    # draws to know what was sent; each line sent counts 4.
    random.seed(11)
    sent = sum(1 for _ in range(400) if not random.random() > 0.25)
    random.seed(11)
    for _ in range(400):
        client.incr("py.sampled", 1, rate=0.25)
    rng = random.Random(5)
    latencies = [round(rng.lognormvariate(5.5, 0.6), 3) for _ in range(2000)]
    for value in latencies:
        client.timing("py.latency", value)
    client.gauge("py.temperature", 20)
    client.gauge("py.temperature", 5, delta=True)
    client.gauge("py.temperature", -2, delta=True)
    for user in ["ann", "bob", "ann", "cy", "bob"]:
        client.set("py.users", user)
    with client.pipeline() as pipe:  # one datagram of several lines
        for _ in range(50):
            pipe.incr("py.piped", 2)
        pipe.timing("py.piped.latency", 42)
    tcp_client = statsd.TCPStatsClient("127.0.0.1", tcp)
    for _ in range(120):
        tcp_client.incr("py.tcp", 3)
    with tcp_client.pipeline() as pipe:
        for value in range(1, 101):
            pipe.timing("py.tcp.latency", value)
    tcp_client.close()
    time.sleep(0.2)  # the TCP close reaches the listener (the UDP lines need no wait)

    requests = one(port, "py.requests")
    expect(requests.get("count") == 300 and requests.get("sum") == 300, f"py.requests: {requests}")
    sampled = one(port, "py.sampled")
    expect(sampled.get("count") == sent * 4 and sampled.get("sum") == sent * 4, f"py.sampled: {sent} lines at @0.25 -> {sampled}")
    latency = one(port, "py.latency")
    expect(latency.get("count") == 2000, f"py.latency count: {latency}")
    expect(abs(latency.get("sum", 0) - sum(latencies)) < 1e-6 * sum(latencies), f"py.latency sum {latency.get('sum')} vs {sum(latencies)}")
    within_one_percent(latency.get("p95", 0), nearest_rank(latencies, 0.95), "py.latency")
    expect(one(port, "py.temperature").get("last") == 23, "gauge 20, +5, -2 is 23")
    expect(one(port, "py.users").get("distinct") == 3, "three distinct users")
    expect(one(port, "py.piped").get("sum") == 100 and one(port, "py.piped.latency").get("count") == 1, "the pipeline's lines")
    expect(one(port, "py.tcp").get("sum") == 360 and one(port, "py.tcp").get("count") == 120, f"TCP: {one(port, 'py.tcp')}")
    tcp_latency = one(port, "py.tcp.latency")
    expect(tcp_latency.get("count") == 100 and tcp_latency.get("sum") == 5050, f"TCP pipeline: {tcp_latency}")

    text = get(port, "/metrics")
    expect("py_requests_total 300" in text, "py_requests_total on /metrics")
    expect(f"py_sampled_total {sent * 4}" in text, "py_sampled_total on /metrics")
    expect("py_latency_seconds_count 2000" in text, "py.latency is a histogram in seconds (a timer is in ms)")
    expect("py_temperature 23" in text and "py_users 3" in text, "gauge and set on /metrics")
    print(f"statsd-test: statsd {statsd.__version__}: UDP, sampled ({sent} lines at @0.25), timings "
          f"(p95 {latency.get('p95')} vs exact {nearest_rank(latencies, 0.95)}), gauges, sets, pipelines and TCP counted exactly")


def check_dogstatsd(port, udp):
    dog = DogStatsd(host="127.0.0.1", port=udp, disable_telemetry=True, constant_tags=["env:test"])
    for _ in range(250):
        dog.increment("dd.requests", tags=["route:chat", "tier:a"])
    for _ in range(50):
        dog.increment("dd.requests", 2, tags=["route:embed", "tier:a"])
    rng = random.Random(9)
    values = [round(rng.lognormvariate(3, 1), 4) for _ in range(3000)]
    for value in values:
        dog.distribution("dd.size", value, tags=["route:chat"])
    for value in values[:500]:
        dog.histogram("dd.hist", value)
    for user in range(1, 41):
        dog.set("dd.visitors", f"user{user % 25}")
    dog.gauge("dd.queue", 7, tags=["queue:main"])
    dog.timing("dd.db", 12.5)
    dog.event("deploy", "version 2 went out", tags=["team:core"])
    dog.service_check("dd.check", DogStatsd.OK)
    dog.flush()
    dog.close_socket()

    chat = one(port, "dd.requests", {"env": "test", "route": "chat", "tier": "a"})
    embed = one(port, "dd.requests", {"env": "test", "route": "embed", "tier": "a"})
    expect(chat.get("sum") == 250 and embed.get("sum") == 100 and embed.get("count") == 50, f"dd.requests: {chat} {embed}")
    size = one(port, "dd.size", {"env": "test", "route": "chat"})
    expect(size.get("count") == 3000, f"dd.size: {size}")
    within_one_percent(size.get("p95", 0), nearest_rank(values, 0.95), "dd.size (distribution)")
    expect(one(port, "dd.hist", {"env": "test"}).get("count") == 500, "dd.hist")
    expect(one(port, "dd.visitors", {"env": "test"}).get("distinct") == 25, "dd.visitors: 25 distinct")
    expect(one(port, "dd.queue", {"env": "test", "queue": "main"}).get("last") == 7, "dd.queue")
    text = get(port, "/metrics")
    expect('dd_requests_total{env="test",route="chat",tier="a"} 250' in text, "tags become labels on /metrics")
    expect('dd_size_count{env="test",route="chat"} 3000' in text, "a distribution is a histogram (no unit)")
    expect(lines_by_outcome(port).get("event_or_check") == 2, "the event and the service check are counted")
    print("statsd-test: datadog DogStatsd: tags, distributions (p95 within 1 %), histograms, sets, gauges, events and checks")


def check_mappings(port, udp):
    client = statsd.StatsClient("127.0.0.1", udp)
    dog = DogStatsd(host="127.0.0.1", port=udp, disable_telemetry=True)
    rng = random.Random(3)
    openai = [round(rng.lognormvariate(6.5, 0.4), 2) for _ in range(400)]
    for value in openai:
        client.timing("llm.openai.gpt-4o.latency", value)
    for _ in range(6):
        client.incr("llm.openai.gpt-4o.errors")
    for value in [300, 500, 700]:
        dog.timing("llm.latency", value, tags=["provider:anthropic", "model:claude-sonnet"])
    dog.increment("llm.tokens.input", 1200, tags=["provider:anthropic", "model:claude-sonnet"])
    dog.increment("llm.tokens.output", 340, tags=["provider:anthropic", "model:claude-sonnet"])
    dog.increment("llm.cost", 0.25, tags=["provider:anthropic", "model:claude-sonnet"])
    dog.timing("llm.ttft", 150, tags=["provider:anthropic", "model:claude-sonnet"])
    dog.increment("llm.cost", 1, tags=["model:no-provider"])  # missing_provider
    client.incr("shop.berlin.orders", 4)
    dog.flush()
    dog.close_socket()

    providers = json.loads(get(port, "/performance/providers"))["providers"]
    gpt = providers.get("openai", {})
    expect(gpt.get("total_requests") == 406 and gpt.get("failed_requests") == 6, f"openai: {gpt}")
    within_one_percent(gpt.get("p95_response_time_ms", 0), nearest_rank(openai, 0.95), "openai/gpt-4o via a mapping")
    claude = providers.get("anthropic", {})
    expect(claude.get("total_requests") == 3 and claude.get("input_tokens") == 1200 and claude.get("output_tokens") == 340,
           f"anthropic: {claude}")
    expect(abs(claude.get("total_cost_usd", 0) - 0.25) < 1e-9 and claude.get("p50_ttft_ms", 0) > 0, f"anthropic cost and TTFT: {claude}")
    expect(one(port, "shop.orders", {"store": "berlin"}).get("sum") == 4, "a renaming mapping with a captured label")
    text = get(port, "/metrics")
    expect('perfmond_provider_requests_total{provider="openai",model="gpt-4o",status="success"} 400' in text
           or re.search(r'perfmond_provider_requests_total\{[^}]*provider="openai"[^}]*\} 400', text), "mapped calls on /metrics")
    outcomes = lines_by_outcome(port)
    expect(outcomes.get("mapped") == 414 and outcomes.get("missing_provider") == 1, f"mapped lines: {outcomes}")
    print("statsd-test: statsd_mappings: latencies, errors, tokens, cost and TTFT feed provider x model stats")


def check_bad_forms(port, udp, tcp):
    before_metrics = json.loads(get(port, "/performance/metrics"))["metrics_count"]
    before = lines_by_outcome(port)
    before_providers = json.loads(get(port, "/performance/providers"))["summary"]["total_requests"]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for datagram in [b"missing.type:1", b"bad.number:12abc|c", b"bad.rate:1|c|@1.5", b"reserved:1|c|#quantile:0.5",
                     b"flagged:1|c|#novalue,env:prod"]:
        sender.sendto(datagram, ("127.0.0.1", udp))
    sender.sendto(b"big:" + b"9" * 65000 + b"|c", ("127.0.0.1", udp))  # an oversize line in the largest datagram
    stream = socket.create_connection(("127.0.0.1", tcp))
    stream.sendall(b"split.")
    time.sleep(0.05)
    stream.sendall(b"line:5|c\n")
    stream.sendall(b"x" * 20000)  # a client that never sends a newline
    time.sleep(0.1)
    after = lines_by_outcome(port)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    expected = {"bad_line": 1, "bad_value": 1, "bad_sample_rate": 1, "bad_label": 1, "too_long": 2, "accepted": 2}
    expect(delta == expected, f"bad forms counted {delta}, expected {expected}")
    expect(one(port, "split.line").get("sum") == 5, "a line split across TCP writes is read whole")
    expect(one(port, "flagged", {"env": "prod"}).get("sum") == 1, "a tag without a value is dropped, its line kept")
    expect(json.loads(get(port, "/performance/metrics"))["metrics_count"] == before_metrics + 2, "only the two good lines made series")
    expect(json.loads(get(port, "/performance/providers"))["summary"]["total_requests"] == before_providers, "nothing else changed")
    dropped = re.search(r'^perfmond_statsd_tags_dropped_total\{reason="no_value"\} (\S+)$', get(port, "/metrics"), re.M)
    expect(dropped and float(dropped.group(1)) >= 1, "the dropped tag is counted")
    memory = json.loads(get(port, "/performance/memory"))["ingest"]["statsd"]
    expect(memory["lines"]["bad_label"] == after["bad_label"] and memory["tcp_connections"] == 1, f"/performance/memory: {memory}")
    stream.close()
    print("statsd-test: bad forms (no type, bad number, bad rate, reserved label, tag without value, oversize, split and "
          "endless TCP lines) each counted, nothing else changed")


def check_promtool(port):
    problems = promtool_problems(get(port, "/metrics"))
    expect(not problems, f"promtool check metrics: {problems}")
    print("statsd-test: promtool check metrics is clean")


run()
if failures:
    sys.exit(1)
print("statsd-test: OK")
