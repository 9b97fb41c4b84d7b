#include "common/data/prompt_dataset.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"

namespace rein::data {
namespace {

std::string WriteJsonl(const std::string& name, const std::string& text) {
  static const std::string dir = testing::MakeTempDir("rein-prompts-");
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

const tokenizer::Tokenizer& TinyGpt2() {
  static auto* tok =
      tokenizer::Tokenizer::FromDirectory(testing::SourcePath("tests/data/tokenizer/tiny_gpt2"))
          ->release();
  return *tok;
}

TEST_CASE("with chat format, prompt and messages records both go through the chat template") {
  std::string path = WriteJsonl("chat.jsonl",
                                "{\"prompt\": \"Hi\"}\n\n"
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n");
  PromptDatasetOptions options;
  options.format = PromptFormat::kChat;
  auto dataset = PromptDataset::Load(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  REQUIRE((*dataset)->size() == 2);
  std::vector<Prompt> batch = (*dataset)->Next(2);
  // Both records are the same single user turn, ending with the assistant header.
  CHECK(batch[0].token_ids == batch[1].token_ids);
  auto text = Qwen3().Decode(batch[0].token_ids);
  REQUIRE(text.ok());
  CHECK(*text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

// As the config documents it: auto decides line by line, by what the line holds.
TEST_CASE("auto format: messages lines through the chat template, prompt lines as they are") {
  std::string path = WriteJsonl("auto-mixed.jsonl",
                                "{\"prompt\": \"Hi\"}\n"
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n");
  auto dataset = PromptDataset::Load(path, Qwen3(), {});
  REQUIRE(dataset.ok());
  std::vector<Prompt> batch = (*dataset)->Next(2);
  CHECK(batch[0].token_ids == *Qwen3().Encode("Hi"));
  auto chat = Qwen3().Decode(batch[1].token_ids);
  REQUIRE(chat.ok());
  CHECK(*chat == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("text format encodes the prompt as is") {
  std::string path = WriteJsonl("text.jsonl", "{\"prompt\": \"hello world\"}\n");
  PromptDatasetOptions options;
  options.format = PromptFormat::kText;
  auto dataset = PromptDataset::Load(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  CHECK((*dataset)->Next(1)[0].token_ids == *Qwen3().Encode("hello world"));
}

TEST_CASE("auto format falls back to text for a tokenizer without a chat format") {
  std::string path = WriteJsonl("auto.jsonl", "{\"prompt\": \"hello\"}\n");
  auto dataset = PromptDataset::Load(path, TinyGpt2(), {});
  REQUIRE(dataset.ok());
  CHECK((*dataset)->Next(1)[0].token_ids == *TinyGpt2().Encode("hello"));
  std::string messages = WriteJsonl("m.jsonl", "{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}]}\n");
  CHECK(PromptDataset::Load(messages, TinyGpt2(), {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the cursor wraps around and can be restored to continue the same sequence") {
  std::string path = WriteJsonl("three.jsonl",
                                "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\"}\n");
  auto dataset = *PromptDataset::Load(path, Qwen3(), {});
  std::vector<Prompt> first = dataset->Next(2);
  CHECK(first[1].index == 1);
  uint64_t saved = dataset->cursor();
  std::vector<Prompt> next = dataset->Next(2);
  CHECK(next[0].index == 2);
  CHECK(next[1].index == 0);  // Wrapped: second epoch.
  auto restored = *PromptDataset::Load(path, Qwen3(), {});
  restored->Seek(saved);
  std::vector<Prompt> again = restored->Next(2);
  CHECK(again[0].token_ids == next[0].token_ids);
  CHECK(again[1].token_ids == next[1].token_ids);
}

TEST_CASE("over-long prompts are skipped and counted, never truncated") {
  std::string path = WriteJsonl("long.jsonl", "{\"prompt\": \"short\"}\n{\"prompt\": \"" +
                                                  std::string(400, 'x') + " y z w\"}\n");
  PromptDatasetOptions options;
  options.format = PromptFormat::kText;
  options.max_prompt_tokens = 8;
  auto dataset = PromptDataset::Load(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  CHECK((*dataset)->size() == 1);
  CHECK((*dataset)->skipped() == 1);
  options.max_prompt_tokens = 0;
  CHECK(PromptDataset::Load(path, Qwen3(), options).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a red-team set's categories stay with their prompts") {
  std::string path = WriteJsonl("red_team.jsonl",
                                "{\"prompt\": \"a\", \"category\": \"violence\"}\n"
                                "{\"prompt\": \"b\"}\n"
                                "{\"prompt\": \"c\", \"category\": \"bias\"}\n");
  PromptDatasetOptions options;
  options.format = PromptFormat::kText;
  auto dataset = PromptDataset::Load(path, Qwen3(), options);
  REQUIRE(dataset.ok());
  const std::vector<Prompt> prompts = (*dataset)->Next(4);
  CHECK(prompts[0].category == "violence");
  CHECK(prompts[1].category.empty());
  CHECK(prompts[2].category == "bias");
  CHECK(prompts[3].category == "violence");  // wrapped around
}

TEST_CASE("malformed records name the file and line") {
  auto check = [](const std::string& body, const std::string& expected) {
    std::string path = WriteJsonl("bad.jsonl", body);
    auto dataset = PromptDataset::Load(path, Qwen3(), {});
    REQUIRE_FALSE(dataset.ok());
    INFO(dataset.status().message());
    CHECK(std::string(dataset.status().message()).find(expected) != std::string::npos);
  };
  check("{\"prompt\": \"ok\"}\n{not json\n", "bad.jsonl:2: malformed JSON");
  check("{\"text\": \"x\"}\n", ":1: expected exactly one of");
  check("{\"prompt\": 3}\n", ":1: \"prompt\" must be a string");
  check("{\"messages\": []}\n", ":1: \"messages\" must be a non-empty list");
  check("{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n", "messages[0].role");
  check("{\"prompt\": \"x\", \"category\": 7}\n", ":1: \"category\" must be a string");
  CHECK(PromptDataset::Load("/nonexistent.jsonl", Qwen3(), {}).status().code() ==
        absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rein::data
