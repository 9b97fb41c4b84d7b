#include "services/learner/learner_options.h"

#include "absl/strings/str_cat.h"

namespace rein::learner {

LearnerOptions LearnerOptionsFromConfig(const config::ExperimentConfig& config) {
  LearnerOptions options;
  options.learner = config.learner;
  options.ppo = config.ppo;
  options.dpo = config.dpo;
  options.model = config.model;
  options.seed = config.run.seed;
  options.iterations = config.run.iterations;
  return options;
}

LearnerOptions RewardLearnerOptionsFromConfig(const config::ExperimentConfig& config) {
  LearnerOptions options = LearnerOptionsFromConfig(config);
  const config::RoundRewardModelConfig& rm = config.rounds.reward_model;
  options.learner.mode = config::LearnerMode::kRewardModel;
  options.learner.ranks = 1;
  options.learner.learning_rate = rm.learning_rate;
  options.learner.schedule = config::LrSchedule::kConstant;
  options.learner.warmup_steps = 0;
  // Round 1 warm-starts from the run's initial reward model when it has one.
  if (!config.model.reward_model.empty()) options.model.policy = config.model.reward_model;
  options.iterations = int64_t{config.rounds.count} * int64_t{rm.steps};
  return options;
}

absl::Status CheckLearnerOptions(const LearnerOptions& options) {
  if (options.learner.ranks < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("learner.ranks: ", options.learner.ranks, " is not >= 1"));
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
