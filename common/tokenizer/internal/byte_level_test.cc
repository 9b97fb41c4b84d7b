#include "common/tokenizer/internal/byte_level.h"

#include <catch2/catch.hpp>
#include <string>

namespace rein::tokenizer::internal {
namespace {

TEST_CASE("The byte-level alphabet maps all 256 bytes reversibly") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string form;
  BytesToVocabForm(all, &form);
  std::string back;
  REQUIRE(VocabFormToBytes(form, &back));
  CHECK(back == all);
  form.clear();
  BytesToVocabForm(" \n", &form);
  CHECK(form == "\xC4\xA0\xC4\x8A");  // "ĠĊ"
  CHECK_FALSE(VocabFormToBytes("\xE2\x82\xAC", &back));  // "€" is not in the alphabet.
}

}  // namespace
}  // namespace rein::tokenizer::internal
