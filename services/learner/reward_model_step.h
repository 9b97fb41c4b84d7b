// reward-model mode: preference learning on the reward model held in the policy slot.
//
// A Preference with two responses is a pairwise comparison: Bradley–Terry with its margin, or
// the tie loss when tied_with_next[0] is set. With more responses it is a ranking (best first):
// Plackett–Luce when it has no ties; with ties (which Plackett–Luce cannot model) every pair of
// its responses is a Bradley–Terry comparison, tied pairs with the tie loss, averaged over its
// pairs. An unpaired judgement (one response, approved or flagged) is the binary cross-entropy
// of σ(reward) against its label (rl::BinaryRewardLoss). Every judgement contributes one loss
// term and weighs the same: a step's loss is the sum of its terms over its judgement count, so a
// batch may mix the kinds in any proportion.
//
// Batching: a micro-batch holds whole judgements, up to learner.micro_batch_size responses (at
// least one judgement); an optimizer step takes learner.gradient_accumulation micro-batches.
// One rank only (CheckLearnerOptions refuses reward-model with learner.ranks > 1), so the stats
// are this rank's and nothing here is a collective.
//
// Stats, all before the updates: "loss/preference" (mean loss over every judgement, unpaired
// ones included: what is minimised), "accuracy" (fraction of ordered, untied response pairs the
// model scored in the right order, equal scores counting half; only when the batch has such a
// pair), "loss/unpaired" and "accuracy/unpaired" (mean binary loss over the unpaired judgements,
// and the fraction whose reward has the sign of the label, 0 counting half; only when the batch
// has unpaired judgements), "grad_norm", "learning_rate", "optimizer_steps".
#ifndef REIN_SERVICES_LEARNER_REWARD_MODEL_STEP_H_
#define REIN_SERVICES_LEARNER_REWARD_MODEL_STEP_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_state.h"
#include "services/learner/packed_batch.h"
#include "services/learner/step_outcome.h"

namespace rein::learner {

// One judgement as the step trains on it: the responses (and ties, margin) of `preference`,
// compared with each other, or, when `label` is set, its single response judged on its own.
// Does not own the preference: the caller's batch outlives the step.
struct RewardJudgement {
  const rein::v1::Preference* preference = nullptr;
  // Set: an unpaired judgement, approved (true) or flagged (false).
  std::optional<bool> label;
};

// The judgements of a wire batch: a Preference with `label` set is unpaired (one response,
// binary loss); one without is a comparison of its responses.
std::vector<RewardJudgement> JudgementsOf(const rein::v1::PreferenceBatch& batch);

// INVALID_ARGUMENT naming the judgement ("preferences[i]") for an empty batch; a comparison with
// fewer than two responses, tied_with_next neither empty nor one shorter than the responses, or
// a negative or non-finite margin; an unpaired judgement with other than one response, any
// tied_with_next or a non-zero margin; or a bad sequence (CheckTokens; the prompt is the
// preference's prompt_ids, or the response's own prompt_ids when those are empty).
absl::Status ValidatePreferenceBatch(const std::vector<RewardJudgement>& judgements,
                                     const SequenceLimits& limits);
absl::Status ValidatePreferenceBatch(const rein::v1::PreferenceBatch& batch,
                                     const SequenceLimits& limits);

// Trains on validated judgements.
absl::StatusOr<StepOutcome> RewardModelStep(LearnerState& state,
                                            const std::vector<RewardJudgement>& judgements);
absl::StatusOr<StepOutcome> RewardModelStep(LearnerState& state,
                                            const rein::v1::PreferenceBatch& batch);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_REWARD_MODEL_STEP_H_
