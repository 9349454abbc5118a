#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries are installed. Tests start their own throwaway
# server from them (initdb into a temp dir, an ephemeral port); nothing here starts a service.
#
#   scripts/ensure-postgres.sh
#
# Idempotent and quiet when the binaries are there; loud and non-zero on failure.
set -euo pipefail

log() { echo "ensure-postgres: $*" >&2; }
die() { echo "ensure-postgres: ERROR: $*" >&2; exit 1; }

have_server() { compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; }

if have_server && id postgres >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi

log "installing Debian's postgresql with apt-get"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=900)
if ! apt-cache show postgresql >/dev/null 2>&1; then
  $SUDO apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
fi
$SUDO apt-get "${APT_OPTS[@]}" install --no-install-recommends postgresql >&2 || die "apt-get install postgresql failed"
have_server || die "no server under /usr/lib/postgresql after installing postgresql"
id postgres >/dev/null 2>&1 || die "the postgresql package did not create the postgres user"
