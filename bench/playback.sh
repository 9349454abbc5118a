#!/usr/bin/env bash
# Recording playback benchmark (SPEC §7): build oc-bench in release, then run `oc-bench playback`,
# which builds a real server state on a throwaway DATA_DIR (in-process, ephemeral loopback port),
# types a recording of 100,000 keystrokes through the library, and measures the state at random
# instants through the library and through HTTP, plus the bytes stored per keystroke. The data
# directory is deleted afterwards. Extra arguments go to `oc-bench playback`, e.g.
#   bench/playback.sh --updates 200000 --seeks 5000 --json
#   bench/playback.sh --segment-updates 100
#   bench/playback.sh --yjs                     # HTTP states with the Yjs state, as the page asks
#   bench/playback.sh --history-cache-bytes 0   # no history held: every state rebuilt (before)
#
# Targets: state at t p99 <= 20 ms; <= 60 bytes stored per keystroke, checkpoints included.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "warning: load average is $load on $(nproc) cores; other work will skew the figures" >&2
fi

cargo build --release -p oc-bench >&2
"$root/target/release/oc-bench" playback "$@"
