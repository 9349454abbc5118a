# What the deploy tests share (sourced by tests/deploy/cluster.sh, single.sh and run.sh, never
# run): the checks of what they need, a unique compose project, the server image, `up` with its
# log on failure, published ports, and the clean-up on exit, on failure too (containers, networks,
# volumes, the image when built here, sandbox containers the test's nodes made).
#
# Environment: OPENCODER_BIN (default target/debug/opencoder: no release build here),
#              WEB_DIST (default web/dist), DEPLOY_UP_TIMEOUT (seconds, default 300),
#              DEPLOY_IMAGE (a server image already built by the caller, tests/deploy/run.sh: used
#              as it is and left in place; unset: each test builds its own and removes it).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${OPENCODER_BIN:-$root/target/debug/opencoder}"
WEB="${WEB_DIST:-$root/web/dist}"
UP_TIMEOUT="${DEPLOY_UP_TIMEOUT:-300}"
deploy_test="$(basename "$0" .sh)"

log() { echo "deploy test ($deploy_test): $*" >&2; }
fail() { echo "deploy test ($deploy_test): FAILED: $*" >&2; exit 1; }
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Fails (never skips) when something is missing, saying how to get it.
deploy_preflight() {
  command -v docker >/dev/null 2>&1 || fail "the docker CLI is not installed (run scripts/ensure-docker.sh)"
  timeout 20 docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (run scripts/ensure-docker.sh)"
  command -v docker-compose >/dev/null 2>&1 || fail "docker-compose is not installed (run scripts/ensure-docker-compose.sh)"
  [ -x "$BIN" ] || fail "no server binary at $BIN (cargo build -p opencoder, or set OPENCODER_BIN)"
  [ -f "$WEB/index.html" ] || fail "no built web client at $WEB (make web, or set WEB_DIST)"
  [ -d "$root/tests/interop/node_modules/yjs" ] || fail "tests/interop's modules are missing (cd tests/interop && npm ci)"
  [ -S /var/run/docker.sock ] || fail "no Docker socket at /var/run/docker.sock (the compose files mount it into the nodes)"
  docker image inspect opencoder-runner:latest >/dev/null 2>&1 \
    || fail "the sandbox image opencoder-runner:latest is missing (run scripts/build-runner-image.sh)"
}

# A compose project name no other run uses (parallel runs, leftovers of a killed one), in $project;
# `compose` runs docker-compose on it with the given files (set by deploy_compose).
deploy_project() {
  project="oc$1$(date +%s)$$"
}
deploy_compose() {
  compose=(docker-compose -p "$project")
  local f
  for f in "$@"; do compose+=(-f "$f"); done
}

# The server image in $image: DEPLOY_IMAGE, or one built here from $BIN and $WEB (removed on exit);
# either way checked for what deploy/Dockerfile promises.
deploy_server_image() {
  if [ -n "${DEPLOY_IMAGE:-}" ]; then
    image="$DEPLOY_IMAGE"
  else
    image="opencoder-deploy-test:$project"
    deploy_built_image="$image"
    "$root/scripts/build-server-image.sh" --binary "$BIN" --web "$WEB" --tag "$image"
  fi
  # A fixed non-root user, the data volume, the port, the health check.
  local facts
  facts="$(docker image inspect --format '{{.Config.User}} {{json .Config.Volumes}} {{json .Config.ExposedPorts}} {{json .Config.Healthcheck.Test}}' "$image")" \
    || fail "no server image $image"
  [ "$facts" = '10001:10001 {"/var/lib/opencoder":{}} {"4000/tcp":{}} ["CMD","opencoder","healthcheck"]' ] \
    || fail "the server image's configuration is not what deploy/Dockerfile promises: $facts"
}

# `up -d` within DEPLOY_UP_TIMEOUT (services with dependencies start once those are healthy), its
# output shown on failure; from the first attempt on, the clean-up takes the project down.
deploy_up() {
  deploy_brought_up=1
  local up_log
  up_log="$(mktemp)"
  if ! timeout "$UP_TIMEOUT" "${compose[@]}" up -d --no-build "$@" >"$up_log" 2>&1; then
    cat "$up_log" >&2; rm -f "$up_log"
    fail "docker-compose up did not bring $project up within ${UP_TIMEOUT}s"
  fi
  rm -f "$up_log"
}

# The loopback URL of SERVICE's published PORT.
port_of() {
  local mapped
  mapped="$("${compose[@]}" port "$1" "$2")" || fail "no published port $2 for $1"
  echo "http://127.0.0.1:${mapped##*:}"
}

# The clean-up, on every exit: the services' logs first when failing, then the project with its
# volumes, the volumes in $deploy_volumes (the anonymous ones a removed container left), sandbox
# containers labelled with a node id in $deploy_nodes that outlived their node, the image built,
# the files in $deploy_files.
deploy_nodes=()
deploy_volumes=()
deploy_files=()
deploy_cleanup() {
  local status=$?
  if [ "$status" != 0 ] && [ -n "${deploy_brought_up:-}" ]; then
    log "service states and logs (last lines of each):"
    "${compose[@]}" ps >&2 || true
    "${compose[@]}" logs --no-color --tail 60 >&2 || true
  fi
  if [ -n "${deploy_brought_up:-}" ]; then
    "${compose[@]}" down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 \
      || log "docker-compose down failed: remove project $project by hand"
  fi
  [ "${#deploy_volumes[@]}" = 0 ] || docker volume rm "${deploy_volumes[@]}" >/dev/null 2>&1 || true
  local node leftovers=""
  for node in ${deploy_nodes[@]+"${deploy_nodes[@]}"}; do
    leftovers+=" $(docker ps -aq --filter "label=opencoder.sandbox.node=$node" || true)"
  done
  # shellcheck disable=SC2086 # one id a word
  [ -z "${leftovers// /}" ] || docker rm -f $leftovers >/dev/null 2>&1 || true
  [ -z "${deploy_built_image:-}" ] || docker image rm "$deploy_built_image" >/dev/null 2>&1 || true
  rm -f ${deploy_files[@]+"${deploy_files[@]}"}
  if [ "$status" = 0 ]; then log "passed in $(elapsed)"; else log "FAILED after $(elapsed)"; fi
  exit "$status"
}
trap deploy_cleanup EXIT
# Interrupted: exit (non-zero), which runs the clean-up.
trap 'exit 130' INT TERM
