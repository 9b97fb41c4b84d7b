// The whole RLHF loop as real processes over loopback: `reinctl up` starts the coordinator,
// 2 rollout replicas, reward, reference and learner; every hop is gRPC.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;

struct UpResult {
  int exit_code = -1;
  std::string output;
  std::string run_dir;
};

UpResult Up(const std::string& config, const std::string& run_dir,
            const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {testing::BuiltBinary("reinctl"), "up", "--config", config,
                                   "--run-dir", run_dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto result = testing::RunCommand(argv, "", absl::Minutes(8));
  REQUIRE(result.ok());
  return {result->exit_code, result->stdout_text + result->stderr_text, run_dir};
}

TEST_CASE("reinctl up runs the full PPO loop with 2 rollout replicas and checkpoints it") {
  const std::string dir = testing::MakeTempDir("rein-e2e-loop-");
  UpResult run = Up(WriteConfig(dir, 3), dir + "/run");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::vector<nlohmann::json> stats = ReadStats(run.run_dir);
  REQUIRE(stats.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(stats[i]["iteration"] == i + 1);
    CHECK(stats[i]["policy_version"] == i + 1);
    CHECK(stats[i]["samples/count"] == 8);            // 4 prompts x 2 samples
    CHECK(stats[i]["rollout/replicas_used"] == 2);    // sharded over both replicas
    CHECK(stats[i].contains("loss/policy"));
    CHECK(stats[i].contains("kl/mean"));
  }
  CHECK(fs::exists(run.run_dir + "/checkpoints/iter-3/coordinator.json"));
  CHECK_THAT(run.output, Catch::Contains("run finished"));
  auto status = testing::RunCommand(
      {testing::BuiltBinary("reinctl"), "status", "--run", run.run_dir}, "", absl::Minutes(1));
  REQUIRE(status.ok());
  CHECK(status->exit_code == 0);
  CHECK_THAT(status->stdout_text, Catch::Contains("FINISHED") && Catch::Contains("iter 3/3"));
  CHECK(fs::exists(run.run_dir + "/checkpoints/iter-3/learner/policy/config.json"));
  for (const char* log : {"coordinator", "rollout-0", "rollout-1", "reward-0", "reference-0",
                          "learner-0"}) {
    CHECK(fs::exists(run.run_dir + "/logs/" + log + ".log"));
  }

  // The trained policy, exported from the run folder (its newest checkpoint) as a Hugging Face
  // folder that others can read, loads and generates.
  const std::string exported = dir + "/exported";
  auto exporting = testing::RunCommand(
      {testing::BuiltBinary("reinctl"), "export", run.run_dir, "--out", exported}, "",
      absl::Minutes(1));
  REQUIRE(exporting.ok());
  CHECK(exporting->exit_code == 0);
  CHECK_THAT(exporting->stdout_text, Catch::Contains("checkpoints/iter-3/learner/policy"));
  CHECK(ReadFile(exported + "/model.safetensors") ==
        ReadFile(run.run_dir + "/checkpoints/iter-3/learner/policy/model.safetensors"));
  CHECK((fs::status(exported).permissions() & fs::perms::others_exec) != fs::perms::none);
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json"}) {
    INFO(file);
    CHECK((fs::status(exported + "/" + file).permissions() & fs::perms::others_read) !=
          fs::perms::none);
  }
  auto generated = testing::RunCommand(
      {testing::BuiltBinary("reinctl"), "model", "generate", "--model", exported, "--greedy",
       "--max-new-tokens", "4"},
      "{\"input_ids\": [1, 2, 3]}", absl::Minutes(1));
  REQUIRE(generated.ok());
  INFO(generated->stderr_text);
  CHECK(generated->exit_code == 0);
  auto again = testing::RunCommand({testing::BuiltBinary("reinctl"), "export", "--checkpoint",
                                    run.run_dir + "/checkpoints/iter-3", "--out", exported},
                                   "", absl::Minutes(1));
  REQUIRE(again.ok());
  CHECK(again->exit_code == 1);  // never overwrites
  CHECK_THAT(again->stderr_text, Catch::Contains("exists"));
}

TEST_CASE("async mode overlaps generation with training, samples at most one version behind") {
  const std::string dir = testing::MakeTempDir("rein-e2e-async-");
  UpResult run = Up(WriteConfig(dir, 4, {{"run", "  mode: async\n  max_policy_lag: 1\n"}}),
                    dir + "/run");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::vector<nlohmann::json> stats = ReadStats(run.run_dir);
  REQUIRE(stats.size() == 4);
  for (const nlohmann::json& line : stats) {
    CHECK(line["policy/lag_max"].get<double>() <= 1.0);
    CHECK(line["samples/count"] == 8);
  }
}

TEST_CASE("two data-parallel learner ranks meet through the coordinator and train together") {
  const std::string dir = testing::MakeTempDir("rein-e2e-dp-");
  UpResult run = Up(WriteConfig(dir, 3, {{"learner", "  ranks: 2\n"}}), dir + "/run");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::vector<nlohmann::json> stats = ReadStats(run.run_dir);
  REQUIRE(stats.size() == 3);
  for (const nlohmann::json& line : stats) CHECK(line["samples/count"] == 8);
  CHECK(fs::exists(run.run_dir + "/logs/learner-1.log"));
  CHECK(fs::exists(run.run_dir + "/checkpoints/iter-3/learner/policy/config.json"));
}

// The byte counts of the learner's "pushed policy version V to N replicas: B bytes" log lines.
std::vector<uint64_t> PushedBytes(const std::string& log) {
  std::vector<uint64_t> bytes;
  const std::string marker = " replicas: ";
  for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    bytes.push_back(std::stoull(log.substr(at + marker.size())));
  }
  return bytes;
}

TEST_CASE("grpo with learner.lora on two ranks pushes only adapters and exports them both ways") {
  const std::string dir = testing::MakeTempDir("rein-e2e-lora-");
  UpResult run = Up(WriteConfig(dir, 2,
                                {{"learner",
                                  "  mode: grpo\n  ranks: 2\n"
                                  "  lora:\n    rank: 4\n    alpha: 8\n"}}),
                    dir + "/run");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  REQUIRE(ReadStats(run.run_dir).size() == 2);
  // Every push carries the adapters alone: a small fraction of the policy's weights.
  const uint64_t model_bytes = fs::file_size(WorldDir() + "/policy-init/model.safetensors");
  const std::vector<uint64_t> pushed = PushedBytes(ReadFile(run.run_dir + "/logs/learner-0.log"));
  REQUIRE(pushed.size() >= 2);
  for (uint64_t bytes : pushed) {
    CHECK(bytes > 0);
    CHECK(bytes * 10 < model_bytes * 2);  // summed over the 2 replicas
  }
  const std::string policy = run.run_dir + "/checkpoints/iter-2/learner/policy";
  CHECK(fs::exists(policy + "/adapter_config.json"));
  CHECK(ReadFile(policy + "/model.safetensors") ==
        ReadFile(WorldDir() + "/policy-init/model.safetensors"));  // the base stayed frozen

  const std::string merged = dir + "/merged";
  testing::CommandResult merge = Ctl({"export", run.run_dir, "--out", merged});
  INFO(merge.stderr_text);
  REQUIRE(merge.exit_code == 0);
  CHECK(!fs::exists(merged + "/adapter_config.json"));
  CHECK(fs::exists(merged + "/tokenizer.json"));
  CHECK(ReadFile(merged + "/model.safetensors") != ReadFile(policy + "/model.safetensors"));
  auto generated = testing::RunCommand({testing::BuiltBinary("reinctl"), "model", "generate",
                                        "--model", merged, "--greedy", "--max-new-tokens", "4"},
                                       "{\"input_ids\": [1, 2, 3]}", absl::Minutes(1));
  REQUIRE(generated.ok());
  INFO(generated->stderr_text);
  CHECK(generated->exit_code == 0);
  const std::string adapter = dir + "/adapter";
  testing::CommandResult peft = Ctl({"export", run.run_dir, "--out", adapter, "--lora-adapter"});
  INFO(peft.stderr_text);
  REQUIRE(peft.exit_code == 0);
  CHECK(fs::exists(adapter + "/adapter_config.json"));
  CHECK(fs::exists(adapter + "/adapter_model.safetensors"));
  CHECK(!fs::exists(adapter + "/model.safetensors"));
}

TEST_CASE("a bfloat16 run on two learner ranks trains through float32 masters it checkpoints") {
  const std::string dir = testing::MakeTempDir("rein-e2e-bf16-");
  UpResult run = Up(WriteConfig(dir, 2,
                                {{"model", "  dtype: bf16\n"},
                                 {"learner", "  mode: grpo\n  ranks: 2\n"}}),
                    dir + "/run");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  REQUIRE(ReadStats(run.run_dir).size() == 2);
  const std::string learner = run.run_dir + "/checkpoints/iter-2/learner";
  CHECK_THAT(ReadFile(learner + "/policy/config.json"), Catch::Contains("\"bfloat16\""));
  // The optimizer file names each parameter's float32 master beside its moments.
  CHECK_THAT(ReadFile(learner + "/optimizer.safetensors"), Catch::Contains("policy/0/master"));
}

TEST_CASE("a run resumed from a checkpoint continues at the same iteration with the same results") {
  const std::string dir = testing::MakeTempDir("rein-e2e-resume-");
  UpResult whole = Up(WriteConfig(dir, 4), dir + "/whole");
  INFO(whole.output);
  REQUIRE(whole.exit_code == 0);
  std::vector<nlohmann::json> expected = ReadStats(whole.run_dir);
  REQUIRE(expected.size() == 4);
  // The same run again, stopped after iteration 2 by its checkpoint, then resumed.
  const std::string checkpoint = dir + "/first-half";
  {
    const std::string half_dir = testing::MakeTempDir("rein-e2e-half-");
    UpResult half = Up(WriteConfig(half_dir, 2), half_dir + "/run");
    INFO(half.output);
    REQUIRE(half.exit_code == 0);
    fs::rename(half.run_dir + "/checkpoints/iter-2", checkpoint);
  }
  UpResult resumed = Up(WriteConfig(dir + "/resumed-config", 4), dir + "/resumed",
                        {"--resume", checkpoint});
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  std::vector<nlohmann::json> got = ReadStats(resumed.run_dir);
  REQUIRE(got.size() == 2);
  for (int i = 0; i < 2; ++i) {
    const nlohmann::json& want = expected[2 + i];
    CHECK(got[i]["iteration"] == want["iteration"]);
    CHECK(got[i]["policy_version"] == want["policy_version"]);
    for (const char* key : {"reward/mean", "response/length_mean", "kl/mean", "loss/policy",
                            "loss/value"}) {
      INFO(key << " at iteration " << want["iteration"]);
      CHECK(got[i][key].get<double>() == Approx(want[key].get<double>()).epsilon(1e-5));
    }
  }
}

}  // namespace
}  // namespace rein::e2e
