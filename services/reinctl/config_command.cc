#include "services/reinctl/config_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/config/enum_names.h"
#include "common/config/experiment_config.h"
#include "services/reinctl/command_util.h"
#include "services/reinctl/config_preflight.h"

namespace rein::reinctl {
namespace {

void PrintSummary(const std::string& path, const config::ExperimentConfig& c) {
  std::printf("%s: OK\n", path.c_str());
  std::printf("  run       %s: %lld iterations, %s mode, seed %llu, output in %s/\n",
              c.run.name.c_str(), static_cast<long long>(c.run.iterations),
              std::string(config::EnumName(c.run.mode)).c_str(),
              static_cast<unsigned long long>(c.run.seed), c.run.output_dir.c_str());
  std::printf("  learner   %s, %d rank(s), %s backend, lr %g\n",
              std::string(config::EnumName(c.learner.mode)).c_str(), c.learner.ranks,
              std::string(config::EnumName(c.learner.backend)).c_str(), c.learner.learning_rate);
  // Only the services the mode runs (as reinctl up starts them).
  if (config::IsReinforcementLearning(c.learner.mode)) {
    std::printf("  rollout   %d replica(s) x capacity %d; %d prompts x %d samples per iteration\n",
                c.rollout.replicas, c.rollout.capacity, c.rollout.batch_size,
                c.rollout.samples_per_prompt);
    std::printf("  reward    %d replica(s); reference %d replica(s)\n", c.reward.replicas,
                c.reference.replicas);
  } else {
    std::printf("  data      %s, %d examples per iteration\n",
                c.data.train.empty() ? "(data.train unset)" : c.data.train.c_str(),
                c.data.train_batch_size);
    if (config::UsesReference(c.learner.mode)) {
      std::printf("  reference %d replica(s), beta %g\n", c.reference.replicas, c.dpo.beta);
    }
  }
  if (c.rounds.count > 0) {
    const config::RoundsConfig& r = c.rounds;
    std::printf("  rounds    %d x (%d items x %d judgements -> reward model %d steps (%s "
                "feedback) -> %d RL iterations), through rein-feedback %s\n",
                r.count, r.prompts_per_round, r.overlap, r.reward_model.steps,
                std::string(config::EnumName(r.reward_model.data)).c_str(), r.iterations,
                c.feedback.store.c_str());
  }
  std::printf("  model     policy %s\n", c.model.policy.empty() ? "(unset)" : c.model.policy.c_str());
}

int RunCheck(const std::string& path, bool parse_only) {
  absl::StatusOr<config::ExperimentConfig> parsed = config::LoadExperimentConfig(path);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
    return 1;
  }
  if (!parse_only) {
    const std::vector<std::string> problems = PreflightProblems(*parsed);
    for (const std::string& problem : problems) std::fprintf(stderr, "%s\n", problem.c_str());
    if (!problems.empty()) return 1;
  }
  PrintSummary(path, *parsed);
  return 0;
}

}  // namespace

void AddConfigCommands(CLI::App& app) {
  CLI::App* group = app.add_subcommand("config", "Check an experiment config; show every default");
  group->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto parse_only = std::make_shared<bool>(false);
  CLI::App* check = group->add_subcommand(
      "check", "Validate an experiment config file and the model, tokenizer and data files it "
               "names");
  check->add_option("file", *path, "The YAML experiment config")->required();
  check->add_flag("--parse-only", *parse_only,
                  "Only parse and validate the YAML; look at none of the files it names (a config "
                  "for another machine)");
  check->callback([path, parse_only] { ExitWith(RunCheck(*path, *parse_only)); });
  CLI::App* defaults =
      group->add_subcommand("defaults", "Print every key with its default and documentation");
  defaults->callback([] { std::fputs(config::DefaultConfigYaml().c_str(), stdout); });
}

}  // namespace rein::reinctl
