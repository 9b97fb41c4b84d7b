// Supervised fine-tuning loss with prompt tokens masked, and direct preference optimisation
// against a frozen reference: DPO (Rafailov et al. 2023) and IPO (Azar et al. 2023).
//
// Shapes and mask follow common/rl/masked.h. For SFT the mask is the loss mask: 1 on response
// tokens, 0 on prompt tokens and padding.
#ifndef REIN_COMMON_RL_SFT_DPO_H_
#define REIN_COMMON_RL_SFT_DPO_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "common/rl/masked.h"

namespace rein::rl {

// SFT negative log-likelihood of the targets on response tokens only:
//   l[b,t] = −log softmax(logits[b,t,:])[targets[b,t]],  loss = Aggregate(l, loss_mask)
// logits [B, T, V] (position t predicts targets[b,t]: the caller shifts), targets [B, T] int64,
// loss_mask [B, T]. `normalizer` as in Aggregate. 0-dim, with graph.
absl::StatusOr<at::Tensor> SftLoss(const at::Tensor& logits, const at::Tensor& targets,
                                   const at::Tensor& loss_mask,
                                   Aggregation aggregation = Aggregation::kTokenMean,
                                   double normalizer = 0.0);

// Sequence log-probabilities of N preference pairs under the policy (with graph) and the frozen
// reference, all [N] (SequenceLogProbs: sums for DPO, usually length-normalised for IPO).
struct DpoBatch {
  at::Tensor policy_chosen = {};
  at::Tensor policy_rejected = {};
  at::Tensor reference_chosen = {};
  at::Tensor reference_rejected = {};
  // Divides the summed loss instead of N when > 0 (gradient accumulation).
  double normalizer = 0.0;
};

struct DpoOptions {
  // β (DPO) or τ (IPO), > 0. Default 0.1.
  double beta = 0.1;
  // DPO only: probability ε in [0, ½) that a label is flipped (conservative DPO). Default 0.
  double label_smoothing = 0.0;
};

struct DpoOutput {
  at::Tensor loss = {};              // 0-dim, with graph
  double reward_accuracy = 0;   // fraction of pairs with implicit reward chosen > rejected
  double chosen_reward = 0;     // mean β·(π_c − ref_c)
  double rejected_reward = 0;   // mean β·(π_r − ref_r)
  double reward_margin = 0;     // mean difference of the two
};

// DPO with h = (π_c − ref_c) − (π_r − ref_r):
//   l = −(1 − ε)·log σ(β·h) − ε·log σ(−β·h),  loss = Σ l / N
absl::StatusOr<DpoOutput> DpoLoss(const DpoBatch& batch, const DpoOptions& options = {});

// IPO with the same h and τ = options.beta:
//   l = (h − 1/(2τ))²,  loss = Σ l / N
// label_smoothing is ignored.
absl::StatusOr<DpoOutput> IpoLoss(const DpoBatch& batch, const DpoOptions& options = {});

// KTO (Ethayarajh et al. 2024) on N unpaired completions, each desirable or undesirable. All
// [N]: policy (with graph) and reference sequence log-probs of the completions, and the same
// for mismatched pairs (another example's completion under this prompt), from which the KL
// reference point is estimated.
struct KtoBatch {
  at::Tensor policy = {};
  at::Tensor reference = {};
  at::Tensor desirable = {};  // bool or 0/1 floating
  at::Tensor kl_policy = {};     // no graph needed: z0 is detached
  at::Tensor kl_reference = {};
  // Divides the weighted summed loss instead of N when > 0 (gradient accumulation).
  double normalizer = 0.0;
  // Overrides the batch's own estimate of z0 when set (>= 0): a step that splits its examples
  // into micro-batches estimates z0 once over all of them and passes it to each.
  double z0 = -1.0;
};

struct KtoOptions {
  double beta = 0.1;
  double desirable_weight = 1.0;    // λ_D
  double undesirable_weight = 1.0;  // λ_U
};

struct KtoOutput {
  at::Tensor loss = {};  // 0-dim, with graph
  double z0 = 0;         // the KL reference point used
  double desirable_reward = 0;    // mean β·(π − ref) over desirable completions (0 if none)
  double undesirable_reward = 0;  // the same over undesirable ones
};

// With r = π − ref and z0 = max(0, mean(kl_policy − kl_reference)) (detached):
//   l = λ_D·(1 − σ(β·(r − z0)))  for a desirable completion,
//   l = λ_U·(1 − σ(β·(z0 − r)))  for an undesirable one;   loss = Σ l / N.
// (TRL's KTOTrainer, loss_type "kto", computes the same.)
absl::StatusOr<KtoOutput> KtoLoss(const KtoBatch& batch, const KtoOptions& options = {});

// The KL reference point of a batch: max(0, mean(kl_policy − kl_reference)).
absl::StatusOr<double> KtoReferencePoint(const at::Tensor& kl_policy,
                                         const at::Tensor& kl_reference);

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_SFT_DPO_H_
