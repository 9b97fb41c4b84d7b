#include "services/learner/learner_metrics.h"

#include <limits>
#include <string>

#include "common/metrics/families.h"
#include "services/learner/step_outcome.h"

namespace rein::learner {
namespace {

using metrics::AddCounter;
using metrics::AddGauge;

prometheus::Histogram& Seconds(prometheus::Registry& r, const std::string& name,
                               const std::string& help) {
  return metrics::AddHistogram(r, name, help, metrics::SecondsBuckets());
}

}  // namespace

LearnerMetrics::LearnerMetrics(prometheus::Registry& r)
    : train_seconds(Seconds(r, "rein_learner_train_seconds",
                              "Wall time of each applied Train call, in seconds.")),
      train_steps(AddCounter(r, "rein_learner_train_steps_total",
                          "Train calls applied (each makes a new policy version).")),
      optimizer_steps(AddCounter(r, "rein_learner_optimizer_steps_total",
                              "Optimizer steps taken.")),
      train_tokens(AddCounter(r, "rein_learner_train_tokens_total",
                           "Tokens (prompt + response) through forward and backward passes.")),
      train_rejected(AddCounter(r, "rein_learner_train_rejected_total",
                             "Train calls refused: malformed batch, wrong kind, duplicate "
                             "iteration, or a caller gone before any optimizer step.")),
      last_loss(AddGauge(r, "rein_learner_last_loss", "Headline loss of the last Train call.")),
      last_kl(AddGauge(r, "rein_learner_last_kl_nats",
                    "Mean per-sequence KL to the reference of the last RL Train, in nats.")),
      last_reward(AddGauge(r, "rein_learner_last_reward", "Mean reward of the last RL Train.")),
      last_clip_fraction(AddGauge(r, "rein_learner_last_clip_fraction",
                                  "Fraction of response tokens whose ratio was clipped, last RL "
                                  "Train.")),
      last_entropy(AddGauge(r, "rein_learner_last_entropy",
                            "Mean policy entropy per response token (nats), last RL Train.")),
      last_value_loss(AddGauge(r, "rein_learner_last_value_loss",
                               "Critic loss of the last RL Train (NaN without a critic).")),
      last_grad_norm(AddGauge(r, "rein_learner_last_grad_norm",
                              "Policy gradient norm before clipping, last RL Train.")),
      last_approx_kl(AddGauge(r, "rein_learner_last_approx_kl",
                              "Approximate KL between the old and the updated policy per token, "
                              "last RL Train.")),
      policy_version(AddGauge(r, "rein_learner_policy_version", "Current policy version.")),
      optimizer_state_bytes(AddGauge(r, "rein_learner_optimizer_state_bytes",
                                     "Bytes of AdamW state (moment estimates) this rank holds.")),
      weight_push_seconds(Seconds(r, "rein_learner_weight_push_seconds",
                                    "Wall time of each weight push to all replicas, in "
                                    "seconds.")),
      weight_push_bytes(AddCounter(r, "rein_learner_weight_push_bytes_total",
                                "Tensor bytes pushed to rollout replicas, summed over "
                                "replicas.")) {}

void LearnerMetrics::SetDiagnostics(const std::map<std::string, double>& stats) {
  auto set = [&](prometheus::Gauge& gauge, const char* stat) {
    auto it = stats.find(stat);
    gauge.Set(it == stats.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
  };
  set(last_clip_fraction, "clip_fraction");
  set(last_entropy, "entropy");
  set(last_value_loss, "loss/value");
  set(last_grad_norm, kStatGradNorm);
  set(last_approx_kl, "approx_kl");
}

}  // namespace rein::learner
