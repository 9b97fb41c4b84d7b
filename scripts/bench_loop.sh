#!/usr/bin/env bash
# The RLHF loop as the services run it (reinctl up, every hop over gRPC on 127.0.0.1):
#   1. iteration time per phase and the orchestration overhead, sync mode:
#        overhead = (iteration wall time - critical-path compute) / wall time
#      where critical-path compute is what the workers themselves measured: the busiest rollout
#      replica's Generate time + the slower of Score and LogProbs + the learner's Train + its
#      weight push. Target <= 5%.
#   2. async vs sync throughput (samples per second) on the same run, with generation and
#      training taking similar time. Every process is given one intra-op thread
#      (OMP_NUM_THREADS=1) so that on a 2-core machine generation and training each have a core
#      to overlap on; both modes run under the same setting. Target >= 1.4x.
# Warm-up iterations are left out of the figures. JSON goes to $REIN_BENCH_OUT (or a new
# folder under bench-results/).
#   scripts/bench_loop.sh [--iterations 12] [--skip-build]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
bin="$PWD/$build_dir/bin"
iterations=20
warmup=2
skip_build=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --iterations) iterations=$2; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ $skip_build != 1 ]]; then scripts/setup.sh; scripts/build.sh; fi
out="${REIN_BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}/loop"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/rein-bench-loop-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$bin/rein-demo" corpus --out "$work/world" --seed 7 --sft_examples 64 --prompts 512 \
  --heldout_prompts 8 >/dev/null

# Two workloads: "standard" (64 samples of up to 24 tokens, 2 PPO epochs x 2 minibatches: the
# learner's step dominates) and "balanced" (16 samples of up to 56 tokens, 1 epoch: generation
# and training take similar time, the case async mode is for).
write_config() {  # name mode rollout-yaml ppo-yaml
  cat > "$work/$1.yaml" <<YAML
run: {name: bench-$1, seed: 7, iterations: $iterations, mode: $2, max_policy_lag: 1, output_dir: $work/runs, checkpoint_every: 0}
data: {prompts: $work/world/prompts.jsonl, prompt_format: text}
model: {policy: $work/world/policy-init}
rollout: {replicas: 1, capacity: 64, $3}
reward: {model_weight: 0, rules: {length_penalty: {weight: 1.0, target_tokens: 12}}}
learner: {mode: ppo, learning_rate: 0.0003, critic_init: policy, micro_batch_size: 16}
ppo: {$4, kl_coef: 0.05}
server: {call_timeout: 120s, drain_timeout: 5s}
YAML
}
standard_rollout="batch_size: 32, samples_per_prompt: 2, sampling: {max_new_tokens: 24}"
balanced_rollout="batch_size: 8, samples_per_prompt: 2, sampling: {max_new_tokens: 56}"
write_config standard-sync sync "$standard_rollout" "epochs: 2, minibatches: 2"
write_config balanced-sync sync "$balanced_rollout" "epochs: 1, minibatches: 1"
write_config balanced-async async "$balanced_rollout" "epochs: 1, minibatches: 1"

for run in standard-sync balanced-sync balanced-async; do
  echo "== $run: $iterations iterations"
  OMP_NUM_THREADS=1 "$bin/reinctl" up --config "$work/$run.yaml" --run-dir "$work/runs/$run" \
    > "$out/$run.log" 2>&1 || { cat "$out/$run.log"; exit 1; }
  cp "$work/runs/$run/stats.jsonl" "$out/$run.stats.jsonl"
done

python3 - "$out" "$warmup" <<'PY'
import json, statistics, sys
out, warmup = sys.argv[1], int(sys.argv[2])
def load(run):
    with open(f"{out}/{run}.stats.jsonl") as f:
        return [json.loads(line) for line in f][warmup:]
def mean(rows, key):
    return statistics.fmean(r[key] for r in rows)
def throughput(rows):
    return sum(r["samples/count"] for r in rows) / sum(r["time/iteration_seconds"] for r in rows)
phases = ["generate", "score", "train", "weight_sync", "iteration"]
result = {"iterations_measured_per_run": None}
for run in ["standard-sync", "balanced-sync", "balanced-async"]:
    rows = load(run)
    result["iterations_measured_per_run"] = len(rows)
    r = {f"{p}_seconds": mean(rows, f"time/{p}_seconds") for p in phases}
    r["samples_per_second"] = throughput(rows)
    if run.endswith("-sync"):
        overheads = [x["orchestration/overhead_fraction"] for x in rows]
        r["critical_path_compute_seconds"] = mean(rows, "time/critical_path_compute_seconds")
        r["overhead_fraction_mean"] = statistics.fmean(overheads)
        r["overhead_fraction_max"] = max(overheads)
    else:
        r["wait_for_batch_seconds"] = mean(rows, "time/wait_for_batch_seconds")
        r["policy_lag_max"] = max(x["policy/lag_max"] for x in rows)
    result[run] = r
result["async_speedup_balanced"] = (result["balanced-async"]["samples_per_second"] /
                                    result["balanced-sync"]["samples_per_second"])
with open(f"{out}/loop.json", "w") as f:
    json.dump(result, f, indent=2)
for run in ["standard-sync", "balanced-sync"]:
    s = result[run]
    print(f"\n{run}: per-phase mean seconds: generate {s['generate_seconds']:.3f}  score {s['score_seconds']:.3f}"
          f"  train {s['train_seconds']:.3f}  weight sync {s['weight_sync_seconds']:.3f}  iteration {s['iteration_seconds']:.3f}")
    print(f"{run}: orchestration overhead mean {100*s['overhead_fraction_mean']:.2f}%  max {100*s['overhead_fraction_max']:.2f}%  (target <= 5%)")
a, b = result["balanced-async"], result["balanced-sync"]
print(f"\nbalanced: sync {b['samples_per_second']:.1f} samples/s, async {a['samples_per_second']:.1f} samples/s"
      f"  -> {result['async_speedup_balanced']:.2f}x (target >= 1.4x); async lag <= {a['policy_lag_max']:.0f}")
print(f"results: {out}/loop.json")
PY
