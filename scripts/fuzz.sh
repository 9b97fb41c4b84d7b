#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in build-fuzz/ or
# $REIN_FUZZ_BUILD_DIR) and runs each for a bounded time over a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/ stays as committed). scripts/test.sh runs it after ctest.
#
#   scripts/fuzz.sh                          every target, 20 s each ($REIN_FUZZ_SECONDS)
#   scripts/fuzz.sh --seconds 60 safetensors tokenizer_json
#   scripts/fuzz.sh --jobs 1 --timeout 20 --rss-limit-mb 4096
#   scripts/fuzz.sh --list                   the target names
#
# Fails (exit 1) on any crash, leak, timeout, out-of-memory or sanitizer report, printing the
# target's log and where the reproducer is; rerun one with build-fuzz/fuzz/<target>_fuzzer FILE.
# Inputs that grew the coverage stay in the scratch copy (printed at the end) for adding to the
# seed corpus by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir="${REIN_FUZZ_BUILD_DIR:-build-fuzz}"
seconds="${REIN_FUZZ_SECONDS:-20}"
jobs=$(nproc)
# Per input: generous, as CI machines are shared; a hang still fails the run.
timeout_s=30
rss_limit_mb=2048
targets=()

log() { printf '[fuzz] %s\n' "$*"; }
all_targets() { ls tests/fuzz/corpus; }

while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --rss-limit-mb) rss_limit_mb=$2; shift 2 ;;
    --list) all_targets; exit 0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || mapfile -t targets < <(all_targets)
for t in "${targets[@]}"; do
  [[ -d tests/fuzz/corpus/$t ]] || { echo "fuzz.sh: no target '$t' (see --list)" >&2; exit 2; }
done

# Let ccache share results between checkouts in different folders (CI clones afresh).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
start=$(date +%s)
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREIN_WERROR=ON \
    -DREIN_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzzer"); done
cmake --build "$build_dir" --target "${build_targets[@]}"
log "built ${#targets[@]} targets in $(( $(date +%s) - start )) s"

# Scratch: the corpus copies, artifacts, logs, and $TMPDIR for the targets' own files (on
# tmpfs when there is one: the feedback store fsyncs every commit).
scratch="$root/$build_dir/fuzz-runs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$scratch"
tmp_base="$scratch"
if [[ -d /dev/shm && -w /dev/shm ]]; then tmp_base=$(mktemp -d /dev/shm/rein-fuzz-XXXXXX); fi
trap 'rm -rf "${tmp_base:?}/tmp"; [[ "$tmp_base" == "$scratch" ]] || rm -rf "$tmp_base"' EXIT

# Sanitizer settings: every report is fatal and says where it came from.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

run_target() {
  local t=$1 dir="$scratch/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$tmp_base/tmp/$t"
  cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/"
  local dict=()
  [[ -f "tests/fuzz/dict/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  TMPDIR="$tmp_base/tmp/$t" "$build_dir/fuzz/${t}_fuzzer" \
    -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_limit_mb" \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "${dict[@]}" "$dir/corpus" \
    >"$dir/log" 2>&1
  echo $? >"$dir/rc"
}

log "running ${#targets[@]} targets, ${seconds} s each, ${jobs} at a time: ${targets[*]}"
run_start=$(date +%s)
for t in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
  (set +e; run_target "$t") &
done
wait
failed=()
for t in "${targets[@]}"; do
  if [[ "$(cat "$scratch/$t/rc" 2>/dev/null)" == 0 ]]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t/log")
    log "ok   $t: ${runs:-?} inputs"
  else
    failed+=("$t")
  fi
done
log "runs took $(( $(date +%s) - run_start )) s; scratch corpora and logs: $scratch"

for t in "${failed[@]}"; do
  echo "==================== $t FAILED; last lines of $scratch/$t/log:"
  tail -n 60 "$scratch/$t/log"
  for f in "$scratch/$t/artifacts"/*; do
    [[ -e "$f" ]] && echo "[fuzz] reproducer: $f  (rerun: $build_dir/fuzz/${t}_fuzzer $f)"
  done
done
if ((${#failed[@]})); then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all ${#targets[@]} targets clean"
