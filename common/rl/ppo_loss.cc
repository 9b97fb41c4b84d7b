#include "common/rl/ppo_loss.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

absl::Status CheckPolicyOptions(const PolicyLossOptions& options) {
  if (!(options.clip_low >= 0 && options.clip_low < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("clip_low: must be in [0, 1), got ", options.clip_low));
  }
  RETURN_IF_ERROR(internal::CheckRange(options.clip_high, "clip_high", 0, 1e9));
  if (options.dual_clip != 0 && !(options.dual_clip > 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dual_clip: must be 0 (off) or > 1, got ", options.dual_clip));
  }
  return internal::CheckRange(options.dual_clip, "dual_clip", 0, 1e9);
}

PolicyLossTerms PolicyTerms(const at::Tensor& logprobs, const at::Tensor& old_logprobs,
                            const at::Tensor& advantages, const at::Tensor& keep,
                            const PolicyLossOptions& options) {
  const at::Tensor log_ratio = internal::Zeroed(logprobs, keep) -
                               internal::Zeroed(old_logprobs.detach(), keep);
  const at::Tensor ratio = log_ratio.exp();
  const at::Tensor adv = internal::Zeroed(advantages.detach(), keep);
  const at::Tensor unclipped = -adv * ratio;
  const at::Tensor clipped =
      -adv * ratio.clamp(1.0 - options.clip_low, 1.0 + options.clip_high);
  at::Tensor loss = at::maximum(unclipped, clipped);
  PolicyLossTerms out;
  out.clipped = clipped.gt(unclipped).logical_and(keep);
  if (options.dual_clip > 0) {
    const at::Tensor cap = -options.dual_clip * adv;
    out.dual_clipped = adv.lt(0).logical_and(loss.gt(cap)).logical_and(keep);
    loss = at::where(out.dual_clipped, cap, loss);
  } else {
    out.dual_clipped = at::zeros_like(keep);
  }
  out.loss = internal::Zeroed(loss, keep);
  out.ratio = internal::Zeroed(ratio.detach(), keep);
  return out;
}

ValueLossTerms ValueTerms(const at::Tensor& values, const at::Tensor& old_values,
                          const at::Tensor& returns, const at::Tensor& keep, double value_clip) {
  const at::Tensor v = internal::Zeroed(values, keep);
  const at::Tensor r = internal::Zeroed(returns.detach(), keep);
  const at::Tensor error = (v - r).square();
  ValueLossTerms out;
  if (value_clip > 0) {
    const at::Tensor old = internal::Zeroed(old_values.detach(), keep);
    const at::Tensor v_clip = old + (v - old).clamp(-value_clip, value_clip);
    const at::Tensor clipped_error = (v_clip - r).square();
    out.loss = internal::Zeroed(0.5 * at::maximum(error, clipped_error), keep);
    out.clipped = clipped_error.gt(error).logical_and(keep);
  } else {
    out.loss = internal::Zeroed(0.5 * error, keep);
    out.clipped = at::zeros_like(keep);
  }
  return out;
}

double KeptExplainedVariance(const at::Tensor& values, const at::Tensor& returns,
                             const at::Tensor& keep) {
  const at::Tensor v = values.detach();
  const at::Tensor r = returns.detach();
  const double var_r = internal::KeptVariance(r, keep).item<double>();
  if (var_r == 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - internal::KeptVariance(r - v, keep).item<double>() / var_r;
}

absl::Status CheckPpoBatch(const PpoBatch& b, const PpoLossOptions& o) {
  RETURN_IF_ERROR(internal::CheckFloating(b.logprobs, "logprobs", 2));
  RETURN_IF_ERROR(internal::CheckLike(b.old_logprobs, "old_logprobs", b.logprobs, "logprobs"));
  RETURN_IF_ERROR(internal::CheckLike(b.advantages, "advantages", b.logprobs, "logprobs"));
  RETURN_IF_ERROR(internal::CheckMask(b.mask, "mask", b.logprobs, "logprobs"));
  if (b.values.defined()) {
    RETURN_IF_ERROR(internal::CheckLike(b.values, "values", b.logprobs, "logprobs"));
    RETURN_IF_ERROR(internal::CheckLike(b.old_values, "old_values", b.logprobs, "logprobs"));
    RETURN_IF_ERROR(internal::CheckLike(b.returns, "returns", b.logprobs, "logprobs"));
  }
  if (b.entropy.defined()) {
    RETURN_IF_ERROR(internal::CheckLike(b.entropy, "entropy", b.logprobs, "logprobs"));
  }
  if (o.kl_loss_coef > 0) {
    RETURN_IF_ERROR(internal::CheckLike(b.ref_logprobs, "ref_logprobs", b.logprobs, "logprobs"));
  }
  RETURN_IF_ERROR(internal::CheckRange(b.normalizer, "normalizer", 0, 1e18));
  RETURN_IF_ERROR(CheckPolicyOptions(o.policy));
  RETURN_IF_ERROR(internal::CheckRange(o.value_clip, "value_clip", 0, 1e18));
  RETURN_IF_ERROR(internal::CheckRange(o.value_coef, "value_coef", 0, 1e9));
  RETURN_IF_ERROR(internal::CheckRange(o.entropy_coef, "entropy_coef", 0, 1e9));
  RETURN_IF_ERROR(internal::CheckRange(o.kl_loss_coef, "kl_loss_coef", 0, 1e9));
  return internal::CheckRange(o.early_stop_kl, "early_stop_kl", 0, 1e18);
}

double KeptFraction(const at::Tensor& flags, const at::Tensor& keep) {
  return internal::KeptMean(flags.to(at::kDouble), keep).item<double>();
}

}  // namespace

absl::StatusOr<PolicyLossTerms> ClippedPolicyLoss(const at::Tensor& logprobs,
                                                  const at::Tensor& old_logprobs,
                                                  const at::Tensor& advantages,
                                                  const at::Tensor& mask,
                                                  const PolicyLossOptions& options) {
  RETURN_IF_ERROR(internal::CheckFloating(logprobs, "logprobs", 2));
  RETURN_IF_ERROR(internal::CheckLike(old_logprobs, "old_logprobs", logprobs, "logprobs"));
  RETURN_IF_ERROR(internal::CheckLike(advantages, "advantages", logprobs, "logprobs"));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", logprobs, "logprobs"));
  RETURN_IF_ERROR(CheckPolicyOptions(options));
  return internal::GuardTorch("ClippedPolicyLoss", [&]() -> absl::StatusOr<PolicyLossTerms> {
    return PolicyTerms(logprobs, old_logprobs, advantages, internal::MaskBool(mask, logprobs),
                       options);
  });
}

absl::StatusOr<ValueLossTerms> ClippedValueLoss(const at::Tensor& values,
                                                const at::Tensor& old_values,
                                                const at::Tensor& returns,
                                                const at::Tensor& mask, double value_clip) {
  RETURN_IF_ERROR(internal::CheckFloating(values, "values", 2));
  RETURN_IF_ERROR(internal::CheckLike(old_values, "old_values", values, "values"));
  RETURN_IF_ERROR(internal::CheckLike(returns, "returns", values, "values"));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", values, "values"));
  RETURN_IF_ERROR(internal::CheckRange(value_clip, "value_clip", 0, 1e18));
  return internal::GuardTorch("ClippedValueLoss", [&]() -> absl::StatusOr<ValueLossTerms> {
    return ValueTerms(values, old_values, returns, internal::MaskBool(mask, values), value_clip);
  });
}

absl::StatusOr<double> ExplainedVariance(const at::Tensor& values, const at::Tensor& returns,
                                         const at::Tensor& mask) {
  RETURN_IF_ERROR(internal::CheckFloating(values, "values", 2));
  RETURN_IF_ERROR(internal::CheckLike(returns, "returns", values, "values"));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", values, "values"));
  return internal::GuardTorch("ExplainedVariance", [&]() -> absl::StatusOr<double> {
    const at::Tensor keep = internal::MaskBool(mask, values);
    if (internal::KeptCount(keep) < 1) return absl::InvalidArgumentError("mask: no real token");
    return KeptExplainedVariance(values, returns, keep);
  });
}

absl::StatusOr<PpoLossOutput> PpoLoss(const PpoBatch& batch, const PpoLossOptions& options) {
  RETURN_IF_ERROR(CheckPpoBatch(batch, options));
  return internal::GuardTorch("PpoLoss", [&]() -> absl::StatusOr<PpoLossOutput> {
    const at::Tensor keep = internal::MaskBool(batch.mask, batch.logprobs);
    if (internal::KeptCount(keep) < 1) return absl::InvalidArgumentError("mask: no real token");
    const Aggregation agg = options.aggregation;
    const double norm = batch.normalizer;
    PpoLossOutput out;
    PpoStats& stats = out.stats;

    const PolicyLossTerms policy = PolicyTerms(batch.logprobs, batch.old_logprobs,
                                               batch.advantages, keep, options.policy);
    ASSIGN_OR_RETURN(at::Tensor loss, internal::KeptAggregate(policy.loss, keep, agg, norm));
    stats.policy_loss = loss.item<double>();

    if (batch.values.defined()) {
      const ValueLossTerms value = ValueTerms(batch.values, batch.old_values, batch.returns,
                                              keep, options.value_clip);
      ASSIGN_OR_RETURN(const at::Tensor value_loss,
                       internal::KeptAggregate(value.loss, keep, agg, norm));
      loss = loss + options.value_coef * value_loss;
      stats.value_loss = value_loss.item<double>();
      stats.value_clip_fraction = KeptFraction(value.clipped, keep);
      stats.explained_variance = KeptExplainedVariance(batch.values, batch.returns, keep);
    }
    if (batch.entropy.defined()) {
      ASSIGN_OR_RETURN(const at::Tensor entropy,
                       internal::KeptAggregate(batch.entropy, keep, agg, norm));
      if (options.entropy_coef > 0) loss = loss - options.entropy_coef * entropy;
      stats.entropy = internal::KeptMean(batch.entropy.detach(), keep).item<double>();
    }
    if (options.kl_loss_coef > 0) {
      ASSIGN_OR_RETURN(const at::Tensor kl,
                       KlLoss(batch.logprobs, batch.ref_logprobs, batch.mask,
                              options.kl_loss_estimator, agg, norm));
      loss = loss + options.kl_loss_coef * kl;
      stats.kl_loss = kl.item<double>();
    }

    // k3 estimate of KL(π_old‖π) from samples of π_old: (ρ − 1) − log ρ.
    const at::Tensor log_ratio = policy.ratio.log();
    stats.approx_kl =
        internal::KeptMean(policy.ratio - 1 - log_ratio, keep).item<double>();
    stats.clip_fraction = KeptFraction(policy.clipped, keep);
    stats.dual_clip_fraction = KeptFraction(policy.dual_clipped, keep);
    stats.ratio_mean = internal::KeptMean(policy.ratio, keep).item<double>();
    stats.ratio_max = policy.ratio.masked_select(keep).max().item<double>();
    stats.early_stop = options.early_stop_kl > 0 && stats.approx_kl > options.early_stop_kl;
    out.loss = loss;
    return out;
  });
}

}  // namespace rein::rl
