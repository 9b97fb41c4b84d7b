#!/usr/bin/env bash
# The README's main command: sets up, builds, and tells the rounds story of RLHF on this
# machine, CPU only, every process on 127.0.0.1 (after setup and build, a few minutes on 2 cores):
#   1. a synthetic world: a tokenizer, an SFT corpus, prompts (a quarter of them red-team
#      prompts that ask for a harmful or biased word), a tiny randomly initialised model;
#   2. SFT of that model on the corpus                      (reinctl up, learner.mode sft);
#   3. red teaming the SFT policy: its responses to red-team prompts become a flag campaign in
#      rein-feedback, flagged by a simulated crowd (scripted raters who flag harm words, with
#      errors; they stand in for people), and a cost model learns the flags
#                                      (rein-feedback, rein-demo crowd, learner.mode cost-model);
#   4. two rounds of RLHF scheduled by the coordinator       (reinctl up with rounds:): each
#      round samples pairs from the current and an earlier policy into campaign
#      rounds-round-<r>, waits while the crowd judges them (a hidden utility plus noise, a
#      careful rater, a spammer whom gold items pause), retrains the reward model on every
#      round's pairs, runs PPO under a Safe RLHF cost constraint, evaluates the red-team set and
#      posts its responses as campaign rounds-red-team-<r>, whose flags retrain the cost model
#      in the next round;
#   5. the versions side by side on held-out and red-team prompts: hidden utility, win rate
#      against the previous version, flagged rate, and each round's reward-model accuracy, cost
#      against its limit and KL (rein-demo evaluate) -> a table and <out>/report.json.
# Environment: REIN_QUICKSTART_OUT (output folder), REIN_QUICKSTART_SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REIN_BUILD_DIR:-build}"
bin="$PWD/$build_dir/bin"
seed="${REIN_QUICKSTART_SEED:-1}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# The policy folder of a run's checkpoint after `iteration` (the last one when omitted).
model_at() {
  if [[ -n "${2:-}" ]]; then echo "$1/checkpoints/iter-$2/learner/policy"; return; fi
  ls -d "$1"/checkpoints/iter-* | sort -t- -k2 -n | tail -1 | sed 's|$|/learner/policy|'
}

if [[ "${REIN_QUICKSTART_SKIP_BUILD:-0}" != 1 ]]; then
  step "setup"
  scripts/setup.sh
  step "build"
  scripts/build.sh
fi

out="${REIN_QUICKSTART_OUT:-$PWD/runs/quickstart-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out/configs" "$out/feedback"
echo "output folder: $out"
story_start=$(now)

# Every stage runs through `reinctl up`: a coordinator and the workers its mode needs.
common_sections() {
  cat <<YAML
server:
  call_timeout: 120s
  drain_timeout: 5s
YAML
}
# One rein-feedback store for every campaign of the story; the admin token never sits in a
# config, only its file's path.
(umask 077 && head -c 32 /dev/urandom | base64 > "$out/feedback/admin.token")
feedback_section() {
  cat <<YAML
feedback:
  store: sqlite:$out/feedback/feedback.db
  admin_token_file: $out/feedback/admin.token
  submissions_per_minute: 0   # scripted annotators judge as fast as the server answers
YAML
}
crowd() {  # rein-demo crowd against the rein-feedback at $feedback_grpc / $feedback_http
  "$bin/rein-demo" crowd --feedback-grpc "$feedback_grpc" --feedback-http "$feedback_http" \
    --admin-token-file "$out/feedback/admin.token" --seed "$seed" "$@"
}
# rein-feedback's gRPC and HTTP addresses as its log announces them (bounded: 60 s); `pid` is
# the process that must stay alive meanwhile.
await_feedback() {
  local log=$1 pid=$2
  feedback_grpc= feedback_http=
  for _ in $(seq 600); do
    if [[ -f "$log" ]]; then
      feedback_grpc=$(sed -n 's/^.* listening on \([^ ]*\)$/\1/p' "$log" | head -1)
      feedback_http=$(sed -n 's/^.* http on \([^ ]*\)$/\1/p' "$log" | head -1)
    fi
    [[ -n "$feedback_grpc" && -n "$feedback_http" ]] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2 || true; echo "rein-feedback exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "rein-feedback did not start in 60 s (log: $log)" >&2
  exit 1
}
background_pid=
stop_background() {
  if [[ -n "$background_pid" ]]; then
    kill -TERM "$background_pid" 2>/dev/null || true
    wait "$background_pid" 2>/dev/null || true
    background_pid=
  fi
}
trap stop_background EXIT

step "1/5 synthetic world (seed $seed)"
t=$(now)
"$bin/rein-demo" corpus --out "$out/data" --seed "$seed"
world_seconds=$(elapsed "$t")

step "2/5 SFT: the tiny model learns the corpus (reinctl up, learner.mode sft)"
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
sft_model=$(model_at "$out/runs/sft")

step "3/5 red team the SFT policy: a flag campaign through rein-feedback, then a cost model"
t=$(now)
cat > "$out/configs/feedback.yaml" <<YAML
run: {name: feedback, seed: $seed}
server: {drain_timeout: 5s}
$(feedback_section)
YAML
feedback_log="$out/feedback/rein-feedback.log"
"$bin/rein-feedback" --config "$out/configs/feedback.yaml" --port 0 > "$feedback_log" 2>&1 &
background_pid=$!
await_feedback "$feedback_log" "$background_pid"
echo "rein-feedback: gRPC $feedback_grpc, HTTP $feedback_http; annotator page: http://$feedback_http/"
# 400 red-team prompts, two SFT responses each, three raters per item (no gold: the spammer
# stays in, as an unvetted crowd would).
crowd --question flag --policy "$sft_model" --prompts "$out/data/red_team_train.jsonl" \
  --campaign red-team-sft --items 400 --overlap 3 --annotators 5 --gold-rate 0 --guest newcomer \
  --summary "$out/feedback/crowd-red-team-sft.json"
"$bin/reinctl" feedback export --feedback "$feedback_grpc" \
  --admin-token-file "$out/feedback/admin.token" --campaign red-team-sft --format unpaired \
  --include-synthetic --out "$out/data/flags.jsonl"
stop_background
echo "exported $(wc -l < "$out/data/flags.jsonl") approve/flag labels to $out/data/flags.jsonl"
cat > "$out/configs/cost_model.yaml" <<YAML
run: {name: cost-model, seed: $seed, iterations: 120, output_dir: $out/runs, checkpoint_every: 0}
data: {train: $out/data/flags.jsonl, prompt_format: text, train_batch_size: 32}
model: {policy: $sft_model}
learner: {mode: cost-model, learning_rate: 0.001, warmup_steps: 10, schedule: cosine, micro_batch_size: 32}
$(common_sections)
YAML
"$bin/reinctl" up --config "$out/configs/cost_model.yaml" --run-dir "$out/runs/cost-model"
cost_model=$(model_at "$out/runs/cost-model")
red_team_seconds=$(elapsed "$t")

step "4/5 two rounds: feedback -> reward model -> PPO under a cost constraint -> red team (reinctl up)"
rounds=2
round_iterations=40
items_per_round=500
red_team_prompts=$(wc -l < "$out/data/red_team.jsonl")
cost_limit=-2.0
cat > "$out/configs/rounds.yaml" <<YAML
run: {name: rounds, seed: $seed, output_dir: $out/runs, checkpoint_every: 0}
data: {prompts: $out/data/prompts.jsonl, prompt_format: text}
model: {policy: $sft_model, cost_model: $cost_model}
rollout:
  replicas: 1
  capacity: 64
  batch_size: 32
  samples_per_prompt: 2
  sampling: {temperature: 1.0, max_new_tokens: 24}
learner: {mode: ppo, learning_rate: 0.0005, critic_init: policy, micro_batch_size: 64}
ppo: {epochs: 2, minibatches: 2, kl_coef: 0.05, clip_epsilon: 0.2}
safety: {mode: constraint, cost_limit: $cost_limit, lambda_init: 1.0, lambda_lr: 0.1, lambda_max: 3.0}
rounds:
  count: $rounds
  iterations: $round_iterations
  prompts_per_round: $items_per_round
  overlap: 3
  gold_rate: 0.1
  include_synthetic: true     # the crowd is synthetic; the paused spammer's votes never count
  poll_interval: 250ms
  reward_model: {data: all, steps: 150, batch_size: 32, learning_rate: 0.001, heldout_fraction: 0.1}
  cost_model: {steps: 60, batch_size: 32, learning_rate: 0.0005}
eval: {red_team: $out/data/red_team.jsonl, samples: 2, overlap: 1}
$(feedback_section)
$(common_sections)
YAML
t=$(now)
run_dir="$out/runs/rounds"
"$bin/reinctl" up --config "$out/configs/rounds.yaml" --run-dir "$run_dir" &
background_pid=$!
await_feedback "$run_dir/logs/feedback-0.log" "$background_pid"
echo "the run's rein-feedback: HTTP $feedback_http (reinctl status --run-dir $run_dir shows the round)"
for round in $(seq "$rounds"); do
  # The coordinator posts the round's pairs; the crowd joins, adds gold items and judges.
  crowd --join --join-timeout 900 --campaign "rounds-round-$round" --items "$items_per_round" \
    --policy "$sft_model" --prompts "$out/data/prompts.jsonl" --overlap 3 --annotators 5 \
    --gold-rate 0.1 --summary "$out/feedback/crowd-round-$round.json"
  if (( round < rounds )); then
    # The round's red-team responses, flagged for the next round's cost model.
    crowd --join --join-timeout 900 --campaign "rounds-red-team-$round" --items "$red_team_prompts" \
      --policy "$sft_model" --prompts "$out/data/red_team.jsonl" --overlap 1 --annotators 3 \
      --gold-rate 0 --summary "$out/feedback/crowd-red-team-$round.json"
  fi
done
wait "$background_pid" || { background_pid=; echo "the rounds run failed (logs: $run_dir/logs)" >&2; exit 1; }
background_pid=
rounds_seconds=$(elapsed "$t")

step "5/5 the versions side by side: SFT, round 1, round 2"
python3 - "$out" <<PY
import json, statistics, sys
out = sys.argv[1]
with open(f"{out}/runs/rounds/stats.jsonl") as f:
    lines = [json.loads(line) for line in f]
iterations = [l for l in lines if "iteration" in l and "time/iteration_seconds" in l]
phases = {p: statistics.fmean(r[f"time/{p}_seconds"] for r in iterations)
          for p in ["generate", "score", "train", "weight_sync", "iteration"]}
crowds = {}
for name in ["red-team-sft"] + [f"round-{r}" for r in range(1, $rounds + 1)]:
    with open(f"{out}/feedback/crowd-{name}.json") as f:
        c = json.load(f)
    crowds[name] = {k: c[k] for k in ["items", "gold_items", "judgements_submitted",
                                      "pairwise_alpha", "spammer_paused"]}
extra = {"seed": $seed, "rounds": $rounds, "iterations_per_round": $round_iterations,
         "wall_seconds": {"world": $world_seconds, "sft": $sft_seconds,
                          "red_team_and_cost_model": $red_team_seconds, "rounds": $rounds_seconds,
                          "total_before_evaluation": $(elapsed "$story_start")},
         "ppo_mean_seconds_per_iteration_by_phase": phases, "crowd": crowds, "output_dir": out}
with open(f"{out}/extra.json", "w") as f:
    json.dump(extra, f, indent=2)
PY
policies=(--policy "sft=$sft_model")
for round in $(seq "$rounds"); do
  policies+=(--policy "round-$round=$(model_at "$run_dir" $((round * round_iterations)))")
done
"$bin/rein-demo" evaluate "${policies[@]}" \
  --reward_model "$run_dir/rounds/round-$rounds/reward-learner/policy" \
  --prompts "$out/data/heldout_prompts.jsonl" --red_team "$out/data/red_team.jsonl" \
  --rounds "$run_dir/rounds.jsonl" --cost_limit "$cost_limit" \
  --seed "$seed" --extra "$out/extra.json" --out "$out/report.json"

step "done in $(elapsed "$story_start") s (after setup and build)"
echo "report: $out/report.json"
echo "runs (logs, stats.jsonl, rounds.jsonl, checkpoints): $out/runs"
echo "campaigns: $bin/rein-feedback --config $out/configs/feedback.yaml, then its page"
echo "Next: scripts/test.sh runs every test; scripts/bench.sh runs the benchmarks."
