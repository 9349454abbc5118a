#!/usr/bin/env bash
# Make sure Debian's Redis server and client are installed. Tests start their own throwaway
# server from them (a unix socket in a temp dir, no persistence); nothing here starts a service.
#
#   scripts/ensure-redis.sh
#
# Idempotent and quiet when the binaries are there; loud and non-zero on failure.
set -euo pipefail

log() { echo "ensure-redis: $*" >&2; }
die() { echo "ensure-redis: ERROR: $*" >&2; exit 1; }

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

if have_redis; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi

log "installing Debian's redis-server with apt-get"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=900)
if ! apt-cache show redis-server >/dev/null 2>&1; then
  $SUDO apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
fi
$SUDO apt-get "${APT_OPTS[@]}" install --no-install-recommends redis-server >&2 || die "apt-get install redis-server failed"
have_redis || die "redis-server or redis-cli missing after installing redis-server"
