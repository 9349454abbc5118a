#!/usr/bin/env bash
# HTTP API benchmark: build opencoder and oc-bench in release, start the server on an ephemeral
# loopback port with a throwaway DATA_DIR and rate limits out of the way, run `oc-bench http`,
# stop the server. Extra arguments go to `oc-bench http` (e.g. -c 128 -d 30 --json).
#
# Environment: BENCH_RUST_LOG (default "info": the server logs every request, as in production;
# "warn,opencoder=info" measures without the request log); BENCH_DATABASE (default "sqlite";
# "postgres": a throwaway PostgreSQL started here).
set -euo pipefail
source "$(dirname "$0")/server.sh"
cd "$bench_root"
warn_if_busy

cargo build --release -p opencoder -p oc-bench >&2
case "${BENCH_DATABASE:-sqlite}" in
    sqlite) start_opencoder EXEC_POOL= ;;
    postgres)
        scripts/ensure-postgres.sh
        start_postgres
        start_opencoder EXEC_POOL= DATABASE_URL="$pg_url"
        ;;
    *) echo "BENCH_DATABASE must be sqlite or postgres" >&2; exit 2 ;;
esac
"$bench_root/target/release/oc-bench" http --url "http://$server_addr" --server-pid "$server_pid" "$@"
