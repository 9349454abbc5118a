#!/usr/bin/env bash
# Load the runner image into a Docker host listed in EXEC_DOCKER_HOSTS, from the local daemon
# (where scripts/build-runner-image.sh builds it). Does nothing when the host already has the
# same image (same id).
#
#   scripts/load-runner-image.sh HOST [IMAGE]     # HOST: unix:///run/oc-docker2.sock, tcp://…
set -euo pipefail

log() { echo "load-runner-image: $*" >&2; }
die() { echo "load-runner-image: ERROR: $*" >&2; exit 1; }

HOST="${1:-}"
IMAGE="${2:-${EXEC_IMAGE:-opencoder-runner:latest}}"
[ -n "$HOST" ] || die "usage: $0 HOST [IMAGE]"

# The source is the local daemon, whatever DOCKER_HOST says.
SOURCE_ID="$(DOCKER_HOST= docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null)" \
  || die "$IMAGE is not on the local daemon; build it with scripts/build-runner-image.sh"
TARGET_ID="$(docker -H "$HOST" image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
if [ "$SOURCE_ID" = "$TARGET_ID" ]; then
  log "$HOST already has $IMAGE"
  exit 0
fi
log "loading $IMAGE into $HOST"
DOCKER_HOST= docker save "$IMAGE" | docker -H "$HOST" load >&2 || die "loading $IMAGE into $HOST failed"
TARGET_ID="$(docker -H "$HOST" image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
[ "$SOURCE_ID" = "$TARGET_ID" ] || die "$HOST has a different $IMAGE after loading ($TARGET_ID, expected $SOURCE_ID)"
log "$HOST has $IMAGE"
