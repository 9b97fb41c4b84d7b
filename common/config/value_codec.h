// Text <-> value for the scalar types a config field may hold. No YAML here: the binder hands
// over a scalar's text and gets back a value, or the reason the text is not one.
//
// Supported: bool, int32_t, int64_t, uint64_t, double, std::string, absl::Duration. Enums go
// through enum_names.h instead.
#ifndef REIN_COMMON_CONFIG_VALUE_CODEC_H_
#define REIN_COMMON_CONFIG_VALUE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rein::config {

enum class ScalarParse {
  kOk,
  kMalformed,   // not a value of the type at all ("abc" for an integer)
  kOutOfRange,  // the right shape but does not fit ("1e400", "99999999999" for int32)
};

// Each leaves *out untouched unless it returns kOk.
//  - bool: true/false, yes/no, on/off (any case), the YAML 1.1 spellings people still write.
//  - integers: optional sign and decimal digits only; no "1e3", no "0x10", no "1_000".
//  - uint64_t: a leading '-' is kMalformed (the message then asks for a non-negative integer).
//  - double: decimal or exponent notation; nan and inf are kMalformed because no setting wants
//    them and they poison every computation downstream.
//  - absl::Duration: absl::ParseDuration syntax ("30s", "500ms", "1h30m", "0"); a bare
//    number other than 0 is kMalformed so that "30" never silently means 30 nanoseconds.
ScalarParse ParseScalar(absl::string_view text, bool* out);
ScalarParse ParseScalar(absl::string_view text, int32_t* out);
ScalarParse ParseScalar(absl::string_view text, int64_t* out);
ScalarParse ParseScalar(absl::string_view text, uint64_t* out);
ScalarParse ParseScalar(absl::string_view text, double* out);
ScalarParse ParseScalar(absl::string_view text, std::string* out);
ScalarParse ParseScalar(absl::string_view text, absl::Duration* out);

// YAML text that ParseScalar reads back to the same value (strings are quoted when needed,
// doubles use the shortest exact form, durations use absl::FormatDuration).
std::string FormatScalar(bool value);
std::string FormatScalar(int32_t value);
std::string FormatScalar(int64_t value);
std::string FormatScalar(uint64_t value);
std::string FormatScalar(double value);
std::string FormatScalar(const std::string& value);
std::string FormatScalar(absl::Duration value);

// What a value of the type is called in messages: "integer", "number", "duration", ...
template <typename T>
struct ScalarTraits;
template <>
struct ScalarTraits<bool> {
  static constexpr absl::string_view kNoun = "boolean";
};
template <>
struct ScalarTraits<int32_t> {
  static constexpr absl::string_view kNoun = "integer";
};
template <>
struct ScalarTraits<int64_t> {
  static constexpr absl::string_view kNoun = "integer";
};
template <>
struct ScalarTraits<uint64_t> {
  static constexpr absl::string_view kNoun = "integer";
};
template <>
struct ScalarTraits<double> {
  static constexpr absl::string_view kNoun = "number";
};
template <>
struct ScalarTraits<std::string> {
  static constexpr absl::string_view kNoun = "string";
};
template <>
struct ScalarTraits<absl::Duration> {
  static constexpr absl::string_view kNoun = "duration";
};

// "a positive integer", "an integer": the indefinite article for `phrase`.
std::string WithArticle(absl::string_view phrase);

}  // namespace rein::config

#endif  // REIN_COMMON_CONFIG_VALUE_CODEC_H_
