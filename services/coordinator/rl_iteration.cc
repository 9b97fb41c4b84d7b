// RunLoop's RL iterations: prepare a batch (generate, then score ‖ reference log-probs), train
// on it, push the new weights; in async mode the next batch is prepared while this one trains.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/hash/stable_hash.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/coordinator/run_loop.h"

namespace rein::coordinator {
namespace {

using hash::SplitMix64;

// Reward moments, response length and the oldest policy version of a batch.
void AddSampleStats(const std::vector<Sample>& samples, rein::v1::Stats& stats,
                    uint64_t* oldest_version, double* tokens) {
  double sum = 0, sum_sq = 0;
  *tokens = 0;
  *oldest_version = UINT64_MAX;
  uint64_t oldest_reward_model = UINT64_MAX;
  for (const Sample& sample : samples) {
    oldest_reward_model = std::min(oldest_reward_model, sample.reward_model_version);
    sum += sample.reward;
    sum_sq += static_cast<double>(sample.reward) * sample.reward;
    *tokens += static_cast<double>(sample.response_ids.size());
    *oldest_version = std::min(*oldest_version, sample.policy_version);
  }
  const double n = static_cast<double>(samples.size());
  SetStat(stats, "reward/mean", sum / n);
  SetStat(stats, "reward/std", std::sqrt(std::max(0.0, sum_sq / n - std::pow(sum / n, 2))));
  SetStat(stats, "response/length_mean", *tokens / n);
  // The oldest reward model any sample was scored with: after a round's reload every reply
  // should name the new one.
  SetStat(stats, "reward_model/version", static_cast<double>(oldest_reward_model));
}

}  // namespace

std::vector<PromptItem> RunLoop::TakePrompts(uint64_t iteration) {
  std::vector<PromptItem> items;
  for (data::Prompt& prompt : data_.prompts->Next(options_.batch_size)) {
    // Seeds depend on the run seed, the iteration and the position only: a resumed run
    // samples exactly what the uninterrupted one would have.
    uint64_t seed = SplitMix64(SplitMix64(SplitMix64(options_.seed) ^ iteration) ^ items.size());
    items.push_back({prompt.index, std::move(prompt.token_ids), seed});
  }
  return items;
}

absl::StatusOr<RunLoop::PreparedBatch> RunLoop::PrepareBatch(uint64_t iteration,
                                                            uint64_t min_policy_version) {
  PreparedBatch batch;
  batch.cursor_before = data_.prompts->cursor();
  std::vector<PromptItem> prompts = TakePrompts(iteration);
  GenerateOptions generate;
  generate.sampling = options_.sampling;
  generate.samples_per_prompt = options_.samples_per_prompt;
  generate.min_policy_version = min_policy_version;
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(batch.samples, GenerateStage(stages_, prompts, generate, &batch.generate_stats));
  const absl::Time generated = absl::Now();
  RETURN_IF_ERROR(
      ScoreStage(stages_, batch.samples, &batch.reward_stats, &batch.reference_stats));
  batch.generate_time = generated - start;
  batch.score_time = absl::Now() - generated;
  metrics_.ObservePhase("generate", batch.generate_time);
  metrics_.ObservePhase("score", batch.score_time);
  return batch;
}

void RunLoop::DiscardPrefetch() {
  if (!prefetch_) return;
  prefetch_->wait();  // Its calls are in flight; let them end before the stages go away.
  prefetch_.reset();
  metrics_.prefetched_batches.Set(0);
}

absl::Status RunLoop::RlIteration(uint64_t iteration, const rein::v1::HyperParameters& parameters) {
  const absl::Time start = absl::Now();
  absl::StatusOr<PreparedBatch> prepared;
  if (prefetch_) {
    prepared = prefetch_->get();
    prefetch_.reset();
    metrics_.prefetched_batches.Set(0);
  } else {
    prepared = PrepareBatch(iteration, 0);
  }
  RETURN_IF_ERROR(prepared.status());
  PreparedBatch batch = *std::move(prepared);
  const absl::Time ready = absl::Now();

  // Async: start the next batch now, on the weights the rollouts hold; it must not be older
  // than them (so its lag at training time is at most one version).
  if (options_.async && iteration < run_.Snapshot().total_iterations()) {
    const uint64_t min_version = policy_version_;
    prefetch_ = std::async(std::launch::async, [this, iteration, min_version] {
      return PrepareBatch(iteration + 1, min_version);
    });
    metrics_.prefetched_batches.Set(1);
  }

  // The cost (from the reward service's cost model) enters the reward here, as safety: says.
  rein::v1::Stats safety_stats;
  RETURN_IF_ERROR(cost_shaper_->Apply(batch.samples, safety_stats));
  RETURN_IF_ERROR(AdoptLiveKlCoef(parameters));
  rein::v1::HyperParameters overrides = parameters;
  overrides.set_kl_coef(kl_controller_.coef());
  ASSIGN_OR_RETURN(rein::v1::TrainResponse trained,
                   TrainStage(stages_, iteration, batch.samples, overrides));
  const absl::Time trained_at = absl::Now();
  ASSIGN_OR_RETURN(rein::v1::PushWeightsResponse pushed, PushWeightsStage(stages_));
  const absl::Time end = absl::Now();
  const uint64_t learner_version_before = trained.policy_version() - 1;
  policy_version_ = pushed.policy_version();
  untrained_cursor_ = prefetch_ ? data_.prompts->cursor() - options_.batch_size
                                : data_.prompts->cursor();

  rein::v1::Stats stats = trained.stats();  // Learner stats: losses, KL, entropy, ...
  for (const auto& [name, value] : safety_stats.values()) SetStat(stats, name, value);
  uint64_t oldest_version = 0;
  double tokens = 0;
  AddSampleStats(batch.samples, stats, &oldest_version, &tokens);
  const uint64_t lag = learner_version_before > oldest_version
                           ? learner_version_before - oldest_version
                           : 0;
  const double wall = absl::ToDoubleSeconds(end - start);
  SetStat(stats, "time/generate_seconds", absl::ToDoubleSeconds(batch.generate_time));
  SetStat(stats, "time/score_seconds", absl::ToDoubleSeconds(batch.score_time));
  SetStat(stats, "time/wait_for_batch_seconds", absl::ToDoubleSeconds(ready - start));
  SetStat(stats, "time/train_seconds", absl::ToDoubleSeconds(trained_at - ready));
  SetStat(stats, "time/weight_sync_seconds", absl::ToDoubleSeconds(end - trained_at));
  SetStat(stats, "time/iteration_seconds", wall);
  SetStat(stats, "throughput/tokens_per_second", tokens / wall);
  SetStat(stats, "policy/lag_max", static_cast<double>(lag));
  SetStat(stats, "kl/coef", kl_controller_.coef());
  if (!options_.async) {
    // Work on the critical path, as the workers measured it: the busiest rollout replica, the
    // slower of reward and reference, the learner's step and its weight push. What is left of
    // the wall time is the coordinator's own cost: RPCs, (de)serialisation, merging, waiting.
    auto learner_stat = [&](const char* key) {
      auto it = trained.stats().values().find(key);
      return it == trained.stats().values().end() ? 0.0 : it->second;
    };
    const double generate = batch.generate_stats.CriticalPathSeconds();
    const double score = std::max(batch.reward_stats.CriticalPathSeconds(),
                                  batch.reference_stats.CriticalPathSeconds());
    const double train = learner_stat("time/train_seconds");
    const double critical = generate + score + train + pushed.push_seconds();
    SetStat(stats, "compute/generate_seconds", generate);
    SetStat(stats, "compute/score_seconds", score);
    SetStat(stats, "compute/train_seconds", train);
    SetStat(stats, "compute/weight_sync_seconds", pushed.push_seconds());
    SetStat(stats, "time/critical_path_compute_seconds", critical);
    SetStat(stats, "orchestration/overhead_fraction", std::max(0.0, (wall - critical) / wall));
  }
  SetStat(stats, "samples/count", static_cast<double>(batch.samples.size()));
  SetStat(stats, "rollout/replicas_used",
          static_cast<double>(batch.generate_stats.serving_workers.size()));
  SetStat(stats, "faults/reissued_ranges",
          batch.generate_stats.reissued_ranges + batch.reward_stats.reissued_ranges +
              batch.reference_stats.reissued_ranges);
  metrics_.ObservePhase("train", trained_at - ready);
  metrics_.ObservePhase("weight_sync", end - trained_at);
  RETURN_IF_ERROR(UpdateKlController(stats, batch.samples.size()));
  Record(iteration, stats, lag);
  return absl::OkStatus();
}

absl::Status RunLoop::AdoptLiveKlCoef(const rein::v1::HyperParameters& parameters) {
  // A `reinctl set kl_coef` restarts the controller from that value.
  if (parameters.has_kl_coef() && parameters.kl_coef() != kl_controller_.coef()) {
    rl::KlControllerOptions restart = options_.kl;
    restart.init_coef = parameters.kl_coef();
    ASSIGN_OR_RETURN(kl_controller_, rl::KlController::Create(restart));
  }
  return absl::OkStatus();
}

absl::Status RunLoop::UpdateKlController(const rein::v1::Stats& stats, size_t samples) {
  const double before = kl_controller_.coef();
  auto kl = stats.values().find("kl/mean");
  if (kl_controller_.adaptive() && kl != stats.values().end()) {
    RETURN_IF_ERROR(kl_controller_.Update(kl->second, static_cast<int64_t>(samples)));
  }
  run_.AdoptKlCoef(before, kl_controller_.coef());
  return absl::OkStatus();
}

}  // namespace rein::coordinator
