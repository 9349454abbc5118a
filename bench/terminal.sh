#!/usr/bin/env bash
# Shared terminal benchmark (SPEC §6): keystroke echo round trip through the server — the client
# sends one character on the terminal socket and measures until the shell's echo of it comes
# back in the output stream (socket → server → session container's TTY → server → socket).
# Release build, one local server on loopback, real Docker (the runner image must exist:
# scripts/build-runner-image.sh). Target: p50 ≤ 10 ms.
#
# Environment: KEYS (500), WARMUP (50), BENCH_RUST_LOG (warn).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

KEYS="${KEYS:-500}"
WARMUP="${WARMUP:-50}"

load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "warning: load average is $load on $(nproc) cores; other work will skew the figures" >&2
fi

cargo build --release -p opencoder -p oc-bench >&2

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
DATA_DIR="$work" HOST=127.0.0.1 PORT="$port" RUST_LOG="${BENCH_RUST_LOG:-warn}" \
    RATE_LIMIT_PER_MINUTE=100000000 SIGNUP_RATE_LIMIT_PER_MINUTE=10000 EXEC_POOL="" EXEC_REMOVE_LEFTOVERS=0 \
    "$root/target/release/opencoder" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
    sleep 0.05
done

"$root/target/release/oc-bench" terminal --url "http://127.0.0.1:$port" --keys "$KEYS" --warmup "$WARMUP" "$@"
