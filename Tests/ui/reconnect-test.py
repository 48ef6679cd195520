#!/usr/bin/env python3
"""The dashboard across a daemon restart, in a real headless Chromium driven over the DevTools
protocol: the page says "live", then "daemon unreachable" while the daemon is down, then that the
daemon restarted once it is back on the same port.
Usage: reconnect-test.py PERFMOND_BINARY CHROMIUM SCRATCH_DIR"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import websocket

binary, chromium, scratch = sys.argv[1], sys.argv[2], sys.argv[3]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(port):
    log = open(os.path.join(scratch, "reconnect-daemon.log"), "a")
    daemon = subprocess.Popen([binary, "--port", str(port)], stdout=log, stderr=log)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1)
            return daemon
        except OSError:
            time.sleep(0.05)
    sys.exit("reconnect-test: FAIL: the daemon did not start")


def fail(message):
    print(f"reconnect-test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


port, debug_port = free_port(), free_port()
daemon = start_daemon(port)
browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            f"--remote-debugging-port={debug_port}", f"--user-data-dir={scratch}/reconnect-profile",
                            "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    target = None
    for _ in range(100):
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{debug_port}/json/new?http://127.0.0.1:{port}/dashboard", method="PUT")
            target = json.load(urllib.request.urlopen(request, timeout=2))
            break
        except OSError:
            time.sleep(0.1)
    if target is None:
        fail("chromium's DevTools endpoint did not answer")
    page = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=10)
    sequence = 0

    def status():
        global sequence
        sequence += 1
        page.send(json.dumps({"id": sequence, "method": "Runtime.evaluate",
                              "params": {"expression": "document.getElementById('status').textContent"}}))
        while True:
            reply = json.loads(page.recv())
            if reply.get("id") == sequence:
                return reply["result"]["result"].get("value", "")

    def wait_for(text, seconds=12):
        seen = ""
        deadline = time.time() + seconds
        while time.time() < deadline:
            seen = status()
            if text in seen:
                return seen
            time.sleep(0.25)
        fail(f"the page never said '{text}'; it says '{seen}'")

    print("reconnect-test: up:", wait_for("live"))
    daemon.terminate()
    daemon.wait(timeout=10)
    print("reconnect-test: down:", wait_for("daemon unreachable"))
    daemon = start_daemon(port)
    print("reconnect-test: back:", wait_for("daemon restarted"))
    if "live" not in status():
        fail("the page did not go live again after the restart")
    print("reconnect-test: the dashboard said the daemon was unreachable, then that it restarted; passed")
finally:
    browser.kill()
    daemon.kill()
