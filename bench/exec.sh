#!/usr/bin/env bash
# Code-execution benchmark (SPEC §5): hello-world runs over HTTP for Python, JavaScript and C,
# first against a server with a warm pool (python, javascript, c), then against one without
# (cold: every run creates its container), plus a plain `docker run --rm` of the same image and
# command under the same flags as the baseline, and `docker exec` of python3 and node into a
# running container under those flags (the floor of starting an interpreter), in the same run. Needs Docker and the runner
# image (scripts/ensure-docker.sh, scripts/build-runner-image.sh).
#
# Targets on 2 cores: Python warm p50 <= 60 ms, cold p50 <= 350 ms, >= 20 warm runs/s; C with a
# compile-cache hit within 1.5x of the Python warm p50.
# When the daemon lists gVisor's runsc (scripts/ensure-gvisor.sh), the same warm and cold rounds
# and the baseline run again with EXEC_RUNTIME=runsc, side by side with the default runtime.
# Per host: a second Docker daemon on this machine (scripts/start-second-docker.sh, left
# running) is measured alone over its unix socket and over tcp:// with TLS client certificates
# (what a remote engine costs in transport), then both engines as EXEC_DOCKER_HOSTS with the
# throughput round reporting how many runs each host took. Both daemons share this machine's
# cores, so two hosts here measure placement and transport, not added capacity.
# EXEC_BENCH_HOSTS=0 skips the per-host rounds.
# Extra arguments go to every `oc-bench exec` call (e.g. -n 50 --gap-ms 500).
set -euo pipefail
source "$(dirname "$0")/server.sh"
cd "$bench_root"
warn_if_busy

cargo build --release -p opencoder -p oc-bench >&2
image="${EXEC_IMAGE:-opencoder-runner:latest}"

start_opencoder EXEC_POOL=python=4,javascript=2,c=2 EXEC_CONCURRENCY=8 EXEC_PER_USER_CONCURRENCY=2
"$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label warm --baseline-image "$image" "$@"

start_opencoder EXEC_POOL= EXEC_CONCURRENCY=8
"$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label cold --clients 0 "$@"

if docker info --format '{{json .Runtimes}}' | grep -q '"runsc"'; then
    start_opencoder EXEC_RUNTIME=runsc EXEC_POOL=python=4,javascript=2,c=2 EXEC_CONCURRENCY=8 EXEC_PER_USER_CONCURRENCY=2
    "$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label "warm runsc" \
        --baseline-image "$image" --baseline-runtime runsc "$@"
    start_opencoder EXEC_RUNTIME=runsc EXEC_POOL= EXEC_CONCURRENCY=8
    "$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label "cold runsc" --clients 0 "$@"
else
    echo "runsc is not registered (scripts/ensure-gvisor.sh): no gVisor figures" >&2
fi

if [[ "${EXEC_BENCH_HOSTS:-1}" != 0 ]]; then
    mapfile -t second < <("$bench_root/scripts/start-second-docker.sh")
    unix_host="${second[0]}" tls_host="${second[1]}" tls_dir="${second[2]}/client"
    first_host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    pool=(EXEC_POOL=python=4,javascript=2,c=2 EXEC_CONCURRENCY=8 EXEC_PER_USER_CONCURRENCY=2)
    start_opencoder "${pool[@]}" EXEC_DOCKER_HOSTS="$unix_host=8"
    "$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label "warm, 2nd host (unix)" --clients 0 "$@"
    start_opencoder "${pool[@]}" EXEC_DOCKER_HOSTS="$tls_host=8;tls=$tls_dir"
    "$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label "warm, 2nd host (tcp+TLS)" --clients 0 "$@"
    start_opencoder "${pool[@]}" EXEC_DOCKER_HOSTS="$first_host=8,$unix_host=8"
    "$bench_root/target/release/oc-bench" exec --url "http://$server_addr" --label "warm, two hosts" "$@"
fi
