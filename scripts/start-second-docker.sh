#!/usr/bin/env bash
# Start (or stop) a second Docker daemon beside the first, for several-host sandboxes on one
# machine (EXEC_DOCKER_HOSTS) and their tests, and load the runner image into it.
#
#   scripts/start-second-docker.sh          # start it if it does not answer, load the image
#   scripts/start-second-docker.sh stop     # stop it (its containers die with it)
#
# The daemon has its own data root, exec root, pid file and socket, no bridge network and no
# iptables rules (sandboxes run with --network none anyway), and its own containerd namespaces,
# so it never touches the first daemon's state.
#
# It also listens on tcp://127.0.0.1:<a free port> with --tlsverify: a CA, the daemon's
# certificate (for IP 127.0.0.1) and a client certificate are generated with openssl into
# OC_DOCKER2_TLS_DIR once, in the Docker layout (client/ holds ca.pem cert.pem key.pem, what
# EXEC_DOCKER_TLS_DIR or an entry's ;tls= names). other-ca/ holds a client certificate from
# another CA, which the daemon refuses (for tests). The same daemon serves both addresses, so
# the runner image is loaded once.
#
# Prints the daemon's unix address, its TLS address and the certificate directory, one a line,
# on success.
# Environment:
#   OC_DOCKER2_SOCKET     socket path (default /run/oc-docker2.sock)
#   OC_DOCKER2_ROOT       data root (default /var/lib/oc-docker2; kept, so the image loads once)
#   OC_DOCKER2_EXEC_ROOT  exec root (default /run/oc-docker2)
#   OC_DOCKER2_LOG        daemon log (default /tmp/oc-docker2.log)
#   OC_DOCKER2_TLS_DIR    certificates and the TLS port (default: the exec root + -tls)
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
TLS_DIR="${OC_DOCKER2_TLS_DIR:-$EXEC_ROOT-tls}"
PORT_FILE="$TLS_DIR/port"
HERE="$(cd "$(dirname "$0")" && pwd)"

[ "$(id -u)" = 0 ] || die "a Docker daemon needs root; run this as root"
command -v dockerd >/dev/null 2>&1 || die "dockerd is not installed (scripts/ensure-docker.sh installs it)"

tls_address() { [ -f "$PORT_FILE" ] && echo "tcp://127.0.0.1:$(cat "$PORT_FILE")"; }
answers() { timeout 10 docker -H "$ADDRESS" info >/dev/null 2>&1; }
answers_tls() {
  local address
  address="$(tls_address)" || return 1
  timeout 10 docker -H "$address" --tlsverify --tlscacert "$TLS_DIR/client/ca.pem" \
    --tlscert "$TLS_DIR/client/cert.pem" --tlskey "$TLS_DIR/client/key.pem" info >/dev/null 2>&1
}
daemon_pid() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && cat "$PIDFILE"; }

stop_daemon() {
  if pid="$(daemon_pid)"; then
    kill "$pid"
    for _ in $(seq 1 "$WAIT"); do kill -0 "$pid" 2>/dev/null || { log "stopped"; return 0; }; sleep 1; done
    die "dockerd ($pid) did not stop within ${WAIT}s"
  fi
  log "not running"
}

# A port nothing listens on (bash's /dev/tcp connects when something does).
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 30000 ))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  die "no free port found"
}

# One certificate signed by the CA in $1: sign DIR CA_DIR SUBJECT EXTENSIONS.
sign() {
  local dir="$1" ca="$2" subject="$3" ext="$4"
  mkdir -p "$dir"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/key.pem" 2>/dev/null
  openssl req -new -key "$dir/key.pem" -subj "$subject" -out "$dir/req.csr"
  printf '%s\n' "$ext" >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/req.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/ext.cnf" -out "$dir/cert.pem" 2>/dev/null
  rm -f "$dir/req.csr" "$dir/ext.cnf"
  chmod 600 "$dir/key.pem"
}

new_ca() {
  local dir="$1" name="$2"
  mkdir -p "$dir"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca-key.pem" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca-key.pem" -sha256 -days 30 -subj "/CN=$name" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem"
  chmod 600 "$dir/ca-key.pem"
}

# The CA, the daemon's and a client's certificate, and a client certificate of another CA.
make_certificates() {
  [ -f "$TLS_DIR/other-ca/key.pem" ] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
  log "generating TLS certificates in $TLS_DIR"
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  new_ca "$TLS_DIR/ca" "opencoder test CA"
  sign "$TLS_DIR/daemon" "$TLS_DIR/ca" "/CN=127.0.0.1" \
    "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
  sign "$TLS_DIR/client" "$TLS_DIR/ca" "/CN=opencoder" "extendedKeyUsage=clientAuth"
  new_ca "$TLS_DIR/rogue-ca" "another CA"
  sign "$TLS_DIR/other-ca" "$TLS_DIR/rogue-ca" "/CN=opencoder" "extendedKeyUsage=clientAuth"
  # Each client directory trusts the real CA for the daemon's certificate.
  for dir in daemon client other-ca; do cp "$TLS_DIR/ca/ca.pem" "$TLS_DIR/$dir/ca.pem"; done
}

if [ "${1:-start}" = stop ]; then
  stop_daemon
  exit 0
fi

make_certificates
# A daemon that answers on its socket but not over TLS was started before the TLS listener
# (or with other certificates): restart it.
if answers && ! answers_tls; then
  log "the daemon does not answer over TLS; restarting it"
  stop_daemon
fi

if ! answers; then
  if ! daemon_pid >/dev/null; then
    rm -f "$PIDFILE"
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    free_port >"$PORT_FILE"
    log "starting dockerd on $ADDRESS and $(tls_address) (log: $LOG)"
    # setsid: the daemon must not die with this shell or its process group.
    setsid nohup dockerd \
      -H "$ADDRESS" \
      -H "$(tls_address)" \
      --tlsverify \
      --tlscacert "$TLS_DIR/daemon/ca.pem" \
      --tlscert "$TLS_DIR/daemon/cert.pem" \
      --tlskey "$TLS_DIR/daemon/key.pem" \
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
  until answers && answers_tls; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 30 "$LOG" >&2 2>/dev/null || true
      die "the second daemon did not answer on $ADDRESS and $(tls_address) within ${WAIT}s (see $LOG)"
    fi
    sleep 0.5
  done
fi

"$HERE/load-runner-image.sh" "$ADDRESS" "$IMAGE"
echo "$ADDRESS"
tls_address
echo "$TLS_DIR"
