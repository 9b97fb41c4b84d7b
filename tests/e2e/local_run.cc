#include "tests/e2e/local_run.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/testing/subprocess.h"

namespace rein::e2e {

const std::string& WorldDir() {
  static const std::string* dir = [] {
    auto* world = new std::string(testing::MakeTempDir("rein-e2e-world-"));
    auto result = testing::RunCommand(
        {testing::BuiltBinary("rein-demo"), "corpus", "--out", *world, "--seed", "3",
         "--sft_examples", "64", "--prompts", "64", "--heldout_prompts", "8"},
        "", absl::Minutes(2));
    REQUIRE(result.ok());
    INFO(result->stdout_text << result->stderr_text);
    REQUIRE(result->exit_code == 0);
    return world;
  }();
  return *dir;
}

std::string WriteConfig(const std::string& dir, int iterations,
                        const std::map<std::string, std::string>& overrides) {
  const std::string& world = WorldDir();
  std::map<std::string, std::string> sections = {
      {"run", "  name: e2e\n  seed: 5\n  iterations: " + std::to_string(iterations) +
                  "\n  output_dir: " + dir + "/runs\n  checkpoint_every: 0\n"},
      {"data", "  prompts: " + world + "/prompts.jsonl\n  prompt_format: text\n"},
      {"model", "  policy: " + world + "/policy-init\n"},
      {"rollout",
       "  replicas: 2\n  capacity: 2\n  batch_size: 4\n  samples_per_prompt: 2\n"
       "  sampling:\n    max_new_tokens: 8\n"},
      {"reward",
       "  model_weight: 0\n  rules:\n    length_penalty:\n      weight: 1.0\n"
       "      target_tokens: 4\n"},
      {"learner", "  learning_rate: 0.001\n  critic_init: policy\n  micro_batch_size: 4\n"},
      {"ppo", "  epochs: 1\n  minibatches: 2\n"},
      {"server", "  call_timeout: 60s\n  drain_timeout: 5s\n"},
  };
  for (const auto& [section, lines] : overrides) sections[section] += lines;
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/run.yaml";
  std::ofstream out(path);
  for (const auto& [section, lines] : sections) out << section << ":\n" << lines;
  return path;
}

std::string RaterPairs(const std::string& dir, int pairs, int seed) {
  const std::string out = dir + "/pairs.jsonl";
  auto result = testing::RunCommand(
      {testing::BuiltBinary("rein-demo"), "annotate", "--policy", WorldDir() + "/policy-init",
       "--prompts", WorldDir() + "/prompts.jsonl", "--pairs", std::to_string(pairs),
       "--heldout_fraction", "0", "--seed", std::to_string(seed), "--max_new_tokens", "8",
       "--out_train", out, "--out_heldout", dir + "/heldout.jsonl"},
      "", absl::Minutes(2));
  REQUIRE(result.ok());
  INFO(result->stdout_text << result->stderr_text);
  REQUIRE(result->exit_code == 0);
  return out;
}

std::vector<nlohmann::json> ReadStats(const std::string& run_dir) {
  std::vector<nlohmann::json> stats;
  std::ifstream in(run_dir + "/stats.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record.contains("iteration")) stats.push_back(std::move(record));
  }
  return stats;
}

std::string RedTeamPrompts(const std::string& dir, int n) {
  std::ifstream in(WorldDir() + "/prompts.jsonl");
  const std::string path = dir + "/red_team.jsonl";
  std::filesystem::create_directories(dir);
  std::ofstream out(path);
  std::string line;
  for (int i = 0; i < n && std::getline(in, line); ++i) {
    nlohmann::json record = nlohmann::json::parse(line);
    record["category"] = i % 2 == 0 ? "violence" : "bias";
    out << record.dump() << "\n";
  }
  return path;
}

std::vector<nlohmann::json> ReadEvaluations(const std::string& run_dir) {
  std::vector<nlohmann::json> evaluations;
  std::ifstream in(run_dir + "/stats.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record.contains("eval_at")) evaluations.push_back(std::move(record));
  }
  return evaluations;
}

std::unique_ptr<testing::Subprocess> StartUp(const std::string& config, const std::string& run_dir,
                                             const std::vector<std::string>& extra,
                                             const std::vector<std::string>& env) {
  std::vector<std::string> argv;
  if (!env.empty()) {
    argv.push_back("/usr/bin/env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  for (const std::string& arg : {testing::BuiltBinary("reinctl"), std::string("up"),
                                 std::string("--config"), config, std::string("--run-dir"), run_dir}) {
    argv.push_back(arg);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto up = testing::Subprocess::Start(argv);
  REQUIRE(up.ok());
  return *std::move(up);
}

void WaitForIterations(const std::string& run_dir, size_t iterations) {
  const absl::Time deadline = absl::Now() + absl::Minutes(4);
  while (ReadStats(run_dir).size() < iterations) {
    REQUIRE(absl::Now() < deadline);
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::map<std::string, pid_t> Pids(const std::string& run_dir) {
  std::map<std::string, pid_t> pids;
  std::ifstream in(run_dir + "/pids");
  std::string name;
  pid_t pid;
  while (in >> name >> pid) pids[name] = pid;
  return pids;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

testing::CommandResult Ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {testing::BuiltBinary("reinctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = testing::RunCommand(argv, "", absl::Minutes(2));
  REQUIRE(result.ok());
  return *result;
}

}  // namespace rein::e2e
