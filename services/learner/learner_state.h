// Everything a learner rank changes as it trains: the policy (or, in reward-model mode, the
// reward model being trained), the critic (ppo only), one AdamW per trained model, the
// learning-rate schedule and its position, the policy version, the last trained iteration, the
// KL coefficient and learning rate last set by the coordinator, the reward normaliser's running
// moments and the mini-batch shuffling RNG. A checkpoint (checkpoint_io.h) is exactly this.
//
// Versions: policy_version counts the Train calls applied (0 = the loaded weights); it is the
// version weight pushes carry.
//
// Data-parallel ranks: after JoinGroup every rank holds the same weights (rank 0's) and the
// same scalar state; each trains on its slice of every batch, and the step functions all-reduce
// gradients (GradientSync) and the statistics that must be global. A state speaks for the rank
// of its communicator (rank 0 without one). With learner.zero_stage 1 each rank also keeps the
// AdamW state of only its share of the parameters (optimizer_shard.h); on one rank zero_stage 1
// changes nothing.
//
// Ownership: owns the models and optimisers. Thread safety: none; the Learner guards it with its
// mutex (a Train holds it exclusively, weight reads share it).
#ifndef REIN_SERVICES_LEARNER_LEARNER_STATE_H_
#define REIN_SERVICES_LEARNER_LEARNER_STATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dist/communicator.h"
#include "common/dist/gradient_sync.h"
#include "common/model/causal_lm.h"
#include "common/rl/advantages.h"
#include "common/rl/optim.h"
#include "services/learner/learner_options.h"
#include "services/learner/optimizer_shard.h"

namespace rein::learner {

// The scalar part of the state, saved in a checkpoint's manifest.
struct LearnerProgress {
  // Policy optimizer steps taken: the learning-rate schedule's position.
  int64_t optimizer_steps = 0;
  // Train calls applied; the version of the current policy.
  uint64_t policy_version = 0;
  // Iteration of the last applied Train (0 = none); a Train must come with a larger one.
  uint64_t last_iteration = 0;
  // Peak learning rate of the schedule (learner.learning_rate until a Train overrides it).
  double peak_learning_rate = 0;
  // β of the KL penalty (ppo.kl_coef until a Train overrides it).
  double kl_coef = 0;
};

class LearnerState {
 public:
  // Loads the models the mode needs (see LearnerOptions::model), on model.device:
  //   sft and the RL modes: policy = model.policy with its LM head;
  //   reward-model: model.policy as a reward model (its score.weight if it has one, else the
  //     trunk with a fresh scalar head seeded by `seed`);
  //   ppo: also the critic = model.reward_model with its scalar head (critic_init
  //     reward-model) or model.policy's trunk with a fresh scalar head (critic_init policy).
  // Errors: CheckLearnerOptions's, and the model loader's (naming the folder).
  static absl::StatusOr<std::unique_ptr<LearnerState>> Create(const LearnerOptions& options);

  // Test seam: the caller built the models. `policy` needs an LM head (a scalar head in
  // reward-model mode); `critic` a scalar head, and is required in ppo mode only.
  static absl::StatusOr<std::unique_ptr<LearnerState>> FromModels(
      const LearnerOptions& options, std::unique_ptr<model::CausalLM> policy,
      std::unique_ptr<model::CausalLM> critic);

  LearnerState(const LearnerState&) = delete;
  LearnerState& operator=(const LearnerState&) = delete;
  ~LearnerState();

  const LearnerOptions& options() const { return options_; }
  config::LearnerMode mode() const { return options_.learner.mode; }

  model::CausalLM& policy() { return *policy_; }
  const model::CausalLM& policy() const { return *policy_; }
  // Null outside ppo mode.
  model::CausalLM* critic() { return critic_.get(); }
  const model::CausalLM* critic() const { return critic_.get(); }
  rl::AdamW& policy_optimizer() { return *policy_optimizer_; }
  // Null outside ppo mode.
  rl::AdamW* critic_optimizer() { return critic_optimizer_.get(); }

  LearnerProgress& progress() { return progress_; }
  const LearnerProgress& progress() const { return progress_; }

  // The learning rate of the next policy optimizer step (schedule at progress().optimizer_steps).
  double NextLearningRate() const;
  // Rebuilds the schedule around a new peak; later steps use it. INVALID_ARGUMENT for a
  // negative or non-finite rate.
  absl::Status SetPeakLearningRate(double peak);
  // Optimizer steps the schedule spans: run.iterations x steps per iteration (ppo.epochs x
  // ppo.minibatches for the RL modes, 1 for sft and reward-model, whose Train may take more).
  int64_t ScheduleSteps() const;

  // Makes this state one rank of a data-parallel group: broadcasts rank 0's trained weights
  // (policy and critic) to every rank and sets up the bucketed gradient all-reduce
  // (learner.bucket_mb MiB buckets, overlapped with the last backward of each step); with
  // learner.zero_stage 1, shards each optimizer over the ranks, keeping only this rank's part of
  // any state it already holds (e.g. restored from a checkpoint). Every rank calls it, in the
  // same order as every other collective. The communicator's errors.
  absl::Status JoinGroup(std::unique_ptr<dist::Communicator> comm);
  // Null on a single rank (no JoinGroup, or a group of one).
  dist::Communicator* comm() { return comm_.get(); }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int world_size() const { return comm_ ? comm_->world_size() : 1; }
  // Null on a single rank; critic_sync() also outside ppo.
  dist::GradientSync* policy_sync() { return policy_sync_.get(); }
  dist::GradientSync* critic_sync() { return critic_sync_.get(); }
  // Null unless learner.zero_stage 1 on more than one rank; critic_shard() also outside ppo.
  OptimizerShard* policy_shard() { return policy_shard_.get(); }
  OptimizerShard* critic_shard() { return critic_shard_.get(); }
  // Bytes of AdamW state (moments) this rank holds, policy and critic together.
  int64_t OptimizerStateBytes() const;
  // The next backward is the last before the optimizer step: start all-reducing gradients
  // during it. No-op on a single rank.
  void ArmGradientSync();

  std::mt19937_64& rng() { return rng_; }
  const std::mt19937_64& rng() const { return rng_; }
  // Present when ppo.normalize_rewards is set.
  rl::RewardNormalizer* reward_normalizer() {
    return reward_normalizer_ ? &*reward_normalizer_ : nullptr;
  }
  const rl::RewardNormalizer* reward_normalizer() const {
    return reward_normalizer_ ? &*reward_normalizer_ : nullptr;
  }

 private:
  LearnerState(const LearnerOptions& options, std::unique_ptr<model::CausalLM> policy,
               std::unique_ptr<model::CausalLM> critic);
  absl::Status Init();

  const LearnerOptions options_;
  std::unique_ptr<model::CausalLM> policy_;
  std::unique_ptr<model::CausalLM> critic_;
  std::unique_ptr<rl::AdamW> policy_optimizer_;
  std::unique_ptr<rl::AdamW> critic_optimizer_;
  std::optional<rl::LrSchedule> schedule_;
  std::optional<rl::RewardNormalizer> reward_normalizer_;
  LearnerProgress progress_;
  std::mt19937_64 rng_;
  // Declared last: the syncs hold hooks on the models' parameters and use comm_, the shards
  // use the optimizers and comm_.
  std::unique_ptr<dist::Communicator> comm_;
  std::unique_ptr<dist::GradientSync> policy_sync_;
  std::unique_ptr<dist::GradientSync> critic_sync_;
  std::unique_ptr<OptimizerShard> policy_shard_;
  std::unique_ptr<OptimizerShard> critic_shard_;
};

// CausalLM::Load of `dir` with worker::ModelOptionsFromConfig (on CUDA, GPU `cuda_device`), after
// checking from its config.json that the weights fit model.memory_budget_bytes
// (RESOURCE_EXHAUSTED before any is read otherwise).
absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadLearnerModel(const config::ModelConfig& model,
                                                                  const std::string& dir,
                                                                  model::Heads heads,
                                                                  int cuda_device);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_LEARNER_STATE_H_
