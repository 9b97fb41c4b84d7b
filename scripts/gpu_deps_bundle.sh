#!/usr/bin/env bash
# Carries the system libraries Rein's build takes from Debian 12 to a GPU machine whose image has
# a CUDA PyTorch (and CUDA, NCCL, CMake, a compiler) but not them, such as a PyTorch container
# on Ubuntu 24.04: gRPC, Abseil, prometheus-cpp, Catch2 2, ICU 72, Oniguruma, SQLite, libpq,
# cpp-httplib, xxHash, CLI11. Protobuf, OpenSSL and the C/C++ runtimes are the target's own
# (the target needs protobuf 3.21, as Debian 12 and Ubuntu 24.04 both have).
#
#   scripts/gpu_deps_bundle.sh pack BUNDLE.tar.xz   # here, after scripts/setup.sh
#   scripts/gpu_deps_bundle.sh env PREFIX            # there, after tar -xJf BUNDLE -C PREFIX:
#                                                    # prints the exports gpu_check.sh needs
# Then, there: eval "$(scripts/gpu_deps_bundle.sh env PREFIX)"; scripts/gpu_check.sh
set -euo pipefail

# The -dev packages the build finds; their run-time libraries come with them (Depends).
ROOTS=(libabsl-dev libgrpc++-dev libgrpc-dev protobuf-compiler-grpc prometheus-cpp-dev libonig-dev
       libicu-dev libsqlite3-dev libpq-dev libcpp-httplib-dev libxxhash-dev catch2 libre2-dev
       libc-ares-dev libcli11-dev)
# What the target has of its own: the C and C++ runtimes, protobuf, OpenSSL, compression, curl
# and the system libraries under them. Virtual and tool-only packages too.
EXCLUDE='^(libc-dev|pkgconf|pkgconf-bin|libpkgconf3|civetweb|icu-devtools|libc6|libc6-dev|libstdc\+\+.*|libgcc.*|gcc.*|zlib1g|zlib1g-dev|libssl3|libssl-dev|libprotobuf.*|protobuf-compiler|libprotoc.*|libzstd.*|libsystemd0|libcurl.*|openssl|perl.*|libcrypt.*|libgssapi.*|libkrb5.*|libk5crypto3|libcom-err2|libkeyutils1|libldap.*|libsasl2.*|libnghttp2.*|libbrotli.*|libidn2.*|libunistring.*|libpsl5|librtmp1|libssh2.*|libgnutls.*|libhogweed.*|libnettle.*|libgmp.*|libp11-kit0|libtasn1.*|libffi.*|debconf|dpkg|libtinfo.*|libncurses.*|libdb5.3|libselinux1|libpcre.*|liblzma5|libbz2.*|libuuid1|libudev1|libcap.*|libgpg-error0|libgcrypt20|liblz4.*|libjansson4|libkrb5support0|libmd0|libbsd0|tzdata|adduser|passwd|libaudit.*|libpam.*|libsemanage.*|libsepol.*|libacl1|libattr1|libsmartcols1|libblkid1|libmount1|libedit2|libjs.*|libreadline8|readline-common|mailcap|mime-support|media-types|libexpat1.*)$'

# Installed packages reachable from ROOTS through Depends, less EXCLUDE.
closure() {
  local -A seen=()
  local queue=("${ROOTS[@]}") p d
  while ((${#queue[@]})); do
    p=${queue[0]%%:*}; queue=("${queue[@]:1}")
    [[ -n "${seen[$p]:-}" || "$p" =~ $EXCLUDE ]] && continue
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -q installed || continue
    seen[$p]=1
    while read -r d; do [[ -n "$d" ]] && queue+=("$d"); done < <(
      dpkg-query -W -f='${Depends}\n' "$p" | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g')
  done
  printf '%s\n' "${!seen[@]}"
}

pack() {
  local bundle=$1 stage
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  closure | while read -r p; do dpkg -L "$p"; done | sort -u |
    grep -E '^/usr/(include|lib/x86_64-linux-gnu|lib/cmake|share/pkgconfig|bin/grpc_cpp_plugin)' |
    grep -vE '\.a$|/doc/' | while read -r f; do
      if [[ -f "$f" || -L "$f" ]]; then mkdir -p "$stage$(dirname "$f")"; cp -a "$f" "$stage$f"; fi
    done
  tar -C "$stage" -cf - . | xz -T0 -6 > "$bundle"
  echo "gpu_deps_bundle: $(du -sh "$stage" | cut -f1) of files in $bundle ($(du -h "$bundle" | cut -f1))" >&2
}

print_env() {
  local usr=$1/usr
  [[ -d "$usr/lib/x86_64-linux-gnu" ]] || { echo "gpu_deps_bundle: no bundle under $1" >&2; exit 2; }
  cat <<ENV
export LD_LIBRARY_PATH="$usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$usr/lib/x86_64-linux-gnu/pkgconfig:$usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$1"
export REIN_CMAKE_ARGS="-DCMAKE_PREFIX_PATH=$usr -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \${REIN_CMAKE_ARGS:-}"
ENV
}

case "${1:-}" in
  pack) [[ $# -eq 2 ]] || { echo "usage: $0 pack BUNDLE.tar.xz" >&2; exit 2; }; pack "$2" ;;
  env) [[ $# -eq 2 ]] || { echo "usage: $0 env PREFIX" >&2; exit 2; }; print_env "$(realpath "$2")" ;;
  -h|--help) sed -n '2,13p' "$0" ;;
  *) echo "usage: $0 pack BUNDLE.tar.xz | env PREFIX" >&2; exit 2 ;;
esac
