#!/usr/bin/env python3
"""Part of `make test`: the layout drawn in docs/architecture.md names every target of
Package.swift (and every test-script folder), and names nothing that is not there (folders
inside a target may be drawn, if they exist)."""
import json
import os
import re
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
os.chdir(root)


def fail(message):
    print(f"layout-test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], check=True,
                                     capture_output=True, text=True).stdout)
targets = {t["name"] for t in manifest["targets"]}
scripts = {d for d in os.listdir("Tests") if os.path.isdir(os.path.join("Tests", d)) and d not in targets and d != "lib"}

text = open("docs/architecture.md").read()
block = re.search(r"```\nSources/\n(.*?)```", text, re.S)
if not block:
    fail("docs/architecture.md has no layout block starting with Sources/")
# A line draws the folders it starts with: "  PerfJSON/   the JSON…", "  api/ ui/ docs/".
drawn = set()
for line in block.group(1).splitlines():
    for token in line.split():
        if not re.fullmatch(r"[A-Za-z]+/", token):
            break
        drawn.add(token[:-1])
drawn -= {"Sources", "Tests", "Benchmarks"}

# Folders inside a target (PerfMonitor/Store/…) may be drawn too, if they exist.
inner = {d for target in os.listdir("Sources") for _, dirs, _ in os.walk(os.path.join("Sources", target)) for d in dirs}
missing = sorted((targets | scripts) - drawn)
extra = sorted(drawn - targets - scripts - inner)
if missing:
    fail(f"targets or test folders not drawn in docs/architecture.md: {', '.join(missing)}")
if extra:
    fail(f"docs/architecture.md draws what is neither a target nor a test folder: {', '.join(extra)}")
print(f"layout-test: docs/architecture.md draws all {len(targets)} targets and {len(scripts)} test folders; passed")
