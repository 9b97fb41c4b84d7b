// The learner's Prometheus metrics, registered once on the process registry.
//
//   rein_learner_train_seconds            histogram  wall time of each applied Train
//   rein_learner_train_steps_total        counter    Train calls applied (= policy versions made)
//   rein_learner_optimizer_steps_total    counter    optimizer steps taken
//   rein_learner_train_tokens_total       counter    tokens through forward + backward
//   rein_learner_train_rejected_total     counter    Train calls refused (bad batch, duplicate,
//                                                    caller gone before any optimizer step)
//   rein_learner_last_loss                gauge      headline loss of the last Train
//   rein_learner_last_kl_nats             gauge      mean per-sequence KL of the last RL Train
//   rein_learner_last_reward              gauge      mean reward of the last RL Train
//   rein_learner_last_clip_fraction       gauge      PPO diagnostics of the last RL Train: the
//   rein_learner_last_entropy             gauge        fraction of tokens clipped, mean entropy
//   rein_learner_last_value_loss          gauge        (nats/token), critic loss (NaN without
//   rein_learner_last_grad_norm           gauge        a critic), policy gradient norm before
//   rein_learner_last_approx_kl           gauge        clipping, approximate KL to old policy
//   rein_learner_policy_version           gauge      current policy version
//   rein_learner_optimizer_state_bytes    gauge      bytes of AdamW state (moments) this rank
//                                                    holds: about 1/ranks of the whole with
//                                                    learner.zero_stage 1
//   rein_learner_weight_push_seconds      histogram  wall time of each PushWeights (all replicas)
//   rein_learner_weight_push_bytes_total  counter    tensor bytes pushed, summed over replicas
//
// Thread safety: prometheus-cpp metrics are thread safe.
#ifndef REIN_SERVICES_LEARNER_LEARNER_METRICS_H_
#define REIN_SERVICES_LEARNER_LEARNER_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

namespace rein::learner {

class LearnerMetrics {
 public:
  // Registers the families on `registry`, which must outlive this object.
  explicit LearnerMetrics(prometheus::Registry& registry);
  // Sets the PPO diagnostic gauges from an RL Train's stats; one the stats lack is NaN.
  void SetDiagnostics(const std::map<std::string, double>& stats);
  LearnerMetrics(const LearnerMetrics&) = delete;
  LearnerMetrics& operator=(const LearnerMetrics&) = delete;

  prometheus::Histogram& train_seconds;
  prometheus::Counter& train_steps;
  prometheus::Counter& optimizer_steps;
  prometheus::Counter& train_tokens;
  prometheus::Counter& train_rejected;
  prometheus::Gauge& last_loss;
  prometheus::Gauge& last_kl;
  prometheus::Gauge& last_reward;
  prometheus::Gauge& last_clip_fraction;
  prometheus::Gauge& last_entropy;
  prometheus::Gauge& last_value_loss;
  prometheus::Gauge& last_grad_norm;
  prometheus::Gauge& last_approx_kl;
  prometheus::Gauge& policy_version;
  prometheus::Gauge& optimizer_state_bytes;
  prometheus::Histogram& weight_push_seconds;
  prometheus::Counter& weight_push_bytes;
};

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_LEARNER_METRICS_H_
