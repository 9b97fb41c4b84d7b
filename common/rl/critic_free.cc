#include "common/rl/critic_free.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include "absl/strings/str_cat.h"
#include "common/rl/advantages.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/rl/masked.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

// Checks scores [B], mask [B, T] and the group size; returns scores viewed as [G, n].
absl::StatusOr<at::Tensor> Grouped(const at::Tensor& scores, const at::Tensor& mask,
                                   int64_t group_size) {
  RETURN_IF_ERROR(internal::CheckFloating(scores, "scores", 1));
  if (!mask.defined() || mask.dim() != 2 || mask.size(0) != scores.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mask: expected shape [", scores.size(0), ", T], got ",
                     mask.defined() ? internal::ShapeString(mask.sizes()) : "none"));
  }
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", mask, "mask"));
  if (group_size < 2 || scores.size(0) % group_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("group_size: must be >= 2 and divide the batch (", scores.size(0),
                     "), got ", group_size));
  }
  return scores.detach().reshape({-1, group_size});
}

}  // namespace

absl::StatusOr<at::Tensor> GrpoAdvantages(const at::Tensor& scores, const at::Tensor& mask,
                                          int64_t group_size, const GrpoOptions& options) {
  RETURN_IF_ERROR(internal::CheckRange(options.eps, "eps", 0, 1));
  return internal::GuardTorch("GrpoAdvantages", [&]() -> absl::StatusOr<at::Tensor> {
    at::NoGradGuard no_grad;
    ASSIGN_OR_RETURN(const at::Tensor grouped, Grouped(scores, mask, group_size));
    at::Tensor a = grouped - grouped.mean(1, /*keepdim=*/true);
    if (options.scale_by_std) {
      a = a / (grouped.std(1, /*unbiased=*/true, /*keepdim=*/true) + options.eps);
    }
    return internal::BroadcastToTokens(a.reshape({-1}), internal::MaskBool(mask, scores));
  });
}

absl::StatusOr<at::Tensor> RlooAdvantages(const at::Tensor& scores, const at::Tensor& mask,
                                          int64_t group_size) {
  return internal::GuardTorch("RlooAdvantages", [&]() -> absl::StatusOr<at::Tensor> {
    at::NoGradGuard no_grad;
    ASSIGN_OR_RETURN(const at::Tensor grouped, Grouped(scores, mask, group_size));
    const at::Tensor baseline =
        (grouped.sum(1, /*keepdim=*/true) - grouped) / static_cast<double>(group_size - 1);
    return internal::BroadcastToTokens((grouped - baseline).reshape({-1}),
                                       internal::MaskBool(mask, scores));
  });
}

absl::StatusOr<at::Tensor> ReinforcePlusPlusAdvantages(const at::Tensor& token_rewards,
                                                       const at::Tensor& mask,
                                                       const ReinforcePlusPlusOptions& options) {
  ASSIGN_OR_RETURN(const at::Tensor returns,
                   DiscountedReturns(token_rewards, mask, options.gamma));
  WhitenOptions whiten;
  whiten.eps = options.eps;
  return MaskedWhiten(returns, mask, whiten);
}

}  // namespace rein::rl
