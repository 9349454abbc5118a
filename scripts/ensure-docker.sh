#!/usr/bin/env bash
# Make sure a Docker engine is installed and its daemon answers.
#
#   scripts/ensure-docker.sh            # install docker.io if needed, start dockerd if needed
#
# Idempotent and quiet when everything is already fine; loud and non-zero on failure.
# Environment:
#   DOCKER_HOST            if it points somewhere other than the local unix socket, the script only
#                          checks that the daemon answers (it cannot start a remote daemon).
#   DOCKERD_LOG            where a daemon started by this script logs (default /tmp/dockerd.log)
#   DOCKER_WAIT_SECONDS    how long to wait for the daemon to answer (default 90)
set -euo pipefail

log() { echo "ensure-docker: $*" >&2; }
die() { echo "ensure-docker: ERROR: $*" >&2; exit 1; }

DOCKERD_LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
WAIT="${DOCKER_WAIT_SECONDS:-90}"

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
fi

daemon_ok() { timeout 15 docker info >/dev/null 2>&1; }
# The default daemon only, by its pid file: a second daemon (scripts/start-second-docker.sh) may
# run beside it and must not be taken for it.
dockerd_running() {
  [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null
}

# ---- 1. the engine ---------------------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "docker engine not installed: installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-y -q -o DPkg::Lock::Timeout=900)
  # Package lists may be missing on a fresh machine: update first if apt does not know docker.io.
  if ! apt-cache show docker.io >/dev/null 2>&1; then
    $SUDO apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
  fi
  if ! $SUDO apt-get "${APT_OPTS[@]}" install --no-install-recommends docker.io >&2; then
    log "install failed; retrying after apt-get update"
    $SUDO apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
    $SUDO apt-get "${APT_OPTS[@]}" install --no-install-recommends docker.io >&2 \
      || die "apt-get install docker.io failed"
  fi
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
  command -v docker >/dev/null 2>&1 || die "docker.io installed but the docker CLI is not on PATH"
fi

# ---- 2. the daemon ---------------------------------------------------------------------------
if daemon_ok; then
  exit 0
fi

case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
  unix:///var/run/docker.sock|unix:///run/docker.sock) ;;
  *) die "the Docker daemon at DOCKER_HOST=$DOCKER_HOST does not answer (docker info failed); start it yourself" ;;
esac

if dockerd_running; then
  log "dockerd is running but not answering yet; waiting"
else
  # Prefer the service manager when there is one; otherwise start dockerd by hand.
  started=0
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    if $SUDO systemctl start docker >/dev/null 2>&1; then started=1; log "started docker via systemctl"; fi
  fi
  if [ "$started" = 0 ]; then
    log "starting dockerd in the background (log: $DOCKERD_LOG)"
    # A stale pid file from a killed daemon blocks a restart when its pid got reused.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null; then
      $SUDO rm -f /var/run/docker.pid
    fi
    # setsid: the daemon must not die with this shell or its process group.
    $SUDO setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 < /dev/null &
    started_pid=$!
    disown || true
  fi
fi

deadline=$(( $(date +%s) + WAIT ))
until daemon_ok; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
    die "the Docker daemon did not answer within ${WAIT}s (see $DOCKERD_LOG)"
  fi
  # The pid file appears a moment after the start: until then, the process we started counts.
  if ! dockerd_running && ! { [ -n "${started_pid:-}" ] && kill -0 "$started_pid" 2>/dev/null; }; then
    log "last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
    die "dockerd exited while starting (see $DOCKERD_LOG)"
  fi
  sleep 1
done
log "Docker daemon is up ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}' 2>/dev/null))"
