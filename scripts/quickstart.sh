#!/usr/bin/env bash
# The README's main command: sets up, builds, and tells the whole RLHF story on this machine,
# CPU only, every process on 127.0.0.1 (after setup and build, about 45 seconds on 2 cores):
#   1. a synthetic world: a tokenizer, an SFT corpus, prompts, a tiny randomly initialised model;
#   2. SFT of that model on the corpus                       (reinctl up, learner.mode sft);
#   3. response pairs sampled from the SFT policy become items of a rein-feedback campaign,
#      judged over its HTTP API by a simulated crowd: scripted annotators with a hidden
#      utility plus noise (they stand in for human raters; the reward model never sees the
#      utility), a careful one, and a spammer whom gold items pause; the campaign's pairs
#      export is the reward model's data         (rein-feedback, rein-demo crowd, reinctl);
#   4. a reward model trained on those preferences          (reinctl up, learner.mode reward-model);
#   5. PPO through the running services, every hop over gRPC (reinctl up, learner.mode ppo);
#   6. SFT vs PPO on held-out prompts: hidden utility, reward-model score, KL, RM accuracy
#      (rein-demo evaluate) -> a table and <out>/report.json.
# Environment: REIN_QUICKSTART_OUT (output folder), REIN_QUICKSTART_SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
bin="$PWD/$build_dir/bin"
seed="${REIN_QUICKSTART_SEED:-1}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# The policy folder of a run's final checkpoint.
final_model() { ls -d "$1"/checkpoints/iter-* | sort -t- -k2 -n | tail -1 | sed 's|$|/learner/policy|'; }

if [[ "${REIN_QUICKSTART_SKIP_BUILD:-0}" != 1 ]]; then
  step "setup"
  scripts/setup.sh
  step "build"
  scripts/build.sh
fi

out="${REIN_QUICKSTART_OUT:-$PWD/runs/quickstart-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out/configs"
echo "output folder: $out"
story_start=$(now)

step "1/6 synthetic world (seed $seed)"
t=$(now)
"$bin/rein-demo" corpus --out "$out/data" --seed "$seed"
world_seconds=$(elapsed "$t")

# Every phase runs through `reinctl up`: a coordinator and the workers its mode needs.
common_sections() {
  cat <<YAML
server:
  call_timeout: 120s
  drain_timeout: 5s
YAML
}

step "2/6 SFT: the tiny model learns the corpus (reinctl up, learner.mode sft)"
cat > "$out/configs/sft.yaml" <<YAML
run: {name: sft, seed: $seed, iterations: 300, output_dir: $out/runs, checkpoint_every: 0}
data: {train: $out/data/sft.jsonl, prompt_format: text, train_batch_size: 32}
model: {policy: $out/data/policy-init}
learner: {mode: sft, learning_rate: 0.003, warmup_steps: 20, schedule: cosine, micro_batch_size: 32, max_grad_norm: 1.0, weight_decay: 0.0}
$(common_sections)
YAML
t=$(now)
"$bin/reinctl" up --config "$out/configs/sft.yaml" --run-dir "$out/runs/sft"
sft_seconds=$(elapsed "$t")
sft_model=$(final_model "$out/runs/sft")

step "3/6 preferences: pairs from the SFT policy, judged by a simulated crowd through rein-feedback"
t=$(now)
mkdir -p "$out/feedback"
# The admin token never sits in the config, only its file's path.
(umask 077 && head -c 32 /dev/urandom | base64 > "$out/feedback/admin.token")
cat > "$out/configs/feedback.yaml" <<YAML
run: {name: feedback, seed: $seed}
server: {drain_timeout: 5s}
feedback:
  store: sqlite:$out/feedback/feedback.db
  admin_token_file: $out/feedback/admin.token
  submissions_per_minute: 0   # scripted annotators judge as fast as the server answers
YAML
feedback_log="$out/feedback/rein-feedback.log"
"$bin/rein-feedback" --config "$out/configs/feedback.yaml" --port 0 > "$feedback_log" 2>&1 &
feedback_pid=$!
stop_feedback() {
  if [[ -n "${feedback_pid:-}" ]]; then
    kill -TERM "$feedback_pid" 2>/dev/null || true
    wait "$feedback_pid" 2>/dev/null || true
    feedback_pid=
  fi
}
trap stop_feedback EXIT
# Its three addresses, as it announces them on stdout (bounded: 30 s).
feedback_address() { sed -n "s/^.* $1 on \([^ ]*\)$/\1/p" "$feedback_log" | head -1; }
for _ in $(seq 300); do
  feedback_grpc=$(feedback_address listening); feedback_http=$(feedback_address http)
  feedback_metrics=$(feedback_address metrics)
  [[ -n "$feedback_grpc" && -n "$feedback_http" && -n "$feedback_metrics" ]] && break
  kill -0 "$feedback_pid" 2>/dev/null || { cat "$feedback_log" >&2; echo "rein-feedback exited" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$feedback_metrics" ]] || { cat "$feedback_log" >&2; echo "rein-feedback did not start in 30 s" >&2; exit 1; }
echo "rein-feedback: gRPC $feedback_grpc, HTTP $feedback_http, metrics $feedback_metrics (log: $feedback_log)"
echo "feedback page: http://$feedback_http/"
# 1500 items x overlap 3 from 5 annotators (3 usual, 1 careful, 1 spammer). The export
# aggregates each item's votes into one pair (ties dropped): ~1350 pairs. With 1000 items
# (~900 pairs) PPO learned to exploit the reward model on some draws of the crowd. 600 more
# pairs, labelled directly by the scripted rater, are the evaluation's held-out preferences.
"$bin/rein-demo" crowd --feedback-grpc "$feedback_grpc" --feedback-http "$feedback_http" \
  --admin-token-file "$out/feedback/admin.token" --policy "$sft_model" \
  --prompts "$out/data/prompts.jsonl" --campaign round-1 --items 1500 --overlap 3 \
  --annotators 5 --gold-rate 0.1 --seed "$seed" --guest newcomer \
  --heldout-pairs 600 --heldout-out "$out/data/preferences_heldout.jsonl" \
  --summary "$out/feedback/crowd.json"
# The crowd is synthetic, so its votes count only with --include-synthetic; the paused
# spammer's never do.
if "$bin/reinctl" feedback --help > /dev/null 2>&1; then
  "$bin/reinctl" feedback export --feedback "$feedback_grpc" \
    --admin-token-file "$out/feedback/admin.token" --campaign round-1 --format pairs \
    --include-synthetic --out "$out/data/preferences.jsonl"
else
  "$bin/rein-demo" export --feedback-grpc "$feedback_grpc" \
    --admin-token-file "$out/feedback/admin.token" --campaign round-1 --format pairs \
    --include-synthetic --out "$out/data/preferences.jsonl"
fi
stop_feedback
exported_pairs=$(wc -l < "$out/data/preferences.jsonl")
echo "exported $exported_pairs preference pairs to $out/data/preferences.jsonl; rein-feedback stopped"
echo "to look at the campaign later: $bin/rein-feedback --config $out/configs/feedback.yaml,"
echo "  then open the invite link above with the port it announces"
feedback_seconds=$(elapsed "$t")

step "4/6 reward model on the preferences (reinctl up, learner.mode reward-model)"
cat > "$out/configs/reward_model.yaml" <<YAML
run: {name: reward-model, seed: $seed, iterations: 150, output_dir: $out/runs, checkpoint_every: 0}
data: {train: $out/data/preferences.jsonl, prompt_format: text, train_batch_size: 32}
model: {policy: $sft_model}
learner: {mode: reward-model, learning_rate: 0.001, warmup_steps: 10, schedule: cosine, micro_batch_size: 32}
$(common_sections)
YAML
t=$(now)
"$bin/reinctl" up --config "$out/configs/reward_model.yaml" --run-dir "$out/runs/reward-model"
rm_seconds=$(elapsed "$t")
reward_model=$(final_model "$out/runs/reward-model")

step "5/6 PPO through the services: rollout, reward, reference, learner (reinctl up)"
ppo_iterations=60
cat > "$out/configs/ppo.yaml" <<YAML
run: {name: ppo, seed: $seed, iterations: $ppo_iterations, output_dir: $out/runs, checkpoint_every: 0}
data: {prompts: $out/data/prompts.jsonl, prompt_format: text}
model: {policy: $sft_model, reward_model: $reward_model}
rollout:
  replicas: 1
  capacity: 64
  batch_size: 32
  samples_per_prompt: 2
  sampling: {temperature: 1.0, max_new_tokens: 24}
learner: {mode: ppo, learning_rate: 0.0005, critic_init: reward-model, micro_batch_size: 64}
ppo: {epochs: 2, minibatches: 2, kl_coef: 0.05, clip_epsilon: 0.2}
$(common_sections)
YAML
t=$(now)
"$bin/reinctl" up --config "$out/configs/ppo.yaml" --run-dir "$out/runs/ppo"
ppo_seconds=$(elapsed "$t")
ppo_model=$(final_model "$out/runs/ppo")

step "6/6 evaluation on held-out prompts: SFT vs PPO"
# Run facts for report.json: iterations, wall seconds per step, and PPO's time per phase.
python3 - "$out" <<PY
import json, statistics, sys
out = sys.argv[1]
with open(f"{out}/runs/ppo/stats.jsonl") as f:
    ppo = [json.loads(line) for line in f]
# The crowd's figures (rein-demo crowd --summary) and what the export kept.
with open(f"{out}/feedback/crowd.json") as f:
    crowd = json.load(f)
feedback = {k: crowd[k] for k in ["items", "gold_items", "items_complete", "judgements_submitted",
                                  "pairwise_alpha", "left_win_rate", "spammer_paused"]}
feedback["paused_annotators"] = [a["name"] for a in crowd["annotators"] if a["paused"]]
feedback["annotators"] = {a["name"]: {k: a[k] for k in ["kind", "submitted", "gold_accuracy", "paused"]}
                          for a in crowd["annotators"] if a["synthetic"]}
feedback["exported_pairs"] = $exported_pairs
phases = {p: statistics.fmean(r[f"time/{p}_seconds"] for r in ppo)
          for p in ["generate", "score", "train", "weight_sync", "iteration"]}
extra = {"seed": $seed, "iterations": {"sft": 300, "reward_model": 150, "ppo": len(ppo)},
         "wall_seconds": {"world": $world_seconds, "sft": $sft_seconds,
                          "feedback": $feedback_seconds, "reward_model": $rm_seconds,
                          "ppo": $ppo_seconds, "total_before_evaluation": $(elapsed "$story_start")},
         "ppo_mean_seconds_per_iteration_by_phase": phases,
         "feedback": feedback,
         "ppo_final_iteration": {k: ppo[-1][k] for k in ["reward/mean", "kl/mean", "kl/coef"]},
         "output_dir": out}
with open(f"{out}/extra.json", "w") as f:
    json.dump(extra, f, indent=2)
PY
"$bin/rein-demo" evaluate --sft "$sft_model" --ppo "$ppo_model" --reward_model "$reward_model" \
  --prompts "$out/data/heldout_prompts.jsonl" --preferences "$out/data/preferences_heldout.jsonl" \
  --seed "$seed" --extra "$out/extra.json" --out "$out/report.json"

step "done in $(elapsed "$story_start") s (after setup and build)"
echo "report: $out/report.json"
echo "runs (logs, stats.jsonl, checkpoints): $out/runs"
echo "Next: scripts/test.sh runs every test; scripts/bench.sh runs the benchmarks."
