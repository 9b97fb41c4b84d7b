#!/usr/bin/env bash
# Builds Rein against a CUDA LibTorch and runs its CUDA paths for real: the GPU suite
# (tests/gpu: models scoring and generating on the GPU, a PPO Train on it, NCCL collectives on
# LibTorch tensors), the NCCL communicator's tests, and the model, RL and learner suites on
# that LibTorch.
#
#   scripts/gpu_check.sh [--bench] [TORCH_DIR]
#
# --bench: then decode throughput on the GPU, Qwen3-0.6B's shape (random weights) in bfloat16
# and float32 at batch 1, 16 and 64, as JSON in build-gpu/bench/.
#
# TORCH_DIR is a LibTorch's share/cmake/Torch; by default the one inside python3's torch (a
# CUDA PyTorch installation). Everything else comes from the system, as scripts/setup.sh
# installs it (LibTorch aside). Builds into build-gpu/ (or $REIN_BUILD_DIR); extra CMake
# arguments in $REIN_CMAKE_ARGS. Exits non-zero if a test fails, and says so if the GPU tests
# skipped (no usable GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bench=0
if [[ "${1:-}" == "--bench" ]]; then bench=1; shift; fi
torch_dir="${1:-${Torch_DIR:-}}"
if [[ -z "$torch_dir" ]]; then
  torch_dir=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "share", "cmake", "Torch"))') || {
    echo "gpu_check: no TORCH_DIR given and python3 has no torch" >&2; exit 2; }
fi
[[ -f "$torch_dir/TorchConfig.cmake" ]] || { echo "gpu_check: no TorchConfig.cmake in $torch_dir" >&2; exit 2; }
build_dir="${REIN_BUILD_DIR:-build-gpu}"

# shellcheck disable=SC2086  # REIN_CMAKE_ARGS is a list of arguments
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTorch_DIR="$torch_dir" \
  ${REIN_CMAKE_ARGS:-}
grep -q '^REIN_TORCH_CUDA:INTERNAL=ON' "$build_dir/CMakeCache.txt" ||
  echo "gpu_check: warning: this LibTorch has no CUDA; the GPU tests will skip" >&2
suites=(gpu_cuda_paths_test nccl_communicator_test model_causal_lm_test model_generator_test
        model_scoring_test rl_test learner_test)
start=$(date +%s)
cmake --build "$build_dir" --target "${suites[@]}"
echo "[gpu_check] built in $(( $(date +%s) - start )) s"

pattern="^($(IFS='|'; echo "${suites[*]}")):"
ctest --test-dir "$build_dir" -R "$pattern" --output-on-failure -j "$(nproc)" \
  --timeout 600 | tee "$build_dir/gpu_check.log"
# Catch2 prints the skips as warnings; ctest passes them.
"$build_dir/tests/gpu/gpu_cuda_paths_test" --success 2>&1 | grep -q 'skipped (runs on GPU' &&
  echo "gpu_check: the GPU tests SKIPPED: no usable GPU here" >&2 && exit 3
echo "[gpu_check] the GPU tests ran on the GPU"
((bench)) || exit 0
cmake --build "$build_dir" --target model_decode_benchmark
mkdir -p "$build_dir/bench"
for dtype in bfloat16 float32; do
  "$build_dir/bin/decode_benchmark" --device cuda --dtype "$dtype" --shape qwen3-0.6b \
    --batch_sizes 1,16,64 --new_tokens 64 --repeats 3 --out "$build_dir/bench/decode_$dtype.json"
done
echo "[gpu_check] decode figures in $build_dir/bench/"
