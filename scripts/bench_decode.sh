#!/usr/bin/env bash
# Decode throughput of Rein's generator on CPU for a random ~10M-parameter Llama-style model at
# batch 1, 8 and 32: with the KV cache, with full recompute, and the floor of each (the same
# model's bare forward calls over the same shapes in a tight loop, no sampling or bookkeeping).
# Target: KV-cache decode >= 0.9x its floor.
#
#   scripts/bench_decode.sh [--build-dir DIR] [--out DIR] [-- decode_benchmark flags...]
#
#   --build-dir  CMake build folder to build decode_benchmark in (default: $REIN_BUILD_DIR or
#                build)
#   --out        results folder (default: $REIN_BENCH_OUT or <build-dir>/bench/decode/<timestamp>)
#   flags after -- go to decode_benchmark (e.g. --batch_sizes=1,8 --new_tokens=128 --threads=1)
#
# Writes <out>/results.json and prints the folder. Measures the machine as it is: run it idle.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(realpath -m "${REIN_BUILD_DIR:-$ROOT/build}")
OUT="${REIN_BENCH_OUT:-}"
EXTRA=()
while (($#)); do
  case "$1" in
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench_decode.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=$(realpath -m "${OUT:-$BUILD_DIR/bench/decode/$(date +%Y%m%d-%H%M%S)}")

log() { printf '[bench_decode] %s\n' "$*" >&2; }

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  log "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja >&2
fi
log "building decode_benchmark in $BUILD_DIR"
ninja -C "$BUILD_DIR" model_decode_benchmark >&2

mkdir -p "$OUT"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$BUILD_DIR/bin/decode_benchmark" --out "$OUT/results.json" "${EXTRA[@]}"
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $OUT"
