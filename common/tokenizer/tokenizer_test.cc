// Fidelity of the real Qwen3 and Llama 3 tokenizers against Hugging Face tokenizers.js outputs
// (tests/data/tokenizer/*.jsonl, copied from the shared golden set), decoding, added tokens.
#include "common/tokenizer/tokenizer.h"

#include <thread>

#include <catch2/catch.hpp>

#include "common/tokenizer/tokenizer_test_util.h"

namespace rein::tokenizer {
namespace {

using testing::CachedTokenizer;
using testing::ReadGolden;

std::vector<TokenId> MustEncode(const Tokenizer& tokenizer, absl::string_view text,
                                EncodeOptions options = {}) {
  absl::StatusOr<std::vector<TokenId>> ids = tokenizer.Encode(text, options);
  REQUIRE(ids.ok());
  return *ids;
}

std::string MustDecode(const Tokenizer& tokenizer, const std::vector<TokenId>& ids,
                       DecodeOptions options = {}) {
  absl::StatusOr<std::string> text = tokenizer.Decode(ids, options);
  REQUIRE(text.ok());
  return *text;
}

void CheckGolden(const std::string& name) {
  const Tokenizer& tokenizer = CachedTokenizer(name);
  const std::vector<testing::GoldenCase> cases = ReadGolden(name);
  REQUIRE(cases.size() == 300);
  int matched = 0, round_trips = 0;
  for (const testing::GoldenCase& golden : cases) {
    INFO(name << ".jsonl line " << golden.line << ": " << golden.text);
    const bool same = MustEncode(tokenizer, golden.text) == golden.ids;
    CHECK(same);
    matched += same;
    if (golden.decoded_roundtrip) {
      CHECK(MustDecode(tokenizer, golden.ids) == golden.text);
      ++round_trips;
    }
  }
  CHECK(matched == 300);
  CHECK(round_trips > 290);
}

TEST_CASE("Qwen3 ids match tokenizers.js on all 300 golden texts") { CheckGolden("qwen3"); }

TEST_CASE("Llama 3 ids match tokenizers.js on all 300 golden texts") { CheckGolden("llama3"); }

TEST_CASE("Qwen3 normalizes to NFC, so decomposed text does not round-trip") {
  const Tokenizer& tokenizer = CachedTokenizer("qwen3");
  const std::string decomposed = "cafe\xCC\x81";  // "café" with a combining acute accent.
  CHECK(MustEncode(tokenizer, decomposed) == MustEncode(tokenizer, "caf\xC3\xA9"));
  CHECK(MustDecode(tokenizer, MustEncode(tokenizer, decomposed)) == "caf\xC3\xA9");
}

TEST_CASE("Special tokens written inside text are matched as single added tokens") {
  const Tokenizer& qwen = CachedTokenizer("qwen3");
  const TokenId im_start = *qwen.TokenToId("<|im_start|>");
  const TokenId im_end = *qwen.TokenToId("<|im_end|>");
  const TokenId think = *qwen.TokenToId("<think>");
  CHECK(im_start == 151644);
  CHECK(im_end == 151645);
  std::vector<TokenId> ids = MustEncode(qwen, "a<|im_start|>user\nhi<|im_end|><think>");
  CHECK(ids.front() == *qwen.TokenToId("a"));
  CHECK(ids[1] == im_start);
  CHECK(ids[ids.size() - 2] == im_end);
  CHECK(ids.back() == think);
  // Not a token: a near miss is encoded as ordinary text.
  std::vector<TokenId> near = MustEncode(qwen, "<|im_start|");
  CHECK(std::find(near.begin(), near.end(), im_start) == near.end());

  const Tokenizer& llama = CachedTokenizer("llama3");
  CHECK(MustEncode(llama, "<|begin_of_text|>Hi<|eot_id|>") ==
        std::vector<TokenId>{128000, *llama.TokenToId("Hi"), 128009});
  // Longest match: <|reserved_special_token_10|> is not read as ..._1 followed by "0|>".
  CHECK(MustEncode(llama, "<|reserved_special_token_10|>") ==
        std::vector<TokenId>{*llama.TokenToId("<|reserved_special_token_10|>")});
}

TEST_CASE("Decode skips special tokens on request and round-trips them otherwise") {
  const Tokenizer& qwen = CachedTokenizer("qwen3");
  const std::string text = "<|im_start|>user\nHello, world!<|im_end|>\n<think>";
  const std::vector<TokenId> ids = MustEncode(qwen, text);
  CHECK(MustDecode(qwen, ids) == text);
  // <think> is an added token but not special: it stays.
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  CHECK(MustDecode(qwen, ids, skip) == "user\nHello, world!\n<think>");
  CHECK(qwen.IsSpecial(*qwen.TokenToId("<|im_end|>")));
  CHECK_FALSE(qwen.IsSpecial(*qwen.TokenToId("<think>")));
}

TEST_CASE("Decode replaces invalid UTF-8 and rejects unknown ids") {
  const Tokenizer& llama = CachedTokenizer("llama3");
  // "😀" is four bytes; its first token alone is an incomplete sequence.
  std::vector<TokenId> ids = MustEncode(llama, "\xF0\x9F\x98\x80");
  REQUIRE(ids.size() >= 1);
  CHECK(MustDecode(llama, ids) == "\xF0\x9F\x98\x80");
  if (ids.size() > 1) {
    CHECK(MustDecode(llama, {ids[0]}).find("\xEF\xBF\xBD") != std::string::npos);
  }
  absl::StatusOr<std::string> bad = llama.Decode({1, 128256});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kOutOfRange);
  CHECK(bad.status().message().find("position 1") != absl::string_view::npos);
  CHECK_FALSE(llama.Decode({-1}).ok());
}

TEST_CASE("Llama 3 applies clean_up_tokenization_spaces from its config unless told not to") {
  const Tokenizer& llama = CachedTokenizer("llama3");
  const std::vector<TokenId> ids = MustEncode(llama, "Hi , there .");
  CHECK(MustDecode(llama, ids) == "Hi, there.");
  DecodeOptions verbatim;
  verbatim.clean_up_tokenization_spaces = false;
  CHECK(MustDecode(llama, ids, verbatim) == "Hi , there .");
}

TEST_CASE("Encode rejects invalid UTF-8 with the offset") {
  absl::StatusOr<std::vector<TokenId>> ids = CachedTokenizer("qwen3").Encode("ok\xC3(");
  REQUIRE_FALSE(ids.ok());
  CHECK(ids.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ids.status().message().find("byte 2") != absl::string_view::npos);
}

TEST_CASE("Special ids, lookups and vocabulary size come from the files") {
  const Tokenizer& qwen = CachedTokenizer("qwen3");
  CHECK(qwen.vocab_size() == 151669);
  CHECK(qwen.special_ids().eos == 151645);  // <|im_end|>
  CHECK(qwen.special_ids().pad == 151643);  // <|endoftext|>
  CHECK_FALSE(qwen.special_ids().bos.has_value());
  CHECK(qwen.TokenToId("\xC4\xA0hello") == 23811);  // "Ġhello"
  CHECK(qwen.IdToToken(23811) == "\xC4\xA0hello");
  CHECK(qwen.IdToToken(151644) == "<|im_start|>");
  CHECK_FALSE(qwen.IdToToken(151669).has_value());
  CHECK_FALSE(qwen.TokenToId("no such token at all").has_value());

  const Tokenizer& llama = CachedTokenizer("llama3");
  CHECK(llama.vocab_size() == 128256);
  CHECK(llama.special_ids().bos == 128000);
  CHECK(llama.special_ids().eos == 128001);
  // Neither file's post-processor adds tokens, so add_special_tokens changes nothing.
  CHECK(MustEncode(llama, "Hi", EncodeOptions{.add_special_tokens = true}) ==
        MustEncode(llama, "Hi"));
}

TEST_CASE("Concurrent encoders share one tokenizer and its cache and get the golden ids") {
  const Tokenizer& qwen = CachedTokenizer("qwen3");
  const std::vector<testing::GoldenCase> cases = ReadGolden("qwen3");
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = t; i < cases.size() + t; ++i) {  // Each thread starts elsewhere.
          const testing::GoldenCase& golden = cases[i % cases.size()];
          absl::StatusOr<std::vector<TokenId>> ids = qwen.Encode(golden.text);
          mismatches[t] += !ids.ok() || *ids != golden.ids;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("Empty text encodes to nothing and decodes back") {
  const Tokenizer& qwen = CachedTokenizer("qwen3");
  CHECK(MustEncode(qwen, "").empty());
  CHECK(MustDecode(qwen, {}).empty());
}

}  // namespace
}  // namespace rein::tokenizer
