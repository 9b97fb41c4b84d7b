// Statistics a data-parallel learner must compute over the whole batch, not its rank's slice:
// sums over ranks, whitening with global moments, the reward normaliser's moments. On a single
// rank (no communicator) each is the plain local computation.
//
// Every function here is a collective: all ranks call it, in the same order.
#ifndef REIN_SERVICES_LEARNER_DIST_STATS_H_
#define REIN_SERVICES_LEARNER_DIST_STATS_H_

#include <ATen/core/Tensor.h>

#include <vector>

#include "absl/status/statusor.h"
#include "common/dist/communicator.h"
#include "common/rl/advantages.h"

namespace rein::learner {

// Σ over ranks of each value.
absl::StatusOr<std::vector<double>> GlobalSums(dist::Communicator* comm,
                                               std::vector<double> values);

// (x − μ) / sqrt(σ² + eps) where mask is 1, 0 elsewhere, μ and σ² (population) over every
// real entry of every rank (rl::MaskedWhiten on one rank). INVALID_ARGUMENT if no rank has a
// real entry.
absl::StatusOr<at::Tensor> GlobalWhiten(dist::Communicator* comm, const at::Tensor& x,
                                        const at::Tensor& mask, double eps = 1e-8);

// Merges every rank's scores [B] into the normaliser's running moments and returns this rank's
// scores normalised and clipped (rl::RewardNormalizer::Normalize on one rank).
absl::StatusOr<at::Tensor> GlobalNormalizeScores(dist::Communicator* comm,
                                                 rl::RewardNormalizer& normalizer,
                                                 const at::Tensor& scores);

// 1 − Var(returns − values) / Var(returns) over every real token of every rank; NaN when the
// returns do not vary (rl::ExplainedVariance on one rank).
absl::StatusOr<double> GlobalExplainedVariance(dist::Communicator* comm, const at::Tensor& values,
                                               const at::Tensor& returns, const at::Tensor& mask);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_DIST_STATS_H_
