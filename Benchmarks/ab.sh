#!/usr/bin/env bash
# A/B: batched ingest (Benchmarks/batched.sh) of two perfmond binaries, taking turns round by
# round in one run, so that both meet the same noise of this shared machine. For a change that
# must not cost ingest speed: compare the binary before it (built from the previous commit) with
# the one after. Prints one JSON object {a, b, ratio_b_to_a}: per body form, the median of the
# rounds' events/s and the ratio B ÷ A.
# Usage: ab.sh BINARY_A BINARY_B [ROUNDS]   (loopback only; each round is bounded in time)
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1; b=$2; rounds=${3:-3}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source Tests/lib/wait-for-port.sh
source Benchmarks/lib.sh

# round BINARY OUT: one batched.sh round against a fresh daemon of BINARY.
round() {
    "$1" --port 0 >"$work/daemon.log" 2>&1 &
    pid=$!
    local port; port=$(wait_for_port "$work/daemon.log")
    BENCH_ROUNDS=1 Benchmarks/batched.sh "$port" "$pid" 2>/dev/null >"$2"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
for r in $(seq 1 "$rounds"); do
    round "$a" "$work/a-$r.json"
    round "$b" "$work/b-$r.json"
    echo "ab: round $r of $rounds done" >&2
done
# medians NAME: {form: median events/s over the rounds} of side NAME.
medians() { jq -s 'map(to_entries) | add | group_by(.key) | map({key: .[0].key, value: (map(.value.events_per_second) | sort | .[(length - 1) / 2 | floor])}) | from_entries' "$work/$1"-*.json; }
medians a >"$work/a.json"; medians b >"$work/b.json"
jq -n --slurpfile a "$work/a.json" --slurpfile b "$work/b.json" \
    '{a: $a[0], b: $b[0], ratio_b_to_a: ($a[0] | keys | map({key: ., value: (($b[0][.] / $a[0][.]) * 1000 | round / 1000)}) | from_entries)}'
