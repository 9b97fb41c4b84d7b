#include "common/rl/advantages.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

// The backward recursion shared by GAE and returns, over kept positions only:
//   A_t = r_t + γ·V_{n(t)} − V_t + γλ·A_{n(t)}
// carrying (V_{n(t)}, A_{n(t)}) past masked positions unchanged. [B, T], 0 where not kept.
at::Tensor BackwardScan(const at::Tensor& rewards, const at::Tensor& values,
                        const at::Tensor& keep, double gamma, double lambda) {
  const int64_t batch = rewards.size(0);
  const int64_t steps = rewards.size(1);
  // Zeroing first keeps NaN at masked positions out of the arithmetic.
  const at::Tensor r = internal::Zeroed(rewards, keep);
  const at::Tensor v = internal::Zeroed(values, keep);
  at::Tensor next_value = at::zeros({batch}, rewards.options());
  at::Tensor next_advantage = at::zeros({batch}, rewards.options());
  std::vector<at::Tensor> columns(static_cast<size_t>(steps));
  for (int64_t t = steps - 1; t >= 0; --t) {
    const at::Tensor k = keep.select(1, t);
    const at::Tensor v_t = v.select(1, t);
    const at::Tensor delta = r.select(1, t) + gamma * next_value - v_t;
    const at::Tensor a_t = delta + (gamma * lambda) * next_advantage;
    next_value = at::where(k, v_t, next_value);
    next_advantage = at::where(k, a_t, next_advantage);
    columns[static_cast<size_t>(t)] = internal::Zeroed(a_t, k);
  }
  if (steps == 0) return at::zeros({batch, 0}, rewards.options());
  return at::stack(columns, 1);
}

}  // namespace

absl::StatusOr<GaeResult> ComputeGae(const at::Tensor& rewards, const at::Tensor& values,
                                     const at::Tensor& mask, const GaeOptions& options) {
  RETURN_IF_ERROR(internal::CheckFloating(rewards, "rewards", 2));
  RETURN_IF_ERROR(internal::CheckLike(values, "values", rewards, "rewards"));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", rewards, "rewards"));
  RETURN_IF_ERROR(internal::CheckRange(options.gamma, "gamma", 0, 1));
  RETURN_IF_ERROR(internal::CheckRange(options.lambda, "lambda", 0, 1));
  return internal::GuardTorch("ComputeGae", [&]() -> absl::StatusOr<GaeResult> {
    at::NoGradGuard no_grad;
    const at::Tensor keep = internal::MaskBool(mask, rewards);
    const at::Tensor v = values.detach().to(rewards.scalar_type());
    GaeResult out;
    out.advantages = BackwardScan(rewards.detach(), v, keep, options.gamma, options.lambda);
    out.returns = internal::Zeroed(out.advantages + v, keep);
    return out;
  });
}

absl::StatusOr<at::Tensor> DiscountedReturns(const at::Tensor& rewards, const at::Tensor& mask,
                                             double gamma) {
  RETURN_IF_ERROR(internal::CheckFloating(rewards, "rewards", 2));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", rewards, "rewards"));
  RETURN_IF_ERROR(internal::CheckRange(gamma, "gamma", 0, 1));
  return internal::GuardTorch("DiscountedReturns", [&]() -> absl::StatusOr<at::Tensor> {
    at::NoGradGuard no_grad;
    const at::Tensor r = rewards.detach();
    // With V = 0 and λ = 1 the scan is G_t = r_t + γ·G_{n(t)}.
    return BackwardScan(r, at::zeros_like(r), internal::MaskBool(mask, r), gamma, 1.0);
  });
}

absl::StatusOr<RewardNormalizer> RewardNormalizer::Create(const RewardNormalizerOptions& options) {
  RETURN_IF_ERROR(internal::CheckRange(options.clip, "clip", 0, 1e18));
  RETURN_IF_ERROR(internal::CheckRange(options.eps, "eps", 0, 1));
  return RewardNormalizer(options);
}

absl::StatusOr<at::Tensor> RewardNormalizer::Normalize(const at::Tensor& scores) {
  RETURN_IF_ERROR(internal::CheckFloating(scores, "scores", 1));
  RunningMoments next = moments_;
  RETURN_IF_ERROR(internal::GuardTorch("RewardNormalizer::Normalize", [&]() -> absl::Status {
    const at::Tensor s = scores.detach().to(at::kDouble);
    if (!s.isfinite().all().item<bool>()) {
      return absl::InvalidArgumentError("scores: every score must be finite");
    }
    const int64_t n_b = s.numel();
    if (n_b == 0) return absl::OkStatus();
    const double mean_b = s.mean().item<double>();
    const double m2_b = (s - mean_b).square().sum().item<double>();
    const double n_a = static_cast<double>(next.count);
    const double n = n_a + static_cast<double>(n_b);
    const double delta = mean_b - next.mean;
    next.mean += delta * static_cast<double>(n_b) / n;
    next.m2 += m2_b + delta * delta * n_a * static_cast<double>(n_b) / n;
    next.count += n_b;
    return absl::OkStatus();
  }));
  moments_ = next;
  return Apply(scores);
}

absl::StatusOr<at::Tensor> RewardNormalizer::Apply(const at::Tensor& scores) const {
  RETURN_IF_ERROR(internal::CheckFloating(scores, "scores", 1));
  return internal::GuardTorch("RewardNormalizer::Apply", [&]() -> absl::StatusOr<at::Tensor> {
    at::Tensor out = scores.detach();
    if (options_.scale) {
      if (options_.subtract_mean) out = out - moments_.mean;
      out = out / (std::sqrt(moments_.variance()) + options_.eps);
    }
    if (options_.clip > 0) out = out.clamp(-options_.clip, options_.clip);
    return out;
  });
}

absl::Status RewardNormalizer::Restore(const RunningMoments& moments) {
  if (moments.count < 0 || !(moments.m2 >= 0) || !std::isfinite(moments.m2) ||
      !std::isfinite(moments.mean)) {
    return absl::InvalidArgumentError(
        absl::StrCat("moments: invalid (count=", moments.count, ", mean=", moments.mean,
                     ", m2=", moments.m2, ")"));
  }
  moments_ = moments;
  return absl::OkStatus();
}

}  // namespace rein::rl
