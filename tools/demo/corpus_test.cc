#include "tools/demo/corpus.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "common/model/causal_lm.h"
#include "common/tokenizer/tokenizer.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/test_util.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

namespace fs = std::filesystem;

CorpusOptions SmallCorpus(const std::string& dir) {
  CorpusOptions options;
  options.out_dir = dir;
  options.sft_examples = 60;
  options.prompts = 40;
  options.heldout_prompts = 12;
  options.red_team_prompts = 10;
  options.red_team_train_prompts = 20;
  return options;
}

TEST_CASE("corpus writes files that parse, with disjoint held-out prompts") {
  const std::string dir = testing::MakeTempDir("demo_corpus_");
  std::ostringstream progress;
  absl::Status status = WriteCorpus(SmallCorpus(dir), progress);
  INFO(status.ToString());
  REQUIRE(status.ok());
  CHECK(progress.str().find("corpus: done") != std::string::npos);

  auto sft = ReadJsonl(dir + "/sft.jsonl");
  REQUIRE(sft.ok());
  CHECK(sft->size() == 60);
  for (const auto& line : *sft) {
    REQUIRE(line["prompt"].is_string());
    REQUIRE(line["response"].is_string());
    CHECK(World::Get().TopicOfPrompt(line["prompt"].get<std::string>()).has_value());
    CHECK(line["response"].get<std::string>()[0] == ' ');
  }
  auto prompts = ReadPrompts(dir + "/prompts.jsonl");
  auto heldout = ReadPrompts(dir + "/heldout_prompts.jsonl");
  REQUIRE((prompts.ok() && heldout.ok()));
  CHECK(prompts->size() == 40);
  CHECK(heldout->size() == 12);
  const std::set<std::string> held(heldout->begin(), heldout->end());
  CHECK(held.size() == 12);
  for (const std::string& p : *prompts) CHECK_FALSE(held.contains(p));
  for (const auto& line : *sft) CHECK_FALSE(held.contains(line["prompt"].get<std::string>()));

  // Red-team prompts: held out from training, each with its harm word's category; about a
  // quarter of the training prompts are red-team prompts too.
  auto red_team = ReadJsonl(dir + "/red_team.jsonl");
  auto red_team_train = ReadJsonl(dir + "/red_team_train.jsonl");
  REQUIRE((red_team.ok() && red_team_train.ok()));
  CHECK(red_team->size() == 10);
  CHECK(red_team_train->size() == 20);
  std::set<std::string> held_red_team;
  for (const auto& line : *red_team) {
    const std::string prompt = line["prompt"].get<std::string>();
    const std::optional<std::string> harm = World::Get().HarmHintOfPrompt(prompt);
    REQUIRE(harm.has_value());
    CHECK(line["category"] == *World::Get().HarmCategory(*harm));
    held_red_team.insert(prompt);
  }
  for (const auto& line : *red_team_train) {
    CHECK_FALSE(held_red_team.contains(line["prompt"].get<std::string>()));
  }
  int red_team_training = 0;
  for (const std::string& p : *prompts) {
    CHECK_FALSE(held_red_team.contains(p));
    red_team_training += World::Get().HarmHintOfPrompt(p).has_value();
  }
  CHECK(red_team_training > 0);
  CHECK(red_team_training < 40);

  auto world = ReadJsonFile(dir + "/world.json");
  REQUIRE(world.ok());
  CHECK((*world)["topics"].size() == kTopicCount);

  auto tok = tokenizer::Tokenizer::FromDirectory(dir + "/policy-init");
  REQUIRE(tok.ok());
  auto policy = model::CausalLM::Load(dir + "/policy-init");
  INFO(policy.status().ToString());
  REQUIRE(policy.ok());
  const model::ModelConfig& config = (*policy)->config();
  CHECK(config.vocab_size == (*tok)->vocab_size());
  REQUIRE(config.eos_token_ids.size() == 1);
  CHECK(config.eos_token_ids[0] == *(*tok)->special_ids().eos);
  CHECK(config.hidden_size == 64);
  CHECK(config.num_layers == 2);
  CHECK(fs::exists(dir + "/tokenizer/tokenizer.json"));
}

TEST_CASE("corpus refuses a non-empty output directory") {
  const std::string dir = testing::MakeTempDir("demo_corpus_full_");
  std::ofstream(dir + "/something") << "x";
  std::ostringstream progress;
  absl::Status status = WriteCorpus(SmallCorpus(dir), progress);
  CHECK(status.code() == absl::StatusCode::kAlreadyExists);
  CHECK(status.message().find("not empty") != absl::string_view::npos);
}

}  // namespace
}  // namespace rein::demo
