// The offline preference learners end to end: `reinctl up` with learner.mode dpo and kto runs
// the coordinator, a reference replica and the learner as real processes, trains the policy
// from preference files (rein-demo's scripted rater, once as written and once rewritten into
// TRL's implicit-prompt form), and the implicit reward of the chosen responses pulls ahead.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;

// The same pairs in TRL's implicit-prompt form: chosen and rejected carry the prompt.
std::string ImplicitPrompt(const std::string& pairs, const std::string& out) {
  std::ifstream in(pairs);
  std::ofstream o(out);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json p = nlohmann::json::parse(line);
    const std::string prompt = p["prompt"];
    o << nlohmann::json{{"chosen", prompt + p["chosen"].get<std::string>()},
                        {"rejected", prompt + p["rejected"].get<std::string>()}}
             .dump()
      << "\n";
  }
  return out;
}

std::vector<nlohmann::json> RunMode(const std::string& dir, const std::string& mode,
                                    const std::string& train) {
  const std::string config = WriteConfig(
      dir, 6,
      {{"data", "  train: " + train + "\n  train_batch_size: 8\n"},
       {"learner", "  mode: " + mode + "\n  gradient_accumulation: 2\n"},
       {"dpo", "  beta: 0.5\n"}});
  const std::string run_dir = dir + "/run";
  auto result = testing::RunCommand({testing::BuiltBinary("reinctl"), "up", "--config", config,
                                     "--run-dir", run_dir},
                                    "", absl::Minutes(5));
  REQUIRE(result.ok());
  INFO(result->stdout_text << result->stderr_text);
  REQUIRE(result->exit_code == 0);
  // Only what the mode needs was started: no rollout and no reward replica.
  CHECK(fs::exists(run_dir + "/logs/reference-0.log"));
  CHECK_FALSE(fs::exists(run_dir + "/logs/rollout-0.log"));
  CHECK_FALSE(fs::exists(run_dir + "/logs/reward-0.log"));
  CHECK(fs::exists(run_dir + "/checkpoints/iter-6/learner/policy/config.json"));
  return ReadStats(run_dir);
}

TEST_CASE("reinctl up trains dpo from the rater's pairs through the reference service") {
  const std::string dir = testing::MakeTempDir("rein-e2e-dpo-");
  std::vector<nlohmann::json> stats = RunMode(dir, "dpo", RaterPairs(dir, 48, 4));
  REQUIRE(stats.size() == 6);
  for (const nlohmann::json& s : stats) {
    CHECK(s.contains("loss/dpo"));
    CHECK(s.contains("rewards/accuracy"));
    CHECK(s["optimizer_steps"] == 2);  // 8 pairs / (2 pairs per micro-batch x 2)
  }
  // Each pair is seen once every 6 iterations (48 pairs, 8 per iteration): the margin the
  // policy gives the chosen responses over the reference's grows as it learns the rater.
  INFO("first " << stats.front().dump() << "\nlast " << stats.back().dump());
  CHECK(stats.front()["loss/dpo"].get<double>() == Approx(std::log(2.0)).epsilon(0.05));
  CHECK(stats.back()["rewards/margin"].get<double>() > stats.front()["rewards/margin"].get<double>());
  CHECK(stats.back()["loss/dpo"].get<double>() < stats.front()["loss/dpo"].get<double>());
}

TEST_CASE("reinctl up trains kto from TRL implicit-prompt pairs, split into desirable and not") {
  const std::string dir = testing::MakeTempDir("rein-e2e-kto-");
  const std::string trl = ImplicitPrompt(RaterPairs(dir, 48, 4), dir + "/trl.jsonl");
  std::vector<nlohmann::json> stats = RunMode(dir, "kto", trl);
  REQUIRE(stats.size() == 6);
  for (const nlohmann::json& s : stats) {
    CHECK(s.contains("loss/kto"));
    CHECK(s.contains("kto/z0"));
    CHECK(s["kto/z0"].get<double>() >= 0);
  }
  INFO("first " << stats.front().dump() << "\nlast " << stats.back().dump());
  CHECK(stats.front()["loss/kto"].get<double>() == Approx(0.5).epsilon(0.05));
  const nlohmann::json& last = stats.back();
  CHECK(last["rewards/desirable"].get<double>() > last["rewards/undesirable"].get<double>());
}

}  // namespace
}  // namespace rein::e2e
