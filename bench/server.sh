# Sourced by the bench scripts: start a release opencoder on an ephemeral loopback port with a
# throwaway DATA_DIR, wait for its address, and stop it on exit.
#   start_opencoder VAR=value ...   sets $server_pid and $server_addr (host:port)
# Servers started here are all stopped, and their data dirs removed, when the script exits.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_pids=()
bench_dirs=()

# Newest first: servers stop before the databases they use.
bench_cleanup() {
    local i pid dir
    for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do
        pid="${bench_pids[$i]}"
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

# start_postgres → sets $pg_url: a throwaway PostgreSQL cluster (Debian's binaries, see
# scripts/ensure-postgres.sh) on an ephemeral loopback port, durable settings as in production,
# stopped and removed on exit. Runs as the postgres user when the script runs as root.
start_postgres() {
    local bin dir port as_server=()
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    [[ -x "$bin/postgres" ]] || { echo "no PostgreSQL under /usr/lib/postgresql: run scripts/ensure-postgres.sh" >&2; exit 1; }
    dir="$(mktemp -d)"
    bench_dirs+=("$dir")
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$dir"
        as_server=(runuser -u postgres --)
    fi
    "${as_server[@]}" "$bin/initdb" -D "$dir/data" -U opencoder --auth=trust --encoding=UTF8 --locale=C --no-instructions >/dev/null
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "${as_server[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c max_connections=200 >"$dir/server.log" 2>&1 &
    bench_pids+=("$!")
    for _ in $(seq 1 300); do
        if grep -q "^ready" "$dir/data/postmaster.pid" 2>/dev/null; then
            "${as_server[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U opencoder bench
            pg_url="postgres://opencoder@127.0.0.1:$port/bench"
            return 0
        fi
        sleep 0.1
    done
    echo "PostgreSQL did not start within 30 s:" >&2
    cat "$dir/server.log" >&2
    exit 1
}

# start_redis → sets $redis_url: a throwaway redis-server on a unix socket, no persistence,
# stopped on exit (see scripts/ensure-redis.sh).
start_redis() {
    local dir
    command -v redis-server >/dev/null || { echo "no redis-server: run scripts/ensure-redis.sh" >&2; exit 1; }
    dir="$(mktemp -d)"
    bench_dirs+=("$dir")
    redis-server --port 0 --unixsocket "$dir/redis.sock" --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
    bench_pids+=("$!")
    for _ in $(seq 1 100); do
        if [[ -S "$dir/redis.sock" ]]; then
            redis_url="redis+unix://$dir/redis.sock"
            return 0
        fi
        sleep 0.1
    done
    echo "redis-server did not start within 10 s:" >&2
    cat "$dir/redis.log" >&2
    exit 1
}
