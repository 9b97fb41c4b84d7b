#include "common/rl/sft_dpo.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/where.h>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

absl::Status CheckDpo(const DpoBatch& b, const DpoOptions& o) {
  RETURN_IF_ERROR(internal::CheckFloating(b.policy_chosen, "policy_chosen", 1));
  RETURN_IF_ERROR(
      internal::CheckLike(b.policy_rejected, "policy_rejected", b.policy_chosen, "policy_chosen"));
  RETURN_IF_ERROR(internal::CheckLike(b.reference_chosen, "reference_chosen", b.policy_chosen,
                                      "policy_chosen"));
  RETURN_IF_ERROR(internal::CheckLike(b.reference_rejected, "reference_rejected",
                                      b.policy_chosen, "policy_chosen"));
  RETURN_IF_ERROR(internal::CheckRange(b.normalizer, "normalizer", 0, 1e18));
  if (!(o.beta > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("beta: must be > 0, got ", o.beta));
  }
  RETURN_IF_ERROR(internal::CheckRange(o.beta, "beta", 0, 1e9));
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 0.5)) {
    return absl::InvalidArgumentError(
        absl::StrCat("label_smoothing: must be in [0, 0.5), got ", o.label_smoothing));
  }
  if (b.normalizer == 0 && b.policy_chosen.size(0) == 0) {
    return absl::InvalidArgumentError("policy_chosen: no pair to average over");
  }
  return absl::OkStatus();
}

// Fills everything but the loss from h = (π_c − ref_c) − (π_r − ref_r) (detached).
void FillRewardStats(const DpoBatch& b, double beta, DpoOutput& out) {
  at::NoGradGuard no_grad;
  const at::Tensor chosen = beta * (b.policy_chosen.detach() - b.reference_chosen);
  const at::Tensor rejected = beta * (b.policy_rejected.detach() - b.reference_rejected);
  if (chosen.numel() == 0) return;
  out.reward_accuracy = chosen.gt(rejected).to(at::kDouble).mean().item<double>();
  out.chosen_reward = chosen.mean().item<double>();
  out.rejected_reward = rejected.mean().item<double>();
  out.reward_margin = (chosen - rejected).mean().item<double>();
}

at::Tensor LogRatioGap(const DpoBatch& b) {
  return (b.policy_chosen - b.reference_chosen.detach()) -
         (b.policy_rejected - b.reference_rejected.detach());
}

double Count(const DpoBatch& b) {
  return b.normalizer > 0 ? b.normalizer : static_cast<double>(b.policy_chosen.size(0));
}

absl::Status CheckKto(const KtoBatch& b, const KtoOptions& o) {
  RETURN_IF_ERROR(internal::CheckFloating(b.policy, "policy", 1));
  RETURN_IF_ERROR(internal::CheckLike(b.reference, "reference", b.policy, "policy"));
  if (!b.desirable.defined() || b.desirable.dim() != 1 ||
      b.desirable.size(0) != b.policy.size(0)) {
    return absl::InvalidArgumentError("desirable: must be one flag per completion");
  }
  RETURN_IF_ERROR(internal::CheckRange(b.normalizer, "normalizer", 0, 1e18));
  if (!(o.beta > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("beta: must be > 0, got ", o.beta));
  }
  RETURN_IF_ERROR(internal::CheckRange(o.beta, "beta", 0, 1e9));
  RETURN_IF_ERROR(internal::CheckRange(o.desirable_weight, "desirable_weight", 0, 1e9));
  RETURN_IF_ERROR(internal::CheckRange(o.undesirable_weight, "undesirable_weight", 0, 1e9));
  if (b.normalizer == 0 && b.policy.size(0) == 0) {
    return absl::InvalidArgumentError("policy: no completion to average over");
  }
  return absl::OkStatus();
}

// Mean of `values` where `mask`, 0 when the mask is empty.
double MeanWhere(const at::Tensor& values, const at::Tensor& mask) {
  const int64_t n = mask.sum().item<int64_t>();
  return n == 0 ? 0.0 : values.masked_select(mask).mean().item<double>();
}

}  // namespace

absl::StatusOr<double> KtoReferencePoint(const at::Tensor& kl_policy,
                                         const at::Tensor& kl_reference) {
  RETURN_IF_ERROR(internal::CheckFloating(kl_policy, "kl_policy", 1));
  RETURN_IF_ERROR(internal::CheckLike(kl_reference, "kl_reference", kl_policy, "kl_policy"));
  if (kl_policy.size(0) == 0) {
    return absl::InvalidArgumentError("kl_policy: no mismatched pair to estimate z0 from");
  }
  return internal::GuardTorch("KtoReferencePoint", [&]() -> absl::StatusOr<double> {
    at::NoGradGuard no_grad;
    return std::max(0.0, (kl_policy.detach() - kl_reference).mean().item<double>());
  });
}

absl::StatusOr<at::Tensor> SftLoss(const at::Tensor& logits, const at::Tensor& targets,
                                   const at::Tensor& loss_mask, Aggregation aggregation,
                                   double normalizer) {
  ASSIGN_OR_RETURN(const at::Tensor logprobs, TokenLogProbs(logits, targets));
  RETURN_IF_ERROR(internal::CheckMask(loss_mask, "loss_mask", targets, "targets"));
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("SftLoss", [&] {
    return internal::KeptAggregate(-logprobs, internal::MaskBool(loss_mask, logprobs),
                                   aggregation, normalizer);
  });
}

absl::StatusOr<DpoOutput> DpoLoss(const DpoBatch& batch, const DpoOptions& options) {
  RETURN_IF_ERROR(CheckDpo(batch, options));
  return internal::GuardTorch("DpoLoss", [&]() -> absl::StatusOr<DpoOutput> {
    const at::Tensor z = options.beta * LogRatioGap(batch);
    const double eps = options.label_smoothing;
    const at::Tensor losses = -(1.0 - eps) * at::log_sigmoid(z) - eps * at::log_sigmoid(-z);
    DpoOutput out;
    out.loss = losses.sum() / Count(batch);
    FillRewardStats(batch, options.beta, out);
    return out;
  });
}

absl::StatusOr<DpoOutput> IpoLoss(const DpoBatch& batch, const DpoOptions& options) {
  RETURN_IF_ERROR(CheckDpo(batch, options));
  return internal::GuardTorch("IpoLoss", [&]() -> absl::StatusOr<DpoOutput> {
    const at::Tensor losses = (LogRatioGap(batch) - 1.0 / (2.0 * options.beta)).square();
    DpoOutput out;
    out.loss = losses.sum() / Count(batch);
    FillRewardStats(batch, options.beta, out);
    return out;
  });
}

absl::StatusOr<KtoOutput> KtoLoss(const KtoBatch& batch, const KtoOptions& options) {
  RETURN_IF_ERROR(CheckKto(batch, options));
  double z0 = batch.z0;  // KtoReferencePoint checks the mismatched pairs when it is not given
  if (z0 < 0) {
    ASSIGN_OR_RETURN(z0, KtoReferencePoint(batch.kl_policy, batch.kl_reference));
  }
  return internal::GuardTorch("KtoLoss", [&]() -> absl::StatusOr<KtoOutput> {
    const at::Tensor desirable = batch.desirable.to(at::kBool);
    const at::Tensor r = batch.policy - batch.reference.detach();
    const at::Tensor losses =
        at::where(desirable, options.desirable_weight * (1.0 - at::sigmoid(options.beta * (r - z0))),
                  options.undesirable_weight * (1.0 - at::sigmoid(options.beta * (z0 - r))));
    const double count =
        batch.normalizer > 0 ? batch.normalizer : static_cast<double>(batch.policy.size(0));
    KtoOutput out;
    out.loss = losses.sum() / count;
    out.z0 = z0;
    at::NoGradGuard no_grad;
    const at::Tensor rewards = options.beta * r.detach();
    out.desirable_reward = MeanWhere(rewards, desirable);
    out.undesirable_reward = MeanWhere(rewards, desirable.logical_not());
    return out;
  });
}

}  // namespace rein::rl
