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
