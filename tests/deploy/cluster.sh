#!/usr/bin/env bash
# The deployed cluster, end to end: builds the images (server image from an existing binary, the
# PostgreSQL/Redis/proxy images from Debian packages, each skipped when up to date), brings
# deploy/compose.cluster.yaml up under a unique project name on free ports, waits for health,
# runs tests/deploy/smoke.mjs through the proxy and against each node, and tears everything down
# (containers, networks, volumes, the test's server image, sandbox containers its nodes made),
# on failure too.
#
#   tests/deploy/cluster.sh        (make test-deploy runs it through tests/deploy/run.sh)
#
# Environment and what it needs: see tests/deploy/lib.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

deploy_preflight
deploy_project deploy
deploy_compose "$root/deploy/compose.cluster.yaml" "$here/compose.test.yaml"
deploy_nodes=("$project-node1" "$project-node2")

"$root/scripts/build-cluster-images.sh"
deploy_server_image
log "images ready at $(elapsed)"

# Everything compose reads, from this environment only (a deploy/.env of the developer's is
# overridden by these).
export OPENCODER_IMAGE="$image"
export NODE_ID_PREFIX="$project"
export JWT_SECRET="$(random_hex 32)"
export POSTGRES_PASSWORD="$(random_hex 16)"
export REDIS_PASSWORD="$(random_hex 16)"
export DOCKER_GID="$(stat -c %g /var/run/docker.sock)"
export PROXY_PORT=""          # a free port Docker picks
export BIND_ADDRESS=127.0.0.1
export OPENCODER_ENV=production
unset DOCKER_HOST EXEC_DOCKER_HOSTS METRICS_TOKEN PUBLIC_BASE_URL ALLOWED_ORIGINS EXEC_POOL

deploy_up
log "cluster up (every node healthy) at $(elapsed)"

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
