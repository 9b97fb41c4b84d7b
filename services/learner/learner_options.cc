#include "services/learner/learner_options.h"

#include "absl/strings/str_cat.h"

namespace rein::learner {

LearnerOptions LearnerOptionsFromConfig(const config::ExperimentConfig& config) {
  LearnerOptions options;
  options.learner = config.learner;
  options.ppo = config.ppo;
  options.dpo = config.dpo;
  options.sampling = config.rollout.sampling;
  options.model = config.model;
  options.seed = config.run.seed;
  options.iterations = config.run.iterations;
  return options;
}

namespace {

// A learner of one of a round's models: one rank, a constant learning rate, a schedule as long
// as every round's steps, starting from `start` when set (else model.policy).
LearnerOptions RoundModelLearnerOptions(const config::ExperimentConfig& config,
                                        config::LearnerMode mode, double learning_rate,
                                        int steps_per_round, const std::string& start) {
  LearnerOptions options = LearnerOptionsFromConfig(config);
  options.learner.mode = mode;
  options.learner.ranks = 1;
  options.learner.learning_rate = learning_rate;
  options.learner.schedule = config::LrSchedule::kConstant;
  options.learner.warmup_steps = 0;
  if (!start.empty()) options.model.policy = start;
  options.iterations = int64_t{config.rounds.count} * int64_t{steps_per_round};
  return options;
}

}  // namespace

LearnerOptions RewardLearnerOptionsFromConfig(const config::ExperimentConfig& config) {
  const config::RoundRewardModelConfig& rm = config.rounds.reward_model;
  // Round 1 warm-starts from the run's initial reward model when it has one.
  return RoundModelLearnerOptions(config, config::LearnerMode::kRewardModel, rm.learning_rate,
                                  rm.steps, config.model.reward_model);
}

LearnerOptions CostLearnerOptionsFromConfig(const config::ExperimentConfig& config) {
  const config::RoundCostModelConfig& cm = config.rounds.cost_model;
  return RoundModelLearnerOptions(config, config::LearnerMode::kCostModel, cm.learning_rate,
                                  cm.steps, config.model.cost_model);
}

absl::Status CheckLearnerOptions(const LearnerOptions& options) {
  if (options.learner.ranks < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("learner.ranks: ", options.learner.ranks, " is not >= 1"));
  }
  if (options.learner.zero_stage != 0 && options.learner.zero_stage != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "learner.zero_stage: ", options.learner.zero_stage,
        " is not 0 (off) or 1 (optimizer state sharded across learner.ranks)"));
  }
  if (options.learner.ranks > 1 && config::TrainsScalarHead(options.learner.mode)) {
    return absl::UnimplementedError(absl::StrCat(
        "learner.ranks: ", options.learner.ranks, " data-parallel ranks are not supported in ",
        config::EnumName(options.learner.mode), " mode yet (its micro-batches "
        "depend on each preference's response count, so ranks would take different step "
        "counts); set learner.ranks: 1"));
  }
  if (options.model.policy.empty()) {
    return absl::InvalidArgumentError("model.policy: the learner needs a model folder");
  }
  if (options.learner.mode == config::LearnerMode::kPpo &&
      options.learner.critic_init == config::CriticInit::kRewardModel &&
      options.model.reward_model.empty()) {
    return absl::InvalidArgumentError(
        "model.reward_model: ppo with learner.critic_init reward-model needs a reward model "
        "folder (or set learner.critic_init: policy)");
  }
  return absl::OkStatus();
}

}  // namespace rein::learner
