"""Imported by the Python test scripts: the real perfmond started on port 0, like
wait-for-port.sh does for the shell scripts, and GET from it."""
import os
import re
import socket
import subprocess
import time
import urllib.request


def free_port():
    """A port nothing listens on now (for a client made before the daemon it talks to)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_daemon(binary, arguments, log_path, environment=None, port=0):
    """Starts `binary --port PORT ARGUMENTS` (0: a free one), its output in `log_path`; (process, port)
    once its "listening … port=N" line is there, or (process, None) when it exits or 10 s pass first."""
    log = open(log_path, "w")
    env = dict(os.environ, **(environment or {}))
    daemon = subprocess.Popen([binary, "--port", str(port)] + arguments, stdout=log, stderr=subprocess.STDOUT, env=env)
    for _ in range(400):
        match = re.search(r"port=(\d+)", open(log_path).read())
        if match:
            return daemon, int(match.group(1))
        if daemon.poll() is not None:
            break
        time.sleep(0.025)
    return daemon, None


def get(port, path):
    """The body of GET path from the daemon on 127.0.0.1:port, as text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
        return answer.read().decode()


def promtool_problems(text):
    """What `promtool check metrics` says of an exposition: "" when it is clean."""
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    return "" if checked.returncode == 0 and not (checked.stdout + checked.stderr).strip() else f"{checked.stdout} {checked.stderr}".strip()
