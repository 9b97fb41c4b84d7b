#include "common/tokenizer/internal/pre_tokenizer.h"

#include <catch2/catch.hpp>

namespace rein::tokenizer::internal {
namespace {

// The Split pattern of Llama 3's tokenizer.json.
constexpr char kLlama3Pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

std::vector<std::string> Pieces(const std::vector<PreTokenizerStep>& steps,
                                absl::string_view text) {
  absl::StatusOr<std::unique_ptr<PreTokenizer>> pre = PreTokenizer::Create(steps, "test");
  REQUIRE(pre.ok());
  PreTokenizerScratch scratch;
  std::vector<absl::string_view> pieces;
  REQUIRE((*pre)->Split(text, &scratch, &pieces).ok());
  return std::vector<std::string>(pieces.begin(), pieces.end());
}

PreTokenizerStep Split(std::string pattern, SplitBehavior behavior = SplitBehavior::kIsolated) {
  PreTokenizerStep step;
  step.kind = PreTokenizerStep::Kind::kSplit;
  step.pattern = std::move(pattern);
  step.behavior = behavior;
  return step;
}

using Parts = std::vector<std::string>;

TEST_CASE("Llama 3's split regex: contractions, digit triples, whitespace before words") {
  CHECK(Pieces({Split(kLlama3Pattern)}, "I'LL pay 12345 now") ==
        Parts{"I", "'LL", " pay", " ", "123", "45", " now"});
  // \s+(?!\S) leaves the last space to the next word.
  CHECK(Pieces({Split(kLlama3Pattern)}, "a   b\n\nc") == Parts{"a", "  ", " b", "\n\n", "c"});
  // \p{L} is Unicode: letters of any script stay together.
  CHECK(Pieces({Split(kLlama3Pattern)}, "\xD0\xBC\xD0\xB8\xD1\x80!") ==
        Parts{"\xD0\xBC\xD0\xB8\xD1\x80", "!"});
}

TEST_CASE("Split behaviours and ByteLevel's prefix space") {
  CHECK(Pieces({Split("-")}, "a-b--c") == Parts{"a", "-", "b", "-", "-", "c"});
  CHECK(Pieces({Split("-", SplitBehavior::kRemoved)}, "a-b--c") == Parts{"a", "b", "c"});
  PreTokenizerStep byte_level;
  byte_level.kind = PreTokenizerStep::Kind::kByteLevel;
  byte_level.add_prefix_space = true;
  byte_level.pattern = kGpt2SplitPattern;
  CHECK(Pieces({byte_level}, "hi there") == Parts{" hi", " there"});
  CHECK(Pieces({byte_level}, " hi") == Parts{" hi"});
}

TEST_CASE("A pattern that can match empty text still makes progress") {
  CHECK(Pieces({Split("x*")}, "abxxc") == Parts{"a", "b", "xx", "c"});
}

}  // namespace
}  // namespace rein::tokenizer::internal
