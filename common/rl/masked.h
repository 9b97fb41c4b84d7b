// Masked reductions and per-token helpers that every RL loss in common/rl is built from.
//
// Conventions for the whole component (common/rl):
//   * Tensors are batch-first: per-token quantities are [B, T] (B sequences, T positions),
//     per-sequence quantities are [B].
//   * A mask is a bool or 0/1 floating tensor of the same shape: m[b,t] = 1 marks a real response
//     token (one the policy generated and that is trained on); 0 marks padding and prompt tokens.
//     Values at m = 0 never influence any result (they may even be NaN), and outputs are 0 there.
//     Real tokens need not be contiguous; left and right padding are both fine.
//   * Inputs are floating (float32 or float64); outputs take the input dtype.
//   * Errors: a missing, misshapen or non-floating argument is INVALID_ARGUMENT naming it; no
//     exception leaves the library.
//
// Thread safety: free functions without shared state.
#ifndef REIN_COMMON_RL_MASKED_H_
#define REIN_COMMON_RL_MASKED_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace rein::rl {

// How a per-token loss l[b,t] becomes one scalar.
enum class Aggregation {
  // Every real token weighs the same:  Σ_{b,t} l·m / N,  N = Σ_{b,t} m.
  kTokenMean,
  // Every sequence weighs the same:  Σ_b (Σ_t l·m / Σ_t m) / N,  N = #{b : Σ_t m[b,t] > 0}
  // (sequences without a real token are left out).
  kSequenceMean,
};

// Mean over real entries: Σ x·m / Σ m, a 0-dim tensor. x and mask: any equal shape.
// INVALID_ARGUMENT if the mask has no real entry.
absl::StatusOr<at::Tensor> MaskedMean(const at::Tensor& x, const at::Tensor& mask);

// Variance over real entries: μ = MaskedMean(x, m); Σ (x − μ)²·m / (Σ m − c), with c = 1 when
// `unbiased` (Bessel's correction) and 0 otherwise. A 0-dim tensor.
// INVALID_ARGUMENT if Σ m <= c.
absl::StatusOr<at::Tensor> MaskedVariance(const at::Tensor& x, const at::Tensor& mask,
                                          bool unbiased = false);

struct WhitenOptions {
  // Subtract the mean. When false the mean is added back after scaling, so only the scale
  // changes: (x − μ)/σ + μ. Default true.
  bool shift_mean = true;
  // Added to the variance before the square root. Default 1e-8.
  double eps = 1e-8;
};

// Whitening over real entries: (x − μ) / sqrt(σ² + eps), μ and σ² the masked mean and population
// variance (MaskedVariance with unbiased = false), so the result has mean 0 and variance 1 over
// the mask. Same shape as x; 0 where m = 0. INVALID_ARGUMENT if the mask has no real entry.
absl::StatusOr<at::Tensor> MaskedWhiten(const at::Tensor& x, const at::Tensor& mask,
                                        const WhitenOptions& options = {});

// Aggregates a per-token loss l [B, T] over mask [B, T] (see Aggregation), a 0-dim tensor that
// keeps l's autograd graph.
//
// `normalizer` replaces N when > 0. Gradient accumulation passes the N of the whole batch (see
// GlobalNormalizer in optim.h) so that the micro-batch losses sum to the full-batch loss.
// INVALID_ARGUMENT if N would be 0 (no real token and no normalizer).
absl::StatusOr<at::Tensor> Aggregate(const at::Tensor& loss, const at::Tensor& mask,
                                     Aggregation aggregation, double normalizer = 0.0);

// Log-probability of each target token: out[b,t] = log_softmax(logits[b,t,:])[tokens[b,t]].
// logits [B, T, V] floating, tokens [B, T] int64 in [0, V). The caller aligns them: logits at
// position t must be the prediction of tokens[b,t] (for a causal LM, logits of t−1 shifted).
absl::StatusOr<at::Tensor> TokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens);

// Entropy of each next-token distribution: H[b,t] = −Σ_v p_v log p_v, p = softmax(logits[b,t,:]).
// logits [B, T, V]; result [B, T].
absl::StatusOr<at::Tensor> TokenEntropy(const at::Tensor& logits);

// Sequence log-probability from per-token log-probs lp [B, T] over mask [B, T]:
// s[b] = Σ_t lp·m, or Σ_t lp·m / Σ_t m when `length_normalise` (the per-token average, as
// IPO uses). Result [B]; 0 for a sequence without real tokens.
absl::StatusOr<at::Tensor> SequenceLogProbs(const at::Tensor& token_logprobs,
                                            const at::Tensor& mask,
                                            bool length_normalise = false);

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_MASKED_H_
