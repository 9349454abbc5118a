# Shared by scripts/build-base-image.sh and scripts/build-runner-image.sh (sourced, not run): both
# make an image without a registry the same way, a minbase Debian tree from mmdebstrap that is
# `docker import`ed under a tag. Each script keeps only what differs: its packages, hooks, image
# settings and when it skips the build.
#
# The sourcing script sets `set -euo pipefail` and then calls, in order:
#   debian_image_args "$@"       --force/-f sets force=1; -h/--help prints the script's header
#   debian_image_require_docker
#   ... its own "is the image up to date?" check, using $force ...
#   debian_image_require_mmdebstrap
#   debian_image_build IMAGE SUITE
# with these arrays set (each may be empty):
#   debian_opts      mmdebstrap options added after the common ones (packages, hooks, excludes)
#   debian_mirrors   mirror lines after the tarball (none: mmdebstrap's default for the suite)
#   debian_changes   `docker import --change` instructions added after the common PATH

debian_image_script="$(basename "$0" .sh)"

log() { echo "$debian_image_script: $*" >&2; }
die() { echo "$debian_image_script: ERROR: $*" >&2; exit 1; }

debian_image_args() {
  force=0
  local a
  for a in "$@"; do
    case "$a" in
      --force|-f) force=1 ;;
      # The comment block at the top of the script, after the shebang.
      -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
      *) die "unknown argument: $a" ;;
    esac
  done
}

debian_image_require_docker() {
  command -v docker >/dev/null || die "docker CLI not found: run scripts/ensure-docker.sh first"
  timeout 20 docker info >/dev/null 2>&1 || die "the Docker daemon does not answer: run scripts/ensure-docker.sh first"
}

debian_image_require_mmdebstrap() {
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "installing mmdebstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -y -q -o DPkg::Lock::Timeout=900 install --no-install-recommends mmdebstrap >&2 || {
      apt-get -y -q -o DPkg::Lock::Timeout=900 update >&2
      apt-get -y -q -o DPkg::Lock::Timeout=900 install --no-install-recommends mmdebstrap >&2
    } || die "could not install mmdebstrap"
  fi
  [ "$(id -u)" = 0 ] || die "mmdebstrap needs root here (run as root)"
}

debian_image_build() {
  local image="$1" suite="$2" start mid end
  # Global, not local: the EXIT trap runs after this function has returned.
  debian_image_work="$(mktemp -d "${TMPDIR:-/tmp}/opencoder-$debian_image_script.XXXXXX")"
  trap 'rm -rf "$debian_image_work"' EXIT
  local tarball="$debian_image_work/rootfs.tar"

  start=$(date +%s)
  # What every image here holds, whatever it is for: no recommends, no docs (but the copyrights),
  # man pages, info or locales (the dpkg excludes stay in the tree, so later installs keep them
  # too), /tmp mode 1777 (the sandbox mounts a tmpfs there; keep the underlying dir sane too), and
  # no apt lists, caches or logs (a later stage runs `apt-get update` first).
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
    ${debian_opts[@]+"${debian_opts[@]}"} \
    "$suite" "$tarball" ${debian_mirrors[@]+"${debian_mirrors[@]}"} \
    </dev/null >&2 || die "mmdebstrap failed"
  mid=$(date +%s)
  log "root tree ready in $((mid - start))s ($(du -h "$tarball" | cut -f1)); importing"

  local change_args=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin') c
  for c in ${debian_changes[@]+"${debian_changes[@]}"}; do change_args+=(--change "$c"); done
  docker import "${change_args[@]}" "$tarball" "$image" >/dev/null || die "docker import failed"
  end=$(date +%s)
  log "built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')) in $((end - start))s (mmdebstrap $((mid - start))s, import $((end - mid))s)"
}
