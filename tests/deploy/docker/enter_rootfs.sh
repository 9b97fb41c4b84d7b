#!/usr/bin/env bash
# Runs COMMAND inside the runtime root filesystem ROOT, the way a container of the image would
# see it: ROOT read-only, the binaries at /opt/rein/bin (read-only), a scratch WORK folder at
# /mnt, a fresh /tmp, its own /proc, the image's PATH and a bare environment.
#
#   unshare --mount --pid --fork --kill-child enter_rootfs.sh ROOT BIN_DIR WORK -- COMMAND...
#
# Meant to run as the first process of new mount and PID namespaces (unshare above): every mount
# here is private to them and goes away with them, so ROOT (the cached rootfs) stays pristine,
# and COMMAND (exec'd, so it is PID 1) takes every process it started with it when it exits.
# The network is the host's: a server started here is reachable on the host's 127.0.0.1.
set -euo pipefail

root="$1" bin="$2" work="$3"
shift 3
[[ "${1:-}" == "--" ]] && shift

mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t tmpfs -o mode=1777,size=256m tmpfs "$root/tmp"
mount --bind "$bin" "$root/opt/rein/bin"
mount -o remount,bind,ro "$root/opt/rein/bin"
mount --bind "$work" "$root/mnt"

# The image's ENV PATH (deploy/docker/Dockerfile).
exec chroot "$root" /usr/bin/env -i \
  PATH=/opt/rein/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/var/lib/rein LANG=C.UTF-8 "$@"
