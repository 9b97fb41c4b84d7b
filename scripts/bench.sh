#!/usr/bin/env bash
# Builds Rein and runs its benchmarks; every benchmark writes JSON into one results folder,
# which is printed at the end.
#   scripts/bench.sh                 all benchmarks
#   scripts/bench.sh codec weightsync   a subset (codec, weightsync, tokenizer, decode, loop,
#                                       quickstart, allreduce, feedback, scale)
# "scale" (Qwen3-0.6B's shape: 40+ minutes and ~12 GB on a 2-core machine) runs only when named.
# Benchmarks measure on this machine as it is: run them on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
out="${REIN_BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}"

scripts/setup.sh
scripts/build.sh
mkdir -p "$out"
out=$(cd "$out" && pwd)

selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=(codec weightsync tokenizer decode loop allreduce feedback quickstart)

run_bench() {
  local name=$1
  echo "== $name"
  case "$name" in
    codec) "$build_dir/bin/rein-codec-benchmark" --out "$out/codec.json" ;;
    weightsync) "$build_dir/bin/rein-weight-sync-benchmark" --out "$out/weight_sync.json" ;;
    tokenizer)
      scripts/bench_tokenizer.sh --build-dir "$build_dir" --out "$out/tokenizer" ;;
    decode) REIN_BENCH_OUT="$out/decode" scripts/bench_decode.sh ;;
    loop) REIN_BENCH_OUT="$out" scripts/bench_loop.sh --skip-build ;;
    quickstart) REIN_BENCH_OUT="$out" scripts/bench_quickstart.sh ;;
    feedback) REIN_BENCH_OUT="$out" scripts/bench_feedback.sh --skip-build ;;
    scale) REIN_BENCH_OUT="$out" scripts/bench_scale.sh --skip-build ;;
    allreduce) scripts/bench_allreduce.sh --build-dir "$build_dir" --out "$out/allreduce.json" ;;
    *) echo "unknown benchmark '$name' (expected codec, weightsync, tokenizer, decode, loop," \
            "quickstart, allreduce, feedback, scale)" >&2
       return 2 ;;
  esac
}

for name in "${selected[@]}"; do run_bench "$name"; done
echo
echo "results: $out"
