#!/usr/bin/env bash
# The deploy tests (make test-deploy): builds the server image once from the binary and the web
# client, then runs tests/deploy/single.sh (deploy/compose.yaml) and tests/deploy/cluster.sh
# (deploy/compose.cluster.yaml) with it, and removes it, on failure too.
#
#   tests/deploy/run.sh
#
# Environment and what it needs: see tests/deploy/lib.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

deploy_preflight
deploy_project run
deploy_server_image
log "server image $image ready at $(elapsed)"
DEPLOY_IMAGE="$image" "$here/single.sh"
DEPLOY_IMAGE="$image" "$here/cluster.sh"
