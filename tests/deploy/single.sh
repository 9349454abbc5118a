#!/usr/bin/env bash
# One node, end to end: brings deploy/compose.yaml (SQLite on a named volume, runs through the
# host's Docker) up with the server image under a unique project name on a free loopback port,
# runs tests/deploy/single.mjs (sign-up, a pad, a Yjs edit seen by a second client, a run), takes
# the service down and up again, checks the pad outlived it on the data volume, and tears
# everything down, on failure too.
#
#   tests/deploy/single.sh        (make test-deploy runs it through tests/deploy/run.sh)
#
# Environment and what it needs: see tests/deploy/lib.sh; DEPLOY_COMPOSE_FILE replaces
# deploy/compose.yaml (to check the test fails on a broken one).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

deploy_preflight
deploy_project single
deploy_compose "${DEPLOY_COMPOSE_FILE:-$root/deploy/compose.yaml}"
deploy_nodes=("$project")
deploy_server_image

# Everything compose reads, from this environment only (a deploy/.env of the developer's is
# overridden by these). compose.yaml publishes a fixed port (4000 by default): a free one, kept
# across down/up.
export OPENCODER_IMAGE="$image"
export NODE_ID="$project"
export JWT_SECRET="$(random_hex 32)"
export DOCKER_GID="$(stat -c %g /var/run/docker.sock)"
export BIND_ADDRESS=127.0.0.1
export PORT="$(node --input-type=module -e "import { freePort } from '$root/tests/interop/support.mjs'; console.log(await freePort())")"
export OPENCODER_ENV=production
# No warm containers: the test shares its Docker engine with other suites.
export EXEC_POOL=""
unset DOCKER_HOST EXEC_DOCKER_HOSTS METRICS_TOKEN PUBLIC_BASE_URL ALLOWED_ORIGINS

base="http://127.0.0.1:$PORT"
state="$(mktemp)"
deploy_files+=("$state")

deploy_up
log "node up at $base at $(elapsed)"
node "$here/single.mjs" before "$base" "$state" || fail "the smoke check failed"

# What `down` leaves besides the named volumes: anonymous volumes of the removed container (a
# volume path that misses the image's VOLUME makes one); the clean-up removes them.
container="$("${compose[@]}" ps -q opencoder)"
mapfile -t anonymous < <(docker inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' "$container" \
  | grep -v "^${project}_" | grep -v '^$' || true)
deploy_volumes+=(${anonymous[@]+"${anonymous[@]}"})
"${compose[@]}" down --timeout 30 >/dev/null 2>&1 || fail "docker-compose down failed"
deploy_up
log "down and up again at $(elapsed)"
node "$here/single.mjs" after "$base" "$state" || fail "the pad did not outlive down/up"
