#include "services/coordinator/run_loop.h"

#include <cmath>

#include <prometheus/family.h>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::coordinator {
namespace {

prometheus::Histogram::BucketBoundaries PhaseBuckets() {
  return {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000};
}

// SplitMix64's finaliser: a fixed, well-mixed function (unlike absl::Hash, which is salted per
// process and so would change the samples of a resumed run).
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void SetStat(rein::v1::Stats& stats, const std::string& name, double value) {
  (*stats.mutable_values())[name] = value;
}

}  // namespace

RunLoop::RunLoop(const RunLoopOptions& options, StageContext stages, data::PromptDataset& prompts,
                 RunState& run, prometheus::Registry& metrics)
    : options_(options),
      stages_(stages),
      prompts_(prompts),
      run_(run),
      phase_seconds_(prometheus::BuildHistogram()
                         .Name("rein_coordinator_phase_seconds")
                         .Help("Wall time of each phase of an iteration.")
                         .Register(metrics)),
      iterations_(prometheus::BuildCounter()
                      .Name("rein_coordinator_iterations_total")
                      .Help("Iterations completed.")
                      .Register(metrics)
                      .Add({})),
      reward_mean_(prometheus::BuildGauge()
                       .Name("rein_coordinator_reward_mean")
                       .Help("Mean reward of the last iteration's responses.")
                       .Register(metrics)
                       .Add({})),
      tokens_per_second_(prometheus::BuildGauge()
                             .Name("rein_coordinator_tokens_per_second")
                             .Help("Response tokens per second of wall time, last iteration.")
                             .Register(metrics)
                             .Add({})),
      policy_version_(prometheus::BuildGauge()
                          .Name("rein_coordinator_policy_version")
                          .Help("Policy version after the last iteration.")
                          .Register(metrics)
                          .Add({})) {}

absl::Status RunLoop::Run() {
  for (const auto& [role, count] : options_.expected_workers) {
    absl::Status arrived = stages_.registry->WaitFor(role, count, options_.worker_wait);
    if (!arrived.ok()) {
      run_.Finish(arrived);
      return arrived;
    }
  }
  run_.MarkRunning();
  REIN_LOG(INFO, "coordinator") << "all workers registered; starting at iteration "
                                << run_.next_iteration();
  while (std::optional<rein::v1::HyperParameters> parameters = run_.BeginIteration()) {
    absl::Status status = RunIteration(run_.next_iteration(), *parameters);
    if (!status.ok()) {
      REIN_LOG(ERROR, "coordinator") << "iteration " << run_.next_iteration() << " failed: "
                                     << status;
      run_.Finish(status);
      return status;
    }
  }
  run_.Finish(absl::OkStatus());
  return absl::OkStatus();
}

std::vector<PromptItem> RunLoop::TakePrompts(uint64_t iteration) {
  std::vector<PromptItem> items;
  for (data::Prompt& prompt : prompts_.Next(options_.batch_size)) {
    // Seeds depend on the run seed, the iteration and the position only: a resumed run
    // samples exactly what the uninterrupted one would have.
    uint64_t seed = Mix(Mix(Mix(options_.seed) ^ iteration) ^ items.size());
    items.push_back({prompt.index, std::move(prompt.token_ids), seed});
  }
  return items;
}

absl::Status RunLoop::RunIteration(uint64_t iteration,
                                   const rein::v1::HyperParameters& parameters) {
  const absl::Time start = absl::Now();
  std::vector<PromptItem> prompts = TakePrompts(iteration);
  GenerateOptions generate;
  generate.sampling = options_.sampling;
  generate.samples_per_prompt = options_.samples_per_prompt;
  DispatchStats generate_stats, reward_stats, reference_stats;
  ASSIGN_OR_RETURN(std::vector<Sample> samples,
                   GenerateStage(stages_, prompts, generate, &generate_stats));
  const absl::Time generated = absl::Now();
  RETURN_IF_ERROR(ScoreStage(stages_, samples, &reward_stats, &reference_stats));
  const absl::Time scored = absl::Now();
  ASSIGN_OR_RETURN(rein::v1::TrainResponse trained,
                   TrainStage(stages_, iteration, samples, parameters));
  const absl::Time trained_at = absl::Now();
  ASSIGN_OR_RETURN(rein::v1::PushWeightsResponse pushed, PushWeightsStage(stages_));
  const absl::Time end = absl::Now();

  double reward_sum = 0, reward_sq = 0, tokens = 0;
  uint64_t oldest_version = UINT64_MAX;
  for (const Sample& sample : samples) {
    reward_sum += sample.reward;
    reward_sq += static_cast<double>(sample.reward) * sample.reward;
    tokens += static_cast<double>(sample.response_ids.size());
    oldest_version = std::min(oldest_version, sample.policy_version);
  }
  const double n = static_cast<double>(samples.size());
  const double wall = absl::ToDoubleSeconds(end - start);
  rein::v1::Stats stats = trained.stats();  // Learner stats: losses, KL, entropy, ...
  SetStat(stats, "reward/mean", reward_sum / n);
  SetStat(stats, "reward/std", std::sqrt(std::max(0.0, reward_sq / n - std::pow(reward_sum / n, 2))));
  SetStat(stats, "response/length_mean", tokens / n);
  SetStat(stats, "time/generate_seconds", absl::ToDoubleSeconds(generated - start));
  SetStat(stats, "time/score_seconds", absl::ToDoubleSeconds(scored - generated));
  SetStat(stats, "time/train_seconds", absl::ToDoubleSeconds(trained_at - scored));
  SetStat(stats, "time/weight_sync_seconds", absl::ToDoubleSeconds(end - trained_at));
  SetStat(stats, "time/iteration_seconds", wall);
  SetStat(stats, "throughput/tokens_per_second", tokens / wall);
  SetStat(stats, "faults/reissued_ranges",
          generate_stats.reissued_ranges + reward_stats.reissued_ranges +
              reference_stats.reissued_ranges);

  for (const auto& [phase, seconds] : {std::pair{"generate", generated - start},
                                       std::pair{"score", scored - generated},
                                       std::pair{"train", trained_at - scored},
                                       std::pair{"weight_sync", end - trained_at}}) {
    phase_seconds_.Add({{"phase", phase}}, PhaseBuckets()).Observe(absl::ToDoubleSeconds(seconds));
  }
  iterations_.Increment();
  reward_mean_.Set(reward_sum / n);
  tokens_per_second_.Set(tokens / wall);
  policy_version_.Set(static_cast<double>(pushed.policy_version()));
  uint64_t lag = pushed.policy_version() > oldest_version + 1
                     ? pushed.policy_version() - oldest_version - 1
                     : 0;
  run_.EndIteration(stats, pushed.policy_version(), lag);
  REIN_LOG(INFO, "coordinator") << "iteration " << iteration << ": reward "
                                << reward_sum / n << ", " << tokens / wall << " tokens/s, "
                                << wall << " s";
  return absl::OkStatus();
}

}  // namespace rein::coordinator
