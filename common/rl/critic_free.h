// Advantage estimators without a critic: GRPO (Shao et al. 2024, DeepSeekMath), RLOO (Ahmadian
// et al. 2024, after Kool et al. 2019) and REINFORCE++ (Hu 2025).
//
// Group layout (GRPO, RLOO): the batch holds G prompts × n samples, sample i of prompt p at row
// p·n + i (rollout returns samples of a prompt next to each other). Shapes and mask follow
// common/rl/masked.h: scores [B] (one scalar per sequence, any KL penalty already folded in by the
// caller if wanted), mask [B, T] with 1 = real response token. Results are [B, T] token
// advantages: the sequence's advantage on each of its real tokens, 0 where m = 0, no autograd
// graph.
#ifndef REIN_COMMON_RL_CRITIC_FREE_H_
#define REIN_COMMON_RL_CRITIC_FREE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace rein::rl {

struct GrpoOptions {
  // Divide by the group's standard deviation (GRPO). false keeps only the mean baseline
  // (Dr. GRPO, Liu et al. 2025). Default true.
  bool scale_by_std = true;
  // Added to the standard deviation. Default 1e-6.
  double eps = 1e-6;
};

// GRPO: a_i = (s_i − mean_g(s)) / (std_g(s) + eps) within each group g of n samples, std with
// Bessel's correction (1/(n−1)), as in the reference implementation. scores [B], mask [B, T],
// group_size n >= 2 dividing B.
absl::StatusOr<at::Tensor> GrpoAdvantages(const at::Tensor& scores, const at::Tensor& mask,
                                          int64_t group_size, const GrpoOptions& options = {});

// RLOO: a_i = s_i − (Σ_{j∈g} s_j − s_i) / (n − 1), the leave-one-out mean of the other samples
// of the same prompt as baseline (equivalently n/(n−1)·(s_i − mean_g)). scores [B], mask [B, T],
// group_size n >= 2 dividing B.
absl::StatusOr<at::Tensor> RlooAdvantages(const at::Tensor& scores, const at::Tensor& mask,
                                          int64_t group_size);

struct ReinforcePlusPlusOptions {
  // Discount γ in [0, 1] of the token returns. Default 1.
  double gamma = 1.0;
  // Added to the variance in the whitening. Default 1e-8.
  double eps = 1e-8;
};

// REINFORCE++: token returns G_t = r_t + γ·G_{n(t)} (DiscountedReturns; rewards e.g. from
// ComputeTokenRewards, i.e. score at the last token − β·KL per token), then whitened over every
// real token of the batch: a = (G − μ) / sqrt(σ² + eps) (MaskedWhiten). token_rewards, mask:
// [B, T]. INVALID_ARGUMENT if the mask has no real token.
absl::StatusOr<at::Tensor> ReinforcePlusPlusAdvantages(
    const at::Tensor& token_rewards, const at::Tensor& mask,
    const ReinforcePlusPlusOptions& options = {});

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_CRITIC_FREE_H_
