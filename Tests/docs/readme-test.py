#!/usr/bin/env python3
"""Part of `make test`: the README's "Try it" block, run as written against a daemon started with
Config/perfmond.yaml on a free port, so that the README and the daemon cannot drift apart.

Every command of the block is run in order, with these changes only: the address
(localhost:9470 / 127.0.0.1:9470) becomes the test daemon's, `perfmond TOOL` gets `--url` and is
the built binary, loadgen's duration is shortened, the file that `send` posts is made here, and the
line that opens a browser is checked by fetching its URL. Each answer is checked:
- where the README shows a JSON answer in a comment (`# {"accepted":1,…}`), the answer has the
  same keys and the same values, except `timestamp`;
- every other command has its own check in CHECKS below; a command without one fails the test,
  so a new line in the README needs a check here.
Usage: readme-test.py [PERFMOND_BINARY]"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.request

root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/perfmond"))
sys.path.insert(0, os.path.join(root, "Tests/lib"))
from daemon import start_daemon  # noqa: E402


def fail(message):
    print(f"readme-test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def try_it_commands():
    """The block under "## Try it" as (command, expected JSON or None): a command may span lines
    (an open quote), and its answer is the JSON in its trailing comment or the comment line after it."""
    text = open(os.path.join(root, "README.md")).read()
    block = re.search(r"^## Try it\n+```sh\n(.*?)^```", text, re.S | re.M)
    if not block:
        fail("README.md has no ```sh block under '## Try it'")
    commands, pending = [], ""
    for line in block.group(1).splitlines():
        if not pending and line.lstrip().startswith("#"):
            comment = line.lstrip()[1:].strip()
            if comment.startswith("{") and commands:
                commands[-1] = (commands[-1][0], comment)
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the command goes on on the next line
            continue
        trailing = re.search(r"#\s*(\{.*\})\s*$", pending)
        if words:
            commands.append((pending, trailing.group(1) if trailing else None))
        pending = ""
    if pending:
        fail(f"unterminated command in the README: {pending}")
    return commands


def free_daemon(scratch):
    log_path = os.path.join(scratch, "daemon.log")
    # StatsD on free ports: the shipped file's 8125 may be the host's own agent's.
    daemon, port = start_daemon(binary, ["--config", os.path.join(root, "Config/perfmond.yaml")], log_path,
                                {"PERFMOND_STATSD_LISTEN": "127.0.0.1:0"})
    if port is None:
        fail(f"the daemon did not start with Config/perfmond.yaml: {open(log_path).read()}")
    return daemon, port


def adapt(command, port):
    """The command as the test runs it: its address, the built binary, a short loadgen."""
    command = re.sub(r"(localhost|127\.0\.0\.1):9470", f"127.0.0.1:{port}", command)
    command = re.sub(r"^perfmond (\w[\w-]*)", lambda m: f"{shlex.quote(binary)} {m.group(1)} --url http://127.0.0.1:{port}", command)
    command = re.sub(r"--duration \S+", "--duration 2s", command)
    # curl writes the status on stderr, so that a command's stdout stays as the README shows it.
    command = re.sub(r"^curl ", "curl -w '%{stderr}%{http_code}' ", command)
    return command


def same_shape(answer, expected, where):
    """Same keys and values as the README's example, but the timestamp."""
    try:
        got = json.loads(answer)
    except ValueError:
        fail(f"{where}: the README shows JSON, the daemon answered {answer[:200]!r}")
    want = json.loads(expected)
    if sorted(got) != sorted(want):
        fail(f"{where}: keys {sorted(got)}, the README shows {sorted(want)}")
    for key, value in want.items():
        if key != "timestamp" and got[key] != value:
            fail(f"{where}: {key} is {got[key]!r}, the README shows {value!r}")


def json_of(out, where):
    try:
        return json.loads(out)
    except ValueError:
        fail(f"{where}: not JSON: {out[:200]!r}")


def check_providers(status, out, err, scratch, port):
    providers = json_of(out, "/providers")["providers"]
    stats = providers.get("openai", {}).get("model_stats", {}).get("gpt-4o")
    if status != "200" or stats is None or stats["total_operations"] != 1 or stats["p50_duration_ms"] <= 0:
        fail(f"/providers?window=1h does not show the call just reported: {out[:300]}")


def check_custom_metric(status, out, err, scratch, port):
    series = json_of(out, "/performance/metrics").get("metrics", {}).get("llm.cache.lookups", {}).get("series", [])
    if status != "200" or len(series) != 1 or series[0].get("labels") != {"cache": "semantic"} or series[0].get("sum") != 1:
        fail(f"/performance/metrics?name=llm.cache.lookups does not show the counter just reported: {out[:300]}")


def check_recommendations(status, out, err, scratch, port):
    answer = json_of(out, "/performance/recommendations")
    if status != "200" or not isinstance(answer.get("recommendations"), list):
        fail(f"/performance/recommendations: {status} {out[:300]}")


def check_export(status, out, err, scratch, port):
    rows = open(os.path.join(scratch, "perf.csv")).read().splitlines()
    if status != "200" or len(rows) < 2 or not rows[0].startswith("kind,name,") or not rows[1].startswith("provider,openai,gpt-4o,1,"):
        fail(f"export?format=csv > perf.csv: {status}, {rows[:2]}")


def check_loadgen(status, out, err, scratch, port):
    if status != 0:
        fail(f"perfmond loadgen exited {status}: {out} {err}")
    answer = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/performance/providers"))
    calls = sum(p["total_requests"] for p in answer["providers"].values())
    if calls < 100:
        fail(f"perfmond loadgen --rate 200 for 2 s left {calls} provider calls")


def check_send(status, out, err, scratch, port):
    if status != 0 or "accepted 3, rejected 0" not in out + err:
        fail(f"perfmond send events.ndjson: exit {status}, {out} {err}")


def check_ready(status, out, err, scratch, port):
    if status != "200" or json_of(out, "/ready").get("status") != "ok":
        fail(f"/ready: {status} {out}")


def check_post_health(status, out, err, scratch, port):
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    if status != "405" or not re.search(r"^allow: GET, HEAD$", head, re.M | re.I) \
            or "application/json" not in head or json_of(body, "POST /health").get("status") != 405:
        fail(f"POST /health: {status} {out[:300]}")


# (pattern of the command as the README writes it, check); a command matching none fails.
CHECKS = [
    (r"/providers\?window=", check_providers),
    (r"/performance/metrics\?name=", check_custom_metric),
    (r"/performance/recommendations", check_recommendations),
    (r"export\?format=csv", check_export),
    (r"^perfmond loadgen", check_loadgen),
    (r"^perfmond send events\.ndjson", check_send),
    (r"/ready", check_ready),
    (r"-X POST .*/health", check_post_health),
]

SEND_FILE = "\n".join(json.dumps(e) for e in [
    {"type": "provider_request", "provider": "anthropic", "model": "claude-sonnet", "duration_ms": 950},
    {"type": "request", "endpoint": "/v1/chat", "method": "POST", "duration_ms": 980, "status_code": 200},
    {"type": "operation", "component": "router", "operation": "route", "duration_ms": 2, "metadata": {"benchmark": True}},
]) + "\n"

with tempfile.TemporaryDirectory() as scratch:
    open(os.path.join(scratch, "events.ndjson"), "w").write(SEND_FILE)
    daemon, port = free_daemon(scratch)
    checked = 0
    try:
        for written, expected in try_it_commands():
            first = written.split()[0]
            if first == "open":
                url = re.sub(r"(localhost|127\.0\.0\.1):9470", f"127.0.0.1:{port}", written.split()[1])
                page = urllib.request.urlopen(url)
                if page.status != 200 or "text/html" not in page.headers["Content-Type"] or b"<html" not in page.read().lower():
                    fail(f"{written.split('#')[0].strip()}: the page did not load")
                checked += 1
                continue
            result = subprocess.run(["bash", "-c", adapt(written, port)], cwd=scratch, capture_output=True, text=True, timeout=60)
            status = result.stderr.strip().splitlines()[-1] if first == "curl" and result.stderr.strip() else result.returncode
            where = written.split("#")[0].strip().splitlines()[0]
            if expected:
                same_shape(result.stdout, expected, where)
            else:
                check = next((c for pattern, c in CHECKS if re.search(pattern, written)), None)
                if check is None:
                    fail(f"the README runs `{where}`, and this test has no check for it: add one to CHECKS")
                check(status, result.stdout, result.stderr, scratch, port)
            checked += 1
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
    if checked < 10:
        fail(f"only {checked} commands found in the README's Try it block")
print(f"readme-test: all {checked} commands of the README's Try it block answered as shown; passed")
