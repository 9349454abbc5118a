#!/usr/bin/env bash
# The deployed cluster, end to end: builds the images (server image from an existing binary, the
# PostgreSQL/Redis/proxy images from Debian packages, each skipped when up to date), brings
# deploy/compose.cluster.yaml up under a unique project name on free ports, waits for health,
# runs tests/deploy/smoke.mjs through the proxy and against each node, and tears everything down
# (containers, networks, volumes, the test's server image, sandbox containers its nodes made),
# on failure too.
#
#   tests/deploy/cluster.sh        (make test-deploy)
#
# Environment: OPENCODER_BIN (default target/debug/opencoder: no release build here),
#              WEB_DIST (default web/dist), DEPLOY_UP_TIMEOUT (seconds, default 300).
# Needs Docker, docker-compose, the runner image and tests/interop's node modules; fails (never
# skips) when one is missing, saying how to get it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BIN="${OPENCODER_BIN:-$root/target/debug/opencoder}"
WEB="${WEB_DIST:-$root/web/dist}"
UP_TIMEOUT="${DEPLOY_UP_TIMEOUT:-300}"

log() { echo "deploy test: $*" >&2; }
fail() { echo "deploy test: FAILED: $*" >&2; exit 1; }
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }

command -v docker >/dev/null 2>&1 || fail "the docker CLI is not installed (run scripts/ensure-docker.sh)"
timeout 20 docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (run scripts/ensure-docker.sh)"
command -v docker-compose >/dev/null 2>&1 || fail "docker-compose is not installed (run scripts/ensure-docker-compose.sh)"
[ -x "$BIN" ] || fail "no server binary at $BIN (cargo build -p opencoder, or set OPENCODER_BIN)"
[ -f "$WEB/index.html" ] || fail "no built web client at $WEB (make web, or set WEB_DIST)"
[ -d "$root/tests/interop/node_modules/yjs" ] || fail "tests/interop's modules are missing (cd tests/interop && npm ci)"
[ -S /var/run/docker.sock ] || fail "no Docker socket at /var/run/docker.sock (the compose file mounts it into the nodes)"
docker image inspect opencoder-runner:latest >/dev/null 2>&1 \
  || fail "the sandbox image opencoder-runner:latest is missing (run scripts/build-runner-image.sh)"

project="ocdeploy$(date +%s)$$"
image="opencoder-deploy-test:$project"
compose=(docker-compose -p "$project" -f "$root/deploy/compose.cluster.yaml" -f "$here/compose.test.yaml")

# Everything compose reads, from this environment only (a deploy/.env of the developer's is
# overridden by these).
export OPENCODER_IMAGE="$image"
export NODE_ID_PREFIX="$project"
export JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export POSTGRES_PASSWORD="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export REDIS_PASSWORD="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export DOCKER_GID="$(stat -c %g /var/run/docker.sock)"
export PROXY_PORT=""          # a free port Docker picks
export BIND_ADDRESS=127.0.0.1
export OPENCODER_ENV=production
unset DOCKER_HOST EXEC_DOCKER_HOSTS METRICS_TOKEN PUBLIC_BASE_URL ALLOWED_ORIGINS EXEC_POOL

cleanup() {
  local status=$?
  if [ "$status" != 0 ] && [ -n "${brought_up:-}" ]; then
    log "service states and logs (last lines of each):"
    "${compose[@]}" ps >&2 || true
    "${compose[@]}" logs --no-color --tail 60 >&2 || true
  fi
  if [ -n "${brought_up:-}" ]; then
    "${compose[@]}" down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 \
      || log "docker-compose down failed: remove project $project by hand"
  fi
  # Sandbox containers the nodes started (labelled with their NODE_ID) that outlived them.
  local leftovers
  leftovers="$(docker ps -aq --filter "label=opencoder.sandbox.node=$project-node1"; \
               docker ps -aq --filter "label=opencoder.sandbox.node=$project-node2")" || true
  [ -z "$leftovers" ] || docker rm -f $leftovers >/dev/null 2>&1 || true
  docker image rm "$image" >/dev/null 2>&1 || true
  if [ "$status" = 0 ]; then log "passed in $(elapsed)"; else log "FAILED after $(elapsed)"; fi
  exit "$status"
}
trap cleanup EXIT
# Interrupted: exit (non-zero), which runs the clean-up.
trap 'exit 130' INT TERM

"$root/scripts/build-cluster-images.sh"
"$root/scripts/build-server-image.sh" --binary "$BIN" --web "$WEB" --tag "$image"
log "images ready at $(elapsed)"

# What the image promises: a fixed non-root user, the data volume, the port, the health check.
facts="$(docker image inspect --format '{{.Config.User}} {{json .Config.Volumes}} {{json .Config.ExposedPorts}} {{json .Config.Healthcheck.Test}}' "$image")"
[ "$facts" = '10001:10001 {"/var/lib/opencoder":{}} {"4000/tcp":{}} ["CMD","opencoder","healthcheck"]' ] \
  || fail "the server image's configuration is not what deploy/Dockerfile promises: $facts"

brought_up=1
# `up` starts the services in dependency order, each after what it depends on is healthy; it
# fails when one never gets there.
up_log="$(mktemp)"
if ! timeout "$UP_TIMEOUT" "${compose[@]}" up -d --no-build >"$up_log" 2>&1; then
  cat "$up_log" >&2; rm -f "$up_log"
  fail "docker-compose up did not bring the cluster up within ${UP_TIMEOUT}s"
fi
rm -f "$up_log"
log "cluster up (every node healthy) at $(elapsed)"

port_of() {
  local mapped
  mapped="$("${compose[@]}" port "$1" "$2")" || fail "no published port $2 for $1"
  echo "http://127.0.0.1:${mapped##*:}"
}
proxy="$(port_of proxy 8080)"
node1="$(port_of node1 4000)"
node2="$(port_of node2 4000)"
log "proxy $proxy, node1 $node1, node2 $node2"
# The image's own HEALTHCHECK command, inside a running node, and the user the server runs as.
"${compose[@]}" exec -T node1 opencoder healthcheck || fail "opencoder healthcheck failed inside node1"
[ "$("${compose[@]}" exec -T node1 id -u | tr -d '\r')" = 10001 ] || fail "node1 does not run as uid 10001"

smoke_log="$(mktemp)"
node "$here/smoke.mjs" "$proxy" "$node1" "$node2" | tee "$smoke_log" || { rm -f "$smoke_log"; fail "the smoke check failed"; }
slug="$(sed -n 's/^deploy smoke: pad //p' "$smoke_log")"
rm -f "$smoke_log"

# The proxy's log: one pad's requests all went to one node (affinity), and no invite token in it.
proxy_log="$("${compose[@]}" logs --no-color proxy)"
pad_upstreams="$(grep -E "\"[A-Z]+ /(api/pads|ws/pad)/$slug[/\"]" <<<"$proxy_log" \
  | sed -n 's/.* upstream=//p' | sort -u)"
[ -n "$pad_upstreams" ] || fail "the proxy logged no request of pad $slug"
[ "$(wc -l <<<"$pad_upstreams")" = 1 ] || fail "pad $slug's requests went to several nodes: $pad_upstreams"
if grep -E '"[A-Z]+ [^"]*/invites/[^[/"]' <<<"$proxy_log" >&2; then
  fail "the proxy logged an invite token (above)"
fi
grep -q '/api/invites/\[redacted\]/accept' <<<"$proxy_log" || fail "the proxy did not log the invite acceptance redacted"
log "pad $slug: every request went to $pad_upstreams; invite tokens redacted in the proxy's log"
