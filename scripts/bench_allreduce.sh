#!/usr/bin/env bash
# Gloo all-reduce on this machine: time, algorithm and bus bandwidth for 1-256 MiB between 2
# ranks (threads of one process over loopback TCP) next to memcpy bandwidth, then the step time
# of a small MLP with the gradient all-reduce overlapped with backward vs after it.
#   scripts/bench_allreduce.sh [--build-dir DIR] [--out FILE.json] [benchmark flags...]
# e.g. scripts/bench_allreduce.sh --max_mib 64. Run it on an idle machine; both ranks share it.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
out="bench-results/allreduce.json"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ ! -x "$build_dir/bin/rein-allreduce-benchmark" ]]; then
  cmake --build "$build_dir" --target allreduce_benchmark
fi
mkdir -p "$(dirname "$out")"
"$build_dir/bin/rein-allreduce-benchmark" --json "$out" "${args[@]}"
echo "figures: $out"
