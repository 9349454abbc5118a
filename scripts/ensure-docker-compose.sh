#!/usr/bin/env bash
# Make sure docker-compose (Debian's, 1.29: compose file format 3.x) is installed; the deploy test
# and deploy/compose*.yaml use it.
#
#   scripts/ensure-docker-compose.sh
#
# Idempotent and quiet when it is there; loud and non-zero on failure.
set -euo pipefail

log() { echo "ensure-docker-compose: $*" >&2; }
die() { echo "ensure-docker-compose: ERROR: $*" >&2; exit 1; }

if command -v docker-compose >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi

log "installing Debian's docker-compose with apt-get"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=900)
if ! apt-cache show docker-compose >/dev/null 2>&1; then
  $SUDO apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
fi
$SUDO apt-get "${APT_OPTS[@]}" install --no-install-recommends docker-compose >&2 \
  || die "apt-get install docker-compose failed"
command -v docker-compose >/dev/null 2>&1 || die "docker-compose installed but not on PATH"
