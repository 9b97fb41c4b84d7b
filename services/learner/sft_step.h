// sft mode: supervised fine-tuning on response tokens (prompt tokens are masked out of the loss).
//
// One Train: the batch is split into optimizer steps of learner.micro_batch_size x
// learner.gradient_accumulation examples; each step back-propagates its micro-batches with the
// step's token count as the normaliser (so the accumulated gradient is the token-mean loss of
// the whole step), then clips and applies AdamW at the schedule's learning rate.
//
// Stats: "loss/sft" (token-mean NLL over the batch, before the updates), "grad_norm" (mean over
// the steps), "learning_rate", "optimizer_steps".
#ifndef REIN_SERVICES_LEARNER_SFT_STEP_H_
#define REIN_SERVICES_LEARNER_SFT_STEP_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_state.h"
#include "services/learner/packed_batch.h"
#include "services/learner/step_outcome.h"

namespace rein::learner {

// INVALID_ARGUMENT naming the example for an empty batch or a bad sequence (CheckSequence).
absl::Status ValidateSftBatch(const rein::v1::SftBatch& batch, const SequenceLimits& limits);

// Trains on a validated batch.
absl::StatusOr<StepOutcome> SftStep(LearnerState& state, const rein::v1::SftBatch& batch);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_SFT_STEP_H_
