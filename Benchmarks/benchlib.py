"""What the Python benchmarks share: starting a server on port 0 and reading its port from its
log, and a process's RSS and CPU time from /proc."""
import os
import re
import subprocess
import tempfile
import time


def start(command, env=None):
    """(process, port) of `command`, once its log names a port ("port=N" or "port N")."""
    log = tempfile.NamedTemporaryFile("w+", delete=False)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    for _ in range(400):
        match = re.search(r"port[= ](\d+)", open(log.name).read())
        if match:
            return process, int(match.group(1))
        time.sleep(0.025)
    raise SystemExit(f"{command[0]} did not start")


def rss_kib(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


def cpu_seconds(pid):
    """User and system CPU time the process has used."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
