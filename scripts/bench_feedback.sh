#!/usr/bin/env bash
# rein-feedback under 200 concurrent simulated annotators on loopback, against each backend:
# durable judgements per second and p50/p99 latency, then a check against the store that no
# acknowledged judgement is lost or stored twice.
#   scripts/bench_feedback.sh [--skip-build] [--seconds 15] [--annotators 200] [--backends "sqlite postgres"]
# Targets on 2 cores with SQLite: >= 1,000 judgements/s, p99 <= 100 ms, zero lost or duplicated.
# Results: $REIN_BENCH_OUT/feedback.json (default bench-results/<time>/).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
bin="$PWD/$build_dir/bin"
seconds=15
annotators=200
backends="sqlite postgres"
skip_build=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) skip_build=1 ;;
    --seconds) seconds=$2; shift ;;
    --annotators) annotators=$2; shift ;;
    --backends) backends=$2; shift ;;
    *) echo "bench_feedback.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $skip_build != 1 ]]; then scripts/setup.sh; scripts/build.sh; fi
out="${REIN_BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n "${pg_data:-}" ]]; then runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Waits (bounded) for a line containing $2 in file $1 and prints what follows the marker.
wait_line() {
  local file=$1 marker=$2
  for _ in $(seq 1 600); do
    if grep -q -- "$marker" "$file" 2>/dev/null; then
      grep -- "$marker" "$file" | head -1 | sed "s/.*$marker//"
      return 0
    fi
    sleep 0.1
  done
  echo "bench_feedback.sh: no '$marker' in $file" >&2
  cat "$file" >&2
  return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A scratch PostgreSQL on 127.0.0.1 (initdb refuses root: run it as the postgres user).
start_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pg_data="$scratch/pg"
  local port
  port=$(free_port)
  mkdir -p "$pg_data"
  chown postgres "$scratch" "$pg_data"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -A trust -U rein >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$scratch/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$scratch -c max_connections=200" start >/dev/null
  runuser -u postgres -- "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U rein bench
  echo "postgresql://rein@127.0.0.1:$port/bench"
}

results=()
for backend in $backends; do
  case "$backend" in
    sqlite) store="sqlite:$scratch/feedback.db" ;;
    postgres)
      if [[ $(id -u) -ne 0 ]] || ! id postgres >/dev/null 2>&1; then
        echo "== postgres: skipped (needs root to run initdb as the postgres user)"; continue
      fi
      store=$(start_postgres) ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  echo "== $backend: $annotators annotators for ${seconds}s"
  head -c 32 /dev/urandom | base64 > "$scratch/admin.token"
  cat > "$scratch/$backend.yaml" <<YAML
run: {name: bench-feedback, log_level: warning}
server: {drain_timeout: 2s}
feedback:
  store: "$store"
  admin_token_file: $scratch/admin.token
  http_threads: $((annotators + 16))
  submissions_per_minute: 0
YAML
  "$bin/rein-feedback" --config "$scratch/$backend.yaml" --port 0 > "$scratch/$backend.out" 2>&1 &
  pids+=($!)
  server_pid=$!
  grpc=$(wait_line "$scratch/$backend.out" " listening on ")
  http=$(wait_line "$scratch/$backend.out" " http on ")
  # At the target rate (each annotator paced, latency from the scheduled start), then closed
  # loop (as fast as acknowledged: the saturation throughput, which the summary reports).
  "$bin/rein-feedback-load" --grpc "$grpc" --http "$http" --admin-token-file "$scratch/admin.token" \
    --annotators "$annotators" --items 50000 --overlap 3 --seconds "$seconds" --rate 1000 \
    --out "$scratch/$backend.paced.json" > /dev/null
  "$bin/rein-feedback-load" --grpc "$grpc" --http "$http" --admin-token-file "$scratch/admin.token" \
    --annotators "$annotators" --items 50000 --overlap 3 --seconds "$seconds" \
    --out "$scratch/$backend.load.json" --acks "$scratch/$backend.acks.jsonl" > /dev/null
  campaign=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["campaign"])' "$scratch/$backend.load.json")
  "$bin/reinctl" feedback export --feedback "$grpc" --admin-token-file "$scratch/admin.token" \
    --campaign "$campaign" --format judgements --include-synthetic --out "$scratch/$backend.stored.jsonl" > /dev/null
  kill "$server_pid"; wait "$server_pid" || true
  python3 - "$backend" "$scratch" "$out" <<'PY'
import collections, json, sys
backend, scratch, out = sys.argv[1:4]
load = json.load(open(f"{scratch}/{backend}.load.json"))
paced = json.load(open(f"{scratch}/{backend}.paced.json"))
acked = [json.loads(l)["judgement_id"] for l in open(f"{scratch}/{backend}.acks.jsonl")]
stored = collections.Counter(json.loads(l)["judgement_id"] for l in open(f"{scratch}/{backend}.stored.jsonl")
                             if json.loads(l)["status"] == "submitted")
lost = sum(1 for a in acked if stored[a] == 0)
duplicated = sum(1 for _, n in stored.items() if n > 1) + (len(acked) - len(set(acked)))
result = {"backend": backend, **load, "lost": lost, "duplicated": duplicated,
          "at_1000_per_second": {k: paced[k] for k in ["judgements_per_second", "judgement_p50_seconds",
                                                       "judgement_p99_seconds", "submit_p99_seconds", "errors"]},
          "target_judgements_per_second": 1000, "target_p99_seconds": 0.1,
          # Capacity from the closed loop; latency at the target rate from the paced run (a
          # closed loop of 200 annotators has ~200/rate seconds of latency by Little's law).
          "rate_vs_target": load["judgements_per_second"] / 1000,
          "p99_vs_target": paced["judgement_p99_seconds"] / 0.1}
result["meets_target"] = (paced["judgements_per_second"] >= 0.98 * 1000 and result["rate_vs_target"] >= 1
                          and result["p99_vs_target"] <= 1 and lost == 0 and duplicated == 0)
json.dump(result, open(f"{out}/feedback_{backend}.json", "w"), indent=2)
print(f"  offered 1000/s: served {paced['judgements_per_second']:.0f}/s, judgement p50 "
      f"{1000*paced['judgement_p50_seconds']:.1f} ms, p99 {1000*paced['judgement_p99_seconds']:.1f} ms "
      f"({paced['judgement_p99_seconds']/0.1:.2f}x the 100 ms limit); errors {paced['errors']}")
print(f"  closed loop: {result['judgements_per_second']:.0f} judgements/s ({result['rate_vs_target']:.2f}x the 1000/s target), "
      f"judgement p50 {1000*load['judgement_p50_seconds']:.1f} ms, p99 {1000*load['judgement_p99_seconds']:.1f} ms; submit p99 {1000*load['submit_p99_seconds']:.1f} ms; "
      f"lost {lost}, duplicated {duplicated}; errors {load['errors']}")
print(f"  target (>= 1000/s at p99 <= 100 ms, nothing lost or duplicated): {'met' if result['meets_target'] else 'NOT met'}")
PY
done
python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
json.dump([json.load(open(f)) for f in sorted(glob.glob(f"{out}/feedback_*.json"))],
          open(f"{out}/feedback.json", "w"), indent=2)
PY
echo "results: $out/feedback.json"
