// Per-token rewards and advantages of an experience batch for each RL mode, from the batch's
// sequence scores, the policy's log-probs at the start of the iteration and the reference's.
//
//   ppo:         token rewards r = score at the last token − β_r·KL per token; GAE over the
//                critic's values; whitened when ppo.whiten_advantages.
//   grpo / rloo: sequence score − β_r·Σ_t KL, then the group estimator over Experience.group_id
//                (groups of equal size >= 2, any order in the batch).
//   reinforce++: token rewards as ppo, discounted returns whitened over the batch.
// β_r is β when ppo.kl_in_reward, else 0 (the KL is then a loss term, see RlStep).
//
// Data-parallel ranks (AdvantageInputs::comm): whitening uses the moments of every rank's
// tokens and mean_sequence_kl is over every rank's sequences, so R ranks with a slice each give
// what one rank gives with the whole batch. Group estimators need each group on one rank (the
// coordinator's contiguous slices keep a prompt's responses together when the slice size is a
// multiple of the group size). ComputeAdvantages is then a collective.
#ifndef REIN_SERVICES_LEARNER_RL_ADVANTAGES_H_
#define REIN_SERVICES_LEARNER_RL_ADVANTAGES_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/dist/communicator.h"
#include "common/rl/kl.h"

namespace rein::learner {

struct AdvantageInputs {
  at::Tensor scores;        // [B] sequence scores after normalisation/clipping
  at::Tensor logprobs;      // [B, T-1] policy at the start of the iteration
  at::Tensor ref_logprobs;  // [B, T-1]
  at::Tensor values;        // [B, T-1] critic at the start of the iteration (ppo only)
  at::Tensor mask;          // [B, T-1] response tokens
  std::vector<uint64_t> group_ids;  // per row (grpo, rloo)
  double reward_kl_coef = 0;        // β_r
  dist::Communicator* comm = nullptr;  // null: one rank
};

struct Advantages {
  at::Tensor advantages;  // [B, T-1]
  at::Tensor returns;     // [B, T-1] critic targets (ppo only)
  // Mean over sequences of Σ_t KL[b,t] (the configured estimator), nats per sequence.
  double mean_sequence_kl = 0;
};

absl::StatusOr<Advantages> ComputeAdvantages(config::LearnerMode mode,
                                             const config::PpoConfig& ppo,
                                             const AdvantageInputs& in);

// The rows of each group (by first appearance), checked to be of equal size >= 2.
// INVALID_ARGUMENT naming the offending group otherwise.
absl::StatusOr<std::vector<std::vector<int64_t>>> GroupRows(const std::vector<uint64_t>& ids);

rl::KlEstimator ToKlEstimator(config::KlEstimator estimator);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_RL_ADVANTAGES_H_
