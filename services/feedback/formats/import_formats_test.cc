#include "services/feedback/formats/import_formats.h"

#include <catch2/catch.hpp>

namespace rein::feedback {
namespace {

// A NUL byte inside a JSON string: JSON requires control characters escaped.
constexpr char kRawNul[] = "{\"prompt\": \"p\0\", \"chosen\": \"a\", \"rejected\": \"b\"}";

const std::string kGood = R"({"prompt": "ok", "chosen": "a", "rejected": "b"})";

TEST_CASE("import: TRL standard, conversational and HH-RLHF lines, detected per line") {
  const std::string text =
      R"({"prompt": "2+2?", "chosen": "4", "rejected": "5", "score_chosen": 9})"
      "\n"
      "\n"
      R"({"prompt": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}],)"
      R"( "chosen": [{"role": "assistant", "content": "hello"}],)"
      R"( "rejected": [{"role": "assistant", "content": "go away"}]})"
      "\r\n"
      R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}],)"
      R"( "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}]})"
      "\n"
      R"({"chosen": "\n\nHuman: What is the capital of France?\n\nAssistant: Paris.",)"
      R"( "rejected": "\n\nHuman: What is the capital of France?\n\nAssistant: Rome. \n"})"
      "\n";
  auto pairs = ParsePreferenceJsonl(text);
  INFO(pairs.status());
  REQUIRE(pairs.ok());
  REQUIRE(pairs->size() == 4);
  CHECK((*pairs)[0] == ImportedPair{"2+2?", {}, "4", "5"});
  CHECK((*pairs)[1] ==
        ImportedPair{"hi", {{"system", "Be kind."}, {"user", "hi"}}, "hello", "go away"});
  CHECK((*pairs)[2] == ImportedPair{"q", {{"user", "q"}}, "good", "bad"});
  CHECK((*pairs)[3] == ImportedPair{"What is the capital of France?",
                                    {{"user", "What is the capital of France?"}},
                                    "Paris.",
                                    "Rome."});
}

TEST_CASE("import: HH-RLHF multi-turn transcripts keep the shared turns as context") {
  auto pair = ParsePreferenceLine(
      R"({"chosen": "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHow can I help?\n\nHuman: A joke?\n\nAssistant: Knock knock.",)"
      R"( "rejected": "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHow can I help?\n\nHuman: A joke?\n\nAssistant: No."})");
  INFO(pair.status());
  REQUIRE(pair.ok());
  CHECK(pair->context == std::vector<ChatMessage>{{"user", "Hi"},
                                                  {"assistant", "Hello.\n\nHow can I help?"},
                                                  {"user", "A joke?"}});
  CHECK(pair->prompt == "A joke?");
  CHECK(pair->chosen == "Knock knock.");
  CHECK(pair->rejected == "No.");
  // Copies without the leading blank line read the same.
  auto bare = ParsePreferenceLine(
      R"({"chosen": "Human: Hi\n\nAssistant: Yes", "rejected": "Human: Hi\n\nAssistant: No"})");
  REQUIRE(bare.ok());
  CHECK(bare->context == std::vector<ChatMessage>{{"user", "Hi"}});
}

TEST_CASE("import: bad records name the field") {
  struct Case {
    std::string line;
    std::string message;
  };
  const Case cases[] = {
      {R"({"prompt": "p", "chosen": "a"})", "rejected: missing"},
      {R"({"prompt": 5, "chosen": "a", "rejected": "b"})", "prompt: must be a string"},
      {R"({"prompt": "p", "chosen": 1, "rejected": "b"})", "chosen: must be a string"},
      {R"({"prompt": "p", "chosen": "a", "rejected": ["b"]})", "rejected: must be a string"},
      {R"({"prompt": "p", "chosen": "a", "rejected": "a"})", "rejected: the same text"},
      {R"({"prompt": "p", "chosen": "", "rejected": "a"})", "chosen: empty response"},
      {R"({"chosen": "a", "rejected": "b"})", "chosen: not an HH-RLHF transcript"},
      {R"({"chosen": "\n\nHuman: hi", "rejected": "\n\nHuman: hi\n\nAssistant: b"})",
       "chosen: must end with an assistant turn"},
      {R"({"chosen": "\n\nAssistant: a", "rejected": "\n\nAssistant: b"})",
       "chosen: no prompt turn"},
      {R"({"chosen": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "a"}],)"
       R"( "rejected": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "b"}]})",
       "rejected: the turns before the last assistant turn differ"},
      {R"({"chosen": [{"role": "user", "content": 3}], "rejected": []})",
       "chosen[0].content: must be a string"},
      {R"({"chosen": [{"role": "tool", "content": "x"}], "rejected": []})",
       "chosen[0].role: 'tool' is not system, user or assistant"},
      {R"({"chosen": ["x"], "rejected": []})", "chosen[0]: must be an object"},
      {R"({"prompt": "p", "chosen": [{"role": "assistant", "content": "a"}],)"
       R"( "rejected": [{"role": "assistant", "content": "b"}]})",
       "prompt: must be a list of messages"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    auto parsed = ParsePreferenceJsonl(kGood + "\n" + c.line + "\n");
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    CHECK(std::string(parsed.status().message()).rfind("line 2: " + c.message, 0) == 0);
  }
}

TEST_CASE("import: hostile lines are errors naming the line, never crashes") {
  const std::vector<std::string> bad = {
      R"({"prompt": "p", "chosen": "a")",  // truncated
      R"({"prompt": "p", "chosen": "a", "rejected": "b"} trailing)",
      std::string(10000, '[') + std::string(10000, ']'),
      "{\"a\": " + std::string(100000, '{'),  // deep and truncated
      std::string(16, '[') + "\"[[[[[[[[[[[[[[[[[[[[[\"" + std::string(16, ']'),  // not an object
      "{\"prompt\": \"\xff\xfe\", \"chosen\": \"a\", \"rejected\": \"b\"}",
      "{\"prompt\": \"p\", \"chosen\": \"a\xc3\", \"rejected\": \"b\"}",
      "[]",
      "null",
      "\"just a string\"",
      std::string(kRawNul, sizeof(kRawNul) - 1),  // a raw control character in a string
      "{\"prompt\": \"" + std::string(kMaxImportLineBytes, 'x') + "\", \"chosen\": \"a\"}",
  };
  for (const std::string& line : bad) {
    INFO(line.substr(0, 80));
    auto parsed = ParsePreferenceJsonl(kGood + "\n" + line);
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    CHECK(parsed.status().message().rfind("line 2: ", 0) == 0);
  }
  // Depth within the limit parses (and is then refused for its shape, not its depth).
  auto shallow = ParsePreferenceLine(R"({"chosen": [[[[{"x": 1}]]]], "rejected": []})");
  CHECK(absl::IsInvalidArgument(shallow.status()));
  CHECK(std::string(shallow.status().message()).rfind("chosen[0]", 0) == 0);
}

TEST_CASE("import: at most kMaxImportLines lines") {
  std::string text;
  text.reserve((kMaxImportLines + 1) * 2);
  for (size_t i = 0; i < kMaxImportLines; ++i) text += "\n";  // blank lines cost nothing
  CHECK(ParsePreferenceJsonl(text).ok());
  auto over = ParsePreferenceJsonl(text + kGood + "\n");
  REQUIRE(absl::IsInvalidArgument(over.status()));
  CHECK(over.status().message().rfind("line 1000001: past the import limit", 0) == 0);
  auto empty = ParsePreferenceJsonl("");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

}  // namespace
}  // namespace rein::feedback
