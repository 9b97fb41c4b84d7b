// The offline preference learners end to end: `reinctl up` with learner.mode dpo and kto runs
// the coordinator, a reference replica and the learner as real processes, trains the policy
// from preference files (rein-demo's scripted rater, once as written and once rewritten into
// TRL's implicit-prompt form), and on a second pass over the same pairs the implicit reward
// of the chosen responses is ahead.
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

// 48 pairs, 8 per iteration: iterations 1-6 are the first pass over them, 7-12 the second.
constexpr int kIterations = 12;

// The mean of `key` over iterations first..last (1-based, inclusive).
double PassMean(const std::vector<nlohmann::json>& stats, const std::string& key, int first,
                int last) {
  double sum = 0;
  for (int i = first; i <= last; ++i) sum += stats[static_cast<size_t>(i - 1)][key].get<double>();
  return sum / (last - first + 1);
}

std::vector<nlohmann::json> RunMode(const std::string& dir, const std::string& mode,
                                    const std::string& train) {
  // One optimizer step per iteration (8 pairs in micro-batches of 2, accumulated 4 times), so
  // the first iteration's loss is the untrained policy's: the policy equals its reference.
  const std::string config = WriteConfig(
      dir, kIterations,
      {{"data", "  train: " + train + "\n  train_batch_size: 8\n"},
       {"learner", "  mode: " + mode + "\n  gradient_accumulation: 4\n"},
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
  CHECK(fs::exists(run_dir + "/checkpoints/iter-12/learner/policy/config.json"));
  return ReadStats(run_dir);
}

TEST_CASE("reinctl up trains dpo from the rater's pairs through the reference service") {
  const std::string dir = testing::MakeTempDir("rein-e2e-dpo-");
  std::vector<nlohmann::json> stats = RunMode(dir, "dpo", RaterPairs(dir, 48, 4));
  REQUIRE(stats.size() == kIterations);
  for (const nlohmann::json& s : stats) {
    CHECK(s.contains("loss/dpo"));
    CHECK(s.contains("rewards/accuracy"));
    CHECK(s["optimizer_steps"] == 1);  // 8 pairs / (2 pairs per micro-batch x 4)
  }
  INFO("first " << stats.front().dump() << "\nlast " << stats.back().dump());
  CHECK(stats.front()["loss/dpo"].get<double>() == Approx(std::log(2.0)).epsilon(1e-4));
  CHECK(stats.front()["rewards/margin"].get<double>() == Approx(0).margin(1e-4));
  // The second pass over the same pairs: the policy has learned the rater's choices on them.
  CHECK(PassMean(stats, "loss/dpo", 7, 12) < PassMean(stats, "loss/dpo", 1, 6));
  CHECK(PassMean(stats, "rewards/margin", 7, 12) > PassMean(stats, "rewards/margin", 1, 6));
}

TEST_CASE("reinctl up trains kto from TRL implicit-prompt pairs, split into desirable and not") {
  const std::string dir = testing::MakeTempDir("rein-e2e-kto-");
  const std::string trl = ImplicitPrompt(RaterPairs(dir, 48, 4), dir + "/trl.jsonl");
  std::vector<nlohmann::json> stats = RunMode(dir, "kto", trl);
  REQUIRE(stats.size() == kIterations);
  for (const nlohmann::json& s : stats) {
    CHECK(s.contains("loss/kto"));
    CHECK(s.contains("kto/z0"));
    CHECK(s["kto/z0"].get<double>() >= 0);
  }
  INFO("first " << stats.front().dump() << "\nlast " << stats.back().dump());
  CHECK(stats.front()["loss/kto"].get<double>() == Approx(0.5).epsilon(1e-3));
  // On the second pass the desirable completions are rewarded above the undesirable ones.
  CHECK(PassMean(stats, "rewards/desirable", 7, 12) >
        PassMean(stats, "rewards/undesirable", 7, 12));
  // (Not the loss, nor the gap's growth: with 4 + 4 completions per batch both are dominated
  // by which completions a batch holds and by z0, the KL reference point, which moves with the
  // policy. services/learner/offline_preference_step_test.cc checks KTO's learning on a task
  // with a known answer.)
}

}  // namespace
}  // namespace rein::e2e
