#include "common/rl/lagrangian.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace rein::rl {
namespace {

absl::Status CheckOptions(const LagrangianOptions& o) {
  if (!std::isfinite(o.cost_limit)) return absl::InvalidArgumentError("cost_limit: not finite");
  if (!(o.initial_lambda > 0) || !std::isfinite(o.initial_lambda)) {
    return absl::InvalidArgumentError("initial_lambda: must be a finite number > 0");
  }
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    return absl::InvalidArgumentError("learning_rate: must be a finite number > 0");
  }
  if (!(o.max_lambda >= 0) || !std::isfinite(o.max_lambda)) {
    return absl::InvalidArgumentError("max_lambda: must be a finite number >= 0 (0 = none)");
  }
  if (o.max_lambda > 0 && o.initial_lambda > o.max_lambda) {
    return absl::InvalidArgumentError(absl::StrCat("initial_lambda: ", o.initial_lambda,
                                                   " is above max_lambda ", o.max_lambda));
  }
  if (o.initial_lambda > kLambdaCeiling || o.max_lambda > kLambdaCeiling) {
    return absl::InvalidArgumentError(
        absl::StrCat("initial_lambda and max_lambda: at most ", kLambdaCeiling));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LagrangeMultiplier> LagrangeMultiplier::Create(const LagrangianOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  return LagrangeMultiplier(options, options.initial_lambda);
}

absl::StatusOr<LagrangeMultiplier> LagrangeMultiplier::Restore(const LagrangianOptions& options,
                                                               double lambda) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  if (!(lambda > 0) || !std::isfinite(lambda)) {
    return absl::InvalidArgumentError("lambda: a checkpointed multiplier must be finite and > 0");
  }
  return LagrangeMultiplier(options, lambda);
}

absl::StatusOr<double> LagrangeMultiplier::Update(double mean_cost) {
  if (!std::isfinite(mean_cost)) return absl::InvalidArgumentError("mean_cost: not finite");
  const double violation = mean_cost - options_.cost_limit;
  // Clamped in log space first: a huge violation cannot overflow exp.
  const double ceiling = options_.max_lambda > 0 ? options_.max_lambda : kLambdaCeiling;
  const double log_lambda =
      std::min(std::log(lambda_) + options_.learning_rate * violation, std::log(ceiling));
  const double lambda = std::min(std::exp(log_lambda), ceiling);
  // exp underflows only after a long run well under the limit; keep λ a positive number.
  lambda_ = std::max(lambda, 1e-12);
  return violation;
}

double LagrangeMultiplier::Shaped(double reward, double cost) const {
  const double shaped = reward - lambda_ * cost;
  return options_.normalize ? shaped / (1.0 + lambda_) : shaped;
}

}  // namespace rein::rl
