#include "common/config/value_codec.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rein::config {
namespace {

// Optional sign then decimal digits. absl::SimpleAtoi alone would also accept surrounding
// whitespace, and it cannot tell "abc" from an overflow; checking the shape first can.
bool LooksLikeDecimalInteger(absl::string_view text) {
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

template <typename Int>
ScalarParse ParseInteger(absl::string_view text, Int* out) {
  if (!LooksLikeDecimalInteger(text)) return ScalarParse::kMalformed;
  Int value;
  if (!absl::SimpleAtoi(text, &value)) return ScalarParse::kOutOfRange;
  *out = value;
  return ScalarParse::kOk;
}

}  // namespace

ScalarParse ParseScalar(absl::string_view text, bool* out) {
  for (absl::string_view yes : {"true", "yes", "on"}) {
    if (absl::EqualsIgnoreCase(text, yes)) {
      *out = true;
      return ScalarParse::kOk;
    }
  }
  for (absl::string_view no : {"false", "no", "off"}) {
    if (absl::EqualsIgnoreCase(text, no)) {
      *out = false;
      return ScalarParse::kOk;
    }
  }
  return ScalarParse::kMalformed;
}

ScalarParse ParseScalar(absl::string_view text, int32_t* out) { return ParseInteger(text, out); }
ScalarParse ParseScalar(absl::string_view text, int64_t* out) { return ParseInteger(text, out); }

ScalarParse ParseScalar(absl::string_view text, uint64_t* out) {
  // "-1" must not wrap around to 18446744073709551615.
  if (absl::StartsWith(text, "-")) return ScalarParse::kMalformed;
  return ParseInteger(text, out);
}

ScalarParse ParseScalar(absl::string_view text, double* out) {
  if (text.empty() || absl::ascii_isspace(static_cast<unsigned char>(text.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    return ScalarParse::kMalformed;
  }
  double value;
  if (!absl::SimpleAtod(text, &value)) return ScalarParse::kMalformed;
  if (!std::isfinite(value)) {
    // SimpleAtod turns an overflow such as 1e400 into inf; a spelled-out inf or nan is not a
    // number we accept at all.
    const bool spelled = absl::StrContains(absl::AsciiStrToLower(text), "inf") ||
                         absl::StrContains(absl::AsciiStrToLower(text), "nan");
    return spelled ? ScalarParse::kMalformed : ScalarParse::kOutOfRange;
  }
  *out = value;
  return ScalarParse::kOk;
}

ScalarParse ParseScalar(absl::string_view text, std::string* out) {
  *out = std::string(text);
  return ScalarParse::kOk;
}

ScalarParse ParseScalar(absl::string_view text, absl::Duration* out) {
  absl::Duration value;
  if (!absl::ParseDuration(text, &value)) return ScalarParse::kMalformed;
  // "inf" parses, but every duration in a config is a deadline or a period that must end.
  if (value == absl::InfiniteDuration() || value == -absl::InfiniteDuration()) {
    return ScalarParse::kMalformed;
  }
  *out = value;
  return ScalarParse::kOk;
}

std::string FormatScalar(bool value) { return value ? "true" : "false"; }
std::string FormatScalar(int32_t value) { return absl::StrCat(value); }
std::string FormatScalar(int64_t value) { return absl::StrCat(value); }
std::string FormatScalar(uint64_t value) { return absl::StrCat(value); }

std::string FormatScalar(double value) {
  // Shortest text that reads back to exactly `value` (absl::StrCat keeps only 6 digits).
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  // "1" reads back fine, but "1.0" tells a reader the field is a real number.
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

std::string FormatScalar(const std::string& value) {
  // yaml-cpp knows which strings need quotes ("a: b", "#x", "", "~").
  YAML::Emitter emitter;
  emitter << value;
  return emitter.c_str();
}

std::string FormatScalar(absl::Duration value) { return absl::FormatDuration(value); }

std::string WithArticle(absl::string_view phrase) {
  const char first =
      phrase.empty() ? ' ' : absl::ascii_tolower(static_cast<unsigned char>(phrase.front()));
  const bool vowel = absl::string_view("aeiou").find(first) != absl::string_view::npos;
  return absl::StrCat(vowel ? "an " : "a ", phrase);
}

}  // namespace rein::config
