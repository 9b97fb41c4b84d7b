#include "services/learner/model_forward.h"

#include <ATen/ops/zeros.h>

#include <vector>

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

// A packed forward's hidden states at the positions that predict a real next token, the
// tokens they predict, and where each sits in the padded [B, T-1] layout (flattened).
struct PackedPredictions {
  at::Tensor hidden;   // [M, hidden]
  at::Tensor targets;  // [M] int64
  at::Tensor columns;  // [M] int64 indices into B * (T-1)
};

absl::StatusOr<PackedPredictions> RunPacked(const model::CausalLM& lm, const PackedBatch& batch) {
  const int64_t width = batch.width();
  std::vector<int64_t> real, predicting, columns;
  for (int64_t b = 0; b < batch.rows(); ++b) {
    const int64_t length = batch.lengths[static_cast<size_t>(b)];
    for (int64_t t = 0; t < length; ++t) {
      if (t + 1 < length) {
        predicting.push_back(static_cast<int64_t>(real.size()));
        columns.push_back(b * (width - 1) + t);
      }
      real.push_back(b * width + t);
    }
  }
  const c10::Device device = batch.input_ids.device();
  at::Tensor ids;
  RETURN_IF_ERROR(GuardTorch("packing rows", [&]() -> absl::Status {
    ids = batch.input_ids.reshape({-1}).index_select(0, LongTensor(real, device));
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(at::Tensor hidden, lm.HiddenPacked(ids, batch.lengths));
  return GuardTorch("packed predictions", [&]() -> absl::StatusOr<PackedPredictions> {
    const at::Tensor at_predicting = LongTensor(predicting, device);
    return PackedPredictions{hidden.index_select(0, at_predicting),
                             ids.index_select(0, at_predicting.add(1)),
                             LongTensor(columns, device)};
  });
}

// Per-prediction values [M] (or [1, M]) in the padded [B, T-1] layout, 0 elsewhere.
absl::StatusOr<at::Tensor> Unpack(const at::Tensor& values, const PackedPredictions& p,
                                  const PackedBatch& batch) {
  return GuardTorch("unpacking", [&]() -> absl::StatusOr<at::Tensor> {
    const int64_t columns = batch.width() - 1;
    return at::zeros({batch.rows() * columns}, values.options())
        .index_put({p.columns}, values.reshape({-1}))
        .view({batch.rows(), columns});
  });
}

absl::StatusOr<PolicyForward> RunPolicyPacked(const model::CausalLM& policy,
                                              const PackedBatch& batch, bool with_entropy) {
  ASSIGN_OR_RETURN(PackedPredictions p, RunPacked(policy, batch));
  PolicyForward out;
  ASSIGN_OR_RETURN(at::Tensor logits, policy.LmLogits(p.hidden));  // [M, V]
  RETURN_IF_ERROR(GuardTorch("policy targets", [&]() -> absl::Status {
    out.targets = batch.input_ids.narrow(1, 1, batch.width() - 1);
    logits = logits.unsqueeze(0);
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(at::Tensor logprobs, rl::TokenLogProbs(logits, p.targets.unsqueeze(0)));
  ASSIGN_OR_RETURN(out.logprobs, Unpack(logprobs, p, batch));
  if (with_entropy) {
    ASSIGN_OR_RETURN(at::Tensor entropy, rl::TokenEntropy(logits));
    ASSIGN_OR_RETURN(out.entropy, Unpack(entropy, p, batch));
  }
  return out;
}

}  // namespace

absl::StatusOr<PolicyForward> RunPolicy(const model::CausalLM& policy, const PackedBatch& batch,
                                        bool with_entropy) {
  if (batch.pack) return RunPolicyPacked(policy, batch, with_entropy);
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
  if (batch.pack) {
    ASSIGN_OR_RETURN(PackedPredictions p, RunPacked(critic, batch));
    ASSIGN_OR_RETURN(at::Tensor values, critic.ScalarValues(p.hidden));
    return Unpack(values, p, batch);
  }
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
