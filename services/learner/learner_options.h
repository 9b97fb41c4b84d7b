// What a learner is configured with: the experiment config's `learner`, `ppo` and `model`
// sections plus the run's seed and length, gathered so that the learner's pieces (state, steps,
// checkpoints) take one struct instead of the whole experiment config.
#ifndef REIN_SERVICES_LEARNER_LEARNER_OPTIONS_H_
#define REIN_SERVICES_LEARNER_LEARNER_OPTIONS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "common/config/experiment_config.h"

namespace rein::learner {

struct LearnerOptions {
  // learner.mode picks what Train accepts (sft: SftBatch, reward-model: PreferenceBatch, the RL
  // modes: ExperienceBatch). Defaults: the config's.
  config::LearnerConfig learner;
  config::PpoConfig ppo;
  config::DpoConfig dpo;  // dpo, ipo, kto
  // rollout.sampling: the rollouts' log-probs are the policy's own only at plain sampling.
  config::SamplingConfig sampling;
  // model.policy is the policy (sft, RL modes) or the reward model's starting point
  // (reward-model); model.reward_model starts the critic when learner.critic_init is
  // reward-model (ppo only). dtype and device as the config says.
  config::ModelConfig model;
  // Seeds the fresh scalar heads and the mini-batch shuffling RNG. Default 42.
  uint64_t seed = 42;
  // run.iterations: with the optimizer steps per iteration, the length of the learning-rate
  // schedule (see LearnerState). Default 1000.
  int64_t iterations = 1000;
  // With model.device cuda: the GPU this rank trains on, its LOCAL_RANK (the device its NCCL
  // communicator uses). Default 0.
  int cuda_device = 0;
};

// The options of one learner rank from an experiment config.
LearnerOptions LearnerOptionsFromConfig(const config::ExperimentConfig& config);

// The options of a run's reward-model learner (rein-learner --reward_model_learner, runs with
// rounds): reward-model mode on one rank at rounds.reward_model's constant learning rate,
// starting from model.reward_model when set, else from model.policy (a fresh scalar head).
LearnerOptions RewardLearnerOptionsFromConfig(const config::ExperimentConfig& config);

// The cost-model learner's (rein-learner --cost_model_learner): cost-model mode on one rank at
// rounds.cost_model's constant learning rate, from model.cost_model when set, else model.policy.
LearnerOptions CostLearnerOptionsFromConfig(const config::ExperimentConfig& config);

// UNIMPLEMENTED for learner.ranks > 1 in reward-model mode (the other modes run on any number
// of data-parallel ranks);
// INVALID_ARGUMENT for a config this learner cannot run (learner.zero_stage other than 0 or 1;
// no model.policy; ppo with critic_init reward-model and no model.reward_model).
absl::Status CheckLearnerOptions(const LearnerOptions& options);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_LEARNER_OPTIONS_H_
