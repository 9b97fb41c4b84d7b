#!/usr/bin/env bash
# The quickstart's rounds story on several seeds (default 1 2 3) against its bar: on every
# seed the hidden utility rises and the red-team flagged rate falls in each round. For each
# round it reports the effect sizes — the utility gain over the previous version in units of
# the per-response s.d. (Cohen's d) and in standard errors, the fall of the flagged rate in
# percentage points with Cohen's h — and the win rate against the previous version, the
# reward model's held-out accuracy, the cost against its limit and KL, plus each run's wall
# time. JSON goes to $REIN_BENCH_OUT (or a new folder under bench-results/).
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
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "   %.1f s\n", b - a }' |
    tee "$out/seed-$seed.seconds"
done
python3 - "$out" "${seeds[@]}" <<'PY'
import json, math, sys
out, seeds = sys.argv[1], sys.argv[2:]
rows, bar = [], True
for seed in seeds:
    with open(f"{out}/seed-{seed}/report.json") as f:
        report = json.load(f)
    with open(f"{out}/seed-{seed}.seconds") as f:
        seconds = float(f.read().split()[0])
    policies = report["policies"]
    rounds = []
    for prev, cur in zip(policies, policies[1:]):
        sd = math.sqrt((prev["utility_sem"] ** 2 * prev["samples"] +
                        cur["utility_sem"] ** 2 * cur["samples"]) / 2)
        gain = cur["utility_mean"] - prev["utility_mean"]
        p0, p1 = prev["red_team"]["harm_rate"], cur["red_team"]["harm_rate"]
        r = cur.get("round", {})
        rounds.append({
            "version": cur["name"], "utility": cur["utility_mean"], "utility_gain": gain,
            "effect_size_d": gain / sd if sd > 0 else None,
            "gain_in_sems": gain / math.hypot(prev["utility_sem"], cur["utility_sem"]),
            "win_rate_vs_previous": cur["win_rate_vs_previous"],
            "flagged_rate": p1, "flagged_rate_interval": [cur["red_team"]["low"], cur["red_team"]["high"]],
            "flagged_fall_points": 100 * (p0 - p1),
            "cohens_h": 2 * math.asin(math.sqrt(p0)) - 2 * math.asin(math.sqrt(p1)),
            "reward_model_accuracy": r.get("reward_model_accuracy"),
            "cost_mean": r.get("cost/mean"), "lambda": r.get("safety/lambda"),
            "kl_last_iteration": r.get("kl/mean"), "kl_to_sft": cur["kl_to_reference"]})
    ok = all(x["utility_gain"] > 0 and x["flagged_fall_points"] > 0 for x in rounds)
    bar &= ok
    rows.append({"seed": int(seed), "sft_utility": policies[0]["utility_mean"],
                 "sft_flagged_rate": policies[0]["red_team"]["harm_rate"], "rounds": rounds,
                 "meets_bar": ok, "wall_seconds": seconds,
                 "wall_seconds_by_stage": report.get("wall_seconds", {})})
summary = {"seeds": rows, "cost_limit": report.get("cost_limit"),
           "utility_rises_and_flagged_falls_each_round_on_every_seed": bar,
           "max_wall_seconds": max(r["wall_seconds"] for r in rows)}
with open(f"{out}/quickstart.json", "w") as f:
    json.dump(summary, f, indent=2)
print(f"{'seed':>4} {'version':>8} {'utility':>8} {'gain':>7} {'d':>5} {'win rate':>8} "
      f"{'flagged':>8} {'fall pp':>7} {'h':>5} {'RM acc':>6} {'cost':>6} {'lambda':>6} {'KL':>6}")
fmt = lambda v, f: format(v, f) if isinstance(v, (int, float)) else "-"
for row in rows:
    print(f"{row['seed']:>4} {'sft':>8} {row['sft_utility']:8.3f} {'':>7} {'':>5} {'':>8} "
          f"{row['sft_flagged_rate']:8.3f}")
    for x in row["rounds"]:
        print(f"{'':>4} {x['version']:>8} {x['utility']:8.3f} {x['utility_gain']:+7.3f} "
              f"{fmt(x['effect_size_d'], '5.2f')} {x['win_rate_vs_previous']['rate']:8.3f} "
              f"{x['flagged_rate']:8.3f} {x['flagged_fall_points']:+7.1f} {x['cohens_h']:5.2f} "
              f"{fmt(x['reward_model_accuracy'], '6.3f')} {fmt(x['cost_mean'], '6.2f')} "
              f"{fmt(x['lambda'], '6.2f')} {fmt(x['kl_to_sft'], '6.2f')}")
    print(f"     {row['wall_seconds']:.0f} s; meets the bar: {row['meets_bar']}")
print(f"utility rises and the flagged rate falls in each round on every seed: {bar}; "
      f"slowest run {summary['max_wall_seconds']:.0f} s; results: {out}/quickstart.json")
PY
