#include "services/coordinator/loop_metrics.h"

#include <string>

#include "common/metrics/families.h"

namespace rein::coordinator {
namespace {

using metrics::AddCounter;
using metrics::AddGauge;

}  // namespace

LoopMetrics::LoopMetrics(prometheus::Registry& registry)
    : phase_seconds(prometheus::BuildHistogram()
                        .Name("rein_coordinator_phase_seconds")
                        .Help("Wall time of each phase of an iteration (label phase).")
                        .Register(registry)),
      iterations(
          AddCounter(registry, "rein_coordinator_iterations_total", "Iterations completed.")),
      iteration(AddGauge(registry, "rein_coordinator_iteration", "Last completed iteration.")),
      reward_mean(AddGauge(registry, "rein_coordinator_reward_mean",
                           "Mean reward of the last iteration's responses.")),
      kl_mean(AddGauge(registry, "rein_coordinator_kl_mean",
                       "Mean per-sequence KL to the reference (nats), last iteration.")),
      kl_coef(AddGauge(registry, "rein_coordinator_kl_coef", "KL penalty coefficient in use.")),
      tokens_per_second(AddGauge(registry, "rein_coordinator_tokens_per_second",
                                 "Trained tokens per second of wall time, last iteration.")),
      policy_version(AddGauge(registry, "rein_coordinator_policy_version",
                              "Policy version after the last iteration.")),
      policy_lag(AddGauge(registry, "rein_coordinator_policy_lag",
                          "Largest policy-version lag of the samples trained last iteration.")),
      prefetched_batches(AddGauge(registry, "rein_coordinator_prefetched_batches",
                                  "Batches generated ahead and waiting for the learner (async).")),
      checkpoints(
          AddCounter(registry, "rein_coordinator_checkpoints_total", "Checkpoints written.")) {}

void LoopMetrics::ObservePhase(absl::string_view phase, absl::Duration duration) {
  phase_seconds.Add({{"phase", std::string(phase)}}, metrics::SecondsBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

}  // namespace rein::coordinator
