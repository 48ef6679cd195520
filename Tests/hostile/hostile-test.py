#!/usr/bin/env python3
"""Part of `make test`: what a hostile or broken client does to perfmond (issue 24), replayed
against the real daemon on 127.0.0.1 over raw sockets, each attack bounded in count and time.
Each check failed on the binary before its fix. Covered so far: lock-outs by half-sent requests and
trickled headers and request targets of 600 query parameters (items 1 to 3), strings kept whole (item 4),
refused input that cost memory (item 5), float overflow and absurd sample rates (item 6), request smuggling and framing (items 7 and 9),
libmicrohttpd's own refusals counted (items 8 and 10),
repeated or empty query parameters (item 11), an unbounded problem list (item 12).
Usage: hostile-test.py [PERFMOND_BINARY]"""
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time

root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/perfmond"))
sys.path.insert(0, os.path.join(root, "Tests/lib"))
from daemon import start_daemon  # noqa: E402
failures = []


def fail(message):
    failures.append(message)
    print(f"hostile-test: FAIL: {message}", file=sys.stderr)


def request(port, method, target, body=b"", headers=None):
    """One HTTP/1.1 request on its own connection; (status, body bytes). Times out after 10 s."""
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def post_events(port, events):
    return request(port, "POST", "/events", json.dumps(events).encode(), {"Content-Type": "application/json"})


def raw_exchange(port, data, seconds=3):
    """Sends `data` as it is on one connection; (everything answered, whether the server closed
    the connection) within `seconds`."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as connection:
        connection.sendall(data)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
            return answer, True
        except socket.timeout:
            return answer, False


def rss_kib(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


def health_ms(port):
    """How long GET /health takes on a new connection, in ms; None when it fails within 3 s."""
    started = time.monotonic()
    try:
        answer, _ = raw_exchange(port, b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", seconds=3)
        return (time.monotonic() - started) * 1000 if answer.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None


def lockouts():
    """Items 1, 2 and 3, on a daemon of its own with connection_limit: 100 (the attacker needs fewer
    sockets; the default 1,024 behaves the same): /health must answer within 500 ms throughout
    (measured: 60-145 ms and 1-100 ms; before, it failed for 150 s and 40 s; the margin is for a busy machine)."""
    config = os.path.join(tempfile.mkdtemp(), "small.yaml")
    with open(config, "w") as file:
        file.write("connection_limit: 100\n")
    small, small_port = start_daemon(binary, ["--config", config], os.path.join(os.path.dirname(config), "small.log"))
    try:
        # 1: 3,000 connections that send half a request head and close. They stayed in CLOSE_WAIT
        # for the 30 s idle timeout and /health failed for about 150 s.
        worst = 0
        for index in range(3000):
            with socket.create_connection(("127.0.0.1", small_port), timeout=3) as connection:
                connection.sendall(b"GET /health HTTP/1.1\r\nHo")
            if index % 300 == 0:
                took = health_ms(small_port)
                worst = max(worst, took if took is not None else 10_000)
        if worst > 500:
            fail(f"half-sent requests: /health took {worst:.0f} ms at worst (or failed)")
        print(f"hostile-test: 3,000 half-sent requests: /health {worst:.1f} ms at worst")
        # 2: 150 connections trickling one header byte a second, never idle, so never timed out:
        # /health was unreachable for 40 s.
        stop = threading.Event()

        def trickle():
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", small_port), timeout=5) as connection:
                        for byte in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 1000:
                            if stop.wait(1):
                                return
                            connection.send(bytes([byte]))
                except OSError:
                    stop.wait(0.1)
        tricklers = [threading.Thread(target=trickle, daemon=True) for _ in range(150)]
        for thread in tricklers:
            thread.start()
        time.sleep(2)
        timings = []
        for _ in range(15):
            timings.append(health_ms(small_port))
            time.sleep(0.3)
        stop.set()
        print(f"hostile-test: 150 trickling clients at connection_limit 100: /health {max(t or 10_000 for t in timings):.1f} ms at worst")
        if any(took is None or took > 500 for took in timings):
            fail(f"trickled headers: /health took {[None if t is None else round(t) for t in timings]} ms")
        # 3: request targets of 600 query parameters (4.3 KB) exhaust libmicrohttpd's 32 KiB
        # connection pool: it answered nothing and held each connection for the 30 s timeout. Now
        # each is shut down within about 50 ms; 101 to a few hundred parameters get a 431.
        started = time.monotonic()
        answer, _ = raw_exchange(small_port, f"GET /health?{'&'.join(f'a{i}=1' for i in range(600))} HTTP/1.1\r\nHost: a\r\n\r\n".encode(), seconds=5)
        closed_after = (time.monotonic() - started) * 1000
        # libmicrohttpd sends its own 431 when its pool still holds that, else nothing: either way
        # the connection must end at once.
        if not (answer == b"" or answer.startswith(b"HTTP/1.1 431")) or closed_after > 1000:
            fail(f"600 query parameters: {answer[:40]!r} after {closed_after:.0f} ms (held until the 30 s timeout before)")
        status, body = request(small_port, "GET", "/health?" + "&".join(f"a{i}=1" for i in range(200)))
        if status != 431 or b"more than 100 query parameters" not in body:
            fail(f"200 query parameters: {status} {body[:120]!r}")
        many = []
        for _ in range(300):
            connection = socket.create_connection(("127.0.0.1", small_port), timeout=3)
            connection.sendall(f"GET /health?{'&'.join(f'a{i}=1' for i in range(600))} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
            many.append(connection)
        timings = [health_ms(small_port) for _ in range(5)]
        for connection in many:
            connection.close()
        print(f"hostile-test: 600 query parameters: closed after {closed_after:.0f} ms; with 300 such at limit 100, "
              f"/health {max(t or 10_000 for t in timings):.1f} ms at worst")
        if any(took is None or took > 500 for took in timings):
            fail(f"600 query parameters on 300 connections: /health took {[None if t is None else round(t) for t in timings]} ms")
        _, metrics = request(small_port, "GET", "/metrics")
        if b'perfmond_http_requests_refused_total{reason="too_many_query_parameters"} 1' not in metrics:
            fail("the 431 for too many query parameters is not counted")
        for reason in ["peer_gone", "shed"]:
            if f'perfmond_http_connections_closed_total{{reason="{reason}"}} 0'.encode() in metrics:
                fail(f"no connection closed as {reason} is counted")
    finally:
        small.terminate()
        small.wait(timeout=20)


lockouts()
log_path = os.path.join(tempfile.mkdtemp(), "daemon.log")
daemon, port = start_daemon(binary, [], log_path)
try:
    if port is None:
        sys.exit(f"hostile-test: FAIL: the daemon did not start: {open(log_path).read()}")

    # Item 4: strings an attacker controls are bounded. A 1 MB error message is cut to 1 KiB (the
    # event kept), 200 of them do not grow the process by 200 MB, a 1 MB request id is refused.
    before = rss_kib(daemon.pid)
    for _ in range(200):
        status, _ = post_events(port, [{"type": "error", "error": "E" * 1_040_000}])
        if status != 202:
            fail(f"a long error message was answered {status}")
            break
    request(port, "GET", "/performance/memory")
    growth = (rss_kib(daemon.pid) - before) // 1024
    if growth > 40:
        fail(f"200 events with a 1 MB error message grew the process by {growth} MiB (strings kept whole)")
    status, body = request(port, "GET", "/performance/events?limit=1")
    message = json.loads(body)["events"][0].get("error", "")
    if len(message.encode()) > 1024 or not message.endswith("…"):
        fail(f"a 1 MB error message is kept as {len(message.encode())} bytes, not cut to 1 KiB with …")
    status, body = post_events(port, [{"type": "request_start", "request_id": "r" * 1_000_000}])
    if status != 400 or b"field 'request_id': longer than 256 bytes" not in body:
        fail(f"a 1 MB request id: {status} {body[:200]!r}")
    status, body = request(port, "GET", "/performance/events?limit=100000")
    if status != 400:
        fail(f"/performance/events?limit=100000 answered {status}: an answer of up to 100,000 events")

    # Item 6: numbers past a sane range are refused, so sums cannot overflow into a wrong 0.
    post_events(port, [{"type": "provider_request", "provider": "real", "model": "m", "duration_ms": 100, "cost_usd": 1.0}])
    for field, value in [("duration_ms", 1.7e308), ("cost_usd", 1.7e308), ("input_tokens", 10**18)]:
        status, body = post_events(port, [{"type": "provider_request", "provider": "real", "model": "m", field: value}])
        if status != 400 or f"field '{field}'".encode() not in body:
            fail(f"{field} {value}: {status} {body[:200]!r}")
    status, body = post_events(port, [{"type": "provider_request", "provider": "real", "model": "m", "sample_rate": 1e-300}])
    if status != 400 or b"sample_rate" not in body:
        fail(f"sample_rate 1e-300: {status} {body[:200]!r}")
    status, body = request(port, "GET", "/performance/providers?provider=real")
    provider = json.loads(body)["providers"]["real"]
    if provider["total_cost_usd"] != 1.0 or provider["total_requests"] != 1 or provider["average_response_time_ms"] != 100:
        fail(f"the real provider's figures changed: {provider}")

    # Item 5: refusing must cost little. 8 bodies of 500,000 invalid NDJSON lines and 4 arrays of
    # 500,000 non-objects (1 MB each) took RSS from 24 to 239 MB, kept; bounded now (+3 MB seen).
    before = rss_kib(daemon.pid)
    for body, content_type in [(b"x\n" * 500_000, "application/x-ndjson")] * 8 + [(b"[" + b",".join([b"1"] * 500_000) + b"]", "application/json")] * 4:
        status, answer = request(port, "POST", "/events", body, {"Content-Type": content_type})
        if status != 400 or b'"rejected":500000' not in answer or b'"errors_omitted":499000' not in answer:
            fail(f"500,000 bad items: {status} {answer[:120]!r}")
    grown = rss_kib(daemon.pid) - before
    if grown > 40 * 1024:
        fail(f"refusing 6,000,000 bad items grew RSS by {grown} KiB")

    # Items 7 and 9: a body whose end is ambiguous is refused and the connection closed, so that
    # nothing after it can run as a second request; a coding other than chunked is a 501 at once;
    # HTTP/1.1 without Host is a 400; a charset other than UTF-8 is a 415.
    event = b'{"type":"provider_request","provider":"smuggled"}'
    chunked = hex(len(event))[2:].encode() + b"\r\n" + event + b"\r\n0\r\n\r\n"
    second = b"POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(event), event)
    attacks = [
        ("Content-Length with Transfer-Encoding", b"POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
         b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + second, b"HTTP/1.1 400", "content_length_with_transfer_encoding"),
        ("two Content-Lengths", b"POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
         b"Content-Length: 3\r\n\r\n%s" % (len(event), event) + second, b"HTTP/1.1 400", "conflicting_content_lengths"),
        ("Transfer-Encoding: gzip", b"POST /events HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxxxx", b"HTTP/1.1 501",
         "unsupported_transfer_encoding"),
        ("HTTP/1.1 without Host", b"GET /health HTTP/1.1\r\n\r\n", b"HTTP/1.1 400", "missing_host"),
    ]
    for name, data, status_line, reason in attacks:
        answer, closed = raw_exchange(port, data)
        heads = answer.count(b"\r\nDate: ")  # one per response
        if not answer.startswith(status_line) or heads != 1 or not closed:
            fail(f"{name}: answered {answer[:120]!r}, {heads} responses, closed: {closed}")
        if b'"error":' not in answer:
            fail(f"{name}: the refusal is not the API's JSON error")
    status, body = request(port, "GET", "/performance/providers")
    if b"smuggled" in body:
        fail("a smuggled request ran")
    status, metrics = request(port, "GET", "/metrics")
    for _, _, _, reason in attacks:
        if f'perfmond_http_requests_refused_total{{reason="{reason}"}} 1'.encode() not in metrics:
            fail(f"the {reason} refusal is not counted on /metrics")
    answer, _ = raw_exchange(port, b"GET /health HTTP/1.0\r\n\r\n")
    if not answer.startswith(b"HTTP/1.1 200") and not answer.startswith(b"HTTP/1.0 200"):
        fail(f"HTTP/1.0 without Host (allowed) was answered {answer[:60]!r}")
    status, body = request(port, "POST", "/events", event, {"Content-Type": "application/json; charset=latin1"})
    if status != 415:
        fail(f"a Latin-1 body was answered {status}")

    # Items 8 and 10: what libmicrohttpd refuses itself (here a Content-Length that is not a number,
    # an unknown HTTP version) never reaches perfmond and was counted nowhere; now it is, by status.
    for data in [b"POST /events HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", b"GET /health HTTP/3.0\r\nHost: a\r\n\r\n"]:
        raw_exchange(port, data)
    status, metrics = request(port, "GET", "/metrics")
    for counted in [b'perfmond_http_library_refusals_total{status="400"} 1', b'perfmond_http_library_refusals_total{status="505"} 1']:
        if counted not in metrics:
            fail(f"libmicrohttpd's own refusal is not counted: no {counted.decode()!r} on /metrics")

    # Item 11: a parameter given twice, or empty, is a 400 naming it, not a value silently dropped.
    for target, name in [("/performance/providers?window=5m&window=garbage", "window"),
                         ("/performance/providers?provider=a&provider=b", "provider"),
                         ("/performance/providers?provider=", "provider")]:
        status, body = request(port, "GET", target)
        if status != 400 or f"'{name}'".encode() not in body:
            fail(f"{target}: {status} {body[:200]!r}")

    # Item 12: 10,000 bad thresholds get a bounded answer.
    thresholds = [{"metric": "nope", "comparison": "~", "threshold": "x", "severity": "loud"}] * 10_000
    status, body = request(port, "POST", "/performance/config", json.dumps({"alert_thresholds": thresholds}).encode(),
                           {"Content-Type": "application/json"})
    if status != 400 or len(body) > 50_000 or b"more problems" not in body:
        fail(f"10,000 bad thresholds: {status}, {len(body)} bytes")
    # Item 12, second half: a window longer than the retention (24 h here) is refused, nothing changed.
    long_window = [{"metric": "error_rate", "comparison": ">", "threshold": 5, "severity": "warning", "window": "48h"}]
    status, body = request(port, "POST", "/performance/config", json.dumps({"alert_thresholds": long_window}).encode(),
                           {"Content-Type": "application/json"})
    if status != 400 or b"longer than the retention" not in body:
        fail(f"a 48h window with a 24h retention: {status} {body[:200]!r}")
finally:
    daemon.terminate()
    daemon.wait(timeout=20)
if failures:
    sys.exit(1)
print("hostile-test: lock-outs, long strings, overflowing numbers, smuggling, repeated parameters and huge problem lists all bounded; passed")
