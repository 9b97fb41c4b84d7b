#include "common/rl/preference.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/masked_ops.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

// Scores far enough below every real one that exp(fill − s) is exactly 0, yet finite, so that
// no -inf − -inf = NaN appears in a forward or backward pass.
constexpr double kFillBelow = 1e4;

absl::Status CheckPairs(const PreferencePairs& pairs) {
  RETURN_IF_ERROR(internal::CheckFloating(pairs.chosen, "chosen", 1));
  RETURN_IF_ERROR(internal::CheckLike(pairs.rejected, "rejected", pairs.chosen, "chosen"));
  if (pairs.margin.defined()) {
    RETURN_IF_ERROR(internal::CheckLike(pairs.margin, "margin", pairs.chosen, "chosen"));
  }
  if (pairs.tie.defined()) {
    RETURN_IF_ERROR(internal::CheckMask(pairs.tie, "tie", pairs.chosen, "chosen"));
  }
  return absl::OkStatus();
}

// scores [N, K] floating and valid (optional) like it; returns the bool valid mask.
absl::StatusOr<at::Tensor> CheckList(const at::Tensor& scores, const at::Tensor& valid) {
  RETURN_IF_ERROR(internal::CheckFloating(scores, "scores", 2));
  if (!valid.defined()) return at::ones(scores.sizes(), scores.options().dtype(at::kBool));
  RETURN_IF_ERROR(internal::CheckMask(valid, "valid", scores, "scores"));
  return internal::MaskBool(valid, scores);
}

// Per-pair BT loss: −log σ(d − m), or for ties −½[log σ(d) + log σ(−d)]. [N].
at::Tensor PairLosses(const PreferencePairs& pairs, bool use_margin) {
  const at::Tensor d = pairs.chosen - pairs.rejected;
  at::Tensor shifted = d;
  if (use_margin && pairs.margin.defined()) shifted = d - pairs.margin.detach().to(d.dtype());
  at::Tensor loss = -at::log_sigmoid(shifted);
  if (pairs.tie.defined()) {
    const at::Tensor tie_loss = -0.5 * (at::log_sigmoid(d) + at::log_sigmoid(-d));
    loss = at::where(internal::MaskBool(pairs.tie, d), tie_loss, loss);
  }
  return loss;
}

absl::StatusOr<at::Tensor> Normalised(const at::Tensor& total, double count, double normalizer,
                                      absl::string_view what) {
  const double n = normalizer > 0 ? normalizer : count;
  if (n <= 0) return absl::InvalidArgumentError(absl::StrCat("no ", what, " to average over"));
  return total / n;
}

}  // namespace

absl::StatusOr<at::Tensor> BradleyTerryLoss(const PreferencePairs& pairs, double normalizer) {
  RETURN_IF_ERROR(CheckPairs(pairs));
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("BradleyTerryLoss", [&]() -> absl::StatusOr<at::Tensor> {
    return Normalised(PairLosses(pairs, /*use_margin=*/true).sum(),
                      static_cast<double>(pairs.chosen.size(0)), normalizer, "pair");
  });
}

absl::StatusOr<at::Tensor> PlackettLuceLoss(const at::Tensor& scores, const at::Tensor& valid,
                                            double normalizer) {
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("PlackettLuceLoss", [&]() -> absl::StatusOr<at::Tensor> {
    ASSIGN_OR_RETURN(const at::Tensor keep, CheckList(scores, valid));
    const at::Tensor s = internal::Zeroed(scores, keep);
    const at::Tensor fill = s.detach().masked_fill(keep.logical_not(), 0).min() - kFillBelow;
    const at::Tensor x = at::where(keep, s, fill);
    // log Σ_{j >= k} exp(x_j): a reversed cumulative log-sum-exp.
    const at::Tensor tail_lse = x.flip({1}).logcumsumexp(1).flip({1});
    const at::Tensor terms = internal::Zeroed(s - tail_lse, keep);
    const at::Tensor lists = keep.sum(1).ge(2);
    return Normalised(-terms.sum(1).masked_fill(lists.logical_not(), 0).sum(),
                      lists.sum().item<double>(), normalizer, "list with two items");
  });
}

absl::StatusOr<at::Tensor> AllPairsBradleyTerryLoss(const at::Tensor& scores,
                                                    const at::Tensor& valid, double normalizer) {
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("AllPairsBradleyTerryLoss", [&]() -> absl::StatusOr<at::Tensor> {
    ASSIGN_OR_RETURN(const at::Tensor keep, CheckList(scores, valid));
    const int64_t k = scores.size(1);
    const at::Tensor s = internal::Zeroed(scores, keep);
    // d[n, i, j] = s_i − s_j, used for i < j with both valid.
    const at::Tensor d = s.unsqueeze(2) - s.unsqueeze(1);
    const at::Tensor upper = at::ones({k, k}, keep.options()).triu(1);
    const at::Tensor pair_keep =
        keep.unsqueeze(2).logical_and(keep.unsqueeze(1)).logical_and(upper.unsqueeze(0));
    const at::Tensor losses = internal::Zeroed(-at::log_sigmoid(d), pair_keep);
    return Normalised(losses.sum(), pair_keep.sum().item<double>(), normalizer, "valid pair");
  });
}

absl::StatusOr<at::Tensor> BinaryRewardLoss(const at::Tensor& scores, const at::Tensor& labels,
                                            double normalizer) {
  RETURN_IF_ERROR(internal::CheckFloating(scores, "scores", 1));
  RETURN_IF_ERROR(internal::CheckMask(labels, "labels", scores, "scores"));
  RETURN_IF_ERROR(internal::CheckRange(normalizer, "normalizer", 0, 1e18));
  return internal::GuardTorch("BinaryRewardLoss", [&]() -> absl::StatusOr<at::Tensor> {
    // −log σ(r) for approved responses, −log σ(−r) for flagged ones.
    const at::Tensor approved = internal::MaskBool(labels, scores);
    const at::Tensor losses = -at::log_sigmoid(at::where(approved, scores, -scores));
    return Normalised(losses.sum(), static_cast<double>(scores.size(0)), normalizer,
                      "unpaired response");
  });
}

absl::StatusOr<RatingPairs> RatingsToPairs(const at::Tensor& ratings, const at::Tensor& valid,
                                           const RatingPairOptions& options) {
  RETURN_IF_ERROR(internal::CheckRange(options.tie_threshold, "tie_threshold", 0, 1e18));
  RETURN_IF_ERROR(internal::CheckRange(options.margin_scale, "margin_scale", 0, 1e18));
  return internal::GuardTorch("RatingsToPairs", [&]() -> absl::StatusOr<RatingPairs> {
    ASSIGN_OR_RETURN(const at::Tensor keep_any, CheckList(ratings, valid));
    const at::Tensor r = ratings.detach().to(at::kCPU, at::kDouble).contiguous();
    const at::Tensor keep = keep_any.to(at::kCPU).contiguous();
    if (!r.masked_select(keep).isfinite().all().item<bool>()) {
      return absl::InvalidArgumentError("ratings: every valid rating must be finite");
    }
    const int64_t n = r.size(0);
    const int64_t k = r.size(1);
    const double* rp = r.data_ptr<double>();
    const bool* kp = keep.data_ptr<bool>();
    std::vector<int64_t> chosen, rejected;
    std::vector<double> margin;
    std::vector<uint8_t> tie;
    for (int64_t row = 0; row < n; ++row) {
      for (int64_t i = 0; i < k; ++i) {
        for (int64_t j = i + 1; j < k; ++j) {
          const int64_t a = row * k + i;
          const int64_t b = row * k + j;
          if (!kp[a] || !kp[b]) continue;
          const double gap = rp[a] - rp[b];
          const bool is_tie = std::abs(gap) <= options.tie_threshold;
          if (is_tie && !options.keep_ties) continue;
          const bool a_wins = is_tie || gap > 0;
          chosen.push_back(a_wins ? a : b);
          rejected.push_back(a_wins ? b : a);
          margin.push_back(is_tie ? 0.0 : options.margin_scale * std::abs(gap));
          tie.push_back(is_tie ? 1 : 0);
        }
      }
    }
    RatingPairs out;
    out.chosen_index = at::tensor(chosen, at::kLong);
    out.rejected_index = at::tensor(rejected, at::kLong);
    out.margin = at::tensor(margin, at::kDouble);
    out.tie = at::tensor(tie, at::kByte).to(at::kBool);
    return out;
  });
}

absl::StatusOr<PreferenceStats> ComputePreferenceStats(const PreferencePairs& pairs,
                                                       int num_bins) {
  RETURN_IF_ERROR(CheckPairs(pairs));
  if (num_bins < 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_bins: must be >= 1, got ", num_bins));
  }
  return internal::GuardTorch("ComputePreferenceStats", [&]() -> absl::StatusOr<PreferenceStats> {
    at::NoGradGuard no_grad;
    PreferenceStats stats;
    const int64_t n = pairs.chosen.size(0);
    stats.pairs = n;
    if (n == 0) return stats;
    const at::Tensor d =
        (pairs.chosen - pairs.rejected).detach().to(at::kCPU, at::kDouble).contiguous();
    const at::Tensor tie =
        pairs.tie.defined() ? pairs.tie.to(at::kCPU, at::kBool).contiguous()
                            : at::zeros_like(d, d.options().dtype(at::kBool));
    stats.log_loss = PairLosses({pairs.chosen.detach(), pairs.rejected.detach(), {}, pairs.tie},
                                /*use_margin=*/false)
                         .mean()
                         .item<double>();
    const double* dp = d.data_ptr<double>();
    const bool* tp = tie.data_ptr<bool>();
    stats.bins.resize(static_cast<size_t>(num_bins));
    const double width = 0.5 / num_bins;
    for (int b = 0; b < num_bins; ++b) {
      stats.bins[b].lower = 0.5 + b * width;
      stats.bins[b].upper = 0.5 + (b + 1) * width;
    }
    int64_t decided = 0;
    double correct_sum = 0, gap_sum = 0, brier_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double p = 1.0 / (1.0 + std::exp(-dp[i]));
      if (tp[i]) {
        ++stats.ties;
        brier_sum += (p - 0.5) * (p - 0.5);
        continue;
      }
      ++decided;
      brier_sum += (1.0 - p) * (1.0 - p);
      gap_sum += dp[i];
      const double correct = p > 0.5 ? 1.0 : (p == 0.5 ? 0.5 : 0.0);
      correct_sum += correct;
      const double confidence = std::max(p, 1.0 - p);
      const int bin = std::min(num_bins - 1, static_cast<int>((confidence - 0.5) / width));
      CalibrationBin& cb = stats.bins[bin];
      ++cb.count;
      cb.mean_confidence += confidence;
      cb.accuracy += correct;
    }
    stats.brier = brier_sum / static_cast<double>(n);
    if (decided == 0) return stats;
    stats.accuracy = correct_sum / static_cast<double>(decided);
    stats.mean_gap = gap_sum / static_cast<double>(decided);
    for (CalibrationBin& cb : stats.bins) {
      if (cb.count == 0) continue;
      cb.mean_confidence /= static_cast<double>(cb.count);
      cb.accuracy /= static_cast<double>(cb.count);
      stats.ece += static_cast<double>(cb.count) / static_cast<double>(decided) *
                   std::abs(cb.accuracy - cb.mean_confidence);
    }
    return stats;
  });
}

}  // namespace rein::rl
