// A learner checkpoint: one folder that appears whole or not at all.
//
//   DIR/policy/                 HF folder (config.json, model.safetensors, and tokenizer.json /
//                               tokenizer_config.json copied from model.policy when present):
//                               the policy, loadable by CausalLM::Load and rein-rollout; in
//                               reward-model mode the reward model (ForSequenceClassification)
//   DIR/critic/                 HF folder of the critic (ppo only)
//   DIR/optimizer.safetensors   AdamW state: "<model>/<i>/exp_avg", "<model>/<i>/exp_avg_sq" and
//                               "<model>/<i>/step" (int64) for parameter i of
//                               AdamW::parameters(), model "policy" or "critic"; the whole
//                               state, whatever learner.zero_stage the writer ran with
//   DIR/manifest.json           format_version, mode, step (policy optimizer steps = schedule
//                               position), policy_version, last_iteration, peak_learning_rate,
//                               kl_coef, schedule, rng_state, reward_normalizer moments
//
// Writing goes to a fresh sibling DIR.tmp-XXXXXXXX, every file and folder fsync'd, then renamed
// into place (an existing DIR is swapped out and removed afterwards). Restoring gives a state
// that continues training exactly as the saved one would (bit-identical on CPU).
#ifndef REIN_SERVICES_LEARNER_CHECKPOINT_IO_H_
#define REIN_SERVICES_LEARNER_CHECKPOINT_IO_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/learner/learner_options.h"
#include "services/learner/learner_state.h"

namespace rein::learner {

inline constexpr int kCheckpointFormatVersion = 1;
// Written last (atomically): a folder holding it is a complete learner checkpoint, the only
// kind of existing folder SaveLearnerCheckpoint replaces.
inline constexpr char kLearnerCheckpointMarker[] = "manifest.json";

// Writes `state` to `dir` atomically (see above). An existing `dir` is replaced only when it is
// a learner checkpoint (FAILED_PRECONDITION otherwise, and it is left alone). Reads the state only
// (the optimisers are reached through non-const accessors). I/O errors name the path; nothing is
// left under `dir` on failure.
// With sharded optimizers (learner.zero_stage 1 on R > 1 ranks) a collective: every rank calls
// it, each sends the state of its parameters, rank 0 writes the whole of it (the same file as
// without sharding) and the other ranks write nothing (they ignore `dir`).
absl::Status SaveLearnerCheckpoint(LearnerState& state, const std::string& dir);

// A state restored from `dir` with `options` (its mode must match the checkpoint's; learning
// rate, schedule and ppo settings come from `options`, progress from the checkpoint). It holds
// the whole optimizer state, however the checkpoint was written; LearnerState::JoinGroup with
// learner.zero_stage 1 then keeps this rank's part.
// NOT_FOUND for a missing manifest or model folder; INVALID_ARGUMENT for a checkpoint of
// another mode or format, or optimizer state that does not fit the models.
absl::StatusOr<std::unique_ptr<LearnerState>> LoadLearnerCheckpoint(const std::string& dir,
                                                                    const LearnerOptions& options);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_CHECKPOINT_IO_H_
