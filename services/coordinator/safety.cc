#include "services/coordinator/safety.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::coordinator {
absl::StatusOr<CostShaper> CostShaper::Create(const config::SafetyConfig& config,
                                              std::optional<double> restored_lambda) {
  std::optional<rl::LagrangeMultiplier> multiplier;
  if (config.mode == config::SafetyMode::kConstraint) {
    const rl::LagrangianOptions options{.cost_limit = config.cost_limit,
                                        .initial_lambda = config.lambda_init,
                                        .learning_rate = config.lambda_lr,
                                        .max_lambda = config.lambda_max,
                                        .normalize = true};
    if (restored_lambda.has_value()) {
      ASSIGN_OR_RETURN(multiplier, rl::LagrangeMultiplier::Restore(options, *restored_lambda));
    } else {
      ASSIGN_OR_RETURN(multiplier, rl::LagrangeMultiplier::Create(options));
    }
  }
  return CostShaper(config, std::move(multiplier));
}

absl::Status CostShaper::Apply(std::vector<Sample>& samples, rein::v1::Stats& stats) {
  if (samples.empty()) return absl::OkStatus();
  double cost_sum = 0, reward_sum = 0;
  size_t with_cost = 0;
  for (const Sample& s : samples) {
    reward_sum += s.reward;
    if (s.cost.has_value()) {
      cost_sum += *s.cost;
      ++with_cost;
    }
  }
  const double n = static_cast<double>(samples.size());
  if (with_cost == samples.size()) SetStat(stats, "cost/mean", cost_sum / n);
  if (config_.mode == config::SafetyMode::kOff) return absl::OkStatus();
  if (with_cost != samples.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "safety.mode ", config::EnumName(config_.mode), ": ", samples.size() - with_cost, " of ",
        samples.size(), " samples came back without a cost; does every reward replica load "
        "model.cost_model?"));
  }
  SetStat(stats, "reward/unshaped_mean", reward_sum / n);
  if (multiplier_.has_value()) {
    SetStat(stats, "safety/lambda", multiplier_->lambda());
    for (Sample& s : samples) {
      s.reward = static_cast<float>(multiplier_->Shaped(s.reward, *s.cost));
    }
    ASSIGN_OR_RETURN(const double violation, multiplier_->Update(cost_sum / n));
    SetStat(stats, "safety/violation", violation);
    SetStat(stats, "safety/lambda_next", multiplier_->lambda());
  } else {
    SetStat(stats, "safety/lambda", config_.cost_coef);
    for (Sample& s : samples) {
      s.reward = static_cast<float>(s.reward - config_.cost_coef * *s.cost);
    }
  }
  return absl::OkStatus();
}

std::optional<double> CostShaper::lambda() const {
  if (!multiplier_.has_value()) return std::nullopt;
  return multiplier_->lambda();
}

}  // namespace rein::coordinator
