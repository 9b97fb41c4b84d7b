#include "common/config/value_codec.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

namespace rein::config {
namespace {

template <typename T>
ScalarParse Parse(absl::string_view text, T* out) {
  return ParseScalar(text, out);
}

TEST_CASE("integers accept only decimal digits and report overflow separately") {
  int32_t i32 = 7;
  CHECK(Parse("-42", &i32) == ScalarParse::kOk);
  CHECK(i32 == -42);
  CHECK(Parse("+5", &i32) == ScalarParse::kOk);
  CHECK(i32 == 5);
  for (const char* bad : {"abc", "", " 1", "1 ", "1e3", "0x10", "1_000", "1.0", "-"}) {
    INFO(bad);
    CHECK(Parse(bad, &i32) == ScalarParse::kMalformed);
  }
  CHECK(i32 == 5);  // untouched by failures
  CHECK(Parse("2147483647", &i32) == ScalarParse::kOk);
  CHECK(Parse("2147483648", &i32) == ScalarParse::kOutOfRange);
  int64_t i64 = 0;
  CHECK(Parse("2147483648", &i64) == ScalarParse::kOk);
  CHECK(i64 == 2147483648LL);
  CHECK(Parse("9223372036854775808", &i64) == ScalarParse::kOutOfRange);
}

TEST_CASE("unsigned integers reject a minus sign instead of wrapping") {
  uint64_t u = 3;
  CHECK(Parse("-1", &u) == ScalarParse::kMalformed);
  CHECK(Parse("18446744073709551615", &u) == ScalarParse::kOk);
  CHECK(u == UINT64_MAX);
  CHECK(Parse("18446744073709551616", &u) == ScalarParse::kOutOfRange);
}

TEST_CASE("doubles accept decimal and exponent forms but not inf or nan") {
  double d = 0;
  CHECK(Parse("1e-6", &d) == ScalarParse::kOk);
  CHECK(d == 1e-6);
  CHECK(Parse("-0.25", &d) == ScalarParse::kOk);
  CHECK(d == -0.25);
  CHECK(Parse("3", &d) == ScalarParse::kOk);
  CHECK(d == 3.0);
  for (const char* bad : {"abc", "", "nan", "inf", "-inf", " 1.0", "1.0x"}) {
    INFO(bad);
    CHECK(Parse(bad, &d) == ScalarParse::kMalformed);
  }
  CHECK(Parse("1e400", &d) == ScalarParse::kOutOfRange);
}

TEST_CASE("booleans accept YAML 1.1 and 1.2 spellings") {
  bool b = false;
  for (const char* yes : {"true", "True", "YES", "on"}) {
    b = false;
    CHECK(Parse(yes, &b) == ScalarParse::kOk);
    CHECK(b);
  }
  for (const char* no : {"false", "No", "OFF"}) {
    b = true;
    CHECK(Parse(no, &b) == ScalarParse::kOk);
    CHECK_FALSE(b);
  }
  CHECK(Parse("1", &b) == ScalarParse::kMalformed);
  CHECK(Parse("maybe", &b) == ScalarParse::kMalformed);
}

TEST_CASE("durations need a unit and must be finite") {
  absl::Duration d;
  CHECK(Parse("30s", &d) == ScalarParse::kOk);
  CHECK(d == absl::Seconds(30));
  CHECK(Parse("500ms", &d) == ScalarParse::kOk);
  CHECK(d == absl::Milliseconds(500));
  CHECK(Parse("2m", &d) == ScalarParse::kOk);
  CHECK(d == absl::Minutes(2));
  CHECK(Parse("1h30m", &d) == ScalarParse::kOk);
  CHECK(d == absl::Minutes(90));
  CHECK(Parse("0", &d) == ScalarParse::kOk);
  CHECK(d == absl::ZeroDuration());
  CHECK(Parse("30", &d) == ScalarParse::kMalformed);
  CHECK(Parse("inf", &d) == ScalarParse::kMalformed);
  CHECK(Parse("soon", &d) == ScalarParse::kMalformed);
}

// Formats `value`, reads the text back through yaml-cpp as a document would, and parses it.
template <typename T>
T RoundTrip(const T& value) {
  const YAML::Node node = YAML::Load("v: " + FormatScalar(value));
  T back{};
  REQUIRE(ParseScalar(node["v"].Scalar(), &back) == ScalarParse::kOk);
  return back;
}

TEST_CASE("formatted scalars read back to the same value") {
  for (double d : {1e-6, 0.1, 1.0, 0.95, 3e-7, -2.5, 123456789.125}) CHECK(RoundTrip(d) == d);
  CHECK(FormatScalar(1.0) == "1.0");
  CHECK(FormatScalar(0.2) == "0.2");
  for (const std::string s : {"", "plain", "a: b", "#not a comment", "[x]", "'q'", "~", "\\d+"}) {
    CHECK(RoundTrip(s) == s);
  }
  CHECK(RoundTrip(absl::Milliseconds(1500)) == absl::Milliseconds(1500));
  CHECK(FormatScalar(absl::Minutes(5)) == "5m");
  CHECK(RoundTrip(int64_t{-9}) == -9);
  CHECK(RoundTrip(UINT64_MAX) == UINT64_MAX);
  CHECK(RoundTrip(true));
}

TEST_CASE("WithArticle picks a or an") {
  CHECK(WithArticle("integer") == "an integer");
  CHECK(WithArticle("positive number") == "a positive number");
  CHECK(WithArticle("") == "a ");
}

}  // namespace
}  // namespace rein::config
