#include "services/coordinator/loop_metrics.h"

#include <string>

namespace rein::coordinator {
namespace {

prometheus::Gauge& Gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Counter& Counter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram::BucketBoundaries PhaseBuckets() {
  return {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000};
}

}  // namespace

LoopMetrics::LoopMetrics(prometheus::Registry& registry)
    : phase_seconds(prometheus::BuildHistogram()
                        .Name("rein_coordinator_phase_seconds")
                        .Help("Wall time of each phase of an iteration (label phase).")
                        .Register(registry)),
      iterations(Counter(registry, "rein_coordinator_iterations_total", "Iterations completed.")),
      iteration(Gauge(registry, "rein_coordinator_iteration", "Last completed iteration.")),
      reward_mean(Gauge(registry, "rein_coordinator_reward_mean",
                        "Mean reward of the last iteration's responses.")),
      kl_mean(Gauge(registry, "rein_coordinator_kl_mean",
                    "Mean per-sequence KL to the reference (nats), last iteration.")),
      kl_coef(Gauge(registry, "rein_coordinator_kl_coef", "KL penalty coefficient in use.")),
      tokens_per_second(Gauge(registry, "rein_coordinator_tokens_per_second",
                              "Trained tokens per second of wall time, last iteration.")),
      policy_version(Gauge(registry, "rein_coordinator_policy_version",
                           "Policy version after the last iteration.")),
      policy_lag(Gauge(registry, "rein_coordinator_policy_lag",
                       "Largest policy-version lag of the samples trained last iteration.")),
      prefetched_batches(Gauge(registry, "rein_coordinator_prefetched_batches",
                               "Batches generated ahead and waiting for the learner (async).")),
      checkpoints(Counter(registry, "rein_coordinator_checkpoints_total",
                          "Checkpoints written.")) {}

void LoopMetrics::ObservePhase(absl::string_view phase, absl::Duration duration) {
  phase_seconds.Add({{"phase", std::string(phase)}}, PhaseBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

}  // namespace rein::coordinator
