// reinctl config and reinctl health, run as real processes.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/rpc/serve.h"
#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

using testing::BuiltBinary;
using testing::RunCommand;

testing::CommandResult Reinctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuiltBinary("reinctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv, "", absl::Seconds(60));
  REQUIRE(result.ok());
  return *result;
}

TEST_CASE("reinctl config check --parse-only accepts the example config and summarises it") {
  auto result = Reinctl(
      {"config", "check", "--parse-only", testing::SourcePath("deploy/config/example.yaml")});
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find(": OK") != std::string::npos);
  CHECK(result.stdout_text.find("learner") != std::string::npos);
}

TEST_CASE("reinctl config check reports every file the example config names but lacks here") {
  // Run from a fresh folder, where none of the example's relative paths exists.
  const std::string dir = testing::MakeTempDir("rein-config-");
  auto result = RunCommand({"/bin/sh", "-c",
                            "cd '" + dir + "' && exec '" + BuiltBinary("reinctl") +
                                "' config check '" +
                                testing::SourcePath("deploy/config/example.yaml") + "'"},
                           "", absl::Seconds(60));
  REQUIRE(result.ok());
  CHECK(result->exit_code == 1);
  CHECK(result->stdout_text.find(": OK") == std::string::npos);
  for (const char* line : {"model.policy: 'models/smollm2-135m-sft' does not exist\n",
                           "model.reward_model: 'models/smollm2-135m-rm' does not exist\n",
                           "data.prompts: 'data/prompts/train.jsonl' does not exist\n",
                           "data.eval_prompts: 'data/prompts/heldout.jsonl' does not exist\n",
                           "eval.red_team: 'data/prompts/red_team.jsonl' does not exist\n"}) {
    CHECK(result->stderr_text.find(line) != std::string::npos);
  }
}

// An sft config over a model folder that holds its tokenizer (tests/data's tiny GPT-2 one, 267
// tokens, eos 266) and a config.json of `vocab_size` tokens; weights are only looked for.
std::string WriteSftConfig(const std::string& dir, int vocab_size) {
  const std::filesystem::path model = std::filesystem::path(dir) / "model";
  std::filesystem::create_directories(model);
  for (const char* name : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
    std::filesystem::copy_file(testing::SourcePath("tests/data/tokenizer/tiny_gpt2") + "/" + name,
                               model / name);
  }
  std::ifstream in(testing::SourcePath("tests/data/models/tiny-llama/config.json"));
  nlohmann::json config = nlohmann::json::parse(in);
  config["vocab_size"] = vocab_size;
  config["eos_token_id"] = 266;
  config["bos_token_id"] = 266;
  std::ofstream(model / "config.json") << config.dump(2);
  std::ofstream(model / "model.safetensors") << "";
  std::ofstream(dir + "/train.jsonl") << "{\"prompt\": \"hi\", \"response\": \"there\"}\n";
  const std::string path = dir + "/sft.yaml";
  std::ofstream(path) << "learner:\n  mode: sft\nmodel:\n  policy: " << model.string()
                      << "\ndata:\n  train: " << dir << "/train.jsonl\n";
  return path;
}

TEST_CASE("reinctl config check passes a config whose files exist and agree") {
  const std::string dir = testing::MakeTempDir("rein-config-");
  auto result = Reinctl({"config", "check", WriteSftConfig(dir, 1000)});
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find(": OK") != std::string::npos);
  CHECK(result.stderr_text.empty());
}

TEST_CASE("reinctl config check reports a tokenizer larger than the model's vocabulary") {
  const std::string dir = testing::MakeTempDir("rein-config-");
  auto result = Reinctl({"config", "check", WriteSftConfig(dir, 100)});
  CHECK(result.exit_code == 1);
  CHECK(result.stderr_text.find("model.policy: vocab_size 100 but the tokenizer of model.policy "
                                "has 267 tokens") != std::string::npos);
}

TEST_CASE("reinctl config check names the file, line and key of every error") {
  std::string dir = testing::MakeTempDir("rein-config-");
  std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "run:\n  iterations: lots\nlearner:\n  lerning_rate: 0.1\n";
  auto result = Reinctl({"config", "check", path});
  CHECK(result.exit_code == 1);
  CHECK(result.stderr_text.find(path + ":2: run.iterations") != std::string::npos);
  CHECK(result.stderr_text.find(path + ":4: unknown key 'learner.lerning_rate'") !=
        std::string::npos);
}

TEST_CASE("reinctl config defaults prints every section") {
  auto result = Reinctl({"config", "defaults"});
  CHECK(result.exit_code == 0);
  for (const char* section : {"run:", "data:", "model:", "rollout:", "reward:", "reference:",
                              "learner:", "ppo:", "server:"}) {
    CHECK(result.stdout_text.find(section) != std::string::npos);
  }
}

TEST_CASE("reinctl health reports SERVING for a live server and fails for a dead address") {
  auto server = testing::Subprocess::Start({BuiltBinary("rein-test-echo-server")});
  REQUIRE(server.ok());
  auto address = (*server)->WaitForLine(rpc::kListeningMarker, absl::Seconds(30));
  REQUIRE(address.ok());
  auto live = Reinctl({"health", *address, "--service", "rein.testing.Echo", "--wait", "10s"});
  CHECK(live.exit_code == 0);
  CHECK(live.stdout_text.find("SERVING") != std::string::npos);
  REQUIRE((*server)->Signal(SIGTERM).ok());
  REQUIRE((*server)->Wait(absl::Seconds(30)).ok());
  auto dead = Reinctl({"health", *address});
  CHECK(dead.exit_code == 1);
  CHECK(dead.stdout_text.find("NOT SERVING") != std::string::npos);
}

}  // namespace
}  // namespace rein::reinctl
