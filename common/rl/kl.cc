#include "common/rl/kl.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

// Bound on |log r| inside k3's exp: e^20 ≈ 4.9e8 is far beyond any useful KL and stays finite
// in float32.
constexpr double kMaxLogRatio = 20.0;

absl::Status CheckKlInputs(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                           const at::Tensor& mask) {
  RETURN_IF_ERROR(internal::CheckFloating(logprobs, "logprobs", 2));
  RETURN_IF_ERROR(internal::CheckLike(ref_logprobs, "ref_logprobs", logprobs, "logprobs"));
  return internal::CheckMask(mask, "mask", logprobs, "logprobs");
}

at::Tensor PerTokenKl(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                      const at::Tensor& keep, KlEstimator estimator) {
  // log r = log π_ref − log π; masked positions are zeroed first so NaN padding cannot leak.
  const at::Tensor log_r =
      internal::Zeroed(ref_logprobs.detach(), keep) - internal::Zeroed(logprobs, keep);
  at::Tensor kl;
  switch (estimator) {
    case KlEstimator::kK1:
      kl = -log_r;
      break;
    case KlEstimator::kK2:
      kl = 0.5 * log_r.square();
      break;
    case KlEstimator::kK3: {
      const at::Tensor clamped = log_r.clamp(-kMaxLogRatio, kMaxLogRatio);
      kl = clamped.exp() - 1 - clamped;
      break;
    }
  }
  return internal::Zeroed(kl, keep);
}

}  // namespace

absl::StatusOr<at::Tensor> KlPenalty(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                                     const at::Tensor& mask, KlEstimator estimator) {
  RETURN_IF_ERROR(CheckKlInputs(logprobs, ref_logprobs, mask));
  return internal::GuardTorch("KlPenalty", [&]() -> absl::StatusOr<at::Tensor> {
    return PerTokenKl(logprobs, ref_logprobs, internal::MaskBool(mask, logprobs), estimator);
  });
}

absl::StatusOr<at::Tensor> KlLoss(const at::Tensor& logprobs, const at::Tensor& ref_logprobs,
                                  const at::Tensor& mask, KlEstimator estimator,
                                  Aggregation aggregation, double normalizer) {
  RETURN_IF_ERROR(CheckKlInputs(logprobs, ref_logprobs, mask));
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("KlLoss", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor keep = internal::MaskBool(mask, logprobs);
    return internal::KeptAggregate(PerTokenKl(logprobs, ref_logprobs, keep, estimator), keep,
                                   aggregation, normalizer);
  });
}

absl::StatusOr<TokenRewards> ComputeTokenRewards(const at::Tensor& scores,
                                                 const at::Tensor& logprobs,
                                                 const at::Tensor& ref_logprobs,
                                                 const at::Tensor& mask, double kl_coef,
                                                 KlEstimator estimator) {
  RETURN_IF_ERROR(CheckKlInputs(logprobs, ref_logprobs, mask));
  RETURN_IF_ERROR(internal::CheckFloating(scores, "scores", 1));
  RETURN_IF_ERROR(internal::CheckShape(scores, "scores", logprobs.sizes().slice(0, 1)));
  RETURN_IF_ERROR(internal::CheckRange(kl_coef, "kl_coef", 0, 1e9));
  return internal::GuardTorch("ComputeTokenRewards", [&]() -> absl::StatusOr<TokenRewards> {
    at::NoGradGuard no_grad;
    const at::Tensor keep = internal::MaskBool(mask, logprobs);
    const at::Tensor last = internal::LastKeptIndex(keep);
    if (logprobs.size(0) > 0 && last.min().item<int64_t>() < 0) {
      const int64_t row = last.lt(0).to(at::kLong).argmax().item<int64_t>();
      return absl::InvalidArgumentError(
          absl::StrCat("mask: sequence ", row, " has no real response token"));
    }
    TokenRewards out;
    out.kl = PerTokenKl(logprobs.detach(), ref_logprobs, keep, estimator);
    at::Tensor rewards = -kl_coef * out.kl;
    // Adds score[b] at (b, last[b]).
    rewards.scatter_add_(1, last.unsqueeze(1),
                         scores.detach().to(rewards.scalar_type()).unsqueeze(1));
    out.rewards = rewards;
    out.mean_sequence_kl = logprobs.size(0) > 0 ? out.kl.sum(1).mean().item<double>() : 0.0;
    return out;
  });
}

absl::StatusOr<KlController> KlController::Create(const KlControllerOptions& options) {
  RETURN_IF_ERROR(internal::CheckRange(options.init_coef, "init_coef", 0, 1e9));
  if (options.adaptive) {
    if (!(options.target_kl > 0) || !std::isfinite(options.target_kl)) {
      return absl::InvalidArgumentError(
          absl::StrCat("target_kl: must be > 0, got ", options.target_kl));
    }
    if (!(options.horizon > 0) || !std::isfinite(options.horizon)) {
      return absl::InvalidArgumentError(
          absl::StrCat("horizon: must be > 0, got ", options.horizon));
    }
  }
  return KlController(options);
}

absl::Status KlController::Update(double observed_kl, int64_t n_samples) {
  if (!std::isfinite(observed_kl)) {
    return absl::InvalidArgumentError(absl::StrCat("observed_kl: not finite: ", observed_kl));
  }
  if (n_samples < 1) {
    return absl::InvalidArgumentError(absl::StrCat("n_samples: must be >= 1, got ", n_samples));
  }
  if (!options_.adaptive) return absl::OkStatus();
  const double error =
      std::clamp((observed_kl - options_.target_kl) / options_.target_kl, -0.2, 0.2);
  // A batch larger than 5·H could push the factor below 0; β stays >= 0.
  coef_ = std::max(0.0, coef_ * (1.0 + error * static_cast<double>(n_samples) / options_.horizon));
  return absl::OkStatus();
}

}  // namespace rein::rl
