#include "services/feedback/formats/import_formats.h"

#include <catch2/catch.hpp>

namespace rein::feedback {
namespace {

TEST_CASE("import: TRL standard, conversational and HH-RLHF lines") {
  const std::string text =
      R"({"prompt": "2+2?", "chosen": "4", "rejected": "5"})" "\n"
      "\n"
      R"({"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "hello"}], "rejected": [{"role": "assistant", "content": "go away"}]})" "\n"
      R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}]})" "\n"
      R"({"chosen": "\n\nHuman: What is the capital of France?\n\nAssistant: Paris.", "rejected": "\n\nHuman: What is the capital of France?\n\nAssistant: Rome."})" "\n";
  auto pairs = ParsePreferenceJsonl(text);
  REQUIRE(pairs.ok());
  REQUIRE(pairs->size() == 4);
  CHECK((*pairs)[0].prompt == "2+2?");
  CHECK((*pairs)[0].context.empty());
  CHECK((*pairs)[0].chosen == "4");
  CHECK((*pairs)[1].context == std::vector<ChatMessage>{{"user", "hi"}});
  CHECK((*pairs)[1].rejected == "go away");
  CHECK((*pairs)[2].prompt == "q");
  CHECK((*pairs)[3].prompt == "What is the capital of France?");
  CHECK((*pairs)[3].chosen == "Paris.");
  CHECK((*pairs)[3].rejected == "Rome.");
}

TEST_CASE("import: hostile lines are errors naming the line, never crashes") {
  const std::vector<std::string> bad = {
      R"({"prompt": "p", "chosen": "a")",                          // truncated
      R"({"prompt": 5, "chosen": "a", "rejected": "b"})",          // wrong type
      R"({"prompt": "p", "chosen": "a"})",                         // missing field
      R"({"chosen": "a", "rejected": "b"})",                       // no turns at all
      R"({"chosen": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "b"}]})",
      std::string(10000, '[') + std::string(10000, ']'),
      "{\"prompt\": \"\xff\xfe\", \"chosen\": \"a\", \"rejected\": \"b\"}",
      "[]",
  };
  for (const std::string& line : bad) {
    INFO(line.substr(0, 80));
    auto parsed = ParsePreferenceJsonl(R"({"prompt": "ok", "chosen": "a", "rejected": "b"})" "\n" + line);
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    CHECK(parsed.status().message().rfind("line 2:", 0) == 0);
  }
}

}  // namespace
}  // namespace rein::feedback
