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

log() { echo "build-runner-image: $*" >&2; }
die() { echo "build-runner-image: ERROR: $*" >&2; exit 1; }

force=0
for a in "$@"; do
  case "$a" in
    --force|-f) force=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument: $a" ;;
  esac
done

[ -f "$PKGS_FILE" ] || die "missing $PKGS_FILE"
command -v docker >/dev/null || die "docker CLI not found: run scripts/ensure-docker.sh first"
timeout 20 docker info >/dev/null 2>&1 || die "the Docker daemon does not answer: run scripts/ensure-docker.sh first"

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

if ! command -v mmdebstrap >/dev/null 2>&1; then
  log "installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -y -q -o DPkg::Lock::Timeout=900 install --no-install-recommends mmdebstrap >&2 || {
    apt-get -y -q -o DPkg::Lock::Timeout=900 update >&2
    apt-get -y -q -o DPkg::Lock::Timeout=900 install --no-install-recommends mmdebstrap >&2
  } || die "could not install mmdebstrap"
fi
[ "$(id -u)" = 0 ] || die "mmdebstrap needs root here (run as root)"

work="$(mktemp -d "${TMPDIR:-/tmp}/opencoder-runner.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarball="$work/rootfs.tar"

start=$(date +%s)
log "building $IMAGE from $SUITE with: $packages"
# Post-processing (customize hooks, run on the finished tree "$1"):
#  - /tmp mode 1777: the sandbox mounts a tmpfs there; keep the underlying dir sane too.
#  - strip setuid/setgid bits (defence in depth on top of no-new-privileges).
#  - drop apt lists/caches, docs, man pages and locales (smaller image, nothing uses them), the
#    static archives of the GHC API and Cabal libraries (programs link against base and the
#    other boot libraries, the compiler itself uses the shared ones) and the Python libraries'
#    own test suites (removed after installing: the packages byte-compile them on install).
#  (the essential hook: openjdk's postinst fails when /usr/share/man/man1 is missing, and the
#   path-exclude of man pages would leave it missing)
#  - /etc/opencoder-runner records the recipe for debugging.
mmdebstrap \
  --variant=minbase \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/lib/ghc/ghc-[0-9]*/*.a' \
  --dpkgopt='path-exclude=/usr/lib/ghc/Cabal-[0-9]*/*.a' \
  --include="$packages" \
  --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
  --customize-hook='chmod 1777 "$1/tmp"' \
  --customize-hook='find "$1" -xdev -type f -perm /6000 -exec chmod ug-s {} +' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
  --customize-hook='find "$1/usr/lib/python3/dist-packages" -depth -type d -name tests -exec rm -rf {} +' \
  --customize-hook="echo 'recipe=$recipe suite=$SUITE built=$(date -u +%FT%TZ)' > \"\$1/etc/opencoder-runner\"" \
  "$SUITE" "$tarball" </dev/null >&2 || die "mmdebstrap failed"
mid=$(date +%s)
log "root tree ready in $((mid - start))s ($(du -h "$tarball" | cut -f1)); importing"

docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV HOME=/tmp' \
  --change 'WORKDIR /tmp' \
  --change 'USER 65534:65534' \
  --change 'CMD ["/bin/sh"]' \
  --change "LABEL opencoder.runner=1 opencoder.runner.recipe=$recipe" \
  "$tarball" "$IMAGE" >/dev/null || die "docker import failed"
end=$(date +%s)
log "built $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')) in $((end - start))s (mmdebstrap $((mid - start))s, import $((end - mid))s)"
