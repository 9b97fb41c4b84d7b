#!/usr/bin/env bash
# Sets up, builds and runs every Rein test through CTest, then the fuzz targets for a bounded
# time (scripts/fuzz.sh). This is the command CI runs.
#   scripts/test.sh                 all tests, then every fuzz target for 20 s
#   scripts/test.sh -L unit         only unit tests (labels: unit, integration)
#   scripts/test.sh -R codec        tests whose name matches a regex
# Extra arguments go to ctest. The fuzz phase runs only for a full run (no arguments);
# REIN_FUZZ_SECONDS sets its time per target, and 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"

scripts/setup.sh
scripts/build.sh
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j "$(nproc)" "$@"
if (($# == 0)) && [[ "${REIN_FUZZ_SECONDS:-20}" != 0 ]]; then
  scripts/fuzz.sh
fi
