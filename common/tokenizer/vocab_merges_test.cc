// GPT-2 style vocab.json + merges.txt, on the tiny fixture in tests/data/tokenizer/tiny_gpt2
// (the 256 byte-level characters, ten merges and <|endoftext|>).
#include <catch2/catch.hpp>

#include "common/testing/subprocess.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::tokenizer {
namespace {

std::unique_ptr<Tokenizer> LoadTiny() {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromDirectory(
      rein::testing::SourcePath("tests/data/tokenizer/tiny_gpt2"));
  if (!tokenizer.ok()) FAIL(tokenizer.status().ToString());
  return *std::move(tokenizer);
}

std::vector<TokenId> Ids(const Tokenizer& tokenizer, std::initializer_list<const char*> tokens) {
  std::vector<TokenId> ids;
  for (const char* token : tokens) {
    std::optional<TokenId> id = tokenizer.TokenToId(token);
    if (!id.has_value()) FAIL("no token " << token);
    ids.push_back(*id);
  }
  return ids;
}

TEST_CASE("vocab.json + merges.txt: GPT-2 pre-tokenization and ranked merges") {
  std::unique_ptr<Tokenizer> tokenizer = LoadTiny();
  CHECK(tokenizer->vocab_size() == 267);
  CHECK(*tokenizer->Encode("hello world") == Ids(*tokenizer, {"hello", "\xC4\xA0world"}));
  // "ell": the pair (l, l) ranks before (e, l), although (e, l) is further left.
  CHECK(*tokenizer->Encode("ell") == Ids(*tokenizer, {"e", "ll"}));
  // GPT-2's regex keeps the space with the following word and splits "'s" off.
  CHECK(*tokenizer->Encode("he's") == Ids(*tokenizer, {"he", "'", "s"}));
  CHECK(*tokenizer->Decode(*tokenizer->Encode("hello world, it's 2 ü")) ==
        "hello world, it's 2 ü");
}

TEST_CASE("vocab.json + merges.txt: special tokens named in tokenizer_config.json") {
  std::unique_ptr<Tokenizer> tokenizer = LoadTiny();
  const TokenId eos = 266;
  CHECK(tokenizer->special_ids().eos == eos);
  CHECK(tokenizer->special_ids().bos == eos);
  CHECK(tokenizer->IsSpecial(eos));
  std::vector<TokenId> ids = *tokenizer->Encode("hello<|endoftext|>");
  CHECK(ids == std::vector<TokenId>{*tokenizer->TokenToId("hello"), eos});
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  CHECK(*tokenizer->Decode(ids, skip) == "hello");
  CHECK(tokenizer->chat_format().format == ChatFormat::kNone);
}

}  // namespace
}  // namespace rein::tokenizer
