// The coordinator's Prometheus metrics of the run: per-phase durations, progress, rewards, KL,
// throughput, prefetch queue depth and policy-version lag. Every process also serves the RPC
// metrics of common/rpc; these are the run's own.
#ifndef REIN_SERVICES_COORDINATOR_LOOP_METRICS_H_
#define REIN_SERVICES_COORDINATOR_LOOP_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rein::coordinator {

struct LoopMetrics {
  explicit LoopMetrics(prometheus::Registry& registry);

  // Observes one phase ("generate", "score", "train", "weight_sync", "checkpoint", ...).
  void ObservePhase(absl::string_view phase, absl::Duration duration);

  prometheus::Family<prometheus::Histogram>& phase_seconds;
  prometheus::Counter& iterations;
  prometheus::Gauge& iteration;
  prometheus::Gauge& reward_mean;
  prometheus::Gauge& kl_mean;
  prometheus::Gauge& kl_coef;
  prometheus::Gauge& tokens_per_second;
  prometheus::Gauge& policy_version;
  prometheus::Gauge& policy_lag;
  prometheus::Gauge& prefetched_batches;
  prometheus::Counter& checkpoints;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_LOOP_METRICS_H_
