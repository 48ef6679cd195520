# Sourced by the test and benchmark scripts. wait_for_port LOG: waits (up to 10 s) for a server's
# "listening … port=N" line in LOG and prints N; fails with the log when it never comes.
wait_for_port() {
    local port=""
    for _ in $(seq 1 200); do
        port=$(grep -o 'port=[0-9]*' "$1" 2>/dev/null | head -1 | cut -d= -f2 || true)
        [ -n "$port" ] && { echo "$port"; return 0; }
        sleep 0.05
    done
    echo "no listening line in $1:" >&2
    cat "$1" >&2
    return 1
}
