#!/usr/bin/env bash
# Configures and builds Rein (Ninja, ccache, warnings as errors) into build/ or $REIN_BUILD_DIR.
# Assumes scripts/setup.sh has run; scripts/test.sh and scripts/quickstart.sh call both.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
build_type="${REIN_BUILD_TYPE:-RelWithDebInfo}"
# Let ccache share results between checkouts in different folders (CI clones afresh).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DREIN_WERROR=ON
fi
start=$(date +%s)
cmake --build "$build_dir"
echo "[build] done in $(( $(date +%s) - start )) s: binaries in $build_dir/bin"
