#!/usr/bin/env bash
# Several nodes: the same pad load against one node on SQLite, one node on PostgreSQL, and two
# nodes on PostgreSQL + Redis, in one run. For the two nodes, each pad's clients are spread over
# both (a pad's typist and its first watcher on different nodes), so most deliveries cross nodes;
# cross-node propagation is reported apart, with each node's CPU and RSS, and lost (expected minus
# delivered) and duplicated updates.
#
# Environment: PADS (500), TYPISTS (1 per pad), WATCHERS (2 per pad), RATE (0.7 keys/s per
# typist: 350 updates/s at 500 pads), DURATION (20), WARMUP (3), CONFIGS ("sqlite postgres
# cluster"), BENCH_RUST_LOG ("warn,opencoder=info": the start-up line, not
# the request log). Extra arguments go to every `oc-bench collab` run.
set -euo pipefail
source "$(dirname "$0")/server.sh"
cd "$bench_root"
warn_if_busy
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PADS="${PADS:-500}"
TYPISTS="${TYPISTS:-1}"
WATCHERS="${WATCHERS:-2}"
RATE="${RATE:-0.7}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CONFIGS="${CONFIGS:-sqlite postgres cluster}"
export BENCH_RUST_LOG="${BENCH_RUST_LOG:-warn,opencoder=info}"
# The nodes of one cluster sign each other's tokens.
SECRET="bench-cluster-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

scripts/ensure-postgres.sh
scripts/ensure-redis.sh
cargo build --release -p opencoder -p oc-bench >&2

results="$(mktemp)"
trap 'bench_cleanup; rm -f "$results"' EXIT
load=(--pads "$PADS" --typists "$TYPISTS" --watchers "$WATCHERS" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP")
collab() {
    "$bench_root/target/release/oc-bench" collab --json "${load[@]}" "$@" | tee -a "$results" >&2
}

for config in $CONFIGS; do
    case "$config" in
        sqlite)
            start_opencoder EXEC_POOL= JWT_SECRET="$SECRET"
            collab --label "1 node, SQLite" --url "http://$server_addr" --pid "$server_pid" "$@"
            ;;
        postgres)
            start_postgres
            start_opencoder EXEC_POOL= JWT_SECRET="$SECRET" DATABASE_URL="$pg_url"
            collab --label "1 node, PostgreSQL" --url "http://$server_addr" --pid "$server_pid" "$@"
            ;;
        cluster)
            start_postgres
            start_redis
            start_opencoder EXEC_POOL= JWT_SECRET="$SECRET" DATABASE_URL="$pg_url" REDIS_URL="$redis_url"
            first_addr="$server_addr" first_pid="$server_pid"
            start_opencoder EXEC_POOL= JWT_SECRET="$SECRET" DATABASE_URL="$pg_url" REDIS_URL="$redis_url"
            collab --label "2 nodes, PostgreSQL + Redis" \
                --url "http://$first_addr" --pid "$first_pid" --url "http://$server_addr" --pid "$server_pid" "$@"
            ;;
        *)
            echo "unknown config $config (sqlite, postgres, cluster)" >&2
            exit 2
            ;;
    esac
    bench_cleanup
    bench_pids=()
    bench_dirs=()
done

python3 - "$results" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not runs:
    sys.exit("no results")
m = runs[0]["machine"]
print(f"machine: {m['nproc']} cores, {m['cpuModel']} ({m['os']}); commit {m['commit']}")
r0 = runs[0]
print(f"load: {r0['pads']} pads x ({r0['typistsPerPad']} typist at {r0['keysPerSecondPerTypist']}/s + {r0['watchersPerPad']} watchers), {r0['durationSecs']} s")
def fmt(v):
    return "-" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v}")
rows = [("p50 ms", "p50Ms"), ("p99 ms", "p99Ms"), ("max ms", "maxMs"), ("cross-node p50 ms", "crossNodeP50Ms"),
        ("cross-node p99 ms", "crossNodeP99Ms"), ("deliveries", "deliveries"), ("expected", "expectedDeliveries"),
        ("duplicates", "duplicates"), ("closed early", "closedEarly"), ("server CPU % (all nodes)", "serverCpuPercent"),
        ("server RSS peak MiB (all nodes)", "serverRssPeakMiB"), ("generator CPU %", "generatorCpuPercent"),
        ("generator lag p99 ms", "generatorLagP99Ms")]
width = max(len(r["label"]) for r in runs) + 2
print("".ljust(32) + "".join(r["label"].rjust(width) for r in runs))
for name, key in rows:
    print(name.ljust(32) + "".join(fmt(r.get(key)).rjust(width) for r in runs))
for r in runs:
    if len(r.get("nodes", [])) > 1:
        for n in r["nodes"]:
            print(f"  {r['label']}: {n['url']} CPU {fmt(n['cpuPercent'])} %, RSS peak {fmt(n['rssPeakMiB'])} MiB")
    lost = r["expectedDeliveries"] - r["deliveries"]
    if lost > 0:
        print(f"  {r['label']}: {lost} deliveries missing")
PY
