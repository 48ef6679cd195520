#!/usr/bin/env python3
"""Part of `make bench`: StatsD lines into perfmond beside a raw C sink that only counts them, in
the same run (api.md §6.3, issue 21). A C sender writes datagrams of 20 lines (tagged counters,
timers, histograms, a gauge, sampled counters) as fast as it can, for SECONDS, into the sink, then
into perfmond; lines/s are the lines each counted, drops the kernel's (receive buffer full). Then
the sender is paced at 0.8x the sink's rate into perfmond: the drops there say whether perfmond
keeps up with the target. TCP the same way (one stream: no drops, the sender is held back).
Rounds alternate between the two receivers; the medians are reported.
Usage: statsd.py PERFMOND_BINARY ROUNDS SECONDS   (prints one JSON object)"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

binary, rounds, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="statsd-bench-")
sender, sink = os.path.join(work, "statsd-sender"), os.path.join(work, "statsd-sink")
for program, source in [(sender, "statsd_sender.c"), (sink, "statsd_sink.c")]:
    subprocess.run(["cc", "-O2", "-o", program, os.path.join(here, source)], check=True)


def send(mode, port, rate=0):
    out = subprocess.run([sender, mode, str(port), str(seconds), str(rate)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def wait_for(path, pattern):
    for _ in range(400):
        match = re.search(pattern, open(path).read())
        if match:
            return match
        time.sleep(0.025)
    raise SystemExit(f"statsd bench: no '{pattern}' in {path}: {open(path).read()}")


def sink_round(mode):
    log = os.path.join(work, "sink.log")
    process = subprocess.Popen([sink, mode], stdout=open(log, "w"))
    port = int(wait_for(log, r"port=(\d+)").group(1))
    sent = send(mode, port)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    counted = json.loads(open(log).read().splitlines()[-1])
    return {"sent": sent["lines_sent"], "lines": counted["lines"], "drops_datagrams": counted["drops"],
            "lines_per_second": counted["lines"] / sent["seconds"]}


def perfmond_counts(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as answer:
        text = answer.read().decode()
    lines = sum(float(v) for v in re.findall(r'^perfmond_statsd_lines_total\{outcome="(?:accepted|mapped|folded)"\} (\S+)$', text, re.M))
    drops = float(re.search(r"^perfmond_statsd_udp_drops_total (\S+)$", text, re.M).group(1))
    return lines, drops


def perfmond_round(mode, rate=0):
    log = os.path.join(work, "perfmond.log")
    environment = dict(os.environ, PERFMOND_STATSD_LISTEN="127.0.0.1:0", PERFMOND_RECENT_EVENTS="0")
    process = subprocess.Popen([binary, "--port", "0"], stdout=open(log, "w"), stderr=subprocess.STDOUT, env=environment)
    match = wait_for(log, r"port=(\d+) statsd_tcp=127\.0\.0\.1:(\d+) statsd_udp=127\.0\.0\.1:(\d+)")
    http, tcp, udp = int(match.group(1)), int(match.group(2)), int(match.group(3))
    sent = send(mode, udp if mode == "udp" else tcp, rate)
    time.sleep(0.5)
    lines, drops = perfmond_counts(http)  # the query hands over what the listener holds first
    rss = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{process.pid}/status").read()).group(1))
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    return {"sent": sent["lines_sent"], "lines": lines, "drops_datagrams": drops, "lines_per_second": lines / sent["seconds"],
            "peak_rss_kib": rss}


def median_of(results, key):
    return statistics.median(result[key] for result in results)


report = {"lines_per_datagram": 20, "seconds": seconds, "rounds": rounds}
for mode in ["udp", "tcp"]:
    sinks, ours = [], []
    for _ in range(rounds):
        sinks.append(sink_round(mode))
        ours.append(perfmond_round(mode))
    sink_rate = median_of(sinks, "lines_per_second")
    our_rate = median_of(ours, "lines_per_second")
    entry = {
        "sink_lines_per_second": round(sink_rate), "sink_drops_datagrams": median_of(sinks, "drops_datagrams"),
        "perfmond_lines_per_second": round(our_rate), "perfmond_drops_datagrams": median_of(ours, "drops_datagrams"),
        "ratio_to_sink": round(our_rate / sink_rate, 3) if sink_rate else 0,
        "perfmond_peak_rss_kib": median_of(ours, "peak_rss_kib"),
    }
    if mode == "udp":
        paced = perfmond_round(mode, rate=0.8 * sink_rate)
        entry["paced_at_0_8_sink"] = {"rate_lines_per_second": round(0.8 * sink_rate), "sent": paced["sent"], "counted": paced["lines"],
                                      "drops_datagrams": paced["drops_datagrams"]}
        paced_goal = perfmond_round(mode, rate=2_000_000)
        entry["paced_at_2m"] = {"rate_lines_per_second": 2_000_000, "sent": paced_goal["sent"], "counted": paced_goal["lines"],
                                "drops_datagrams": paced_goal["drops_datagrams"]}
    report[mode] = entry
    print(f"statsd {mode}: {entry}", file=sys.stderr)
print(json.dumps(report))
