// reward-model mode: preference learning on the reward model held in the policy slot.
//
// A Preference with two responses is a pairwise comparison: Bradley–Terry with its margin, or
// the tie loss when tied_with_next[0] is set. With more responses it is a ranking (best first):
// Plackett–Luce when it has no ties; with ties (which Plackett–Luce cannot model) every pair of
// its responses is a Bradley–Terry comparison, tied pairs with the tie loss, averaged over its
// pairs. Every preference weighs the same in the loss.
//
// Batching: a micro-batch holds whole preferences, up to learner.micro_batch_size responses (at
// least one preference); an optimizer step takes learner.gradient_accumulation micro-batches.
//
// Stats: "loss/preference" (mean over preferences, before the updates), "accuracy" (fraction of
// ordered, untied response pairs the model scored in the right order, equal scores counting
// half, before the updates), "grad_norm", "learning_rate", "optimizer_steps".
#ifndef REIN_SERVICES_LEARNER_REWARD_MODEL_STEP_H_
#define REIN_SERVICES_LEARNER_REWARD_MODEL_STEP_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_state.h"
#include "services/learner/packed_batch.h"
#include "services/learner/step_outcome.h"

namespace rein::learner {

// INVALID_ARGUMENT naming the preference for an empty batch, fewer than two responses,
// tied_with_next neither empty nor one shorter than the responses, a negative or non-finite
// margin, or a bad sequence (CheckTokens; the prompt is the preference's prompt_ids, or the
// response's own prompt_ids when those are empty).
absl::Status ValidatePreferenceBatch(const rein::v1::PreferenceBatch& batch,
                                     const SequenceLimits& limits);

// Trains on a validated batch.
absl::StatusOr<StepOutcome> RewardModelStep(LearnerState& state,
                                            const rein::v1::PreferenceBatch& batch);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_REWARD_MODEL_STEP_H_
