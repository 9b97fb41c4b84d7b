// Advantage estimation for PPO with a critic: GAE (Schulman et al. 2016), discounted returns,
// and running normalisation and clipping of sequence rewards.
//
// Shapes and mask follow common/rl/masked.h: per-token tensors [B, T], mask [B, T] with 1 = real
// response token. Time runs over the real tokens of a row only: for a real position t, n(t) is
// the next real position in the same row, and "none" after the last real token, which is
// terminal (V(none) = 0, A(none) = 0, G(none) = 0). Padding anywhere in a row therefore changes
// nothing. Rewards and values at m = 0 are ignored; every output is 0 there and carries no
// autograd graph.
#ifndef REIN_COMMON_RL_ADVANTAGES_H_
#define REIN_COMMON_RL_ADVANTAGES_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::rl {

struct GaeOptions {
  // Discount γ in [0, 1]. Default 1 (no discount within a response, the usual RLHF choice).
  double gamma = 1.0;
  // GAE λ in [0, 1]; 1 gives Monte-Carlo returns minus the value, 0 the one-step TD error.
  // Default 0.95.
  double lambda = 0.95;
};

struct GaeResult {
  // [B, T]: A_t = δ_t + γλ·A_{n(t)},  δ_t = r_t + γ·V_{n(t)} − V_t.
  at::Tensor advantages = {};
  // [B, T]: R_t = A_t + V_t, the critic's regression target.
  at::Tensor returns = {};
};

// Generalised advantage estimation. rewards, values, mask: [B, T] (rewards e.g. from
// ComputeTokenRewards, values from the critic at rollout time).
// With γ = λ = 1: A_t = (Σ_{k real, k >= t} r_k) − V_t (reward-to-go minus value).
absl::StatusOr<GaeResult> ComputeGae(const at::Tensor& rewards, const at::Tensor& values,
                                     const at::Tensor& mask, const GaeOptions& options = {});

// Discounted reward-to-go: G_t = r_t + γ·G_{n(t)} over real tokens. rewards, mask: [B, T];
// gamma in [0, 1]. Result [B, T].
absl::StatusOr<at::Tensor> DiscountedReturns(const at::Tensor& rewards, const at::Tensor& mask,
                                             double gamma = 1.0);

// Running count, mean and sum of squared deviations (M2) of every value seen, merged batch by
// batch (Chan et al.):  δ = μ_b − μ,  n' = n + n_b,  μ' = μ + δ·n_b/n',
// M2' = M2 + M2_b + δ²·n·n_b/n'. Population variance = M2 / n.
struct RunningMoments {
  int64_t count = 0;
  double mean = 0;
  double m2 = 0;
  double variance() const { return count > 0 ? m2 / static_cast<double>(count) : 0.0; }
};

struct RewardNormalizerOptions {
  // Divide by the running standard deviation. Default true.
  bool scale = true;
  // Also subtract the running mean (only when scale is true). Default true.
  bool subtract_mean = true;
  // After normalising, clip to [−clip, clip]; 0 disables clipping. Default 0.
  double clip = 0.0;
  // Added to the standard deviation. Default 1e-8.
  double eps = 1e-8;
};

// Running normalisation and clipping of sequence scores before they become token rewards:
//   r' = clip((r − μ) / (σ + eps), −c, c)    (μ omitted when !subtract_mean; no division when
//                                              !scale; no clip when c = 0)
// μ and σ are the running statistics of every score seen so far, including the current batch.
//
// Owned by the training loop; its state is moments(), which a checkpoint saves and Restore()
// puts back. Not thread-safe.
class RewardNormalizer {
 public:
  // INVALID_ARGUMENT for a negative or non-finite clip or eps.
  static absl::StatusOr<RewardNormalizer> Create(const RewardNormalizerOptions& options);

  // Merges scores [B] (floating, finite) into the running moments, then returns them normalised
  // and clipped, [B]. INVALID_ARGUMENT for a wrong shape or a non-finite score (the moments are
  // then unchanged).
  absl::StatusOr<at::Tensor> Normalize(const at::Tensor& scores);

  // Normalises and clips scores [B] with the current moments without updating them.
  absl::StatusOr<at::Tensor> Apply(const at::Tensor& scores) const;

  const RunningMoments& moments() const { return moments_; }
  // INVALID_ARGUMENT for a negative count or m2, or non-finite values.
  absl::Status Restore(const RunningMoments& moments);

 private:
  explicit RewardNormalizer(const RewardNormalizerOptions& options) : options_(options) {}

  RewardNormalizerOptions options_;
  RunningMoments moments_;
};

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_ADVANTAGES_H_
