// How the cost of each response (the cost model's score, from the reward service) enters the
// reward PPO trains on, as the safety: section says:
//   off:        the cost is reported, never trained on;
//   penalty:    reward − cost_coef · cost;
//   constraint: keep E[cost] <= cost_limit with a Lagrange multiplier λ (rl::LagrangeMultiplier,
//               Safe RLHF): the batch trains on (reward − λ·cost)/(1 + λ), then λ takes one
//               step from the batch's mean cost. λ is in the run checkpoint.
// Stats: "cost/mean" (whenever the samples have costs), "reward/unshaped_mean" and
// "safety/lambda" (the weight the batch trained with) when shaping, and "safety/violation"
// (mean cost − cost_limit) and "safety/lambda_next" in constraint mode.
//
// Thread safety: not thread safe; one per run, used by the iteration loop.
#ifndef REIN_SERVICES_COORDINATOR_SAFETY_H_
#define REIN_SERVICES_COORDINATOR_SAFETY_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/rl/lagrangian.h"
#include "rein/v1/common.pb.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

class CostShaper {
 public:
  // `restored_lambda`: the multiplier from a checkpoint (constraint mode). INVALID_ARGUMENT
  // for bad multiplier options.
  static absl::StatusOr<CostShaper> Create(const config::SafetyConfig& config,
                                           std::optional<double> restored_lambda = std::nullopt);

  // Shapes every sample's reward in place and adds the stats above; in constraint mode also
  // updates λ. FAILED_PRECONDITION when shaping and a sample has no cost (the reward service
  // runs without model.cost_model).
  absl::Status Apply(std::vector<Sample>& samples, rein::v1::Stats& stats);

  // The multiplier for the checkpoint (constraint mode), else nullopt.
  std::optional<double> lambda() const;

 private:
  CostShaper(const config::SafetyConfig& config, std::optional<rl::LagrangeMultiplier> multiplier)
      : config_(config), multiplier_(std::move(multiplier)) {}

  config::SafetyConfig config_;
  std::optional<rl::LagrangeMultiplier> multiplier_;  // constraint mode only
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_SAFETY_H_
