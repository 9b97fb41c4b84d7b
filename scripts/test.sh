#!/usr/bin/env bash
# Sets up, builds and runs every Rein test through CTest. This is the command CI runs.
#   scripts/test.sh                 all tests
#   scripts/test.sh -L unit         only unit tests (labels: unit, integration)
#   scripts/test.sh -R codec        tests whose name matches a regex
# Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"

scripts/setup.sh
scripts/build.sh
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j "$(nproc)" "$@"
