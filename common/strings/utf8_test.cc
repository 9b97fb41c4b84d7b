#include "common/strings/utf8.h"

#include <catch2/catch.hpp>

namespace rein::strings {
namespace {

std::string Lossy(absl::string_view bytes) {
  std::string out;
  AppendUtf8Lossy(bytes, &out);
  return out;
}

TEST_CASE("Lossy UTF-8 decoding replaces each maximal invalid subpart with one U+FFFD") {
  const std::string kFffd = "\xEF\xBF\xBD";
  CHECK(Lossy("abc") == "abc");
  CHECK(Lossy("\xC3\xA9") == "\xC3\xA9");
  CHECK(Lossy("a\xF0\x9F\x98") == "a" + kFffd);          // Truncated 4-byte sequence: one.
  CHECK(Lossy("\xF0\x9F\x98" "b") == kFffd + "b");
  CHECK(Lossy("\x80\x80") == kFffd + kFffd);             // Lone continuation bytes: one each.
  CHECK(Lossy("\xED\xA0\x80") == kFffd + kFffd + kFffd);  // A surrogate is three subparts.
  CHECK(Lossy("\xC0\xAF") == kFffd + kFffd);             // Overlong.
}

TEST_CASE("UTF-8 validation reports the first bad offset") {
  size_t offset = 0;
  CHECK(IsValidUtf8("h\xC3\xA9llo"));
  CHECK_FALSE(IsValidUtf8("ab\xFF", &offset));
  CHECK(offset == 2);
  CHECK_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // Above U+10FFFF.
}

TEST_CASE("Whitespace trimming follows Unicode and Python") {
  CHECK(TrimRight("a \t\xE3\x80\x80", IsUnicodeWhitespace) == "a");  // U+3000
  CHECK(TrimLeft("\x1C" "a", IsPythonWhitespace) == "a");
  CHECK(TrimLeft("\x1C" "a", IsUnicodeWhitespace) == "\x1C" "a");
}

}  // namespace
}  // namespace rein::strings
