#!/bin/sh
# Redis with the password REDIS_PASSWORD (required: whoever can publish on the bus can write into
# any pad), given in a configuration read from stdin so it is not on the command line.
set -eu
[ -n "${REDIS_PASSWORD:-}" ] || { echo "redis-entrypoint: REDIS_PASSWORD must be set" >&2; exit 1; }
case "$REDIS_PASSWORD" in
  *[!A-Za-z0-9._~-]*) echo "redis-entrypoint: REDIS_PASSWORD may hold letters, digits and ._~- only (it is also part of REDIS_URL)" >&2; exit 1 ;;
esac
exec redis-server - "$@" <<CONF
requirepass $REDIS_PASSWORD
bind * -::*
protected-mode no
save ""
appendonly no
CONF
