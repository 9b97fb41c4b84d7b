#include "tools/demo/tokenizer_writer.h"

#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tokenizer/tokenizer.h"
#include "tools/demo/test_util.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

using tokenizer::TokenId;
using tokenizer::Tokenizer;

std::unique_ptr<Tokenizer> WriteAndLoad(TokenizerFiles* files) {
  *files = BuildTokenizer(World::Get());
  const std::string dir = testing::MakeTempDir("demo_tokenizer_");
  REQUIRE(WriteTokenizer(*files, dir).ok());
  auto tok = Tokenizer::FromDirectory(dir);
  INFO(tok.status().ToString());
  REQUIRE(tok.ok());
  return *std::move(tok);
}

TEST_CASE("the generated tokenizer loads and names its EOS") {
  TokenizerFiles files;
  auto tok = WriteAndLoad(&files);
  CHECK(tok->vocab_size() == files.vocab_size);
  REQUIRE(tok->special_ids().eos.has_value());
  CHECK(*tok->special_ids().eos == files.eos_id);
  CHECK(tok->IsSpecial(static_cast<TokenId>(files.eos_id)));
  CHECK(*tok->TokenToId(std::string(kEosToken)) == files.eos_id);
  auto ids = tok->Encode(absl::StrCat(" fish", kEosToken));
  REQUIRE(ids.ok());
  CHECK(ids->size() == 2);
  CHECK(ids->back() == files.eos_id);
}

TEST_CASE("every word of the world is one token") {
  TokenizerFiles files;
  auto tok = WriteAndLoad(&files);
  for (const std::string& word : World::Get().spaced_words()) {
    auto ids = tok->Encode(absl::StrCat(" ", word));
    REQUIRE(ids.ok());
    INFO(word);
    CHECK(ids->size() == 1);
    CHECK(tok->TokenToId(absl::StrCat("\xC4\xA0", word)) == (*ids)[0]);
  }
  auto first = tok->Encode(std::string(World::Get().first_prompt_word()));
  REQUIRE(first.ok());
  CHECK(first->size() == 1);
}

TEST_CASE("corpus lines encode to one id per word and decode back") {
  TokenizerFiles files;
  auto tok = WriteAndLoad(&files);
  const World& world = World::Get();
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; ++i) {
    const std::string prompt = world.PromptAt((i * 37) % world.PromptCount());
    const std::string response = world.SampleSftResponse(*world.TopicOfPrompt(prompt), rng);
    const std::string text = prompt + response;
    auto prompt_ids = tok->Encode(prompt);
    auto response_ids = tok->Encode(response);
    auto ids = tok->Encode(text);
    REQUIRE((prompt_ids.ok() && response_ids.ok() && ids.ok()));
    const std::vector<std::string> words = absl::StrSplit(text, ' ');
    INFO(text);
    CHECK(ids->size() == words.size());
    std::vector<TokenId> joined = *prompt_ids;
    joined.insert(joined.end(), response_ids->begin(), response_ids->end());
    CHECK(joined == *ids);
    auto decoded = tok->Decode(*ids);
    REQUIRE(decoded.ok());
    CHECK(*decoded == text);
  }
}

}  // namespace
}  // namespace rein::demo
