#include "common/config/experiment_config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/internal/experiment_config_schema.h"

namespace rein::config {
namespace {

std::string ErrorOf(absl::string_view yaml) {
  absl::StatusOr<ExperimentConfig> config = ParseExperimentConfig(yaml, "run.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

ExperimentConfig ParseOk(absl::string_view yaml) {
  absl::StatusOr<ExperimentConfig> config = ParseExperimentConfig(yaml, "run.yaml");
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

std::string SourceDir() {
  const char* dir = std::getenv("REIN_SOURCE_DIR");
  REQUIRE(dir != nullptr);  // set by rein_cc_test for every test
  return dir;
}

TEST_CASE("empty input and comment-only input give the defaults") {
  CHECK(ParseOk("") == ExperimentConfig{});
  CHECK(ParseOk("# nothing here\n\n") == ExperimentConfig{});
  CHECK(ParseOk("run:\nserver:\n  tls:\n") == ExperimentConfig{});
}

TEST_CASE("defaults match the documented RLHF choices") {
  const ExperimentConfig c;
  CHECK(c.run.output_dir == "runs");
  CHECK(c.run.mode == RunMode::kSync);
  CHECK(c.ppo.clip_epsilon == 0.2);
  CHECK(c.ppo.gamma == 1.0);
  CHECK(c.ppo.lambda_ == 0.95);
  CHECK(c.ppo.kl_coef == 0.05);
  CHECK(c.server.host == "127.0.0.1");
  CHECK(c.server.metrics_port == 0);
  CHECK(c.learner.ranks == 1);
}

TEST_CASE("DefaultConfigYaml documents every key and parses back to the defaults") {
  const std::string yaml = DefaultConfigYaml();
  CHECK(ParseOk(yaml) == ExperimentConfig{});
  ExperimentConfig scratch;
  Binder root;
  internal::BindExperimentConfig(&scratch, &root);
  std::vector<std::string> paths;
  root.CollectPaths(&paths);
  absl::flat_hash_set<std::string> unique(paths.begin(), paths.end());
  CHECK(unique.size() == paths.size());
  for (const std::string& path : paths) {
    const std::string key =
        path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    INFO(path);
    CHECK(absl::StrContains(yaml, absl::StrCat(key, ":")));
  }
  CHECK(absl::StrContains(yaml,
                          "    # Most tokens generated per response. Must be a positive "
                          "integer.\n    max_new_tokens: 1024\n"));
  CHECK(absl::StrContains(yaml, "  keepalive_time: 30s\n"));
  CHECK(absl::StrContains(yaml, "  mode: sync\n"));
  CHECK(absl::StrContains(yaml, "  lambda: 0.95\n"));
}

TEST_CASE("a config with fields of every kind changed renders and parses back equal") {
  ExperimentConfig c;
  c.run.name = "exp: 7";
  c.run.seed = 18446744073709551615ULL;
  c.run.iterations = 5000000000LL;
  c.run.mode = RunMode::kAsync;
  c.run.max_policy_lag = 2;
  c.run.log_level = log::Level::kDebug;
  c.data.prompt_format = PromptFormat::kChat;
  c.model.policy = "models/p";
  c.model.dtype = DType::kBF16;
  c.rollout.sampling.top_p = 0.9;
  c.rollout.sampling.stop_token_ids = {2, 32000};
  c.rollout.samples_per_prompt = 4;
  c.reward.rules.regex = {-0.5, "^\\s*I cannot"};
  c.learner.mode = LearnerMode::kReinforcePlusPlus;
  c.learner.learning_rate = 3e-7;
  c.ppo.kl_estimator = KlEstimator::kK3;
  c.ppo.dual_clip = 3.0;
  c.server.call_timeout = absl::Milliseconds(1500);
  c.server.tls = {"cert.pem", "key.pem", "ca.pem", true};
  c.safety.mode = SafetyMode::kOff;
  c.rounds.poll_interval = absl::Milliseconds(250);
  c.rounds.reward_model.heldout_fraction = 0.2;
  const ExperimentConfig back = ParseOk(ExperimentConfigYaml(c));
  CHECK(back == c);
}

TEST_CASE("the key `lambda` binds to PpoConfig::lambda_ and enums accept every spelling") {
  ExperimentConfig c = ParseOk(
      "ppo:\n  lambda: 0.9\n  kl_controller: adaptive\nlearner:\n  mode: reward-model\n"
      "  critic_init: policy\n  schedule: cosine\n  backend: gloo\nmodel:\n  dtype: f16\n"
      "  device: cuda\nrun:\n  log_level: warning\n");
  CHECK(c.ppo.lambda_ == 0.9);
  CHECK(c.ppo.kl_controller == KlController::kAdaptive);
  CHECK(c.learner.mode == LearnerMode::kRewardModel);
  CHECK(c.learner.critic_init == CriticInit::kPolicy);
  CHECK(c.learner.schedule == LrSchedule::kCosine);
  CHECK(c.model.dtype == DType::kF16);
  CHECK(c.run.log_level == log::Level::kWarning);
  CHECK(EnumName(LearnerMode::kReinforcePlusPlus) == "reinforce++");
}

TEST_CASE("ModelConfig paths fall back to the policy folder") {
  ExperimentConfig c = ParseOk("model:\n  policy: models/sft\n  tokenizer: tok\n");
  CHECK(c.model.ReferencePath() == "models/sft");
  CHECK(c.model.TokenizerPath() == "tok");
}

TEST_CASE("an unknown key names the full key, its line and a suggestion") {
  CHECK(ErrorOf("run:\n  seed: 1\nlearner:\n  lerning_rate: 1e-6\n") ==
        "run.yaml:4: unknown key 'learner.lerning_rate' (did you mean 'learning_rate'?)");
  CHECK(ErrorOf("rollout:\n  temperature: 0.7\n") ==
        "run.yaml:2: unknown key 'rollout.temperature' (did you mean "
        "'rollout.sampling.temperature'?)");
}

TEST_CASE("a bad value names the key path and line") {
  CHECK(ErrorOf("rollout:\n  sampling:\n    max_new_tokens: abc\n") ==
        "run.yaml:3: rollout.sampling.max_new_tokens: expected a positive integer, got 'abc'");
  CHECK(ErrorOf("run:\n  name: x\n  mode: fast\n") ==
        "run.yaml:3: run.mode: expected one of sync, async, got 'fast'");
  CHECK(ErrorOf("rollout:\n  sampling:\n    top_p: 0\n") ==
        "run.yaml:3: rollout.sampling.top_p: expected a number in (0, 1], got '0'");
  CHECK(ParseOk("rollout:\n  sampling:\n    top_p: 1\n").rollout.sampling.top_p == 1.0);
  CHECK(ErrorOf("learner:\n  ranks: 0\n") ==
        "run.yaml:2: learner.ranks: expected a positive integer, got '0'");
  CHECK(ErrorOf("server:\n  metrics_port: 70000\n") ==
        "run.yaml:2: server.metrics_port: expected an integer in [0, 65535], got '70000'");
  CHECK(ErrorOf("run:\n  seed: -3\n") ==
        "run.yaml:2: run.seed: expected a non-negative integer, got '-3'");
  CHECK(ErrorOf("server:\n  drain_timeout: 5\n") ==
        "run.yaml:2: server.drain_timeout: expected a non-negative duration such as 30s, 500ms "
        "or 2m, got '5'");
  CHECK(ErrorOf("ppo:\n  dual_clip: 0.5\n") ==
        "run.yaml:2: ppo.dual_clip: expected 0 (off) or a number above 1, got '0.5'");
}

TEST_CASE("learner.zero_stage is 0 or 1") {
  for (const char* bad : {"2", "-1"}) {
    CHECK(ErrorOf(absl::StrCat("learner:\n  zero_stage: ", bad, "\n")) ==
          absl::StrCat("run.yaml:2: learner.zero_stage: expected 0 (off) or 1 (optimizer state "
                       "sharded across learner.ranks), got '",
                       bad, "'"));
  }
  CHECK(ParseOk("").learner.zero_stage == 0);
  // Also on one rank (ranks defaults to 1), where there is nothing to shard and nothing changes.
  CHECK(ParseOk("learner:\n  zero_stage: 1\n").learner.zero_stage == 1);
}

TEST_CASE("learner.lora is off by default and its rank, alpha and target modules are checked") {
  const ExperimentConfig defaults = ParseOk("");
  CHECK(defaults.learner.lora.rank == 0);
  CHECK(defaults.learner.lora.target_modules.size() == 7);
  const ExperimentConfig on = ParseOk(
      "learner:\n  lora:\n    rank: 16\n    alpha: 32\n    target_modules: [q_proj, v_proj]\n");
  CHECK(on.learner.lora.rank == 16);
  CHECK(on.learner.lora.alpha == 32);
  CHECK(on.learner.lora.target_modules == std::vector<std::string>{"q_proj", "v_proj"});
  CHECK(ErrorOf("learner:\n  lora:\n    rank: -1\n") ==
        "run.yaml:3: learner.lora.rank: expected a non-negative integer, got '-1'");
  CHECK(ErrorOf("learner:\n  lora:\n    target_modules: [q_proj, c_attn]\n")
            .find("learner.lora.target_modules[1]: expected one of q_proj, k_proj") !=
        std::string::npos);
  CHECK(ErrorOf("learner:\n  lora:\n    rank: 8\n    target_modules: [q_proj, q_proj]\n")
            .find("each once") != std::string::npos);
}

TEST_CASE("wrong node kinds and syntax errors name the line") {
  CHECK(ErrorOf("rollout: [1, 2]\n") == "run.yaml:1: rollout: expected a map, got a list");
  CHECK(ErrorOf("- run\n") == "run.yaml:1: expected a map of sections, got a list");
  CHECK(absl::StartsWith(ErrorOf("run:\n  name: a\n   seed: 1\n"), "run.yaml:3: invalid YAML"));
}

TEST_CASE("cross-field checks name the keys involved") {
  CHECK(ErrorOf("server:\n  tls:\n    key: k.pem\n") ==
        "run.yaml:3: server.tls.key: server.tls.key is set but server.tls.cert is empty; TLS "
        "needs both");
  CHECK(ErrorOf(
            "server:\n  tls:\n    cert: c.pem\n    key: k.pem\n    require_client_cert: true\n") ==
        "run.yaml:5: server.tls.require_client_cert: server.tls.require_client_cert needs "
        "server.tls.client_ca to verify clients against");
  CHECK(ErrorOf("learner:\n  mode: grpo\n") ==
        "run.yaml:2: learner.mode: learner.mode grpo compares responses to the same prompt, so "
        "needs rollout.samples_per_prompt >= 2");
  CHECK(ErrorOf("learner:\n  ranks: 3\n") ==
        "run.yaml:2: learner.ranks: rollout.batch_size * rollout.samples_per_prompt (64) must "
        "divide evenly into ppo.minibatches * learner.ranks (3)");
  CHECK(ErrorOf("learner:\n  backend: nccl\n") ==
        "run.yaml:2: learner.backend: learner.backend nccl needs model.device cuda; use gloo or "
        "auto on CPU");
  CHECK(ErrorOf("run:\n  mode: async\n  max_policy_lag: 0\n") ==
        "run.yaml:3: run.max_policy_lag: async mode needs run.max_policy_lag >= 1 (0 would drop "
        "every sample)");
  CHECK(ErrorOf("reward:\n  rules:\n    regex:\n      weight: 1\n") ==
        "run.yaml:4: reward.rules.regex.weight: reward.rules.regex.weight is set but "
        "reward.rules.regex.pattern is empty");
  // Supervised modes have no rollout batch to divide.
  CHECK(ParseOk("learner:\n  mode: sft\n  ranks: 3\n").learner.ranks == 3);
}

TEST_CASE("rounds set the run's length and check what a round needs") {
  const std::string base =
      "learner: {critic_init: policy}\nfeedback: {admin_token_file: admin.token}\n";
  const ExperimentConfig c =
      ParseOk(base + "rounds: {count: 3, iterations: 20, reward_model: {data: round}}\n");
  CHECK(c.run.iterations == 60);
  CHECK(c.rounds.reward_model.data == RoundData::kRound);
  CHECK(ParseOk(ExperimentConfigYaml(c)) == c);  // the rendered run.iterations agrees
  CHECK(ParseOk(base + "run: {iterations: 60}\nrounds: {count: 3, iterations: 20}\n")
            .run.iterations == 60);
  CHECK_THAT(ErrorOf(base + "run: {iterations: 50}\nrounds: {count: 3, iterations: 20}\n"),
             Catch::Contains("run.yaml:3: run.iterations: with rounds, run.iterations is "
                             "rounds.count × rounds.iterations (60); leave it out"));
  CHECK_THAT(ErrorOf("learner: {mode: sft}\nfeedback: {admin_token_file: t}\n"
                     "rounds: {count: 2}\n"),
             Catch::Contains("rounds need an RL learner.mode"));
  CHECK_THAT(ErrorOf("learner: {critic_init: policy}\nrounds: {count: 2}\n"),
             Catch::Contains("rounds need feedback.admin_token_file"));
  CHECK_THAT(ErrorOf("feedback: {admin_token_file: t}\nrounds: {count: 2}\n"),
             Catch::Contains("set learner.critic_init policy"));
  CHECK_THAT(ErrorOf(base + "rounds: {count: 2, prompts_per_round: 10, overlap: 2, "
                            "judgements: 21}\n"),
             Catch::Contains("rounds.judgements is more than prompts_per_round × overlap"));
  CHECK_THAT(ErrorOf(base + "rounds: {count: 2, reward_model: {heldout_fraction: 1}}\n"),
             Catch::Contains("rounds.reward_model.heldout_fraction"));
  // Without rounds nothing about them is checked.
  CHECK(ParseOk("run: {iterations: 7}\n").run.iterations == 7);
}

TEST_CASE("a sampling temperature is 0 (greedy) or large enough to divide logits by") {
  CHECK(ParseOk("rollout: {sampling: {temperature: 0}}\n").rollout.sampling.temperature == 0);
  CHECK(ParseOk("rollout: {sampling: {temperature: 0.7}}\n").rollout.sampling.temperature == 0.7);
  CHECK_THAT(ErrorOf("rollout: {sampling: {temperature: 0.00001}}\n"),
             Catch::Contains("rollout.sampling.temperature") &&
                 Catch::Contains("0 (greedy) or a number in [0.001, 1e6]"));
}

TEST_CASE("cross-field checks are skipped while single fields are wrong") {
  CHECK(ErrorOf("server:\n  tls:\n    key: k.pem\n  host: [x]\n") ==
        "run.yaml:4: server.host: expected a non-empty string, got a list");
}

TEST_CASE("the example config under deploy/ parses") {
  const std::string path = SourceDir() + "/deploy/config/example.yaml";
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(path);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->learner.mode == LearnerMode::kPpo);
  CHECK(config->learner.backend == CollectiveBackend::kGloo);
  CHECK(config->model.device == Device::kCpu);
  CHECK(config->rollout.replicas == 2);
  CHECK(config->ppo.kl_controller == KlController::kAdaptive);
  CHECK(config->server.call_timeout == absl::Minutes(2));
  CHECK(config->model.ReferencePath() == config->model.policy);
}

TEST_CASE("loading names the path of a missing or unusable file") {
  const std::string missing = SourceDir() + "/deploy/config/no-such-file.yaml";
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(missing);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(config.status().message(), missing));

  const std::string dir = SourceDir() + "/deploy/config";
  config = LoadExperimentConfig(dir);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(config.status().message(), dir));
}

TEST_CASE("errors from a loaded file start with its path") {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() /
      absl::StrCat("rein_config_test_", std::to_string(::getpid()), ".yaml");
  {
    std::ofstream out(file);
    out << "run:\n  iterations: -1\n";
  }
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(file.string());
  std::filesystem::remove(file);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message() ==
        absl::StrCat(file.string(), ":2: run.iterations: expected a positive integer, got '-1'"));
}

}  // namespace
}  // namespace rein::config

namespace rein::config {
namespace {

TEST_CASE("server.auth: a token per role, worker and operator required, not with auth_token_file") {
  const ExperimentConfig c = ParseOk(
      "server:\n  auth:\n    worker_token_file: w\n    operator_token_file: o\n"
      "    monitor_token_file: m\n");
  CHECK(c.server.auth.worker_token_file == "w");
  CHECK(c.server.auth.operator_token_file == "o");
  CHECK(c.server.auth.monitor_token_file == "m");
  CHECK(ParseOk(ExperimentConfigYaml(c)) == c);
  CHECK(ErrorOf("server:\n  auth:\n    worker_token_file: w\n") ==
        "run.yaml:3: server.auth.worker_token_file: server.auth needs operator_token_file: the "
        "coordinator and reinctl present it");
  CHECK_THAT(ErrorOf("server:\n  auth:\n    operator_token_file: o\n"),
             Catch::Contains("server.auth needs worker_token_file"));
  CHECK_THAT(ErrorOf("server:\n  auth_token_file: t\n  auth:\n    worker_token_file: w\n"
                     "    operator_token_file: o\n"),
             Catch::Contains("run.yaml:2: server.auth_token_file:") &&
                 Catch::Contains("exclude each other"));
  // Rounds may take the admin token from the operator's.
  CHECK(ParseOk("learner: {critic_init: policy}\nrounds: {count: 2}\n"
                "server: {auth: {worker_token_file: w, operator_token_file: o}}\n")
            .rounds.count == 2);
}

}  // namespace
}  // namespace rein::config
