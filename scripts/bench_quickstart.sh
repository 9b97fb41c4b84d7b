#!/usr/bin/env bash
# The quickstart's RLHF story on several seeds (default 1 2 3): whether PPO beats SFT on the
# hidden utility on every seed, by how much (effect size: gain / pooled s.d. of the per-response
# utilities, and the spread of the gain over seeds), the reward model's held-out accuracy, and
# the wall time of each run. JSON goes to $REIN_BENCH_OUT (or a new folder under bench-results/).
#   scripts/bench_quickstart.sh [seed ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(1 2 3)
scripts/setup.sh
scripts/build.sh
out="${REIN_BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}/quickstart"
mkdir -p "$out"
out=$(cd "$out" && pwd)
for seed in "${seeds[@]}"; do
  echo "== seed $seed"
  start=$(date +%s.%N)
  REIN_QUICKSTART_SKIP_BUILD=1 REIN_QUICKSTART_SEED=$seed REIN_QUICKSTART_OUT="$out/seed-$seed" \
    scripts/quickstart.sh > "$out/seed-$seed.log" 2>&1 || { tail -30 "$out/seed-$seed.log"; exit 1; }
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "   %.1f s\n", b - a }'
done
python3 - "$out" "${seeds[@]}" <<'PY'
import json, math, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
rows = []
for seed in seeds:
    with open(f"{out}/seed-{seed}/report.json") as f:
        r = json.load(f)
    sft, ppo = r["sft"], r["ppo"]
    # Per-response s.d. from the standard errors: sem = sd / sqrt(n).
    n_sft, n_ppo = r["sft"].get("samples", 800), r["ppo"].get("samples", 800)
    sd = math.sqrt((sft["utility_sem"] ** 2 * n_sft + ppo["utility_sem"] ** 2 * n_ppo) / 2)
    rows.append({"seed": int(seed), "sft_utility": sft["utility_mean"], "ppo_utility": ppo["utility_mean"],
                 "gain": r["utility_gain"], "effect_size_d": r["utility_gain"] / sd,
                 "gain_in_sems": r["utility_gain"] / math.hypot(sft["utility_sem"], ppo["utility_sem"]),
                 "rm_heldout_accuracy": r["reward_model_heldout_accuracy"], "kl": r["kl_to_reference"],
                 "phase_seconds": r.get("phase_seconds", {})})
gains = [r["gain"] for r in rows]
summary = {"seeds": rows, "gain_mean": statistics.fmean(gains),
           "gain_sd_over_seeds": statistics.stdev(gains) if len(gains) > 1 else 0.0,
           "ppo_beats_sft_on_every_seed": all(g > 0 for g in gains),
           "min_rm_accuracy": min(r["rm_heldout_accuracy"] for r in rows)}
with open(f"{out}/quickstart.json", "w") as f:
    json.dump(summary, f, indent=2)
print(f"{'seed':>4} {'SFT':>7} {'PPO':>7} {'gain':>7} {'d':>6} {'RM acc':>7} {'KL':>7}")
for r in rows:
    print(f"{r['seed']:>4} {r['sft_utility']:7.3f} {r['ppo_utility']:7.3f} {r['gain']:+7.3f} "
          f"{r['effect_size_d']:6.2f} {r['rm_heldout_accuracy']:7.3f} {r['kl']:7.2f}")
print(f"gain {summary['gain_mean']:+.3f} ± {summary['gain_sd_over_seeds']:.3f} (s.d. over seeds); "
      f"PPO beats SFT on every seed: {summary['ppo_beats_sft_on_every_seed']}; results: {out}/quickstart.json")
PY
