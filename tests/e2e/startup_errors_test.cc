// A newcomer's mistakes stop a service at start-up with one line that names the config key to
// fix: never an abort with a LibTorch stack trace, never an error first seen at the first Train.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

constexpr const char* kModelServices[] = {"rein-rollout", "rein-reference", "rein-reward",
                                          "rein-learner"};

// `binary --config config`, run to completion.
testing::CommandResult RunService(const std::string& binary, const std::string& config) {
  auto result =
      testing::RunCommand({testing::BuiltBinary(binary), "--config", config}, "", absl::Minutes(1));
  REQUIRE(result.ok());
  return *result;
}

// The e2e config with the model section's `policy:` line followed by `extra` (e.g. a device).
std::string ConfigWithModel(const std::string& dir, const std::string& policy,
                            const std::string& extra) {
  std::string text = ReadFile(WriteConfig(dir, 1));
  const std::string key = "  policy: " + WorldDir() + "/policy-init\n";
  const size_t at = text.find(key);
  REQUIRE(at != std::string::npos);
  text.replace(at, key.size(), "  policy: " + policy + "\n" + extra);
  const std::string path = dir + "/startup.yaml";
  std::ofstream(path) << text;
  return path;
}

// Debian's LibTorch has no CUDA; CI runs on it. (A CUDA build would get past this check.)
TEST_CASE(
    "model.device cuda on a CPU-only build: every model service exits at start-up saying so") {
  const std::string dir = testing::MakeTempDir("rein-e2e-cuda-");
  const std::string config = ConfigWithModel(dir, WorldDir() + "/policy-init", "  device: cuda\n");
  for (const char* binary : kModelServices) {
    INFO(binary);
    const testing::CommandResult result = RunService(binary, config);
    const std::string text = result.stdout_text + result.stderr_text;
    INFO(text);
    CHECK(result.exit_code == 1);
    CHECK_THAT(text, Catch::Contains("model.device: cuda:0 asked for, but this build's LibTorch "
                                     "has no CUDA support"));
    CHECK_THAT(text, Catch::Contains("Set model.device: cpu"));
    CHECK(text.find("terminate called") == std::string::npos);
  }
}

TEST_CASE("a model folder that does not exist: the error names the config key and the folder") {
  const std::string dir = testing::MakeTempDir("rein-e2e-nofolder-");
  const std::string missing = dir + "/no-such-policy";
  const std::string config = ConfigWithModel(dir, missing, "");
  for (const char* binary : {"rein-rollout", "rein-reference", "rein-learner"}) {
    INFO(binary);
    const testing::CommandResult result = RunService(binary, config);
    const std::string text = result.stdout_text + result.stderr_text;
    INFO(text);
    CHECK(result.exit_code == 1);
    CHECK_THAT(text, Catch::Contains("model.policy") && Catch::Contains(missing));
  }
}

TEST_CASE("a data file or tokenizer that does not exist: the error names its config key") {
  const std::string dir = testing::MakeTempDir("rein-e2e-nodata-");
  std::string text = ReadFile(WriteConfig(dir, 1));
  const std::string prompts = WorldDir() + "/prompts.jsonl";
  const size_t at = text.find(prompts);
  REQUIRE(at != std::string::npos);
  text.replace(at, prompts.size(), dir + "/no-such-prompts.jsonl");
  std::ofstream(dir + "/nodata.yaml") << text;
  const testing::CommandResult coordinator = RunService("rein-coordinator", dir + "/nodata.yaml");
  INFO(coordinator.stdout_text << coordinator.stderr_text);
  CHECK(coordinator.exit_code == 1);
  CHECK_THAT(coordinator.stdout_text + coordinator.stderr_text,
             Catch::Contains("data.prompts: data file '" + dir + "/no-such-prompts.jsonl'"));

  const std::string missing = dir + "/no-such-tokenizer";
  const std::string config = ConfigWithModel(dir, WorldDir() + "/policy-init",
                                             "  tokenizer: " + missing + "\n");
  for (const char* binary : {"rein-coordinator", "rein-rollout"}) {
    INFO(binary);
    const testing::CommandResult result = RunService(binary, config);
    const std::string output = result.stdout_text + result.stderr_text;
    INFO(output);
    CHECK(result.exit_code == 1);
    CHECK_THAT(output, Catch::Contains("model.tokenizer: " + missing));
  }
}

}  // namespace
}  // namespace rein::e2e
