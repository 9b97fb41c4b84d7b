#include "common/data/training_examples.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>

#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"

namespace rein::data {
namespace {

std::string WriteJsonl(const std::string& name, const std::string& text) {
  static const std::string dir = testing::MakeTempDir("rein-training-examples-");
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const tokenizer::Tokenizer& Qwen3() {
  static auto* tok = [] {
    auto dir = testing::CachedTokenizerDir("qwen3");
    REQUIRE(dir.ok());
    return tokenizer::Tokenizer::FromDirectory(*dir)->release();
  }();
  return *tok;
}

TrainingDataOptions Text() {
  TrainingDataOptions options;
  options.format = PromptFormat::kText;
  return options;
}

std::vector<tokenizer::TokenId> WithEos(const std::string& text) {
  std::vector<tokenizer::TokenId> ids = *Qwen3().Encode(text);
  ids.push_back(*Qwen3().special_ids().eos);
  return ids;
}

TEST_CASE("SFT records: prompt/response and messages ending with the assistant turn") {
  std::string path = WriteJsonl(
      "sft.jsonl",
      "{\"prompt\": \"Q:\", \"response\": \" yes\"}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
      " {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n");
  TrainingDataOptions options;  // auto: Qwen3 has a chat format
  auto dataset = LoadSftDataset(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  REQUIRE((*dataset)->size() == 2);
  std::vector<SftExample> batch = (*dataset)->Next(3);  // wraps around
  CHECK(batch[0].response_ids == WithEos(" yes"));
  CHECK(*Qwen3().Decode(batch[1].prompt_ids) ==
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(batch[1].response_ids == WithEos("Hello"));
  CHECK(batch[2].response_ids == batch[0].response_ids);
  CHECK((*dataset)->cursor() == 3);
}

TEST_CASE("preference records: pairs, rankings and ratings, best first") {
  std::string path = WriteJsonl(
      "prefs.jsonl",
      "{\"prompt\": \"p\", \"chosen\": \" a\", \"rejected\": \" b\", \"margin\": 0.5}\n"
      "{\"prompt\": \"p\", \"ranked\": [\" a\", \" b\", \" c\"]}\n"
      "{\"prompt\": \"p\", \"responses\": [\" a\", \" b\", \" c\"], \"ratings\": [1, 5, 1]}\n");
  auto dataset = LoadPreferenceDataset(path, Qwen3(), Text());
  REQUIRE(dataset.ok());
  const auto& examples = (*dataset)->examples();
  REQUIRE(examples.size() == 3);
  CHECK(examples[0].responses == std::vector{WithEos(" a"), WithEos(" b")});
  CHECK(examples[0].margin == 0.5f);
  CHECK(examples[0].tied_with_next == std::vector<bool>{false});
  CHECK(examples[1].responses.size() == 3);
  CHECK(examples[1].responses[2] == WithEos(" c"));
  // Ratings: " b" (5) first, then " a" and " c" (both 1) tied.
  CHECK(examples[2].responses == std::vector{WithEos(" b"), WithEos(" a"), WithEos(" c")});
  CHECK(examples[2].tied_with_next == std::vector<bool>{false, true});
}

TEST_CASE("unpaired approve/flag records load beside pairs, prompt or chat context") {
  std::string path = WriteJsonl(
      "mixed.jsonl",
      "{\"prompt\": \"p\", \"completion\": \" a\", \"label\": true, \"categories\": []}\n"
      "{\"prompt\": \"p\", \"chosen\": \" a\", \"rejected\": \" b\"}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"completion\": \"Bye\","
      " \"label\": false, \"categories\": [\"harmful\", \"rude\"]}\n");
  TrainingDataOptions options;  // auto: chat for "messages"
  auto dataset = LoadPreferenceDataset(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  const auto& examples = (*dataset)->examples();
  REQUIRE(examples.size() == 3);
  CHECK(examples[0].responses == std::vector<std::vector<tokenizer::TokenId>>{WithEos(" a")});
  CHECK(examples[0].label == std::optional<bool>(true));
  CHECK(examples[0].tied_with_next.empty());
  CHECK(examples[0].margin == 0.0f);
  CHECK_FALSE(examples[1].label.has_value());
  CHECK(examples[1].responses.size() == 2);
  CHECK(*Qwen3().Decode(examples[2].prompt_ids) ==
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(examples[2].responses == std::vector<std::vector<tokenizer::TokenId>>{WithEos("Bye")});
  CHECK(examples[2].label == std::optional<bool>(false));
}

TEST_CASE("malformed training records are errors naming the line") {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"prompt\": \"p\", \"chosen\": \" a\"}\n", ":1: \"rejected\" must be a string"},
           {"\n{\"prompt\": \"p\", \"ranked\": [\" a\"]}\n", ":2: \"ranked\" must be a list"},
           {"{\"prompt\": \"p\", \"responses\": [\"a\", \"b\"], \"ratings\": [2, 2]}\n",
            "all ratings are equal"},
           {"{\"prompt\": \"p\", \"responses\": [\"a\", \"b\"], \"ratings\": [2]}\n",
            "one per response"},
           {"{\"prompt\": \"p\"}\n", "expected exactly one of"},
           // Unpaired records, after a good line so that the number is the bad line's.
           {"{\"prompt\": \"p\", \"completion\": \"a\", \"label\": true}\n"
            "{\"prompt\": \"p\", \"completion\": \"a\"}\n",
            "bad.jsonl:2: \"label\" must be a boolean"},
           {"{\"prompt\": \"p\", \"completion\": \"a\", \"label\": 1}\n",
            "bad.jsonl:1: \"label\" must be a boolean"},
           {"{\"prompt\": \"p\", \"completion\": \"a\", \"label\": \"true\"}\n",
            ":1: \"label\" must be a boolean"},
           {"\n\n{\"prompt\": \"p\", \"label\": false}\n", ":3: \"completion\" must be a string"},
           {"{\"prompt\": \"p\", \"completion\": [\"a\"], \"label\": false}\n",
            ":1: \"completion\" must be a string"},
           {"{\"prompt\": \"p\", \"completion\": \"a\", \"chosen\": \"a\", \"rejected\": \"b\","
            " \"label\": true}\n",
            ":1: expected exactly one of"},
           {"{\"completion\": \"a\", \"label\": true}\n",
            ":1: expected exactly one of \"prompt\" and \"messages\""},
           {"not json\n", ":1: malformed JSON"},
       }) {
    auto dataset = LoadPreferenceDataset(WriteJsonl("bad.jsonl", c.text), Qwen3(), Text());
    INFO(c.text);
    REQUIRE(dataset.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(dataset.status().message()), Catch::Contains(c.expected));
  }
  auto sft = LoadSftDataset(WriteJsonl("bad-sft.jsonl", "{\"prompt\": \"p\"}\n"), Qwen3(), Text());
  CHECK_THAT(std::string(sft.status().message()), Catch::Contains("\"response\" must be a string"));
  CHECK(LoadSftDataset("/nonexistent.jsonl", Qwen3(), Text()).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("over-long examples are skipped and counted, and none left is an error") {
  std::string path = WriteJsonl("long.jsonl",
                                "{\"prompt\": \"p\", \"response\": \" short\"}\n"
                                "{\"prompt\": \"p\", \"response\": \" one two three four five\"}\n");
  TrainingDataOptions options = Text();
  options.max_response_tokens = 3;
  auto dataset = LoadSftDataset(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  CHECK((*dataset)->size() == 1);
  CHECK((*dataset)->skipped() == 1);
  options.max_response_tokens = 1;
  CHECK(LoadSftDataset(path, Qwen3(), options).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rein::data
