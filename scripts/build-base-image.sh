#!/usr/bin/env bash
# Make the base image every Dockerfile under deploy/ starts from (`FROM debian:bookworm-slim`)
# without a registry: a minimal Debian tree from mmdebstrap, `docker import`ed under that tag.
#
#   scripts/build-base-image.sh [--force]
#
# Skipped when the tag already exists (pulled from a registry or made here before), unless
# --force. Where a registry is reachable this script is not needed: `docker build` pulls the tag.
# The tree is what Debian's own slim image holds: the essential packages plus apt (so later
# stages can `apt-get install`), with the same sources (bookworm, -updates, -security), no docs,
# man pages or locales.
#
# Environment: BASE_IMAGE (default debian:bookworm-slim), BASE_SUITE (default bookworm),
#              TMPDIR (where the root tarball is staged, ~100 MB).
set -euo pipefail

IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
SUITE="${BASE_SUITE:-bookworm}"

log() { echo "build-base-image: $*" >&2; }
die() { echo "build-base-image: ERROR: $*" >&2; exit 1; }

force=0
for a in "$@"; do
  case "$a" in
    --force|-f) force=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done

command -v docker >/dev/null || die "docker CLI not found: run scripts/ensure-docker.sh first"
timeout 20 docker info >/dev/null 2>&1 || die "the Docker daemon does not answer: run scripts/ensure-docker.sh first"

if [ "$force" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  log "installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -y -q -o DPkg::Lock::Timeout=900 install --no-install-recommends mmdebstrap >&2 || {
    apt-get -y -q -o DPkg::Lock::Timeout=900 update >&2
    apt-get -y -q -o DPkg::Lock::Timeout=900 install --no-install-recommends mmdebstrap >&2
  } || die "could not install mmdebstrap"
fi
[ "$(id -u)" = 0 ] || die "mmdebstrap needs root here (run as root)"

work="$(mktemp -d "${TMPDIR:-/tmp}/opencoder-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarball="$work/rootfs.tar"

start=$(date +%s)
log "building $IMAGE from Debian $SUITE (mmdebstrap, variant minbase)"
# The customize hooks leave what a container base should hold: sources for apt in later build
# stages (the tree's own apt lists are dropped: a stage runs `apt-get update` first), the dpkg
# excludes kept for those installs too, no machine id, an empty /tmp.
mmdebstrap \
  --variant=minbase \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='chmod 1777 "$1/tmp"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
  --customize-hook='rm -f "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"' \
  "$SUITE" "$tarball" \
  "deb http://deb.debian.org/debian $SUITE main" \
  "deb http://deb.debian.org/debian $SUITE-updates main" \
  "deb http://deb.debian.org/debian-security $SUITE-security main" \
  </dev/null >&2 || die "mmdebstrap failed"
mid=$(date +%s)

docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  "$tarball" "$IMAGE" >/dev/null || die "docker import failed"
end=$(date +%s)
log "built $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')) in $((end - start))s (mmdebstrap $((mid - start))s, import $((end - mid))s)"
