// The calls a round makes besides an RL iteration's: training, saving and restoring the run's
// reward-model learner (role REWARD_LEARNER, one rank) and switching every reward replica to a
// new reward model. Errors name the method and the worker, as every stage's do.
#ifndef REIN_SERVICES_COORDINATOR_ROUND_STAGES_H_
#define REIN_SERVICES_COORDINATOR_ROUND_STAGES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "rein/v1/learner.pb.h"
#include "rein/v1/reward.pb.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

// One Train call on the reward-model learner (never retried: an update must not apply twice).
absl::StatusOr<rein::v1::TrainResponse> TrainRewardLearnerStage(
    const StageContext& context, const rein::v1::TrainRequest& request);

// Asks the reward-model learner to write its state into `directory` (atomically).
absl::Status SaveRewardLearnerStage(const StageContext& context, const std::string& directory);

// Asks the reward-model learner to replace its state with the checkpoint in `directory`.
absl::StatusOr<rein::v1::RestoreResponse> RestoreRewardLearnerStage(const StageContext& context,
                                                                    const std::string& directory);

// Reloads every active reward replica with the model in `model_dir` as `version`. All of them
// must succeed (a replica left on the old model would score the round with it); returns the
// model's fingerprint, which every replica must agree on.
absl::StatusOr<std::string> ReloadRewardStage(const StageContext& context,
                                              const std::string& model_dir, uint64_t version);

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_ROUND_STAGES_H_
