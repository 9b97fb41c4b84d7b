// KL between the policy and the frozen reference, used as a per-token reward penalty (PPO, as in
// Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences") or as a loss term
// (GRPO style), and the controllers that set its coefficient β.
//
// Shapes and mask follow common/rl/masked.h: per-token tensors [B, T], mask [B, T] with 1 = real
// response token.
#ifndef REIN_COMMON_RL_KL_H_
#define REIN_COMMON_RL_KL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rl/masked.h"

namespace rein::rl {

// Per-token estimators of KL(π‖π_ref) from tokens sampled from π (Schulman 2020, "Approximating
// KL Divergence"), with log r = log π_ref(x) − log π(x):
enum class KlEstimator {
  kK1,  // k1 = −log r = log π − log π_ref. Unbiased, high variance, can be negative.
  kK2,  // k2 = ½ (log r)². Biased, low variance, >= 0.
  kK3,  // k3 = (r − 1) − log r. Unbiased, low variance, >= 0. log r is clamped to [−20, 20]
        // before exp so that one extreme token cannot give inf.
};

// The chosen estimator per token: kl[b,t] as above where m = 1, 0 where m = 0.
// logprobs, ref_logprobs, mask: [B, T]. Differentiable in logprobs (ref_logprobs is treated as a
// constant), so the same tensor serves as reward penalty (detach it) or loss term.
absl::StatusOr<at::Tensor> KlPenalty(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                                     const at::Tensor& mask, KlEstimator estimator);

// KL as a loss term: Aggregate(KlPenalty(logprobs, ref_logprobs, mask, estimator), mask,
// aggregation, normalizer). Scalar, differentiable in logprobs. Use with kl_coef = 0 in
// TokenRewards (the KL is then not also in the reward).
absl::StatusOr<at::Tensor> KlLoss(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                                  const at::Tensor& mask, KlEstimator estimator,
                                  Aggregation aggregation = Aggregation::kTokenMean,
                                  double normalizer = 0.0);

struct TokenRewards {
  // [B, T]: r[b,t] = −β·kl[b,t] + 1[t = last real token of b]·score[b]; 0 where m = 0.
  at::Tensor rewards = {};
  // [B, T]: the per-token KL estimate kl[b,t] (0 where m = 0). No autograd graph.
  at::Tensor kl = {};
  // Mean over sequences of Σ_t kl[b,t]: the observed KL for KlController::Update.
  double mean_sequence_kl = 0;
};

// PPO's per-token rewards: the sequence score lands on the last real token of each sequence and
// every real token pays −β·kl. scores [B] (e.g. after RewardNormalizer), logprobs and
// ref_logprobs [B, T] (behaviour policy and reference), mask [B, T]. kl_coef β >= 0 (0 when the
// KL is a loss term instead). Inputs are detached. INVALID_ARGUMENT if a sequence has no real
// token.
absl::StatusOr<TokenRewards> ComputeTokenRewards(const at::Tensor& scores,
                                                 const at::Tensor& logprobs,
                                                 const at::Tensor& ref_logprobs,
                                                 const at::Tensor& mask, double kl_coef,
                                                 KlEstimator estimator = KlEstimator::kK1);

struct KlControllerOptions {
  // false: β stays at init_coef (fixed controller). true: adaptive controller (below).
  // Default false.
  bool adaptive = false;
  // β at the start. Default 0.05.
  double init_coef = 0.05;
  // Adaptive only: the per-sequence KL (nats) to steer towards. Default 6 (Ziegler et al.).
  double target_kl = 6.0;
  // Adaptive only: the horizon H in samples over which β may change by the bounded error.
  // Default 10000 (Ziegler et al.).
  double horizon = 10000.0;
};

// Holds β for the KL penalty. Adaptive rule (Ziegler et al. 2019, §2.2):
//   e = clip((KL_obs − KL_target) / KL_target, −0.2, 0.2)
//   β ← β · (1 + e · n / H)
// where KL_obs is the observed mean per-sequence KL of a batch of n samples. The fixed controller
// ignores updates.
//
// Owned by whoever runs the training loop (the coordinator); its whole state is coef(), so a
// checkpoint stores coef() and restores it through init_coef. Not thread-safe.
class KlController {
 public:
  // INVALID_ARGUMENT for a negative or non-finite init_coef, or (adaptive) a target_kl or horizon
  // that is not > 0.
  static absl::StatusOr<KlController> Create(const KlControllerOptions& options);

  // Current β.
  double coef() const { return coef_; }
  bool adaptive() const { return options_.adaptive; }

  // Feeds one batch: observed_kl = TokenRewards::mean_sequence_kl, n_samples = its B.
  // INVALID_ARGUMENT for a non-finite observed_kl or n_samples < 1 (β is then unchanged).
  absl::Status Update(double observed_kl, int64_t n_samples);

 private:
  explicit KlController(const KlControllerOptions& options)
      : options_(options), coef_(options.init_coef) {}

  KlControllerOptions options_;
  double coef_;
};

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_KL_H_
