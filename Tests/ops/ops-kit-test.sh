#!/usr/bin/env bash
# The operator kit as shipped: `make install-files` into a scratch prefix, the unit checked by
# `systemd-analyze verify`, the Dockerfile by hadolint, and the installed binary started with the
# installed config and the unit's own commands (ExecStart, ExecReload, SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/../.."
. Tests/lib/wait-for-port.sh

binary=${PERFMOND_BINARY:-.build/debug/perfmond}
scratch=$(mktemp -d)
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "ops-kit-test: FAIL: $*" >&2; exit 1; }

# Installed where the unit's absolute paths can be checked on this machine.
prefix="$scratch/usr/local"
make -s install-files PREFIX="$prefix" SYSCONFDIR="$scratch/etc" BINARY="$binary" >/dev/null
unit="$prefix/lib/systemd/system/perfmond.service"
for f in "$prefix/bin/perfmond" "$scratch/etc/perfmond/perfmond.yaml" "$unit" "$prefix/share/doc/perfmond/operator-guide.md"; do
    [ -e "$f" ] || fail "make install-files did not install $f"
done
grep -q "^ExecStart=$prefix/bin/perfmond serve --config $scratch/etc/perfmond/perfmond.yaml$" "$unit" || fail "ExecStart not rewritten for PREFIX"
# A config already there is kept.
echo "log_level: debug" > "$scratch/etc/perfmond/perfmond.yaml"
make -s install-files PREFIX="$prefix" SYSCONFDIR="$scratch/etc" BINARY="$binary" >/dev/null
grep -q "log_level: debug" "$scratch/etc/perfmond/perfmond.yaml" || fail "install overwrote an existing config"
cp Config/perfmond.yaml "$scratch/etc/perfmond/perfmond.yaml"

verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify is not clean: $verify"
echo "ops-kit-test: systemd-analyze verify clean"
grep -q '^DynamicUser=yes' "$unit" && grep -q '^Type=notify' "$unit" && grep -q '^ProtectSystem=strict' "$unit" \
    && grep -q '^MemoryMax=' "$unit" && grep -q '^NoNewPrivileges=yes' "$unit" || fail "the unit lost its hardening"

hadolint Dockerfile || fail "hadolint found problems in the Dockerfile"
echo "ops-kit-test: hadolint clean"

# The Dockerfile's build step, run here (no Docker engine): `make build`, the release binary with
# the Swift standard library linked in, which must need no Swift library at run time, only what
# the runtime image installs (libmicrohttpd12, libcurl4, zlib1g, and the C and C++ runtimes of
# Debian), and carries its relocations packed (DT_RELR), which keeps the idle RSS down.
if [ -z "${PERFMOND_SKIP_STATIC_BUILD:-}" ]; then
    make -s build >"$scratch/static.log" 2>&1 \
        || fail "make build (the Dockerfile's build step) failed: $(grep -m5 error "$scratch/static.log")"
    static=.build/release/perfmond
    ldd "$static" | grep -q libswift && fail "the release build still needs Swift libraries: $(ldd "$static" | grep libswift)"
    ldd "$static" | grep -q "not found" && fail "the release build misses libraries: $(ldd "$static" | grep 'not found')"
    readelf -d "$static" | grep -q '(RELR)' || fail "the release build has no packed relocations (DT_RELR)"
    "$static" --port 0 >"$scratch/static-daemon.log" 2>&1 &
    static_pid=$!
    static_port=$(wait_for_port "$scratch/static-daemon.log") || fail "the release build did not start"
    "$static" health --url "http://127.0.0.1:$static_port" >/dev/null || fail "the release build's health check failed"
    kill -TERM "$static_pid"; wait "$static_pid" || fail "the release build did not stop cleanly"
    echo "ops-kit-test: make build (the Dockerfile step) links with packed relocations, needs no Swift library, serves and answers its health check"
fi

# The unit's command line, with the unit's environment (state file in the state directory).
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
log="$scratch/daemon.log"
PERFMOND_PORT=0 PERFMOND_STATE_FILE="$scratch/state.bin" $exec_start >"$log" 2>&1 &
daemon_pid=$!
port=$(wait_for_port "$log") || fail "installed daemon did not start"
"$prefix/bin/perfmond" health --url "http://127.0.0.1:$port" --ready >/dev/null || fail "perfmond health --ready failed"
curl -fsS -H 'Content-Type: application/json' \
    --data '{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":420}' \
    "http://127.0.0.1:$port/events" >/dev/null || fail "POST /events"
# ExecReload as systemd runs it.
reload=$(sed -n 's/^ExecReload=//p' "$unit" | sed "s/\$MAINPID/$daemon_pid/")
$reload
for _ in $(seq 100); do grep -q "configuration reloaded" "$log" && break; sleep 0.05; done
grep -q "configuration reloaded" "$log" || fail "ExecReload did not reload: $(cat "$log")"
kill -TERM "$daemon_pid"
status=0; wait "$daemon_pid" || status=$?
daemon_pid=""
[ "$status" = 0 ] || fail "SIGTERM exit status $status"
[ -s "$scratch/state.bin" ] || fail "no snapshot written at shutdown"
"$prefix/bin/perfmond" health --url "http://127.0.0.1:$port" >/dev/null 2>&1 && fail "health succeeded against a stopped daemon"
echo "ops-kit-test: installed daemon started, reloaded, stopped with a snapshot; all passed"
