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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
SUITE="${BASE_SUITE:-bookworm}"

# shellcheck source=lib/debian-image.sh
. "$here/lib/debian-image.sh"

debian_image_args "$@"
debian_image_require_docker

if [ "$force" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

debian_image_require_mmdebstrap

# Besides the common clean-up: sources for apt in later build stages (bookworm, -updates,
# -security, as Debian's own image has them), no machine id.
debian_opts=(--customize-hook='rm -f "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"')
debian_mirrors=(
  "deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main"
)
debian_changes=('CMD ["bash"]')
log "building $IMAGE from Debian $SUITE (mmdebstrap, variant minbase)"
debian_image_build "$IMAGE" "$SUITE"
