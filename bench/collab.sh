#!/usr/bin/env bash
# Pad WebSocket benchmark: the same load against our release server and against the reference
# @y/websocket-server@0.1.1 (npm, no auth), in one run, then the ratios.
#
# Scenarios (each bounded: warm-up + duration seconds, loopback only):
#   typing  one pad, $TYPISTS typists at $RATE keys/s + $WATCHERS watchers: propagation latency
#           typist → every other client (p50/p99/max), server CPU and RSS; for opencoder also the
#           bytes per keystroke in the update log after compaction (graceful stop, then the DB).
#   idle    $IDLE_PADS pads × 2 idle clients: server RSS.
#
# Environment: SCENARIOS ("typing idle"), TYPISTS (50), WATCHERS (200), RATE (10), DURATION (20),
# WARMUP (3), IDLE_PADS (1000), IDLE_HOLD (10), BENCH_RUST_LOG (warn).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

SCENARIOS="${SCENARIOS:-typing idle}"
TYPISTS="${TYPISTS:-50}"
WATCHERS="${WATCHERS:-200}"
RATE="${RATE:-10}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
IDLE_PADS="${IDLE_PADS:-1000}"
IDLE_HOLD="${IDLE_HOLD:-10}"
REFERENCE_PKG="@y/websocket-server@0.1.1"

load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "warning: load average is $load on $(nproc) cores; other work will skew the figures" >&2
fi
# Thousands of sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release -p opencoder -p oc-bench >&2

work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

echo "installing $REFERENCE_PKG (and its yjs peer) into a temporary directory" >&2
(cd "$work" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund --loglevel=error "$REFERENCE_PKG" yjs >&2)
reference_js="$work/node_modules/@y/websocket-server/src/server.js"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() {
    local port="$1" log="$2"
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "the server exited:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.05
    done
    echo "the server did not listen on $port within 10 s:" >&2
    cat "$log" >&2
    exit 1
}

# start_ours DATA_DIR → sets server_pid, port
start_ours() {
    local data_dir="$1"
    port="$(free_port)"
    DATA_DIR="$data_dir" HOST=127.0.0.1 PORT="$port" RUST_LOG="${BENCH_RUST_LOG:-warn}" \
        RATE_LIMIT_PER_MINUTE=100000000 SIGNUP_RATE_LIMIT_PER_MINUTE=10000 EXEC_POOL="" EXEC_REMOVE_LEFTOVERS=0 \
        "$root/target/release/opencoder" serve >"$data_dir/server.log" 2>&1 &
    server_pid=$!
    wait_for_port "$port" "$data_dir/server.log"
}

start_reference() {
    local log="$1"
    port="$(free_port)"
    HOST=127.0.0.1 PORT="$port" node "$reference_js" >"$log" 2>&1 &
    server_pid=$!
    wait_for_port "$port" "$log"
}

results="$work/results.jsonl"
: >"$results"

bench() {
    "$root/target/release/oc-bench" collab --json --pid "$server_pid" --url "http://127.0.0.1:$port" "$@" | tee -a "$results" >&2
}

for scenario in $SCENARIOS; do
    case "$scenario" in
        typing)
            load_args=(--pads 1 --typists "$TYPISTS" --watchers "$WATCHERS" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP")
            data="$work/ours-typing"; mkdir -p "$data"
            start_ours "$data"
            bench --server opencoder --label "typing/opencoder" "${load_args[@]}"
            stop_server # graceful: flushes the log and checkpoints
            python3 - "$data/opencoder.db" "$results" <<'EOF' >>"$results"
import json, os, sqlite3, sys
db, results = sys.argv[1], sys.argv[2]
run = [json.loads(l) for l in open(results) if l.strip()][-1]
keys = run["keystrokesTotal"]
con = sqlite3.connect(db)
pad = con.execute("SELECT pad_id FROM doc_updates GROUP BY pad_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
rows, log_bytes = con.execute("SELECT COUNT(*), SUM(LENGTH(update_bytes)) FROM doc_updates WHERE pad_id = ?", (pad,)).fetchone()
cps, cp_bytes = con.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(state)) + SUM(LENGTH(state_vector)), 0) FROM doc_checkpoints WHERE pad_id = ?", (pad,)).fetchone()
latest = con.execute("SELECT LENGTH(state) FROM doc_checkpoints WHERE pad_id = ? ORDER BY upto_update_id DESC LIMIT 1", (pad,)).fetchone()
con.close()
print(json.dumps({
    "bench": "collab-storage", "label": "storage/opencoder", "keystrokes": keys, "logRows": rows,
    "logBytes": log_bytes, "checkpoints": cps, "checkpointBytes": cp_bytes,
    "latestCheckpointBytes": latest[0] if latest else 0,
    "logBytesPerKeystroke": round(log_bytes / keys, 1),
    "logAndCheckpointBytesPerKeystroke": round((log_bytes + cp_bytes) / keys, 1),
    "dbFileBytesPerKeystroke": round(os.path.getsize(db) / keys, 1),
}))
EOF
            tail -n1 "$results" >&2
            start_reference "$work/reference-typing.log"
            bench --server y-websocket --label "typing/reference" "${load_args[@]}"
            stop_server
            ;;
        idle)
            idle_args=(--pads "$IDLE_PADS" --typists 0 --watchers 2 --duration "$IDLE_HOLD" --warmup 0)
            data="$work/ours-idle"; mkdir -p "$data"
            start_ours "$data"
            bench --server opencoder --label "idle/opencoder" "${idle_args[@]}"
            stop_server
            start_reference "$work/reference-idle.log"
            bench --server y-websocket --label "idle/reference" "${idle_args[@]}"
            stop_server
            ;;
        *)
            echo "unknown scenario $scenario" >&2
            exit 2
            ;;
    esac
done

python3 - "$results" <<'EOF'
import json, sys
runs = {}
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        runs[r["label"]] = r
def get(label, key):
    return runs.get(label, {}).get(key)
machine = next((r["machine"] for r in runs.values() if "machine" in r), {})
print(f"oc-bench collab — {machine.get('nproc')} cores, {machine.get('cpuModel')}, commit {machine.get('commit')}")
if "typing/opencoder" in runs:
    o, y = runs["typing/opencoder"], runs.get("typing/reference", {})
    print(f"\ntyping: 1 pad, {o['typistsPerPad']} typists × {o['keysPerSecondPerTypist']}/s + {o['watchersPerPad']} watchers, {o['durationSecs']} s")
    print(f"{'':24}{'opencoder':>12}{'reference':>12}{'ref/ours':>10}")
    for key, name in [("p50Ms", "p50 ms"), ("p99Ms", "p99 ms"), ("p999Ms", "p99.9 ms"), ("maxMs", "max ms"),
                      ("serverCpuPercent", "server CPU %"), ("serverRssPeakMiB", "server RSS peak MiB"),
                      ("deliveries", "deliveries"), ("expectedDeliveries", "expected deliveries"), ("closedEarly", "closed early")]:
        a, b = o.get(key), y.get(key)
        ratio = f"{b / a:.2f}×" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a else ""
        print(f"{name:24}{a if a is not None else '-':>12}{b if b is not None else '-':>12}{ratio:>10}")
if "storage/opencoder" in runs:
    s = runs["storage/opencoder"]
    print(f"\nupdate log after compaction: {s['keystrokes']} keystrokes, {s['logRows']} rows, {s['checkpoints']} checkpoint(s)")
    print(f"  log bytes / keystroke:              {s['logBytesPerKeystroke']}")
    print(f"  log + checkpoints bytes / keystroke: {s['logAndCheckpointBytesPerKeystroke']}")
    print(f"  whole DB file bytes / keystroke:     {s['dbFileBytesPerKeystroke']}")
if "idle/opencoder" in runs:
    o, y = runs["idle/opencoder"], runs.get("idle/reference", {})
    print(f"\nidle: {o['pads']} pads × 2 clients")
    print(f"{'':24}{'opencoder':>12}{'reference':>12}")
    for key, name in [("serverRssBeforeMiB", "RSS before MiB"), ("serverRssPeakMiB", "RSS peak MiB"), ("serverRssEndMiB", "RSS end MiB"),
                      ("serverCpuPercent", "server CPU %"), ("connectSecs", "setup s"), ("closedEarly", "closed early")]:
        print(f"{name:24}{str(o.get(key, '-')):>12}{str(y.get(key, '-')):>12}")
EOF
