#!/usr/bin/env bash
# The README's main command: sets up, builds and runs the most complete Rein demo that exists.
# Today that is the platform tour (the full local RLHF run replaces it once the services land):
#   1. the example experiment config, parsed and checked;
#   2. a policy-sized tensor set (256 MiB) pushed through the chunked gRPC weight stream, against
#      raw TCP (best of 5 after warm-up; the median is printed too);
#   3. the real Qwen3 tokenizer on a chat prompt (when the tokenizer is built).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
bin="$build_dir/bin"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup"
scripts/setup.sh
step "build"
scripts/build.sh

if [[ -x "$bin/reinctl" ]] && "$bin/reinctl" config --help >/dev/null 2>&1; then
  step "1/3 experiment config: deploy/config/example.yaml"
  "$bin/reinctl" config check deploy/config/example.yaml
fi

step "2/3 weight sync: 256 MiB of weights through the chunked gRPC stream"
"$bin/rein-weight-sync-benchmark" --total_mib=256 --repeats=5

if [[ -x "$bin/reinctl" ]] && "$bin/reinctl" tokenize --help >/dev/null 2>&1; then
  step "3/3 tokenizer: Qwen3 byte-level BPE"
  tokenizer="${REIN_CACHE:-$HOME/.cache/rein}/tokenizers/qwen3"
  echo '{"text": "Reinforcement learning from human feedback, in C++."}' |
    "$bin/reinctl" tokenize --tokenizer "$tokenizer"
fi

step "done"
echo "Next: scripts/test.sh runs every test; scripts/bench.sh runs the benchmarks."
