#!/usr/bin/env bash
# Proves deploy/docker/runtime-packages.txt complete without Docker or a registry: builds the
# runtime image's root filesystem from Debian 12 packages as deploy/docker/Dockerfile's runtime
# stage does (mmdebstrap minbase, which debian:12-slim is built from, + exactly that list, +
# deploy/docker/runtime-setup.sh), puts the built binaries in, and runs them there.
#
#   runtime_rootfs_test.sh SOURCE_DIR BIN_DIR WORK_DIR     (BIN_DIR: the build's bin folder)
#
# Checks, in order:
#  1. host: the list is what deploy/docker/derive-runtime-packages.sh derives from the binaries
#     now built (a new library dependency fails here, with the command that updates the list);
#  2. rootfs (rootfs_checks.sh): every library the binaries name resolves inside and is owned
#     by a listed package in the rootfs's own dpkg database, and only the libraries this build
#     took from outside Debian (a CUDA toolkit at configure time) are missing; --help of every
#     binary; each listed package is needed: with its libraries masked, ldd fails;
#  3. OpenBLAS is the libblas.so.3 alternative, user rein (uid 10001) exists;
#  4. rein-demo corpus (as user rein) writes a tiny world; reinctl config check passes on a
#     config over it; rein-rollout serves it (as user rein, in its own PID namespace), the host's
#     reinctl health passes against it, it stops on SIGTERM with exit 0, and health then fails.
#
# The rootfs (about 950 MB, 400 packages) is cached under WORK_DIR/rootfs-cache/<hash of the list,
# runtime-setup.sh, the mmdebstrap options and the apt sources>; a cold run takes about 3.5 minutes
# on 2 busy cores (mmdebstrap about 150 s of it), a cached run 15-30 s. REIN_ROOTFS_CACHE moves
# the cache.
# Exit 77 (CTest: skipped) with "WARN: skipped: reason" when not root, a tool is missing, or the
# Debian mirror cannot be reached.
set -euo pipefail

source_dir="$(cd "$1" && pwd)"
bin_dir="$(cd "$2" && pwd)"
work_dir="$3"
deploy="$source_dir/deploy/docker"
here="$source_dir/tests/deploy/docker"
start=$(date +%s)

skip() {
  echo "WARN: skipped: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "[rootfs $(($(date +%s) - start))s] $*"; }

[[ $(id -u) -eq 0 ]] || skip "needs root (mmdebstrap --mode=root, chroot, mount namespaces)"
for tool in mmdebstrap unshare chroot readelf ldd sha256sum flock setpriv ps; do
  command -v "$tool" > /dev/null || skip "$tool not found (scripts/setup.sh installs mmdebstrap)"
done
unshare --mount --pid --fork true 2> /dev/null \
  || skip "cannot create mount and PID namespaces here (unshare --mount --pid failed)"
while read -r name; do
  [[ -x "$bin_dir/$name" ]] || fail "$bin_dir/$name not built"
done < "$deploy/binaries.txt"

mkdir -p "$work_dir"
work_dir="$(cd "$work_dir" && pwd)"
run_dir=$(mktemp -d "$work_dir/run.XXXXXX")
rollout_pid=""
cleanup() {
  # The rollout's unshare (and with --kill-child, its PID namespace) if a check failed midway.
  if [[ -n "$rollout_pid" ]] && kill -0 "$rollout_pid" 2> /dev/null; then
    kill -KILL "$rollout_pid" 2> /dev/null || true
    wait "$rollout_pid" 2> /dev/null || true
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT

# The binaries, hard-linked where the build folder allows (a copy otherwise): a snapshot that a
# concurrent relink does not change under the checks.
mkdir -p "$run_dir/bin"
while read -r name; do
  cp -l "$bin_dir/$name" "$run_dir/bin/" 2> /dev/null || cp "$bin_dir/$name" "$run_dir/bin/"
done < "$deploy/binaries.txt"

# 1. The list against the binaries, on the host.
"$deploy/derive-runtime-packages.sh" "$run_dir/bin" > "$run_dir/derived.txt" \
  2> "$run_dir/derive.err" \
  || { cat "$run_dir/derive.err" >&2; fail "derive-runtime-packages.sh failed on the host"; }
grep '^not-debian ' "$run_dir/derive.err" > "$run_dir/not-debian.txt" || true
if ! diff -u "$deploy/runtime-packages.txt" "$run_dir/derived.txt"; then
  fail "deploy/docker/runtime-packages.txt is out of date with the binaries; update it with
  $deploy/derive-runtime-packages.sh $bin_dir > $deploy/runtime-packages.txt"
fi
log "package list matches the binaries ($(wc -l < "$deploy/runtime-packages.txt") packages)"
if [[ -s "$run_dir/not-debian.txt" ]]; then
  echo "WARN: this build links libraries no Debian package provides (the CPU image's build stage"
  echo "      has no CUDA, so its binaries do not); they must be exactly what is missing inside:"
  sed 's/^/      /' "$run_dir/not-debian.txt"
fi

# 2. The rootfs, from the cache or built.
sources=""
for candidate in "${REIN_ROOTFS_SOURCES:-}" /etc/apt/sources.list.d/debian.sources \
                 /etc/apt/sources.list; do
  if [[ -n "$candidate" && -s "$candidate" ]] && grep -q bookworm "$candidate"; then
    sources="$candidate"
    break
  fi
done
# Like debian:12-slim, no manuals, docs (but copyright files) or translations.
mmdebstrap_opts=(--variant=minbase --mode=root --format=directory
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*')
key=$({ cat "$deploy/runtime-packages.txt" "$deploy/runtime-setup.sh"
        printf '%s\n' "${mmdebstrap_opts[@]}"
        [[ -z "$sources" ]] || cat "$sources"; } | sha256sum | cut -c1-16)
cache="${REIN_ROOTFS_CACHE:-$work_dir/rootfs-cache}"
mkdir -p "$cache"
root="$cache/$key/rootfs"

# Whether every mirror named in the sources answers on its port (10 s each).
mirrors_reachable() {
  local uris uri hostport host port
  if [[ -n "$sources" ]]; then
    uris=$(grep -v '^[[:space:]]*#' "$sources" | grep -o -E 'https?://[^ /]+' | sort -u)
  else
    uris="http://deb.debian.org"
  fi
  for uri in $uris; do
    hostport="${uri#*://}"
    host="${hostport%%:*}"
    port=80
    [[ "$uri" == https* ]] && port=443
    [[ "$hostport" == *:* ]] && port="${hostport##*:}"
    if ! timeout 10 bash -c "exec 3<>/dev/tcp/$host/$port" 2> /dev/null; then
      echo "$host:$port"
      return 1
    fi
  done
}

build_rootfs() {
  local partial="$cache/$key.partial" unreachable
  rm -rf "$partial"
  # Only one cache: each rootfs is about 1 GB.
  find "$cache" -mindepth 1 -maxdepth 1 ! -name "$key" ! -name .lock -exec rm -rf {} +
  unreachable=$(mirrors_reachable) || skip "Debian mirror $unreachable unreachable"
  mkdir -p "$partial"
  log "building the rootfs (cold: 2-3 minutes) from ${sources:-http://deb.debian.org/debian}"
  local t0
  t0=$(date +%s)
  # runtime-setup.sh runs inside, as the Dockerfile's RUN does, then leaves. ("$1" is the
  # rootfs, for mmdebstrap's hook shell to expand.)
  # shellcheck disable=SC2016
  if ! timeout 900 mmdebstrap "${mmdebstrap_opts[@]}" \
       --include="$(paste -sd, "$deploy/runtime-packages.txt")" \
       --customize-hook="copy-in $deploy/runtime-setup.sh /tmp" \
       --customize-hook='chroot "$1" sh /tmp/runtime-setup.sh' \
       --customize-hook='rm -f "$1/tmp/runtime-setup.sh"' \
       bookworm "$partial/rootfs" ${sources:+"$sources"} > "$partial/mmdebstrap.log" 2>&1; then
    tail -n 30 "$partial/mmdebstrap.log"
    if grep -q -E 'Could not connect|Temporary failure resolving|Failed to fetch|Unable to conn' \
         "$partial/mmdebstrap.log"; then
      rm -rf "$partial"
      skip "mmdebstrap could not download from the mirror"
    fi
    fail "mmdebstrap failed (log above; kept in $partial/mmdebstrap.log)"
  fi
  echo "$(($(date +%s) - t0))" > "$partial/build-seconds"
  mv "$partial" "$cache/$key"
}
{
  flock 9
  if [[ -d "$root" && -f "$cache/$key/build-seconds" ]]; then
    log "rootfs from the cache ($cache/$key, built in $(cat "$cache/$key/build-seconds") s)"
  else
    build_rootfs
    log "rootfs built in $(cat "$cache/$key/build-seconds") s"
  fi
} 9> "$cache/.lock"
size_mb=$(du -sm "$root" | cut -f1)
log "rootfs: $(chroot "$root" dpkg-query -W | wc -l) packages, ${size_mb} MB on disk"

# The files the in-rootfs checks read.
mkdir -p "$run_dir/work/deploy" "$run_dir/work/world" "$run_dir/work/runs"
cp "$deploy/derive-runtime-packages.sh" "$deploy/binaries.txt" "$deploy/runtime-packages.txt" \
   "$run_dir/work/deploy/"
cp "$here/rootfs_checks.sh" "$run_dir/work/"
"$deploy/derive-runtime-packages.sh" --print-needed "$run_dir/bin" > "$run_dir/work/needed.txt"
cp "$run_dir/not-debian.txt" "$run_dir/work/not-debian.txt"
chown 10001:10001 "$run_dir/work/world" "$run_dir/work/runs"

in_rootfs() {
  unshare --mount --pid --fork --kill-child \
    "$here/enter_rootfs.sh" "$root" "$run_dir/bin" "$run_dir/work" -- "$@"
}
as_rein=(setpriv --reuid=rein --regid=rein --init-groups)

# 2. Libraries, ownership, --help, masking.
in_rootfs bash /mnt/rootfs_checks.sh || fail "checks inside the rootfs failed (above)"
out="$run_dir/work/out"
diff -u "$deploy/runtime-packages.txt" "$out/derived.txt" \
  || fail "inside the rootfs the binaries' libraries belong to other packages than the list"
# What is missing inside must be exactly what the host took from outside Debian.
awk '{ print "missing", $2, $3 }' "$run_dir/not-debian.txt" | sort > "$run_dir/expected-missing.txt"
diff -u "$run_dir/expected-missing.txt" "$out/missing.txt" \
  || fail "libraries missing inside the rootfs (above: + lines) that the list should bring"
# Removing any one package from a copy of the list leaves a needed library unowned.
# shellcheck disable=SC2094  # the list is only read
while read -r pkg; do
  grep -vx "$pkg" "$deploy/runtime-packages.txt" > "$run_dir/list-without"
  unowned=$(awk 'NR == FNR { keep[$1] = 1; next } !($4 in keep) { print $2; exit }' \
    "$run_dir/list-without" "$out/owners.txt")
  [[ -n "$unowned" ]] || fail "the list without $pkg still owns every library: $pkg is not needed"
done < "$deploy/runtime-packages.txt"
log "libraries: every one resolves in the rootfs and is owned by a listed package; each package" \
  "is needed"

# 3. What runtime-setup.sh set up.
blas=$(chroot "$root" readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
[[ "$blas" == */openblas-pthread/* ]] || fail "libblas.so.3 is $blas, not OpenBLAS"
[[ "$(chroot "$root" id -u rein)" == 10001 ]] || fail "user rein is not uid 10001"

# 4. A tiny world, a config over it, and rein-rollout serving it.
in_rootfs "${as_rein[@]}" rein-demo corpus --out /mnt/world --seed 3 --sft_examples 64 \
  --prompts 64 --heldout_prompts 8 > "$run_dir/corpus.log" 2>&1 \
  || { cat "$run_dir/corpus.log"; fail "rein-demo corpus failed inside the rootfs"; }
cat > "$run_dir/work/run.yaml" << 'EOF'
run:
  name: docker-rootfs
  output_dir: /mnt/runs
data:
  prompts: /mnt/world/prompts.jsonl
  prompt_format: text
model:
  policy: /mnt/world/policy-init
learner:
  critic_init: policy
reward:
  rules:
    length_penalty:
      weight: 0.1
rollout:
  capacity: 2
  sampling:
    max_new_tokens: 8
server:
  drain_timeout: 5s
EOF
in_rootfs "${as_rein[@]}" reinctl config check /mnt/run.yaml > "$run_dir/check.log" 2>&1 \
  || { cat "$run_dir/check.log"; fail "reinctl config check failed inside the rootfs"; }

# Not through in_rootfs: $! must be unshare itself, not a subshell around it.
unshare --mount --pid --fork --kill-child "$here/enter_rootfs.sh" "$root" "$run_dir/bin" \
  "$run_dir/work" -- "${as_rein[@]}" rein-rollout --config /mnt/run.yaml --port 0 \
  --metrics_port 0 --worker_id rootfs-rollout > "$run_dir/rollout.out" 2> "$run_dir/rollout.err" &
rollout_pid=$!
address=""
deadline=$(($(date +%s) + 120))
# Serve's announcement on stdout: "<worker id> listening on HOST:PORT".
until address=$(sed -n 's/^rootfs-rollout listening on \([^ ]*\)$/\1/p' "$run_dir/rollout.out" \
                  2> /dev/null) \
      && [[ -n "$address" ]]; do
  kill -0 "$rollout_pid" 2> /dev/null \
    || { cat "$run_dir/rollout.out" "$run_dir/rollout.err"; fail "rein-rollout exited early"; }
  (($(date +%s) < deadline)) \
    || { cat "$run_dir/rollout.err"; fail "rein-rollout did not announce its port in 120 s"; }
  sleep 0.1
done
log "rein-rollout serving on $address inside the rootfs"
"$run_dir/bin/reinctl" health "$address" --wait 30s \
  || { cat "$run_dir/rollout.err"; fail "health check of rein-rollout in the rootfs failed"; }
# SIGTERM to rein-rollout itself (PID 1 of its namespace: unshare's only child).
server_pid=$(ps -o pid= --ppid "$rollout_pid" | tr -d ' ')
[[ -n "$server_pid" ]] || fail "no process under unshare $rollout_pid"
kill -TERM "$server_pid"
deadline=$(($(date +%s) + 30))
while kill -0 "$rollout_pid" 2> /dev/null; do
  (($(date +%s) < deadline)) || fail "rein-rollout did not stop within 30 s of SIGTERM"
  sleep 0.1
done
rc=0
wait "$rollout_pid" || rc=$?
rollout_pid=""
((rc == 0)) || { cat "$run_dir/rollout.err"; fail "rein-rollout exited $rc on SIGTERM"; }
# The health check can fail: nothing serves there now.
if "$run_dir/bin/reinctl" health "$address" > /dev/null 2>&1; then
  fail "health check passed with rein-rollout stopped"
fi
log "rein-rollout stopped cleanly; health check fails once it is gone"
echo "runtime rootfs test: passed in $(($(date +%s) - start)) s"
