// Teacher-forced forward passes of the learner's models over a PackedBatch, with autograd when
// grad mode is on. Every per-token result is [B, T-1] float32, aligned with
// PackedBatch::response_mask (column t belongs to token t+1); values at unmasked columns are
// meaningless and the losses ignore them.
//
// A batch with `pack` set runs packed (CausalLM::HiddenPacked): its rows end to end, each
// attending only to itself, and the heads only on the positions that predict a real token, so
// no work is spent on padding. Results equal the padded path's to float rounding, in the same
// [B, T-1] layout, with zeros at the columns the padded path leaves meaningless.
#ifndef REIN_SERVICES_LEARNER_MODEL_FORWARD_H_
#define REIN_SERVICES_LEARNER_MODEL_FORWARD_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "services/learner/packed_batch.h"

namespace rein::learner {

struct PolicyForward {
  at::Tensor logits;    // [B, T-1, V]: column t predicts token t+1; undefined when packed
  at::Tensor targets;   // [B, T-1] int64: token t+1
  at::Tensor logprobs;  // [B, T-1]: log π(token t+1 | tokens ..t)
  at::Tensor entropy;   // [B, T-1] entropy of each prediction; undefined unless asked for
};

// The policy (LM head) over `batch`.
absl::StatusOr<PolicyForward> RunPolicy(const model::CausalLM& policy, const PackedBatch& batch,
                                        bool with_entropy);

// A critic's values [B, T-1]: column t is V(tokens ..t), the value of the state in which token
// t+1 is chosen.
absl::StatusOr<at::Tensor> RunCritic(const model::CausalLM& critic, const PackedBatch& batch);

// A reward model's score of each row [B]: its scalar head at the row's last real token.
absl::StatusOr<at::Tensor> RunScores(const model::CausalLM& reward_model,
                                     const PackedBatch& batch);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_MODEL_FORWARD_H_
