#include "services/learner/optimizer_step.h"

#include <cmath>

#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::learner {
namespace {

// ClipGradNorm needs a bound; this one never binds, so it only measures.
constexpr double kNoClip = 1e30;

// Clips and steps one model (with a shard, only the parameters this rank owns, then every
// parameter from its owner). Returns its gradient norm before clipping.
absl::StatusOr<double> StepOne(rl::AdamW& optimizer, dist::GradientSync* sync,
                               OptimizerShard* shard, double max_grad_norm, double lr,
                               bool& skipped) {
  // Data-parallel ranks: the gradients become their average over the ranks (the buckets the
  // last backward started are awaited, the rest all-reduced now), so every rank clips and steps
  // identically.
  if (sync != nullptr) {
    if (absl::Status synced = sync->Finish(); !synced.ok()) {
      optimizer.ZeroGrad();
      return synced;
    }
  }
  ASSIGN_OR_RETURN(double norm, rl::ClipGradNorm(optimizer.parameters(),
                                                 max_grad_norm > 0 ? max_grad_norm : kNoClip));
  if (!std::isfinite(norm)) {
    REIN_LOG(WARNING, "learner") << "gradient norm " << norm << ": optimizer step skipped";
    skipped = true;
  } else {
    optimizer.SetLearningRate(lr);
    RETURN_IF_ERROR(shard != nullptr ? shard->Step() : optimizer.Step());
  }
  optimizer.ZeroGrad();
  return norm;
}

}  // namespace

absl::StatusOr<OptimizerStepReport> ApplyOptimizerStep(LearnerState& state) {
  OptimizerStepReport report;
  const double max_norm = state.options().learner.max_grad_norm;
  report.learning_rate = state.NextLearningRate();
  ASSIGN_OR_RETURN(report.policy_grad_norm,
                   StepOne(state.policy_optimizer(), state.policy_sync(), state.policy_shard(),
                           max_norm, report.learning_rate, report.skipped));
  if (rl::AdamW* critic = state.critic_optimizer(); critic != nullptr) {
    ASSIGN_OR_RETURN(report.critic_grad_norm,
                     StepOne(*critic, state.critic_sync(), state.critic_shard(), max_norm,
                             report.learning_rate, report.skipped));
  }
  ++state.progress().optimizer_steps;
  return report;
}

void ZeroGradients(LearnerState& state) {
  if (dist::GradientSync* sync = state.policy_sync(); sync != nullptr) sync->Reset();
  if (dist::GradientSync* sync = state.critic_sync(); sync != nullptr) sync->Reset();
  state.policy_optimizer().ZeroGrad();
  if (rl::AdamW* critic = state.critic_optimizer(); critic != nullptr) critic->ZeroGrad();
}

}  // namespace rein::learner
