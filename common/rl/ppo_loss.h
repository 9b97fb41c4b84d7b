// PPO losses (Schulman et al. 2017) for a language-model policy: clipped surrogate with optional
// dual clip (Ye et al. 2020), clipped value loss, entropy bonus, optional KL loss term, and the
// statistics a learner reports after each step.
//
// Shapes and mask follow common/rl/masked.h: every per-token tensor is [B, T] and mask [B, T]
// has 1 = real response token. Losses at m = 0 are 0 and never reach the result.
#ifndef REIN_COMMON_RL_PPO_LOSS_H_
#define REIN_COMMON_RL_PPO_LOSS_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "common/rl/kl.h"
#include "common/rl/masked.h"

namespace rein::rl {

struct PolicyLossOptions {
  // ε below 1: the ratio is clipped to [1 − clip_low, 1 + clip_high]. Default 0.2.
  double clip_low = 0.2;
  // ε above 1 (a larger value is "clip-higher", Yu et al. 2025). Default 0.2.
  double clip_high = 0.2;
  // Dual clip constant c > 1 (Ye et al. 2020): for A < 0 the loss is capped at −c·A. 0 disables.
  // Default 0.
  double dual_clip = 0.0;
};

struct PolicyLossTerms {
  // [B, T] per-token loss (below), 0 where m = 0; differentiable in logprobs.
  at::Tensor loss = {};
  // [B, T] ratio ρ = exp(logprobs − old_logprobs), detached.
  at::Tensor ratio = {};
  // [B, T] bool: the clipped term was the active one (its loss > the unclipped loss).
  at::Tensor clipped = {};
  // [B, T] bool: the dual clip was active (A < 0 and the cap −c·A was taken).
  at::Tensor dual_clipped = {};
};

// Clipped surrogate per token, with ρ = exp(logprobs − old_logprobs) and advantage A:
//   l = max(−ρ·A, −clip(ρ, 1 − ε_low, 1 + ε_high)·A)
//   dual clip (c > 1), only where A < 0:  l = min(l, −c·A)
// logprobs [B, T] (current policy, with graph), old_logprobs [B, T] (behaviour policy at rollout),
// advantages [B, T], mask [B, T].
absl::StatusOr<PolicyLossTerms> ClippedPolicyLoss(const at::Tensor& logprobs,
                                                  const at::Tensor& old_logprobs,
                                                  const at::Tensor& advantages,
                                                  const at::Tensor& mask,
                                                  const PolicyLossOptions& options = {});

struct ValueLossTerms {
  // [B, T] per-token loss, 0 where m = 0; differentiable in values.
  at::Tensor loss = {};
  // [B, T] bool: the clipped prediction gave the larger error.
  at::Tensor clipped = {};
};

// Clipped value loss per token, with V the critic's current values, V_old its values at rollout
// and R the returns (ComputeGae):
//   V_clip = V_old + clip(V − V_old, −ε_v, ε_v)
//   l = ½·max((V − R)², (V_clip − R)²)          (ε_v = value_clip > 0)
//   l = ½·(V − R)²                               (value_clip = 0: unclipped)
// values, old_values, returns, mask: [B, T].
absl::StatusOr<ValueLossTerms> ClippedValueLoss(const at::Tensor& values,
                                                const at::Tensor& old_values,
                                                const at::Tensor& returns,
                                                const at::Tensor& mask, double value_clip);

// Explained variance of the returns by the values over real tokens:
//   EV = 1 − Var_m[R − V] / Var_m[R]     (population variances over the mask)
// 1 is a perfect critic, 0 no better than a constant, < 0 worse. NaN when Var_m[R] = 0.
// values, returns, mask: [B, T]. INVALID_ARGUMENT if the mask has no real token.
absl::StatusOr<double> ExplainedVariance(const at::Tensor& values, const at::Tensor& returns,
                                         const at::Tensor& mask);

struct PpoLossOptions {
  PolicyLossOptions policy = {};
  // ε_v of ClippedValueLoss; 0 = unclipped. Default 0.2.
  double value_clip = 0.2;
  // Weight of the value loss in the total. Default 0.5.
  double value_coef = 0.5;
  // Weight of the entropy bonus (subtracted from the total). Default 0.
  double entropy_coef = 0.0;
  // Weight of the KL loss term (KL as a loss instead of a reward penalty); 0 disables and then
  // ref_logprobs is not needed. Default 0.
  double kl_loss_coef = 0.0;
  // Estimator of the KL loss term. Default k3 (non-negative, unbiased; as GRPO).
  KlEstimator kl_loss_estimator = KlEstimator::kK3;
  // How per-token losses become scalars. Default token mean.
  Aggregation aggregation = Aggregation::kTokenMean;
  // Early stop: stats.early_stop is set when approx_kl > early_stop_kl; the learner then skips
  // the remaining PPO epochs / mini-batches of this iteration. 0 disables. Default 0.
  double early_stop_kl = 0.0;
};

// One (micro-)batch of experience. All tensors [B, T] on one device.
struct PpoBatch {
  // Current policy log π(a_t|s_t), with autograd graph. Required.
  at::Tensor logprobs = {};
  // Behaviour-policy log-probs returned by rollout. Required.
  at::Tensor old_logprobs = {};
  // From ComputeGae (usually MaskedWhiten-ed) or critic_free.h. Required.
  at::Tensor advantages = {};
  // 1 = real response token. Required.
  at::Tensor mask = {};
  // Critic's current values, with graph. Optional: without them there is no value loss.
  at::Tensor values = {};
  // Critic's values at rollout. Required with values.
  at::Tensor old_values = {};
  // GaeResult::returns. Required with values.
  at::Tensor returns = {};
  // Per-token entropy (TokenEntropy), with graph. Optional.
  at::Tensor entropy = {};
  // Reference log-probs. Required when kl_loss_coef > 0.
  at::Tensor ref_logprobs = {};
  // Aggregation normalizer for gradient accumulation (see Aggregate); 0 = this batch's own.
  double normalizer = 0.0;
};

// For reporting. The four losses are as aggregated into the total (aggregation and
// normalizer); every other figure is a token mean over the mask of this (micro-)batch.
struct PpoStats {
  double policy_loss = 0;         // aggregated policy loss
  double value_loss = 0;          // aggregated value loss (0 without values)
  double entropy = 0;             // mean entropy (0 without entropy)
  double kl_loss = 0;             // aggregated KL loss term (0 when disabled)
  double approx_kl = 0;           // KL(π_old‖π) ≈ mean of (ρ − 1) − log ρ (k3)
  double clip_fraction = 0;       // fraction of tokens where the clipped term was active
  double dual_clip_fraction = 0;  // fraction where the dual clip was active
  double value_clip_fraction = 0; // fraction where the clipped value was used
  double explained_variance = 0;  // ExplainedVariance(values, returns) (0 without values)
  double ratio_mean = 0;          // mean ρ
  double ratio_max = 0;           // max ρ
  bool early_stop = false;        // approx_kl > early_stop_kl (> 0)
};

struct PpoLossOutput {
  // policy_loss + value_coef·value_loss − entropy_coef·entropy + kl_loss_coef·kl_loss, each
  // aggregated with `aggregation`; a 0-dim tensor to call backward() on.
  at::Tensor loss = {};
  PpoStats stats = {};
};

// The full PPO objective for one (micro-)batch. INVALID_ARGUMENT naming the field for a missing
// or misshapen tensor, a mask without any real token, or an option out of range (clip_low in
// [0, 1), clip_high >= 0, dual_clip 0 or > 1, coefficients >= 0).
absl::StatusOr<PpoLossOutput> PpoLoss(const PpoBatch& batch, const PpoLossOptions& options = {});

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_PPO_LOSS_H_
