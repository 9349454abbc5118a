# Sourced by the bench scripts: start a release opencoder on an ephemeral loopback port with a
# throwaway DATA_DIR, wait for its address, and stop it on exit.
#   start_opencoder VAR=value ...   sets $server_pid and $server_addr (host:port)
# Servers started here are all stopped, and their data dirs removed, when the script exits.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_pids=()
bench_dirs=()

bench_cleanup() {
    local pid dir
    for pid in "${bench_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    for dir in "${bench_dirs[@]}"; do rm -rf "$dir"; done
}
trap bench_cleanup EXIT

warn_if_busy() {
    local load
    load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
    if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
        echo "warning: load average is $load on $(nproc) cores; other work will skew the figures" >&2
    fi
}

start_opencoder() {
    local data_dir log
    data_dir="$(mktemp -d)"
    log="$data_dir/server.log"
    bench_dirs+=("$data_dir")
    env DATA_DIR="$data_dir" HOST=127.0.0.1 PORT=0 LOG_FORMAT=json RUST_LOG="${BENCH_RUST_LOG:-info}" \
        RATE_LIMIT_PER_MINUTE=100000000 SIGNUP_RATE_LIMIT_PER_MINUTE=10000 "$@" \
        "$bench_root/target/release/opencoder" serve >"$log" 2>&1 &
    server_pid=$!
    bench_pids+=("$server_pid")
    server_addr=""
    for _ in $(seq 1 300); do
        server_addr="$(sed -n 's/.*"message":"opencoder listening".*"addr":"\([^"]*\)".*/\1/p; s/.*"addr":"\([^"]*\)".*"message":"opencoder listening".*/\1/p' "$log" | head -n1)"
        [[ -n "$server_addr" ]] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "the server exited:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "the server did not report its address within 30 s:" >&2
    cat "$log" >&2
    exit 1
}
