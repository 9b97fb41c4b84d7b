// The Lagrange multiplier of a cost constraint on the policy, as in Safe RLHF (Dai et al.,
// 2023; PKU-Alignment/safe-rlhf): maximise E[reward] subject to E[cost] <= cost_limit by
// training on the shaped reward (reward − λ·cost) / (1 + λ) while λ rises when the constraint
// is violated and falls when it holds. λ = exp(log λ) stays positive; each iteration moves
// log λ along the ascent direction of λ·(E[cost] − cost_limit) by a step that does not grow
// with λ:
//   log λ ← log λ + learning_rate · (mean_cost − cost_limit),   then λ ≤ max_lambda (or 1e6),
// i.e. λ is multiplied by exp(learning_rate · violation). Safe RLHF takes an Adam step on the
// same objective, and Adam too keeps the step in log λ near learning_rate whatever λ is; plain
// gradient ascent (the step times λ) grows λ double-exponentially under a lasting violation
// (λ passed 1e167 within 30 iterations of the quickstart, and the shaped rewards became NaN).
// Plain arithmetic, no LibTorch. The state (λ) belongs in the run's checkpoint: Restore() puts
// it back so that a resumed run continues with the same multiplier.
//
// Thread safety: not thread safe; one per run, updated by the coordinator's iteration loop.
#ifndef REIN_COMMON_RL_LAGRANGIAN_H_
#define REIN_COMMON_RL_LAGRANGIAN_H_

#include "absl/status/statusor.h"

namespace rein::rl {

struct LagrangianOptions {
  // The bound on the mean cost per response. Default 0 (no expected cost).
  double cost_limit = 0.0;
  // λ before the first update, > 0. Default 1.
  double initial_lambda = 1.0;
  // Step size of the update of log λ, > 0. Default 0.05.
  double learning_rate = 0.05;
  // Upper bound on λ; 0 = kLambdaCeiling. Default 0.
  double max_lambda = 0.0;
  // Divide the shaped reward by (1 + λ) so its scale stays that of the reward (Safe RLHF does).
  // Default true.
  bool normalize = true;
};

// The bound on λ when max_lambda is 0: the shaped reward stays a finite number.
inline constexpr double kLambdaCeiling = 1e6;

class LagrangeMultiplier {
 public:
  // INVALID_ARGUMENT naming the option for a non-finite limit, λ or rate <= 0, a negative
  // max_lambda, or initial_lambda above max_lambda.
  static absl::StatusOr<LagrangeMultiplier> Create(const LagrangianOptions& options);
  // Create with λ taken from a checkpoint (> 0, finite).
  static absl::StatusOr<LagrangeMultiplier> Restore(const LagrangianOptions& options,
                                                    double lambda);

  double lambda() const { return lambda_; }

  // One iteration's update from the mean cost of its responses; returns the violation
  // (mean_cost − cost_limit, positive = over the limit). INVALID_ARGUMENT for a non-finite cost,
  // leaving λ unchanged.
  absl::StatusOr<double> Update(double mean_cost);

  // The reward PPO trains on: (reward − λ·cost) / (1 + λ), or reward − λ·cost unnormalised.
  double Shaped(double reward, double cost) const;

 private:
  LagrangeMultiplier(const LagrangianOptions& options, double lambda)
      : options_(options), lambda_(lambda) {}
  LagrangianOptions options_;
  double lambda_;
};

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_LAGRANGIAN_H_
