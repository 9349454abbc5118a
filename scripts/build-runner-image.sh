#!/usr/bin/env bash
# Build the sandbox image `opencoder-runner:latest` from Debian packages, offline-capable:
# every language toolchain is inside the image, nothing is fetched at run time.
#
#   scripts/build-runner-image.sh [--force]
#
# Uses mmdebstrap (no Docker build, no registry pulls): a minbase Debian tree with the packages
# of deploy/runner/packages.txt, post-processed, then `docker import`ed.
# The image carries the label opencoder.runner.recipe=<sha256 of packages.txt + recipe version>;
# the build is skipped when an image with the same label exists, unless --force.
#
# Environment: RUNNER_IMAGE (default opencoder-runner:latest), RUNNER_SUITE (default bookworm),
#              TMPDIR (where the root tarball is staged, ~3.5 GB).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
PKGS_FILE="$root/deploy/runner/packages.txt"
IMAGE="${RUNNER_IMAGE:-opencoder-runner:latest}"
SUITE="${RUNNER_SUITE:-bookworm}"
# Bump when the post-processing below changes, so existing images get rebuilt.
RECIPE_VERSION=4

# shellcheck source=lib/debian-image.sh
. "$here/lib/debian-image.sh"

debian_image_args "$@"
[ -f "$PKGS_FILE" ] || die "missing $PKGS_FILE"
debian_image_require_docker

packages="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$PKGS_FILE" | grep -v '^$' | sort -u | paste -sd, -)"
[ -n "$packages" ] || die "no packages in $PKGS_FILE"
recipe="$( { echo "recipe=$RECIPE_VERSION suite=$SUITE"; echo "$packages"; } | sha256sum | cut -c1-32)"

if [ "$force" = 0 ]; then
  have="$(docker image inspect --format '{{ index .Config.Labels "opencoder.runner.recipe" }}' "$IMAGE" 2>/dev/null || true)"
  if [ "$have" = "$recipe" ]; then
    log "$IMAGE is up to date (recipe $recipe); use --force to rebuild"
    exit 0
  elif [ -n "$have" ]; then
    log "$IMAGE has recipe $have, want $recipe: rebuilding"
  fi
fi

debian_image_require_mmdebstrap

# Besides the common clean-up (customize hooks run on the finished tree "$1"):
#  - strip setuid/setgid bits (defence in depth on top of no-new-privileges).
#  - drop the static archives of the GHC API and Cabal libraries (programs link against base and
#    the other boot libraries, the compiler itself uses the shared ones) and the Python libraries'
#    own test suites (removed after installing: the packages byte-compile them on install).
#  (the essential hook: openjdk's postinst fails when /usr/share/man/man1 is missing, and the
#   path-exclude of man pages would leave it missing)
#  - /etc/opencoder-runner records the recipe for debugging.
debian_opts=(
  --dpkgopt='path-exclude=/usr/lib/ghc/ghc-[0-9]*/*.a'
  --dpkgopt='path-exclude=/usr/lib/ghc/Cabal-[0-9]*/*.a'
  --include="$packages"
  --essential-hook='mkdir -p "$1/usr/share/man/man1"'
  --customize-hook='find "$1" -xdev -type f -perm /6000 -exec chmod ug-s {} +'
  --customize-hook='find "$1/usr/lib/python3/dist-packages" -depth -type d -name tests -exec rm -rf {} +'
  --customize-hook="echo 'recipe=$recipe suite=$SUITE built=$(date -u +%FT%TZ)' > \"\$1/etc/opencoder-runner\""
)
debian_mirrors=()
debian_changes=(
  'ENV LANG=C.UTF-8'
  'ENV HOME=/tmp'
  'WORKDIR /tmp'
  'USER 65534:65534'
  'CMD ["/bin/sh"]'
  "LABEL opencoder.runner=1 opencoder.runner.recipe=$recipe"
)
log "building $IMAGE from $SUITE with: $packages"
debian_image_build "$IMAGE" "$SUITE"
