#!/usr/bin/env bash
# Build the images deploy/compose.cluster.yaml runs besides the server, from Debian packages:
#   opencoder-postgres:15   deploy/postgres/   PostgreSQL 15
#   opencoder-redis:7       deploy/redis/      Redis 7
#   opencoder-proxy:1       deploy/proxy/      nginx with WebSocket upgrade and pad affinity
#
#   scripts/build-cluster-images.sh [--force]
#
# Each image carries the label opencoder.deploy.recipe=<sha256 of its directory's files>; an image
# whose label matches is kept, unless --force. The base image comes from
# scripts/build-base-image.sh when no registry has it; apt must reach a Debian mirror.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

log() { echo "build-cluster-images: $*" >&2; }
die() { echo "build-cluster-images: ERROR: $*" >&2; exit 1; }

force=0
for a in "$@"; do
  case "$a" in
    --force|-f) force=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done

command -v docker >/dev/null || die "docker CLI not found: run scripts/ensure-docker.sh first"
"$here/build-base-image.sh"

build_log="$(mktemp)"
trap 'rm -f "$build_log"' EXIT

build() {
  local dir="$root/deploy/$1" image="$2" recipe have start previous
  recipe="$(cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)"
  if [ "$force" = 0 ]; then
    have="$(docker image inspect --format '{{ index .Config.Labels "opencoder.deploy.recipe" }}' "$image" 2>/dev/null || true)"
    [ "$have" = "$recipe" ] && return 0
  fi
  previous="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  start=$(date +%s)
  # --network host: apt reaches the mirror without the default bridge (some CI hosts run dockerd
  # without a usable docker0); nothing else differs.
  # The output is shown only on failure (the legacy builder's deprecation notice is noise).
  if ! docker build --network host --force-rm --label "opencoder.deploy.recipe=$recipe" -t "$image" "$dir" >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    die "docker build of $image failed"
  fi
  # The image the tag named before is left untagged: remove it (kept while a container uses it).
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
  fi
  log "built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')) in $(( $(date +%s) - start ))s"
}

build postgres opencoder-postgres:15
build redis opencoder-redis:7
build proxy opencoder-proxy:1
