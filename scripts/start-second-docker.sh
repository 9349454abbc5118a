#!/usr/bin/env bash
# Start (or stop) a second Docker daemon beside the first, for several-host sandboxes on one
# machine (EXEC_DOCKER_HOSTS) and their tests, and load the runner image into it.
#
#   scripts/start-second-docker.sh          # start it if it does not answer, load the image
#   scripts/start-second-docker.sh stop     # stop it (its containers die with it)
#
# The daemon has its own data root, exec root, pid file and socket, no bridge network and no
# iptables rules (sandboxes run with --network none anyway), and its own containerd namespaces,
# so it never touches the first daemon's state. Prints the daemon's address on success.
# Environment:
#   OC_DOCKER2_SOCKET     socket path (default /run/oc-docker2.sock)
#   OC_DOCKER2_ROOT       data root (default /var/lib/oc-docker2; kept, so the image loads once)
#   OC_DOCKER2_EXEC_ROOT  exec root (default /run/oc-docker2)
#   OC_DOCKER2_LOG        daemon log (default /tmp/oc-docker2.log)
#   DOCKER_WAIT_SECONDS   how long to wait for it to answer (default 60)
#   EXEC_IMAGE            image to load (default opencoder-runner:latest), from the first daemon
set -euo pipefail

log() { echo "start-second-docker: $*" >&2; }
die() { echo "start-second-docker: ERROR: $*" >&2; exit 1; }

SOCKET="${OC_DOCKER2_SOCKET:-/run/oc-docker2.sock}"
DATA_ROOT="${OC_DOCKER2_ROOT:-/var/lib/oc-docker2}"
EXEC_ROOT="${OC_DOCKER2_EXEC_ROOT:-/run/oc-docker2}"
PIDFILE="$EXEC_ROOT.pid"
LOG="${OC_DOCKER2_LOG:-/tmp/oc-docker2.log}"
WAIT="${DOCKER_WAIT_SECONDS:-60}"
IMAGE="${EXEC_IMAGE:-opencoder-runner:latest}"
ADDRESS="unix://$SOCKET"
HERE="$(cd "$(dirname "$0")" && pwd)"

[ "$(id -u)" = 0 ] || die "a Docker daemon needs root; run this as root"
command -v dockerd >/dev/null 2>&1 || die "dockerd is not installed (scripts/ensure-docker.sh installs it)"

answers() { timeout 10 docker -H "$ADDRESS" info >/dev/null 2>&1; }
daemon_pid() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && cat "$PIDFILE"; }

if [ "${1:-start}" = stop ]; then
  if pid="$(daemon_pid)"; then
    kill "$pid"
    for _ in $(seq 1 "$WAIT"); do kill -0 "$pid" 2>/dev/null || { log "stopped"; exit 0; }; sleep 1; done
    die "dockerd ($pid) did not stop within ${WAIT}s"
  fi
  log "not running"
  exit 0
fi

if ! answers; then
  if ! daemon_pid >/dev/null; then
    rm -f "$PIDFILE"
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    log "starting dockerd on $ADDRESS (log: $LOG)"
    # setsid: the daemon must not die with this shell or its process group.
    setsid nohup dockerd \
      -H "$ADDRESS" \
      --data-root "$DATA_ROOT" \
      --exec-root "$EXEC_ROOT" \
      --pidfile "$PIDFILE" \
      --containerd-namespace oc-docker2 \
      --containerd-plugins-namespace oc-docker2-plugins \
      --bridge none --iptables=false --ip-masq=false \
      >>"$LOG" 2>&1 </dev/null &
    disown || true
  fi
  deadline=$(( $(date +%s) + WAIT ))
  until answers; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 30 "$LOG" >&2 2>/dev/null || true
      die "the second daemon did not answer on $ADDRESS within ${WAIT}s (see $LOG)"
    fi
    sleep 0.5
  done
fi

"$HERE/load-runner-image.sh" "$ADDRESS" "$IMAGE"
echo "$ADDRESS"
