// Exports must be read by the learner's own loaders as they are: these tests write the lines to
// a file and load it with rein::data, the code `reinctl up` runs.
#include "services/feedback/formats/export_formats.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/data/training_examples.h"
#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"
#include "services/feedback/formats/import_formats.h"

namespace rein::feedback {
namespace {

using Json = nlohmann::json;
using tokenizer::TokenId;

const tokenizer::Tokenizer& Qwen3() {
  static auto* tok = [] {
    auto dir = testing::CachedTokenizerDir("qwen3");
    REQUIRE(dir.ok());
    return tokenizer::Tokenizer::FromDirectory(*dir)->release();
  }();
  return *tok;
}

std::vector<TokenId> WithEos(const std::string& text) {
  std::vector<TokenId> ids = *Qwen3().Encode(text);
  ids.push_back(*Qwen3().special_ids().eos);
  return ids;
}

Item ThreeResponses(bool chat) {
  Item item;
  item.id = "it_1";
  item.prompt = "Name a colour.";
  if (chat) item.context = {{"system", "Be brief."}, {"user", "Name a colour."}};
  item.responses = {{"Blue.", {}}, {"Seven.", {}}, {"Red, or \"crimson\" \xf0\x9f\x94\xb4.", {}}};
  return item;
}

std::string WriteFile(const std::string& text) {
  static const std::string dir = testing::MakeTempDir("rein-feedback-export-");
  static int n = 0;
  const std::string path = dir + "/out" + std::to_string(n++) + ".jsonl";
  std::ofstream(path) << text;
  return path;
}

std::string Must(const absl::StatusOr<std::string>& line) {
  INFO(line.status());
  REQUIRE(line.ok());
  CHECK(line->back() == '\n');
  CHECK(std::count(line->begin(), line->end(), '\n') == 1);
  return *line;
}

TEST_CASE("pairs, rankings and ratings exports load as preference data, plain and chat") {
  for (bool chat : {false, true}) {
    INFO("chat " << chat);
    const Item item = ThreeResponses(chat);
    const std::string text = Must(ExportLine(PairRecord{&item, 2, 1, 0.5})) +
                             Must(ExportLine(RankingRecord{&item, {2, 0, 1}, 0.25})) +
                             Must(ExportLine(RatingRecord{&item, {4.25, 1, 6.5}}));
    data::TrainingDataOptions options;  // auto: chat, since Qwen3 has a chat format
    if (!chat) options.format = data::PromptFormat::kText;
    auto dataset = data::LoadPreferenceDataset(WriteFile(text), Qwen3(), options);
    INFO(dataset.status());
    REQUIRE(dataset.ok());
    const auto& examples = (*dataset)->examples();
    REQUIRE(examples.size() == 3);
    const std::string prompt = *Qwen3().Decode(examples[0].prompt_ids);
    if (chat) {
      CHECK(prompt ==
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n"
            "<|im_start|>assistant\n");
    } else {
      CHECK(prompt == "Name a colour.");
    }
    CHECK(examples[0].responses == std::vector{WithEos(item.responses[2].text), WithEos("Seven.")});
    CHECK(examples[0].margin == 0.5f);
    CHECK(examples[1].responses ==
          std::vector{WithEos(item.responses[2].text), WithEos("Blue."), WithEos("Seven.")});
    // Non-integer mean ratings are taken as they are: Red 6.5 > Blue 4.25 > Seven 1.
    CHECK(examples[2].responses == examples[1].responses);
    CHECK(examples[2].tied_with_next == std::vector<bool>{false, false});
    CHECK(examples[2].prompt_ids == examples[0].prompt_ids);
  }
}

TEST_CASE("demonstrations load as SFT data, plain and chat") {
  for (bool chat : {false, true}) {
    INFO("chat " << chat);
    const Item item = ThreeResponses(chat);
    const std::string line = Must(ExportLine(DemonstrationRecord{&item, "Green.", "an_7"}));
    CHECK(Json::parse(line)["annotator_id"] == "an_7");
    data::TrainingDataOptions options;
    auto sft = data::LoadSftDataset(WriteFile(line), Qwen3(), options);
    INFO(sft.status());
    REQUIRE(sft.ok());
    REQUIRE((*sft)->size() == 1);
    CHECK((*sft)->examples()[0].response_ids == WithEos("Green."));
    // prompt_format auto (the default): a chat item's messages through the chat template, a
    // plain item's prompt as it is.
    CHECK(*Qwen3().Decode((*sft)->examples()[0].prompt_ids) ==
          (chat ? "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nName a "
                  "colour.<|im_end|>\n<|im_start|>assistant\n"
                : "Name a colour."));
  }
}

TEST_CASE("chat items: the prompt is appended unless the context already ends with it") {
  Item item = ThreeResponses(true);
  Json same = Json::parse(PairLine(item, 0, 1, 0));
  CHECK(same["messages"].size() == 2);
  CHECK_FALSE(same.contains("prompt"));
  item.context = {{"user", "Hi"}, {"assistant", "Hello!"}};
  Json appended = Json::parse(PairLine(item, 0, 1, 0));
  REQUIRE(appended["messages"].size() == 3);
  CHECK(appended["messages"][2] == Json({{"role", "user"}, {"content", "Name a colour."}}));
}

TEST_CASE("imported chat pairs export their context unchanged") {
  auto pairs = ParsePreferenceJsonl(
      R"({"chosen": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Name a colour.\n\nAssistant: Blue.",)"
      R"( "rejected": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Name a colour.\n\nAssistant: 7"})");
  REQUIRE(pairs.ok());
  const ImportedPair& pair = pairs->front();
  Item item;
  item.prompt = pair.prompt;
  item.context = pair.context;
  item.responses = {{pair.chosen, {}}, {pair.rejected, {}}};
  Json line = Json::parse(PairLine(item, 0, 1, 1));
  CHECK(line["messages"].size() == 3);
  CHECK(line["messages"][2]["content"] == "Name a colour.");
  CHECK(line["chosen"] == "Blue.");
}

TEST_CASE("unpaired and judgement lines carry what was recorded") {
  Item item = ThreeResponses(false);
  item.external_id = "p-42";
  item.responses[0].provenance.policy_version = 4;
  item.responses[0].provenance.sampling_json = R"({"temperature": 0.7})";
  item.responses[1].provenance.sampling_json = "not json";
  Json unpaired =
      Json::parse(Must(ExportLine(UnpairedRecord{&item, 1, false, {FlagCategory::kIncorrect}})));
  CHECK(unpaired == Json::parse(R"({"prompt": "Name a colour.", "completion": "Seven.",
                                    "label": false, "categories": ["incorrect"]})"));

  Judgement j;
  j.id = "jd_1";
  j.item_id = item.id;
  j.campaign_id = "cp_1";
  j.status = JudgementStatus::kDraft;
  j.answers.ranks = {2, 3, 1};
  j.shown_order = {2, 0, 1};
  j.seconds_spent = 9.25;
  j.guideline_version = 3;
  j.created_us = 1764633600000000;
  Annotator a;
  a.id = "an_1";
  a.name = "alice";
  a.synthetic = true;
  Json line = Json::parse(Must(ExportJudgementLine(item, j, a)));
  CHECK(line["judgement_id"] == "jd_1");
  CHECK(line["item_id"] == "it_1");
  CHECK(line["external_id"] == "p-42");
  CHECK(line["annotator_id"] == "an_1");
  CHECK(line["annotator_name"] == "alice");
  CHECK(line["annotator_synthetic"] == true);
  CHECK(line["status"] == "draft");
  CHECK(line["answers"] == Json::parse(R"({"ranks": [2, 3, 1]})"));
  CHECK(line["shown_order"] == Json::array({2, 0, 1}));
  CHECK(line["seconds_spent"] == 9.25);
  CHECK(line["guideline_version"] == 3);
  CHECK(line["created_us"] == 1764633600000000);
  CHECK(line["responses"][0]["provenance"]["policy_version"] == 4);
  CHECK(line["responses"][0]["provenance"]["sampling"]["temperature"] == 0.7);
  CHECK(line["responses"][1]["provenance"]["sampling"] == "not json");
  CHECK(line["responses"][2]["text"] == item.responses[2].text);
  CHECK(JudgementLine(item, j, a) == Must(ExportJudgementLine(item, j, a)));
}

TEST_CASE("records the learner would refuse are refused, never thrown on") {
  Item item = ThreeResponses(false);
  const double nan = std::nan("");
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{nullptr, 0, 1, 0}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{&item, 0, 3, 0}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{&item, -1, 0, 0}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{&item, 1, 1, 0}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{&item, 0, 1, -0.5}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{&item, 0, 1, nan}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(RankingRecord{&item, {0, 1}, 0}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(RankingRecord{&item, {0, 0, 1}, 0}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(RatingRecord{&item, {3, 3, 3}}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(RatingRecord{&item, {3, 4}}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(RatingRecord{&item, {3, nan, 1}}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(UnpairedRecord{&item, 5, true, {}}).status()));
  CHECK(absl::IsInvalidArgument(ExportLine(DemonstrationRecord{&item, "", ""}).status()));
  CHECK(PairLine(item, 0, 7, 0).empty());  // the shorthand writes no line
  item.responses[1].text.clear();
  CHECK(absl::IsInvalidArgument(ExportLine(PairRecord{&item, 0, 1, 0}).status()));
}

TEST_CASE("invalid UTF-8 in stored text is replaced, never thrown on") {
  Item item = ThreeResponses(false);
  item.prompt = "bad \xff\xfe bytes";
  item.responses[0].text = "half \xf0\x9f";
  const std::string line = Must(ExportLine(PairRecord{&item, 0, 1, 0}));
  Json json = Json::parse(line);  // valid UTF-8 JSON again
  CHECK(json["prompt"] == "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
  CHECK(json["chosen"].get<std::string>().rfind("half ", 0) == 0);
}

}  // namespace
}  // namespace rein::feedback
