#!/bin/bash
# The checks that must run inside the runtime root filesystem (as root, through
# enter_rootfs.sh); runtime_rootfs_test.sh lays out /mnt and compares what this writes.
#
#   /mnt/deploy/        derive-runtime-packages.sh, binaries.txt, runtime-packages.txt
#   /mnt/needed.txt     each binary's DT_NEEDED entries, read on the host (no readelf here)
#   /mnt/not-debian.txt "not-debian BINARY LIBRARY PATH" lines from the host: libraries of this
#                       build that no Debian package provides (a CUDA toolkit found at configure)
#   /mnt/out/           what this writes
#
# 1. The package list as this rootfs's own dpkg database sees it: every library the binaries
#    name, resolved by this rootfs's loader, and the package here that owns it (out/derived.txt,
#    out/owners.txt); libraries the loader cannot find go to out/missing.txt.
# 2. Every binary starts: --help prints its usage (exit 0, or 1 where Abseil's --help exits 1),
#    and the Abseil ones also exit 0 on --version; reinctl --help exits 0.
# 3. Dropping a package breaks the loader: for each listed package but libc6, its shared
#    libraries are masked (/dev/null bound over them, in a mount namespace of their own) and ldd
#    must then fail to load ("file too short") every binary that out/owners.txt says needs one
#    of them.
# Prints "FAIL: ..." lines and exits 1 if a check fails.
set -uo pipefail

deploy=/mnt/deploy
out=/mnt/out
mkdir -p "$out"
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# 1. Ownership, from inside.
bash "$deploy/derive-runtime-packages.sh" --needed /mnt/needed.txt --owners "$out/owners.txt" \
  --allow-missing /opt/rein/bin > "$out/derived.txt" 2> "$out/derive.err"
rc=$?
grep '^missing ' "$out/derive.err" | sort > "$out/missing.txt"
if ((rc != 0)); then
  fail "derive-runtime-packages.sh exited $rc inside the rootfs:"
  grep -v '^missing ' "$out/derive.err"
fi

# Binaries that cannot load here by design (see not-debian.txt): reported, not run.
skip_binary() { grep -q "^not-debian $1 " /mnt/not-debian.txt; }

# 2. Every binary starts.
while read -r name; do
  [[ -n "$name" ]] || continue
  if skip_binary "$name"; then
    echo "WARN: $name not run: this build links $(sed -n "s/^not-debian $name \([^ ]*\) .*/\1/p" \
      /mnt/not-debian.txt | tr '\n' ' ')from outside Debian (the CPU image builds it without)"
    continue
  fi
  help=$("$name" --help 2>&1)
  rc=$?
  first=$(printf '%s\n' "$help" | head -n 1)
  if [[ "$first" != "$name:"* ]] || ((rc != 0 && rc != 1)); then
    fail "$name --help: exit $rc, output: $(printf '%s\n' "$help" | head -n 3)"
    continue
  fi
  if [[ "$name" == reinctl ]]; then
    ((rc == 0)) || fail "reinctl --help exited $rc"
    grep -q '^Subcommands:' <<<"$help" || fail "reinctl --help lists no subcommands"
  elif ((rc == 1)); then
    "$name" --version > /dev/null 2>&1 || fail "$name --version exited $?"
  fi
  echo "ok: $name --help (exit $rc): $first"
done < "$deploy/binaries.txt"

# 3. Dropping each package (but libc6: masking it stops every program, this shell included).
while read -r pkg; do
  [[ -n "$pkg" && "$pkg" != libc6 ]] || continue
  libs=()
  while read -r file; do
    [[ -f "$file" && ! -L "$file" && "$file" == *.so* ]] && libs+=("$file")
  done < <(dpkg -L "$pkg" 2>/dev/null)
  if ((${#libs[@]} == 0)); then
    fail "$pkg: no shared library installed from it"
    continue
  fi
  # Binaries that need one of its libraries, per the ownership lines of check 1.
  mapfile -t needers < <(awk -v p="$pkg" '$4 == p { print $1 }' "$out/owners.txt" | sort -u)
  ((${#needers[@]} > 0)) || { fail "$pkg: no binary needs it, yet it is listed"; continue; }
  # In a mount namespace of its own, so the masks vanish when it exits.
  # shellcheck disable=SC2016  # the inner script expands its own arguments
  broken=$(unshare --mount bash -c '
      for lib in "${@:2:$1}"; do mount --bind /dev/null "$lib" || exit 2; done
      shift $(($1 + 1))
      for binary in "$@"; do
        # What the loader says of a library that is there but is no ELF file.
        ldd "/opt/rein/bin/$binary" 2>&1 | grep -q "file too short" && echo "$binary"
      done
      exit 0' mask "${#libs[@]}" "${libs[@]}" "${needers[@]}")
  rc=$?
  ((rc == 0)) || { fail "$pkg: masking its libraries failed (exit $rc)"; continue; }
  for binary in "${needers[@]}"; do
    grep -qx "$binary" <<<"$broken" \
      || fail "without $pkg, ldd $binary still succeeds (it needs one of its ${#libs[@]} libraries)"
  done
  echo "ok: without $pkg (${#libs[@]} libraries masked) ldd fails for ${#needers[@]} binaries"
done < "$deploy/runtime-packages.txt"

((failures == 0)) || { echo "$failures checks failed inside the rootfs"; exit 1; }
echo "rootfs checks: all passed"
