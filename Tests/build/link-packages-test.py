#!/usr/bin/env python3
"""Part of `make test`: every Debian package that the release link needs is installed by the
build's own dependency step (`make deps`, which `make run`, `make build` and `make install` run),
and by the Dockerfile's build stage; every library the binary loads is in the runtime stage.

The libraries are read off the release link itself, not off a list kept by hand: the link
command that SwiftPM ran for the perfmond product (.build/release.yaml) is run again into a
scratch file with lld's --trace, which names every file the link read (including what `-lcurl`,
autolinked by the static FoundationNetworking, resolved to). Each file outside the Swift
toolchain and the build folder is mapped to its Debian package with `dpkg -S`. What the
toolchain itself needs to link any program (a one-line Swift program linked the same way, with
the C and C++ runtimes of Debian) is Swift's own and is not asked of the Makefile.

Run after `make build` (the ops-kit test runs it); it relinks in about a second."""
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
os.chdir(root)


def fail(message):
    print(f"link-packages-test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


def make_variable(name):
    """A variable of the Makefile, as make expands it."""
    return run(["make", "-s", "--no-print-directory", "--eval", f"print-var: ; @echo $({name})", "print-var"]).split()


def release_link_command():
    manifest = ".build/release.yaml"
    if not os.path.exists(manifest):
        fail(f"{manifest} is missing: run `make build` first")
    commands = yaml.safe_load(open(manifest))["commands"]
    for key, command in commands.items():
        if re.fullmatch(r"C\.perfmond-.*-release\.exe", key):
            return command["args"]
    fail(f"no link command for the perfmond product in {manifest}")


def traced_inputs(args, scratch):
    """The files a link reads, from lld's --trace, with the output sent to a scratch file."""
    args = list(args)
    output = args[args.index("-o") + 1] = os.path.join(scratch, os.path.basename(args[args.index("-o") + 1]))
    result = subprocess.run(args + ["-Xlinker", "--trace"], capture_output=True, text=True, cwd=root)
    if result.returncode != 0:
        fail("the release link failed: " + " ".join(line for line in result.stderr.splitlines() if "error" in line))
    files = set()
    for line in result.stderr.splitlines():  # the driver passes lld's trace on on stderr
        path = re.sub(r"\(.*\)$", "", line.strip())  # "libfoo.a(member.o)" -> "libfoo.a"
        if path.startswith("/") and not path.startswith(("/opt/swift", root, "/tmp")):
            files.add(path)
    return files, output


def baseline_inputs(link_args, scratch):
    """What the toolchain needs to link a one-line program the way the release build links."""
    hello = os.path.join(scratch, "hello.swift")
    open(hello, "w").write('print("hello")\n')
    flags = [a for a in link_args if a == "-static-stdlib" or a.startswith("-use-ld=")]
    return traced_inputs([link_args[0]] + flags + [hello, "-o", os.path.join(scratch, "hello")], scratch)


package_cache = {}


def package_of(path):
    """The Debian package that owns a file (trying its /usr-merged and resolved spellings)."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith(("/lib/", "/lib64/")):
            candidates.append("/usr" + p)
    for candidate in candidates:
        if candidate in package_cache:
            return package_cache[candidate]
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            package = result.stdout.split(":")[0].strip()
            package_cache[candidate] = package
            return package
    fail(f"{path} is read by the release link but belongs to no Debian package")


def needed_libraries(binary):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", run(["readelf", "-d", binary]))


def runtime_package(soname):
    for line in run(["ldconfig", "-p"]).splitlines():
        match = re.match(rf"\s*{re.escape(soname)} \(.*x86-64.*\) => (.+)$", line) or re.match(rf"\s*{re.escape(soname)} \(.*\) => (.+)$", line)
        if match:
            return package_of(match.group(1))
    fail(f"the release binary needs {soname}, which no installed package provides")


def dockerfile_stages(path="Dockerfile"):
    """Per stage (its `AS` name, or `runtime` for the last), the packages it apt-installs; a stage
    that runs `make deps` installs the Makefile's BUILD_PACKAGES."""
    text = re.sub(r"\\\n", " ", open(path).read())
    stages, current = {}, None
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            current = words[3] if len(words) > 3 and words[2].upper() == "AS" else "runtime"
            stages[current] = set()
        elif current and words[:1] == ["RUN"]:
            for command in re.split(r"&&|;", line[3:]):
                tokens = shlex.split(command)
                if "apt-get" in tokens and "install" in tokens:
                    after = tokens[tokens.index("install") + 1:]
                    stages[current] |= {t for t in after if not t.startswith("-")}
                if tokens[:2] == ["make", "deps"]:
                    stages[current] |= set(make_variable("BUILD_PACKAGES"))
    return stages


with tempfile.TemporaryDirectory() as scratch:
    link = release_link_command()
    files, binary = traced_inputs(link, scratch)
    base_files, base_binary = baseline_inputs(link, scratch)
    needed = {package_of(f): f for f in sorted(files)}
    swift_own = {package_of(f) for f in base_files}
    sonames = needed_libraries(binary)
    base_sonames = set(needed_libraries(base_binary))
    runtime = {runtime_package(s): s for s in sonames if s not in base_sonames}

build_packages = set(make_variable("BUILD_PACKAGES"))
stages = dockerfile_stages()
problems = []
for package, file in sorted(needed.items()):
    if package in swift_own:
        continue
    if package not in build_packages:
        problems.append(f"{package} (it has {file}) is not in the Makefile's BUILD_PACKAGES: "
                        "`make run` fails to link on a machine where `make test` never ran")
    if package not in stages.get("build", set()):
        problems.append(f"{package} (it has {file}) is not installed by the Dockerfile's build stage")
for package, soname in sorted(runtime.items()):
    if package not in stages.get("runtime", set()):
        problems.append(f"{package} (it has {soname}, which the binary loads) is not installed by the Dockerfile's runtime stage")
if problems:
    fail("\n  " + "\n  ".join(problems))
ours = sorted(p for p in needed if p not in swift_own)
print(f"link-packages-test: the release link reads {len(files)} files outside the toolchain, from "
      f"{', '.join(ours)} (ours) and {', '.join(sorted(swift_own))} (Swift's own); all in make deps and "
      f"the Dockerfile's build stage; the binary loads {', '.join(sorted(runtime))} beyond Swift's own, "
      "all in the runtime stage; passed")
