// A checkpoint of the whole run, as one folder:
//   <dir>/coordinator.json   iteration, dataset cursor, KL coefficient, live hyper-parameters,
//                            policy version, seed, mode, and with rounds the reward model
//                            in use (this file)
//   <dir>/learner/           learner rank 0's state (policy, critic, optimiser, schedule, RNG,
//                            step), written by Learner.SaveCheckpoint; <dir>/learner/policy is
//                            the policy as a Hugging Face folder (the export).
// The folder is built under a temporary sibling name, fsynced and renamed into place, so
// `<dir>` appears whole or not at all. The coordinator and learner rank 0 must share the file
// system (one host, or a shared mount on a cluster).
//
// Sampling needs no RNG state: every prompt's seed is derived from (run seed, iteration,
// position), so restoring the iteration and the dataset cursor reproduces the samples.
#ifndef REIN_SERVICES_COORDINATOR_RUN_CHECKPOINT_H_
#define REIN_SERVICES_COORDINATOR_RUN_CHECKPOINT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/files/run_folder.h"
#include "rein/v1/coordinator.pb.h"

namespace rein::coordinator {

// Runs with rounds: the reward model of the latest round that trained one.
struct RoundCheckpoint {
  uint32_t round = 0;  // 1-based
  uint64_t reward_model_version = 0;
  std::string reward_model_dir;    // the reward replicas reload it on resume
  std::string reward_learner_dir;  // the reward-model learner restores it before the next round
  std::optional<double> reward_model_accuracy;  // on the round's held-out preferences
  // The cost model trained from flags (rounds.cost_model): the round that last trained one
  // (0 = none yet), its folder (reloaded as cost model version cost_round) and its learner's.
  uint32_t cost_round = 0;
  std::string cost_model_dir;
  std::string cost_learner_dir;
  bool operator==(const RoundCheckpoint&) const = default;
};

struct CoordinatorState {
  uint64_t iteration = 0;       // iterations completed
  uint64_t dataset_cursor = 0;  // examples or prompts handed out
  double kl_coef = 0;
  double learning_rate = 0;
  uint64_t policy_version = 0;
  uint64_t seed = 0;
  std::string mode;  // learner.mode; resuming under another mode is refused
  // The Lagrange multiplier of safety.mode constraint (absent otherwise, and in checkpoints
  // written before it existed).
  std::optional<double> safety_lambda;
  // Runs with rounds, once round 1 has trained its reward model.
  std::optional<RoundCheckpoint> rounds;
};

// Written last (atomically): a folder holding it is a complete run checkpoint, the only kind of
// existing folder WriteRunCheckpoint replaces.
using files::kRunCheckpointMarker;

// The learner's part of the checkpoint, written into the given folder.
using SaveLearner = std::function<absl::Status(const std::string& learner_dir)>;

// Writes the checkpoint folder `directory` (replacing an older checkpoint of the same name; any
// other existing folder is FAILED_PRECONDITION and left alone).
absl::Status WriteRunCheckpoint(const std::string& directory, const CoordinatorState& state,
                                const SaveLearner& save_learner);

// Reads `directory`/coordinator.json. NOT_FOUND naming the file when it is missing (not a
// checkpoint folder); INVALID_ARGUMENT naming the key for malformed content.
absl::StatusOr<CoordinatorState> ReadRunCheckpoint(const std::string& directory);

// Where a checkpoint's learner state lives: `directory`/learner.
std::string LearnerCheckpointDir(const std::string& directory);

// The run's last RunStatus, written (atomically, as protobuf JSON) to <run_dir>/status.json
// when the run ends, so that `reinctl status --run` can tell how a run ended after its
// coordinator has exited.
inline constexpr char kFinalStatusFile[] = "status.json";
absl::Status WriteFinalStatus(const std::string& run_dir, const rein::v1::RunStatus& status);

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_RUN_CHECKPOINT_H_
