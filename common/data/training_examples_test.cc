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

TEST_CASE("TRL's dataset forms load as they are") {
  TrainingDataOptions options;  // auto: Qwen3 has a chat format
  const std::string chat_prompt = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
  SECTION("SFT prompt/completion, plain and conversational") {
    std::string path = WriteJsonl(
        "trl_sft.jsonl",
        "{\"prompt\": \"Q:\", \"completion\": \" yes\"}\n"
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
        " \"completion\": [{\"role\": \"assistant\", \"content\": \"Hello\"}]}\n");
    auto dataset = LoadSftDataset(path, Qwen3(), options);
    REQUIRE(dataset.ok());
    std::vector<SftExample> batch = (*dataset)->Next(2);
    CHECK(batch[0].response_ids == WithEos(" yes"));
    CHECK(*Qwen3().Decode(batch[1].prompt_ids) == chat_prompt);
    CHECK(batch[1].response_ids == WithEos("Hello"));
  }
  SECTION("preference: conversational, implicit prompt (messages and text), unpaired") {
    std::string path = WriteJsonl(
        "trl_pref.jsonl",
        // Conversational with an explicit prompt.
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
        " \"chosen\": [{\"role\": \"assistant\", \"content\": \"Hello\"}],"
        " \"rejected\": [{\"role\": \"assistant\", \"content\": \"Go\"}]}\n"
        // Conversational with the prompt implicit in both sides.
        "{\"chosen\": [{\"role\": \"user\", \"content\": \"Hi\"},"
        " {\"role\": \"assistant\", \"content\": \"Hello\"}],"
        " \"rejected\": [{\"role\": \"user\", \"content\": \"Hi\"},"
        " {\"role\": \"assistant\", \"content\": \"Go\"}]}\n"
        // Conversational unpaired.
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
        " \"completion\": [{\"role\": \"assistant\", \"content\": \"Go\"}],"
        " \"label\": false}\n");
    auto dataset = LoadPreferenceDataset(path, Qwen3(), options);
    REQUIRE(dataset.ok());
    std::vector<PreferenceExample> batch = (*dataset)->Next(3);
    for (int i = 0; i < 2; ++i) {
      CHECK(*Qwen3().Decode(batch[i].prompt_ids) == chat_prompt);
      REQUIRE(batch[i].responses.size() == 2);
      CHECK(batch[i].responses[0] == WithEos("Hello"));
      CHECK(batch[i].responses[1] == WithEos("Go"));
    }
    CHECK(*Qwen3().Decode(batch[2].prompt_ids) == chat_prompt);
    CHECK(batch[2].responses[0] == WithEos("Go"));
    CHECK(batch[2].label == std::optional<bool>(false));
    // Implicit prompt in plain text: the shared start is the prompt, and the space that ends
    // it stays with the responses (as TRL's extract_prompt leaves it).
    std::string text = WriteJsonl(
        "trl_text.jsonl",
        "{\"chosen\": \"Human: hi Assistant: hello\", \"rejected\": \"Human: hi Assistant: go\"}\n");
    auto plain = LoadPreferenceDataset(text, Qwen3(), Text());
    REQUIRE(plain.ok());
    const PreferenceExample pair = (*plain)->Next(1)[0];
    CHECK(*Qwen3().Decode(pair.prompt_ids) == "Human: hi Assistant:");
    CHECK(pair.responses[0] == WithEos(" hello"));
    CHECK(pair.responses[1] == WithEos(" go"));
  }
  SECTION("TRL records that cannot be split are errors naming the line and key") {
    auto error = [&](const std::string& line) {
      auto loaded = LoadPreferenceDataset(WriteJsonl("trl_bad.jsonl", line), Qwen3(), options);
      REQUIRE_FALSE(loaded.ok());
      CHECK(loaded.status().code() == absl::StatusCode::kInvalidArgument);
      return std::string(loaded.status().message());
    };
    CHECK_THAT(error("{\"chosen\": \"abc\", \"rejected\": \"xyz\"}\n"),
               Catch::Contains(":1:") && Catch::Contains("share no start"));
    CHECK_THAT(error("{\"chosen\": \"same\", \"rejected\": \"same more\"}\n"),
               Catch::Contains("nothing left to compare"));
    CHECK_THAT(error("{\"prompt\": \"Q\", \"chosen\": [{\"role\": \"user\", \"content\": \"x\"}],"
                     " \"rejected\": \"y\"}\n"),
               Catch::Contains("\"chosen\" as a list must hold exactly one assistant message"));
    CHECK_THAT(error("{\"chosen\": [{\"role\": \"user\", \"content\": \"a\"}],"
                     " \"rejected\": [{\"role\": \"user\", \"content\": \"b\"}]}\n"),
               Catch::Contains("share no leading message"));
  }
}

TEST_CASE("the offline preference view: pairs for dpo, labelled completions for kto") {
  std::string path = WriteJsonl(
      "offline.jsonl",
      "{\"prompt\": \"Q:\", \"chosen\": \" a\", \"rejected\": \" b\"}\n"
      "{\"prompt\": \"Q:\", \"ranked\": [\" a\", \" b\", \" c\"]}\n"
      "{\"prompt\": \"Q:\", \"responses\": [\" a\", \" b\"], \"ratings\": [2, 5]}\n"
      "{\"prompt\": \"Q:\", \"responses\": [\" a\", \" b\", \" c\"], \"ratings\": [1, 1, 3]}\n"
      "{\"prompt\": \"Q:\", \"completion\": \" d\", \"label\": false}\n");
  using Responses = std::vector<std::vector<tokenizer::TokenId>>;
  auto dataset = LoadPreferenceDataset(path, Qwen3(), Text());
  REQUIRE(dataset.ok());
  size_t left_out = 99;
  auto pairs = OfflinePreferenceView(**dataset, /*paired=*/true, &left_out);
  REQUIRE(pairs.ok());
  CHECK(left_out == 1);  // the unpaired judgement
  REQUIRE((*pairs)->size() == 4);
  const auto& p = (*pairs)->examples();
  CHECK((p[0].responses == Responses{WithEos(" a"), WithEos(" b")}));
  CHECK((p[1].responses == Responses{WithEos(" a"), WithEos(" c")}));  // best and worst
  CHECK((p[2].responses == Responses{WithEos(" b"), WithEos(" a")}));  // by rating
  CHECK((p[3].responses == Responses{WithEos(" c"), WithEos(" b")}));  // a tied worst
  for (const PreferenceExample& e : p) CHECK_FALSE(e.label.has_value());
  auto unpaired = OfflinePreferenceView(**dataset, /*paired=*/false, &left_out);
  REQUIRE(unpaired.ok());
  CHECK(left_out == 0);
  REQUIRE((*unpaired)->size() == 9);  // 4 comparisons x 2 + the labelled one
  const auto& u = (*unpaired)->examples();
  CHECK(u[0].responses == Responses{WithEos(" a")});
  CHECK(u[0].label == std::optional<bool>(true));
  CHECK(u[1].responses == Responses{WithEos(" b")});
  CHECK(u[1].label == std::optional<bool>(false));
  CHECK(u[8].responses == Responses{WithEos(" d")});
  CHECK(u[8].label == std::optional<bool>(false));
  // The cost model's view: the labelled judgement alone, flagged as the positive class.
  auto costs = CostModelView(**dataset, &left_out);
  REQUIRE(costs.ok());
  CHECK(left_out == 4);
  REQUIRE((*costs)->size() == 1);
  CHECK((*costs)->examples()[0].responses == Responses{WithEos(" d")});
  CHECK((*costs)->examples()[0].label == std::optional<bool>(true));  // it was flagged
  CHECK(CostModelView(**pairs).status().code() == absl::StatusCode::kFailedPrecondition);
  // Only labels: nothing for dpo, an error that says what it needs.
  auto labels = LoadPreferenceDataset(
      WriteJsonl("labels.jsonl", "{\"prompt\": \"Q:\", \"completion\": \" d\", \"label\": true}\n"),
      Qwen3(), Text());
  REQUIRE(labels.ok());
  auto none = OfflinePreferenceView(**labels, /*paired=*/true);
  CHECK(none.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(none.status().message()), Catch::Contains("dpo/ipo"));
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
            ":1: \"completion\" as a list must hold exactly one assistant message"},
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

// Found by tests/fuzz/training_examples_fuzzer: "ratings" without "responses" read past the
// record (a const json's operator[] on a missing key) instead of being refused.
TEST_CASE("a ratings record without responses is an error naming the key") {
  auto dataset = LoadPreferenceDataset(
      WriteJsonl("no-responses.jsonl",
                 "{\"prompt\": \"p\", \"ranked\": [\" a\", \" b\"]}\n"
                 "{\"prompt\": \"p\", \"respon-ses\": [\" a\", \" b\"],"
                 " \"ratings\": [3, 5]}\n"),
      Qwen3(), Text());
  REQUIRE(dataset.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(dataset.status().message()),
             Catch::Contains(":2: \"responses\" must be a list of at least 2 strings"));
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
