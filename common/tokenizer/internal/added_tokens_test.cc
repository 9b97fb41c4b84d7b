#include "common/tokenizer/internal/added_tokens.h"

#include <catch2/catch.hpp>

namespace rein::tokenizer::internal {
namespace {

AddedTokenSpec Token(TokenId id, std::string content) {
  AddedTokenSpec token;
  token.id = id;
  token.content = std::move(content);
  token.special = true;
  return token;
}

// "text" for ordinary segments, "#id" for tokens.
std::vector<std::string> Split(const AddedTokenMatcher& matcher, absl::string_view text) {
  std::vector<Segment> segments;
  matcher.Split(text, &segments);
  std::vector<std::string> out;
  for (const Segment& segment : segments) {
    out.push_back(segment.id >= 0 ? "#" + std::to_string(segment.id) : std::string(segment.text));
  }
  return out;
}

using Parts = std::vector<std::string>;

TEST_CASE("Added tokens: leftmost, then longest") {
  AddedTokenMatcher matcher({Token(1, "<a>"), Token(2, "<a><b>"), Token(3, "b>")});
  CHECK(Split(matcher, "x<a><b>y") == Parts{"x", "#2", "y"});
  CHECK(Split(matcher, "<a>b>") == Parts{"#1", "#3"});
  CHECK(Split(matcher, "<a") == Parts{"<a"});
  CHECK(Split(matcher, "") == Parts{});
}

TEST_CASE("Added tokens: lstrip and rstrip swallow whitespace on their side") {
  AddedTokenSpec mask = Token(7, "<mask>");
  mask.lstrip = true;
  AddedTokenSpec sep = Token(8, "<sep>");
  sep.rstrip = true;
  AddedTokenMatcher matcher({mask, sep});
  CHECK(Split(matcher, "a  <mask> b") == Parts{"a", "#7", " b"});
  CHECK(Split(matcher, "a <sep>\n b") == Parts{"a ", "#8", "b"});
  CHECK(Split(matcher, "   <mask>") == Parts{"#7"});
}

TEST_CASE("Added tokens: single_word ones are not matched inside words") {
  AddedTokenSpec word = Token(9, "cat");
  word.single_word = true;
  AddedTokenMatcher matcher({word});
  CHECK(Split(matcher, "a cat!") == Parts{"a ", "#9", "!"});
  CHECK(Split(matcher, "concat") == Parts{"concat"});
  CHECK(Split(matcher, "cats") == Parts{"cats"});
  CHECK(Split(matcher, "\xC3\xA9" "cat") == Parts{"\xC3\xA9" "cat"});  // "écat"
}

}  // namespace
}  // namespace rein::tokenizer::internal
