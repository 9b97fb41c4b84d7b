// dpo, ipo and kto modes: the policy learns straight from judgements, held to the reference by
// the reference log-probs that arrive with each example (the coordinator asks the reference
// service for them), so the learner holds no second model.
//
//   dpo: −log σ(β·h), h = (π_c − ref_c) − (π_r − ref_r) over summed response log-probs, with
//        dpo.label_smoothing as conservative DPO (rl::DpoLoss);
//   ipo: (h − 1/(2τ))², τ = dpo.beta, over length-normalised (per-token mean) log-probs, as
//        IPO's authors and TRL compute it (rl::IpoLoss);
//   kto: each completion desirable or not, against the KL reference point z0 estimated from
//        the batch's mismatched pairs (rl::KtoLoss). z0 is estimated once per Train over every
//        rank's examples, before any update, and held fixed through the steps.
//
// Batching: a micro-batch holds learner.micro_batch_size sequences (so half as many pairs for
// dpo and ipo, at least one); an optimizer step takes learner.gradient_accumulation
// micro-batches; each step's loss is the mean over its examples on every rank, as in sft.
//
// Stats: "loss/dpo" | "loss/ipo" | "loss/kto" (mean over the batch as it was trained);
// dpo/ipo: "rewards/accuracy", "rewards/chosen", "rewards/rejected", "rewards/margin" (the
// implicit rewards β·(π − ref)); kto: "kto/z0", "rewards/desirable", "rewards/undesirable";
// and "grad_norm", "learning_rate", "optimizer_steps".
#ifndef REIN_SERVICES_LEARNER_OFFLINE_PREFERENCE_STEP_H_
#define REIN_SERVICES_LEARNER_OFFLINE_PREFERENCE_STEP_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config/config_enums.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_state.h"
#include "services/learner/packed_batch.h"
#include "services/learner/step_outcome.h"

namespace rein::learner {

// INVALID_ARGUMENT naming the example ("offline_preferences.examples[i]") for an empty batch,
// the wrong number of responses for the mode (dpo/ipo: 2, kto: 1), reference log-probs that
// are not one finite value per response, a kto example without its mismatched pair, or a bad
// sequence (CheckSequence).
absl::Status ValidateOfflinePreferenceBatch(config::LearnerMode mode,
                                            const rein::v1::OfflinePreferenceBatch& batch,
                                            const SequenceLimits& limits);

// Trains on a validated batch in the state's mode.
absl::StatusOr<StepOutcome> OfflinePreferenceStep(LearnerState& state,
                                                  const rein::v1::OfflinePreferenceBatch& batch);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_OFFLINE_PREFERENCE_STEP_H_
