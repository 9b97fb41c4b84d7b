// Exports are read by the learner's own loaders as they are.
#include "services/feedback/formats/export_formats.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/data/training_examples.h"
#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"

namespace rein::feedback {
namespace {

const tokenizer::Tokenizer& Qwen3() {
  static auto* tok = [] {
    auto dir = testing::CachedTokenizerDir("qwen3");
    REQUIRE(dir.ok());
    return tokenizer::Tokenizer::FromDirectory(*dir)->release();
  }();
  return *tok;
}

Item ThreeResponses(bool chat) {
  Item item;
  item.id = "it_1";
  item.prompt = "Name a colour.";
  if (chat) item.context = {{"user", "Name a colour."}};
  item.responses = {{"Blue.", {}}, {"Seven.", {}}, {"Red, or \"crimson\" \xf0\x9f\x94\xb4.", {}}};
  return item;
}

std::string WriteFile(const std::string& text) {
  const std::string path = testing::MakeTempDir("rein-export") + "/out.jsonl";
  std::ofstream(path) << text;
  return path;
}

TEST_CASE("pairs, rankings and ratings exports load as preference data") {
  for (bool chat : {false, true}) {
    INFO("chat " << chat);
    const Item item = ThreeResponses(chat);
    const std::string text = PairLine(item, 0, 1, 0.5) + RankingLine(item, {2, 0, 1}) +
                             RatingLine(item, {6.5, 1, 4});
    data::TrainingDataOptions options;
    auto dataset = data::LoadPreferenceDataset(WriteFile(text), Qwen3(), options);
    INFO(dataset.status());
    REQUIRE(dataset.ok());
    REQUIRE((*dataset)->size() == 3);
    const auto& examples = (*dataset)->examples();
    CHECK(examples[0].responses.size() == 2);
    CHECK(examples[0].margin == 0.5f);
    CHECK(examples[1].responses.size() == 3);
    CHECK(examples[2].responses.size() == 3);
    // The ratings line orders best first: "Blue." (6.5) before "Red..." (4) before "Seven." (1).
    CHECK(examples[2].responses[0] == examples[1].responses[1]);
  }
}

TEST_CASE("demonstrations load as SFT data; judgement lines carry what was recorded") {
  for (bool chat : {false, true}) {
    const Item item = ThreeResponses(chat);
    data::TrainingDataOptions options;
    auto sft = data::LoadSftDataset(WriteFile(DemonstrationLine(item, "Green.")), Qwen3(), options);
    INFO(sft.status());
    REQUIRE(sft.ok());
    CHECK((*sft)->size() == 1);
  }
  Item item = ThreeResponses(false);
  item.responses[0].provenance.policy_version = 4;
  Judgement j;
  j.id = "jd_1";
  j.item_id = item.id;
  j.answers.ranks = {2, 3, 1};
  j.shown_order = {2, 0, 1};
  j.seconds_spent = 9.25;
  Annotator a;
  a.id = "an_1";
  a.name = "alice";
  nlohmann::json line = nlohmann::json::parse(JudgementLine(item, j, a));
  CHECK(line["judgement_id"] == "jd_1");
  CHECK(line["annotator"] == "alice");
  CHECK(line["answers"]["ranks"] == std::vector<int>{2, 3, 1});
  CHECK(line["shown_order"] == std::vector<int>{2, 0, 1});
  CHECK(line["provenance"][0]["policy_version"] == 4);
  CHECK(line["status"] == "submitted");
  nlohmann::json unpaired = nlohmann::json::parse(UnpairedLine(item, 1, false, {FlagCategory::kIncorrect}));
  CHECK(unpaired["completion"] == "Seven.");
  CHECK(unpaired["label"] == false);
  CHECK(unpaired["categories"][0] == "incorrect");
}

}  // namespace
}  // namespace rein::feedback
