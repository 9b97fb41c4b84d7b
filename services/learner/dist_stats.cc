#include "services/learner/dist_stats.h"

#include <ATen/TensorOperators.h>

#include <cmath>
#include <limits>
#include <utility>

#include "common/rl/masked.h"
#include "common/rl/ppo_loss.h"
#include "common/status/status_macros.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

bool Single(dist::Communicator* comm) { return comm == nullptr || comm->world_size() == 1; }

// Σ m, Σ x·m, Σ x²·m over this rank, in double.
std::vector<double> LocalMoments(const at::Tensor& x, const at::Tensor& mask) {
  const at::Tensor xd = x.detach().to(at::kDouble);
  const at::Tensor m = mask.to(at::kDouble);
  return {m.sum().item<double>(), (xd * m).sum().item<double>(),
          (xd.square() * m).sum().item<double>()};
}

}  // namespace

absl::StatusOr<std::vector<double>> GlobalSums(dist::Communicator* comm,
                                               std::vector<double> values) {
  return dist::SumOverRanks(comm, std::move(values));
}

absl::StatusOr<at::Tensor> GlobalWhiten(dist::Communicator* comm, const at::Tensor& x,
                                        const at::Tensor& mask, double eps) {
  if (Single(comm)) {
    rl::WhitenOptions options;
    options.eps = eps;
    return rl::MaskedWhiten(x, mask, options);
  }
  ASSIGN_OR_RETURN(std::vector<double> local,
                   GuardTorch("whiten", [&]() -> absl::StatusOr<std::vector<double>> {
                     return LocalMoments(x, mask);
                   }));
  ASSIGN_OR_RETURN(std::vector<double> sums, GlobalSums(comm, std::move(local)));
  if (sums[0] < 1) return absl::InvalidArgumentError("whiten: no real entry on any rank");
  const double mean = sums[1] / sums[0];
  const double variance = std::max(0.0, sums[2] / sums[0] - mean * mean);
  const double scale = 1.0 / std::sqrt(variance + eps);
  return GuardTorch("whiten", [&]() -> absl::StatusOr<at::Tensor> {
    return ((x - mean) * scale) * mask.to(x.scalar_type());
  });
}

absl::StatusOr<at::Tensor> GlobalNormalizeScores(dist::Communicator* comm,
                                                 rl::RewardNormalizer& normalizer,
                                                 const at::Tensor& scores) {
  if (Single(comm)) return normalizer.Normalize(scores);
  ASSIGN_OR_RETURN(std::vector<double> local,
                   GuardTorch("reward moments", [&]() -> absl::StatusOr<std::vector<double>> {
                     const at::Tensor s = scores.detach().to(at::kDouble);
                     return std::vector<double>{static_cast<double>(s.numel()),
                                                s.sum().item<double>(),
                                                s.square().sum().item<double>()};
                   }));
  ASSIGN_OR_RETURN(std::vector<double> sums, GlobalSums(comm, std::move(local)));
  rl::RunningMoments next = normalizer.moments();
  if (sums[0] > 0) {
    // Chan et al.'s merge of the batch's moments (over every rank) into the running ones.
    const double n_b = sums[0];
    const double mean_b = sums[1] / n_b;
    const double m2_b = std::max(0.0, sums[2] - n_b * mean_b * mean_b);
    const double n_a = static_cast<double>(next.count);
    const double n = n_a + n_b;
    const double delta = mean_b - next.mean;
    next.mean += delta * n_b / n;
    next.m2 += m2_b + delta * delta * n_a * n_b / n;
    next.count += static_cast<int64_t>(n_b);
  }
  RETURN_IF_ERROR(normalizer.Restore(next));
  return normalizer.Apply(scores);
}

absl::StatusOr<double> GlobalExplainedVariance(dist::Communicator* comm, const at::Tensor& values,
                                               const at::Tensor& returns, const at::Tensor& mask) {
  if (Single(comm)) return rl::ExplainedVariance(values, returns, mask);
  ASSIGN_OR_RETURN(std::vector<double> local,
                   GuardTorch("explained variance", [&]() -> absl::StatusOr<std::vector<double>> {
                     std::vector<double> r = LocalMoments(returns, mask);
                     std::vector<double> d = LocalMoments(returns - values, mask);
                     return std::vector<double>{r[0], r[1], r[2], d[1], d[2]};
                   }));
  ASSIGN_OR_RETURN(std::vector<double> s, GlobalSums(comm, std::move(local)));
  if (s[0] < 1) return absl::InvalidArgumentError("mask: no real token on any rank");
  const double var_r = s[2] / s[0] - (s[1] / s[0]) * (s[1] / s[0]);
  const double var_d = s[4] / s[0] - (s[3] / s[0]) * (s[3] / s[0]);
  if (var_r <= 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - var_d / var_r;
}

}  // namespace rein::learner
