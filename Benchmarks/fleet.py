#!/usr/bin/env python3
"""The fleet view's benchmark (issue 22), one JSON object on stdout:
- /metrics in the protobuf exposition (native histograms + classic buckets) beside the text answer,
  at 1,000 and 10,000 provider x model pairs, in the same daemon: median time of sequential scrapes
  and bytes, plain and gzip (text is the floor: the target is protobuf no slower, and smaller);
- memory per pair (RSS growth) at 2 events a pair (10,000 pairs) and at 10,000 log-normal events a
  pair (200 pairs), for this binary and, with --before BINARY, the one before the sketch's layout
  changed, in the same run;
- remote write at 10,000 pairs into a raw libmicrohttpd server that discards bodies (the floor):
  samples pushed a second, and the push's CPU.
Usage: fleet.py PERFMOND RAW_SERVER [--before OLD_PERFMOND] [--scrapes N] [--only exposition|memory|remote_write]"""
import gzip
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds, rss_kib, start  # noqa: E402

arguments = sys.argv[1:]
perfmond, raw_server = arguments[0], arguments[1]
before = arguments[arguments.index("--before") + 1] if "--before" in arguments else None
scrapes = int(arguments[arguments.index("--scrapes") + 1]) if "--scrapes" in arguments else 30
only = arguments[arguments.index("--only") + 1] if "--only" in arguments else None
here = os.path.dirname(os.path.abspath(__file__))
PROTOBUF = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
LIMITS = {"PERFMOND_MAX_PROVIDERS": "1000", "PERFMOND_MAX_MODELS_PER_PROVIDER": "100000", "PERFMOND_RECENT_EVENTS": "0"}


def load(port, pairs, per_pair, lognormal=False):
    subprocess.run([os.path.join(here, "load-series.py"), str(port), str(pairs), str(per_pair)] + (["--lognormal"] if lognormal else []),
                   check=True)


def scrape(port, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    times, size = [], 0
    for _ in range(scrapes):
        begin = time.perf_counter()
        connection.request("GET", "/metrics", headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        times.append((time.perf_counter() - begin) * 1000)
        size = len(body)
    return round(statistics.median(times), 2), size


def exposition(pairs):
    process, port = start([perfmond, "--port", "0"], LIMITS)
    try:
        load(port, pairs, 2)
        result = {}
        for name, headers in [("text", {}), ("protobuf", {"Accept": PROTOBUF})]:
            plain_ms, plain_bytes = scrape(port, headers)
            gzip_ms, gzip_bytes = scrape(port, {**headers, "Accept-Encoding": "gzip"})
            result[name] = {"median_ms": plain_ms, "bytes": plain_bytes, "median_ms_gzip": gzip_ms, "bytes_gzip": gzip_bytes}
        result["protobuf_time_vs_text"] = round(result["protobuf"]["median_ms"] / result["text"]["median_ms"], 3)
        result["protobuf_bytes_vs_text"] = round(result["protobuf"]["bytes"] / result["text"]["bytes"], 3)
        return result
    finally:
        process.kill()
        process.wait()


def memory(binary, pairs, per_pair, lognormal):
    process, port = start([binary, "--port", "0"], LIMITS)
    try:
        time.sleep(0.5)
        before_kib = rss_kib(process.pid)
        load(port, pairs, per_pair, lognormal)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", "/performance/real-time")  # the store applies what is queued
        connection.getresponse().read()
        time.sleep(1)
        after_kib = rss_kib(process.pid)
        return {"pairs": pairs, "events_per_pair": per_pair, "rss_before_kib": before_kib, "rss_after_kib": after_kib,
                "bytes_per_pair": round((after_kib - before_kib) * 1024 / pairs)}
    finally:
        process.kill()
        process.wait()


def remote_write(pairs, seconds=10):
    sink, sink_port = start([raw_server])
    process, port = start([perfmond, "--port", "0"], {**LIMITS, "PERFMOND_REMOTE_WRITE_URL": f"http://127.0.0.1:{sink_port}/events",
                                                     "PERFMOND_REMOTE_WRITE_INTERVAL": "1s", "PERFMOND_REMOTE_WRITE_QUEUE_SAMPLES": "100000000"})
    try:
        load(port, pairs, 2)

        def sent():
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/performance/memory")
            figures = json.loads(connection.getresponse().read())["remote_write"]
            return figures["samples_sent"], figures["samples_dropped"], figures["queue_samples"]

        time.sleep(2)
        first, _, _ = sent()
        cpu_start, begin = cpu_seconds(process.pid), time.time()
        time.sleep(seconds)
        last, dropped, queued = sent()
        elapsed, cpu = time.time() - begin, cpu_seconds(process.pid) - cpu_start
        samples = last - first
        return {"pairs": pairs, "seconds": round(elapsed, 1), "samples_sent": samples, "samples_per_second": round(samples / elapsed),
                "cpu_seconds_per_second": round(cpu / elapsed, 3), "cpu_microseconds_per_sample": round(cpu / max(1, samples) * 1e6, 3),
                "queued_at_end": queued, "dropped": dropped}
    finally:
        process.kill()
        sink.kill()
        process.wait()
        sink.wait()


result = {}
if only in (None, "exposition"):
    result["exposition"] = {str(pairs): exposition(pairs) for pairs in (1000, 10000)}
if only in (None, "memory"):
    result["memory"] = {"after": {"2_events": memory(perfmond, 10000, 2, False), "10000_lognormal_events": memory(perfmond, 200, 10000, True)}}
    if before:
        result["memory"]["before"] = {"2_events": memory(before, 10000, 2, False), "10000_lognormal_events": memory(before, 200, 10000, True)}
if only in (None, "remote_write"):
    result["remote_write"] = remote_write(10000)
print(json.dumps(result))
