#!/bin/sh
# The runtime image's one configuration step after its packages (runtime-packages.txt) are in:
# run by the Dockerfiles' runtime stages and, inside a root filesystem built by mmdebstrap, by
# tests/deploy/docker/runtime_rootfs_test.sh, so the test checks what the image does.
#
#   runtime-setup.sh            the CPU image: OpenBLAS must be there
#   runtime-setup.sh --no-blas  the CUDA image: its LibTorch brings its own BLAS
#
# POSIX sh on purpose: debian:12-slim has bash, but this must not depend on anything the
# package list does not bring.
set -eu

blas=yes
[ "${1:-}" = "--no-blas" ] && blas=no

# Debian's LibTorch calls the system libblas.so.3 / liblapack.so.3. Their alternatives would
# pick OpenBLAS by priority today, but say it outright, as scripts/setup.sh does on build
# machines: the reference BLAS is ~20x slower for our matmuls.
if [ "$blas" = yes ]; then
  arch=$(dpkg --print-architecture)
  case "$arch" in
    amd64) triplet=x86_64-linux-gnu ;;
    arm64) triplet=aarch64-linux-gnu ;;
    *) echo "runtime-setup: unsupported architecture $arch" >&2; exit 1 ;;
  esac
  for lib in libblas.so.3 liblapack.so.3; do
    target="/usr/lib/$triplet/openblas-pthread/$lib"
    if [ ! -e "$target" ]; then
      echo "runtime-setup: $target missing (libopenblas0-pthread?)" >&2
      exit 1
    fi
    update-alternatives --set "$lib-$triplet" "$target" >/dev/null
  done
fi

# The binaries' folder, and the user they run as. uid/gid 10001 is fixed so that Kubernetes'
# runAsUser/fsGroup and host volume permissions can name it.
mkdir -p /opt/rein/bin
if ! getent passwd rein >/dev/null; then
  groupadd --system --gid 10001 rein
  useradd --system --uid 10001 --gid rein --home-dir /var/lib/rein --create-home \
    --shell /usr/sbin/nologin rein
fi
# The working folder runs write to (run folders, checkpoints) unless a volume is mounted there.
mkdir -p /var/lib/rein
chown rein:rein /var/lib/rein
