#include "services/learner/model_forward.h"

#include "common/rl/masked.h"
#include "common/status/status_macros.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

// Hidden states of the first T-1 positions (the ones that predict a next token).
absl::StatusOr<at::Tensor> PredictingHidden(const model::CausalLM& lm, const PackedBatch& batch) {
  ASSIGN_OR_RETURN(at::Tensor hidden, lm.Hidden(batch.AsTokenBatch()));
  return hidden.narrow(1, 0, batch.width() - 1);
}

}  // namespace

absl::StatusOr<PolicyForward> RunPolicy(const model::CausalLM& policy, const PackedBatch& batch,
                                        bool with_entropy) {
  ASSIGN_OR_RETURN(at::Tensor hidden, PredictingHidden(policy, batch));
  PolicyForward out;
  ASSIGN_OR_RETURN(out.logits, policy.LmLogits(hidden));
  RETURN_IF_ERROR(GuardTorch("policy targets", [&]() -> absl::Status {
    out.targets = batch.input_ids.narrow(1, 1, batch.width() - 1);
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(out.logprobs, rl::TokenLogProbs(out.logits, out.targets));
  if (with_entropy) {
    ASSIGN_OR_RETURN(out.entropy, rl::TokenEntropy(out.logits));
  }
  return out;
}

absl::StatusOr<at::Tensor> RunCritic(const model::CausalLM& critic, const PackedBatch& batch) {
  ASSIGN_OR_RETURN(at::Tensor hidden, PredictingHidden(critic, batch));
  return critic.ScalarValues(hidden);
}

absl::StatusOr<at::Tensor> RunScores(const model::CausalLM& reward_model,
                                     const PackedBatch& batch) {
  ASSIGN_OR_RETURN(at::Tensor hidden, reward_model.Hidden(batch.AsTokenBatch()));
  ASSIGN_OR_RETURN(at::Tensor values, reward_model.ScalarValues(hidden));  // [B, T]
  return GuardTorch("reward scores", [&]() -> absl::StatusOr<at::Tensor> {
    return values.gather(1, batch.last_index.unsqueeze(1)).squeeze(1);
  });
}

}  // namespace rein::learner
