// The one place where a learner's accumulated gradients are finalised and applied. Every step
// function (sft, reward-model, ppo) back-propagates its micro-batches and then calls
// ApplyOptimizerStep once per optimizer step.
//
// Data-parallel ranks: each model's gradients are averaged over the ranks (the state's
// GradientSync) before clipping, so every rank clips and steps identically. Step functions
// therefore scale their losses so that the average is the whole batch's gradient: a loss
// normalised by the batch's global token count N uses N / world_size on each rank. With
// learner.zero_stage 1 the norm and the clipping still cover every parameter; each rank then
// steps the parameters it owns and broadcasts them (OptimizerShard::Step).
#ifndef REIN_SERVICES_LEARNER_OPTIMIZER_STEP_H_
#define REIN_SERVICES_LEARNER_OPTIMIZER_STEP_H_

#include "absl/status/statusor.h"
#include "services/learner/learner_state.h"

namespace rein::learner {

struct OptimizerStepReport {
  double learning_rate = 0;     // the rate this step used
  double policy_grad_norm = 0;  // global L2 norm before clipping
  double critic_grad_norm = 0;  // 0 without a critic
  // A model whose gradient norm was not finite was not updated (its gradients are dropped).
  bool skipped = false;
};

// Finalises the gradients of the policy (and the critic, if there is one), clips each model's to
// learner.max_grad_norm (0: measured, not clipped), sets the schedule's learning rate, steps both
// AdamWs, zeroes the gradients and advances progress().optimizer_steps.
absl::StatusOr<OptimizerStepReport> ApplyOptimizerStep(LearnerState& state);

// Clears every trained model's gradients (e.g. after a failed micro-batch).
void ZeroGradients(LearnerState& state);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_OPTIMIZER_STEP_H_
