#include "services/learner/learner_metrics.h"

#include <string>

namespace rein::learner {
namespace {

prometheus::Histogram::BucketBoundaries SecondsBuckets() {
  return {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000};
}

prometheus::Counter& Counter(prometheus::Registry& r, const std::string& name,
                             const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& Gauge(prometheus::Registry& r, const std::string& name,
                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Histogram& Histogram(prometheus::Registry& r, const std::string& name,
                                 const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, SecondsBuckets());
}

}  // namespace

LearnerMetrics::LearnerMetrics(prometheus::Registry& r)
    : train_seconds(Histogram(r, "rein_learner_train_seconds",
                              "Wall time of each applied Train call, in seconds.")),
      train_steps(Counter(r, "rein_learner_train_steps_total",
                          "Train calls applied (each makes a new policy version).")),
      optimizer_steps(Counter(r, "rein_learner_optimizer_steps_total",
                              "Optimizer steps taken.")),
      train_tokens(Counter(r, "rein_learner_train_tokens_total",
                           "Tokens (prompt + response) through forward and backward passes.")),
      train_rejected(Counter(r, "rein_learner_train_rejected_total",
                             "Train calls refused: malformed batch, wrong kind or duplicate "
                             "iteration.")),
      last_loss(Gauge(r, "rein_learner_last_loss", "Headline loss of the last Train call.")),
      last_kl(Gauge(r, "rein_learner_last_kl_nats",
                    "Mean per-sequence KL to the reference of the last RL Train, in nats.")),
      last_reward(Gauge(r, "rein_learner_last_reward", "Mean reward of the last RL Train.")),
      policy_version(Gauge(r, "rein_learner_policy_version", "Current policy version.")),
      weight_push_seconds(Histogram(r, "rein_learner_weight_push_seconds",
                                    "Wall time of each weight push to all replicas, in "
                                    "seconds.")),
      weight_push_bytes(Counter(r, "rein_learner_weight_push_bytes_total",
                                "Tensor bytes pushed to rollout replicas, summed over "
                                "replicas.")) {}

}  // namespace rein::learner
