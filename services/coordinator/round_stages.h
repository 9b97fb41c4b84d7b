// The calls a round makes besides an RL iteration's: training, saving and restoring the run's
// reward-model learner (role REWARD_LEARNER) or cost-model learner (COST_LEARNER), one rank
// each, and switching every reward replica to a new reward or cost model. Errors name the
// method and the worker, as every stage's do.
#ifndef REIN_SERVICES_COORDINATOR_ROUND_STAGES_H_
#define REIN_SERVICES_COORDINATOR_ROUND_STAGES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "rein/v1/learner.pb.h"
#include "rein/v1/reward.pb.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

// One Train call on the learner of `role` (never retried: an update must not apply twice).
absl::StatusOr<rein::v1::TrainResponse> TrainModelLearnerStage(
    const StageContext& context, rein::v1::Role role, const rein::v1::TrainRequest& request);

// Asks the learner of `role` to write its state into `directory` (atomically).
absl::Status SaveModelLearnerStage(const StageContext& context, rein::v1::Role role,
                                   const std::string& directory);

// Asks the learner of `role` to replace its state with the checkpoint in `directory`.
absl::StatusOr<rein::v1::RestoreResponse> RestoreModelLearnerStage(const StageContext& context,
                                                                   rein::v1::Role role,
                                                                   const std::string& directory);

// Reloads every active reward replica's reward model (or, `cost`, its cost model) with the one
// in `model_dir` as `version`. All of them must succeed (a replica left on the old model would
// score the round with it); returns the model's fingerprint, which every replica must agree on.
absl::StatusOr<std::string> ReloadRewardStage(const StageContext& context,
                                              const std::string& model_dir, uint64_t version,
                                              bool cost = false);

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_ROUND_STAGES_H_
