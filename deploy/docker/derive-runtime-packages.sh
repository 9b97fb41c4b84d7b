#!/usr/bin/env bash
# Derives the runtime image's Debian package list from built binaries, on a Debian 12 machine
# where scripts/setup.sh has run (so every library they link is installed from a package):
#
#   deploy/docker/derive-runtime-packages.sh [OPTIONS] [BIN_DIR] \
#     > deploy/docker/runtime-packages.txt
#
# BIN_DIR defaults to build/bin; the binaries are those named in deploy/docker/binaries.txt.
# Options (the rootfs test runs this inside a root filesystem that has no readelf):
#   --needed FILE    take each binary's DT_NEEDED entries from FILE ("binary library" lines,
#                    as --print-needed writes them) instead of running readelf
#   --print-needed   print those lines and stop
#   --owners FILE    also write "binary library path package" for every library looked up
#   --allow-missing  a library the loader cannot find is reported on stderr as
#                    "missing BINARY LIBRARY" instead of ending the script
# A package is listed when it owns
#   - a library some binary names directly (its DT_NEEDED entries, resolved the way ldd resolves
#     them), or
#   - the target of a Debian alternative that the binaries' library closure goes through (Debian's
#     LibTorch links libblas.so.3 / liblapack.so.3; scripts/setup.sh and runtime-setup.sh point
#     those at OpenBLAS, so libopenblas0-pthread is listed although no binary names it).
# Everything else those libraries need comes in through the listed packages' Depends.
# Libraries no Debian package owns (a CUDA toolkit under /usr/local/cuda found at configure time
# makes rein-learner link libnccl.so.2 and libcudart.so.*) are reported on stderr as
# "not-debian BINARY LIBRARY PATH" and left out: the CPU image's build stage has no CUDA.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
needed_file="" print_needed=no owners_file="" allow_missing=no
while (($#)); do
  case "$1" in
    --needed) needed_file="$2"; shift 2 ;;
    --print-needed) print_needed=yes; shift ;;
    --owners) owners_file="$2"; shift 2 ;;
    --allow-missing) allow_missing=yes; shift ;;
    -*) echo "derive-runtime-packages: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
bin_dir="${1:-$here/../../build/bin}"

# The DT_NEEDED entries of binary $1 (by name in binaries.txt).
needed_of() {
  if [[ -n "$needed_file" ]]; then
    sed -n "s/^$1 //p" "$needed_file"
  else
    readelf -d "$bin_dir/$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
  fi
}

if [[ "$print_needed" == yes ]]; then
  while read -r name; do
    [[ -n "$name" ]] || continue
    needed_of "$name" | sed "s/^/$name /"
  done < "$here/binaries.txt"
  exit 0
fi

# The final target of PATH when a link on the way is in /etc/alternatives.
alternative_target() {
  local path="$1" hops=0 link
  while [[ -L "$path" && $hops -lt 16 ]]; do
    link=$(readlink "$path")
    [[ "$link" == /* ]] || link="$(dirname "$path")/$link"
    if [[ "$link" == /etc/alternatives/* ]]; then
      readlink -f "$link"
      return 0
    fi
    path="$link"
    hops=$((hops + 1))
  done
  return 1
}

# Pass 1: the libraries each binary names, and the alternative targets in every closure.
needed_lines=()             # "binary library path"
declare -A wanted=() seen=()  # paths whose owner we need
while read -r name; do
  [[ -n "$name" ]] || continue
  binary="$bin_dir/$name"
  [[ -x "$binary" ]] || { echo "derive-runtime-packages: $binary missing" >&2; exit 1; }
  declare -A resolved=()
  while read -r lib arrow path _; do
    [[ "$arrow" == "=>" ]] || continue
    if [[ "$path" == "not" ]]; then
      [[ "$allow_missing" == yes ]] || {
        echo "derive-runtime-packages: $name: $lib not found on this machine" >&2
        exit 1
      }
      echo "missing $name $lib" >&2
      continue
    fi
    resolved["$lib"]="$path"
  done < <(ldd "$binary")
  while read -r needed; do
    path="${resolved[$needed]:-}"
    if [[ -z "$path" ]]; then
      [[ "$allow_missing" == yes ]] || {
        echo "derive-runtime-packages: $name: $needed unresolved" >&2
        exit 1
      }
      continue  # reported above as missing
    fi
    needed_lines+=("$name $needed $path")
    wanted["$path"]=1
  done < <(needed_of "$name")
  for lib in "${!resolved[@]}"; do
    path="${resolved[$lib]}"
    [[ -z "${seen[$path]:-}" ]] || continue
    seen["$path"]=1
    if target=$(alternative_target "$path"); then
      needed_lines+=("$name $lib $target")
      wanted["$target"]=1
    fi
  done
  unset resolved
done < "$here/binaries.txt"

# Pass 2: one dpkg -S over every wanted path, as given and with /usr added or removed (merged
# /usr: a package may ship /lib/x86_64-linux-gnu/libz.so.1 while ldd prints /usr/lib/...).
candidates=()
for path in "${!wanted[@]}"; do
  candidates+=("$path")
  [[ "$path" == /usr/* ]] && candidates+=("${path#/usr}") || candidates+=("/usr$path")
done
declare -A owner=()
while IFS= read -r line; do
  # "pkg:arch: /path" or "pkg1, pkg2: /path"; the first package is enough.
  pkgs="${line%%: /*}"
  file="/${line#*: /}"
  pkg="${pkgs%%,*}"
  owner["$file"]="${pkg%%:*}"
done < <(dpkg -S "${candidates[@]}" 2>/dev/null || true)

declare -A packages=()
[[ -z "$owners_file" ]] || : > "$owners_file"
for entry in "${needed_lines[@]}"; do
  read -r name lib path <<<"$entry"
  pkg="${owner[$path]:-}"
  if [[ -z "$pkg" ]]; then
    if [[ "$path" == /usr/* ]]; then
      pkg="${owner[${path#/usr}]:-}"
    else
      pkg="${owner[/usr$path]:-}"
    fi
  fi
  if [[ -n "$pkg" ]]; then
    packages["$pkg"]=1
    [[ -z "$owners_file" ]] || echo "$name $lib $path $pkg" >> "$owners_file"
  else
    echo "not-debian $name $lib $path" >&2
  fi
done

printf '%s\n' "${!packages[@]}" | LC_ALL=C sort
