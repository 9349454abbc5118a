#!/usr/bin/env bash
# Make sure gVisor's `runsc` is installed and registered as a Docker runtime named `runsc`, so
# that EXEC_RUNTIME=runsc puts every sandbox (runs and terminals) under gVisor.
#
#   scripts/ensure-gvisor.sh
#
# Installs Debian's runsc package if needed, merges a `runsc` entry into /etc/docker/daemon.json
# (every other key and runtime is kept), and makes the running daemon reload its configuration
# with SIGHUP (runtimes are reloadable: running containers are not touched). Idempotent: a second
# run changes nothing and sends no signal.
#
# runsc runs with --platform=ptrace (works without KVM, e.g. inside a VM) and --network=none
# (sandboxes never have a network; this also removes gVisor's network stack).
# Environment:
#   DOCKER_DAEMON_JSON    the daemon configuration file (default /etc/docker/daemon.json)
#   GVISOR_WAIT_SECONDS   how long to wait for the daemon to list the runtime (default 30)
set -euo pipefail

log() { echo "ensure-gvisor: $*" >&2; }
die() { echo "ensure-gvisor: ERROR: $*" >&2; exit 1; }

CONF="${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"
WAIT="${GVISOR_WAIT_SECONDS:-30}"
RUNTIME_ARGS='["--platform=ptrace","--network=none"]'

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi

listed() { timeout 15 docker info --format '{{json .Runtimes}}' 2>/dev/null | jq -e 'has("runsc")' >/dev/null 2>&1; }

# ---- 1. the runtime binary -------------------------------------------------------------------
if ! command -v runsc >/dev/null 2>&1; then
  log "installing Debian's runsc package"
  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-y -q -o DPkg::Lock::Timeout=900)
  if ! apt-cache show runsc >/dev/null 2>&1; then
    $SUDO apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
  fi
  $SUDO apt-get "${APT_OPTS[@]}" install --no-install-recommends runsc >&2 || die "cannot install runsc"
fi
RUNSC="$(command -v runsc)" || die "runsc is not on PATH after installing it"

# ---- 2. daemon.json, merged ------------------------------------------------------------------
command -v jq >/dev/null 2>&1 || die "jq is needed to merge $CONF"
current='{}'
if [ -s "$CONF" ]; then
  current="$(cat "$CONF")"
  echo "$current" | jq -e 'type == "object"' >/dev/null 2>&1 || die "$CONF is not a JSON object; fix it by hand"
fi
wanted="$(echo "$current" | jq --arg path "$RUNSC" --argjson args "$RUNTIME_ARGS" \
  '.runtimes = ((.runtimes // {}) + {runsc: {path: $path, runtimeArgs: $args}})')"
changed=0
if [ "$(echo "$current" | jq -S .)" != "$(echo "$wanted" | jq -S .)" ]; then
  $SUDO mkdir -p "$(dirname "$CONF")"
  tmp="$(mktemp)"
  echo "$wanted" | jq . >"$tmp"
  $SUDO install -m 0644 "$tmp" "$CONF"
  rm -f "$tmp"
  changed=1
  log "registered runsc ($RUNSC ${RUNTIME_ARGS}) in $CONF"
fi

# ---- 3. the running daemon reloads -------------------------------------------------------------
if [ "$changed" = 1 ] || ! listed; then
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "dockerd is not running (scripts/ensure-docker.sh starts it); $CONF is ready for its next start"
  $SUDO kill -HUP "$pid"
  for _ in $(seq "$WAIT"); do
    listed && break
    sleep 1
  done
  listed || die "dockerd does not list the runsc runtime after reloading $CONF"
  log "dockerd lists the runsc runtime"
fi
