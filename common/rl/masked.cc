#include "common/rl/masked.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/where.h>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace internal {

at::Tensor Zeroed(const at::Tensor& x, const at::Tensor& keep) {
  return x.masked_fill(keep.logical_not(), 0);
}

at::Tensor KeptSum(const at::Tensor& x, const at::Tensor& keep) { return Zeroed(x, keep).sum(); }

double KeptCount(const at::Tensor& keep) { return keep.sum().item<double>(); }

at::Tensor KeptMean(const at::Tensor& x, const at::Tensor& keep) {
  return KeptSum(x, keep) / KeptCount(keep);
}

at::Tensor KeptVariance(const at::Tensor& x, const at::Tensor& keep) {
  const at::Tensor mean = KeptMean(x, keep);
  return KeptMean((x - mean).square(), keep);
}

at::Tensor KeptWhiten(const at::Tensor& x, const at::Tensor& keep, const WhitenOptions& options) {
  const at::Tensor mean = KeptMean(x, keep);
  const at::Tensor var = KeptMean((x - mean).square(), keep);
  at::Tensor out = (x - mean) * (var + options.eps).rsqrt();
  if (!options.shift_mean) out = out + mean;
  return Zeroed(out, keep);
}

absl::StatusOr<at::Tensor> KeptAggregate(const at::Tensor& loss, const at::Tensor& keep,
                                         Aggregation aggregation, double normalizer) {
  const at::Tensor zeroed = Zeroed(loss, keep);
  switch (aggregation) {
    case Aggregation::kTokenMean: {
      const double n = normalizer > 0 ? normalizer : KeptCount(keep);
      if (n <= 0) return absl::InvalidArgumentError("mask: no real token to average over");
      return zeroed.sum() / n;
    }
    case Aggregation::kSequenceMean: {
      const at::Tensor lengths = keep.sum(1);
      const at::Tensor per_sequence = zeroed.sum(1) / lengths.clamp_min(1).to(loss.scalar_type());
      const double n = normalizer > 0 ? normalizer : lengths.gt(0).sum().item<double>();
      if (n <= 0) return absl::InvalidArgumentError("mask: no sequence with a real token");
      return per_sequence.sum() / n;
    }
  }
  return absl::InvalidArgumentError("aggregation: unknown value");
}

at::Tensor BroadcastToTokens(const at::Tensor& v, const at::Tensor& keep) {
  return Zeroed(v.unsqueeze(1).expand(keep.sizes()), keep);
}

at::Tensor LastKeptIndex(const at::Tensor& keep) {
  const at::Tensor positions =
      at::arange(keep.size(1), keep.options().dtype(at::kLong)).unsqueeze(0).expand(keep.sizes());
  return positions.masked_fill(keep.logical_not(), -1).amax(1);
}

}  // namespace internal

namespace {

absl::Status CheckValuesAndMask(const at::Tensor& x, const at::Tensor& mask) {
  RETURN_IF_ERROR(internal::CheckFloating(x, "x", -1));
  return internal::CheckMask(mask, "mask", x, "x");
}

}  // namespace

absl::StatusOr<at::Tensor> MaskedMean(const at::Tensor& x, const at::Tensor& mask) {
  RETURN_IF_ERROR(CheckValuesAndMask(x, mask));
  return internal::GuardTorch("MaskedMean", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor keep = internal::MaskBool(mask, x);
    if (internal::KeptCount(keep) < 1) return absl::InvalidArgumentError("mask: no real entry");
    return internal::KeptMean(x, keep);
  });
}

absl::StatusOr<at::Tensor> MaskedVariance(const at::Tensor& x, const at::Tensor& mask,
                                          bool unbiased) {
  RETURN_IF_ERROR(CheckValuesAndMask(x, mask));
  return internal::GuardTorch("MaskedVariance", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor keep = internal::MaskBool(mask, x);
    const double n = internal::KeptCount(keep);
    const double correction = unbiased ? 1.0 : 0.0;
    if (n <= correction) {
      return absl::InvalidArgumentError(
          absl::StrCat("mask: ", n, " real entries are too few for a variance"));
    }
    const at::Tensor mean = internal::KeptMean(x, keep);
    return internal::KeptSum((x - mean).square(), keep) / (n - correction);
  });
}

absl::StatusOr<at::Tensor> MaskedWhiten(const at::Tensor& x, const at::Tensor& mask,
                                        const WhitenOptions& options) {
  RETURN_IF_ERROR(CheckValuesAndMask(x, mask));
  RETURN_IF_ERROR(internal::CheckRange(options.eps, "eps", 0, 1));
  return internal::GuardTorch("MaskedWhiten", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor keep = internal::MaskBool(mask, x);
    if (internal::KeptCount(keep) < 1) return absl::InvalidArgumentError("mask: no real entry");
    return internal::KeptWhiten(x, keep, options);
  });
}

absl::StatusOr<at::Tensor> Aggregate(const at::Tensor& loss, const at::Tensor& mask,
                                     Aggregation aggregation, double normalizer) {
  RETURN_IF_ERROR(internal::CheckFloating(loss, "loss", 2));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", loss, "loss"));
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("Aggregate", [&] {
    return internal::KeptAggregate(loss, internal::MaskBool(mask, loss), aggregation, normalizer);
  });
}

absl::StatusOr<at::Tensor> TokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens) {
  RETURN_IF_ERROR(internal::CheckFloating(logits, "logits", 3));
  RETURN_IF_ERROR(internal::CheckShape(tokens, "tokens", logits.sizes().slice(0, 2)));
  if (tokens.scalar_type() != at::kLong) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens: expected int64, got ", c10::toString(tokens.scalar_type())));
  }
  return internal::GuardTorch("TokenLogProbs", [&]() -> absl::StatusOr<at::Tensor> {
    const int64_t vocab = logits.size(2);
    if (tokens.numel() > 0 && (tokens.min().item<int64_t>() < 0 ||
                               tokens.max().item<int64_t>() >= vocab)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens: ids must lie in [0, ", vocab, ")"));
    }
    return logits.log_softmax(2).gather(2, tokens.unsqueeze(2)).squeeze(2);
  });
}

absl::StatusOr<at::Tensor> TokenEntropy(const at::Tensor& logits) {
  RETURN_IF_ERROR(internal::CheckFloating(logits, "logits", 3));
  return internal::GuardTorch("TokenEntropy", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor logp = logits.log_softmax(2);
    const at::Tensor p = logp.exp();
    // 0·log 0 = 0 (a -inf logit would otherwise give NaN).
    return -(p * logp).masked_fill(p.eq(0), 0).sum(2);
  });
}

absl::StatusOr<at::Tensor> SequenceLogProbs(const at::Tensor& token_logprobs,
                                            const at::Tensor& mask, bool length_normalise) {
  RETURN_IF_ERROR(internal::CheckFloating(token_logprobs, "token_logprobs", 2));
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", token_logprobs, "token_logprobs"));
  return internal::GuardTorch("SequenceLogProbs", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor keep = internal::MaskBool(mask, token_logprobs);
    const at::Tensor sums = internal::Zeroed(token_logprobs, keep).sum(1);
    if (!length_normalise) return sums;
    return sums / keep.sum(1).clamp_min(1).to(token_logprobs.scalar_type());
  });
}

}  // namespace rein::rl
