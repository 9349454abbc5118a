#!/usr/bin/env bash
# Build the server image from deploy/Dockerfile: `opencoder:<version>` and `opencoder:latest`.
#
#   scripts/build-server-image.sh                         # release build of web client + binary, then the image
#   scripts/build-server-image.sh --binary target/debug/opencoder --tag opencoder-test:x
#
# Options:
#   --binary PATH   use this binary instead of building the release one (it must have been built
#                   against bookworm's glibc or older; the image build checks it runs)
#   --web DIR       the built web client (default web/dist; built by `make web` when the release
#                   binary is built here)
#   --tag NAME      tag the image NAME instead of opencoder:<version> and opencoder:latest
#                   (repeatable)
#
# The build context is a temporary directory with just the binary (debug info stripped) and the
# web client, not the repository (whose target/ is gigabytes). The base image comes from
# scripts/build-base-image.sh when no registry has it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

log() { echo "build-server-image: $*" >&2; }
die() { echo "build-server-image: ERROR: $*" >&2; exit 1; }

binary=""
web="$root/web/dist"
tags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --web) web="${2:?--web needs a directory}"; shift 2 ;;
    --tag) tags+=("${2:?--tag needs a name}"); shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

command -v docker >/dev/null || die "docker CLI not found: run scripts/ensure-docker.sh first"
"$here/build-base-image.sh"

if [ -z "$binary" ]; then
  log "building the web client and the release binary (make build-release)"
  make -C "$root" --no-print-directory build-release >&2 || die "make build-release failed"
  binary="$root/target/release/opencoder"
fi
[ -x "$binary" ] || die "no executable binary at $binary"
[ -f "$web/index.html" ] || die "no built web client at $web (run: make web)"

version="$("$binary" --version | awk '{print $2}')"
[ -n "$version" ] || die "$binary --version printed no version"
if [ "${#tags[@]}" = 0 ]; then
  tags=("opencoder:$version" "opencoder:latest")
fi

context="$(mktemp -d "${TMPDIR:-/tmp}/opencoder-image.XXXXXX")"
build_log="$(mktemp)"
trap 'rm -rf "$context" "$build_log"' EXIT
cp "$binary" "$context/opencoder"
# Debug info is most of a debug build's size; symbols stay, so backtraces keep their names.
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$context/opencoder"
fi
cp -r "$web" "$context/web"
cp "$root/deploy/Dockerfile" "$context/Dockerfile"

tag_args=()
for t in "${tags[@]}"; do tag_args+=(-t "$t"); done
previous="$(docker image inspect --format '{{.Id}}' "${tags[0]}" 2>/dev/null || true)"
start=$(date +%s)
# --network host: the build needs no network at all, and the default bridge is not needed either
# (some CI hosts run dockerd without a usable docker0).
# The output is shown only on failure (the legacy builder's deprecation notice is noise).
stage_id="$(basename "$context")"
remove_stage() {
  local ids
  ids="$(docker images -q --filter "label=opencoder.build-stage=$stage_id")"
  [ -z "$ids" ] || docker image rm $ids >/dev/null 2>&1 || true
}
if ! docker build --network host --force-rm --build-arg "STAGE_ID=$stage_id" --label "opencoder.version=$version" \
  "${tag_args[@]}" "$context" >"$build_log" 2>&1; then
  remove_stage
  tail -n 40 "$build_log" >&2
  die "docker build failed"
fi
remove_stage
# The image the tag named before is left untagged: remove it (kept while a container or another
# tag uses it).
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "${tags[0]}")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
log "built ${tags[*]} ($(docker image inspect --format '{{.Size}}' "${tags[0]}" | awk '{printf "%.0f MB", $1/1e6}'), opencoder $version) in $(( $(date +%s) - start ))s"
