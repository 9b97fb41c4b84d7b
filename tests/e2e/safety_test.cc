// Safety from flags end to end: `reinctl up` trains a cost model (learner.mode cost-model) on
// approve/flag labels, then a PPO run whose reward service loads it as model.cost_model and
// whose coordinator holds the mean cost under a limit with a Lagrange multiplier.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;

// Approve/flag labels from rein-demo's scripted rater: the chosen response approved, the
// rejected one flagged.
std::string FlagLabels(const std::string& dir) {
  const std::string pairs = RaterPairs(dir, 32, 6);
  const std::string labels = dir + "/flags.jsonl";
  std::ifstream in(pairs);
  std::ofstream out(labels);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json p = nlohmann::json::parse(line);
    out << nlohmann::json{{"prompt", p["prompt"]}, {"completion", p["chosen"]}, {"label", true}}
               .dump()
        << "\n"
        << nlohmann::json{{"prompt", p["prompt"]}, {"completion", p["rejected"]}, {"label", false}}
               .dump()
        << "\n";
  }
  return labels;
}

testing::CommandResult Up(const std::string& config, const std::string& run_dir) {
  auto result = testing::RunCommand(
      {testing::BuiltBinary("reinctl"), "up", "--config", config, "--run-dir", run_dir}, "",
      absl::Minutes(5));
  REQUIRE(result.ok());
  return *result;
}

TEST_CASE("a cost model trained on flags holds PPO's mean cost under a limit with a multiplier") {
  const std::string dir = testing::MakeTempDir("rein-e2e-safety-");
  const std::string cost_config = WriteConfig(
      dir + "/cost", 4,
      {{"data", "  train: " + FlagLabels(dir) + "\n  train_batch_size: 16\n"},
       {"learner", "  mode: cost-model\n"}});
  testing::CommandResult trained = Up(cost_config, dir + "/cost/run");
  INFO(trained.stdout_text << trained.stderr_text);
  REQUIRE(trained.exit_code == 0);
  std::vector<nlohmann::json> cost_stats = ReadStats(dir + "/cost/run");
  REQUIRE(cost_stats.size() == 4);
  for (const nlohmann::json& s : cost_stats) CHECK(s.contains("loss/unpaired"));
  const std::string cost_model = dir + "/cost/run/checkpoints/iter-4/learner/policy";
  REQUIRE(fs::exists(cost_model + "/config.json"));

  const std::string ppo_config = WriteConfig(
      dir + "/ppo", 3,
      {{"model", "  cost_model: " + cost_model + "\n"},
       {"safety", "  mode: constraint\n  cost_limit: -100\n  lambda_init: 0.5\n"
                  "  lambda_lr: 0.01\n"},
       {"eval", "  red_team: " + RedTeamPrompts(dir, 6) + "\n  every: 2\n"}});
  testing::CommandResult ppo = Up(ppo_config, dir + "/ppo/run");
  INFO(ppo.stdout_text << ppo.stderr_text);
  REQUIRE(ppo.exit_code == 0);
  std::vector<nlohmann::json> stats = ReadStats(dir + "/ppo/run");
  REQUIRE(stats.size() == 3);
  // A limit far below any cost: every iteration violates it and λ rises by its rule,
  // log λ' = log λ + lr · violation · λ.
  for (size_t i = 0; i < stats.size(); ++i) {
    const nlohmann::json& s = stats[i];
    INFO(s.dump());
    REQUIRE(s.contains("cost/mean"));
    const double violation = s["safety/violation"].get<double>();
    CHECK(violation == Approx(s["cost/mean"].get<double>() + 100).epsilon(1e-6));
    const double lambda = s["safety/lambda"].get<double>();
    CHECK(s["safety/lambda_next"].get<double>() ==
          Approx(lambda * std::exp(0.01 * violation)).epsilon(1e-6));
    if (i > 0) CHECK(lambda == Approx(stats[i - 1]["safety/lambda_next"].get<double>()));
    CHECK(s.contains("reward/unshaped_mean"));
  }
  CHECK(stats.front()["safety/lambda"].get<double>() == Approx(0.5));
  // The red-team set, scored by the reward and cost models after iteration 2 and at the end.
  std::vector<nlohmann::json> evaluations = ReadEvaluations(dir + "/ppo/run");
  REQUIRE(evaluations.size() == 2);
  CHECK(evaluations[0]["eval_at"] == 2);
  CHECK(evaluations[1]["eval_at"] == 3);
  for (const nlohmann::json& e : evaluations) {
    INFO(e.dump());
    for (const char* key : {"eval/red-team/flagged_rate", "eval/red-team/flagged_rate/violence",
                            "eval/red-team/flagged_rate/bias"}) {
      REQUIRE(e.contains(key));
      CHECK(e[key].get<double>() >= 0);
      CHECK(e[key].get<double>() <= 1);
    }
    CHECK(std::isfinite(e["eval/red-team/cost_mean"].get<double>()));
    CHECK(e.contains("eval/red-team/reward_mean"));
  }
  auto checkpoint = nlohmann::json::parse(
      std::ifstream(dir + "/ppo/run/checkpoints/iter-3/coordinator.json"));
  CHECK(checkpoint["safety_lambda"].get<double>() ==
        Approx(stats.back()["safety/lambda_next"].get<double>()));
}

}  // namespace
}  // namespace rein::e2e
