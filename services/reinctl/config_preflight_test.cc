// PreflightProblems over small folders written here: config.json files (the weights are
// only looked for, never read) and the tiny GPT-2 tokenizer of tests/data (267 tokens, eos
// '<|endoftext|>' = 266).
#include "services/reinctl/config_preflight.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

namespace fs = std::filesystem;

constexpr int kTokenizerSize = 267;
constexpr int kTokenizerEos = 266;

// A folder of files for one test: model folders, the tokenizer and a prompts file, and a ppo
// config over them that passes.
struct World {
  std::string dir = testing::MakeTempDir("rein-preflight-");
  config::ExperimentConfig c;

  World() {
    const fs::path tokenizer = fs::path(dir) / "tokenizer";
    fs::create_directories(tokenizer);
    for (const char* name : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
      fs::copy_file(testing::SourcePath("tests/data/tokenizer/tiny_gpt2") + "/" + name,
                    tokenizer / name);
    }
    std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"hi\"}\n";
    c.model.policy = Model("policy", 1000, kTokenizerEos);
    c.model.reward_model = Model("rm", 1000, kTokenizerEos);
    c.model.tokenizer = tokenizer.string();
    c.data.prompts = dir + "/prompts.jsonl";
    c.learner.mode = config::LearnerMode::kPpo;
    c.learner.critic_init = config::CriticInit::kRewardModel;
  }

  // A model folder `name` whose config.json is tiny-llama's with `vocab_size` and `eos`.
  std::string Model(const std::string& name, int64_t vocab_size, nlohmann::json eos) {
    std::ifstream in(testing::SourcePath("tests/data/models/tiny-llama/config.json"));
    nlohmann::json config = nlohmann::json::parse(in);
    config["vocab_size"] = vocab_size;
    config["eos_token_id"] = eos;
    config["bos_token_id"] = kTokenizerEos;
    const fs::path folder = fs::path(dir) / name;
    fs::create_directories(folder);
    std::ofstream(folder / "config.json") << config.dump(2);
    std::ofstream(folder / "model.safetensors") << "";
    return folder.string();
  }

  std::string Problems() const { return absl::StrJoin(PreflightProblems(c), "\n"); }
};

bool Has(const std::string& text, absl::string_view part) { return absl::StrContains(text, part); }

TEST_CASE("preflight passes a config whose files exist and agree") {
  World w;
  CHECK(w.Problems().empty());
}

TEST_CASE("preflight names a missing policy folder by its key") {
  World w;
  w.c.model.policy = w.dir + "/nowhere";
  CHECK(Has(w.Problems(), "model.policy: '" + w.dir + "/nowhere' does not exist"));
}

TEST_CASE("preflight wants config.json and weights in a model folder") {
  World w;
  fs::remove(fs::path(w.c.model.reward_model) / "model.safetensors");
  fs::remove(fs::path(w.c.model.reward_model) / "config.json");
  const std::string problems = w.Problems();
  CHECK(Has(problems, "model.reward_model: '" + w.c.model.reward_model + "' holds no weights"));
  CHECK(Has(problems, "model.reward_model: '" + w.c.model.reward_model + "' has no config.json"));
}

TEST_CASE("preflight accepts sharded weights with their index") {
  World w;
  w.c.model.policy = testing::SourcePath("tests/data/models/tiny-llama-bf16-sharded");
  // Its config's eos (2) is not the tokenizer's: only that, nothing about the folder.
  const std::string problems = w.Problems();
  CHECK(!Has(problems, "weights"));
  CHECK(Has(problems, "model.policy: config.json eos_token_id 2 but"));
}

TEST_CASE("preflight names a missing data file by its key") {
  World w;
  w.c.data.prompts = w.dir + "/missing.jsonl";
  CHECK(Has(w.Problems(), "data.prompts: '" + w.dir + "/missing.jsonl' does not exist"));
  w.c.learner.mode = config::LearnerMode::kSft;
  w.c.data.train = "";
  CHECK(Has(w.Problems(), "data.train: not set"));
}

TEST_CASE("preflight looks only at the files the mode uses") {
  World w;
  w.c.learner.mode = config::LearnerMode::kSft;
  w.c.data.train = w.c.data.prompts;
  w.c.data.prompts = w.dir + "/not-read-by-sft.jsonl";
  w.c.model.reward_model = w.dir + "/not-loaded-by-sft";
  w.c.model.reference = w.dir + "/no-reference-in-sft";
  CHECK(w.Problems().empty());
}

TEST_CASE("preflight reports policy and reference of different vocabularies") {
  World w;
  w.c.model.reference = w.Model("ref", 1024, kTokenizerEos);
  CHECK(Has(w.Problems(), "model.reference: vocab_size 1024 but model.policy has 1000"));
}

TEST_CASE("preflight reports a tokenizer larger than a model's vocabulary") {
  World w;
  w.c.model.reward_model = w.Model("small-rm", 200, 199);
  const std::string problems = w.Problems();
  CHECK(Has(problems, "model.reward_model: vocab_size 200 but model.tokenizer's tokenizer has " +
                          std::to_string(kTokenizerSize) + " tokens"));
  CHECK(Has(problems, "model.reward_model: vocab_size 200 but model.policy has 1000"));
}

TEST_CASE("preflight accepts a padded vocabulary") {
  World w;
  w.c.model.policy = w.Model("padded", kTokenizerSize + 61, kTokenizerEos);
  w.c.model.reward_model = w.Model("padded-rm", kTokenizerSize + 61, kTokenizerEos);
  CHECK(w.Problems().empty());
}

TEST_CASE("preflight reports an eos that is not the tokenizer's, as an int or a list") {
  World w;
  w.c.model.policy = w.Model("other-eos", 1000, 2);
  CHECK(Has(w.Problems(),
            "model.policy: config.json eos_token_id 2 but model.tokenizer's "
            "tokenizer has eos_token '<|endoftext|>' (id 266)"));
  w.c.model.policy = w.Model("eos-list", 1000, nlohmann::json::array({5, kTokenizerEos}));
  CHECK(w.Problems().empty());
  w.c.model.policy = w.Model("eos-beyond", 1000, nlohmann::json::array({kTokenizerEos, 500}));
  CHECK(Has(w.Problems(), "model.policy: config.json eos_token_id 500 is not a token of"));
}

TEST_CASE("preflight reports ppo's critic_init reward-model without a reward model") {
  World w;
  w.c.model.reward_model = "";
  const std::string problems = w.Problems();
  CHECK(Has(problems,
            "model.reward_model: ppo with learner.critic_init reward-model needs a "
            "reward model folder"));
  CHECK(Has(problems,
            "model.reward_model: no reward model (model.reward_model) and no rule "
            "reward with a weight: nothing to score with"));
  w.c.learner.critic_init = config::CriticInit::kPolicy;
  w.c.reward.rules.length_penalty.weight = 0.1;
  CHECK(w.Problems().empty());
}

TEST_CASE("preflight takes the tokenizer from the policy folder when model.tokenizer is empty") {
  World w;
  w.c.model.tokenizer = "";
  CHECK(Has(w.Problems(), "model.policy: no tokenizer"));
  for (const char* name : {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
    fs::copy_file(fs::path(w.dir) / "tokenizer" / name, fs::path(w.c.model.policy) / name);
  }
  CHECK(w.Problems().empty());
}

TEST_CASE("preflight checks secrets: role tokens only need a folder reinctl up can write in") {
  World w;
  w.c.server.tls.cert = w.dir + "/cert.pem";
  w.c.server.tls.key = w.dir + "/key.pem";
  w.c.server.auth.worker_token_file = w.dir + "/worker.token";  // made by reinctl up
  w.c.server.auth.operator_token_file = w.dir + "/no-such-folder/operator.token";
  const std::string problems = w.Problems();
  CHECK(Has(problems, "server.tls.cert: '" + w.dir + "/cert.pem' does not exist"));
  CHECK(Has(problems, "server.tls.key: '" + w.dir + "/key.pem' does not exist"));
  CHECK(!Has(problems, "server.auth.worker_token_file"));
  CHECK(Has(problems, "server.auth.operator_token_file: the folder of '" + w.dir +
                          "/no-such-folder/operator.token' does not exist"));
}

TEST_CASE("preflight reports every problem at once") {
  World w;
  w.c.model.policy = w.dir + "/no-policy";
  w.c.model.reward_model = w.Model("small-rm", 100, kTokenizerEos);
  w.c.data.prompts = w.dir + "/no-prompts.jsonl";
  w.c.eval.red_team = w.dir + "/no-red-team.jsonl";
  const std::vector<std::string> problems = PreflightProblems(w.c);
  CHECK(problems.size() == 4);
  const std::string text = absl::StrJoin(problems, "\n");
  CHECK(Has(text, "model.policy: '"));
  CHECK(Has(text, "data.prompts: '"));
  CHECK(Has(text, "eval.red_team: '"));
  CHECK(Has(text, "model.reward_model: vocab_size 100 but model.tokenizer's tokenizer has"));
}

}  // namespace
}  // namespace rein::reinctl
